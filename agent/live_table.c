/* Buffers allocated and not yet freed, by address: open addressing with
 * linear probing and tombstones, rebuilt when live entries and tombstones
 * fill half of it. */
#include "live_table.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"

#define EMPTY 0
#define GONE 1 /* addresses 0 and 1 are never buffers */

/* Rehashes into a table a quarter full of the live entries: bigger when
 * they grew, the same size (or smaller) when tombstones filled it. */
static int grow(struct live_table *t)
{
	size_t cap = 1024;
	while (cap < 4 * (t->n + 1))
		cap *= 2;
	struct live_buf *old = t->b, *b = calloc(cap, sizeof(*b));

	if (!b)
		return -1;
	size_t oldcap = t->cap;
	t->b = b;
	t->cap = cap;
	t->used = t->n;
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i].addr <= GONE)
			continue;
		size_t s = slot_hash(old[i].addr, cap - 1);
		while (b[s].addr != EMPTY)
			s = (s + 1) & (cap - 1);
		b[s] = old[i];
	}
	free(old);
	return 0;
}

static struct live_buf *find(const struct live_table *t, uint64_t addr)
{
	if (!t->cap)
		return NULL;
	for (size_t s = slot_hash(addr, t->cap - 1);; s = (s + 1) & (t->cap - 1)) {
		if (t->b[s].addr == addr)
			return &t->b[s];
		if (t->b[s].addr == EMPTY)
			return NULL;
	}
}

int live_add(struct live_table *t, const struct live_buf *buf,
	     struct live_buf *old)
{
	if (buf->addr <= GONE)
		return 0;
	struct live_buf *had = find(t, buf->addr);
	if (had) {
		if (old)
			*old = *had;
		*had = *buf;
		return 1;
	}
	if (2 * (t->used + 1) > t->cap && grow(t))
		return -1;
	size_t s = slot_hash(buf->addr, t->cap - 1);
	while (t->b[s].addr > GONE)
		s = (s + 1) & (t->cap - 1);
	if (t->b[s].addr == EMPTY)
		t->used++;
	t->b[s] = *buf;
	t->n++;
	return 0;
}

bool live_remove(struct live_table *t, uint64_t addr, struct live_buf *out)
{
	struct live_buf *b = addr > GONE ? find(t, addr) : NULL;

	if (!b)
		return false;
	if (out)
		*out = *b;
	memset(b, 0, sizeof(*b));
	b->addr = GONE;
	t->n--;
	return true;
}

const struct live_buf *live_get(const struct live_table *t, uint64_t addr)
{
	return addr > GONE ? find(t, addr) : NULL;
}

void live_free(struct live_table *t)
{
	free(t->b);
	memset(t, 0, sizeof(*t));
}

int ledger_alloc(struct live_ledger *l, const struct live_buf *buf)
{
	struct live_buf old;
	int had = live_add(&l->live, buf, &old);

	l->allocs++;
	l->bytes_allocated += buf->size;
	if (had > 0)
		l->bytes_freed += old.size;
	return had < 0 ? -1 : 0;
}

bool ledger_free(struct live_ledger *l, uint64_t addr, struct live_buf *gone)
{
	bool known = live_remove(&l->live, addr, gone);

	l->frees++;
	if (known)
		l->bytes_freed += gone->size;
	return known;
}
