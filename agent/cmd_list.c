/* ndspy list TARGET: every live ndarray, found by scanning memory. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../decode/buf.h"
#include "../decode/format.h"
#include "cli.h"
#include "core.h"
#include "freeze.h"
#include "list_dot.h"
#include "list_graph.h"
#include "list_model.h"
#include "scan.h"
#include "target.h"
#include "threads.h"

static const char usage[] =
	"usage: ndspy list [options] TARGET\n"
	"\n"
	"List every live NumPy array of a process or a core file (subclasses\n"
	"included), found by scanning the memory that holds Python objects\n"
	"(pymalloc's pools; all writable memory where the target does not use\n"
	"pymalloc) for array headers and decoding each one: a table sorted by\n"
	"size, then a summary.\n"
	"\n"
	"  TARGET           a process ID, or a core file (gcore's or the kernel's)\n"
	"\n"
	"options:\n"
	"  --json           one JSON object per array per line, as `show --json`\n"
	"                   prints it (without values)\n"
	"  --dot            the ownership graph in Graphviz DOT (render it with\n"
	"                   `dot -Tsvg`): a node per array and per object of\n"
	"                   its base chain (bytes, mmap, memoryview and the\n"
	"                   object it exports, ...), named by its address;\n"
	"                   edges view -> base (\"base\") and memoryview ->\n"
	"                   exporter (\"obj\"). Each label ends with the\n"
	"                   shortest path from Python's roots to the object, as\n"
	"                   `why` prints it, or \"no path from roots\". Drawn:\n"
	"                   every array with a base or with views, and arrays\n"
	"                   alone (no view, no base) of at least 1M, or of\n"
	"                   --min-bytes when given (0: all); at most 1000\n"
	"                   arrays, largest buffers first. The graph's label\n"
	"                   says what was left out. The target stays paused\n"
	"                   while the paths are found (as for `why`)\n"
	"  --min-bytes N    only arrays of at least N bytes (nbytes)\n"
	"  --no-pause       scan without stopping the process: arrays made or\n"
	"                   freed meanwhile may be missed; one whose header changed\n"
	"                   while it was read is read again, and left out (and\n"
	"                   counted on stderr) if it keeps changing (3 tries)\n"
	CLI_CORE_HELP
	CLI_CAPTURE_HELP
	"  -v, --verbose    what was scanned and why, how fast, how long the\n"
	"                   pause was\n"
	"  -h, --help       this text\n"
	"\n"
	"Columns: address, type, dtype, shape, size, owner (owns its data, view\n"
	"of the array that does, or wraps the object that does), and the memory\n"
	"holding the data. Summary: arrays, bytes arrays own, bytes reached only\n"
	"through views of other objects, distinct buffers.\n"
	"\n"
	"exit status: 0 ok; 2 usage; 3 the target cannot be opened\n"
	"\n"
	"examples:\n"
	"  ndspy list 1234                                 # every array, then a summary\n"
	"  ndspy list core --min-bytes 1048576             # a core's arrays of 1 MiB+\n"
	"  ndspy list 1234 --json --no-pause               # never stopping the process\n"
	"  ndspy list 1234 --dot | dot -Tsvg > owners.svg  # the ownership graph, as SVG\n";

struct list_opts {
	bool json, pause, dot, min_given;
	int64_t min_bytes;
};

static int list_option(void *opts, int ch, const char *arg,
		       struct nd_err *e)
{
	struct list_opts *o = opts;

	switch (ch) {
	case 'j':
		o->json = true;
		return 0;
	case 'd':
		o->dot = true;
		return 0;
	case 'm':
		o->min_given = true;
		return cli_parse_count("--min-bytes", arg, &o->min_bytes, e);
	default: /* 'n' */
		o->pause = false;
		return 0;
	}
}

static int parse(int argc, char **argv, struct list_opts *o, int *first,
		 struct nd_err *e)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"dot", no_argument, NULL, 'd'},
		{"min-bytes", required_argument, NULL, 'm'},
		{"no-pause", no_argument, NULL, 'n'},
		CLI_CAPTURE_OPTION,
		CLI_COMMON_OPTIONS,
	};

	*o = (struct list_opts){.pause = true};
	if (cli_options(argc, argv, longopts, "", "list", usage, list_option, o,
			first, e))
		return -1;
	if (argc - *first != 1)
		return nd_fail(e, ND_EUSAGE,
			       "list needs exactly one TARGET (see ndspy list --help)");
	if (o->dot && o->json)
		return nd_fail(e, ND_EUSAGE, "--dot and --json are two outputs: "
			       "give one");
	/* a path is written from the walk of one state of the graph: a
	 * running process changes under it */
	if (o->dot && !o->pause)
		return nd_fail(e, ND_EUSAGE, "--dot finds paths while the process "
			       "is paused: drop --no-pause");
	return 0;
}

