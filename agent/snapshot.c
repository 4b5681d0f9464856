/* Pages are fetched whole, into a small window of the pages fetched last
 * (neighbouring objects cost one system call between them), but what is
 * kept is the 64-byte lines reads touched: an array's dims and strides
 * sit among small arrays' data, and keeping their whole pages would keep
 * that data too. A page keeps its lines in order in a buffer of its own,
 * all 4 KiB of it once most of its lines are kept. One thread reads a
 * snapshot (scans read the source itself): no lock. */
#include "snapshot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../decode/cmp.h"
#include "hash.h"

#define PAGE SNAPSHOT_PAGE
#define LINE SNAPSHOT_LINE
#define LINES (PAGE / LINE) /* 64: a page's lines are the bits of a word */
#define DENSE 40            /* past this many lines, a page keeps it all */
#define WINDOW 64           /* pages fetched lately, by page number */
#define RUN_MAX WINDOW      /* pages one batched read fetches */
#define RECENT 64

struct slot {
	uint64_t key;        /* page number + 1; 0: empty */
	uint64_t lines;      /* bit i: line i is kept */
	unsigned char *data; /* the kept lines in order, or (dense) the page */
	uint8_t dense, cap;  /* cap: lines data has room for */
	/* the page could not be fetched whole (then its lines are read on
	 * their own: a snapshot file holds lines); partial: yet some bytes
	 * of it were read */
	uint8_t unreadable, partial;
};

/* A page fetched lately: its bytes, or the error that read it. */
struct fetched {
	uint64_t key; /* page number + 1; 0: none */
	int status;
	unsigned char data[PAGE];
};

struct snapshot {
	struct mem m;      /* first: the snapshot is a memory source */
	struct mem glance; /* the same reads, keeping nothing */
	struct mem *src;
	struct slot *slot;
	size_t cap, used;  /* slots (a power of two), taken */
	/* slots found lately, by page number: a decode reads a few objects
	 * many times (an array's type, its dtype) */
	struct slot *recent[RECENT];
	struct fetched *win; /* WINDOW of them, made when first needed */
	uint64_t kept, budget;
	bool sealed, overflowed;
};

static struct slot *lookup(const struct snapshot *s, uint64_t key)
{
	if (!s->cap)
		return NULL;
	for (size_t i = slot_hash(key, s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (s->slot[i].key == key)
			return &s->slot[i];
		if (s->slot[i].key == 0)
			return NULL;
	}
}

static struct slot *find(struct snapshot *s, uint64_t page)
{
	uint64_t key = page / PAGE + 1;
	struct slot **r = &s->recent[key % RECENT];

	if (*r && (*r)->key == key)
		return *r;
	struct slot *x = lookup(s, key);
	if (x)
		*r = x;
	return x;
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
		size_t j = slot_hash(s->slot[i].key, cap - 1);
		while (n[j].key)
			j = (j + 1) & (cap - 1);
		n[j] = s->slot[i];
	}
	free(s->slot);
	s->slot = n;
	s->cap = cap;
	memset(s->recent, 0, sizeof(s->recent)); /* the slots moved */
	return 0;
}

/* The slot of page, made (nothing kept) if it has none; NULL when out of
 * memory. */
static struct slot *slot_of(struct snapshot *s, uint64_t page)
{
	struct slot *x = find(s, page);

	if (x)
		return x;
	if (2 * (s->used + 1) > s->cap && grow(s))
		return NULL;
	uint64_t key = page / PAGE + 1;
	size_t i = slot_hash(key, s->cap - 1);
	while (s->slot[i].key)
		i = (i + 1) & (s->cap - 1);
	s->slot[i] = (struct slot){.key = key};
	s->used++;
	return &s->slot[i];
}

static uint64_t below(unsigned line)
{
	return line ? ~0ULL >> (LINES - line) : 0;
}

/* Where kept line i of x is. */
static unsigned char *line_at(const struct slot *x, unsigned i)
{
	if (x->dense)
		return x->data + (size_t)i * LINE;
	return x->data + (size_t)__builtin_popcountll(x->lines & below(i)) * LINE;
}

