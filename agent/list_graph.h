/* What `ndspy list --dot` draws, chosen while the target is paused: the
 * arrays (grouped by the buffer they share, as list_owner names its
 * owner), the objects of their base chains, and the shortest path from
 * Python's roots to each of them (why_model's walk). No process and no
 * output here: cmd_list.c pauses and releases, list_dot.c writes. */
#ifndef NDSPY_LIST_GRAPH_H
#define NDSPY_LIST_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../decode/buf.h"
#include "../decode/ctx.h"
#include "../decode/ndarray.h"
#include "../decode/pypath.h"

/* A lone array (no base, nobody's base) under this is left out by
 * default: it has no ownership to show, and a process makes thousands. */
#define GRAPH_LONE_MIN (1 << 20)
/* Arrays drawn at most: dot lays out a thousand nodes in seconds, and a
 * picture of more is not read by anyone. */
#define GRAPH_MAX_ARRAYS 1000

struct graph_arr {
	uint64_t addr;
	uint64_t owner;    /* what keeps its buffer (list_owner) */
	int64_t nbytes;
	int64_t size;      /* its buffer's: the largest of its arrays, or
			    * the owning object's length */
	bool based;        /* it has a base: an edge of the graph */
	bool drawn;
};

enum graph_hold {
	HOLD_PATH,     /* the shortest path, in paths */
	HOLD_NONE,     /* no root reaches it */
	HOLD_CUT,      /* not reached, but the walk stopped short */
	HOLD_UNNAMED,  /* reached by a step no Python code could write */
	HOLD_UNKNOWN,  /* not walked (an ndspy snapshot has no graph) */
};

/* An object drawn: an array, a base, a memoryview's exporter. */
struct graph_obj {
	uint64_t addr;
	size_t off, len; /* its path in paths */
	enum graph_hold hold;
};

struct list_graph {
	struct graph_arr *a; /* every array listed; by address once chosen */
	size_t n, cap;
	uint64_t *order;     /* the arrays drawn, largest buffers first */
	size_t ndrawn;
	size_t lone;         /* left out: alone and under lone_min */
	size_t over;         /* left out: past GRAPH_MAX_ARRAYS */
	int64_t lone_min;
	struct graph_obj *o; /* by address */
	size_t no;
	struct nd_buf paths;
	size_t walked;       /* objects the walk reached */
	bool cut;
	bool unwalked;       /* no paths looked for */
	bool oom;
	struct nd_buf scratch;
};

/* list_model's each: notes an array listed (arg: the list_graph). */
void list_graph_each(void *arg, const struct nd_array *a);
/* Chooses what is drawn: every array of a buffer with a base link, and
 * the arrays of other buffers of at least lone_min bytes; at most max
 * arrays, largest buffers first. */
int list_graph_choose(struct list_graph *g, int64_t lone_min, size_t max,
		      struct nd_err *e);
/* The objects drawn (each chosen array decoded again through c for its
 * base chain) and, when walk is set, the path to each from the roots of
 * the interpreter at runtime and frames. While the target is paused. */
int list_graph_holders(struct list_graph *g, struct nd_ctx *c, bool walk,
		       uint64_t runtime, const struct nd_frame_root *frames,
		       size_t nframes, struct nd_err *e);
/* The array listed at addr, or NULL. */
const struct graph_arr *list_graph_array(const struct list_graph *g,
					 uint64_t addr);
/* The object drawn at addr, or NULL (its path: paths.p + off). */
const struct graph_obj *list_graph_obj(const struct list_graph *g,
				       uint64_t addr);
void list_graph_free(struct list_graph *g);

#endif
