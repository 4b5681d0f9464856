/* ndspy audit PID: who owns NumPy's buffers. The probes of `watch` run for
 * a window between two scans (`list`'s); then the findings of
 * audit_model.h, largest first, and a summary. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../decode/buf.h"
#include "../decode/pyframes.h"
#include "audit_model.h"
#include "live_table.h"
#include "../probe/watch_probe.h"
#include "cleanup.h"
#include "cli.h"
#include "freeze.h"
#include "scan.h"
#include "report.h"
#include "sites.h"
#include "target.h"
#include "watch_object.h"
#include "why_model.h"

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
	"  unreachable  arrays owning at least --min-bytes that no path from\n"
	"           Python's roots reaches at the end (as `why` walks them):\n"
	"           held by C code (a leak, a cache), garbage awaiting\n"
	"           collection, or held where the walk does not look\n"
	"and a summary. Orphans and pinned arrays allocated in the window come\n"
	"with their stack too (16 frames, innermost first, as tracemalloc\n"
	"would record them: \"stack\" in JSON, the innermost frame in text).\n"
	"\n"
	"options:\n"
	"  --json           one JSON object per finding per line\n"
	"  --duration SEC   the window (default 10; Ctrl-C ends it early)\n"
	"  --min-bytes N    unreachable arrays of at least N bytes (default\n"
	"                   65536: NumPy and its users keep small ones in C)\n"
	REPORT_HELP
	CLI_CAPTURE_HELP
	"  -v, --verbose    probes, scans and pauses\n"
	"  -h, --help       this text\n"
	"\n"
	"The process is paused during each scan (as `list` pauses it).\n"
	"\n"
	"exit status: 0 ok; 2 usage; 3 the process cannot be audited\n"
	"\n"
	"examples:\n"
	"  ndspy audit 1234                         # a 10 s window, then findings\n"
	"  ndspy audit 1234 --duration 60 --json    # a minute, as JSON\n"
	"  ndspy audit 1234 --min-bytes 1048576     # unreachable: 1 MiB+ only\n"
	"  ndspy audit 1234 --folded growth.folded  # the window's live bytes by stack\n";

/* Python frames kept per buffer allocated in the window */
#define AUDIT_DEPTH 16

struct audit_opts {
	bool json;
	double duration;
	int64_t min_bytes;
	struct report_files rep; /* the window's live bytes by stack */
};

struct audit_state {
	struct live_ledger seen; /* allocated in the window, not freed */
	struct sites sites;     /* where they were allocated */
	bool have_sites;
	uint64_t cutoff;        /* events from this ktime on are after the
				 * end scan's target stopped: not the window's */
};

static int audit_option(void *opts, int ch, const char *arg, struct nd_err *e)
{
	struct audit_opts *o = opts;

	if (report_option(&o->rep, ch, arg))
		return 0;
	if (ch == 'j') {
		o->json = true;
		return 0;
	}
	if (ch == 'm')
		return cli_parse_count("--min-bytes", arg, &o->min_bytes, e);
	return cli_parse_seconds("--duration", arg, &o->duration, e);
}

static void on_event(void *arg, const struct nd_event *ev)
{
	struct audit_state *s = arg;

	/* out of memory: the report is as good as what was kept */
	if (ev->ts_ns < s->cutoff)
		sites_count(s->have_sites ? &s->sites : NULL, &s->seen, ev);
}

/* Whether audit judges a's reachability: it owns at least min_bytes. */
static bool judged(const struct census_arr *a, int64_t min_bytes)
{
	return (a->flags & ND_F_OWNDATA) && a->nbytes >= min_bytes;
}

/* Marks the arrays of s owning at least min_bytes that no path from the
 * roots reaches (while the target is paused). */
static int mark_unreachable(struct target *t, struct nd_ctx *c,
			    struct census *s, int64_t min_bytes,
			    struct nd_err *e)
{
	struct nd_pystacks ps = {0};
	struct why w;
	uint64_t *addrs = calloc(s->n ? s->n : 1, sizeof(*addrs));
	size_t n = 0, nf = 0;

