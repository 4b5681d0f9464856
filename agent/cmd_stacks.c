/* ndspy stacks TARGET: every thread's native backtrace, with the Python
 * frames each call of the evaluation loop runs shown where that call is. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../decode/buf.h"
#include "../decode/pyframes.h"
#include "cli.h"
#include "core.h"
#include "fileio.h"
#include "frame_locals.h"
#include "freeze.h"
#include "symbols.h"
#include "target.h"
#include "threads.h"

static const char usage[] =
	"usage: ndspy stacks [options] TARGET\n"
	"\n"
	"Every thread's native backtrace (function names from ELF symbols and\n"
	"debug files), and for threads running Python the Python frames (file,\n"
	"function, line) placed at the evaluation-loop frame that runs them.\n"
	"A thread running code in a subinterpreter shows those frames first,\n"
	"labelled \"interpreter ID\" (with --json: \"interpreter\", 0 for the\n"
	"main interpreter).\n"
	"\n"
	"  TARGET           a process ID, or a core file (gcore's or the kernel's)\n"
	"\n"
	"options:\n"
	"  --json           one JSON object per thread per line\n"
	"  --locals         each Python frame's locals: an array on one line\n"
	"                   (address, type, dtype, shape, size, owner), None,\n"
	"                   numbers and short strings by value, other objects\n"
	"                   by type and address (with --json: \"locals\")\n"
	CLI_CORE_HELP
	CLI_CAPTURE_HELP
	"  -v, --verbose    say how long the process was paused\n"
	"  -h, --help       this text\n"
	"\n"
	"A live process is paused (all threads, with ptrace) while its stacks\n"
	"are read, and always released; names are looked up afterwards.\n"
	"\n"
	"exit status: 0 ok; 2 usage; 3 the target cannot be opened (no such\n"
	"process, permission, not Python)\n"
	"\n"
	"examples:\n"
	"  ndspy stacks 1234                     # native and Python frames\n"
	"  ndspy stacks 1234 --locals            # and each frame's locals\n"
	"  ndspy stacks core --json              # a core file's threads, as JSON\n"
	"  ndspy stacks core --sysroot /srv/box  # its files under /srv/box\n";

struct stacks_opts {
	bool json, locals;
};

static int stacks_option(void *opts, int ch, const char *arg,
			 struct nd_err *e)
{
	struct stacks_opts *o = opts;

	(void)arg, (void)e;
	if (ch == 'j')
		o->json = true;
	else
		o->locals = true;
	return 0;
}

/* A thread's Python frames, newest first, as one walk over the thread
 * states it has in each interpreter: a subinterpreter is entered from
 * another interpreter's frames, so its frames are newer. */
struct pyview {
	const struct nd_pythread *seg[THREAD_MAX_SUBINTERP + 1];
	size_t nseg, cur, next; /* the segment, the frame in it */
};

/* Where a thread state's oldest frame's loop call keeps its entry frame,
 * on the native stack (3.12+; 0 where unknown): lower is newer. */
static uint64_t seg_depth(const struct nd_pythread *p)
{
	return p->f[p->n - 1].shim;
}

static void view_init(const struct thread *th, struct pyview *v)
{
	bool placed = true;

	*v = (struct pyview){.nseg = 0};
	for (size_t i = 0; i < th->nsub; i++)
		if (th->sub[i]->n)
			v->seg[v->nseg++] = th->sub[i];
	if (th->py && th->py->n)
		v->seg[v->nseg++] = th->py;
	for (size_t i = 0; i < v->nseg; i++)
		placed &= seg_depth(v->seg[i]) != 0;
	/* in the order the thread entered them where the stack says it;
	 * else the main interpreter's last, the others as listed */
	for (size_t i = 1; placed && i < v->nseg; i++)
		for (size_t j = i; j > 0 && seg_depth(v->seg[j]) <
						seg_depth(v->seg[j - 1]); j--) {
			const struct nd_pythread *x = v->seg[j];
			v->seg[j] = v->seg[j - 1];
			v->seg[j - 1] = x;
		}
}

/* The frame the view is at; NULL past the last. */
static const struct nd_pyframe *view_at(const struct pyview *v)
{
	return v->cur < v->nseg && v->next < v->seg[v->cur]->n
		       ? &v->seg[v->cur]->f[v->next] : NULL;
}

static void view_step(struct pyview *v)
{
	if (++v->next >= v->seg[v->cur]->n) {
		v->cur++;
		v->next = 0;
	}
}

/* Whether native frame i runs the Python frames the view is at: its name
 * says so, or (3.12+, where names may be missing: a stripped binary, a
 * .cold part) the shim frame ending that group lies in its stack frame. */
static bool runs_group(const struct thread *th, size_t i,
		       const struct pyview *v, bool named_eval)
{
	if (!view_at(v))
		return false;
	if (named_eval)
		return true;
	const struct nd_pythread *py = v->seg[v->cur];
	size_t next = v->next;
	while (next < py->n && !py->f[next].eval_entry)
		next++;
	uint64_t shim = next < py->n ? py->f[next].shim : 0;
	return shim && i + 1 < th->n && th->sps[i] <= shim &&
	       shim < th->sps[i + 1];
}

