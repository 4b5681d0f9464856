/* One decoded array as the JSON object of DESIGN.md, or as the text report
 * `ndspy show` prints. */
#ifndef ND_FORMAT_H
#define ND_FORMAT_H

#include <stdint.h>

#include "buf.h"
#include "ctx.h"
#include "ndarray.h"

/* The mapping that holds the data, as agent/ found it. kind is one of
 * "heap", "stack", "anon", "file", "other", "unmapped". */
struct nd_region {
	const char *kind;
	uint64_t start, end, offset;
	const char *path; /* NULL unless kind is "file" */
	char perms[5];
};

/* nvalues < 0 leaves "values" out. A values read that fails still prints
 * the object (with "values_error") and returns the error. */
int nd_format_json(struct nd_ctx *c, const struct nd_array *a,
		   const struct nd_region *mem, int64_t nvalues,
		   struct nd_buf *b, struct nd_err *e);

/* threshold: elements past which the repr is summarised; 0 hides values. */
int nd_format_text(struct nd_ctx *c, const struct nd_array *a,
		   const struct nd_region *mem, int64_t threshold,
		   struct nd_buf *b, struct nd_err *e);

/* __array_interface__ as a Python dict repr or JSON object. */
void nd_format_iface(const struct nd_array *a, enum nd_style style,
		     struct nd_buf *b);

#endif
