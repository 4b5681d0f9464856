/* The input of fuzz_decode: a memory image of a target and what to decode
 * in it, as record.c writes it from a real process. Little-endian:
 *
 *   header (64 bytes)
 *     u8  mode       what to decode (enum below, taken modulo FUZZ_MODES)
 *     u8  py_minor   v = value % 8: CPython 3.(9 + v), 3.13t for 7
 *     u8  np_major   NumPy (1 + value % 2).x
 *     u8  nvalues    JSON values asked for
 *     u32 numpy_version  major * 100 + minor
 *     u64 array_type, descr_type, type_type  (the nd_ctx fields)
 *     u64 root       the array (FUZZ_ARRAY) or _PyRuntime (the others)
 *     char name[24]  FUZZ_RESOLVE: the dotted name, NUL-padded
 *   then segments until the end: u64 addr, u32 len, len bytes
 *
 * Reads outside the segments fail, as reads of unmapped memory do. */
#ifndef NDSPY_FUZZ_IMAGE_FILE_H
#define NDSPY_FUZZ_IMAGE_FILE_H

#include <stddef.h>
#include <stdint.h>

enum fuzz_mode {
	FUZZ_ARRAY,   /* decode, preview, JSON, text, .npy */
	FUZZ_STACKS,  /* every thread's Python frames */
	FUZZ_RESOLVE, /* name through sys.modules, then as FUZZ_ARRAY */
	FUZZ_MODES
};

struct fuzz_header {
	uint8_t mode, py_minor, np_major, nvalues;
	uint32_t numpy_version;
	uint64_t array_type, descr_type, type_type, root;
	char name[24];
};

_Static_assert(sizeof(struct fuzz_header) == 64, "fuzz_header is 64 bytes");

#define FUZZ_SEG_HEADER 12 /* u64 addr, u32 len */
#define FUZZ_MAX_SEGS 4096

struct fuzz_seg {
	uint64_t addr;
	uint32_t len;
	const uint8_t *bytes;
};

/* An input taken apart; its segments point into the input's bytes. */
struct fuzz_image {
	struct fuzz_header h;
	struct fuzz_seg seg[FUZZ_MAX_SEGS];
	size_t n;
};

struct nd_ctx;

/* Parses d (h.name made a string; a short last segment cut to what is
 * there); -1 when d is shorter than a header. */
int fuzz_image_parse(const uint8_t *d, size_t n, struct fuzz_image *im);
/* c reading im's segments, with the versions and types its header says. */
void fuzz_image_ctx(struct fuzz_image *im, struct nd_ctx *c);

#endif