static void native_frame(const struct target *t, uint64_t ip, bool caller,
			 const struct stacks_opts *o, struct nd_buf *b,
			 bool *is_eval)
{
	struct native_symbol s;
	/* a return address may be past the call's function: look up the
	 * call instruction */
	bool named = symbol_at(t, caller ? ip - 1 : ip, &s) == 0;
	if (named && caller)
		s.offset++;
	*is_eval = named && strncmp(s.function, "_PyEval_EvalFrameDefault",
				    24) == 0;
	if (o->json) {
		nd_buf_printf(b, "{\"kind\": \"native\", \"ip\": %" PRIu64
				 ", \"object\": ", ip);
		if (*s.object)
			nd_buf_json_str(b, s.object, strlen(s.object));
		else
			nd_buf_puts(b, "null");
		nd_buf_puts(b, ", \"function\": ");
		if (named) {
			nd_buf_json_str(b, s.function, strlen(s.function));
			nd_buf_printf(b, ", \"offset\": %" PRIu64 "}", s.offset);
		} else {
			nd_buf_puts(b, "null, \"offset\": null}");
		}
		return;
	}
	nd_buf_printf(b, "  0x%016" PRIx64 "  ", ip);
	if (named) {
		nd_buf_puts_safe(b, s.function);
		nd_buf_printf(b, "+0x%" PRIx64, s.offset);
	} else {
		nd_buf_puts(b, "??");
	}
	if (*s.object) {
		nd_buf_puts(b, "  (");
		nd_buf_puts_safe(b, path_base(s.object));
		nd_buf_puts(b, ")");
	}
	nd_buf_putc(b, '\n');
}

/* locals: the frame's, formatted while the target was paused (or NULL);
 * py: the thread state it is on, whose interpreter is named unless it
 * is the main one */
static void python_frame(const struct nd_pythread *py,
			 const struct nd_pyframe *f,
			 const struct stacks_opts *o,
			 const struct nd_buf *locals, struct nd_buf *b)
{
	if (o->json) {
		nd_buf_puts(b, "{\"kind\": \"python\", \"file\": ");
		nd_buf_json_str(b, f->file, strlen(f->file));
		nd_buf_puts(b, ", \"function\": ");
		nd_buf_json_str(b, f->name, strlen(f->name));
		nd_buf_puts(b, ", \"qualname\": ");
		if (f->qualname)
			nd_buf_json_str(b, f->qualname, strlen(f->qualname));
		else
			nd_buf_puts(b, "null");
		if (f->line >= 0)
			nd_buf_printf(b, ", \"line\": %d", f->line);
		else
			nd_buf_puts(b, ", \"line\": null");
		nd_buf_printf(b, ", \"code\": %" PRIu64 ", \"interpreter\": "
				 "%" PRId64, f->code, py->interp_id);
		if (locals) {
			nd_buf_puts(b, ", \"locals\": ");
			nd_buf_add(b, locals->p, locals->len);
		}
		nd_buf_putc(b, '}');
		return;
	}
	if (py->main_interp)
		nd_buf_puts(b, "      (Python) ");
	else
		nd_buf_printf(b, "      (Python, interpreter %" PRId64 ") ",
			      py->interp_id);
	nd_buf_puts_safe(b, f->qualname ? f->qualname : f->name);
	nd_buf_puts(b, " at ");
	nd_buf_puts_safe(b, f->file);
	if (f->line >= 0)
		nd_buf_printf(b, ":%d", f->line);
	nd_buf_putc(b, '\n');
	if (locals)
		nd_buf_add(b, locals->p, locals->len);
}

/* The Python frames of one evaluation-loop call, from where the view is;
 * locals: every thread state's frames' (indexed as ps), or NULL. */
static void python_group(const struct nd_pystacks *ps, struct pyview *v,
			 struct nd_buf *const *locals,
			 const struct stacks_opts *o, struct nd_buf *b,
			 bool *first)
{
	const struct nd_pyframe *f;

	while ((f = view_at(v))) {
		const struct nd_pythread *py = v->seg[v->cur];
		const struct nd_buf *loc = locals ? locals[py - ps->t] : NULL;
		if (o->json && !*first)
			nd_buf_puts(b, ", ");
		*first = false;
		python_frame(py, f, o, loc ? &loc[v->next] : NULL, b);
		view_step(v);
		if (f->eval_entry)
			break;
	}
}

