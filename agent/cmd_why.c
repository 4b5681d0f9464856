/* ndspy why TARGET [OBJECT...]: the reference paths from Python's roots
 * that keep each array alive. */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../decode/dtype.h"
#include "../decode/format.h"
#include "../decode/pypath.h"
#include "cli.h"
#include "core.h"
#include "freeze.h"
#include "list_model.h"
#include "locate.h"
#include "scan.h"
#include "steady.h"
#include "target.h"
#include "threads.h"
#include "why_model.h"

static const char usage[] =
	"usage: ndspy why [options] TARGET [OBJECT...]\n"
	"\n"
	"Who holds each array: the reference paths from the roots (every\n"
	"module of the main interpreter's sys.modules, every thread's Python\n"
	"frames) to it, shortest first, as Python writes them: evaluated in\n"
	"the target, each gives back the array. An array no root reaches is\n"
	"held by C code (a leak, a cache), is garbage awaiting collection, or\n"
	"is held where the walk does not look (README: Limits). Without\n"
	"OBJECT: every array a scan finds, largest first, each with its\n"
	"shortest path.\n"
	"\n"
	"  TARGET           a process ID, or a core file\n"
	"  OBJECT           an address (id() or 0x-hex), MODULE.NAME or @SYMBOL\n"
	"\n"
	"paths: ROOT STEP...\n"
	"  ROOT             MODULE.NAME, or frame:TID:N.NAME (local NAME of the\n"
	"                   N-th Python frame of thread TID, 0 the innermost)\n"
	"  .ATTR            an attribute: instance dict, __slots__, C members,\n"
	"                   class and module dicts, __defaults__, cell_contents,\n"
	"                   an array's base; .gi_frame.f_locals['NAME'] (a\n"
	"                   suspended generator's local; cr_, ag_ alike)\n"
	"  [INT], [KEY]     list, tuple, deque, object-array item; dict entry\n"
	"                   (KEY as Python's repr of a str, bytes, int, float,\n"
	"                   bool or None; [{0xADDR}] for another key)\n"
	"  {0xADDR}         an object Python has no step for: a set member, a\n"
	"                   dict's key object\n"
	"\n"
	"options:\n"
	"  --json           one object per line: address, type, reachable, paths\n"
	"  --paths N        paths per OBJECT (default 3)\n"
	"  --min-bytes N    without OBJECT: only arrays of at least N bytes\n"
	"  --no-pause       walk without stopping the process (objects may\n"
	"                   change meanwhile)\n"
	CLI_CORE_HELP
	CLI_CAPTURE_HELP
	"  -v, --verbose    objects walked, how long the pause was\n"
	"  -h, --help       this text\n"
	"\n"
	"exit status: 0 ok; 1 an OBJECT is not an array; 2 usage; 3 the target\n"
	"cannot be opened\n"
	"\n"
	"examples:\n"
	"  ndspy why 1234                             # every array, its shortest path\n"
	"  ndspy why 1234 __main__.view.base          # what holds this array\n"
	"  ndspy why 1234 0x7f3a1c2b8f30 --paths 10   # by address, 10 paths\n"
	"  ndspy why 1234 frame:1234:0.batch          # a local of a Python frame\n"
	"  ndspy why 1234 @_mymod:cache               # a C extension's global\n"
	"  ndspy why core --json --min-bytes 1048576  # a core's arrays of 1 MiB+\n";

struct why_opts {
	bool json, pause;
	int64_t paths, min_bytes;
};

/* One object asked about (or found): what is printed of it. */
struct answer {
	uint64_t addr;
	struct nd_err err;   /* it could not be located */
	struct nd_buf paths; /* one per line */
	size_t npaths;
	bool reached;
};

static int why_option(void *opts, int ch, const char *arg, struct nd_err *e)
{
	struct why_opts *o = opts;

	switch (ch) {
	case 'j':
		o->json = true;
		return 0;
	case 'p':
		if (cli_parse_count("--paths", arg, &o->paths, e))
			return -1;
		if (o->paths < 1)
			return nd_fail(e, ND_EUSAGE, "--paths needs at least 1");
		return 0;
	case 'm':
		return cli_parse_count("--min-bytes", arg, &o->min_bytes, e);
	default: /* 'n' */
		o->pause = false;
		return 0;
	}
}

static int parse(int argc, char **argv, struct why_opts *o, int *first,
		 struct nd_err *e)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"paths", required_argument, NULL, 'p'},
		{"min-bytes", required_argument, NULL, 'm'},
		{"no-pause", no_argument, NULL, 'n'},
		CLI_CAPTURE_OPTION,
		CLI_COMMON_OPTIONS,
	};

	*o = (struct why_opts){.pause = true, .paths = 3};
	if (cli_options(argc, argv, longopts, "", "why", usage, why_option, o,
			first, e))
		return -1;
	if (argc - *first < 1)
		return nd_fail(e, ND_EUSAGE,
			       "why needs a TARGET (see ndspy why --help)");
	return 0;
}

