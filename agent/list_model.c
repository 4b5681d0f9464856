#include "list_model.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

static int add(struct list_model *m, const struct list_entry *f)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 1024;
		struct list_entry *p = realloc(m->e, cap * sizeof(*p));
		if (!p)
			return -1;
		m->e = p;
		m->cap = cap;
	}
	m->e[m->n++] = *f;
	return 0;
}

/* A hash of the bytes a decode of addr starts from (FNV-1a). */
static uint64_t raw_hash(struct nd_ctx *c, uint64_t addr)
{
	unsigned char raw[ND_RAW_STATE_MAX];

	return fnv1a(FNV_START, raw, nd_array_raw_state(c, addr, raw));
}

struct attempt {
	struct nd_ctx *c;
	uint64_t addr;
};

static int decode_candidate(void *arg, struct nd_array *a, struct nd_err *e)
{
	struct attempt *x = arg;

	return nd_array_decode(x->c, x->addr, a, e);
}

int list_validate(struct list_model *m, struct nd_ctx *c,
		  struct nd_ctx *glance, struct steady *st,
		  const uint64_t *cand, size_t ncand, int64_t min_bytes,
		  struct nd_err *e)
{
	struct nd_itemsize_memo *memo = calloc(1, sizeof(*memo));

	if (!memo)
		return nd_fail(e, ND_ENOMEM, "out of memory");
	for (size_t i = 0; i < ncand; i++) {
		struct attempt x = {c, cand[i]};
		struct nd_array a = {0};
		struct nd_err err = {0};
		int64_t guess;
		int tries;
		/* a candidate too small to print is not decoded */
		if (min_bytes > 0 &&
		    (nd_array_peek_nbytes(glance, cand[i], memo, &guess) ||
		     guess < min_bytes))
			continue;
		enum steady_result r = steady_read(st, decode_candidate, &x,
						   STEADY_TRIES, &a, &err,
						   &tries);
		if (r == STEADY_READ && a.nbytes >= min_bytes) {
			struct list_entry f = {.addr = a.addr,
					       .nbytes = a.nbytes};
			if (st->running)
				f.state = raw_hash(c, a.addr);
			if (add(m, &f)) {
				nd_array_free(&a);
				free(memo);
				return nd_fail(e, ND_ENOMEM, "out of memory");
			}
			if (m->each)
				m->each(m->each_arg, &a);
		} else if (r == STEADY_CHANGED) {
			m->unsteady++;
		} else if (r == STEADY_FAILED) {
			m->rejected++;
		}
		nd_array_free(&a);
	}
	free(memo);
	return 0;
}

int list_decode_again(struct nd_ctx *c, const struct list_entry *f,
		      struct nd_array *a)
{
	if (nd_array_decode(c, f->addr, a, NULL))
		return -1;
	return f->state && raw_hash(c, f->addr) != f->state ? -1 : 0;
}

void list_owner(const struct nd_array *a, struct list_entry *f,
		struct nd_buf *b)
{
	f->owns = a->flags & ND_F_OWNDATA;
	f->owner = a->addr;
	f->owner_len = -1;
	f->via_object = false;
	if (f->owns) {
		nd_buf_puts(b, "owns its data");
		return;
	}
	for (int i = 0; i < a->nbases; i++) {
		const struct nd_base *x = &a->bases[i];
		f->owner = x->addr;
		if (x->kind == ND_BASE_ARRAY && (x->flags & ND_F_OWNDATA)) {
			nd_buf_printf(b, "view of 0x%" PRIx64, x->addr);
			return;
		}
		if (x->kind != ND_BASE_ARRAY) {
			f->via_object = true;
			f->owner_len = x->len;
			nd_buf_puts(b, "wraps ");
			nd_buf_puts_safe(b, x->type);
			if (x->kind == ND_BASE_MEMORYVIEW && x->obj_type &&
			    x->obj_type[0]) {
				nd_buf_puts(b, " of ");
				nd_buf_puts_safe(b, x->obj_type);
			}
			return;
		}
	}
	/* no owner object: memory it was handed (malloc'd, a C buffer) */
	f->via_object = true;
	f->owner = a->data;
	nd_buf_printf(b, "borrows 0x%" PRIx64, a->data);
}

static int by_size(const void *x, const void *y)
{
	const struct list_entry *a = x, *b = y;

	if (a->nbytes != b->nbytes)
		return a->nbytes > b->nbytes ? -1 : 1;
	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

static int by_owner(const void *x, const void *y)
{
	const struct list_entry *a = x, *b = y;

	return a->owner < b->owner ? -1 : a->owner > b->owner;
}

void list_sort(struct list_model *m)
{
	if (m->n)
		qsort(m->e, m->n, sizeof(*m->e), by_size);
}

void list_summary(struct list_model *m, struct nd_buf *b)
{
	uint64_t owned = 0, viewed = 0, buffers = 0;
	char x[32], y[32];

	if (m->n)
		qsort(m->e, m->n, sizeof(*m->e), by_owner);
	for (size_t i = 0; i < m->n;) {
		size_t j = i;
		uint64_t extent = 0;
		bool owned_by_array = false;
		int64_t len = -1;
		for (; j < m->n && m->e[j].owner == m->e[i].owner; j++) {
			const struct list_entry *f = &m->e[j];
			owned_by_array |= !f->via_object;
			if ((uint64_t)f->nbytes > extent)
				extent = (uint64_t)f->nbytes;
			if (f->owns)
				owned += (uint64_t)f->nbytes;
			if (f->owner_len > len)
				len = f->owner_len;
		}
		if (!owned_by_array)
			viewed += len >= 0 ? (uint64_t)len : extent;
		buffers++;
		i = j;
	}
	nd_human_size(owned, x, sizeof(x));
	nd_human_size(viewed, y, sizeof(y));
	nd_buf_printf(b, "%zu array%s; %s owned by arrays, %s reached only "
			 "through views of other objects; %" PRIu64
			 " distinct buffer%s\n",
		      m->n, nd_plural(m->n), x, y, buffers,
		      nd_plural(buffers));
}

void list_model_free(struct list_model *m)
{
	free(m->e);
	memset(m, 0, sizeof(*m));
}