	if (!addrs)
		return nd_fail(e, ND_ENOMEM, "out of memory");
	for (size_t i = 0; i < s->n; i++)
		if (judged(&s->a[i], min_bytes))
			addrs[n++] = s->a[i].addr;
	/* frames are roots too (their threads need not be named here) */
	nd_py_stacks(c, t->rt.runtime_addr, &ps, NULL);
	for (size_t i = 0; i < ps.n; i++)
		nf += ps.t[i].n;
	struct nd_frame_root *f = calloc(nf ? nf : 1, sizeof(*f));
	nf = 0;
	for (size_t i = 0; f && i < ps.n; i++)
		nf += nd_frame_roots(&ps.t[i], 0, f + nf);
	int rc = f ? why_walk(&w, c, t->rt.runtime_addr, f, nf, addrs, n, e)
		   : nd_fail(e, ND_ENOMEM, "out of memory");
	/* cut short, what was not reached may be reachable still */
	for (size_t i = 0; !rc && !w.cut && !w.oom && i < s->n; i++)
		s->a[i].unreachable = judged(&s->a[i], min_bytes) &&
				      !why_reached(&w, s->a[i].addr);
	if (!rc)
		cli_verbosef("%s: %zu objects walked from Python's roots",
			     t->name, w.len);
	why_free(&w);
	free(f);
	free(addrs);
	nd_py_stacks_free(&ps);
	return rc;
}

/* Every array of one state of the target, paused (as list validates
 * them); *stopped_at is when its last thread stopped (CLOCK_MONOTONIC, as
 * the events' times), *not_stopped how many threads did not. With roots,
 * the arrays no root reaches are marked (min_bytes and up). */
static int take(struct target *t, struct census *s, bool roots,
		int64_t min_bytes, uint64_t *stopped_at, int *not_stopped,
		struct nd_err *e)
{
	struct freeze fz = {0};
	struct scan sc;

	memset(s, 0, sizeof(*s));
	int rc = scan_target(t, true, &fz, NULL, &sc, e);
	*stopped_at = fz.stopped_ns;
	if (fz.not_stopped > *not_stopped)
		*not_stopped = fz.not_stopped;
	/* the census is all audit keeps of it: nothing need stay in the
	 * snapshot */
	struct nd_ctx glance = t->ctx;
	glance.rd.ctx = snapshot_glance(t->snap);
	if (!rc)
		rc = census_take(s, &glance, sc.cand, sc.ncand, e);
	if (!rc && roots)
		rc = mark_unreachable(t, &glance, s, min_bytes, e);
	target_release(t, &fz);
	char scanned[SCAN_DESCRIBE];
	scan_describe(&sc, scanned, sizeof(scanned));
	cli_verbosef("%s: %zu arrays, paused %.1f ms; %s", t->name, s->n,
		     (double)fz.pause_ns / 1e6, scanned);
	scan_free(&sc);
	return rc;
}

static void stack_out(const struct audit_opts *o, const struct site *site,
		      struct nd_buf *b)
{
	if (site && o->json)
		sites_json(site->f, site->n, b);
	else if (site)
		sites_text(site->f, site->n, b);
}

/* NumPy before 1.22 keeps up to 7 freed buffers of each size under
 * 1024 bytes for reuse without telling tracemalloc either way: such a
 * buffer looks allocated and never freed. Below that size only a later
 * NumPy can be audited. */
#define OLD_NUMPY_CACHED 1024

/* What the window saw, for the summary. */
struct window {
	double seconds;
	uint64_t lost;
	size_t arrays_start, arrays_end;
	int not_stopped; /* threads left running during a scan */
};

