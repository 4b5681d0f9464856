/* ndspy snapshot TARGET -o FILE [OBJECT...]: what the other commands read
 * of a paused target, written as a small core file (snapshot_file.h) that
 * every command, and gdb, opens in its place. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../decode/buf.h"
#include "../decode/cmp.h"
#include "../decode/preview.h"
#include "../decode/pypath.h"
#include "../decode/pywalk.h"
#include "cli.h"
#include "core.h"
#include "freeze.h"
#include "list_model.h"
#include "locate.h"
#include "outfile.h"
#include "scan.h"
#include "snapshot_file.h"
#include "target.h"
#include "threads.h"

static const char usage[] =
	"usage: ndspy snapshot [options] TARGET -o FILE [OBJECT...]\n"
	"\n"
	"Write what ndspy reads of a process (or a core) while it is paused as\n"
	"a small core file: what `list`, `stacks`, names through sys.modules\n"
	"and `show` of every array need, each array's data up to --data-max,\n"
	"and whatever the OBJECTs given need. Every ndspy command takes FILE as\n"
	"its TARGET and answers as it would have on the process, for what was\n"
	"captured (anything else is \"not captured while paused\"); gdb opens\n"
	"it with the program it ran. A bug report's attachment, or a\n"
	"post-mortem of a process too big to dump whole.\n"
	"\n"
	"  TARGET           a process ID, or a core file\n"
	"  OBJECT           more to capture, as `show` takes it: an address, a\n"
	"                   path (__main__.cache['k'], frame:TID:N.NAME) or\n"
	"                   @SYMBOL\n"
	"\n"
	"options:\n"
	"  -o, --output FILE  where to write it (a regular file appears only\n"
	"                   once complete)\n"
	"  --data-max N     bytes of each array's data to keep, from its start\n"
	"                   (K, M, G: KiB, MiB, GiB; default 1M; 0: none beyond\n"
	"                   what its repr shows)\n"
	CLI_CAPTURE_HELP
	CLI_CORE_HELP
	"  -v, --verbose    what was captured and how long the pause was\n"
	"  -h, --help       this text\n"
	"\n"
	"Files the process had mapped read-only (the binary, libraries) are\n"
	"not copied, as gcore does not: give them to a reader elsewhere with\n"
	"--sysroot.\n"
	"\n"
	"exit status: 0 ok; 1 an OBJECT could not be read (the file is still\n"
	"written); 2 usage; 3 the target cannot be opened\n"
	"\n"
	"examples:\n"
	"  ndspy snapshot 1234 -o app.snap                        # a small core file\n"
	"  ndspy snapshot 1234 -o app.snap --data-max 0           # only what reprs show\n"
	"  ndspy snapshot 1234 -o app.snap \"__main__.cache['k']\"  # and what it reads\n"
	"  ndspy snapshot core -o small.snap                      # a big core, shrunk\n";

#define DATA_MAX_DEFAULT (1u << 20)

struct snap_opts {
	const char *output;
	uint64_t data_max;
};

/* The parts of a capture, each said under -v with what it kept and how
 * long it took. */
enum part { P_RUNTIME, P_THREADS, P_ARRAYS, P_NAMES, P_OBJECTS, NPARTS };
static const char *const part_name[NPARTS] = {
	"interpreter and types", "threads", "arrays", "names", "objects given"};

/* What was captured, for the summary line and -v. */
struct tally {
	size_t arrays, names, threads, objects;
	uint64_t kept[NPARTS], ns[NPARTS];
	uint64_t mark_kept, mark_ns; /* where the part under way began */
};

/* The part under way is done: what it kept and took. */
static void part_done(const struct target *t, struct tally *tl, enum part p)
{
	uint64_t kept = snapshot_bytes(t->snap), ns = now_ns();

	tl->kept[p] += kept - tl->mark_kept;
	tl->ns[p] += ns - tl->mark_ns;
	tl->mark_kept = kept;
	tl->mark_ns = ns;
}

static int snap_option(void *opts, int ch, const char *arg, struct nd_err *e)
{
	struct snap_opts *o = opts;

	if (ch == 'o') {
		o->output = arg;
		return 0;
	}
	return cli_parse_size("--data-max", arg, &o->data_max, e);
}

/* Reads, through the snapshot, what showing array a needs: its repr, its
 * first values, and its data from the start up to data_max bytes. */
