/* ndspy watch PID: NumPy's data buffers allocated and freed, live, from
 * uprobes (probe/, bpf/), until --duration ends, the target exits, or
 * Ctrl-C; then a summary. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../decode/buf.h"
#include "live_table.h"
#include "../probe/watch_probe.h"
#include "cleanup.h"
#include "cli.h"
#include "launch.h"
#include "metrics.h"
#include "report.h"
#include "sites.h"
#include "target.h"
#include "watch_object.h"

static const char usage[] =
	"usage: ndspy watch [options] PID\n"
	"       ndspy watch [options] -- COMMAND [ARGS...]\n"
	"\n"
	"Print NumPy's data buffers as the process allocates and frees them\n"
	"(eBPF uprobes on PyTraceMalloc_Track/_Untrack, which NumPy calls for\n"
	"every buffer, and on PyMem_RawRealloc, for the resizes NumPy 2.5 does\n"
	"not report), then a summary. No code runs in the process and it is\n"
	"never paused; the probes are gone when ndspy exits, however it exits.\n"
	"A process that has not imported NumPy yet is watched from the start:\n"
	"its buffers appear once it does.\n"
	"With -- COMMAND (a python command), ndspy starts it with the probes\n"
	"in place before its first line runs, and stops when it exits.\n"
	"\n"
	"options:\n"
	"  --json           one JSON object per event per line, then a summary\n"
	"  --duration SEC   stop after SEC seconds (default: until the process\n"
	"                   exits or Ctrl-C)\n"
	"  --min-bytes N    only buffers of at least N bytes (and their frees)\n"
	"  --depth N        Python frames per allocation, innermost first (default\n"
	"                   16; 0: none), as tracemalloc would record them\n"
	"  --at-entry       probe the functions' first instructions (slower:\n"
	"                   for comparison)\n"
	REPORT_HELP
	"  --metrics HOST:PORT  serve /metrics (Prometheus text format) while\n"
	"                   watching: live bytes and buffers, allocations,\n"
	"                   frees, lost events, and the live bytes of the 20\n"
	"                   Python lines (outside NumPy) holding the most;\n"
	"                   HOST is an address (127.0.0.1, [::1], 0.0.0.0);\n"
	"                   PORT alone binds 127.0.0.1\n"
	"  -v, --verbose    where the probes went and why\n"
	"  -h, --help       this text\n"
	"\n"
	"exit status: 0 ok; 2 usage; 3 the process cannot be watched (no such\n"
	"process, not Python, no privilege for eBPF)\n"
	"\n"
	"examples:\n"
	"  ndspy watch 1234                                   # until Ctrl-C or its exit\n"
	"  ndspy watch --json -- python3 train.py             # from its first line\n"
	"  ndspy watch 1234 --min-bytes 1048576 --depth 0     # 1 MiB+, no stacks\n"
	"  ndspy watch 1234 --duration 30 --html live.html    # a flame graph\n"
	"  ndspy watch 1234 --duration 30 --pprof live.pb.gz  # go tool pprof\n"
	"  ndspy watch 1234 --metrics 0.0.0.0:9464            # /metrics for Prometheus\n";

struct watch_opts {
	bool json, at_entry;
	double duration; /* 0: no limit */
	int64_t min_bytes;
	int64_t depth;
	struct report_files rep;
	const char *metrics; /* HOST:PORT */
};

struct watch_state {
	const struct watch_opts *o;
	struct live_ledger seen;
	int64_t wall_minus_mono; /* ns to add to a ktime for CLOCK_REALTIME */
	struct nd_buf out;
	bool oom;
	/* the target, opened to name the frames of allocations (a command:
	 * as soon as it is Python, see sites_ready) */
	struct target t;
	bool have_target, have_sites, open_later;
	pid_t pid;
	const struct launch *l;  /* the command; its pid 0 once reaped */
	int64_t next_try, wait; /* CLOCK_MONOTONIC ns; the back-off */
	struct nd_err open_err; /* the last try's, said at the end */
	struct sites sites;
	bool count_sites; /* every buffer's site, for reports and metrics */
	struct metrics *metrics;
};