/* The lines [lo, hi) of a page cover, as bits. */
static uint64_t lines_of(unsigned lo, unsigned hi)
{
	return below((hi - 1) / LINE + 1) & ~below(lo / LINE);
}

/* Keeps the lines of want that x lacks, from page (its bytes); false when
 * the budget (or memory) does not allow it. */
static bool keep(struct snapshot *s, struct slot *x, uint64_t want,
		 const unsigned char *page)
{
	uint64_t add = want & ~x->lines;
	unsigned n = (unsigned)__builtin_popcountll(x->lines | add);

	if (!add)
		return true;
	if (s->kept + (uint64_t)__builtin_popcountll(add) * LINE > s->budget)
		return false;
	if (!x->dense && n > DENSE) {
		unsigned char *d = malloc(PAGE);
		if (!d)
			return false;
		for (uint64_t b = x->lines; b; b &= b - 1) {
			unsigned i = (unsigned)__builtin_ctzll(b);
			memcpy(d + (size_t)i * LINE, line_at(x, i), LINE);
		}
		free(x->data);
		x->data = d;
		x->dense = 1;
	} else if (!x->dense && n > x->cap) {
		/* a few lines of room at a time: sparse pages stay small */
		unsigned cap = (n + 3) & ~3u;
		unsigned char *d = realloc(x->data, (size_t)cap * LINE);
		if (!d)
			return false;
		x->data = d;
		x->cap = (uint8_t)cap;
	}
	for (uint64_t b = add; b; b &= b - 1) {
		unsigned i = (unsigned)__builtin_ctzll(b);
		unsigned char *at = x->dense ? x->data + (size_t)i * LINE
					     : line_at(x, i);
		if (!x->dense) {
			size_t after = (size_t)__builtin_popcountll(x->lines &
								 ~below(i));
			memmove(at + LINE, at, after * LINE);
		}
		memcpy(at, page + (size_t)i * LINE, LINE);
		x->lines |= 1ULL << i;
	}
	s->kept += (uint64_t)__builtin_popcountll(add) * LINE;
	return true;
}

/* The page fetched lately, or fetched now with those after it up to last
 * that are not (one batched read); NULL when out of memory. */
static struct fetched *fetch(struct snapshot *s, uint64_t page, uint64_t last)
{
	struct mem_iov iov[RUN_MAX];
	size_t n = 0;

	if (!s->win && !(s->win = calloc(WINDOW, sizeof(*s->win))))
		return NULL;
	struct fetched *w = &s->win[(page / PAGE) % WINDOW];
	if (w->key == page / PAGE + 1)
		return w;
	for (uint64_t p = page; p <= last && n < RUN_MAX; p += PAGE) {
		struct fetched *f = &s->win[(p / PAGE) % WINDOW];
		if (n && f->key == p / PAGE + 1)
			break;
		f->key = p / PAGE + 1;
		iov[n++] = (struct mem_iov){p, f->data, PAGE, 0};
	}
	s->src->readv(s->src, iov, n);
	for (size_t i = 0; i < n; i++)
		s->win[(iov[i].addr / PAGE) % WINDOW].status = iov[i].status;
	return w;
}

/* [lo, hi) of a page that cannot be fetched whole: its lines on their
 * own, kept if asked to, else just the bytes, passed on. */
static int read_lines(struct snapshot *s, struct slot *x, uint64_t p,
		      uint64_t lo, uint64_t hi, uint64_t want, bool keeping,
		      unsigned char *out)
{
	unsigned char page[PAGE];
	uint64_t first = p + (uint64_t)__builtin_ctzll(want) * LINE;
	uint64_t end = p + (uint64_t)(LINES - __builtin_clzll(want)) * LINE;

	if (s->src->read(s->src, first, page + (first - p), end - first) == 0) {
		x->partial = 1;
		if (!keeping || !keep(s, x, want, page)) {
			s->overflowed |= keeping;
			memcpy(out, page + (lo - p), hi - lo);
			return 1;
		}
		return 0;
	}
	/* not even its lines (a file's last page): the bytes */
	int rc = s->src->read(s->src, lo, out, hi - lo);
	if (!rc)
		x->partial = 1;
	return rc ? rc : 1;
}

