#include "pymalloc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../decode/cmp.h"

#define BATCH 1024            /* pool headers read in one call */
#define MERGE_MAX (1u << 20)  /* the longest range made of adjacent pools */
#define MAX_TABLES 16         /* interpreters with their own allocator */

struct collect {
	const struct pools_where *w;
	struct pools *out;
	size_t cap;
	uint32_t min_block, head, pool;
	/* one batch: where, the arena each must name (UINT32_MAX: any, with
	 * its blocks below end), and the headers read */
	uint64_t addr[BATCH], end[BATCH];
	uint32_t arena[BATCH];
	unsigned char hdr[BATCH][64];
	size_t n;
};

static int add_range(struct collect *k, uint64_t start, uint64_t end)
{
	struct pools *o = k->out;
	struct pool_range *last = o->n ? &o->r[o->n - 1] : NULL;

	o->f.bytes += end - start;
	/* the next pool's blocks, past the end of this one and the next
	 * one's header: one read for both */
	if (last && start >= last->end &&
	    start - last->end <= k->head + ND_SMALL_REQUEST &&
	    end - last->start <= MERGE_MAX) {
		last->end = end;
		return 0;
	}
	if (o->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 256;
		struct pool_range *r = realloc(o->r, cap * sizeof(*r));
		if (!r)
			return -1;
		o->r = r;
		k->cap = cap;
	}
	o->r[o->n++] = (struct pool_range){start, end};
	return 0;
}

static int flush(struct collect *k)
{
	struct mem *src = k->w->src;
	struct mem_iov iov[BATCH];

	for (size_t i = 0; i < k->n; i++)
		iov[i] = (struct mem_iov){k->addr[i], k->hdr[i], k->head, 0};
	src->readv(src, iov, k->n);
	for (size_t i = 0; i < k->n; i++) {
		struct nd_pool p;
		if (iov[i].status ||
		    !nd_pool_parse(k->w->ctx->py, k->addr[i], k->hdr[i], &p))
			continue;
		bool probed = k->arena[i] == UINT32_MAX;
		if (probed ? p.arena >= ND_MAX_ARENAS ||
				     p.end > k->end[i] - p.addr
			   : p.arena != k->arena[i])
			continue;
		k->out->f.pools += p.count > 0;
		if (p.count && p.block >= k->min_block &&
		    add_range(k, p.addr + k->head, p.addr + p.end))
			return -1;
	}
	k->n = 0;
	return 0;
}

static int push(struct collect *k, uint64_t addr, uint32_t arena,
		uint64_t end)
{
	k->addr[k->n] = addr;
	k->arena[k->n] = arena;
	k->end[k->n] = end;
	return ++k->n == BATCH ? flush(k) : 0;
}

/* Before 3.12: the table at the addresses _Py_GetAllocatedBlocks loads from
 * (maxarenas a 4-byte load, the table pointer an 8-byte one), the pair whose
 * table checks; one that lists arenas over one that lists none. */
static int static_table(const struct pools_where *w, struct nd_pyarena **a,
			size_t *n, struct nd_err *e)
{
	bool empty = false, tried = false;
	struct nd_err last = {0};

	for (size_t i = 0; i < w->nloads; i++)
		for (size_t j = 0; j < w->nloads; j++) {
			struct nd_arena_table_at at = {w->loads[j].addr,
						       w->loads[i].addr};
			if (w->loads[i].width != 4 || w->loads[j].width != 8)
				continue;
			tried = true;
			last = (struct nd_err){0};
			if (nd_arena_table(w->ctx, &at, a, n, &last))
				continue;
			if (*n)
				return 0;
			empty = true;
		}
	if (empty)
		return 0;
	if (!tried)
		return nd_fail(e, ND_EUNSUPPORTED, "_Py_GetAllocatedBlocks was "
			       "not found or not understood");
	return nd_fail(e, last.code, "%s", last.msg);
}

/* Every interpreter's table (3.12+), or the static one. */
static int arena_tables(const struct pools_where *w, struct nd_pyarena **a,
			size_t *n, struct nd_err *e)
{
	struct nd_arena_table_at at[MAX_TABLES];
	size_t nat = 0;

	if (w->ctx->py->om_state < 0)
		return static_table(w, a, n, e);
	if (!w->runtime)
		return nd_fail(e, ND_EUNSUPPORTED, "_PyRuntime is not exported");
	if (nd_pymalloc_tables(w->ctx, w->runtime, at, MAX_TABLES, &nat, e))
		return -1;
	*a = NULL;
	*n = 0;
	for (size_t i = 0; i < nat; i++) {
		struct nd_pyarena *one;
		size_t k;
		if (nd_arena_table(w->ctx, &at[i], &one, &k, e))
			goto fail;
		struct nd_pyarena *all = realloc(*a, (*n + k + 1) * sizeof(**a));
		if (!all) {
			free(one);
			nd_fail(e, ND_ENOMEM, "out of memory");
			goto fail;
		}
		if (k)
			memcpy(all + *n, one, k * sizeof(*one));
		free(one);
		*a = all;
		*n += k;
	}
	return 0;
fail:
	free(*a);
	*a = NULL;
	*n = 0;
	return -1;
}