static int64_t clock_ns(clockid_t c);

/* The target and the names of its frames; false while the frames cannot
 * be named. A command is opened as soon as it can be, from the loop and
 * from its events (a short one may be gone by the time they are read),
 * tried again from 10 ms apart up to 1 s apart, never once it is reaped
 * (its PID may be another process's); why it failed is said at the end. */
static bool sites_ready(struct watch_state *s)
{
	char spec[24];
	int64_t now = clock_ns(CLOCK_MONOTONIC);

	if (s->have_sites || !s->open_later || now < s->next_try ||
	    (s->l && !s->l->pid))
		return s->have_sites;
	snprintf(spec, sizeof(spec), "%d", (int)s->pid);
	/* naming frames needs Python only, and the first buffers come
	 * while NumPy's import has not made its types yet */
	struct target_opts topts = cli_target;
	topts.numpy_optional = true;
	nd_err_clear(&s->open_err);
	if (target_open(spec, &topts, &s->t, &s->open_err)) {
		s->wait = s->wait ? (s->wait < 500000000 ? 2 * s->wait
							 : 1000000000)
				  : 10000000;
		s->next_try = now + s->wait;
		return false;
	}
	s->open_later = false;
	s->have_target = true;
	if (sites_init(&s->sites, &s->t, (unsigned)s->o->depth)) {
		sites_free(&s->sites);
		fprintf(stderr, "ndspy: no Python stacks: out of memory\n");
		return false;
	}
	s->have_sites = true;
	return true;
}

static int64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int watch_option(void *opts, int ch, const char *arg, struct nd_err *e)
{
	struct watch_opts *o = opts;

	if (report_option(&o->rep, ch, arg))
		return 0;
	switch (ch) {
	case 'j':
		o->json = true;
		return 0;
	case 'M':
		o->metrics = arg;
		return 0;
	case 'E':
		o->at_entry = true;
		return 0;
	case 'm':
		return cli_parse_count("--min-bytes", arg, &o->min_bytes, e);
	case 'D':
		if (cli_parse_count("--depth", arg, &o->depth, e))
			return -1;
		if (o->depth > ND_MAX_RAWFRAMES / 2 - 1)
			return nd_fail(e, ND_EUSAGE, "--depth: at most %d",
				       ND_MAX_RAWFRAMES / 2 - 1);
		return 0;
	default: /* 'd' */
		return cli_parse_seconds("--duration", arg, &o->duration, e);
	}
}

static void size_text(struct nd_buf *b, uint64_t n)
{
	char text[32];

	nd_human_size(n, text, sizeof(text));
	nd_buf_puts(b, text);
}

static void time_text(struct nd_buf *b, int64_t wall_ns)
{
	time_t s = (time_t)(wall_ns / 1000000000);
	struct tm tm;
	char hms[16];

	localtime_r(&s, &tm);
	strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
	nd_buf_printf(b, "%s.%03d", hms, (int)(wall_ns / 1000000 % 1000));
}

