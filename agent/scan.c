#define _GNU_SOURCE
#include "scan.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../decode/cmp.h"
#include "../decode/obmalloc.h"
#include "../decode/read.h"
#include "../decode/ndarray.h"
#include "../decode/pywalk.h"
#include "core.h"
#include "freeze.h"
#include "target.h"

#define CHUNK (1u << 20) /* fits L2 between the copy and the scan */
#define OVERLAP 128 /* a header that starts in a chunk may end past it */
#define WORKERS 2

struct piece {
	uint64_t start, end; /* to scan */
	uint64_t limit;      /* readable up to here (end of the region) */
};

struct job {
	const struct nd_ctx *c;
	struct mem *mem;
	uint64_t common;   /* the type most arrays have: tried first */
	uint64_t *types;   /* all of them, sorted */
	size_t ntypes;
	struct piece *pieces;
	size_t npieces;
	size_t next;     /* atomic: next piece to take */
	uint64_t done;   /* atomic: bytes scanned */
	uint64_t unreadable;
};

struct worker {
	struct job *job;
	uint64_t *cand;
	size_t n, cap;
	bool oom;
	void (*progress)(uint64_t, uint64_t);
	uint64_t total;
};

static bool is_type(const struct job *j, uint64_t t)
{
	if (t == j->common)
		return true;
	if (t < j->types[0] || t > j->types[j->ntypes - 1])
		return false;
	size_t lo = 0, hi = j->ntypes;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (j->types[mid] == t)
			return true;
		if (j->types[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static void push(struct worker *w, uint64_t addr)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 4096;
		uint64_t *p = realloc(w->cand, cap * sizeof(*p));
		if (!p) {
			w->oom = true;
			return;
		}
		w->cand = p;
		w->cap = cap;
	}
	w->cand[w->n++] = addr;
}

static void scan_buf(struct worker *w, uint64_t base, const unsigned char *buf,
		     size_t scan_len, size_t buf_len)
{
	const struct job *j = w->job;
	size_t need = nd_array_header_len(j->c->np);

	for (size_t off = 0; off < scan_len && off + 16 <= buf_len; off += 16) {
		uint64_t t;
		memcpy(&t, buf + off + 8, 8);
		if (!is_type(j, t) || off + need > buf_len)
			continue;
		if (nd_array_plausible(j->c->np, buf + off))
			push(w, base + off);
	}
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct job *j = w->job;
	unsigned char *buf = malloc(CHUNK + OVERLAP);

	if (!buf) {
		w->oom = true;
		return NULL;
	}
	for (;;) {
		size_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
		if (i >= j->npieces)
			break;
		const struct piece *p = &j->pieces[i];
		uint64_t len = p->end - p->start;
		uint64_t rlen = p->limit - p->start < len + OVERLAP
					? p->limit - p->start : len + OVERLAP;
		const void *in_place = j->mem->view ? j->mem->view(j->mem,
					p->start, (size_t)rlen) : NULL;
		if (in_place) {
			scan_buf(w, p->start, in_place, (size_t)len, (size_t)rlen);
		} else if (j->mem->read(j->mem, p->start, buf, (size_t)rlen) == 0) {
			scan_buf(w, p->start, buf, (size_t)len, (size_t)rlen);
		} else {
			/* part of it went away or is guarded: page by page */
			for (uint64_t a = p->start; a < p->end; a += 4096) {
				uint64_t n = p->limit - a < 4096 + OVERLAP
						     ? p->limit - a : 4096 + OVERLAP;
				if (j->mem->read(j->mem, a, buf, (size_t)n) == 0)
					scan_buf(w, a, buf, 4096, (size_t)n);
				/* the next page may be the unreadable one */
				else if (n > 4096 &&
					 j->mem->read(j->mem, a, buf, 4096) == 0)
					scan_buf(w, a, buf, 4096, 4096);
				else
					__atomic_add_fetch(&j->unreadable, 4096,
							   __ATOMIC_RELAXED);
			}
		}
		uint64_t done = __atomic_add_fetch(&j->done, len, __ATOMIC_RELAXED);
		if (w->progress)
			w->progress(done, w->total);
	}
	free(buf);
	return NULL;
}

/* [lo, hi) in CHUNK pieces, each readable up to hi. */
static int add_pieces(struct job *j, size_t *cap, uint64_t lo, uint64_t hi,
		      uint64_t *total)
{
	for (uint64_t a = lo; a < hi; a += CHUNK) {
		if (j->npieces == *cap) {
			size_t ncap = *cap ? 2 * *cap : 1024;
			struct piece *p = realloc(j->pieces, ncap * sizeof(*p));
			if (!p)
				return -1;
			j->pieces = p;
			*cap = ncap;
		}
		uint64_t end = hi - a < CHUNK ? hi : a + CHUNK;
		j->pieces[j->npieces++] = (struct piece){a, end, hi};
		*total += end - a;
	}
	return 0;
}

/* All that a scan reads of the map: each wanted region, as far as the
 * source holds it (a core: what was dumped). */
static int pieces_of_regions(struct job *j, const struct maps *m,
			     struct mem *mem, uint64_t *total,
			     uint64_t *regions)
{
	size_t cap = 0;

	for (size_t i = 0; i < m->n; i++) {
		const struct region *r = &m->r[i];
		uint64_t lo = r->start, hi = r->end;
		if (!region_scanned(r))
			continue;
		++*regions;
		for (uint64_t at = r->start;
		     at < r->end && (!mem->present ||
				     mem->present(mem, at, r->end, &lo, &hi));
		     at = hi)
			if (add_pieces(j, &cap, lo, hi, total))
				return -1;
	}
	return 0;
}

static int pieces_of_pools(struct job *j, const struct pools *pl,
			   uint64_t *total)
{
	size_t cap = 0;

	for (size_t i = 0; i < pl->n; i++)
		if (add_pieces(j, &cap, pl->r[i].start, pl->r[i].end, total))
			return -1;
	return 0;
}

/* Runs j over its pieces on WORKERS threads; the candidates found are
 * added to out->cand (unsorted). */
static int run(struct job *j, uint64_t total,
	       void (*progress)(uint64_t done, uint64_t total),
	       struct scan *out, struct nd_err *e)
{
	struct worker w[WORKERS];
	pthread_t th[WORKERS];

	/* the other worker never takes signals: they stay on this thread */
	sigset_t all, old;
	sigfillset(&all);
	int started = 0;
	for (int i = 0; i < WORKERS; i++) {
		w[i] = (struct worker){.job = j, .total = total};
		if (i == 0)
			continue;
		pthread_sigmask(SIG_SETMASK, &all, &old);
		if (pthread_create(&th[i], NULL, work, &w[i]) == 0)
			started |= 1 << i;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	w[0].progress = progress;
	work(&w[0]);
	size_t n = out->ncand;
	bool oom = w[0].oom;
	for (int i = 0; i < WORKERS; i++) {
		if (i && started & (1 << i))
			pthread_join(th[i], NULL);
		n += w[i].n;
		oom |= w[i].oom;
	}
	uint64_t *cand = oom ? NULL : realloc(out->cand,
					      (n ? n : 1) * sizeof(*cand));
	for (int i = 0; i < WORKERS; i++) {
		if (cand && w[i].n)
			memcpy(cand + out->ncand, w[i].cand,
			       w[i].n * sizeof(*w[i].cand));
		if (cand)
			out->ncand += w[i].n;
		free(w[i].cand);
	}
	if (!cand)
		return nd_fail(e, ND_ENOMEM, "out of memory collecting arrays");
	out->cand = cand;
	out->bytes += total;
	out->unreadable += j->unreadable;
	return 0;
}

/* Looks for arrays of types (the most common first) in pl's pools, or in
 * every wanted region of the map when pl is NULL. */
static int scan_memory(struct target *t, const struct pools *pl,
		       const uint64_t *types, size_t ntypes,
		       void (*progress)(uint64_t done, uint64_t total),
		       struct scan *out, struct nd_err *e)
{
	struct job j = {.c = &t->ctx, .mem = t->src, .common = types[0],
			.ntypes = ntypes};
	uint64_t total = 0;
	int rc = -1;

	if (!(j.types = malloc(ntypes * sizeof(*j.types))))
		return nd_fail(e, ND_ENOMEM, "out of memory");
	memcpy(j.types, types, ntypes * sizeof(*j.types));
	qsort(j.types, ntypes, sizeof(*j.types), nd_cmp_u64);
	if (pl ? pieces_of_pools(&j, pl, &total)
	       : pieces_of_regions(&j, &t->maps, t->src, &total, &out->regions))
		nd_fail(e, ND_ENOMEM, "out of memory");
	else
		rc = run(&j, total, progress, out, e);
	free(j.pieces);
	free(j.types);
	return rc;
}

/* Which types pymalloc can hold (their objects, headers before them
 * included, within its largest block), the smallest block that can hold
 * one, and the rest. */
#define PRE_HEADERS 64 /* GC, managed dict and debug-hook words before */

static void split_types(struct target *t, const uint64_t *types, size_t n,
			uint64_t *small, size_t *nsmall, uint64_t *large,
			size_t *nlarge, uint32_t *min_block)
{
	*nsmall = *nlarge = 0;
	*min_block = ND_SMALL_REQUEST;
	for (size_t i = 0; i < n; i++) {
		uint64_t size;
		if (nd_read_u64(&t->ctx, types[i] +
					 (uint64_t)t->ctx.py->tp_basicsize,
				&size, NULL, "tp_basicsize") ||
		    size > ND_SMALL_REQUEST - PRE_HEADERS) {
			large[(*nlarge)++] = types[i];
			continue;
		}
		small[(*nsmall)++] = types[i];
		uint32_t block = (uint32_t)(size + 15) & ~15u;
		if (block < *min_block)
			*min_block = block;
	}
}

static int scan_all(struct target *t,
		    void (*progress)(uint64_t done, uint64_t total),
		    struct scan *out, struct nd_err *e)
{
	uint64_t small[ND_MAX_SUBTYPES], large[ND_MAX_SUBTYPES];
	size_t nsmall, nlarge;
	uint32_t min_block;
	struct pools pl;

	struct pools_where w = {&t->ctx, t->src, &t->maps, t->rt.runtime_addr,
				 t->rt.arena_loads, t->rt.narena_loads};

	split_types(t, out->types, out->ntypes, small, &nsmall, large,
		    &nlarge, &min_block);
	memset(&pl, 0, sizeof(pl));
	if (t->core && t->core->snapshot) {
		/* it holds what was captured: little, and no pool headers */
		snprintf(pl.f.why, sizeof(pl.f.why), "an ndspy snapshot holds "
			 "only what was captured");
	} else if (!nsmall) {
		snprintf(pl.f.why, sizeof(pl.f.why), "no array type fits "
			 "pymalloc's blocks");
	} else if (pools_find(&w, min_block, &pl, e)) {
		return -1;
	}
	out->found = pl.f;
	int rc;
	if (pl.f.way == POOLS_NONE) {
		rc = scan_memory(t, NULL, out->types, out->ntypes, progress, out,
				 e);
	} else {
		out->nlarge = nlarge;
		rc = scan_memory(t, &pl, small, nsmall, progress, out, e);
		if (!rc && nlarge)
			rc = scan_memory(t, NULL, large, nlarge, progress, out,
					 e);
	}
	pools_free(&pl);
	return rc;
}

void scan_free(struct scan *s)
{
	free(s->cand);
	s->cand = NULL;
	s->ncand = 0;
}

int scan_target(struct target *t, bool pause, struct freeze *fz,
		void (*progress)(uint64_t done, uint64_t total),
		struct scan *out, struct nd_err *e)
{
	memset(out, 0, sizeof(*out));
	if (target_pause(t, pause, false, fz, e) || target_maps_again(t, e))
		return -1;
	return scan_arrays(t, progress, out, e);
}

int scan_arrays(struct target *t,
		void (*progress)(uint64_t done, uint64_t total),
		struct scan *out, struct nd_err *e)
{
	memset(out, 0, sizeof(*out));
	int rc = nd_py_subtypes(&t->ctx, t->rt.array_type, out->types,
				ND_MAX_SUBTYPES, &out->ntypes, e);
	if (!rc && out->ntypes == ND_MAX_SUBTYPES)
		fprintf(stderr, "ndspy: more than %d ndarray subclasses; arrays "
				"of the ones past that are not seen\n",
			ND_MAX_SUBTYPES);
	if (!rc)
		rc = scan_all(t, progress, out, e);
	if (rc) {
		scan_free(out);
		return -1;
	}
	/* each address once, in order (the two scans look for different
	 * types, but a candidate is never reported twice) */
	qsort(out->cand, out->ncand, sizeof(*out->cand), nd_cmp_u64);
	size_t u = 0;
	for (size_t i = 0; i < out->ncand; i++)
		if (!u || out->cand[u - 1] != out->cand[i])
			out->cand[u++] = out->cand[i];
	out->ncand = u;
	qsort(out->types, out->ntypes, sizeof(*out->types), nd_cmp_u64);
	return 0;
}

void scan_describe(const struct scan *s, char *buf, size_t cap)
{
	const struct pools_found *f = &s->found;
	char large[160] = "";

	if (f->way != POOLS_NONE && s->nlarge)
		snprintf(large, sizeof(large), ", and all writable memory "
			 "(%" PRIu64 " regions) for %zu type%s too large for "
			 "pymalloc", s->regions, s->nlarge,
			 nd_plural(s->nlarge));
	if (f->way == POOLS_TABLE)
		snprintf(buf, cap, "scanned %" PRIu64 " MiB: the blocks of %"
			 PRIu64 " pymalloc pools in %" PRIu64 " arenas "
			 "(the interpreter's arena table)%s",
			 s->bytes >> 20, f->pools, f->arenas, large);
	else if (f->way == POOLS_PROBED)
		snprintf(buf, cap, "scanned %" PRIu64 " MiB: the blocks of %"
			 PRIu64 " pymalloc pools found by their headers (%s)%s",
			 s->bytes >> 20, f->pools, f->why, large);
	else
		snprintf(buf, cap, "scanned %" PRIu64 " MiB: all writable "
			 "memory, %" PRIu64 " regions (%s)",
			 s->bytes >> 20, s->regions, f->why);
}
