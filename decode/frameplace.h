/* What a frame is, per version, whether walked in the target or copied
 * raw by the watch probe: a Python function's or not, the byte offset of
 * its instruction, and the kind of line table its code has. */
#ifndef ND_FRAMEPLACE_H
#define ND_FRAMEPLACE_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "layout.h"
#include "lines.h"

/* A frame as the watch probe copies it in the kernel: its code object
 * (tag bits cleared), its instruction field as it is (f_lasti for 3.9 and
 * 3.10, the instruction pointer from 3.11) and its owner (3.11+). */
struct nd_rawframe {
	uint64_t code, instr;
	uint8_t owner;
};

/* A frame owned by the C stack or the interpreter: no Python function's
 * (3.12+ shims, the interpreter's own frames from 3.14). */
bool nd_frame_is_shim(const struct nd_pylayout *P, uint8_t owner);

/* Where raw frame r of a code object whose _co_firsttraceable is
 * firsttraceable (3.11+) is: *addr, its instruction's byte offset into
 * the code; 1 when it is still setting up (tracebacks and tracemalloc
 * skip such frames). */
int nd_frame_place(const struct nd_pylayout *P, const struct nd_rawframe *r,
		   int32_t firsttraceable, int *addr, struct nd_err *e);

enum nd_lines_repr nd_frame_lines(const struct nd_pylayout *P);

#endif
