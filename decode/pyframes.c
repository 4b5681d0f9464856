/* Thread states and frame chains, per version:
 *   3.9/3.10  PyThreadState.frame -> PyFrameObject (f_back, f_code, f_lasti);
 *             each frame is one call of the evaluation loop
 *   3.11/3.12 PyThreadState.cframe->current_frame -> _PyInterpreterFrame
 *             (previous, f_code, prev_instr); one loop call runs several
 *             frames: 3.11 flags its first with is_entry, 3.12+ pushes a
 *             frame owned by the C stack (a shim) below them
 *   3.13+     PyThreadState.current_frame, f_executable (3.14: a tagged
 *             stack reference), instr_ptr
 * The line comes from the code's line table at the instruction offset,
 * as PyFrame_GetLineNumber computes it. */
#include "pyframes.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "frameplace.h"
#include "lines.h"
#include "pyobj.h"

#define MAX_TEXT 4096       /* a file or function name */
#define MAX_LINETABLE (1u << 20)

/* A chain that comes back on itself (Brent): one address is remembered,
 * replaced at each power of two steps; a loop shows within twice its
 * length, at no cost per step. */
struct loop {
	uint64_t mark;
	size_t steps, next;
};

static bool loop_seen(struct loop *l, uint64_t x)
{
	if (l->steps && x == l->mark)
		return true;
	if (++l->steps == l->next) {
		l->mark = x;
		l->next *= 2;
	}
	return false;
}

static int read_ptr(struct nd_ctx *c, uint64_t addr, int off, uint64_t *v,
		    struct nd_err *e, const char *what)
{
	return nd_read_u64(c, addr + (uint64_t)off, v, e, what);
}

/* What one walk shares: where names go, a buffer for line tables. */
struct walk {
	struct nd_ctx *c;
	struct nd_arena *a;
	uint8_t *table; /* MAX_LINETABLE */
};

static const char *str_field(struct nd_ctx *c, struct nd_arena *a,
			     uint64_t code, int off, struct nd_err *e)
{
	char buf[MAX_TEXT];
	uint64_t s;

	if (off < 0 || read_ptr(c, code, off, &s, e, "code object") ||
	    nd_py_str(c, s, buf, sizeof(buf), NULL, e))
		return NULL;
	const char *out = nd_arena_strdup(a, buf);
	if (!out)
		nd_fail(e, ND_ENOMEM, "out of memory");
	return out;
}

/* Names the code object and finds the line of byte offset addr. */
static int describe(struct walk *w, uint64_t code, int addr,
		    struct nd_pyframe *f, struct nd_err *e)
{
	struct nd_ctx *c = w->c;
	struct nd_arena *a = w->a;
	const struct nd_pylayout *P = c->py;
	int32_t first;
	uint64_t table;
	size_t len;

	f->code = code;
	if (!(f->file = str_field(c, a, code, P->co_filename, e)) ||
	    !(f->name = str_field(c, a, code, P->co_name, e)))
		return -1;
	f->qualname = P->co_qualname >= 0 ? str_field(c, a, code,
						      P->co_qualname, NULL)
					  : NULL;
	uint8_t *buf = w->table;
	int rc = nd_read(c, code + (uint64_t)P->co_firstlineno, &first,
			 sizeof(first), e, "co_firstlineno");
	if (!rc)
		rc = read_ptr(c, code, P->co_linetable, &table, e, "line table");
	if (!rc)
		rc = nd_py_bytes(c, table, buf, MAX_LINETABLE, &len, e);
	if (!rc && nd_addr2line(nd_frame_lines(P), first, buf, len, addr, &f->line))
		return nd_fail_at(e, ND_ECORRUPT, code, "code object at 0x%"
				  PRIx64 ": bad line table", code);
	return rc;
}

static bool is_code(struct nd_ctx *c, uint64_t obj)
{
	uint64_t type;
	int64_t refcnt;
	const char *name;

	return nd_py_header(c, obj, &refcnt, &type, NULL) == 0 &&
	       nd_py_type_name(c, type, &name, NULL) == 0 &&
	       strcmp(name, "code") == 0;
}

/* The thread's newest frame. */
static int newest_frame(struct nd_ctx *c, uint64_t ts, uint64_t *f,
			struct nd_err *e)
{
	const struct nd_pylayout *P = c->py;
	int rc = read_ptr(c, ts, P->ts_frame, f, e, "thread state");

	if (!rc && P->cframe_current_frame >= 0 && *f)
		rc = read_ptr(c, *f, P->cframe_current_frame, f, e, "C frame");
	return rc;
}

/* One frame of the chain: appended to t unless it is not a Python frame
 * (a shim, an incomplete frame); *back gets the older frame. */