static void orphan_out(const struct audit_opts *o, const struct audit_finding *x,
		       int64_t now, struct nd_buf *b)
{
	const struct live_buf *lb = x->buf;
	double age = (double)(now - (int64_t)lb->ts_ns) / 1e9;

	if (o->json)
		nd_buf_printf(b, "{\"kind\": \"orphan\", \"data\": %" PRIu64
				 ", \"size\": %" PRIu64 ", \"tid\": %u, "
				 "\"age_s\": %.3f",
			      lb->addr, lb->size, lb->tid, age);
	else
		nd_buf_printf(b, "  orphan  0x%" PRIx64 "  %" PRIu64
				 " bytes, allocated by thread %u %.1f s "
				 "ago, owned by no array",
			      lb->addr, lb->size, lb->tid, age);
	stack_out(o, x->site, b);
	nd_buf_puts(b, o->json ? "}\n" : "\n");
}

static void pinned_out(const struct audit_opts *o, const struct census *end,
		       const struct audit_finding *x, struct nd_buf *b)
{
	const struct census_arr *a = x->owner;
	int64_t r = census_reachable(a);
	size_t first, n = census_views_of(end, a->addr, &first);

	if (o->json)
		nd_buf_printf(b, "{\"kind\": \"pinned\", \"owner\": %" PRIu64
				 ", \"data\": %" PRIu64 ", \"nbytes\": %" PRId64
				 ", \"reachable_bytes\": %" PRId64
				 ", \"views\": [",
			      a->addr, a->data, a->nbytes, r);
	else
		nd_buf_printf(b, "  pinned  0x%" PRIx64 "  %" PRId64
				 " bytes kept alive by views reaching %" PRId64
				 " bytes:",
			      a->addr, a->nbytes, r);
	for (size_t v = 0; v < n; v++)
		nd_buf_printf(b, o->json ? "%s%" PRIu64 : "%s0x%" PRIx64,
			      v ? (o->json ? ", " : " ") : (o->json ? "" : " "),
			      end->views[first + v].addr);
	nd_buf_puts(b, o->json ? "]" : "");
	stack_out(o, x->site, b);
	nd_buf_puts(b, o->json ? "}\n" : "\n");
}

static void unreachable_out(const struct audit_opts *o,
			    const struct audit_finding *x, struct nd_buf *b)
{
	const struct census_arr *a = x->owner;

	if (o->json)
		nd_buf_printf(b, "{\"kind\": \"unreachable\", \"address\": %"
				 PRIu64 ", \"data\": %" PRIu64 ", \"nbytes\": %"
				 PRId64 ", \"refcnt\": %" PRId64,
			      a->addr, a->data, a->nbytes, a->refcnt);
	else
		nd_buf_printf(b, "  unreachable  0x%" PRIx64 "  %" PRId64
				 " bytes, refcnt %" PRId64 ", no path from "
				 "Python's roots: held by C code (a leak, a "
				 "cache), garbage awaiting collection, or where "
				 "the walk does not look",
			      a->addr, a->nbytes, a->refcnt);
	stack_out(o, x->site, b);
	nd_buf_puts(b, o->json ? "}\n" : "\n");
}

static void growth_out(const struct audit_opts *o, const struct audit_finding *x,
		       struct nd_buf *b)
{
	if (o->json) {
		nd_buf_printf(b, "{\"kind\": \"growth\", \"count\": %" PRIu64
				 ", \"bytes\": %" PRIu64, x->count, x->bytes);
		if (x->site)
			stack_out(o, x->site, b);
		else
			nd_buf_printf(b, ", \"size\": %" PRIu64, x->buf->size);
		nd_buf_puts(b, "}\n");
	} else if (x->site) {
		nd_buf_printf(b, "  growth  %" PRIu64 " buffer%s still live "
				 "(%" PRIu64 " byte%s) from", x->count,
			      nd_plural(x->count), x->bytes, nd_plural(x->bytes));
		stack_out(o, x->site, b);
		nd_buf_putc(b, '\n');
	} else {
		nd_buf_printf(b, "  growth  %" PRIu64 " buffer%s of %" PRIu64
				 " byte%s still live (%" PRIu64 " byte%s)\n",
			      x->count, nd_plural(x->count), x->buf->size,
			      nd_plural(x->buf->size), x->bytes, nd_plural(x->bytes));
	}
}

