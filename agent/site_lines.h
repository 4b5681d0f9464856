/* The sites of a ledger summed by the line that called into NumPy: their
 * innermost frame outside NumPy's own Python code (function, file, line).
 * What `top` lists and the per-line metrics' labels (a whole stack would
 * give two series the same labels). */
#ifndef NDSPY_SITE_LINES_H
#define NDSPY_SITE_LINES_H

#include <stddef.h>
#include <stdint.h>

#include "live_table.h"
#include "sites.h"

struct site_line {
	const struct nd_pyframe *f; /* NULL: no stack */
	struct site_count c;
	uint64_t recent_bytes; /* allocated since prev (see site_lines) */
};

/* The lines of seen's sites that allocated anything, into *out (*n of
 * them; free it), in no order. sites may be NULL (all at "no stack").
 * prev, if not NULL, holds nprev sites' alloc_bytes of an earlier call:
 * recent_bytes is what each line allocated since; it is updated to now.
 * -1 when out of memory. */
int site_lines(const struct live_ledger *seen, const struct sites *sites,
	       uint64_t **prev, size_t *nprev, struct site_line **out,
	       size_t *n);

#endif
