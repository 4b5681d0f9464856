/* Pages kept by address in an open-addressing table; their bytes in
 * chunks of CHUNK_PAGES pages, reused when the snapshot is reset (a page
 * cache of a running target is reset often). */
#include "snapshot.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PAGE SNAPSHOT_PAGE
#define CHUNK_PAGES 256u
#define RUN_MAX 1024u /* pages fetched by one batched read */

/* PARTIAL: unreadable whole, yet bytes of it were read (a file's last
 * page), which were passed on, not kept */
enum { EMPTY, KEPT, UNREADABLE, PARTIAL, STALE };

struct slot {
	uint64_t key;   /* page number + 1; 0: empty */
	uint32_t data;  /* index of its bytes, or NO_DATA */
	uint32_t state;
};

#define NO_DATA UINT32_MAX

struct snapshot {
	struct mem m; /* first: the snapshot is a memory source */
	struct mem *src;
	pthread_mutex_t lock; /* the unwinder and scans may share it */
	struct slot *slot;
	size_t cap, used;     /* slots (a power of two), taken */
	unsigned char **chunk;
	size_t nchunks;
	uint32_t npages;      /* page buffers handed out since the reset */
	uint32_t *spare;      /* buffers of unreadable fetches, for reuse */
	size_t nspare;
	uint64_t budget;
	bool sealed, overflowed;
};

static size_t hash(uint64_t key, size_t mask)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (size_t)key & mask;
}

static struct slot *find(const struct snapshot *s, uint64_t page)
{
	uint64_t key = page / PAGE + 1;

	if (!s->cap)
		return NULL;
	for (size_t i = hash(key, s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (s->slot[i].key == key)
			return &s->slot[i];
		if (s->slot[i].key == 0)
			return NULL;
	}
}

static int grow(struct snapshot *s)
{
	size_t cap = s->cap ? 2 * s->cap : 4096;
	struct slot *n = calloc(cap, sizeof(*n));

	if (!n)
		return -1;
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->slot[i].key)
			continue;
		size_t j = hash(s->slot[i].key, cap - 1);
		while (n[j].key)
			j = (j + 1) & (cap - 1);
		n[j] = s->slot[i];
	}
	free(s->slot);
	s->slot = n;
	s->cap = cap;
	return 0;
}

/* The slot of page, made (empty of data) if it has none; NULL when out of
 * memory. */
static struct slot *slot_of(struct snapshot *s, uint64_t page)
{
	struct slot *x = find(s, page);

	if (x)
		return x;
	if (2 * (s->used + 1) > s->cap && grow(s))
		return NULL;
	uint64_t key = page / PAGE + 1;
	size_t i = hash(key, s->cap - 1);
	while (s->slot[i].key)
		i = (i + 1) & (s->cap - 1);
	s->slot[i] = (struct slot){key, NO_DATA, STALE};
	s->used++;
	return &s->slot[i];
}

static unsigned char *bytes_of(const struct snapshot *s, uint32_t data)
{
	return s->chunk[data / CHUNK_PAGES] + (size_t)(data % CHUNK_PAGES) * PAGE;
}

/* A page buffer for x, within the budget: false when the budget is spent
 * (or memory is). */
static bool give_data(struct snapshot *s, struct slot *x)
{
	if (x->data != NO_DATA)
		return true;
	if (s->nspare) {
		x->data = s->spare[--s->nspare];
		return true;
	}
	if ((uint64_t)(s->npages + 1) * PAGE > s->budget ||
	    s->npages == NO_DATA - 1)
		return false;
	if (s->npages / CHUNK_PAGES == s->nchunks) {
		unsigned char **c = realloc(s->chunk,
					    (s->nchunks + 1) * sizeof(*c));
		if (!c)
			return false;
		s->chunk = c;
		if (!(c[s->nchunks] = malloc((size_t)CHUNK_PAGES * PAGE)))
			return false;
		s->nchunks++;
	}
	x->data = s->npages++;
	return true;
}

static void take_back(struct snapshot *s, struct slot *x)
{
	uint32_t *p;

	if (x->data == NO_DATA)
		return;
	p = realloc(s->spare, (s->nspare + 1) * sizeof(*p));
	if (p) {
		s->spare = p;
		s->spare[s->nspare++] = x->data;
	}
	x->data = NO_DATA;
}

/* Fetches the pages from first on that are not kept (at most RUN_MAX,
 * stopping at one that is), in one batched read of the source. Returns
 * how many pages it dealt with, 0 when the budget (or memory) is spent. */
static size_t fetch_run(struct snapshot *s, uint64_t first, uint64_t last)
{
	struct mem_iov iov[RUN_MAX];
	struct slot *x[RUN_MAX];
	size_t n = 0;

	/* room for the whole run first: slots must not move under x[] */
	while (2 * (s->used + RUN_MAX) > s->cap)
		if (grow(s))
			return 0;
	for (uint64_t p = first; p <= last && n < RUN_MAX; p += PAGE) {
		struct slot *y = slot_of(s, p);
		if (!y || (y->state != STALE && n))
			break;
		if (!give_data(s, y))
			break;
		x[n] = y;
		iov[n] = (struct mem_iov){p, bytes_of(s, y->data), PAGE, 0};
		n++;
	}
	if (!n)
		return 0;
	s->src->readv(s->src, iov, n);
	for (size_t i = 0; i < n; i++) {
		x[i]->state = iov[i].status ? UNREADABLE : KEPT;
		if (iov[i].status)
			take_back(s, x[i]);
	}
	return n;
}

