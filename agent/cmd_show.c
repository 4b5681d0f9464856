/* ndspy show TARGET OBJECT...: decode arrays by address or path. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../decode/buf.h"
#include "../decode/format.h"
#include "../decode/ndarray.h"
#include "../decode/preview.h"
#include "cli.h"
#include "freeze.h"
#include "locate.h"
#include "npy_file.h"
#include "steady.h"
#include "target.h"
#include "threads.h"

static const char usage[] =
	"usage: ndspy show [options] TARGET OBJECT...\n"
	"\n"
	"Show NumPy arrays of a process or a core file as NumPy itself describes\n"
	"them: the values as repr() prints them, dtype, shape, strides, flags,\n"
	"the base chain, __array_interface__ and the memory that holds the data.\n"
	"\n"
	"  TARGET           a process ID, or a core file (gcore's or the kernel's)\n"
	"  OBJECT           an array's address (decimal as id() prints it, or\n"
	"                   0x-hex); a path as Python writes it: MODULE.NAME\n"
	"                   (a global of sys.modules) or frame:TID:N.NAME (a\n"
	"                   local of thread TID's N-th Python frame), then\n"
	"                   .ATTR, [INT], [KEY] steps (__main__.cache['k'][3],\n"
	"                   see ndspy why --help); or @SYMBOL / @OBJFILE:SYMBOL,\n"
	"                   an ELF symbol holding the array or a pointer to it\n"
	"\n"
	"options:\n"
	"  --json           one JSON object per array per line (fields in README)\n"
	"  --data N         values to show: with --json, the first N elements in C\n"
	"                   order (\"values\"); in text, summarise the repr past N\n"
	"                   elements as NumPy does past 1000 (the default); 0 hides it\n"
	"  --save FILE.npy  also write the array as np.save would (one OBJECT only)\n"
	"  --no-pause       read without stopping the process: an array is read\n"
	"                   again if its header changed meanwhile, and reported as\n"
	"                   changed (exit status 1) if it keeps changing (3 tries)\n"
	CLI_CORE_HELP
	CLI_CAPTURE_HELP
	"  -v, --verbose    say what was found and how long the process was paused\n"
	"  -h, --help       this text\n"
	"\n"
	"The process is paused (all threads, with ptrace) only while ndspy copies\n"
	"what it needs (headers, the values it prints, --save's data), and is\n"
	"always released, also on errors and Ctrl-C; printing comes after.\n"
	"\n"
	"exit status: 0 ok; 1 an OBJECT is not an array or could not be read;\n"
	"2 usage; 3 the target cannot be opened (no such process, permission,\n"
	"not Python, no NumPy)\n"
	"\n"
	"examples:\n"
	"  ndspy show 1234 140234567890128                 # by address: its id()\n"
	"  ndspy show 1234 __main__.model.weights          # by its Python path\n"
	"  ndspy show 1234 frame:1234:0.batch              # local batch of frame 0\n"
	"  ndspy show 1234 @_mymod:cache                   # a C extension's global\n"
	"  ndspy show 1234 0x7f31fb56c390 --json --data 9  # JSON, the first 9 values\n"
	"  ndspy show core __main__.weights --save w.npy   # from a core, as np.save\n";

struct show_opts {
	bool json, pause;
	int64_t data; /* -1: not given */
	const char *save;
};

static int show_option(void *opts, int ch, const char *arg,
		       struct nd_err *e)
{
	struct show_opts *o = opts;

	switch (ch) {
	case 'j':
		o->json = true;
		return 0;
	case 'd':
		return cli_parse_count("--data", arg, &o->data, e);
	case 's':
		o->save = arg;
		return 0;
	default: /* 'n' */
		o->pause = false;
		return 0;
	}
}

static int parse(int argc, char **argv, struct show_opts *o, int *first,
		 struct nd_err *e)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"data", required_argument, NULL, 'd'},
		{"save", required_argument, NULL, 's'},
		{"no-pause", no_argument, NULL, 'n'},
		CLI_CAPTURE_OPTION,
		CLI_COMMON_OPTIONS,
	};

	*o = (struct show_opts){.pause = true, .data = -1};
	if (cli_options(argc, argv, longopts, "", "show", usage, show_option, o,
			first, e))
		return -1;
	if (argc - *first < 2)
		return nd_fail(e, ND_EUSAGE,
			       "show needs a TARGET and at least one OBJECT "
			       "(see ndspy show --help)");
	if (o->save && argc - *first != 2)
		return nd_fail(e, ND_EUSAGE, "--save takes exactly one OBJECT");
	return 0;
}

