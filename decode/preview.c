#include "preview.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cmp.h"
#include "values.h"

#define MAX_SHOWN (1 << 20)          /* elements a repr gathers */
#define MAX_ITEM (16 << 20)          /* an item's size, for previews */
#define MAX_REPR_BYTES (256u << 20)
#define MAX_VALUES_BYTES (1ull << 30)
#define MAX_STR_BYTES (64u << 20)    /* object-array strings kept */
#define MAX_PRINTED (1LL << 26)      /* values a preview may lead to print */
#define MAX_OBJECTS (1u << 20)       /* distinct objects looked at */

/* Values printing n items leads to, with items of no values counting one:
 * bounds the text as well as the time spent on it. */
static bool too_many(const struct nd_array *a, int64_t n)
{
	int64_t per = a->dtype->scalars > 0 ? a->dtype->scalars : 1;
	int64_t total;

	return __builtin_mul_overflow(n, per, &total) || total > MAX_PRINTED;
}

static void capture_values(struct nd_ctx *c, const struct nd_array *a,
			   int64_t n, struct nd_preview *p)
{
	size_t elsize = (size_t)a->dtype->elsize;
	struct nd_cursor cur;
	struct nd_items it;
	uint64_t addr;

	if (n > a->size)
		n = a->size;
	if (too_many(a, n)) {
		nd_fail(&p->values_err, ND_ELIMIT,
			"%" PRId64 " values would print more than %lld numbers",
			n, MAX_PRINTED);
		return;
	}
	if (elsize > MAX_ITEM || (uint64_t)n * elsize > MAX_VALUES_BYTES) {
		nd_fail(&p->values_err, ND_ELIMIT,
			"%" PRId64 " values of %zu bytes are more than the "
			"%llu MiB ndspy copies for printing",
			n, elsize, MAX_VALUES_BYTES >> 20);
		return;
	}
	p->values = nd_arena_alloc(&p->arena, (size_t)n * elsize + 1);
	if (!p->values) {
		nd_fail(&p->values_err, ND_ENOMEM, "out of memory");
		return;
	}
	nd_cursor_init(&cur, a);
	nd_items_init(&it, c, a);
	for (int64_t i = 0; i < n && nd_cursor_next(&cur, &addr); i++) {
		if (nd_items_read(&it, addr, p->values + (size_t)i * elsize,
				  elsize, &p->values_err))
			break;
		p->nvalues = i + 1;
	}
	nd_items_free(&it);
}

/* numpy's summarisation: past the threshold, each axis longer than
 * 2 * edgeitems shows its first and last three. */
static void capture_repr(struct nd_ctx *c, const struct nd_array *a,
			 struct nd_preview *p)
{
	bool summarise = a->size > p->threshold;
	int64_t count = 1;
	size_t elsize = (size_t)a->dtype->elsize;
	int64_t pos[ND_MAXDIMS] = {0};
	struct nd_err *e = &p->repr_err;

	for (int k = 0; k < a->ndim; k++) {
		p->summary[k] = summarise && a->shape[k] > 2 * ND_REPR_EDGE;
		p->shown[k] = p->summary[k] ? 2 * ND_REPR_EDGE : a->shape[k];
		if (__builtin_mul_overflow(count, p->shown[k], &count) ||
		    count > MAX_SHOWN) {
			nd_fail(e, ND_ELIMIT,
				"more than %d elements would be shown", MAX_SHOWN);
			return;
		}
	}
	if (a->size == 0)
		return;
	if (too_many(a, count)) {
		nd_fail(e, ND_ELIMIT, "the repr would print more than %lld values",
			MAX_PRINTED);
		return;
	}
	if (elsize > MAX_ITEM || (size_t)count * elsize > MAX_REPR_BYTES) {
		nd_fail(e, ND_ELIMIT,
			"the items shown would take more than %u MiB",
			MAX_REPR_BYTES >> 20);
		return;
	}
	p->items = nd_arena_alloc(&p->arena, (size_t)count * elsize + 1);
	if (!p->items) {
		nd_fail(e, ND_ENOMEM, "out of memory");
		return;
	}
	struct nd_items it;
	nd_items_init(&it, c, a);
	for (int64_t n = 0; n < count; n++) {
		uint64_t addr = a->data;
		for (int k = 0; k < a->ndim; k++) {
			int64_t idx = p->summary[k] && pos[k] >= ND_REPR_EDGE
					      ? a->shape[k] - 2 * ND_REPR_EDGE + pos[k]
					      : pos[k];
			addr += (uint64_t)idx * (uint64_t)a->strides[k];
		}
		if (nd_items_read(&it, addr, p->items + (size_t)n * elsize,
				  elsize, e))
			break;
		for (int k = a->ndim - 1; k >= 0; k--) {
			if (++pos[k] < p->shown[k])
				break;
			pos[k] = 0;
		}
	}
	nd_items_free(&it);
	if (e->code == ND_OK)
		p->nshown = (size_t)count;
}

