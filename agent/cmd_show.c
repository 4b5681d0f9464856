/* ndspy show TARGET OBJECT...: decode arrays by address. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../decode/buf.h"
#include "../decode/format.h"
#include "../decode/ndarray.h"
#include "../decode/preview.h"
#include "../decode/pywalk.h"
#include "cli.h"
#include "freeze.h"
#include "npy_file.h"
#include "symbols.h"
#include "target.h"

static const char usage[] =
	"usage: ndspy show [options] TARGET OBJECT...\n"
	"\n"
	"Show NumPy arrays of a process or a core file as NumPy itself describes\n"
	"them: the values as repr() prints them, dtype, shape, strides, flags,\n"
	"the base chain, __array_interface__ and the memory that holds the data.\n"
	"\n"
	"  TARGET           a process ID, or a core file (gcore's or the kernel's)\n"
	"  OBJECT           an array's address (decimal as id() prints it, or\n"
	"                   0x-hex); MODULE.NAME[.ATTR...], a module global\n"
	"                   (__main__.x, pkg.mod.cache.weights) found through\n"
	"                   sys.modules; or @SYMBOL / @OBJFILE:SYMBOL, an ELF\n"
	"                   symbol holding the array or a pointer to it\n"
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
	"  -v, --verbose    say what was found and how long the process was paused\n"
	"  -h, --help       this text\n"
	"\n"
	"The process is paused (all threads, with ptrace) only while ndspy copies\n"
	"what it needs (headers, the values it prints, --save's data), and is\n"
	"always released, also on errors and Ctrl-C; printing comes after.\n"
	"\n"
	"exit status: 0 ok; 1 an OBJECT is not an array or could not be read;\n"
	"2 usage; 3 the target cannot be opened (no such process, permission,\n"
	"not Python, no NumPy)\n";

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
		CLI_COMMON_OPTIONS,
	};

	*o = (struct show_opts){.pause = true, .data = -1};
	if (cli_options(argc, argv, longopts, "show", usage, show_option, o,
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

/* The address an OBJECT names, read while the target is paused. A symbol
 * may be the array itself or a pointer to it: *pointer_ok says so. */
static int locate(struct target *t, const char *spec, uint64_t *addr,
		  bool *pointer_ok, struct nd_err *e)
{
	*pointer_ok = false;
	if (spec[0] >= '0' && spec[0] <= '9')
		return cli_parse_address(spec, addr, e);
	if (spec[0] == '@') {
		*pointer_ok = true;
		return symbol_address(t, spec + 1, addr, e);
	}
	return nd_py_resolve(&t->ctx, t->rt.runtime_addr, spec, addr, e);
}

/* Reads of a running target (--no-pause) that found the object changed
 * when they were done, before it is reported as changed. */
#define TRIES 3

static void read_once(struct target *t, const char *spec,
		      const struct show_opts *o, struct npy_file *save,
		      struct shown *x)
{
	uint64_t addr, ptr;
	bool pointer_ok;

	if (locate(t, spec, &addr, &pointer_ok, &x->err))
		return;
	if (!maps_find(&t->maps, addr)) {
		nd_fail(&x->err, ND_EREAD,
			"0x%" PRIx64 ": address not mapped in %s", addr,
			t->name);
		return;
	}
	if (nd_array_decode(&t->ctx, addr, &x->a, &x->err)) {
		/* a C global may hold the array's address rather than be it */
		struct nd_err first = x->err;
		nd_array_free(&x->a);
		nd_err_clear(&x->err);
		if (!pointer_ok ||
		    t->mem->read(t->mem, addr, &ptr, sizeof(ptr)) != 0 ||
		    nd_array_decode(&t->ctx, ptr, &x->a, &x->err)) {
			nd_err_clear(&x->err);
			nd_fail(&x->err, first.code, "%s: %s", spec, first.msg);
			return;
		}
	}
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
		npy_file_save(save, &t->ctx, t->mem, &x->a, &x->err);
}

