#include "list_graph.h"

#include <stdlib.h>
#include <string.h>

#include "../decode/cmp.h"
#include "list_model.h"
#include "why_model.h"

void list_graph_each(void *arg, const struct nd_array *a)
{
	struct list_graph *g = arg;
	struct list_entry f = {.addr = a->addr, .nbytes = a->nbytes};

	if (g->oom)
		return;
	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 1024;
		struct graph_arr *p = realloc(g->a, cap * sizeof(*p));
		if (!p) {
			g->oom = true;
			return;
		}
		g->a = p;
		g->cap = cap;
	}
	nd_buf_reset(&g->scratch);
	list_owner(a, &f, &g->scratch);
	g->a[g->n++] = (struct graph_arr){
		.addr = a->addr,
		.owner = f.owner,
		.nbytes = a->nbytes,
		.size = f.owner_len > a->nbytes ? f.owner_len : a->nbytes,
		.based = a->nbases > 0,
	};
}

static int by_owner(const void *x, const void *y)
{
	const struct graph_arr *a = x, *b = y;

	if (a->owner != b->owner)
		return a->owner < b->owner ? -1 : 1;
	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

/* What is drawn first: the largest buffers, each with its arrays together
 * (largest first), so that a graph cut at its limit keeps whole buffers. */
static int by_draw(const void *x, const void *y)
{
	const struct graph_arr *a = x, *b = y;

	if (a->drawn != b->drawn)
		return a->drawn ? -1 : 1;
	if (a->size != b->size)
		return a->size > b->size ? -1 : 1;
	if (a->owner != b->owner)
		return a->owner < b->owner ? -1 : 1;
	if (a->nbytes != b->nbytes)
		return a->nbytes > b->nbytes ? -1 : 1;
	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

static int by_addr(const void *x, const void *y)
{
	return nd_cmp_u64(&((const struct graph_arr *)x)->addr,
			  &((const struct graph_arr *)y)->addr);
}

int list_graph_choose(struct list_graph *g, int64_t lone_min, size_t max,
		      struct nd_err *e)
{
	if (g->oom || !(g->order = calloc(g->n ? g->n : 1, sizeof(uint64_t))))
		return nd_fail(e, ND_ENOMEM, "out of memory");
	g->lone_min = lone_min;
	if (!g->n)
		return 0;
	/* per buffer: its size, and whether any of its arrays has a base */
	qsort(g->a, g->n, sizeof(*g->a), by_owner);
	for (size_t i = 0, j; i < g->n; i = j) {
		int64_t size = 0;
		bool linked = false;
		for (j = i; j < g->n && g->a[j].owner == g->a[i].owner; j++) {
			if (g->a[j].size > size)
				size = g->a[j].size;
			linked |= g->a[j].based;
		}
		for (size_t k = i; k < j; k++) {
			g->a[k].size = size;
			g->a[k].drawn = linked || size >= lone_min;
		}
	}
	qsort(g->a, g->n, sizeof(*g->a), by_draw);
	for (size_t i = 0; i < g->n; i++) {
		if (!g->a[i].drawn)
			g->lone++;
		else if (g->ndrawn < max)
			g->order[g->ndrawn++] = g->a[i].addr;
		else {
			g->a[i].drawn = false;
			g->over++;
		}
	}
	qsort(g->a, g->n, sizeof(*g->a), by_addr);
	return 0;
}

struct addrs {
	uint64_t *v;
	size_t n, cap;
};

static bool push(struct addrs *s, uint64_t addr)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		uint64_t *p = realloc(s->v, cap * sizeof(*p));
		if (!p)
			return false;
		s->v = p;
		s->cap = cap;
	}
	s->v[s->n++] = addr;
	return true;
}

/* Every object the writer draws: the arrays chosen, their base chains
 * (each link is an object of its own), the exporters of memoryviews. */
