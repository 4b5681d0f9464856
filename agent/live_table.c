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

/* Site id's entry, by_site grown to hold it; NULL when out of memory. */
static struct site_count *site_entry(struct live_ledger *l, uint32_t id)
{
	if (id >= l->nsites) {
		size_t n = l->nsites ? l->nsites : 64;
		while (n <= id)
			n *= 2;
		struct site_count *more = realloc(l->by_site, n * sizeof(*more));
		if (!more)
			return NULL;
		memset(more + l->nsites, 0, (n - l->nsites) * sizeof(*more));
		l->by_site = more;
		l->nsites = n;
	}
	return &l->by_site[id];
}

static void site_gone(struct live_ledger *l, const struct live_buf *gone)
{
	/* every live buffer's site has an entry: its allocation made it */
	if (gone->site < l->nsites) {
		l->by_site[gone->site].live_bytes -= gone->size;
		l->by_site[gone->site].live_n--;
	}
}

int ledger_alloc(struct live_ledger *l, const struct live_buf *buf)
{
	struct live_buf old;

	/* NumPy tracks a failed allocation too, at address 0: no buffer */
	if (buf->addr <= GONE)
		return 0;
	struct site_count *c = site_entry(l, buf->site);
	/* a buffer that cannot be counted by site is not kept either: what
	 * the sites hold stays what the table holds */
	int had = c ? live_add(&l->live, buf, &old) : -1;

	l->allocs++;
	l->bytes_allocated += buf->size;
	if (had > 0) {
		l->bytes_freed += old.size;
		site_gone(l, &old);
	}
	if (c) {
		c->alloc_bytes += buf->size;
		c->alloc_n++;
	}
	if (had >= 0 && c) {
		c->live_bytes += buf->size;
		c->live_n++;
	}
	return had < 0 ? -1 : 0;
}

bool ledger_free(struct live_ledger *l, uint64_t addr, struct live_buf *gone)
{
	bool known = live_remove(&l->live, addr, gone);

	l->frees++;
	if (known) {
		l->bytes_freed += gone->size;
		site_gone(l, gone);
	}
	return known;
}

struct site_count ledger_site(const struct live_ledger *l, uint32_t id)
{
	return id < l->nsites ? l->by_site[id] : (struct site_count){0};
}

void ledger_free_all(struct live_ledger *l)
{
	live_free(&l->live);
	free(l->by_site);
	l->by_site = NULL;
	l->nsites = 0;
}
