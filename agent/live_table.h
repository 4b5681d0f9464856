/* The buffers a watch has seen allocated and not freed. */
#ifndef NDSPY_LIVE_TABLE_H
#define NDSPY_LIVE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct live_buf {
	uint64_t addr, size, ts_ns;
	uint32_t tid;
	uint32_t site; /* agent/sites.c's id of its stack; 0 unknown */
};

struct live_table {
	struct live_buf *b;
	size_t cap, n, used; /* slots; live entries; live + tombstones */
};

/* -1 when out of memory; 1 when an entry of that address was replaced
 * (NumPy resized it in place: realloc reports the same pointer again),
 * its old value in *old; 0 otherwise. */
int live_add(struct live_table *t, const struct live_buf *buf,
	     struct live_buf *old);
/* false when addr was not there (allocated before the watch began). */
bool live_remove(struct live_table *t, uint64_t addr, struct live_buf *out);
const struct live_buf *live_get(const struct live_table *t, uint64_t addr);
void live_free(struct live_table *t);

/* One allocation stack's buffers: allocated in the window, and of those,
 * still live. */
struct site_count {
	uint64_t alloc_bytes, alloc_n, live_bytes, live_n;
};

/* What a watch has seen: the buffers still live and the running totals
 * (a buffer NumPy resized in place counts as its old size freed), the
 * frees that were resizes whose new buffer was not seen (NumPy 2.5's
 * PyDataMem_RENEW with tracemalloc off), and the same per site (the
 * buffers' site ids; 0, no stack, counts too) for the reports. */
struct live_ledger {
	struct live_table live;
	uint64_t allocs, frees, bytes_allocated, bytes_freed;
	uint64_t resized_untracked;
	struct site_count *by_site;
	size_t nsites; /* entries of by_site */
};

/* -1 when out of memory (the totals still count it). A failed
 * allocation (address 0, which NumPy tracks too) counts nowhere. */
int ledger_alloc(struct live_ledger *l, const struct live_buf *buf);
/* false when addr was allocated before the watch began; else *gone. */
bool ledger_free(struct live_ledger *l, uint64_t addr, struct live_buf *gone);
/* Site id's counts; zero for one never seen. */
struct site_count ledger_site(const struct live_ledger *l, uint32_t id);
void ledger_free_all(struct live_ledger *l);

#endif
