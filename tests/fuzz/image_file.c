/* Reading a fuzz_decode input: shared by the harness and the unit test
 * that checks the committed seeds still reach what they were recorded
 * for. */
#include "image_file.h"

#include <string.h>

#include "../../decode/ctx.h"
#include "../../decode/layout.h"

static int image_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct fuzz_image *im = ctx;

	for (size_t i = 0; i < im->n; i++) {
		const struct fuzz_seg *s = &im->seg[i];
		if (addr >= s->addr && addr - s->addr <= s->len &&
		    len <= s->len - (addr - s->addr)) {
			memcpy(buf, s->bytes + (addr - s->addr), len);
			return 0;
		}
	}
	return -1;
}

int fuzz_image_parse(const uint8_t *d, size_t n, struct fuzz_image *im)
{
	if (n < sizeof(im->h))
		return -1;
	memcpy(&im->h, d, sizeof(im->h));
	im->h.name[sizeof(im->h.name) - 1] = 0;
	d += sizeof(im->h);
	n -= sizeof(im->h);
	im->n = 0;
	while (n >= FUZZ_SEG_HEADER && im->n < FUZZ_MAX_SEGS) {
		struct fuzz_seg *s = &im->seg[im->n];
		memcpy(&s->addr, d, 8);
		memcpy(&s->len, d + 8, 4);
		d += FUZZ_SEG_HEADER;
		n -= FUZZ_SEG_HEADER;
		if (s->len > n)
			s->len = (uint32_t)n;
		s->bytes = d;
		d += s->len;
		n -= s->len;
		im->n++;
	}
	return 0;
}

/* py_minor: 0-6 for 3.9-3.15, 7 for the free-threaded 3.13t */
static const struct nd_pylayout *layout_of(uint8_t py_minor)
{
	py_minor %= 8;
	return py_minor == 7 ? nd_pylayout_find(3, 13, true)
			     : nd_pylayout_find(3, 9 + py_minor, false);
}

void fuzz_image_ctx(struct fuzz_image *im, struct nd_ctx *c)
{
	const struct fuzz_header *h = &im->h;

	*c = (struct nd_ctx){
		.rd = {.read = image_read, .ctx = im},
		.py = layout_of(h->py_minor),
		.np = nd_nplayout_find(1 + h->np_major % 2),
		.array_type = h->array_type,
		.descr_type = h->descr_type,
		.type_type = h->type_type,
		.numpy_version = (int)(h->numpy_version % 10000),
	};
}