static void text_line(struct target *t, const struct nd_array *a,
		      struct list_entry *f, struct nd_buf *b)
{
	struct nd_region mem;
	struct nd_buf owner = {0}, dt = {0}, shape = {0};
	char size[32];

	list_owner(a, f, &owner);
	target_region(t, a->data, &mem);
	nd_dtype_str(a->dtype, &dt);
	nd_buf_ints(&shape, a->shape, a->ndim, ND_STYLE_PY);
	nd_human_size((uint64_t)a->nbytes, size, sizeof(size));
	nd_buf_printf(b, "0x%-14" PRIx64 "  ", a->addr);
	size_t at = b->len;
	nd_buf_puts_safe(b, a->type_name);
	if (b->len - at < 18)
		nd_buf_spaces(b, 18 - (b->len - at));
	nd_buf_printf(b, "  %-10s  %-18s  %10s  %-30s  %s\n", nd_buf_str(&dt),
		      nd_buf_str(&shape), size, nd_buf_str(&owner), mem.kind);
	nd_buf_free(&owner);
	nd_buf_free(&dt);
	nd_buf_free(&shape);
}

/* After the pause: one line per array, sorted by size, decoded again from
 * the sealed snapshot. */
static int print_all(struct target *t, const struct list_opts *o,
		     struct list_model *m)
{
	struct nd_buf b = {0};

	list_sort(m);
	if (!o->json)
		nd_buf_printf(&b, "%-16s  %-18s  %-10s  %-18s  %10s  %-30s  %s\n",
			      "address", "type", "dtype", "shape", "size",
			      "owner", "memory");
	size_t kept = 0;
	int rc = 0;
	for (size_t i = 0; i < m->n && !rc; i++) {
		struct nd_array a;
		if (list_decode_again(&t->ctx, &m->e[i], &a) == 0) {
			if (o->json) {
				struct nd_region mem;
				target_region(t, a.data, &mem);
				nd_format_json(&a, &mem, NULL, &b, NULL);
			} else {
				text_line(t, &a, &m->e[i], &b);
			}
			m->e[kept++] = m->e[i];
		} else {
			m->changed++;
		}
		nd_array_free(&a);
		if (b.len > (1 << 20)) {
			if (!cli_write_stdout(b.p, b.len))
				rc = -1;
			nd_buf_reset(&b);
		}
	}
	/* the summary counts what the table shows */
	m->n = kept;
	if (!rc && !o->json)
		list_summary(m, &b);
	if (!rc && !cli_write_stdout(b.p ? b.p : "", b.len))
		rc = -1;
	nd_buf_free(&b);
	return rc;
}

static uint64_t progress_t0;
static bool progress_on;

static void progress(uint64_t done, uint64_t total)
{
	static uint64_t last;
	uint64_t t = now_ns();

	if (!progress_on || t - progress_t0 < 1000000000ULL ||
	    t - last < 100000000ULL)
		return;
	last = t;
	char d[32], n[32];
	nd_human_size(done, d, sizeof(d));
	nd_human_size(total, n, sizeof(n));
	fprintf(stderr, "\rscanning memory: %s of %s (%d%%)\033[K", d, n,
		total ? (int)(100 * (double)done / (double)total) : 100);
}

/* --dot: the threads are read stopped as well (their frames are roots
 * of the walk; their registers say which thread is which), then the
 * scan. */
static int dot_pause(struct target *t, bool pause, bool walk,
		     struct freeze *fz, struct scan *sc, struct nd_err *e)
{
	if (target_pause(t, pause, true, fz, e) || target_maps_again(t, e) ||
	    (walk && threads_roots(t, pause ? fz : NULL, e)))
		return -1;
	return scan_arrays(t, progress, sc, e);
}

static int print_dot(struct target *t, const struct list_graph *g,
		     struct nd_err *e)
{
	struct nd_buf b = {0};
	int rc = list_dot_write(g, &t->ctx, t->name, &b, e);

	if (!rc && !cli_write_stdout(b.p, b.len))
		rc = nd_fail(e, ND_EIO, "cannot write the graph");
	nd_buf_free(&b);
	return rc;
}