static void on_event(void *arg, const struct nd_event *ev)
{
	struct watch_state *s = arg;
	const struct watch_opts *o = s->o;
	int64_t wall = (int64_t)ev->ts_ns + s->wall_minus_mono;
	struct live_buf gone;
	struct nd_buf *b = &s->out;

	if (ev->kind == ND_EV_ALLOC) {
		bool shown = (int64_t)ev->size >= o->min_bytes;
		/* named first: naming may move the sites */
		uint32_t id = ev->stack != ND_STACK_OFF &&
					      (shown || s->count_sites) &&
					      sites_ready(s)
				      ? sites_of(&s->sites, ev)
				      : 0;
		struct live_buf lb = {ev->addr, ev->size, ev->ts_ns, ev->tid, id};
		if (ledger_alloc(&s->seen, &lb))
			s->oom = true;
		if (!shown)
			return;
		if (o->json) {
			nd_buf_printf(b, "{\"event\": \"alloc\", \"addr\": %llu, "
					 "\"size\": %llu, \"tid\": %u, "
					 "\"ts_ns\": %" PRId64,
				      ev->addr, ev->size, ev->tid, wall);
			if (ev->old)
				nd_buf_printf(b, ", \"resized_from\": %llu",
					      ev->old);
			if (ev->stack != ND_STACK_OFF && s->have_sites)
				sites_json(s->sites.s[id].f, s->sites.s[id].n, b);
			nd_buf_puts(b, "}\n");
			return;
		}
		nd_buf_printf(b, "+ 0x%llx ", ev->addr);
		size_text(b, ev->size);
		nd_buf_printf(b, " tid %u ", ev->tid);
		time_text(b, wall);
		if (ev->stack != ND_STACK_OFF && s->have_sites)
			sites_text(s->sites.s[id].f, s->sites.s[id].n, b);
		nd_buf_putc(b, '\n');
		return;
	} else if (ev->kind == ND_EV_RESIZE_LOST) {
		s->seen.resized_untracked++; /* its free was shown */
		return;
	} else {
		bool known = ledger_free(&s->seen, ev->addr, &gone);
		/* a buffer too small to show, its free too; one from before
		 * the watch began is shown: its size is unknown */
		if (known && (int64_t)gone.size < o->min_bytes)
			return;
		if (o->json) {
			nd_buf_printf(b, "{\"event\": \"free\", \"addr\": %llu, "
					 "\"tid\": %u, \"ts_ns\": %" PRId64 "}\n",
				      ev->addr, ev->tid, wall);
			return;
		}
		nd_buf_printf(b, "- 0x%llx", ev->addr);
		if (known) {
			nd_buf_puts(b, " ");
			size_text(b, gone.size);
		}
	}
	nd_buf_printf(b, " tid %u ", ev->tid);
	time_text(b, wall);
	nd_buf_putc(b, '\n');
}

static bool flush(struct watch_state *s)
{
	bool ok = s->out.oom ? false : cli_write_stdout(s->out.p, s->out.len);
	nd_buf_reset(&s->out);
	return ok;
}

static void summary(struct watch_state *s, uint64_t lost)
{
	struct nd_buf *b = &s->out;
	uint64_t live = s->seen.bytes_allocated - s->seen.bytes_freed;

	if (s->o->json) {
		nd_buf_printf(b, "{\"event\": \"summary\", \"allocs\": %" PRIu64
				 ", \"frees\": %" PRIu64 ", \"bytes_allocated\": %"
				 PRIu64 ", \"bytes_freed\": %" PRIu64
				 ", \"live_bytes\": %" PRIu64 ", \"lost\": %" PRIu64
				 ", \"resized_untracked\": %" PRIu64 "}\n",
			      s->seen.allocs, s->seen.frees, s->seen.bytes_allocated,
			      s->seen.bytes_freed, live, lost,
			      s->seen.resized_untracked);
		return;
	}
	nd_buf_printf(b, "%" PRIu64 " alloc%s (", s->seen.allocs,
		      nd_plural(s->seen.allocs));
	size_text(b, s->seen.bytes_allocated);
	nd_buf_printf(b, "), %" PRIu64 " free%s (", s->seen.frees,
		      nd_plural(s->seen.frees));
	size_text(b, s->seen.bytes_freed);
	nd_buf_puts(b, " of buffers seen allocated); ");
	size_text(b, live);
	nd_buf_printf(b, " allocated in the window still live; %" PRIu64
			 " event%s lost", lost, nd_plural(lost));
	if (s->seen.resized_untracked)
		nd_buf_printf(b, "; %" PRIu64 " resized, untracked (their new "
				 "buffers not seen)", s->seen.resized_untracked);
	nd_buf_putc(b, '\n');
}

/* Polls until the end: --duration, the process gone, Ctrl-C/SIGTERM. */
static int watch_loop(struct watch_state *s, struct watch_probe *w, pid_t pid,
		      struct launch *l, bool *gone)
{
	const struct watch_opts *o = s->o;
	int64_t end = o->duration > 0 ? clock_ns(CLOCK_MONOTONIC) +
						(int64_t)(o->duration * 1e9)
				      : INT64_MAX;
	struct nd_err e = {0};
	int status;

