/* Who holds an object: a breadth-first walk of the reference graph from
 * the roots (every module of sys.modules, every thread's frames), keeping
 * for each object reached the reference it was first reached by, so that
 * its path back to a root is a shortest one; for the objects asked about,
 * every reference seen to them (the other paths). */
#ifndef NDSPY_WHY_MODEL_H
#define NDSPY_WHY_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../decode/buf.h"
#include "../decode/ctx.h"
#include "../decode/pypath.h"
#include "../decode/refs.h"

#define WHY_MAX_NODES (1u << 23) /* objects walked; past that, cut short */
#define WHY_MAX_IN 64            /* references kept per object asked */
#define WHY_NO_PARENT UINT32_MAX

struct why_node {
	uint64_t addr;
	uint32_t parent, depth;
	struct nd_step step; /* from parent (a root's own, without one) */
};

struct why_in {
	uint32_t from;
	struct nd_step step;
};

struct why_target {
	uint64_t addr;
	struct why_in in[WHY_MAX_IN];
	size_t nin;
};

struct why {
	struct why_node *n;
	size_t len, cap;
	uint32_t *index; /* node + 1 by address, open addressing */
	size_t icap;
	struct why_target *t; /* sorted by address */
	size_t nt;
	const struct nd_frame_root *frames;
	size_t nframes;
	bool cut;        /* stopped at WHY_MAX_NODES, or a container past
			  * decode/refs.h's limits: not all was walked */
	bool oom;
};

/* Walks from the roots of the interpreter at runtime and frames; the
 * objects asked about are targets (their incoming references kept).
 * Fails only when sys.modules cannot be read (out of memory sets oom:
 * what was walked stands). */
int why_walk(struct why *w, struct nd_ctx *c, uint64_t runtime,
	     const struct nd_frame_root *frames, size_t nframes,
	     const uint64_t *targets, size_t ntargets, struct nd_err *e);
void why_free(struct why *w);

/* Whether addr was reached. */
bool why_reached(const struct why *w, uint64_t addr);
/* Up to max paths to addr, shortest first, each appended to b and ended
 * with '\n'; how many. Read through c (what the walk read). */
size_t why_paths(const struct why *w, struct nd_ctx *c, uint64_t addr,
		 size_t max, struct nd_buf *b);

#endif
