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

/* What a watch has seen: the buffers still live and the running totals
 * (a buffer NumPy resized in place counts as its old size freed), and the
 * frees that were resizes whose new buffer was not seen (NumPy 2.5's
 * PyDataMem_RENEW with tracemalloc off). */
struct live_ledger {
	struct live_table live;
	uint64_t allocs, frees, bytes_allocated, bytes_freed;
	uint64_t resized_untracked;
};

/* -1 when out of memory. */
int ledger_alloc(struct live_ledger *l, const struct live_buf *buf);
/* false when addr was allocated before the watch began; else *gone. */
bool ledger_free(struct live_ledger *l, uint64_t addr, struct live_buf *gone);

#endif