static void capture_array(struct target *t, const struct nd_array *a,
			  uint64_t data_max, unsigned char *buf)
{
	struct nd_preview p;
	int64_t itemsize = a->dtype->elsize > 0 ? a->dtype->elsize : 1;
	int64_t nvalues = (int64_t)(data_max / (uint64_t)itemsize);

	nd_preview_capture(&t->ctx, a, -1, ND_REPR_THRESHOLD, &p);
	nd_preview_free(&p);
	nd_preview_capture(&t->ctx, a, nvalues < a->size ? nvalues : a->size, 0,
			   &p);
	nd_preview_free(&p);
	uint64_t lo = a->data + (uint64_t)a->extent_lo;
	uint64_t len = (uint64_t)(a->extent_hi - a->extent_lo);
	if (len > data_max)
		len = data_max;
	for (uint64_t off = 0; off < len; off += DATA_MAX_DEFAULT) {
		size_t n = len - off < DATA_MAX_DEFAULT ? (size_t)(len - off)
							: DATA_MAX_DEFAULT;
		/* what cannot be read is not there to keep */
		(void)t->mem->read(t->mem, lo + off, buf, n);
	}
}

/* names: MODULE.NAME of every global that holds an array (known by its
 * address alone: nothing else of the globals is read), resolved as
 * `show` resolves it. */
struct naming {
	struct target *t;
	const uint64_t *arrays; /* ascending */
	size_t narrays, names;
};

static int name_global(void *arg, const struct nd_global *g)
{
	struct naming *n = arg;
	uint64_t found;
	char dotted[2 * ND_MAX_NAME + 2];

	if (!bsearch(&g->value, n->arrays, n->narrays, sizeof(g->value),
		     nd_cmp_u64) ||
	    nd_py_global_name(&n->t->ctx, g, dotted, sizeof(dotted), NULL))
		return 0;
	n->names += nd_py_resolve(&n->t->ctx, n->t->rt.runtime_addr, dotted,
				  &found, NULL) == 0;
	return 0;
}

/* Every array: found, validated and shown as list and show would; the
 * names of module globals holding them. */
/* What capture_array needs besides the array, for list_validate. */
struct shows {
	struct target *t;
	uint64_t data_max;
	unsigned char *buf;
};

static void show_each(void *arg, const struct nd_array *a)
{
	struct shows *s = arg;

	capture_array(s->t, a, s->data_max, s->buf);
}

static int capture_arrays(struct target *t, uint64_t data_max,
			  unsigned char *buf, struct tally *n,
			  struct nd_err *e)
{
	struct scan sc;
	struct shows sh = {t, data_max, buf};
	struct list_model m = {.each = show_each, .each_arg = &sh};
	struct steady still = {.running = false};

	if (scan_arrays(t, NULL, &sc, e) ||
	    list_validate(&m, &t->ctx, &t->ctx, &still, sc.cand, sc.ncand, 0,
			  e)) {
		scan_free(&sc);
		list_model_free(&m);
		return -1;
	}
	n->arrays = m.n;
	part_done(t, n, P_ARRAYS);
	uint64_t *addrs = malloc((m.n ? m.n : 1) * sizeof(*addrs));
	for (size_t i = 0; addrs && i < m.n; i++)
		addrs[i] = m.e[i].addr; /* validated in address order */
	struct naming nm = {t, addrs, addrs ? m.n : 0, 0};
	nd_py_module_globals(&t->ctx, t->rt.runtime_addr, name_global, &nm,
			     NULL);
	n->names = nm.names;
	part_done(t, n, P_NAMES);
	free(addrs);
	list_model_free(&m);
	scan_free(&sc);
	return 0;
}

/* The first page of every file mapped at offset 0: a reader checks the
 * file against it. */
static void capture_file_heads(struct target *t, unsigned char *buf)
{
	for (size_t i = 0; i < t->maps.n; i++)
		if (t->maps.r[i].kind == R_FILE && t->maps.r[i].offset == 0 &&
		    t->maps.r[i].perms[0] == 'r')
			(void)t->mem->read(t->mem, t->maps.r[i].start, buf,
					   SNAPSHOT_PAGE);
}

/* The OBJECTs given: located and shown as show would. */
static int capture_objects(struct target *t, char **specs, int n,
			   uint64_t data_max, unsigned char *buf,
			   struct tally *tl)
{
	int status = EXIT_OK;