/* One OBJECT: what is read while the target is paused, kept for printing
 * after it runs again. */
struct shown {
	struct nd_array a;
	bool decoded;
	struct nd_preview p;
	struct nd_region mem;
	char path[4096]; /* mem.path's copy: the maps go with the target */
	struct nd_err err;
};

static void read_once(struct target *t, const char *spec,
		      const struct show_opts *o, struct npy_file *save,
		      struct shown *x)
{
	if (locate_array(t, spec, &x->a, &x->err))
		return;
	x->decoded = true;
	target_region(t, x->a.data, &x->mem);
	if (x->mem.path) {
		snprintf(x->path, sizeof(x->path), "%s", x->mem.path);
		x->mem.path = x->path;
	}
	/* --data 0 shows no values; JSON has them only when asked for */
	int64_t nvalues = o->json && o->data > 0 ? o->data : -1;
	int64_t threshold = o->json ? 0 : o->data < 0 ? ND_REPR_THRESHOLD : o->data;
	nd_preview_capture(&t->ctx, &x->a, nvalues, threshold, &x->p);
	if (save)
		npy_file_save(save, &t->ctx, t->src, &x->a, &x->err);
}

static void free_one(struct shown *x)
{
	if (x->decoded)
		nd_preview_free(&x->p);
	nd_array_free(&x->a);
}

/* One attempt at one OBJECT (steady.h): all of it read again. */
struct show_read {
	struct target *t;
	const char *spec;
	const struct show_opts *o;
	struct npy_file *save;
	struct shown *x;
};

static int attempt(void *arg, struct nd_array *a, struct nd_err *err)
{
	struct show_read *r = arg;
	struct shown *x = r->x;

	(void)a, (void)err; /* x->a and x->err */
	if (x->decoded)
		nd_preview_free(&x->p);
	x->decoded = false;
	read_once(r->t, r->spec, r->o, r->save, x);
	return x->decoded ? 0 : -1;
}

/* One OBJECT, as one state of it (steady.h): a running target may change
 * it while it is read. --save's file cannot be rewritten: a change after
 * it was written is reported at once. */
static void read_one(struct target *t, struct steady *st, const char *spec,
		     const struct show_opts *o, struct npy_file *save,
		     struct shown *x)
{
	struct show_read r = {t, spec, o, save, x};
	int tries;

	if (steady_read(st, attempt, &r, save ? 1 : STEADY_TRIES, &x->a,
			&x->err, &tries) != STEADY_CHANGED)
		return;
	uint64_t addr = x->a.addr;
	free_one(x);
	*x = (struct shown){0};
	char what[600];
	/* a name is said with the address it led to */
	if (spec[0] >= '0' && spec[0] <= '9')
		snprintf(what, sizeof(what), "0x%" PRIx64, addr);
	else
		snprintf(what, sizeof(what), "%.500s (0x%" PRIx64 ")", spec, addr);
	nd_fail_at(&x->err, ND_EREAD, addr, "%s: the array changed while it was "
		   "read (%d %s); run without --no-pause", what, tries,
		   tries == 1 ? "try" : "tries");
}

static void print_one(struct shown *x, const struct show_opts *o,
		      struct nd_buf *out)
{
	if (!x->decoded)
		return;
	/* the first error (a failed save, say) stays the one reported */
	if (o->json)
		nd_format_json(&x->a, &x->mem, &x->p, out, &x->err);
	else
		nd_format_text(&x->a, &x->mem, &x->p, out, &x->err);
}

/* Reads every OBJECT while the target is paused (if it is), then lets it
 * go; fills objs. Returns 0, or the error that stopped everything. */
static int read_all(const char *target, const struct show_opts *o,
		    char **specs,
		    int nobj, struct shown *objs, struct npy_file *save,
		    struct nd_err *e)
{
	struct target t;
	struct freeze fz = {0};
	struct steady st;

