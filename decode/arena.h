/* Bump allocation for one decoded array (its dtype tree, names, base chain),
 * freed at once. A cap on the total turns hostile input into an error rather
 * than unbounded growth. */
#ifndef ND_ARENA_H
#define ND_ARENA_H

#include <stddef.h>

struct nd_arena_chunk;

struct nd_arena {
	struct nd_arena_chunk *head;
	size_t used, limit; /* limit 0 means the default (64 MiB) */
};

/* Zeroed memory, or NULL when the cap or malloc says no. */
void *nd_arena_alloc(struct nd_arena *a, size_t size);
char *nd_arena_strdup(struct nd_arena *a, const char *s);
void nd_arena_free(struct nd_arena *a);

#endif
