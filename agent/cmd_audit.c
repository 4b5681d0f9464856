/* ndspy audit PID: who owns NumPy's buffers. The probes of `watch` run for
 * a window between two scans (`list`'s); then:
 *   orphan  a buffer allocated in the window, never freed, that no live
 *           array owns (OWNDATA with that data pointer): leaked by C code
 *   pinned  an owning array nothing references but its views (its
 *           refcount equals the number of arrays whose base it is) while
 *           the views reach only part of its bytes
 *   growth  buffers allocated in the window and still live, by the
 *           stack that allocated them
 * largest first, then a summary. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../decode/buf.h"
#include "../decode/ndarray.h"
#include "../probe/live_table.h"
#include "../probe/watch_probe.h"
#include "cli.h"
#include "elf.h"
#include "freeze.h"
#include "scan.h"
#include "sites.h"
#include "target.h"

static const char usage[] =
	"usage: ndspy audit [options] PID\n"
	"\n"
	"Watch NumPy's buffers for a window (eBPF, as `watch`) between two\n"
	"scans of the process's arrays (as `list`), then report, largest first:\n"
	"  orphan   buffers allocated in the window, never freed, owned by no\n"
	"           array (what a C extension that drops OWNDATA leaks)\n"
	"  pinned   arrays referenced only by views that reach part of them\n"
	"           (a huge array kept alive by a small slice)\n"
	"  growth   buffers allocated in the window and still live, by the\n"
	"           Python stack that allocated them\n"
	"and a summary. Orphans and pinned arrays allocated in the window come\n"
	"with their stack too (16 frames, innermost first, as tracemalloc\n"
	"would record them: \"stack\" in JSON, the innermost frame in text).\n"
	"\n"
	"options:\n"
	"  --json           one JSON object per finding per line\n"
	"  --duration SEC   the window (default 10; Ctrl-C ends it early)\n"
	"  -v, --verbose    probes, scans and pauses\n"
	"  -h, --help       this text\n"
	"\n"
	"The process is paused during each scan (as `list` pauses it).\n"
	"\n"
	"exit status: 0 ok; 2 usage; 3 the process cannot be audited\n";

/* Python frames kept per buffer allocated in the window */
#define AUDIT_DEPTH 16

struct audit_opts {
	bool json;
	double duration;
};

/* What a scan keeps of one array. */
struct arr {
	uint64_t addr, data, base; /* base: the base array, 0 if none */
	int64_t nbytes, refcnt, lo, hi;
	uint32_t flags;
	int nviews; /* arrays whose base this is */
	/* the hull of the bytes its views reach, relative to data */
	int64_t vlo, vhi;
};

struct snapshot {
	struct arr *a;      /* by address */
	size_t n;
	uint64_t *owned;    /* data pointers of arrays owning them, sorted */
	size_t nowned;
	struct view { uint64_t base, addr; } *views; /* by base */
	size_t nviews;
};

struct audit_state {
	struct live_ledger seen; /* allocated in the window, not freed */
	struct sites sites;     /* where they were allocated */
	bool have_sites;
	uint64_t cutoff;        /* events from this ktime on are after the
				 * end scan began: not the window's */
	uint64_t allocs, frees, bytes_allocated, bytes_freed;
};

static int audit_option(void *opts, int ch, const char *arg, struct nd_err *e)
{
	struct audit_opts *o = opts;

	if (ch == 'j') {
		o->json = true;
		return 0;
	}
	return cli_parse_seconds("--duration", arg, &o->duration, e);
}