static int one_frame(struct walk *w, uint64_t fr, struct nd_pythread *t,
		     uint64_t *back, struct nd_err *e)
{
	struct nd_ctx *c = w->c;
	const struct nd_pylayout *P = c->py;
	struct nd_rawframe r = {0};
	uint8_t is_entry = P->frame_repr == ND_FRAME_OBJECT;
	int addr;

	int rc = read_ptr(c, fr, P->fr_back, back, e, "frame");
	if (!rc)
		rc = read_ptr(c, fr, P->fr_code, &r.code, e, "frame");
	if (!rc && P->frame_repr == ND_FRAME_OBJECT) {
		int32_t lasti;
		rc = nd_read(c, fr + (uint64_t)P->fr_instr, &lasti,
			     sizeof(lasti), e, "f_lasti");
		r.instr = (uint64_t)(int64_t)lasti;
	} else if (!rc) {
		if ((P->fr_owner >= 0 &&
		     (rc = nd_read(c, fr + (uint64_t)P->fr_owner, &r.owner, 1,
				   e, "frame owner"))) ||
		    (P->fr_is_entry >= 0 &&
		     (rc = nd_read(c, fr + (uint64_t)P->fr_is_entry, &is_entry,
				   1, e, "frame entry flag"))))
			return rc;
		rc = read_ptr(c, fr, P->fr_instr, &r.instr, e, "frame");
	}
	if (rc)
		return rc;
	r.code &= ~P->fr_code_tag_bits;
	if (nd_frame_is_shim(P, r.owner)) {
		/* the frames newer than this shim are one loop call */
		if (t->n && !t->f[t->n - 1].eval_entry) {
			t->f[t->n - 1].eval_entry = true;
			t->f[t->n - 1].shim = fr;
		}
		return 0;
	}
	int32_t firsttraceable = 0;
	if (P->frame_repr == ND_FRAME_INTERP) {
		if (!is_code(c, r.code))
			return 0;
		if ((rc = nd_read(c, r.code + (uint64_t)P->co_firsttraceable,
				  &firsttraceable, sizeof(firsttraceable), e,
				  "code object")))
			return rc;
	}
	rc = nd_frame_place(P, &r, firsttraceable, &addr, e);
	if (rc)
		return rc < 0 ? rc : 0;
	struct nd_pyframe *f = &t->f[t->n];
	memset(f, 0, sizeof(*f));
	f->frame = fr;
	f->eval_entry = is_entry;
	if ((rc = describe(w, r.code, addr, f, e)))
		return rc;
	t->n++;
	return 0;
}

/* The chain of thread state ts, built in scratch (ND_MAX_PYFRAMES) and
 * kept in the arena at its real length. */
static int walk_thread(struct walk *w, uint64_t ts, struct nd_pyframe *scratch,
		       struct nd_pythread *t, struct nd_err *e)
{
	struct nd_ctx *c = w->c;
	const struct nd_pylayout *P = c->py;
	uint64_t fr;

	t->tstate = ts;
	t->f = scratch;
	int rc = read_ptr(c, ts, P->ts_thread_id, &t->thread_id, e,
			  "thread state");
	if (rc)
		return rc;
	if (!newest_frame(c, ts, &fr, &t->err)) {
		struct loop loop = {0, 0, 1};
		/* shims count too: the bound also ends what looks no loop */
		for (int steps = 0; fr && steps < 2 * ND_MAX_PYFRAMES; steps++) {
			if (t->n == ND_MAX_PYFRAMES) {
				nd_fail(&t->err, ND_ELIMIT, "more than %d "
					"frames: the oldest are not shown",
					ND_MAX_PYFRAMES);
				break;
			}
			if (loop_seen(&loop, fr)) {
				nd_fail(&t->err, ND_ECORRUPT, "the frame chain "
					"loops back to 0x%" PRIx64, fr);
				break;
			}
			if (one_frame(w, fr, t, &fr, &t->err))
				break;
		}
		if (fr && !t->err.code)
			nd_fail(&t->err, ND_ECORRUPT,
				"the frame chain does not end");
	}
	t->f = nd_arena_alloc(w->a, (t->n ? t->n : 1) * sizeof(*t->f));
	if (!t->f)
		return nd_fail(e, ND_ENOMEM, "out of memory");
	memcpy(t->f, scratch, t->n * sizeof(*t->f));
	return 0;
}

/* The interpreters, the main one first (the list begins with the
 * newest): *n of them, up to a loop or ND_MAX_INTERPRETERS. The others
 * are only what could be read: their list failing (said in *others)
 * still leaves the main one. */
