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

struct nd_preview;

/* Formatting reads no target memory: what it prints beyond the decoded
 * header comes from the preview captured earlier (values with --json, the
 * repr in text). */

/* "values" when the preview holds them; a values capture that failed
 * still prints the object (with "values_error") and returns the error. */
int nd_format_json(const struct nd_array *a, const struct nd_region *mem,
		   const struct nd_preview *p, struct nd_buf *b,
		   struct nd_err *e);

/* A repr too large to preview is noted, not an error; unreadable data is. */
int nd_format_text(const struct nd_array *a, const struct nd_region *mem,
		   const struct nd_preview *p, struct nd_buf *b,
		   struct nd_err *e);

/* __array_interface__ as a Python dict repr or JSON object. */
void nd_format_iface(const struct nd_array *a, enum nd_style style,
		     struct nd_buf *b);

#endif