static void on_event(void *arg, const struct nd_event *ev)
{
	struct audit_state *s = arg;
	struct live_buf gone;

	if (ev->ts_ns >= s->cutoff)
		return;
	if (ev->kind == ND_EV_ALLOC) {
		struct live_buf b = {ev->addr, ev->size, ev->ts_ns, ev->tid, 0};
		if (s->have_sites)
			b.site = sites_of(&s->sites, ev);
		/* out of memory: the report is as good as what was kept */
		ledger_alloc(&s->seen, &b);
	} else {
		ledger_free(&s->seen, ev->addr, &gone);
	}
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

static int cmp_view(const void *x, const void *y)
{
	const struct view *a = x, *b = y;
	if (a->base != b->base)
		return a->base < b->base ? -1 : 1;
	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

static int by_addr(const void *x, const void *y)
{
	const struct arr *a = x, *b = y;
	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

static struct arr *find(const struct snapshot *s, uint64_t addr)
{
	struct arr key = {.addr = addr};
	return bsearch(&key, s->a, s->n, sizeof(*s->a), by_addr);
}

/* Every array, paused, decoded fully (as list validates them); *paused_at
 * is when the target stopped (CLOCK_MONOTONIC, as the events' times). */
static int take(struct target *t, struct snapshot *s, uint64_t *paused_at,
		struct nd_err *e)
{
	struct freeze fz = {0};
	struct scan sc;
	size_t ntypes;

	memset(s, 0, sizeof(*s));
	int rc = scan_target(t, true, &fz, NULL, &sc, &ntypes, e);
	*paused_at = fz.t0_ns;
	if (!rc && !(s->a = calloc(sc.ncand ? sc.ncand : 1, sizeof(*s->a))))
		rc = nd_fail(e, ND_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < sc.ncand; i++) {
		struct nd_array a;
		if (nd_array_decode(&t->ctx, sc.cand[i], &a, NULL) == 0) {
			struct arr *x = &s->a[s->n++];
			*x = (struct arr){a.addr, a.data, 0, a.nbytes, a.refcnt,
					  a.extent_lo, a.extent_hi, a.flags, 0};
			if (a.nbases && a.bases[0].kind == ND_BASE_ARRAY)
				x->base = a.bases[0].addr;
		}
		nd_array_free(&a);
	}
	thaw_all(&fz);
	cli_verbosef("%s: %zu arrays, paused %.1f ms", t->name, s->n,
		     (double)fz.pause_ns / 1e6);
	scan_free(&sc);
	if (rc)
		return rc;
	qsort(s->a, s->n, sizeof(*s->a), by_addr);
	s->owned = calloc(s->n ? s->n : 1, sizeof(*s->owned));
	s->views = calloc(s->n ? s->n : 1, sizeof(*s->views));
	if (!s->owned || !s->views)
		return nd_fail(e, ND_ENOMEM, "out of memory");
	for (size_t i = 0; i < s->n; i++) {
		struct arr *v = &s->a[i];
		if (v->flags & ND_F_OWNDATA)
			s->owned[s->nowned++] = v->data;
		struct arr *b = v->base ? find(s, v->base) : NULL;
		if (!b)
			continue;
		s->views[s->nviews++] = (struct view){b->addr, v->addr};
		if (!b->nviews++) {
			b->vlo = INT64_MAX;
			b->vhi = INT64_MIN;
		}
		if (v->hi > v->lo) {
			int64_t lo = (int64_t)(v->data - b->data) + v->lo;
			int64_t hi = (int64_t)(v->data - b->data) + v->hi;
			b->vlo = lo < b->vlo ? lo : b->vlo;
			b->vhi = hi > b->vhi ? hi : b->vhi;
		}
	}
	qsort(s->owned, s->nowned, sizeof(*s->owned), cmp_u64);
	/* base first in struct view: sorted by base, then by address */
	qsort(s->views, s->nviews, sizeof(*s->views), cmp_view);
	return 0;
}

/* Whether a live array owns the buffer at data. */
static bool owned(const struct snapshot *s, uint64_t data)
{
	return bsearch(&data, s->owned, s->nowned, sizeof(*s->owned),
		       cmp_u64) != NULL;
}

/* Bytes of owner o its views reach: the hull of their extents (views of
 * one owner rarely leave holes worth telling apart). */
static int64_t reachable(const struct arr *o)
{
	return o->nviews && o->vhi > o->vlo ? o->vhi - o->vlo : 0;
}

struct finding {
	int kind; /* 0 orphan, 1 pinned, 2 growth */
	uint64_t bytes;
	const struct live_buf *buf;
	const struct arr *owner;
	uint64_t count; /* growth: buffers of its site */
	const struct site *site; /* where it was allocated; NULL unknown */
};

/* The stack a buffer was allocated with, if the window saw it. */
static const struct site *site_of(const struct audit_state *s, uint32_t id)
{
	return s->have_sites && id ? &s->sites.s[id] : NULL;
}

static void stack_out(const struct audit_opts *o, const struct site *site,
		      struct nd_buf *b)
{
	if (site && o->json)
		sites_json(site->f, site->n, b);
	else if (site)
		sites_text(site->f, site->n, b);
}

static int by_bytes(const void *x, const void *y)
{
	const struct finding *a = x, *b = y;
	if (a->kind != b->kind)
		return a->kind - b->kind;
	return a->bytes < b->bytes ? 1 : a->bytes > b->bytes ? -1 : 0;
}

/* Largest first; of one size, those without a site together. */
static int by_size_desc(const void *x, const void *y)
{
	const struct live_buf *a = x, *b = y;
	if (a->size != b->size)
		return a->size < b->size ? 1 : -1;
	return (a->site != 0) - (b->site != 0);
}

/* NumPy before 1.22 keeps up to 7 freed buffers of each size under
 * 1024 bytes for reuse without telling tracemalloc either way: such a
 * buffer looks allocated and never freed. Below that size only a later
 * NumPy can be audited. */
#define OLD_NUMPY_CACHED 1024

static void report(const struct audit_opts *o, const struct snapshot *end,
		   bool have_end, struct audit_state *s, uint64_t lost,
		   double window, size_t arrays_start, int numpy_version,
		   struct nd_buf *b)
{
	uint64_t min_size = numpy_version && numpy_version < 122
				    ? OLD_NUMPY_CACHED : 0;
	size_t nlive = s->seen.live.n, nf = 0;
	struct live_buf *bufs = calloc(nlive ? nlive : 1, sizeof(*bufs));
	struct finding *f = calloc(nlive * 2 + end->n + 1, sizeof(*f));
	int64_t now = 0;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	if (!bufs || !f) {
		free(bufs);
		free(f);
		nd_buf_puts(b, "out of memory\n");
		return;
	}
	size_t k = 0;
	for (size_t i = 0; i < s->seen.live.cap; i++)
		if (s->seen.live.b[i].addr > 1 &&
		    s->seen.live.b[i].size >= min_size)
			bufs[k++] = s->seen.live.b[i];
	qsort(bufs, k, sizeof(*bufs), by_size_desc);
	uint64_t orphan_bytes = 0, pinned_bytes = 0, growth = 0;
	size_t norphan = 0, npinned = 0;
	for (size_t i = 0; i < k; i++) {
		growth += bufs[i].size;
		if (have_end && !owned(end, bufs[i].addr)) {
			f[nf++] = (struct finding){0, bufs[i].size, &bufs[i],
						   .site = site_of(s, bufs[i].site)};
			orphan_bytes += bufs[i].size;
			norphan++;
		}
	}
	for (size_t i = 0; i < end->n; i++) {
		const struct arr *a = &end->a[i];
		if (!(a->flags & ND_F_OWNDATA) || !a->nviews ||
		    a->refcnt != a->nviews)
			continue;
		int64_t r = reachable(a);
		if (r >= a->nbytes)
			continue;
		const struct live_buf *lb = live_get(&s->seen.live, a->data);
		f[nf++] = (struct finding){1, (uint64_t)(a->nbytes - r), NULL, a,
					   .site = lb ? site_of(s, lb->site)
						      : NULL};
		pinned_bytes += (uint64_t)a->nbytes;
		npinned++;
	}
	/* growth by site (or by size where no stack was seen, as on a
	 * target whose frames cannot be read): runs in the sorted buffers */
	for (size_t i = 0; i < k; i++) {
		struct site *site = s->have_sites && bufs[i].site
					    ? &s->sites.s[bufs[i].site] : NULL;
		if (site) {
			site->bytes += bufs[i].size;
			site->count++;
			continue;
		}
		size_t j = i;
		while (j < k && bufs[j].size == bufs[i].size &&
		       !(s->have_sites && bufs[j].site))
			j++;
		f[nf++] = (struct finding){2, bufs[i].size * (j - i), NULL, NULL,
					   j - i};
		f[nf - 1].buf = &bufs[i];
		i = j - 1;
	}
	for (size_t id = 1; s->have_sites && id < s->sites.n; id++)
		if (s->sites.s[id].count)
			f[nf++] = (struct finding){2, s->sites.s[id].bytes, NULL,
						   NULL, s->sites.s[id].count,
						   &s->sites.s[id]};
	qsort(f, nf, sizeof(*f), by_bytes);
	if (!o->json)
		nd_buf_printf(b, "audit of %.1f s:\n", window);
	for (size_t i = 0; i < nf; i++) {
		const struct finding *x = &f[i];
		if (x->kind == 0 && o->json) {
			nd_buf_printf(b, "{\"kind\": \"orphan\", \"data\": %" PRIu64
					 ", \"size\": %" PRIu64 ", \"tid\": %u, "
					 "\"age_s\": %.3f",
				      x->buf->addr, x->buf->size, x->buf->tid,
				      (double)(now - (int64_t)x->buf->ts_ns) / 1e9);
			stack_out(o, x->site, b);
			nd_buf_puts(b, "}\n");
		} else if (x->kind == 0) {
			nd_buf_printf(b, "  orphan  0x%" PRIx64 "  %" PRIu64
					 " bytes, allocated by thread %u %.1f s "
					 "ago, owned by no array",
				      x->buf->addr, x->buf->size, x->buf->tid,
				      (double)(now - (int64_t)x->buf->ts_ns) / 1e9);
			stack_out(o, x->site, b);
			nd_buf_putc(b, '\n');
		} else if (x->kind == 1) {
			const struct arr *a = x->owner;
			int64_t r = reachable(a);
			if (o->json)
				nd_buf_printf(b, "{\"kind\": \"pinned\", \"owner\": %"
						 PRIu64 ", \"data\": %" PRIu64
						 ", \"nbytes\": %" PRId64
						 ", \"reachable_bytes\": %" PRId64
						 ", \"views\": [",
					      a->addr, a->data, a->nbytes, r);
			else
				nd_buf_printf(b, "  pinned  0x%" PRIx64 "  %" PRId64
						 " bytes kept alive by views "
						 "reaching %" PRId64 " bytes:",
					      a->addr, a->nbytes, r);
			/* the first of its views, then the rest of the run */
			size_t lo = 0, hi = end->nviews;
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;
				if (end->views[mid].base < a->addr)
					lo = mid + 1;
				else
					hi = mid;
			}
			for (size_t v = lo; v < end->nviews &&
					    end->views[v].base == a->addr; v++)
				nd_buf_printf(b, o->json ? "%s%" PRIu64
							 : "%s0x%" PRIx64,
					      v > lo ? (o->json ? ", " : " ")
						     : (o->json ? "" : " "),
					      end->views[v].addr);
			nd_buf_puts(b, o->json ? "]" : "");
			stack_out(o, x->site, b);
			nd_buf_puts(b, o->json ? "}\n" : "\n");
		} else if (o->json) {
			nd_buf_printf(b, "{\"kind\": \"growth\", \"count\": %"
					 PRIu64 ", \"bytes\": %" PRIu64,
				      x->count, x->bytes);
			if (x->site)
				stack_out(o, x->site, b);
			else
				nd_buf_printf(b, ", \"size\": %" PRIu64,
					      x->buf->size);
			nd_buf_puts(b, "}\n");
		} else if (x->site) {
			nd_buf_printf(b, "  growth  %" PRIu64 " buffers still live "
					 "(%" PRIu64 " bytes) from",
				      x->count, x->bytes);
			stack_out(o, x->site, b);
			nd_buf_putc(b, '\n');
		} else {
			nd_buf_printf(b, "  growth  %" PRIu64 " buffers of %" PRIu64
					 " bytes still live (%" PRIu64 " bytes)\n",
				      x->count, x->buf->size, x->bytes);
		}
	}
	if (o->json)
		nd_buf_printf(b, "{\"kind\": \"summary\", \"window_s\": %.3f, "
				 "\"allocs\": %" PRIu64 ", \"frees\": %" PRIu64
				 ", \"bytes_allocated\": %" PRIu64
				 ", \"bytes_freed\": %" PRIu64
				 ", \"growth_bytes\": %" PRIu64 ", \"orphans\": %zu"
				 ", \"orphan_bytes\": %" PRIu64 ", \"pinned\": %zu"
				 ", \"pinned_bytes\": %" PRIu64
				 ", \"arrays_start\": %zu, \"arrays_end\": %zu"
				 ", \"lost\": %" PRIu64 "}\n",
			      window, s->seen.allocs, s->seen.frees,
			      s->seen.bytes_allocated, s->seen.bytes_freed,
			      growth, norphan, orphan_bytes,
			      npinned, pinned_bytes, arrays_start, end->n, lost);
	else
		nd_buf_printf(b, "%" PRIu64 " allocs, %" PRIu64 " frees; %" PRIu64
				 " bytes allocated in the window still live; "
				 "%zu orphans (%" PRIu64 " bytes); %zu pinned "
				 "arrays (%" PRIu64 " bytes); arrays %zu -> %zu; "
				 "%" PRIu64 " events lost\n",
			      s->seen.allocs, s->seen.frees, growth, norphan,
			      orphan_bytes,
			      npinned, pinned_bytes, arrays_start, end->n, lost);
	free(bufs);
	free(f);
}

int cmd_audit(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"duration", required_argument, NULL, 'd'},
		CLI_COMMON_OPTIONS,
	};
	struct audit_opts o = {.duration = 10};
	struct audit_state s = {0};
	struct snapshot start = {0}, end = {0};
	struct watch_site sites[2];
	struct watch_object obj;
	struct elf_obj eo = {.fd = -1};
	struct watch_probe *w = NULL;
	struct nd_err e = {0};
	struct target t;
	int first;

	if (cli_options(argc, argv, longopts, "audit", usage, audit_option,
			&o, &first, &e))
		return cli_error(&e);
	if (argc - first != 1) {
		nd_fail(&e, ND_EUSAGE, "audit needs one PID (see ndspy audit "
				       "--help)");
		return cli_error(&e);
	}
	if (target_parse_live("audit", argv[first], &e) ||
	    target_open(argv[first], &cli_target, 1 << 16, &t, &e))
		return cli_error(&e);
	s.cutoff = UINT64_MAX;
	/* probes first: nothing between the first scan and the window */
	uint64_t paused_at;
	int rc = watch_object_of_target(&t, &eo, &obj, &e);
	if (!rc && sites_init(&s.sites, &t, AUDIT_DEPTH) == 0) {
		s.have_sites = true;
		obj.py = t.ctx.py;
		obj.depth = AUDIT_DEPTH;
	}
	if (!rc)
		rc = watch_probe_open(&obj, false, on_event, &s, &w, sites, &e);
	elf_obj_close(&eo);
	if (!rc)
		rc = take(&t, &start, &paused_at, &e);
	/* after the first pause, which installs the release-on-signal
	 * handlers: Ctrl-C now ends the window, and the report follows */
	cli_catch_stop(false);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	double window = 0;
	while (!rc && !cli_stop_requested && window < o.duration) {
		int n = watch_probe_poll(w, 100);
		if (n < 0) {
			rc = nd_fail(&e, ND_EIO, "reading events: %s", strerror(-n));
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		window = (double)(t1.tv_sec - t0.tv_sec) +
			 (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		if (target_exited(t.pid))
			break;
	}
	bool have_end = false;
	if (!rc && target_exited(t.pid)) {
		/* gone mid-window: what was seen, without an end scan */
		fprintf(stderr, "ndspy: %s exited during the window: no end scan, "
				"orphans cannot be told\n", t.name);
	} else if (!rc) {
		/* the probes stay on through the end scan: frees up to the
		 * pause are all in the ring, later events are not counted */
		rc = take(&t, &end, &paused_at, &e);
		s.cutoff = paused_at;
		have_end = !rc;
	}
	if (w)
		watch_probe_drain(w);
	uint64_t lost = w ? watch_probe_lost(w) : 0;
	watch_probe_close(w);
	if (!rc) {
		struct nd_buf b = {0};
		if (t.ctx.numpy_version && t.ctx.numpy_version < 122)
			cli_verbosef("NumPy %s caches small buffers unseen: those "
				     "under %d bytes are not judged",
				     t.rt.np_version, OLD_NUMPY_CACHED);
		report(&o, &end, have_end, &s, lost, window, start.n,
		       t.ctx.numpy_version, &b);
		if (b.oom || !cli_write_stdout(b.p, b.len))
			rc = nd_fail(&e, ND_EIO, "cannot write the report");
		nd_buf_free(&b);
	}
	free(start.a);
	free(start.owned);
	free(start.views);
	free(end.a);
	free(end.owned);
	free(end.views);
	live_free(&s.seen.live);
	sites_free(&s.sites);
	target_close(&t);
	return rc ? cli_error(&e) : EXIT_OK;
}
