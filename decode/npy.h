/* The .npy format exactly as np.save writes it (NumPy >= 1.24 header rules:
 * 64-byte alignment, growth-axis padding, version 1.0 / 2.0 / 3.0 by size
 * and encoding). */
#ifndef ND_NPY_H
#define ND_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "ctx.h"
#include "ndarray.h"

/* Where the file goes. copy, when set, moves target bytes to the output
 * without passing them through the decoder (agent/'s fast path): 0, or
 * -errno (-EFAULT or -ENODATA: the bytes could not be read; anything
 * else: the output failed). */
struct nd_sink {
	int (*write)(void *ctx, const void *buf, size_t len);
	int (*copy)(void *ctx, uint64_t addr, size_t len);
	void *ctx;
};

/* Magic, version, length and header dict. Fails for arrays np.save would
 * pickle (object dtypes) or cannot describe. */
int nd_npy_header(const struct nd_array *a, struct nd_buf *out,
		  struct nd_err *e);
/* Header then data: raw memory when C- or Fortran-contiguous, otherwise
 * gathered in C order. */
int nd_npy_write(struct nd_ctx *c, const struct nd_array *a,
		 const struct nd_sink *sink, struct nd_err *e);

#endif