/* Reads [lo, hi) of page p into out: kept lines, else (open) the page
 * fetched, keeping its lines if asked to. */
static int read_page(struct snapshot *s, uint64_t p, uint64_t lo, uint64_t hi,
		     uint64_t last, bool keeping, unsigned char *out)
{
	uint64_t want = lines_of((unsigned)(lo - p), (unsigned)(hi - p));
	struct slot *x = find(s, p);

	if (!(x && (x->lines & want) == want)) {
		/* a page no byte of which could be read is unreadable, as
		 * the target said; else what was not kept is "not captured" */
		if (s->sealed)
			return x && x->unreadable && !x->partial ? -EFAULT
								 : -ENODATA;
		if (!x || !x->unreadable) {
			struct fetched *w = fetch(s, p, last);
			if (!w)
				return -ENOMEM;
			if (w->status) {
				if (!(x = slot_of(s, p)))
					return w->status;
				x->unreadable = 1;
			} else if (!keeping || !(x = slot_of(s, p)) ||
				   !keep(s, x, want, w->data)) {
				s->overflowed |= keeping;
				memcpy(out, w->data + (lo - p), hi - lo);
				return 0;
			}
		}
		if (x->unreadable) {
			int rc = read_lines(s, x, p, lo, hi, want, keeping, out);
			if (rc)
				return rc > 0 ? 0 : rc;
		}
	}
	if (x->dense) {
		memcpy(out, x->data + (lo - p), hi - lo);
		return 0;
	}
	/* line by line: a sparse page's kept lines need not be adjacent */
	for (uint64_t a = lo; a < hi;) {
		unsigned i = (unsigned)((a - p) / LINE);
		uint64_t n = p + (uint64_t)(i + 1) * LINE - a;
		if (n > hi - a)
			n = hi - a;
		memcpy(out + (a - lo), line_at(x, i) + (a - p) % LINE, n);
		a += n;
	}
	return 0;
}

static int snap_readx(struct snapshot *s, uint64_t addr, void *buf,
		      size_t len, bool keeping)
{
	int rc = 0;

	if (!len)
		return 0;
	if (addr + len < addr)
		return -EFAULT;
	uint64_t last = (addr + len - 1) & ~(uint64_t)(PAGE - 1);
	for (uint64_t p = addr & ~(uint64_t)(PAGE - 1); p <= last && !rc;
	     p += PAGE) {
		uint64_t lo = p > addr ? p : addr;
		uint64_t hi = p + PAGE < addr + len ? p + PAGE : addr + len;
		rc = read_page(s, p, lo, hi, last, keeping,
			       (unsigned char *)buf + (lo - addr));
	}
	return rc;
}

static int snap_read(struct mem *m, uint64_t addr, void *buf, size_t len)
{
	return snap_readx((struct snapshot *)m, addr, buf, len, true);
}

static int snap_glance(struct mem *m, uint64_t addr, void *buf, size_t len)
{
	struct snapshot *s = (struct snapshot *)((char *)m -
						 offsetof(struct snapshot, glance));

	return snap_readx(s, addr, buf, len, false);
}

static void snap_close(struct mem *m)
{
	snapshot_free((struct snapshot *)m);
}

static void glance_close(struct mem *m)
{
	(void)m; /* closed with the snapshot */
}

struct snapshot *snapshot_new(struct mem *src, uint64_t budget)
{
	struct snapshot *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->m = (struct mem){.read = snap_read, .readv = mem_readv_each,
			    .close = snap_close, .how = src->how};
	s->glance = (struct mem){.read = snap_glance, .readv = mem_readv_each,
				 .close = glance_close, .how = src->how};
	s->src = src;
	s->budget = budget;
	return s;
}

static void drop_all(struct snapshot *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slot[i].data);
	if (s->slot)
		memset(s->slot, 0, s->cap * sizeof(*s->slot));
	memset(s->recent, 0, sizeof(s->recent));
	if (s->win)
		for (size_t i = 0; i < WINDOW; i++)
			s->win[i].key = 0;
	s->used = 0;
	s->kept = 0;
}