static void free_one(struct shown *x)
{
	if (x->decoded)
		nd_preview_free(&x->p);
	nd_array_free(&x->a);
}

/* The address a read tried last and its raw state right after: a failed
 * read of a running target is retried once, and only if it fails the
 * same way on the same bytes is the error the object's own. */
struct attempt {
	uint64_t addr;
	unsigned char raw[ND_RAW_STATE_MAX];
	size_t len;
	struct nd_err err;
};

static bool same_failure(const struct attempt *a, const struct attempt *b)
{
	return a->addr == b->addr && a->len == b->len &&
	       memcmp(a->raw, b->raw, a->len) == 0 &&
	       strcmp(a->err.msg, b->err.msg) == 0;
}

/* One OBJECT. A running target may change it while it is read: then its
 * header is read again afterwards, past the page cache, and if it moved
 * (resized, reshaped, rebound, freed), all of it is read again, a few
 * times at most, so that what is printed is one state of it, never
 * half of two. A failure may be such a change too (dims of one shape,
 * strides of another): it is retried, and a failure that differs each
 * time is reported as a change. --save's file cannot be rewritten: a
 * change is reported at once. */
static void read_one(struct target *t, const char *spec,
		     const struct show_opts *o, struct npy_file *save,
		     struct shown *x)
{
	bool running = !o->pause && t->pid;
	struct attempt last = {0}, now;
	bool changing = false;

	for (int try = 1;; try++) {
		read_once(t, spec, o, save, x);
		if (!running)
			return;
		/* what the next read needs is what the target holds now */
		mem_cache_drop(t->mem);
		if (x->decoded) {
			if (nd_array_unchanged(&t->ctx, &x->a))
				return;
			changing = true;
		} else {
			now.addr = x->a.addr;
			now.len = nd_array_raw_state(&t->ctx, now.addr, now.raw);
			now.err = x->err;
			if (try > 1 && !changing && same_failure(&last, &now))
				return; /* garbage, the same each time */
			changing = changing || try > 1;
			last = now;
		}
		if (changing && (try >= TRIES || (save && x->decoded))) {
			uint64_t addr = x->a.addr;
			free_one(x);
			*x = (struct shown){0};
			char what[600];
			/* a name is said with the address it led to */
			if (spec[0] >= '0' && spec[0] <= '9')
				snprintf(what, sizeof(what), "0x%" PRIx64, addr);
			else
				snprintf(what, sizeof(what), "%.500s (0x%" PRIx64 ")",
					 spec, addr);
			nd_fail(&x->err, ND_EREAD,
				"%s: the array changed while it was read (%d %s); "
				"run without --no-pause",
				what, try, try == 1 ? "try" : "tries");
			return;
		}
		free_one(x);
		*x = (struct shown){0};
	}
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

	if (target_open(target, &cli_target, 512, &t, e))
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
	/* what discovery cached was read while the target ran */
	mem_cache_drop(t.mem);
	/* a core holds still by itself */
	bool pause = o->pause && t.pid;
	if (pause && freeze_all(&fz, t.pid, false, e)) {
		target_close(&t);
		return -1;
	}
	int nthreads = fz.n;
	for (int i = 0; i < nobj; i++)
		read_one(&t, specs[i], o, save, &objs[i]);
	if (pause) {
		thaw_all(&fz);
		cli_verbosef("%s paused for %.3f ms (%d thread%s%s)",
			     t.name, (double)fz.pause_ns / 1e6, nthreads,
			     nthreads == 1 ? "" : "s", fz.not_stopped ? ", some did not stop in time" : "");
	}
	target_close(&t);
	return 0;
}

int cmd_show(int argc, char **argv)
{
	struct show_opts o;
	struct nd_err e = {0};
	struct npy_file save = {.fd = -1, .cleanup = -1};
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