static int objects(struct list_graph *g, struct nd_ctx *c, struct nd_err *e)
{
	struct addrs s = {0};
	bool ok = true;

	for (size_t i = 0; ok && i < g->ndrawn; i++) {
		struct nd_array a;
		memset(&a, 0, sizeof(a));
		ok = push(&s, g->order[i]);
		if (ok && nd_array_decode(c, g->order[i], &a, NULL) == 0)
			for (int k = 0; ok && k < a.nbases; k++) {
				const struct nd_base *x = &a.bases[k];
				ok = push(&s, x->addr);
				if (ok && x->kind == ND_BASE_MEMORYVIEW && x->obj)
					ok = push(&s, x->obj);
			}
		nd_array_free(&a);
	}
	if (ok && s.n)
		qsort(s.v, s.n, sizeof(*s.v), nd_cmp_u64);
	if (ok && !(g->o = calloc(s.n ? s.n : 1, sizeof(*g->o))))
		ok = false;
	for (size_t i = 0; ok && i < s.n; i++)
		if (!g->no || g->o[g->no - 1].addr != s.v[i])
			g->o[g->no++] = (struct graph_obj){
				.addr = s.v[i], .hold = HOLD_UNKNOWN};
	free(s.v);
	return ok ? 0 : nd_fail(e, ND_ENOMEM, "out of memory");
}

int list_graph_holders(struct list_graph *g, struct nd_ctx *c, bool walk,
		       uint64_t runtime, const struct nd_frame_root *frames,
		       size_t nframes, struct nd_err *e)
{
	struct why w;

	if (objects(g, c, e))
		return -1;
	g->unwalked = !walk;
	if (!walk || !g->no)
		return 0;
	/* asked about, each object keeps every reference seen to it: where
	 * the first one cannot be written, the next shortest is (as `why
	 * OBJECT` answers) */
	uint64_t *addrs = calloc(g->no ? g->no : 1, sizeof(*addrs));
	if (!addrs)
		return nd_fail(e, ND_ENOMEM, "out of memory");
	for (size_t i = 0; i < g->no; i++)
		addrs[i] = g->o[i].addr;
	int rc = why_walk(&w, c, runtime, frames, nframes, addrs, g->no, e);
	free(addrs);
	if (rc) {
		why_free(&w);
		return -1;
	}
	g->walked = w.len;
	g->cut = w.cut || w.oom;
	for (size_t i = 0; i < g->no; i++) {
		struct graph_obj *o = &g->o[i];
		o->off = g->paths.len;
		if (!why_reached(&w, o->addr))
			o->hold = g->cut ? HOLD_CUT : HOLD_NONE;
		else if (why_paths(&w, c, o->addr, 1, &g->paths) == 1) {
			o->hold = HOLD_PATH;
			o->len = g->paths.len - o->off - 1; /* its '\n' */
		} else
			o->hold = HOLD_UNNAMED;
	}
	why_free(&w);
	return g->paths.oom ? nd_fail(e, ND_ENOMEM, "out of memory") : 0;
}

const struct graph_arr *list_graph_array(const struct list_graph *g,
					 uint64_t addr)
{
	struct graph_arr key = {.addr = addr};

	return g->n ? bsearch(&key, g->a, g->n, sizeof(*g->a), by_addr) : NULL;
}

static int obj_cmp(const void *x, const void *y)
{
	return nd_cmp_u64(&((const struct graph_obj *)x)->addr,
			  &((const struct graph_obj *)y)->addr);
}

const struct graph_obj *list_graph_obj(const struct list_graph *g,
				       uint64_t addr)
{
	struct graph_obj key = {.addr = addr};

	return g->no ? bsearch(&key, g->o, g->no, sizeof(*g->o), obj_cmp)
		     : NULL;
}

void list_graph_free(struct list_graph *g)
{
	free(g->a);
	free(g->order);
	free(g->o);
	nd_buf_free(&g->paths);
	nd_buf_free(&g->scratch);
	memset(g, 0, sizeof(*g));
}