	while (!cleanup_stop_requested && !*gone && clock_ns(CLOCK_MONOTONIC) < end) {
		sites_ready(s);
		/* a command's events often: frames are named from the running
		 * process, which a short command may leave soon after its last
		 * buffer (the reads cost ndspy a wakeup, not the target) */
		int n = watch_probe_poll(w, l ? 10 : 100);
		if (n < 0) {
			nd_fail(&e, ND_EIO, "reading events: %s", strerror(-n));
			return cli_error(&e);
		}
		*gone = l ? launch_reap(l, &status) : target_exited(pid);
		if (s->metrics)
			metrics_update(s->metrics, &s->seen,
				       s->have_sites ? &s->sites : NULL,
				       watch_probe_lost(w));
		if (!flush(s) || s->oom) {
			nd_fail(&e, s->oom ? ND_ENOMEM : ND_EIO, s->oom
				? "out of memory for the buffers seen"
				: "cannot write the events");
			return cli_error(&e);
		}
	}
	return EXIT_OK;
}

/* The probes' target: PID, or COMMAND started held (l->pid). */
static int open_probes(char **argv, bool command, struct watch_state *s,
		       struct launch *l, struct watch_probe **w, pid_t *pid,
		       char *name, size_t cap, struct nd_err *e)
{
	struct watch_site sites[2];
	struct watch_object obj = {0};
	struct watch_file wf = {.fd = -1};
	int rc;

	if (command) {
		if ((rc = launch_find_interpreter(argv[0], &wf, e)) ||
		    (rc = launch_held(argv, l, e))) {
			launch_file_close(&wf);
			return rc;
		}
		*pid = l->pid;
		snprintf(name, cap, "process %d (%s)", (int)l->pid, argv[0]);
		if ((rc = watch_object_of_file(wf.elf, wf.fd, wf.path, &obj, e))) {
			launch_file_close(&wf);
			launch_abort(l);
			return rc;
		}
		obj.pid = l->pid;
		obj.name = name;
		struct nd_err why = {0};
		if (s->o->depth &&
		    runtime_file_layout(wf.elf, wf.fd, wf.path, &obj.py, &why))
			fprintf(stderr, "ndspy: no Python stacks: %s\n", why.msg);
		else if (s->o->depth) {
			obj.depth = (unsigned)s->o->depth;
			s->open_later = true;
			s->pid = l->pid;
		}
	} else {
		struct target *t = &s->t;
		/* NumPy may come later: its buffers are reported once it is
		 * imported, as under `watch -- COMMAND` */
		struct target_opts topts = cli_target;
		topts.numpy_optional = true;
		if ((rc = target_open(argv[0], &topts, t, e)))
			return rc;
		s->have_target = true;
		*pid = t->pid;
		snprintf(name, cap, "%s", t->name);
		if ((rc = watch_object_of_target(t, &obj, e)))
			return rc;
		obj.name = name;
		obj.py = t->ctx.py;
		obj.depth = (unsigned)s->o->depth;
		if (obj.depth) {
			if (sites_init(&s->sites, t, obj.depth)) {
				sites_free(&s->sites);
				return nd_fail(e, ND_ENOMEM, "out of memory");
			}
			s->have_sites = true;
		}
	}
	rc = watch_probe_open(&obj, s->o->at_entry, on_event, s, w, sites, e);
	if (!rc && obj.depth && !watch_probe_stacks(*w))
		fprintf(stderr, "ndspy: no Python stacks: %s has no _PyRuntime "
				"or a layout the probe cannot follow\n", obj.path);
	launch_file_close(&wf);
	if (rc) {
		if (command)
			launch_abort(l);
		return rc;
	}
	watch_object_say(name, obj.path, sites, s->o->at_entry);
	return 0;
}

