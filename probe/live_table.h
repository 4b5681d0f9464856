/* The buffers a watch has seen allocated and not freed. */
#ifndef NDSPY_LIVE_TABLE_H
#define NDSPY_LIVE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct live_buf {
	uint64_t addr, size, ts_ns;
	uint32_t tid;
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

#endif