struct ptrs {
	uint64_t *v;
	size_t n, cap;
	bool oom;
};

static void push(struct ptrs *s, uint64_t v)
{
	if (s->n >= 4 * (size_t)MAX_OBJECTS)
		return; /* the rest print as unread objects */
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		uint64_t *p = realloc(s->v, cap * sizeof(*p));
		if (!p) {
			s->oom = true;
			return;
		}
		s->v = p;
		s->cap = cap;
	}
	s->v[s->n++] = v;
}

/* Object pointers inside one item, through fields and sub-arrays. */
static void object_ptrs(const struct nd_dtype *d, const unsigned char *item,
			struct ptrs *s)
{
	if (!nd_dtype_has_object(d) || s->oom)
		return;
	if (d->structured) {
		for (int i = 0; i < d->nfields; i++)
			object_ptrs(d->fields[i].dtype, item + d->fields[i].offset,
				    s);
	} else if (d->sub_base) {
		int64_t step = d->sub_base->elsize;
		for (int64_t off = 0; step && off + step <= d->elsize; off += step)
			object_ptrs(d->sub_base, item + off, s);
	} else if (d->kind == 'O') {
		uint64_t v;
		memcpy(&v, item, 8);
		push(s, v);
	}
}

static void capture_objects(struct nd_ctx *c, const struct nd_array *a,
			    struct nd_preview *p)
{
	struct ptrs s = {0};
	size_t elsize = (size_t)a->dtype->elsize;
	size_t strbytes = 0;

	for (int64_t i = 0; i < p->nvalues; i++)
		object_ptrs(a->dtype, p->values + (size_t)i * elsize, &s);
	for (size_t i = 0; i < p->nshown; i++)
		object_ptrs(a->dtype, p->items + i * elsize, &s);
	if (s.oom || !s.n) {
		free(s.v);
		return;
	}
	qsort(s.v, s.n, sizeof(*s.v), nd_cmp_u64);
	size_t n = 0;
	for (size_t i = 0; i < s.n && n < MAX_OBJECTS; i++)
		if (!n || s.v[i] != s.v[n - 1])
			s.v[n++] = s.v[i];
	p->objs = nd_arena_alloc(&p->arena, n * sizeof(*p->objs));
	struct nd_pyvalue *pv = malloc(sizeof(*pv));
	for (size_t i = 0; p->objs && pv && i < n; i++) {
		struct nd_objentry *o = &p->objs[p->nobjs++];
		nd_py_value(c, s.v[i], pv);
		o->addr = s.v[i];
		o->v = pv->v;
		o->v.type = pv->v.type ? nd_arena_strdup(&p->arena, pv->v.type)
				       : NULL;
		if (pv->v.type && !o->v.type) {
			o->v.kind = ND_PY_UNREADABLE; /* the arena is full */
			continue;
		}
		if (pv->v.kind == ND_PY_STR || pv->v.kind == ND_PY_BYTES ||
		    pv->v.kind == ND_PY_BIGINT) {
			char *copy = strbytes + pv->v.slen <= MAX_STR_BYTES
					     ? nd_arena_alloc(&p->arena, pv->v.slen + 1)
					     : NULL;
			if (copy) {
				memcpy(copy, pv->v.s, pv->v.slen);
				strbytes += pv->v.slen;
			} else {
				o->v.kind = ND_PY_OTHER; /* type only */
			}
			o->v.s = copy;
		}
	}
	free(pv);
	free(s.v);
}

void nd_preview_capture(struct nd_ctx *c, const struct nd_array *a,
			int64_t nvalues, int64_t threshold,
			struct nd_preview *p)
{
	memset(p, 0, sizeof(*p));
	/* values (1 GiB), the repr (256 MiB) and strings (64 MiB) at most */
	p->arena.limit = (size_t)3 << 30;
	p->rules = nd_print_rules_for(c);
	p->threshold = threshold;
	if (nvalues >= 0)
		capture_values(c, a, nvalues, p);
	else
		p->nvalues = -1;
	if (threshold > 0)
		capture_repr(c, a, p);
	capture_objects(c, a, p);
}

void nd_preview_free(struct nd_preview *p)
{
	nd_arena_free(&p->arena);
}

const struct nd_pyscalar *nd_preview_object(const struct nd_preview *p,
					    uint64_t addr)
{
	static const struct nd_pyscalar unreadable = {.kind = ND_PY_UNREADABLE};
	size_t lo = 0, hi = p->nobjs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->objs[mid].addr == addr)
			return &p->objs[mid].v;
		if (p->objs[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return &unreadable;
}
