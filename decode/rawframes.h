/* The frames the watch probe copies raw, named as tracemalloc would
 * record them, while the target runs. */
#ifndef ND_RAWFRAMES_H
#define ND_RAWFRAMES_H

#include "arena.h"
#include "ctx.h"
#include "frameplace.h"
#include "pyframes.h"

/* Code objects already named, with what they held then: a frame of one
 * costs a single read while the object is unchanged, and an object freed
 * and its memory reused is named again, never from the old entry. */
struct nd_codecache;
struct nd_codecache *nd_codecache_new(void);
void nd_codecache_free(struct nd_codecache *cc);

/* Names raw frame r and finds its line, as tracemalloc would record it:
 * 0 with *f filled (names copied into a); 1 when r is no Python
 * function's frame (a shim, one still setting up), which tracemalloc
 * skips too. */
int nd_py_frame_of(struct nd_ctx *c, struct nd_codecache *cc,
		   struct nd_arena *a, const struct nd_rawframe *r,
		   struct nd_pyframe *f, struct nd_err *e);

#endif