static void print_thread(const struct target *t, const struct thread *th,
			 const struct nd_pystacks *ps,
			 struct nd_buf *const *locals,
			 const struct stacks_opts *o, struct nd_buf *b)
{
	/* the thread state named: the main interpreter's, else the first */
	const struct nd_pythread *py = th->py ? th->py
				       : th->nsub ? th->sub[0] : NULL;
	struct pyview v;
	bool first = true, is_eval;

	view_init(th, &v);

	if (o->json) {
		nd_buf_printf(b, "{\"tid\": %d, \"main\": %s, \"python\": ",
			      (int)th->tid, th->main ? "true" : "false");
		if (py)
			nd_buf_printf(b, "{\"thread_state\": %" PRIu64
					 ", \"thread_id\": %" PRIu64
					 ", \"interpreter\": %" PRId64 "}",
				      py->tstate, py->thread_id, py->interp_id);
		else
			nd_buf_puts(b, "null");
		nd_buf_puts(b, ", \"frames\": [");
	} else {
		nd_buf_printf(b, "thread %d%s%s\n", (int)th->tid,
			      th->main ? " (main)" : "",
			      py ? ", running Python" : "");
	}
	for (size_t i = 0; i < th->n; i++) {
		if (o->json && !first)
			nd_buf_puts(b, ", ");
		first = false;
		native_frame(t, th->ips[i], i > 0, o, b, &is_eval);
		if (runs_group(th, i, &v, is_eval))
			python_group(ps, &v, locals, o, b, &first);
	}
	/* frames no native frame was found for (stripped binary, broken
	 * native stack): after the native ones, in order */
	if (view_at(&v) && !o->json)
		nd_buf_puts(b, "  (Python frames whose native frames were not "
			       "found)\n");
	while (view_at(&v))
		python_group(ps, &v, locals, o, b, &first);
	const struct nd_err *why = th->err.code ? &th->err
				   : th->py && th->py->err.code ? &th->py->err
								: NULL;
	for (size_t i = 0; !why && i < th->nsub; i++)
		why = th->sub[i]->err.code ? &th->sub[i]->err : NULL;
	if (o->json) {
		nd_buf_puts(b, "], \"error\": ");
		if (why)
			nd_buf_json_str(b, why->msg, strlen(why->msg));
		else
			nd_buf_puts(b, "null");
		nd_buf_puts(b, "}\n");
	} else {
		if (why)
			nd_buf_printf(b, "  (stack incomplete: %s)\n", why->msg);
		nd_buf_putc(b, '\n');
	}
}

/* Every Python frame's locals, formatted while the target is paused (what
 * they read is read then), per thread state of ps; NULL on a failure to
 * allocate. */
static struct nd_buf **all_locals(struct target *t,
				  const struct nd_pystacks *ps, bool json)
{
	struct nd_buf **loc = calloc(ps->n ? ps->n : 1, sizeof(*loc));
	struct nd_refs *w = nd_refs_new(&t->ctx);

	for (size_t i = 0; loc && w && i < ps->n; i++) {
		const struct nd_pythread *py = &ps->t[i];
		if (!py->n || !(loc[i] = calloc(py->n, sizeof(**loc))))
			continue;
		for (size_t j = 0; j < py->n; j++)
			frame_locals_format(w, &t->ctx, &py->f[j], json,
					    &loc[i][j]);
	}
	nd_refs_free(w);
	return loc;
}

static void locals_free(struct nd_buf **loc, const struct nd_pystacks *ps)
{
	for (size_t i = 0; loc && i < ps->n; i++)
		for (size_t j = 0; loc[i] && j < ps->t[i].n; j++)
			nd_buf_free(&loc[i][j]);
	for (size_t i = 0; loc && i < ps->n; i++)
		free(loc[i]);
	free(loc);
}

int cmd_stacks(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"locals", no_argument, NULL, 'l'},
		CLI_CAPTURE_OPTION,
		CLI_COMMON_OPTIONS,
	};
	struct stacks_opts o = {0};
	struct nd_err e = {0};
	struct nd_pystacks ps = {0};
	struct thread *th = NULL;
	struct target t;
	size_t n = 0;
	int first;

	if (cli_options(argc, argv, longopts, "", "stacks", usage, stacks_option,
			&o, &first, &e))
		return cli_error(&e);
	if (argc - first != 1) {
		nd_fail(&e, ND_EUSAGE, "stacks needs exactly one TARGET (see "
				       "ndspy stacks --help)");
		return cli_error(&e);
	}
	struct target_opts topts = cli_target;
	topts.numpy_optional = true;
	if (target_parse(argv[first], &e) ||
	    target_open(argv[first], &topts, &t, &e))
		return cli_error(&e);
	struct freeze fz = {0};
	int rc = target_pause(&t, true, true, &fz, &e);
	struct nd_buf **loc = NULL;
	if (!rc) {
		rc = threads_read(&t, &fz, &th, &n, &ps, &e);
		if (!rc && o.locals && !(loc = all_locals(&t, &ps, o.json)))
			rc = nd_fail(&e, ND_ENOMEM, "out of memory");
		target_release(&t, &fz);
		if (t.pid)
			cli_verbosef("%s paused for %.3f ms (%zu threads)",
				     t.name, (double)fz.pause_ns / 1e6, n);
	}
	for (size_t i = 0; !rc && i < n; i++) {
		struct nd_buf b = {0};
		print_thread(&t, &th[i], &ps, loc, &o, &b);
		if (b.oom || !cli_write_stdout(b.p, b.len))
			rc = nd_fail(&e, ND_EIO, "cannot write the stacks");
		nd_buf_free(&b);
	}
	locals_free(loc, &ps);
	free(th);
	nd_py_stacks_free(&ps);
	target_close(&t);
	return rc ? cli_error(&e) : EXIT_OK;
}