static int cmp_arena(const void *a, const void *b)
{
	return nd_cmp_u64(&((const struct nd_pyarena *)a)->first,
			  &((const struct nd_pyarena *)b)->first);
}

/* Arenas are distinct mappings of memory scans read: a table (or tables)
 * listing one twice, overlapping, or outside such memory is garbage, and
 * would make the pools' reads unbounded by the target's size. */
static int arenas_check(const struct pools_where *w, struct nd_pyarena *a,
			size_t n, struct nd_err *e)
{
	if (n)
		qsort(a, n, sizeof(*a), cmp_arena);
	for (size_t i = 0; i < n; i++) {
		const struct region *r = maps_find(w->maps, a[i].first);
		uint64_t last = a[i].end > a[i].first ? a[i].end - 1
						      : a[i].first;
		if (i && (a[i].first == a[i - 1].first ||
			  a[i].first < a[i - 1].end))
			return nd_fail_at(e, ND_ECORRUPT, a[i].first,
					  "arenas %u and %u overlap",
					  a[i - 1].index, a[i].index);
		if (!r || !region_scanned(r) || last >= r->end)
			return nd_fail_at(e, ND_ECORRUPT, a[i].first,
					  "arena %u is not in private writable "
					  "memory", a[i].index);
	}
	return 0;
}

static int from_table(struct collect *k, const struct nd_pyarena *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (uint64_t p = a[i].first; p < a[i].end; p += k->pool)
			if (push(k, p, a[i].index, 0))
				return -1;
	return flush(k);
}

/* Every pool-aligned address of the memory a scan would read. */
static int probe(struct collect *k)
{
	const struct maps *m = k->w->maps;
	struct mem *src = k->w->src;

	for (size_t i = 0; i < m->n; i++) {
		const struct region *r = &m->r[i];
		uint64_t lo = r->start, hi = r->end;
		if (!region_scanned(r))
			continue;
		for (uint64_t at = r->start;
		     at < r->end && (!src->present ||
				     src->present(src, at, r->end, &lo, &hi));
		     at = hi)
			for (uint64_t p = (lo + k->pool - 1) & ~(uint64_t)(k->pool - 1);
			     p < hi && hi - p >= k->head; p += k->pool)
				if (push(k, p, UINT32_MAX, hi))
					return -1;
	}
	return flush(k);
}

static int cmp_range(const void *a, const void *b)
{
	return nd_cmp_u64(&((const struct pool_range *)a)->start,
			  &((const struct pool_range *)b)->start);
}

int pools_find(const struct pools_where *w, uint32_t min_block,
	       struct pools *out, struct nd_err *e)
{
	const struct nd_pylayout *P = w->ctx->py;
	struct collect *k;
	struct nd_pyarena *a = NULL;
	size_t na = 0;
	struct nd_err why = {0};

	memset(out, 0, sizeof(*out));
	if (P->om_pool_bits < 12 || P->om_pool_bits > P->om_arena_bits ||
	    P->om_arena_bits > 24 || P->om_pool_header < 48 ||
	    P->om_pool_header > 64) {
		snprintf(out->f.why, sizeof(out->f.why), "pymalloc's layout of "
			 "Python %d.%d is unknown", P->major, P->minor);
		return 0;
	}
	if (!(k = calloc(1, sizeof(*k))))
		return nd_fail(e, ND_ENOMEM, "out of memory");
	*k = (struct collect){.w = w, .out = out, .min_block = min_block,
			      .head = (uint32_t)P->om_pool_header,
			      .pool = 1u << P->om_pool_bits};
	struct pools_found *f = &out->f;
	int rc;
	if (arena_tables(w, &a, &na, &why) == 0 &&
	    arenas_check(w, a, na, &why) == 0) {
		f->way = POOLS_TABLE;
		f->arenas = na;
		rc = from_table(k, a, na);
		if (!na)
			snprintf(f->why, sizeof(f->why), "the target allocates "
				 "no objects with pymalloc (PYTHONMALLOC=malloc "
				 "or mimalloc?)");
	} else {
		f->way = POOLS_PROBED;
		snprintf(f->why, sizeof(f->why), "no arena table: %s", why.msg);
		rc = probe(k);
		if (!rc && !f->pools)
			snprintf(f->why, sizeof(f->why), "no pymalloc pool found "
				 "(PYTHONMALLOC=malloc or mimalloc?)");
	}
	free(a);
	free(k);
	if (rc) {
		pools_free(out);
		return nd_fail(e, ND_ENOMEM, "out of memory");
	}
	if (!f->pools) {
		if (!f->why[0])
			snprintf(f->why, sizeof(f->why), "no pymalloc pool is in "
				 "use");
		pools_free(out);
		f->way = POOLS_NONE;
	}
	if (out->n)
		qsort(out->r, out->n, sizeof(*out->r), cmp_range);
	return 0;
}

void pools_free(struct pools *p)
{
	free(p->r);
	p->r = NULL;
	p->n = 0;
	p->f.bytes = 0;
}
