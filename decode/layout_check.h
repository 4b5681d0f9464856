/* The table's type-object offsets checked against the target's own
 * static types, whatever the version: a patch release or a distribution
 * that moved a field ndspy takes from the table is refused, not read
 * wrongly. */
#ifndef ND_LAYOUT_CHECK_H
#define ND_LAYOUT_CHECK_H

#include <stdint.h>

#include "ctx.h"

/* The interpreter's static types, by their symbols (0: not found). */
struct nd_static_types {
	uint64_t float_type, tuple_type, long_type, bool_type, object_type;
};

/* 0 when every check the target allows holds (a check whose types are
 * unknown or unreadable is skipped: a core may not hold them); -1 when
 * one fails, e naming the field. */
int nd_layout_check(struct nd_ctx *c, const struct nd_static_types *st,
		    struct nd_err *e);

#endif