int cmd_list(int argc, char **argv)
{
	struct list_opts o;
	struct nd_err e = {0};
	struct list_model m = {0};
	struct target t;
	struct freeze fz = {0};
	struct scan sc = {0};
	struct steady st;
	struct list_graph g = {0};
	int first = 0, status = EXIT_OK;

	if (parse(argc, argv, &o, &first, &e) ||
	    target_parse(argv[first], &e) ||
	    target_open(argv[first], &cli_target, &t, &e))
		return cli_error(&e);
	o.pause = o.pause && t.pid; /* a core holds still by itself */
	/* an ndspy snapshot kept what its command read, not the object
	 * graph: its arrays are drawn without paths */
	bool walk = o.dot && !(t.core && t.core->snapshot);
	uint64_t t0 = now_ns();
	progress_t0 = t0;
	progress_on = isatty(2);
	int rc = o.dot ? dot_pause(&t, o.pause, walk, &fz, &sc, &e)
		       : scan_target(&t, o.pause, &fz, progress, &sc, &e);
	int nthreads = fz.n;
	uint64_t t1 = now_ns();
	target_steady(&t, !o.pause && t.pid, false, &st);
	struct nd_ctx glance = t.ctx;
	glance.rd.ctx = snapshot_glance(t.snap);
	if (o.dot) {
		m.each = list_graph_each;
		m.each_arg = &g;
	}
	if (!rc)
		/* --dot: --min-bytes chooses lone arrays only; a small view
		 * of a big buffer is what the graph is for */
		rc = list_validate(&m, &t.ctx, &glance, &st, sc.cand, sc.ncand,
				   o.dot ? 0 : o.min_bytes, &e);
	size_t ncand = sc.ncand;
	scan_free(&sc); /* not needed for printing */
	uint64_t t2 = now_ns();
	/* the paths are written while paused: they read the graph */
	if (!rc && o.dot)
		rc = list_graph_choose(&g, o.min_given ? o.min_bytes
						       : GRAPH_LONE_MIN,
				       GRAPH_MAX_ARRAYS, &e) ||
		     list_graph_holders(&g, &glance, walk, t.rt.runtime_addr,
					t.frames, t.nframes, &e);
	uint64_t t3 = now_ns();
	target_release(&t, &fz);
	if (progress_on && t2 - t0 > 1000000000ULL)
		fputs("\r\033[K", stderr); /* the progress line goes away */
	if (!rc) {
		char paused[96] = "not paused";
		if (o.pause)
			snprintf(paused, sizeof paused,
				 "paused %.1f ms (%d thread%s%s)",
				 (double)fz.pause_ns / 1e6, nthreads,
				 nd_plural(nthreads),
				 fz.not_stopped ? ", some did not stop in time"
						: "");
		char scanned[SCAN_DESCRIBE];
		scan_describe(&sc, scanned, sizeof(scanned));
		cli_verbosef("%s: %zu array types; %s in %.1f ms (%" PRIu64
			     " bytes unreadable); %zu candidates, %" PRIu64
			     " rejected, validated in %.1f ms; %s; %" PRIu64
			     " KiB captured",
			     t.name, sc.ntypes, scanned,
			     (double)(t1 - t0) / 1e6, sc.unreadable, ncand,
			     m.rejected, (double)(t2 - t1) / 1e6, paused,
			     snapshot_bytes(t.snap) >> 10);
		if (o.dot)
			cli_verbosef("%s: %zu arrays and %zu objects drawn; %zu "
				     "objects walked from %zu frames in %.1f ms%s",
				     t.name, g.ndrawn, g.no - g.ndrawn, g.walked,
				     t.nframes, (double)(t3 - t2) / 1e6,
				     g.cut ? " (cut short: more than the limit)"
					   : "");
		if (o.dot)
			rc = print_dot(&t, &g, &e);
		else if (print_all(&t, &o, &m))
			rc = nd_fail(&e, ND_EIO, "cannot write the list");
		if (m.unsteady)
			fprintf(stderr,
				"ndspy: %" PRIu64 " array%s changed while read "
				"(%d tries each), left out; run without "
				"--no-pause\n",
				m.unsteady, nd_plural(m.unsteady),
				STEADY_TRIES);
		if (m.changed)
			fprintf(stderr,
				"ndspy: %" PRIu64 " array%s left out: %s\n",
				m.changed, nd_plural(m.changed),
				snapshot_overflowed(t.snap)
					? "not captured within the budget"
					: "changed after they were read");
	}
	if (rc)
		status = cli_error(&e);
	list_model_free(&m);
	list_graph_free(&g);
	target_close(&t);
	return status;
}
