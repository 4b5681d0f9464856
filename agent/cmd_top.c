/* ndspy top PID: live NumPy bytes and allocation rate by the Python line
 * that called NumPy, refreshed every second, as py-spy's top shows time:
 * the probes of `watch`, counted as `audit` counts them, drawn by
 * top_view. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../probe/watch_probe.h"
#include "cleanup.h"
#include "cli.h"
#include "site_lines.h"
#include "sites.h"
#include "target.h"
#include "top_view.h"
#include "watch_object.h"

static const char usage[] =
	"usage: ndspy top [options] PID\n"
	"\n"
	"A live view of NumPy's data buffers in the process (eBPF, as\n"
	"`watch`): by the Python line that called NumPy (the innermost frame\n"
	"outside NumPy's own Python code), the bytes allocated since top began\n"
	"and still live, their number, the allocation rate over the last\n"
	"refresh and the bytes allocated in all; a header with the process's\n"
	"totals and the events lost. Refreshed every second; follows the\n"
	"terminal's size.\n"
	"\n"
	"keys: q quit; s sort by the next column (live bytes, allocation\n"
	"rate, allocated bytes, live buffers)\n"
	"\n"
	"options:\n"
	"  --interval SEC   refresh every SEC seconds (default 1)\n"
	"  -v, --verbose    where the probes went\n"
	"  -h, --help       this text\n"
	"\n"
	"It ends with q, Ctrl-C, or when the process exits.\n"
	"\n"
	"exit status: 0 ok; 2 usage (or no terminal); 3 the process cannot be\n"
	"watched\n"
	"\n"
	"examples:\n"
	"  ndspy top 1234                       # s sorts, q quits\n"
	"  ndspy top 1234 --interval 5          # refreshed every 5 s\n"
	"  ndspy top \"$(pgrep -n -f train.py)\"  # the newest train.py\n";

/* Python frames kept per buffer: the line shown may be under NumPy's */
#define TOP_DEPTH 16

struct top_state {
	struct live_ledger seen;
	struct sites sites;
	bool have_sites, oom;
};

static int top_option(void *opts, int ch, const char *arg, struct nd_err *e)
{
	(void)ch;
	return cli_parse_seconds("--interval", arg, opts, e);
}

static void on_event(void *arg, const struct nd_event *ev)
{
	struct top_state *s = arg;

	if (sites_count(s->have_sites ? &s->sites : NULL, &s->seen, ev))
		s->oom = true;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Draws every interval (and at once on a key or a resize) until q,
 * Ctrl-C or the process's exit. */
static int top_loop(struct top_state *s, struct watch_probe *w,
		    struct target *t, double interval, struct nd_err *e)
{
	struct top_frame f = {.name = t->name, .seen = &s->seen};
	uint64_t *prev = NULL;
	size_t nprev = 0;
	double last = now_s(), next = 0;
	int rc = 0;

	while (!cleanup_stop_requested) {
		int n = watch_probe_poll(w, 50);
		if (n < 0) {
			rc = nd_fail(e, ND_EIO, "reading events: %s", strerror(-n));
			break;
		}
		int key = top_view_key();
		if (key == 'q' || key == 'Q')
			break;
		if (key == 's' || key == 'S')
			f.sort = (f.sort + 1) % TOP_SORTS;
		bool exited = target_exited(t->pid);
		double now = now_s();
		if (now < next && key < 0 && !exited)
			continue;
		if (now >= next) { /* rates cover whole intervals only */
			free(f.lines);
			f.lines = NULL;
			f.seconds = now - last;
			last = now;
			if (site_lines(&s->seen, s->have_sites ? &s->sites : NULL,
				       &prev, &nprev, &f.lines, &f.n))
				s->oom = true;
			next = now + interval;
		}
		f.lost = watch_probe_lost(w);
		f.note = s->oom ? "out of memory: some buffers not counted"
			 : exited ? "the process exited"
				  : NULL;
		top_view_draw(&f);
		if (exited)
			break;
	}
	free(f.lines);
	free(prev);
	return rc;
}

int cmd_top(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"interval", required_argument, NULL, 'i'},
		CLI_COMMON_OPTIONS,
	};
	struct top_state s = {0};
	struct watch_probe *w = NULL;
	struct nd_err e = {0};
	struct target t;
	double interval = 1;
	int first;

	if (cli_options(argc, argv, longopts, "", "top", usage, top_option,
			&interval, &first, &e))
		return cli_error(&e);
	if (argc - first != 1) {
		nd_fail(&e, ND_EUSAGE, "top needs one PID (see ndspy top --help)");
		return cli_error(&e);
	}
	struct target_opts topts = cli_target;
	topts.numpy_optional = true; /* its buffers appear once it imports */
	if (target_parse_live("top", argv[first], &e) || top_view_usable(&e) ||
	    target_open(argv[first], &topts, &t, &e))
		return cli_error(&e);
	int rc = watch_target(&t, TOP_DEPTH, &s.sites, &s.have_sites, on_event,
			      &s, &w, true, &e);
	/* caught before curses starts, which then leaves them to us */
	cleanup_catch_stop(true);
	if (!rc && !(rc = top_view_begin(&e))) {
		rc = top_loop(&s, w, &t, interval, &e);
		top_view_end();
	}
	watch_probe_close(w);
	if (!rc && target_exited(t.pid))
		fprintf(stderr, "ndspy: %s exited\n", t.name);
	ledger_free_all(&s.seen);
	sites_free(&s.sites);
	target_close(&t);
	return rc ? cli_error(&e) : EXIT_OK;
}
