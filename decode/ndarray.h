/* PyArrayObject: header fields, dtype, and the chain of base objects. */
#ifndef ND_NDARRAY_H
#define ND_NDARRAY_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "ctx.h"
#include "dtype.h"

#define ND_MAXDIMS 64 /* NumPy 2's NPY_MAXDIMS; 1.x allows 32 */

#define ND_F_C_CONTIGUOUS 0x0001
#define ND_F_F_CONTIGUOUS 0x0002
#define ND_F_OWNDATA 0x0004
#define ND_F_ALIGNED 0x0100
#define ND_F_WRITEABLE 0x0400
#define ND_F_WRITEBACKIFCOPY 0x2000

enum nd_base_kind {
	ND_BASE_ARRAY,
	ND_BASE_BYTES,
	ND_BASE_BYTEARRAY,
	ND_BASE_MEMORYVIEW,
	ND_BASE_MMAP,
	ND_BASE_CTYPES,
	ND_BASE_OTHER,
};

struct nd_base {
	uint64_t addr;
	const char *type;
	enum nd_base_kind kind;
	/* the buffer a non-array base exposes (0/-1 when not known) */
	uint64_t buf;
	int64_t len;
	/* memoryview: the object that exported the buffer */
	uint64_t obj;
	const char *obj_type;
	/* array bases */
	uint64_t data;
	uint32_t flags;
};

/* The header fields a decode starts from, as read. */
struct nd_arr_raw {
	uint64_t refcnt, type, data;
	int64_t nd;
	uint64_t dims, strides, base, descr;
	uint32_t flags;
};

struct nd_array {
	uint64_t addr, type;
	const char *type_name;
	int64_t refcnt;
	int ndim;
	int64_t shape[ND_MAXDIMS], strides[ND_MAXDIMS];
	uint64_t data;
	uint32_t flags;
	struct nd_dtype *dtype;
	int64_t size, nbytes;
	/* lowest and highest byte any element touches, relative to data */
	int64_t extent_lo, extent_hi;
	int nbases;
	struct nd_base *bases;
	bool base_cycle; /* the chain came back to an object already seen */
	struct nd_arr_raw raw;
	struct nd_arena arena;
};

/* The header of an array object: the bytes a decode starts from (up to
 * and with its flags), their length, and their fields, unchecked. Every
 * reader of array headers (the scan, list, audit) parses them here. */
#define ND_ARR_HEADER_MAX 128
size_t nd_array_header_len(const struct nd_nplayout *L);
void nd_array_parse(const struct nd_nplayout *L, const unsigned char *raw,
		    struct nd_arr_raw *r);
/* What a live header shows without another read: a refcount an array can
 * have, ndim in range, a descr pointer, dims and strides when ndim > 0.
 * The scan's filter; a full decode decides. */
bool nd_array_plausible(const struct nd_nplayout *L,
			const unsigned char *raw);

/* Itemsizes of descrs seen, by address: a few dtypes serve most arrays. */
#define ND_ITEMSIZE_MEMO 256
struct nd_itemsize_memo {
	uint64_t descr[ND_ITEMSIZE_MEMO];
	int64_t itemsize[ND_ITEMSIZE_MEMO];
};
/* A guess of the nbytes of the array at addr from its shape and its
 * descr's itemsize alone (nothing validated): INT64_MAX where the shape
 * overflows or the descr cannot be read, so that a caller that skips
 * small arrays decodes it. -1 when the header or shape cannot be read or
 * ndim is out of range. */
int nd_array_peek_nbytes(struct nd_ctx *c, uint64_t addr,
			 struct nd_itemsize_memo *m, int64_t *nbytes);

/* Decodes the ndarray (or subclass instance) at addr. On failure the error
 * says what addr is instead, when that is readable. Free with
 * nd_array_free() whatever the result. */
int nd_array_decode(struct nd_ctx *c, uint64_t addr, struct nd_array *out,
		    struct nd_err *e);
void nd_array_free(struct nd_array *a);

/* Whether the header at a->addr still holds what a was decoded from: its
 * type, data, flags, base and descr pointers, and the dims and strides
 * (pointers and values). A reader of a running target calls it after
 * reading everything it shows, through a reader that does not serve old
 * copies: false when anything differs or can no longer be read. The
 * refcount is not compared: it moves without the array changing. */
bool nd_array_unchanged(struct nd_ctx *c, const struct nd_array *a);
/* The raw bytes of the header, dims and strides at addr as they are now
 * (the header alone, or nothing, where the rest cannot be read): for a
 * reader of a running target to tell an object that fails to decode
 * because it is garbage (the same bytes each time) from one caught
 * mid-change. Returns the length written to out. */
#define ND_RAW_STATE_MAX (128 + 2 * ND_MAXDIMS * 8)
size_t nd_array_raw_state(struct nd_ctx *c, uint64_t addr,
			  unsigned char out[ND_RAW_STATE_MAX]);

/* The names and bits of the six flags, in the order arr.flags prints them. */
struct nd_flag_name {
	const char *name;
	uint32_t bit;
};
extern const struct nd_flag_name nd_flag_names[6];

const char *nd_base_kind_name(enum nd_base_kind k);

#endif
