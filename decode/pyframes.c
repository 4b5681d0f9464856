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

#include "lines.h"
#include "pyobj.h"

#define MAX_TEXT 4096       /* a file or function name */
#define MAX_LINETABLE (1u << 20)
#define OWNED_BY_GENERATOR 1 /* the same in 3.11-3.14 */

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

static enum nd_lines_repr lines_repr(const struct nd_pylayout *P)
{
	return P->minor == 9 ? ND_LINES_LNOTAB
	       : P->minor == 10 ? ND_LINES_310 : ND_LINES_LOCATIONS;
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
	if (!rc && nd_addr2line(lines_repr(P), first, buf, len, addr, &f->line))
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

/* A frame owned by the C stack or the interpreter: no Python function's
 * (3.12+ shims, 3.14's interpreter frames). */
static bool is_shim(const struct nd_pylayout *P, uint8_t owner)
{
	return P->frame_repr == ND_FRAME_INTERP &&
	       (owner == P->owner_cstack ||
		(P->owner_interpreter >= 0 && owner >= P->owner_interpreter));
}

/* Where raw frame r of a code object whose _co_firsttraceable is
 * firsttraceable (3.11+) is: *addr, its instruction's byte offset into
 * the code; 1 when it is still setting up (tracebacks and tracemalloc
 * skip such frames). */
static int place_frame(const struct nd_pylayout *P,
		       const struct nd_rawframe *r, int32_t firsttraceable,
		       int *addr, struct nd_err *e)
{
	int64_t off;

	if (P->frame_repr == ND_FRAME_OBJECT) {
		int32_t lasti = (int32_t)r->instr;
		/* 3.9 counts bytes, 3.10 code units */
		off = P->minor == 9 ? lasti : (int64_t)lasti * 2;
	} else {
		off = (int64_t)(r->instr - (r->code + (uint64_t)P->co_code_adaptive));
		if (r->owner != OWNED_BY_GENERATOR && off >= -2 &&
		    off / 2 < firsttraceable)
			return 1;
	}
	if (off < -2 || off > INT32_MAX)
		return nd_fail(e, ND_ECORRUPT, "frame of code 0x%" PRIx64
			       ": instruction offset %" PRId64 " is outside "
			       "its code", r->code, off);
	*addr = (int)off;
	return 0;
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
	if (is_shim(P, r.owner)) {
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
	rc = place_frame(P, &r, firsttraceable, &addr, e);
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

/* A code object as it was named: the fields a name and a line come from,
 * and their contents. */
struct nd_codeinfo {
	uint64_t code, type, filename, name, qualname, linetable;
	int32_t firstlineno, firsttraceable;
	int64_t units; /* 3.11+: code units (Py_SIZE); -1 unknown */
	char *file, *fname, *qual;
	uint8_t *table;
	size_t len;
};

#define ND_CODECACHE 4096 /* slots, by code address */
#define CODE_SPAN 256     /* the fields used all lie before this */

struct nd_codecache {
	struct nd_codeinfo slot[ND_CODECACHE];
	uint8_t table[MAX_LINETABLE]; /* a line table read to compare */
};

static uint64_t at64(const uint8_t *span, int off)
{
	uint64_t v = 0;

	if (off >= 0 && off + 8 <= CODE_SPAN)
		memcpy(&v, span + off, 8);
	return v;
}

static int32_t at32(const uint8_t *span, int off)
{
	int32_t v = 0;

	if (off >= 0 && off + 4 <= CODE_SPAN)
		memcpy(&v, span + off, 4);
	return v;
}

/* Bytes of a code object that hold every field used: no more, so that a
 * small code object at the end of a mapping is read whole. */
static size_t code_span(const struct nd_pylayout *P)
{
	int end = P->ob_size + 8;
	int f[] = {P->co_filename, P->co_name, P->co_qualname, P->co_linetable,
		   P->co_firstlineno, P->co_firsttraceable};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i] + 8 > end)
			end = f[i] + 8;
	return end < CODE_SPAN ? (size_t)end : CODE_SPAN;
}

static void info_clear(struct nd_codeinfo *k)
{
	free(k->file);
	free(k->fname);
	free(k->qual);
	free(k->table);
	memset(k, 0, sizeof(*k));
}

/* Whether str object s still holds text want (NULL: no string wanted). */
static bool same_text(struct nd_ctx *c, uint64_t s, const char *want)
{
	char buf[MAX_TEXT];

	if (!want)
		return true;
	return nd_py_str(c, s, buf, sizeof(buf), NULL, NULL) == 0 &&
	       strcmp(buf, want) == 0;
}

static char *text_field(struct nd_ctx *c, uint64_t s, struct nd_err *e)
{
	char buf[MAX_TEXT];
	char *out;

	if (nd_py_str(c, s, buf, sizeof(buf), NULL, e))
		return NULL;
	if (!(out = strdup(buf)))
		nd_fail(e, ND_ENOMEM, "out of memory");
	return out;
}

/* Whether slot k still describes the code object whose fields are in
 * span: the same type and pointers, and the same texts and line table
 * behind them (freed strings can come back at the same addresses). */
static bool still(struct nd_ctx *c, struct nd_codecache *cc,
		  const struct nd_codeinfo *k, uint64_t code,
		  const uint8_t *span)
{
	const struct nd_pylayout *P = c->py;
	uint64_t type;
	size_t len;

	memcpy(&type, span + 8, 8);
	return k->code == code && k->type == type &&
	       k->filename == at64(span, P->co_filename) &&
	       k->name == at64(span, P->co_name) &&
	       k->qualname == at64(span, P->co_qualname) &&
	       k->linetable == at64(span, P->co_linetable) &&
	       k->firstlineno == at32(span, P->co_firstlineno) &&
	       (k->units < 0 || k->units == (int64_t)at64(span, P->ob_size)) &&
	       same_text(c, k->filename, k->file) &&
	       same_text(c, k->name, k->fname) &&
	       same_text(c, k->qualname, k->qual) &&
	       nd_py_bytes(c, k->linetable, cc->table, MAX_LINETABLE, &len,
			   NULL) == 0 &&
	       len == k->len && memcmp(cc->table, k->table, len) == 0;
}

/* The slot of code object code, named now if it was not, or no longer
 * holds what it held. */
static int code_info(struct nd_ctx *c, struct nd_codecache *cc, uint64_t code,
		     struct nd_codeinfo **out, struct nd_err *e)
{
	const struct nd_pylayout *P = c->py;
	struct nd_codeinfo *k = &cc->slot[(code >> 4) % ND_CODECACHE];
	uint8_t span[CODE_SPAN] = {0};
	int64_t refcnt;
	uint64_t type;