void snapshot_free(struct snapshot *s)
{
	if (!s)
		return;
	drop_all(s);
	free(s->slot);
	free(s->win);
	free(s);
}

struct mem *snapshot_mem(struct snapshot *s)
{
	return &s->m;
}

struct mem *snapshot_glance(struct snapshot *s)
{
	return &s->glance;
}

void snapshot_reset(struct snapshot *s)
{
	drop_all(s);
	s->sealed = s->overflowed = false;
}

void snapshot_forget(struct snapshot *s, uint64_t addr, size_t len)
{
	if (!len || addr + len < addr)
		return;
	uint64_t last = (addr + len - 1) & ~(uint64_t)(PAGE - 1);
	for (uint64_t p = addr & ~(uint64_t)(PAGE - 1); !s->sealed && p <= last;
	     p += PAGE) {
		struct slot *x = find(s, p);
		if (s->win && s->win[(p / PAGE) % WINDOW].key == p / PAGE + 1)
			s->win[(p / PAGE) % WINDOW].key = 0;
		if (!x)
			continue;
		/* all of its lines: a forgotten page is read again whole */
		s->kept -= (uint64_t)__builtin_popcountll(x->lines) * LINE;
		free(x->data);
		x->data = NULL;
		x->lines = 0;
		x->cap = x->dense = 0;
		x->unreadable = x->partial = 0;
	}
}

void snapshot_seal(struct snapshot *s)
{
	s->sealed = true;
}

bool snapshot_sealed(const struct snapshot *s)
{
	return s->sealed;
}

uint64_t snapshot_bytes(const struct snapshot *s)
{
	return s->kept;
}

uint64_t snapshot_budget(const struct snapshot *s)
{
	return s->budget;
}

bool snapshot_overflowed(const struct snapshot *s)
{
	return s->overflowed;
}

int snapshot_runs(const struct snapshot *s, struct snapshot_run **runs,
		  size_t *n)
{
	uint64_t *pages = malloc((s->used ? s->used : 1) * sizeof(*pages));
	size_t np = 0, cap = 0;

	*runs = NULL;
	*n = 0;
	if (!pages)
		return -1;
	for (size_t i = 0; i < s->cap; i++)
		if (s->slot[i].key && s->slot[i].lines)
			pages[np++] = (s->slot[i].key - 1) * PAGE;
	qsort(pages, np, sizeof(*pages), nd_cmp_u64);
	for (size_t k = 0; k < np; k++) {
		uint64_t lines = lookup(s, pages[k] / PAGE + 1)->lines;
		for (unsigned i = 0; i < LINES; i++) {
			if (!(lines >> i & 1))
				continue;
			uint64_t a = pages[k] + (uint64_t)i * LINE;
			struct snapshot_run *last = *n ? &(*runs)[*n - 1] : NULL;
			if (last && last->addr + last->len == a) {
				last->len += LINE;
				continue;
			}
			if (*n == cap) {
				cap = cap ? 2 * cap : 1024;
				struct snapshot_run *r = realloc(*runs,
								 cap * sizeof(*r));
				if (!r) {
					free(pages);
					return -1;
				}
				*runs = r;
			}
			(*runs)[(*n)++] = (struct snapshot_run){a, LINE};
		}
	}
	free(pages);
	return 0;
}

int snapshot_copy(const struct snapshot *s, uint64_t addr, void *buf,
		  size_t len)
{
	for (size_t done = 0; done < len;) {
		uint64_t a = addr + done;
		const struct slot *x = lookup(s, a / PAGE + 1);
		unsigned i = (unsigned)((a % PAGE) / LINE);
		size_t n = LINE - a % LINE;
		if (n > len - done)
			n = len - done;
		if (!x || !(x->lines >> i & 1))
			return -ENODATA;
		memcpy((char *)buf + done, line_at(x, i) + a % LINE, n);
		done += n;
	}
	return 0;
}
