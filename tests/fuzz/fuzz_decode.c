/* libFuzzer harness for decode/: every path from a memory image to what
 * ndspy prints (image_file.h says what an input holds). Seeds are images
 * recorded from real arrays of every Python/NumPy pair (record.c); the
 * fuzzer mutates pointers, sizes, flags and bytes. Anything but a clean
 * error return is a finding. */
#include <stddef.h>
#include <stdint.h>

#include "../../decode/ctx.h"
#include "exercise.h"

static struct fuzz_image img;

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct nd_ctx c;

	if (fuzz_image_parse(d, n, &img))
		return 0;
	fuzz_image_ctx(&img, &c);
	fuzz_exercise(&c, &img.h);
	return 0;
}