	if (target_open(target, &cli_target, &t, e))
		return -1;
	cli_verbosef("%s: Python %d.%d.%d (%s; object offsets from %s), "
		     "NumPy %s (%d.x layout, _multiarray_umath at %s); ndarray "
		     "type 0x%" PRIx64 ", dtype type 0x%" PRIx64
		     "; memory read with %s",
		     t.name, t.rt.py_major, t.rt.py_minor, t.rt.py_micro,
		     t.rt.py_path,
		     t.rt.py == &t.rt.py_target ? "its _Py_DebugOffsets"
						: "ndspy's table",
		     t.rt.np_version[0] ? t.rt.np_version : "?", t.rt.np_major,
		     t.rt.np_path, t.rt.array_type, t.rt.descr_type, t.mem->how);
	/* a core holds still by itself */
	bool pause = o->pause && t.pid;
	/* frame:TID:N paths: the threads, stopped (their registers say
	 * which is which) */
	bool frames = false;
	for (int i = 0; i < nobj; i++)
		frames |= strncmp(specs[i], "frame:", 6) == 0;
	if (frames && !pause && t.pid) {
		target_close(&t);
		return nd_fail(e, ND_EUSAGE, "frame:TID:N paths need the "
			       "process paused (drop --no-pause)");
	}
	if (target_pause(&t, pause, frames, &fz, e) ||
	    (frames && threads_roots(&t, pause ? &fz : NULL, e))) {
		target_release(&t, &fz);
		target_close(&t);
		return -1;
	}
	int nthreads = fz.n;
	target_steady(&t, !pause && t.pid, true, &st);
	for (int i = 0; i < nobj; i++)
		read_one(&t, &st, specs[i], o, save, &objs[i]);
	target_release(&t, &fz);
	if (pause) {
		cli_verbosef("%s paused for %.3f ms (%d thread%s%s)",
			     t.name, (double)fz.pause_ns / 1e6, nthreads,
			     nd_plural(nthreads), fz.not_stopped ? ", some did not stop in time" : "");
	}
	target_close(&t);
	return 0;
}

int cmd_show(int argc, char **argv)
{
	struct show_opts o;
	struct nd_err e = {0};
	struct npy_file save = {.out = {.fd = -1, .dest = -1, .cleanup = -1}};
	int first = 0, status = EXIT_OK, nobj = 0;
	struct shown *objs = NULL;
	enum object_kind kind;

	if (parse(argc, argv, &o, &first, &e) ||
	    target_parse(argv[first], &e))
		goto fail;
	nobj = argc - first - 1;
	objs = calloc((size_t)nobj, sizeof(*objs));
	if (!objs) {
		nd_fail(&e, ND_ENOMEM, "out of memory");
		goto fail;
	}
	for (int i = 0; i < nobj; i++)
		if (cli_parse_object(argv[first + 1 + i], &kind, &e))
			goto fail;
	/* an unwritable destination is reported before the target is touched */
	if ((o.save && npy_file_create(&save, o.save, &e)) ||
	    read_all(argv[first], &o, argv + first + 1, nobj, objs,
		     o.save ? &save : NULL, &e))
		goto fail;
	/* the target runs again: now the file goes where it was asked for */
	if (o.save && !objs[0].err.code)
		npy_file_finish(&save, &objs[0].err);
	if (o.save)
		npy_file_abort(&save);
	/* formatting and printing happen while the target runs again */
	for (int i = 0; i < nobj; i++) {
		struct nd_buf out = {0};
		print_one(&objs[i], &o, &out);
		if (out.len) {
			if (i && !o.json)
				cli_write_stdout("\n", 1);
			cli_write_stdout(out.p, out.len);
		}
		nd_buf_free(&out);
		if (objs[i].err.code) {
			int code = cli_error(&objs[i].err);
			if (code > status)
				status = code;
		}
	}
	goto out;
fail:
	status = cli_error(&e);
	npy_file_abort(&save);
out:
	for (int i = 0; objs && i < nobj; i++)
		free_one(&objs[i]);
	free(objs);
	return status;
}
