/* Synthetic target memory for unit tests: a sparse image of segments at
 * made-up addresses, and builders for the CPython and NumPy objects the
 * decoder reads, laid out per version as decode/layout.c says. Reads that
 * leave a segment fail, as reads of unmapped memory do. */
#ifndef NDSPY_TEST_IMAGE_H
#define NDSPY_TEST_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../agent/mem.h"
#include "../../decode/ctx.h"

/* the CPython 3.x minors decode/layout.c knows, each tested */
#define PY_MINOR_FIRST 9
#define PY_MINOR_LAST 15
/* and its free-threaded builds (3.13t): PY_NVERSIONS layouts in all,
 * numbered 0.. by py_version(), which says each one's minor and kind */
#define PY_FT_MINORS {13}
#define PY_NVERSIONS (PY_MINOR_LAST - PY_MINOR_FIRST + 2)

struct image_seg {
	uint64_t addr;
	size_t len;
	unsigned char *bytes;
};

struct image {
	struct image_seg *seg;
	size_t n, cap;
	uint64_t next;
	struct nd_ctx ctx;
	/* builtin types */
	uint64_t t_type, t_tuple, t_int, t_str, t_dict, t_none, t_bytes,
		t_float, t_ndarray, t_dtype, t_dtype_int, t_void, t_memoryview;
	uint64_t none;
};

/* py_minor: PY_MINOR_FIRST..PY_MINOR_LAST; np_major: 1 or 2. */
void image_init(struct image *im, int py_minor, int np_major);
/* Layout v: 0..PY_NVERSIONS-1, the GIL builds' minors in turn, then the
 * free-threaded ones; name is "3.13t". */
struct pyver {
	int minor;
	bool ft;
	char name[16];
};
struct pyver py_version(int v);
void image_init_version(struct image *im, int v, int np_major);
void image_free(struct image *im);
int image_read(void *ctx, uint64_t addr, void *buf, size_t len);

/* The image as agent/'s memory source, counting the reads that reach it
 * (a snapshot's source, in the tests of agent/'s models). */
struct image_mem {
	struct mem m;
	struct image *im;
	unsigned long reads;
};
void image_mem_init(struct image_mem *x, struct image *im);

uint64_t img_alloc(struct image *im, size_t size);
void *img_ptr(struct image *im, uint64_t addr);
void img_w64(struct image *im, uint64_t addr, uint64_t v);
void img_w32(struct image *im, uint64_t addr, uint32_t v);
void img_w8(struct image *im, uint64_t addr, uint8_t v);

/* An object header (refcount 1) of the given type, size bytes in all; a
 * free-threaded one is owned by thread IMG_FT_TID. */
#define IMG_FT_TID 0x7f3a5c001740ULL
uint64_t img_object(struct image *im, uint64_t type, size_t size);
uint64_t img_type(struct image *im, const char *name, uint64_t base,
		  uint64_t flags);
uint64_t img_str(struct image *im, const char *ascii);
uint64_t img_int(struct image *im, int64_t v);
uint64_t img_tuple(struct image *im, size_t n, const uint64_t *items);
uint64_t img_dict(struct image *im, size_t n, const uint64_t *keys,
		  const uint64_t *values);
/* A class whose instances have a __dict__ (dict != 0) or not (slots). */
uint64_t img_class(struct image *im, const char *name, int dict);
/* An instance of cls with str attributes names[i] = values[i] (0: deleted):
 * in a dict if as_dict or the version has no other way, else as the
 * version keeps them before any __dict__ is made (values beside the
 * object, under cls's shared keys: made from names, so every instance
 * kept this way needs a class of its own or the same names). */
uint64_t img_instance(struct image *im, uint64_t cls, size_t n,
		      const char *const *names, const uint64_t *values,
		      int as_dict);

/* A legacy descr; fields/names/subarray/datetime set by the helpers below. */
uint64_t img_descr(struct image *im, char kind, char type, char byteorder,
		   int type_num, int64_t elsize, int64_t alignment);
void img_descr_set(struct image *im, uint64_t descr, int which, uint64_t v);
enum { D_SUBARRAY, D_FIELDS, D_NAMES, D_C_METADATA, D_FLAGS };
/* Fields in order: names[i] at offsets[i] with dtype descrs[i]. */
void img_descr_fields(struct image *im, uint64_t descr, size_t n,
		      const char *const *names, const uint64_t *descrs,
		      const int64_t *offsets, const char *const *titles);
void img_descr_datetime(struct image *im, uint64_t descr, int unit, int num);

uint64_t img_array(struct image *im, uint64_t data, int nd,
		   const int64_t *dims, const int64_t *strides, uint64_t descr,
		   uint32_t flags, uint64_t base);
/* A data buffer holding len bytes copied from src. */
uint64_t img_data(struct image *im, const void *src, size_t len);

#endif
