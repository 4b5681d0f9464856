/* repr(arr) as NumPy prints it with default print options: per-dtype element
 * formatting (floats share precision and padding across the array), 75-column
 * wrapping, and "..." summaries past the threshold. */
#ifndef ND_REPR_H
#define ND_REPR_H

#include <stdint.h>

#include "buf.h"
#include "ctx.h"
#include "ndarray.h"

struct nd_preview;
/* Appends the repr of what the preview captured (no reads). */
int nd_repr(const struct nd_preview *p, const struct nd_array *a,
	    struct nd_buf *out, struct nd_err *e);

#endif