	for (int i = 0; i < n; i++) {
		struct nd_array a;
		struct nd_err err = {0};
		if (locate_array(t, specs[i], &a, &err) == 0) {
			capture_array(t, &a, data_max, buf);
			tl->objects++;
		} else {
			status = cli_error(&err);
		}
		nd_array_free(&a);
	}
	return status;
}

/* A small text file of /proc/PID, NUL-terminated; "" when unreadable. */
static void proc_text(pid_t pid, const char *what, char *out, size_t cap)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(out, 1, cap - 1, f) : 0;
	out[n] = '\0';
	if (f)
		fclose(f);
	/* cmdline: arguments separated by NULs, as ps shows them */
	for (size_t i = 0; i + 1 < n; i++)
		if (!out[i])
			out[i] = ' ';
	out[strcspn(out, "\n")] = '\0';
}

/* What the file says of a live process: ids, names, auxiliary vector. */
static void live_meta(const struct target *t, struct snapshot_meta *m,
		      unsigned char *auxv, size_t cap)
{
	char text[512], path[64];
	struct stat st;

	m->pid = t->pid;
	/* both cut as the kernel cuts them in its cores */
	proc_text(t->pid, "comm", text, sizeof(text));
	memcpy(m->comm, text, strnlen(text, sizeof(m->comm) - 1));
	proc_text(t->pid, "cmdline", text, sizeof(text));
	memcpy(m->args, text, strnlen(text, sizeof(m->args) - 1));
	proc_text(t->pid, "stat", text, sizeof(text));
	const char *paren = strrchr(text, ')');
	if (paren)
		sscanf(paren + 1, " %*c %d", &m->ppid);
	snprintf(path, sizeof(path), "/proc/%d", (int)t->pid);
	if (stat(path, &st) == 0) {
		m->uid = st.st_uid;
		m->gid = st.st_gid;
	}
	snprintf(path, sizeof(path), "/proc/%d/auxv", (int)t->pid);
	FILE *f = fopen(path, "re");
	m->auxv_len = f ? fread(auxv, 1, cap, f) : 0;
	m->auxv = auxv;
	if (f)
		fclose(f);
}

static void core_meta(const struct core *c, struct snapshot_meta *m)
{
	m->pid = c->pid;
	m->ppid = c->ps.pr_ppid;
	m->uid = c->ps.pr_uid;
	m->gid = c->ps.pr_gid;
	memcpy(m->comm, c->ps.pr_fname, sizeof(m->comm));
	memcpy(m->args, c->ps.pr_psargs, sizeof(m->args));
	m->auxv = c->auxv;
	m->auxv_len = c->auxv_len;
}

/* The threads and their registers, the main thread first; from the
 * freeze (before it is thawed) or the core. */
static struct snapshot_thread *threads_of(const struct target *t,
					  const struct freeze *fz, size_t *n)
{
	size_t max = t->pid ? (size_t)fz->n : t->core->nthr;
	struct snapshot_thread *th = calloc(max ? max : 1, sizeof(*th));

	*n = 0;
	for (size_t i = 0; th && i < max; i++) {
		struct snapshot_thread x;
		if (t->pid && (!fz->t[i].tid || !fz->t[i].have_regs))
			continue;
		if (t->pid)
			x = (struct snapshot_thread){fz->t[i].tid, fz->t[i].sig,
						     fz->t[i].regs};
		else
			x = (struct snapshot_thread){t->core->thr[i].tid,
						     t->core->thr[i].cursig,
						     t->core->thr[i].regs};
		pid_t main = t->pid ? t->pid : t->core->pid;
		th[(*n)++] = x;
		if (x.tid == main && *n > 1) {
			th[*n - 1] = th[0];
			th[0] = x;
		}
	}
	return th;
}