/* The arrays: located by OBJECT, or all a scan finds. */
static int targets(struct target *t, struct nd_ctx *glance,
		   const struct why_opts *o, char **specs, size_t nspecs,
		   struct list_model *m, struct answer **out, size_t *n,
		   struct nd_err *e)
{
	if (nspecs) {
		*out = calloc(nspecs, sizeof(**out));
		if (!*out)
			return nd_fail(e, ND_ENOMEM, "out of memory");
		for (size_t i = 0; i < nspecs; i++) {
			struct nd_array a;
			locate_array(t, specs[i], &a, &(*out)[i].err);
			(*out)[i].addr = a.addr;
			nd_array_free(&a);
		}
		*n = nspecs;
		return 0;
	}
	struct scan sc;
	struct steady st;
	target_steady(t, !o->pause && t->pid, false, &st);
	int rc = scan_arrays(t, NULL, &sc, e) ||
		 list_validate(m, &t->ctx, glance, &st, sc.cand, sc.ncand,
			       o->min_bytes, e);
	scan_free(&sc);
	if (rc)
		return -1;
	list_sort(m);
	*out = calloc(m->n ? m->n : 1, sizeof(**out));
	if (!*out)
		return nd_fail(e, ND_ENOMEM, "out of memory");
	for (size_t i = 0; i < m->n; i++)
		(*out)[i].addr = m->e[i].addr;
	*n = m->n;
	return 0;
}

/* Running (--no-pause), the graph may have changed under the walk: each
 * path is followed again, and kept only if it still leads to addr. */
static void still_holds(struct target *t, struct nd_ctx *c, uint64_t addr,
			struct answer *a)
{
	struct nd_buf kept = {0};
	size_t n = 0;
	char *p = a->paths.p;

	for (size_t i = 0; i < a->npaths; i++) {
		char *nl = strchr(p, '\n');
		uint64_t got = 0;
		*nl = '\0';
		if (nd_py_resolve(c, t->rt.runtime_addr, p, &got, NULL) == 0 &&
		    got == addr) {
			nd_buf_printf(&kept, "%s\n", p);
			n++;
		}
		p = nl + 1;
	}
	nd_buf_free(&a->paths);
	a->paths = kept;
	a->npaths = n;
}

/* While paused: the walk, and the paths of each answer. */
static int walk(struct target *t, struct nd_ctx *glance,
		const struct why_opts *o, struct answer *a, size_t n, bool asked,
		struct why *w, struct nd_err *e)
{
	uint64_t *addrs = calloc(n ? n : 1, sizeof(*addrs));
	size_t k = 0;

	if (!addrs)
		return nd_fail(e, ND_ENOMEM, "out of memory");
	for (size_t i = 0; asked && i < n; i++)
		if (!a[i].err.code)
			addrs[k++] = a[i].addr;
	int rc = why_walk(w, glance, t->rt.runtime_addr, t->frames, t->nframes,
			  addrs, k, e);
	free(addrs);
	for (size_t i = 0; !rc && i < n; i++) {
		if (a[i].err.code)
			continue;
		a[i].reached = why_reached(w, a[i].addr);
		a[i].npaths = why_paths(w, glance, a[i].addr,
					asked ? (size_t)o->paths : 1,
					&a[i].paths);
		if (!o->pause && t->pid)
			still_holds(t, glance, a[i].addr, &a[i]);
	}
	return rc;
}

/* cut: the walk stopped short, so "reachable": false is not a finding */
static void print_json(struct nd_buf *b, const struct answer *a,
		       const char *type, const struct nd_array *arr, bool cut)
{
	nd_buf_printf(b, "{\"address\": %" PRIu64 ", \"type\": ", a->addr);
	nd_buf_json_str(b, type, strlen(type));
	nd_buf_printf(b, ", \"reachable\": %s, \"paths\": [",
		      a->reached ? "true" : "false");
	const char *p = a->paths.p;
	for (size_t i = 0; i < a->npaths; i++) {
		const char *nl = strchr(p, '\n');
		nd_buf_puts(b, i ? ", " : "");
		nd_buf_json_str(b, p, (size_t)(nl - p));
		p = nl + 1;
	}
	nd_buf_putc(b, ']');
	if (arr) {
		struct nd_buf dt = {0};
		nd_dtype_str(arr->dtype, &dt);
		nd_buf_printf(b, ", \"nbytes\": %" PRId64 ", \"shape\": ",
			      arr->nbytes);
		nd_buf_ints(b, arr->shape, arr->ndim, ND_STYLE_JSON);
		nd_buf_puts(b, ", \"dtype\": ");
		nd_buf_json_str(b, nd_buf_str(&dt), dt.len);
		nd_buf_free(&dt);
	}
	nd_buf_puts(b, cut ? ", \"walk_complete\": false}\n" : "}\n");
}

/* frames: the threads' frames were roots (the target was paused); a
 * running target's graph may change under the walk */
