/* A page cache in front of a memory source. Decoding one structured dtype
 * makes thousands of small reads (names, tuples, ints) that cluster in a
 * few pymalloc pages; served from whole pages they cost a syscall per page
 * instead of one each, which is time the target spends paused. What it
 * holds is also a snapshot: `list` decodes again from it after the pause,
 * to format without the target waiting. */
#include "mem.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 4096u

struct mem_cache {
	struct mem m;
	struct mem *under;
	pthread_mutex_t lock; /* scans read from two threads */
	size_t slots;         /* a power of two */
	uint64_t *tag;        /* page address + 1; 0 = empty */
	unsigned char **data; /* allocated when first used */
};

static const unsigned char *page_of(struct mem_cache *c, uint64_t page)
{
	size_t slot = (page / PAGE) & (c->slots - 1);

	if (c->tag[slot] == page + 1)
		return c->data[slot];
	if (!c->data[slot] && !(c->data[slot] = malloc(PAGE)))
		return NULL;
	if (c->under->read(c->under, page, c->data[slot], PAGE) != 0) {
		c->tag[slot] = 0;
		return NULL;
	}
	c->tag[slot] = page + 1;
	return c->data[slot];
}

static int cache_read(struct mem *m, uint64_t addr, void *buf, size_t len)
{
	struct mem_cache *c = (struct mem_cache *)m;

	/* large reads (data, windows) go straight through */
	if (len > 2 * PAGE || addr + len < addr)
		return c->under->read(c->under, addr, buf, len);
	/* memory already in ours (a core's image) needs no cache */
	const void *in_place = c->under->view ? c->under->view(c->under, addr,
								len)
					      : NULL;
	if (in_place) {
		memcpy(buf, in_place, len);
		return 0;
	}
	pthread_mutex_lock(&c->lock);
	int rc = 0;
	for (size_t done = 0; done < len && !rc;) {
		uint64_t page = (addr + done) & ~(uint64_t)(PAGE - 1);
		const unsigned char *p = page_of(c, page);
		if (!p) {
			/* a page we cannot read whole: ask for just the bytes */
			rc = c->under->read(c->under, addr + done,
					    (char *)buf + done, len - done);
			break;
		}
		size_t off = (size_t)(addr + done - page);
		size_t n = PAGE - off < len - done ? PAGE - off : len - done;
		memcpy((char *)buf + done, p + off, n);
		done += n;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static size_t cache_readv(struct mem *m, struct mem_iov *iov, size_t n)
{
	struct mem_cache *c = (struct mem_cache *)m;

	return c->under->readv(c->under, iov, n);
}

static const void *cache_view(struct mem *m, uint64_t addr, size_t len)
{
	struct mem_cache *c = (struct mem_cache *)m;

	return c->under->view(c->under, addr, len);
}

static void cache_close(struct mem *m)
{
	struct mem_cache *c = (struct mem_cache *)m;

	c->under->close(c->under);
	for (size_t i = 0; i < c->slots; i++)
		free(c->data[i]);
	free(c->data);
	free(c->tag);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

struct mem *mem_cache_wrap(struct mem *under, size_t pages)
{
	struct mem_cache *c = calloc(1, sizeof(*c));
	size_t slots = 1;

	while (slots < pages)
		slots *= 2;
	if (c) {
		c->tag = calloc(slots, sizeof(*c->tag));
		c->data = calloc(slots, sizeof(*c->data));
	}
	if (!c || !c->tag || !c->data) {
		if (c) {
			free(c->tag);
			free(c->data);
		}
		free(c);
		return under;
	}
	c->m = (struct mem){.read = cache_read, .readv = cache_readv,
			    .close = cache_close, .how = under->how,
			    .view = under->view ? cache_view : NULL};
	c->under = under;
	c->slots = slots;
	pthread_mutex_init(&c->lock, NULL);
	return &c->m;
}

void mem_cache_drop(struct mem *m)
{
	if (m->read == cache_read) {
		struct mem_cache *c = (struct mem_cache *)m;
		memset(c->tag, 0, c->slots * sizeof(*c->tag));
	}
}
