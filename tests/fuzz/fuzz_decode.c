/* libFuzzer harness for decode/: every path from a memory image to what
 * ndspy prints (image_file.h says what an input holds). Seeds are images
 * recorded from real arrays of every Python/NumPy pair (record.c); the
 * fuzzer mutates pointers, sizes, flags and bytes. Anything but a clean
 * error return is a finding. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "exercise.h"

#define MAX_SEGS 4096

struct seg {
	uint64_t addr;
	uint32_t len;
	const uint8_t *bytes;
};

struct image {
	struct seg seg[MAX_SEGS];
	size_t n;
};

static struct image img;

static int image_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct image *im = ctx;

	for (size_t i = 0; i < im->n; i++) {
		const struct seg *s = &im->seg[i];
		if (addr >= s->addr && addr - s->addr <= s->len &&
		    len <= s->len - (addr - s->addr)) {
			memcpy(buf, s->bytes + (addr - s->addr), len);
			return 0;
		}
	}
	return -1;
}

static void parse_segments(const uint8_t *d, size_t n)
{
	img.n = 0;
	while (n >= FUZZ_SEG_HEADER && img.n < MAX_SEGS) {
		struct seg *s = &img.seg[img.n];
		memcpy(&s->addr, d, 8);
		memcpy(&s->len, d + 8, 4);
		d += FUZZ_SEG_HEADER;
		n -= FUZZ_SEG_HEADER;
		if (s->len > n)
			s->len = (uint32_t)n;
		s->bytes = d;
		d += s->len;
		n -= s->len;
		img.n++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct fuzz_header h;
	struct nd_ctx c = {0};
	if (n < sizeof(h))
		return 0;
	memcpy(&h, d, sizeof(h));
	h.name[sizeof(h.name) - 1] = 0;
	parse_segments(d + sizeof(h), n - sizeof(h));
	c.rd = (struct nd_reader){.read = image_read, .ctx = &img};
	c.py = nd_pylayout_find(3, 9 + h.py_minor % 6);
	c.np = nd_nplayout_find(1 + h.np_major % 2);
	c.array_type = h.array_type;
	c.descr_type = h.descr_type;
	c.type_type = h.type_type;
	c.numpy_version = (int)(h.numpy_version % 10000);
	fuzz_exercise(&c, &h);
	return 0;
}