static int snap_read(struct mem *m, uint64_t addr, void *buf, size_t len)
{
	struct snapshot *s = (struct snapshot *)m;
	int rc = 0;

	if (!len)
		return 0;
	if (addr + len < addr)
		return -EFAULT;
	uint64_t last = (addr + len - 1) & ~(uint64_t)(PAGE - 1);
	pthread_mutex_lock(&s->lock);
	for (uint64_t p = addr & ~(uint64_t)(PAGE - 1); p <= last && !rc;) {
		uint64_t lo = p > addr ? p : addr;
		uint64_t hi = p + PAGE < addr + len ? p + PAGE : addr + len;
		unsigned char *out = (unsigned char *)buf + (lo - addr);
		struct slot *x = find(s, p);
		if (x && x->state == KEPT) {
			memcpy(out, bytes_of(s, x->data) + (lo - p), hi - lo);
			p += PAGE;
		} else if (x && (x->state == UNREADABLE || x->state == PARTIAL)) {
			/* a page may be unreadable whole and its bytes not
			 * (a file's last page): those are passed on */
			if (s->sealed)
				rc = x->state == PARTIAL ? -ENODATA : -EFAULT;
			else if (!(rc = s->src->read(s->src, lo, out, hi - lo)))
				x->state = PARTIAL;
			p += PAGE;
		} else if (s->sealed) {
			rc = -ENODATA;
		} else if (!fetch_run(s, p, last)) {
			/* the budget is spent: the rest is passed on, not kept */
			s->overflowed = true;
			rc = s->src->read(s->src, lo, out, addr + len - lo);
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static void snap_close(struct mem *m)
{
	snapshot_free((struct snapshot *)m);
}

struct snapshot *snapshot_new(struct mem *src, uint64_t budget)
{
	struct snapshot *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->m = (struct mem){.read = snap_read, .readv = mem_readv_each,
			    .close = snap_close, .how = src->how};
	s->src = src;
	s->budget = budget;
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

void snapshot_free(struct snapshot *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nchunks; i++)
		free(s->chunk[i]);
	free(s->chunk);
	free(s->slot);
	free(s->spare);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

struct mem *snapshot_mem(struct snapshot *s)
{
	return &s->m;
}

struct mem *snapshot_source(struct snapshot *s)
{
	return s->src;
}

void snapshot_reset(struct snapshot *s)
{
	pthread_mutex_lock(&s->lock);
	if (s->slot)
		memset(s->slot, 0, s->cap * sizeof(*s->slot));
	s->used = 0;
	s->npages = 0;
	s->nspare = 0;
	s->sealed = s->overflowed = false;
	pthread_mutex_unlock(&s->lock);
}

void snapshot_forget(struct snapshot *s, uint64_t addr, size_t len)
{
	if (!len || addr + len < addr)
		return;
	pthread_mutex_lock(&s->lock);
	uint64_t last = (addr + len - 1) & ~(uint64_t)(PAGE - 1);
	for (uint64_t p = addr & ~(uint64_t)(PAGE - 1); !s->sealed && p <= last;
	     p += PAGE) {
		struct slot *x = find(s, p);
		if (x)
			x->state = STALE; /* its buffer is refilled on reuse */
	}
	pthread_mutex_unlock(&s->lock);
}

void snapshot_seal(struct snapshot *s)
{
	pthread_mutex_lock(&s->lock);
	s->sealed = true;
	pthread_mutex_unlock(&s->lock);
}

bool snapshot_sealed(const struct snapshot *s)
{
	return s->sealed;
}

uint64_t snapshot_bytes(const struct snapshot *s)
{
	return (uint64_t)(s->npages - s->nspare) * PAGE;
}

uint64_t snapshot_budget(const struct snapshot *s)
{
	return s->budget;
}

bool snapshot_overflowed(const struct snapshot *s)
{
	return s->overflowed;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int snapshot_pages(const struct snapshot *s, uint64_t **pages, size_t *n)
{
	uint64_t *p = malloc((s->used ? s->used : 1) * sizeof(*p));

	*n = 0;
	if (!p)
		return -1;
	for (size_t i = 0; i < s->cap; i++)
		if (s->slot[i].key && s->slot[i].state == KEPT)
			p[(*n)++] = (s->slot[i].key - 1) * PAGE;
	qsort(p, *n, sizeof(*p), cmp_u64);
	*pages = p;
	return 0;
}

const void *snapshot_page(const struct snapshot *s, uint64_t page)
{
	const struct slot *x = find(s, page);

	return x && x->state == KEPT ? bytes_of(s, x->data) : NULL;
}