static int interpreters(struct nd_ctx *c, uint64_t runtime, uint64_t *out,
			size_t *n, struct nd_err *others, struct nd_err *e)
{
	const struct nd_pylayout *P = c->py;
	uint64_t x;

	*n = 0;
	if (read_ptr(c, runtime, P->rt_interpreters_main, &out[0], e,
		     "_PyRuntime"))
		return -1;
	if (!out[0])
		return nd_fail(e, ND_ECORRUPT, "the runtime has no main "
			       "interpreter");
	*n = 1;
	int rc = read_ptr(c, runtime, P->rt_interpreters_head, &x, others,
			  "_PyRuntime");
	for (size_t steps = 0; !rc && x && steps < ND_MAX_INTERPRETERS;
	     steps++) {
		bool seen = false;
		for (size_t k = 0; k < *n && !seen; k++)
			seen = out[k] == x;
		if (!seen && *n < ND_MAX_INTERPRETERS)
			out[(*n)++] = x;
		rc = read_ptr(c, x, P->interp_next, &x, others,
			      "interpreter state");
	}
	return 0;
}

/* The thread states of interpreter interp appended to seen[*n], each
 * once, up to a loop if there is one (few enough to compare each with all
 * before it). */
static int thread_list(struct nd_ctx *c, uint64_t interp, uint64_t *seen,
		       size_t *n, struct nd_err *loop, struct nd_err *e)
{
	const struct nd_pylayout *P = c->py;
	size_t first = *n;
	uint64_t x;
	int rc = read_ptr(c, interp, P->interp_threads_head, &x, e,
			  "interpreter state");

	while (x && !rc) {
		if (*n == ND_MAX_PYTHREADS)
			return nd_fail(e, ND_ELIMIT, "more than %d Python "
				       "threads", ND_MAX_PYTHREADS);
		bool again = false;
		for (size_t k = first; k < *n && !again; k++)
			again = seen[k] == x;
		if (again) {
			nd_fail(loop, ND_ECORRUPT, "the thread list loops "
				"back to 0x%" PRIx64, x);
			break;
		}
		seen[(*n)++] = x;
		rc = read_ptr(c, x, P->ts_next, &x, e, "thread state");
	}
	return rc;
}

int nd_py_stacks(struct nd_ctx *c, uint64_t runtime, struct nd_pystacks *out,
		 struct nd_err *e)
{
	const struct nd_pylayout *P = c->py;
	uint64_t interp[ND_MAX_INTERPRETERS];
	size_t ninterp = 0, nthreads = 0, from[ND_MAX_INTERPRETERS + 1];

	memset(out, 0, sizeof(*out));
	if (!runtime)
		return nd_fail(e, ND_EUNSUPPORTED,
			       "_PyRuntime is not exported: Python threads "
			       "cannot be found");
	struct nd_err others = {0};
	if (interpreters(c, runtime, interp, &ninterp, &others, e))
		return -1;
	uint64_t *ts = malloc(ND_MAX_PYTHREADS * sizeof(*ts));
	if (!ts)
		return nd_fail(e, ND_ENOMEM, "out of memory");
	int rc = 0;
	size_t k = 0;
	/* a subinterpreter whose threads cannot be read hides no more than
	 * its own: the main one's are what a failure to read stops */
	for (; k < ninterp && !rc; k++) {
		from[k] = nthreads;
		struct nd_err sub = {0};
		rc = thread_list(c, interp[k], ts, &nthreads, &out->err,
				 k ? &sub : e);
		if (rc && k) {
			nthreads = from[k];
			out->err = sub;
			rc = 0;
			break;
		}
	}
	from[k] = nthreads;
	if (others.code && !out->err.code)
		out->err = others;
	struct walk w = {c, &out->arena, malloc(MAX_LINETABLE)};
	struct nd_pyframe *scratch = malloc(ND_MAX_PYFRAMES * sizeof(*scratch));
	out->t = nd_arena_alloc(&out->arena, (nthreads ? nthreads : 1) *
						     sizeof(*out->t));
	if (!rc && (!out->t || !scratch || !w.table))
		rc = nd_fail(e, ND_ENOMEM, "out of memory");
	for (size_t i = 0, in = 0; !rc && i < nthreads; i++) {
		while (i >= from[in + 1])
			in++;
		struct nd_pythread *t = &out->t[out->n];
		uint64_t id = 0;
		struct nd_err unread = {0};
		if (in && nd_read_u64(c, interp[in] + (uint64_t)P->interp_id,
				      &id, &unread, "interpreter state"))
			id = (uint64_t)-1; /* shown as an unknown one */
		rc = walk_thread(&w, ts[i], scratch, t, e);
		t->interp_id = (int64_t)id;
		t->main_interp = in == 0;
		out->n += !rc;
	}
	free(ts);
	free(scratch);
	free(w.table);
	return rc;
}

void nd_py_stacks_free(struct nd_pystacks *s)
{
	nd_arena_free(&s->arena);
	memset(s, 0, sizeof(*s));
}