int cmd_snapshot(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"data-max", required_argument, NULL, 'D'},
		CLI_CAPTURE_OPTION,
		CLI_COMMON_OPTIONS,
	};
	struct snap_opts o = {.data_max = DATA_MAX_DEFAULT};
	struct outfile out = {.fd = -1, .dest = -1, .cleanup = -1};
	struct nd_err e = {0};
	struct target t;
	struct freeze fz = {0};
	struct tally tl = {0};
	struct thread *th = NULL;
	struct nd_pystacks ps = {0};
	size_t nth = 0;
	int first, status = EXIT_OK;
	enum object_kind kind;

	optind = 1;
	if (cli_options(argc, argv, longopts, "o:", "snapshot", usage, snap_option,
			&o, &first, &e))
		return cli_error(&e);
	/* -o may come after TARGET: getopt has moved the operands last */
	if (argc - first < 1 || !o.output) {
		nd_fail(&e, ND_EUSAGE, "snapshot needs a TARGET and -o FILE (see "
				       "ndspy snapshot --help)");
		return cli_error(&e);
	}
	for (int i = first + 1; i < argc; i++)
		if (cli_parse_object(argv[i], &kind, &e))
			return cli_error(&e);
	struct target_opts topts = cli_target;
	topts.numpy_optional = true;
	if (target_parse(argv[first], &e) ||
	    outfile_create(&out, o.output, &e))
		return cli_error(&e);
	if (target_open(argv[first], &topts, &t, &e)) {
		outfile_abort(&out);
		return cli_error(&e);
	}
	unsigned char *buf = malloc(DATA_MAX_DEFAULT);
	struct snapshot_thread *regs = NULL;
	int rc = buf ? 0 : nd_fail(&e, ND_ENOMEM, "out of memory");
	if (!rc)
		rc = target_pause(&t, true, true, &fz, &e);
	/* the file holds the map of this moment */
	if (!rc)
		rc = target_maps_again(&t, &e);
	/* all of it read again while paused: what discovery read before
	 * was read while the target ran */
	tl.mark_ns = now_ns();
	if (!rc)
		rc = runtime_discover(&t, &e);
	if (!rc) {
		capture_file_heads(&t, buf);
		part_done(&t, &tl, P_RUNTIME);
		rc = threads_read(&t, &fz, &th, &nth, &ps, &e) ||
		     threads_frames(&t, th, nth, &e);
		tl.threads = nth;
		part_done(&t, &tl, P_THREADS);
	}
	if (!rc && t.rt.np)
		rc = capture_arrays(&t, o.data_max, buf, &tl, &e);
	if (!rc) {
		status = capture_objects(&t, argv + first + 1, argc - first - 1,
					 o.data_max, buf, &tl);
		part_done(&t, &tl, P_OBJECTS);
	}
	size_t nregs = 0;
	if (!rc && !(regs = threads_of(&t, &fz, &nregs)))
		rc = nd_fail(&e, ND_ENOMEM, "out of memory");
	int nthreads = fz.n;
	target_release(&t, &fz);
	uint64_t bytes = 0;
	if (!rc) {
		unsigned char auxv[4096];
		struct snapshot_meta m = {.maps = &t.maps, .thr = regs,
					  .nthr = nregs};
		if (t.pid)
			live_meta(&t, &m, auxv, sizeof(auxv));
		else
			core_meta(t.core, &m);
		rc = snapshot_file_write(out.fd, t.snap, &m, &bytes, &e);
	}
	if (!rc)
		rc = outfile_finish(&out, &e);
	if (!rc) {
		char size[32];
		nd_human_size(bytes, size, sizeof(size));
		printf("%s: %s of %s: %zu array%s, %zu name%s, %zu thread%s"
		       "%s%s\n",
		       out.path, size, t.name, tl.arrays,
		       nd_plural(tl.arrays), tl.names,
		       nd_plural(tl.names), tl.threads,
		       nd_plural(tl.threads),
		       tl.objects ? ", and the objects given" : "",
		       t.rt.np ? "" : t.rt.np_skipped[0]
					  ? " (NumPy loaded, not read)"
					  : " (no NumPy)");
		if (t.rt.np_skipped[0])
			fprintf(stderr, "ndspy: %s\n", t.rt.np_skipped);
		for (int p = 0; p < NPARTS; p++)
			cli_verbosef("%s: %s: %" PRIu64 " KiB kept in %.1f ms",
				     t.name, part_name[p], tl.kept[p] >> 10,
				     (double)tl.ns[p] / 1e6);
		cli_verbosef("%s: %" PRIu64 " KiB kept, of which the file holds "
			     "all but the read-only files' pages; paused %.1f ms "
			     "(%d threads)", t.name, snapshot_bytes(t.snap) >> 10,
			     (double)fz.pause_ns / 1e6, nthreads);
	}
	if (rc)
		status = cli_error(&e);
	outfile_abort(&out);
	free(regs);
	free(th);
	free(buf);
	nd_py_stacks_free(&ps);
	target_close(&t);
	return status;
}
