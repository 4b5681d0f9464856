/* A Python frame's locals as `stacks --locals` prints them: an array on
 * one line (address, type, dtype, shape, size, owner), None, bools,
 * numbers and short strings by value, anything else by type and address;
 * with --json an object of NAME: {"address", "type", ...}. */
#ifndef NDSPY_FRAME_LOCALS_H
#define NDSPY_FRAME_LOCALS_H

#include <stdbool.h>

#include "../decode/buf.h"
#include "../decode/pyframes.h"
#include "../decode/refs.h"

/* Appends f's locals to b: text lines (each indented under the frame's),
 * or one JSON object. */
void frame_locals_format(struct nd_refs *w, struct nd_ctx *c,
			 const struct nd_pyframe *f, bool json,
			 struct nd_buf *b);

#endif
