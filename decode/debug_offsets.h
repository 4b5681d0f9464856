/* CPython 3.13+ describes its own objects for debuggers: _Py_DebugOffsets,
 * at the start of _PyRuntime, gives where each field it publishes lies.
 * Those are read from the target; the layout table gives the rest, and
 * only where the target shows that table still holds. */
#ifndef ND_DEBUG_OFFSETS_H
#define ND_DEBUG_OFFSETS_H

#include <stdint.h>

#include "ctx.h"

/* table: ndspy's layout of the target's minor version, whose dbg_* say
 * where each offset sits in that version's _Py_DebugOffsets. Returns 1
 * when the target publishes nothing (before 3.13, no cookie): *out is
 * untouched; 0 when *out (table with every published offset read from
 * the target) is the layout to use; -1 when the target is refused: its
 * object header is not the table's (free-threaded or not), it declares
 * another version, publishes an offset no object has, or moved a field
 * of a struct whose other fields ndspy needs but the target does not
 * publish (e names them). */
/* A field of the layout that some version's _Py_DebugOffsets publishes:
 * where the layout keeps its offset (ours) and its place in the table
 * (dbg); both are offsets into struct nd_pylayout of an int. */
struct nd_debug_field {
	const char *name;
	int ours, dbg;
};

/* The published fields ndspy reads, *n of them. */
const struct nd_debug_field *nd_debug_fields(size_t *n);

int nd_debug_offsets(struct nd_ctx *c, uint64_t runtime,
		     const struct nd_pylayout *table, struct nd_pylayout *out,
		     struct nd_err *e);

#endif