static void print_text(struct nd_buf *b, const struct answer *a,
		       const struct nd_array *arr, bool cut, bool frames)
{
	nd_buf_printf(b, "0x%" PRIx64 "  ", a->addr);
	nd_buf_puts_safe(b, arr->type_name);
	struct nd_buf dt = {0}, shape = {0};
	char size[32];
	nd_dtype_str(arr->dtype, &dt);
	nd_buf_ints(&shape, arr->shape, arr->ndim, ND_STYLE_PY);
	nd_human_size((uint64_t)arr->nbytes, size, sizeof(size));
	nd_buf_printf(b, "  %s %s  %s\n", nd_buf_str(&dt), nd_buf_str(&shape),
		      size);
	nd_buf_free(&dt);
	nd_buf_free(&shape);
	const char *p = a->paths.p;
	for (size_t i = 0; i < a->npaths; i++) {
		const char *nl = strchr(p, '\n');
		nd_buf_printf(b, "    %.*s\n", (int)(nl - p), p);
		p = nl + 1;
	}
	if (!a->reached && cut)
		nd_buf_puts(b, "    not reached within the objects walked (see "
			       "-v)\n");
	else if (!a->reached && !frames)
		nd_buf_puts(b, "    no path from the modules (without a pause, "
			       "the threads' frames are not walked)\n");
	else if (!a->reached)
		nd_buf_puts(b, "    no path from Python roots: held by C code "
			       "(a leak, a cache), garbage awaiting collection, "
			       "or where the walk does not look\n");
	else if (!a->npaths && !frames)
		nd_buf_puts(b, "    reached, but its paths changed while it was "
			       "walked (--no-pause)\n");
	else if (!a->npaths)
		nd_buf_puts(b, "    reached, but no path to it can be written "
			       "(a name no Python code could write)\n");
}

/* After the release: each answer, its array decoded from the snapshot. */
static int print_all(struct target *t, const struct why_opts *o,
		     struct answer *a, size_t n, bool cut, int *status)
{
	struct nd_buf b = {0};
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i++) {
		struct nd_array arr;
		if (a[i].err.code) {
			fprintf(stderr, "ndspy: %s\n", a[i].err.msg);
			*status = EXIT_OBJECT;
			continue;
		}
		memset(&arr, 0, sizeof(arr));
		struct nd_err e = {0};
		if (nd_array_decode(&t->ctx, a[i].addr, &arr, &e)) {
			fprintf(stderr, "ndspy: %s\n", e.msg);
			*status = EXIT_OBJECT;
		} else if (o->json) {
			print_json(&b, &a[i], arr.type_name, &arr, cut);
		} else {
			print_text(&b, &a[i], &arr, cut,
				   o->pause || !t->pid);
		}
		nd_array_free(&arr);
		if (b.len > (1 << 20) || i + 1 == n) {
			if (b.oom || !cli_write_stdout(b.p ? b.p : "", b.len))
				rc = -1;
			nd_buf_reset(&b);
		}
	}
	nd_buf_free(&b);
	return rc;
}

int cmd_why(int argc, char **argv)
{
	struct why_opts o;
	struct nd_err e = {0};
	struct target t;
	struct freeze fz = {0};
	struct list_model m = {0};
	struct answer *a = NULL;
	struct why w = {0};
	size_t n = 0;
	int first, status = EXIT_OK;

	if (parse(argc, argv, &o, &first, &e) ||
	    target_parse(argv[first], &e) ||
	    target_open(argv[first], &cli_target, &t, &e))
		return cli_error(&e);
	if (t.core && t.core->snapshot) {
		nd_fail(&e, ND_ETARGET, "%s: an ndspy snapshot holds only what "
			"its command read, not the object graph why walks (give "
			"why a process or a core from gcore)", t.name);
		target_close(&t);
		return cli_error(&e);
	}
	o.pause = o.pause && t.pid;
	/* the walk keeps nothing of the snapshot (the paths are written
	 * while paused); running, it reads the process as it is now */
	struct nd_ctx glance = t.ctx;
	glance.rd.ctx = o.pause || !t.pid ? snapshot_glance(t.snap) : t.src;
	int rc = target_pause(&t, o.pause, true, &fz, &e) ||
		 target_maps_again(&t, &e);
	/* threads are read stopped (their registers say which is which):
	 * without a pause, only the modules are roots */
	if (!rc && (o.pause || !t.pid))
		rc = threads_roots(&t, o.pause ? &fz : NULL, &e);
	if (!rc)
		rc = targets(&t, &glance, &o, argv + first + 1,
			     (size_t)(argc - first - 1), &m, &a, &n, &e);
	if (!rc)
		rc = walk(&t, &glance, &o, a, n, argc - first > 1, &w, &e);
	target_release(&t, &fz);
	if (!rc)
		cli_verbosef("%s: %zu objects walked from %zu frames%s; paused "
			     "%.1f ms",
			     t.name, w.len, t.nframes,
			     w.cut ? " (cut short: more than the limit)" : "",
			     (double)fz.pause_ns / 1e6);
	if (!rc && print_all(&t, &o, a, n, w.cut, &status))
		rc = nd_fail(&e, ND_EIO, "cannot write the answer");
	for (size_t i = 0; a && i < n; i++)
		nd_buf_free(&a[i].paths);
	free(a);
	why_free(&w);
	list_model_free(&m);
	target_close(&t);
	return rc ? cli_error(&e) : status;
}
