#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK (64 * 1024)
#define DEFAULT_LIMIT (64u << 20)

struct nd_arena_chunk {
	struct nd_arena_chunk *next;
	size_t size, off;
	_Alignas(16) unsigned char data[];
};

void *nd_arena_alloc(struct nd_arena *a, size_t size)
{
	size_t limit = a->limit ? a->limit : DEFAULT_LIMIT;

	size = (size + 15) & ~(size_t)15;
	if (size == 0 || size > limit || a->used > limit - size)
		return NULL;
	struct nd_arena_chunk *c = a->head;
	if (!c || c->size - c->off < size) {
		size_t cap = size > CHUNK ? size : CHUNK;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = a->head;
		c->size = cap;
		c->off = 0;
		a->head = c;
	}
	void *p = c->data + c->off;
	c->off += size;
	a->used += size;
	memset(p, 0, size);
	return p;
}

char *nd_arena_strdup(struct nd_arena *a, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = nd_arena_alloc(a, n);

	if (p)
		memcpy(p, s, n);
	return p;
}

void nd_arena_free(struct nd_arena *a)
{
	while (a->head) {
		struct nd_arena_chunk *next = a->head->next;
		free(a->head);
		a->head = next;
	}
	a->used = 0;
}