static void report(const struct audit_opts *o, const struct census *end,
		   const struct audit_findings *fs, const struct live_ledger *seen,
		   const struct window *w, struct nd_buf *b)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	if (!o->json)
		nd_buf_printf(b, "audit of %.1f s:\n", w->seconds);
	for (size_t i = 0; i < fs->n; i++) {
		const struct audit_finding *x = &fs->f[i];
		if (x->kind == AUDIT_ORPHAN)
			orphan_out(o, x, now, b);
		else if (x->kind == AUDIT_PINNED)
			pinned_out(o, end, x, b);
		else if (x->kind == AUDIT_UNREACHABLE)
			unreachable_out(o, x, b);
		else
			growth_out(o, x, b);
	}
	if (o->json)
		nd_buf_printf(b, "{\"kind\": \"summary\", \"window_s\": %.3f, "
				 "\"allocs\": %" PRIu64 ", \"frees\": %" PRIu64
				 ", \"bytes_allocated\": %" PRIu64
				 ", \"bytes_freed\": %" PRIu64
				 ", \"growth_bytes\": %" PRIu64 ", \"orphans\": %zu"
				 ", \"orphan_bytes\": %" PRIu64 ", \"pinned\": %zu"
				 ", \"pinned_bytes\": %" PRIu64
				 ", \"unreachable\": %zu"
				 ", \"unreachable_bytes\": %" PRIu64
				 ", \"arrays_start\": %zu, \"arrays_end\": %zu"
				 ", \"lost\": %" PRIu64
				 ", \"resized_untracked\": %" PRIu64
				 ", \"threads_not_stopped\": %d}\n",
			      w->seconds, seen->allocs, seen->frees,
			      seen->bytes_allocated, seen->bytes_freed,
			      fs->growth, fs->norphan, fs->orphan_bytes,
			      fs->npinned, fs->pinned_bytes, fs->nunreachable,
			      fs->unreachable_bytes, w->arrays_start,
			      w->arrays_end, w->lost, seen->resized_untracked,
			      w->not_stopped);
	else
		nd_buf_printf(b, "%" PRIu64 " alloc%s, %" PRIu64 " free%s; %"
				 PRIu64 " byte%s allocated in the window still "
				 "live; %zu orphan%s (%" PRIu64 " byte%s); %zu "
				 "pinned array%s (%" PRIu64 " byte%s); %zu "
				 "unreachable (%" PRIu64 " byte%s); arrays %zu "
				 "-> %zu; %" PRIu64 " event%s lost; %" PRIu64
				 " resized, untracked%s\n",
			      seen->allocs, nd_plural(seen->allocs), seen->frees,
			      nd_plural(seen->frees), fs->growth,
			      nd_plural(fs->growth), fs->norphan,
			      nd_plural(fs->norphan), fs->orphan_bytes,
			      nd_plural(fs->orphan_bytes), fs->npinned,
			      nd_plural(fs->npinned), fs->pinned_bytes,
			      nd_plural(fs->pinned_bytes), fs->nunreachable,
			      fs->unreachable_bytes,
			      nd_plural(fs->unreachable_bytes), w->arrays_start,
			      w->arrays_end, w->lost, nd_plural(w->lost),
			      seen->resized_untracked,
			      w->not_stopped ? "; some threads did not stop "
					       "during a scan: findings may be "
					       "off" : "");
}

