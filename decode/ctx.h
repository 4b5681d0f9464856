/* What the decoder knows about one target: how to read its memory, which
 * layouts apply, and the addresses of the few type objects it recognises.
 * Filled by agent/ (or by a unit test with a synthetic image). */
#ifndef ND_CTX_H
#define ND_CTX_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "layout.h"

/* Reads len bytes at addr into buf; 0 on success, negative when any byte
 * could not be read. The only way decode/ touches the target. */
typedef int (*nd_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

/* One range of a batched read. */
struct nd_iov {
	uint64_t addr;
	void *buf;
	size_t len;
};

struct nd_reader {
	nd_read_fn read;
	/* optional: many ranges in few calls; 0 when all were read */
	int (*readv)(void *ctx, struct nd_iov *iov, size_t n);
	void *ctx;
};

#define ND_TYPECACHE 64

struct nd_typecache_entry {
	uint64_t type;
	char name[128];
};

struct nd_ctx {
	struct nd_reader rd;
	const struct nd_pylayout *py;
	const struct nd_nplayout *np;
	uint64_t array_type; /* &PyArray_Type */
	uint64_t descr_type; /* &PyArrayDescr_Type */
	uint64_t type_type;  /* &PyType_Type, 0 when unknown */
	int numpy_version;   /* major * 100 + minor; 0 when unknown */
	struct nd_typecache_entry tc[ND_TYPECACHE];
};

/* Upper bounds on what we accept from target memory. */
#define ND_MAX_NAME 512      /* a type or field name */
#define ND_MAX_FIELDS 4096   /* fields of one structured dtype */
#define ND_MAX_DTYPE_DEPTH 32
#define ND_MAX_DTYPE_NODES 65536   /* distinct dtypes in one tree */
#define ND_MAX_DTYPE_EXPANDED (1 << 20) /* fields printed, sharing expanded */
#define ND_MAX_BASES 64      /* base chain length */
#define ND_MAX_INTERPRETERS 256 /* in one process's interpreter list */
#define ND_MAX_DICT 1048576  /* dict entries we are willing to walk */
/* An array's whole refcount word stays below this: arrays are never
 * immortal, and where the count is 32 bits (3.14+) the overflow and flag
 * bits above it are 0 for them, while a freed block's free-list pointer
 * fills them. */
#define ND_MAX_ARRAY_REFCNT (1ULL << 32)

#endif
