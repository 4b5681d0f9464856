#define _GNU_SOURCE
#include "why_model.h"

#include <stdlib.h>
#include <string.h>

#include "../decode/cmp.h"
#include "../decode/pypath.h"
#include "../decode/pywalk.h"

#define MAX_DEPTH 4096 /* steps of one path printed */

static size_t hash(uint64_t addr, size_t cap)
{
	return (size_t)((addr >> 3) * 0x9e3779b97f4a7c15ull) & (cap - 1);
}

static uint32_t *index_slot(const struct why *w, uint64_t addr)
{
	size_t i = hash(addr, w->icap);

	while (w->index[i] && w->n[w->index[i] - 1].addr != addr)
		i = (i + 1) & (w->icap - 1);
	return &w->index[i];
}

static bool grow(struct why *w)
{
	if (w->len == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 4096;
		struct why_node *n = realloc(w->n, cap * sizeof(*n));
		if (!n)
			return false;
		w->n = n;
		w->cap = cap;
	}
	if (2 * (w->len + 1) > w->icap) {
		size_t cap = w->icap ? 2 * w->icap : 8192;
		uint32_t *ix = calloc(cap, sizeof(*ix));
		if (!ix)
			return false;
		free(w->index);
		w->index = ix;
		w->icap = cap;
		for (size_t i = 0; i < w->len; i++)
			*index_slot(w, w->n[i].addr) = (uint32_t)i + 1;
	}
	return true;
}

/* The node of addr, made (reached through step from parent) if new. */
static void reach(struct why *w, uint64_t addr, uint32_t parent,
		  struct nd_step step)
{
	if (w->cut || w->oom)
		return;
	if (!w->icap && !grow(w)) {
		w->oom = true;
		return;
	}
	uint32_t *s = index_slot(w, addr);
	if (*s)
		return;
	if (w->len == WHY_MAX_NODES) {
		w->cut = true;
		return;
	}
	if (!grow(w)) {
		w->oom = true;
		return;
	}
	s = index_slot(w, addr); /* the index may have been rebuilt */
	uint32_t depth = parent == WHY_NO_PARENT ? 0 : w->n[parent].depth + 1;
	w->n[w->len] = (struct why_node){addr, parent, depth, step};
	*s = (uint32_t)++w->len;
}

static struct why_target *target(const struct why *w, uint64_t addr)
{
	size_t lo = 0, hi = w->nt;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (w->t[mid].addr == addr)
			return &w->t[mid];
		if (w->t[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

struct edge {
	struct why *w;
	uint32_t from;
};

static int follow(void *arg, uint64_t to, struct nd_step step)
{
	struct edge *g = arg;
	struct why_target *t = g->w->nt ? target(g->w, to) : NULL;

	if (t && t->nin < WHY_MAX_IN)
		t->in[t->nin++] = (struct why_in){g->from, step};
	reach(g->w, to, g->from, step);
	return 0;
}

static int root_module(void *arg, uint64_t name, uint64_t module)
{
	reach(arg, module, WHY_NO_PARENT,
	      (struct nd_step){name, ND_STEP_MODULE});
	return 0;
}

int why_walk(struct why *w, struct nd_ctx *c, uint64_t runtime,
	     const struct nd_frame_root *frames, size_t nframes,
	     const uint64_t *targets, size_t ntargets, struct nd_err *e)
{
	memset(w, 0, sizeof(*w));
	w->frames = frames;
	w->nframes = nframes;
	if (ntargets && !(w->t = calloc(ntargets, sizeof(*w->t))))
		return nd_fail(e, ND_ENOMEM, "out of memory");
	for (size_t i = 0; i < ntargets; i++)
		w->t[i].addr = targets[i];
	w->nt = ntargets;
	if (w->nt)
		qsort(w->t, w->nt, sizeof(*w->t), nd_cmp_u64);
	struct nd_refs *refs = nd_refs_new(c);
	if (!refs)
		return nd_fail(e, ND_ENOMEM, "out of memory");
	/* every module first: a global's path is MODULE.NAME */
	if (nd_py_modules_foreach(c, runtime, root_module, w, e) < 0) {
		nd_refs_free(refs);
		return -1;
	}
	for (size_t i = 0; i < nframes; i++)
		reach(w, frames[i].frame, WHY_NO_PARENT,
		      (struct nd_step){i, ND_STEP_FRAME});
	for (size_t i = 0; i < w->len; i++) {
		struct edge g = {w, (uint32_t)i};
		const struct why_node *n = &w->n[i];
		if (n->step.kind == ND_STEP_FRAME)
			nd_frame_locals(refs, n->addr,
					frames[n->step.payload].code, follow,
					&g);
		else
			nd_refs_of(refs, n->addr, follow, &g);
	}
	/* a container past the limits: what it holds may not be reached */
	w->cut |= nd_refs_cut(refs);
	nd_refs_free(refs);
	return 0;
}

void why_free(struct why *w)
{
	free(w->n);
	free(w->index);
	free(w->t);
	memset(w, 0, sizeof(*w));
}

bool why_reached(const struct why *w, uint64_t addr)
{
	return w->icap && *index_slot(w, addr);
}

/* The path to node i, then step s to addr when s is given. */
static int path(const struct why *w, struct nd_ctx *c, uint32_t i,
		const struct nd_step *s, uint64_t addr, struct nd_buf *b)
{
	uint32_t chain[MAX_DEPTH];
	size_t n = 0;

	for (uint32_t at = i; at != WHY_NO_PARENT; at = w->n[at].parent) {
		if (n == MAX_DEPTH)
			return -1;
		chain[n++] = at;
	}
	const struct why_node *root = &w->n[chain[n - 1]];
	if (root->step.kind == ND_STEP_FRAME) {
		const struct nd_frame_root *f = &w->frames[root->step.payload];
		nd_buf_printf(b, "frame:%d:%d", f->tid, f->n);
	} else if (nd_path_step(c, root->step, 0, root->addr, b)) {
		return -1;
	}
	for (size_t k = n - 1; k-- > 0;) {
		const struct why_node *x = &w->n[chain[k]];
		if (nd_path_step(c, x->step, w->n[x->parent].addr, x->addr, b))
			return -1;
	}
	if (s && nd_path_step(c, *s, w->n[i].addr, addr, b))
		return -1;
	nd_buf_putc(b, '\n');
	return 0;
}

static int by_depth(const void *a, const void *b, void *arg)
{
	const struct why *w = arg;
	uint32_t x = w->n[((const struct why_in *)a)->from].depth;
	uint32_t y = w->n[((const struct why_in *)b)->from].depth;

	return x < y ? -1 : x > y;
}

size_t why_paths(const struct why *w, struct nd_ctx *c, uint64_t addr,
		 size_t max, struct nd_buf *b)
{
	const struct why_target *t = target(w, addr);
	size_t got = 0;

	if (!why_reached(w, addr) || !max)
		return 0;
	uint32_t self = *index_slot(w, addr) - 1;
	if (!t || !t->nin) {
		/* a root itself, or not asked about: its first path */
		size_t at = b->len;
		if (path(w, c, self, NULL, 0, b) == 0)
			return 1;
		b->len = at;
		return 0;
	}
	struct why_in in[WHY_MAX_IN];
	memcpy(in, t->in, t->nin * sizeof(*in));
	qsort_r(in, t->nin, sizeof(*in), by_depth, (void *)w);
	for (size_t i = 0; i < t->nin && got < max; i++) {
		size_t at = b->len;
		if (path(w, c, in[i].from, &in[i].step, addr, b) == 0)
			got++;
		else
			b->len = at; /* what cannot be named is left out */
	}
	return got;
}