	int rc = nd_read(c, code, span, code_span(P), e, "code object");
	if (rc)
		return rc;
	if (still(c, cc, k, code, span)) {
		*out = k;
		return 0;
	}
	info_clear(k);
	const char *tname;
	if (nd_py_header(c, code, &refcnt, &type, e) ||
	    nd_py_type_name(c, type, &tname, e))
		return -1;
	if (strcmp(tname, "code") != 0)
		return nd_fail(e, ND_ECORRUPT, "0x%" PRIx64 " is a %s, not a "
			       "code object", code, tname);
	k->type = type;
	k->filename = at64(span, P->co_filename);
	k->name = at64(span, P->co_name);
	k->qualname = at64(span, P->co_qualname);
	k->linetable = at64(span, P->co_linetable);
	k->firstlineno = at32(span, P->co_firstlineno);
	k->firsttraceable = at32(span, P->co_firsttraceable);
	k->units = P->frame_repr == ND_FRAME_INTERP
			   ? (int64_t)at64(span, P->ob_size) : -1;
	if (!(k->file = text_field(c, k->filename, e)) ||
	    !(k->fname = text_field(c, k->name, e)) ||
	    (P->co_qualname >= 0 && !(k->qual = text_field(c, k->qualname, e))) ||
	    (rc = nd_py_bytes(c, k->linetable, cc->table, MAX_LINETABLE,
			      &k->len, e)) ||
	    !(k->table = malloc(k->len ? k->len : 1))) {
		info_clear(k);
		return rc ? rc : nd_fail(e, ND_ENOMEM, "out of memory");
	}
	memcpy(k->table, cc->table, k->len);
	k->code = code;
	*out = k;
	return 0;
}

int nd_py_frame_of(struct nd_ctx *c, struct nd_codecache *cc,
		   struct nd_arena *a, const struct nd_rawframe *r,
		   struct nd_pyframe *f, struct nd_err *e)
{
	const struct nd_pylayout *P = c->py;
	struct nd_codeinfo *k;
	int addr;

	if (is_shim(P, r->owner))
		return 1;
	int rc = code_info(c, cc, r->code, &k, e);
	if (!rc)
		rc = place_frame(P, r, k->firsttraceable, &addr, e);
	if (rc)
		return rc;
	/* an instruction past its code: the frame ran another code object
	 * that was freed since, and this one took its place */
	if (k->units >= 0 && addr / 2 > k->units)
		return nd_fail(e, ND_ECORRUPT, "code object at 0x%" PRIx64
			       " is not the one the frame ran", r->code);
	memset(f, 0, sizeof(*f));
	f->code = r->code;
	if ((rc = nd_addr2line(lines_repr(P), k->firstlineno, k->table, k->len,
			       addr, &f->line)))
		return nd_fail(e, ND_ECORRUPT, "code object at 0x%" PRIx64
			       ": bad line table", r->code);
	f->file = nd_arena_strdup(a, k->file);
	f->name = nd_arena_strdup(a, k->fname);
	f->qualname = k->qual ? nd_arena_strdup(a, k->qual) : NULL;
	if (!f->file || !f->name || (k->qual && !f->qualname))
		return nd_fail(e, ND_ENOMEM, "out of memory");
	return 0;
}

struct nd_codecache *nd_codecache_new(void)
{
	return calloc(1, sizeof(struct nd_codecache));
}

void nd_codecache_free(struct nd_codecache *cc)
{
	if (!cc)
		return;
	for (size_t i = 0; i < ND_CODECACHE; i++)
		info_clear(&cc->slot[i]);
	free(cc);
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
 * newest): *n of them, up to a loop or ND_MAX_INTERPS. The others are
 * only what could be read: their list failing (said in *others) still
 * leaves the main one. */
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
	for (size_t steps = 0; !rc && x && steps < ND_MAX_INTERPS; steps++) {
		bool seen = false;
		for (size_t k = 0; k < *n && !seen; k++)
			seen = out[k] == x;
		if (!seen && *n < ND_MAX_INTERPS)
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
	uint64_t interp[ND_MAX_INTERPS];
	size_t ninterp = 0, nthreads = 0, from[ND_MAX_INTERPS + 1];

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
