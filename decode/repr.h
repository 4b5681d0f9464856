/* repr(arr) as NumPy prints it with default print options: per-dtype element
 * formatting (floats share precision and padding across the array), 75-column
 * wrapping, and "..." summaries past the threshold. */
#ifndef ND_REPR_H
#define ND_REPR_H

#include <stdint.h>

#include "buf.h"
#include "ctx.h"
#include "ndarray.h"

#define ND_REPR_THRESHOLD 1000 /* np.get_printoptions()['threshold'] */

/* Appends the repr; arrays over `threshold` elements are summarised. */
int nd_repr(struct nd_ctx *c, const struct nd_array *a, int64_t threshold,
	    struct nd_buf *out, struct nd_err *e);

#endif