int cmd_watch(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"duration", required_argument, NULL, 'd'},
		{"min-bytes", required_argument, NULL, 'm'},
		{"at-entry", no_argument, NULL, 'E'},
		{"depth", required_argument, NULL, 'D'},
		{"metrics", required_argument, NULL, 'M'},
		REPORT_OPTIONS,
		CLI_COMMON_OPTIONS,
	};
	struct watch_opts o = {.depth = 16};
	struct watch_state s = {.o = &o};
	struct watch_probe *w = NULL;
	struct launch l = {.go = -1};
	struct nd_err e = {0};
	char name[4200];
	pid_t pid = 0;
	int first;

	if (cli_options(argc, argv, longopts, "", "watch", usage, watch_option,
			&o, &first, &e))
		return cli_error(&e);
	bool command = first > 1 && strcmp(argv[first - 1], "--") == 0;
	if (first >= argc || (!command && argc - first != 1)) {
		nd_fail(&e, ND_EUSAGE, "watch needs one PID, or -- COMMAND (see "
				       "ndspy watch --help)");
		return cli_error(&e);
	}
	if (!command && target_parse_live("watch", argv[first], &e))
		return cli_error(&e);
	s.count_sites = report_wanted(&o.rep) || o.metrics;
	/* where the results go, before the target is touched */
	if (report_create(&o.rep, &e))
		return cli_error(&e);
	if (o.metrics && metrics_start(o.metrics, !command, &s.metrics, &e)) {
		report_abort(&o.rep);
		return cli_error(&e);
	}
	cleanup_catch_stop(true);
	s.wall_minus_mono = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
	if (open_probes(argv + first, command, &s, &l, &w, &pid, name,
			sizeof(name), &e)) {
		if (s.have_sites)
			sites_free(&s.sites);
		if (s.have_target)
			target_close(&s.t);
		report_abort(&o.rep);
		metrics_stop(s.metrics);
		return cli_error(&e);
	}
	if (s.metrics) { /* a first page: the probes are in */
		metrics_set_pid(s.metrics, pid);
		metrics_update(s.metrics, &s.seen, NULL, 0);
	}
	int64_t start_ns = clock_ns(CLOCK_REALTIME);
	if (command && cleanup_stop_requested) {
		/* interrupted before it ran: it never will */
		launch_abort(&l);
		watch_probe_close(w);
		nd_buf_free(&s.out);
		report_abort(&o.rep);
		metrics_stop(s.metrics);
		return EXIT_OK;
	}
	if (command) {
		s.l = &l;
		launch_release(&l);
	}
	bool gone = false;
	int status = watch_loop(&s, w, pid, command ? &l : NULL, &gone);
	watch_probe_drain(w); /* what arrived before the end */
	if (s.open_later && s.open_err.code)
		fprintf(stderr, "ndspy: no Python stacks: %s\n", s.open_err.msg);
	uint64_t lost = watch_probe_lost(w);
	watch_probe_close(w);
	if (gone)
		cli_verbosef("%s exited", name);
	summary(&s, lost);
	flush(&s);
	if (lost)
		fprintf(stderr, "ndspy: %" PRIu64 " event%s lost (the ring "
				"buffer was full)\n", lost,
			lost == 1 ? " was" : "s were");
	if (command && l.pid) /* stopped early: the command runs on */
		cli_verbosef("%s still runs, unwatched", name);
	metrics_stop(s.metrics);
	char title[4300];
	snprintf(title, sizeof(title), "ndspy watch: %s", name);
	struct report_in in = {&s.seen, s.have_sites ? &s.sites : NULL, title,
			       start_ns, clock_ns(CLOCK_REALTIME)};
	struct nd_err re = {0};
	if (report_finish(&o.rep, &in, &re)) {
		int st = cli_error(&re);
		status = status == EXIT_OK ? st : status;
	}
	nd_buf_free(&s.out);
	ledger_free_all(&s.seen);
	if (s.have_sites)
		sites_free(&s.sites);
	if (s.have_target)
		target_close(&s.t);
	return status;
}