int cmd_audit(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"duration", required_argument, NULL, 'd'},
		{"min-bytes", required_argument, NULL, 'm'},
		REPORT_OPTIONS,
		CLI_CAPTURE_OPTION,
		CLI_COMMON_OPTIONS,
	};
	struct audit_opts o = {.duration = 10, .min_bytes = 65536};
	struct audit_state s = {0};
	struct census start = {0}, end = {0};
	struct window win = {0};
	struct watch_probe *w = NULL;
	struct nd_err e = {0};
	struct target t;
	int first;

	if (cli_options(argc, argv, longopts, "", "audit", usage, audit_option,
			&o, &first, &e))
		return cli_error(&e);
	if (argc - first != 1) {
		nd_fail(&e, ND_EUSAGE, "audit needs one PID (see ndspy audit "
				       "--help)");
		return cli_error(&e);
	}
	if (target_parse_live("audit", argv[first], &e) ||
	    report_create(&o.rep, &e))
		return cli_error(&e);
	if (target_open(argv[first], &cli_target, &t, &e)) {
		report_abort(&o.rep);
		return cli_error(&e);
	}
	s.cutoff = UINT64_MAX;
	/* probes first: nothing between the first scan and the window */
	uint64_t stopped_at;
	/* -v's first line is the first scan's (the suites wait for it) */
	int rc = watch_target(&t, AUDIT_DEPTH, &s.sites, &s.have_sites,
			      on_event, &s, &w, false, &e);
	if (!rc)
		rc = take(&t, &start, false, 0, &stopped_at, &win.not_stopped,
			  &e);
	/* from the window on, Ctrl-C ends the window and the report follows
	 * (before it, ndspy ends, the target released) */
	bool windowed = !rc;
	cleanup_catch_stop(false);
	struct timespec t0, t1, wall0, wall1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	clock_gettime(CLOCK_REALTIME, &wall0);
	while (!rc && !cleanup_stop_requested && win.seconds < o.duration) {
		int n = watch_probe_poll(w, 100);
		if (n < 0) {
			rc = nd_fail(&e, ND_EIO, "reading events: %s", strerror(-n));
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		win.seconds = (double)(t1.tv_sec - t0.tv_sec) +
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
		/* the probes stay on through the end scan: events up to the
		 * moment its last thread stopped are all in the ring (a free
		 * while seizing counts), later ones are not the window's */
		rc = take(&t, &end, true, o.min_bytes, &stopped_at,
			  &win.not_stopped, &e);
		s.cutoff = stopped_at;
		have_end = !rc;
	}
	if (w)
		watch_probe_drain(w);
	clock_gettime(CLOCK_REALTIME, &wall1);
	win.lost = w ? watch_probe_lost(w) : 0;
	watch_probe_close(w);
	struct audit_findings fs = {0};
	bool old_numpy = t.ctx.numpy_version && t.ctx.numpy_version < 122;
	if (!rc && old_numpy)
		cli_verbosef("NumPy %s caches small buffers unseen: those under "
			     "%d bytes are not judged", t.rt.np_version,
			     OLD_NUMPY_CACHED);
	if (!rc)
		rc = audit_find(&fs, &end, have_end, &s.seen,
				s.have_sites ? &s.sites : NULL,
				old_numpy ? OLD_NUMPY_CACHED : 0, &e);
	if (!rc) {
		struct nd_buf b = {0};
		win.arrays_start = start.n;
		win.arrays_end = end.n;
		report(&o, &end, &fs, &s.seen, &win, &b);
		if (b.oom || !cli_write_stdout(b.p, b.len))
			rc = nd_fail(&e, ND_EIO, "cannot write the report");
		nd_buf_free(&b);
	}
	/* the reports of a window, also one that failed: what it saw */
	char title[4300];
	snprintf(title, sizeof(title), "ndspy audit: %s", t.name);
	struct report_in in = {&s.seen, s.have_sites ? &s.sites : NULL, title,
			       (int64_t)wall0.tv_sec * 1000000000 + wall0.tv_nsec,
			       (int64_t)wall1.tv_sec * 1000000000 + wall1.tv_nsec};
	struct nd_err re = {0};
	if (!windowed)
		report_abort(&o.rep);
	else if (report_finish(&o.rep, &in, &re) && !rc) {
		e = re;
		rc = -1;
	} else if (re.code) {
		cli_error(&re);
	}
	audit_findings_free(&fs);
	census_free(&start);
	census_free(&end);
	ledger_free_all(&s.seen);
	sites_free(&s.sites);
	target_close(&t);
	return rc ? cli_error(&e) : EXIT_OK;
}
