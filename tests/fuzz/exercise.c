/* What fuzz_decode does with an image, shared with record.c so that a
 * seed holds exactly the bytes this reads. */
#include "exercise.h"

#include <stdlib.h>

#include "../../decode/buf.h"
#include "../../decode/format.h"
#include "../../decode/ndarray.h"
#include "../../decode/obmalloc.h"
#include "../../decode/npy.h"
#include "../../decode/preview.h"
#include "../../decode/pyframes.h"
#include "../../decode/rawframes.h"
#include "../../decode/pypath.h"
#include "../../decode/refs.h"
#include "../../decode/pywalk.h"

/* .npy output goes nowhere. */
static int discard(void *ctx, const void *buf, size_t len)
{
	(void)ctx, (void)buf, (void)len;
	return 0;
}

/* show: decode, values for JSON, the repr for text, and --save. */
static void show_array(struct nd_ctx *c, uint64_t addr, int nvalues)
{
	struct nd_array a;
	struct nd_err e = {0};
	struct nd_region mem = {.kind = "anon", .perms = "rw-p"};
	struct nd_buf out = {0};

	if (nd_array_decode(c, addr, &a, &e) == 0) {
		struct nd_preview p;
		nd_array_unchanged(c, &a); /* --no-pause's second look */
		nd_preview_capture(c, &a, nvalues, 0, &p);
		nd_format_json(&a, &mem, &p, &out, &e);
		nd_preview_free(&p);
		nd_preview_capture(c, &a, -1, ND_REPR_THRESHOLD, &p);
		nd_format_text(&a, &mem, &p, &out, &e);
		nd_preview_free(&p);
		/* a broadcast view may rightly ask for terabytes of .npy:
		 * only what a small image can hold is written */
		if (a.nbytes >= 0 && a.nbytes <= (1 << 20)) {
			struct nd_sink sink = {.write = discard};
			nd_err_clear(&e);
			nd_npy_write(c, &a, &sink, &e);
		}
	}
	nd_array_free(&a);
	nd_buf_free(&out);
}

/* watch's naming of raw frames, on the frames a walk found (each twice:
 * named, then from the code cache). */
static void name_raw_frames(struct nd_ctx *c, const struct nd_pystacks *s)
{
	struct nd_codecache *cc = nd_codecache_new();
	struct nd_arena names = {0};

	for (size_t i = 0; cc && i < s->n; i++)
		for (size_t j = 0; j < s->t[i].n; j++) {
			const struct nd_pyframe *f = &s->t[i].f[j];
			struct nd_rawframe r = {f->code, 0, 0};
			struct nd_pyframe out;
			struct nd_err e = {0};
			c->rd.read(c->rd.ctx, f->frame + (uint64_t)c->py->fr_instr,
				   &r.instr, sizeof(r.instr));
			for (int k = 0; k < 2; k++)
				nd_py_frame_of(c, cc, &names, &r, &out, &e);
		}
	nd_arena_free(&names);
	nd_codecache_free(cc);
}

/* list's scan: pymalloc's arena tables (3.12+) and the headers of their
 * pools. */
static void walk_arenas(struct nd_ctx *c, uint64_t runtime)
{
	struct nd_arena_table_at at[4];
	size_t nat = 0;
	struct nd_err e = {0};

	nd_pymalloc_tables(c, runtime, at, 4, &nat, &e);
	for (size_t i = 0; i < nat; i++) {
		struct nd_pyarena *a;
		size_t n;
		if (nd_arena_table(c, &at[i], &a, &n, &e))
			continue;
		for (size_t j = 0; j < n && j < 64; j++) {
			unsigned char hdr[64];
			struct nd_pool p;
			if (c->rd.read(c->rd.ctx, a[j].first, hdr,
				       (size_t)c->py->om_pool_header) == 0)
				nd_pool_parse(c->py, a[j].first, hdr, &p);
		}
		free(a);
	}
}

/* stacks and list: every thread's frames, ndarray's subclasses; watch's
 * naming of frames. */
static void walk_interpreter(struct nd_ctx *c, uint64_t runtime)
{
	struct nd_pystacks s;
	struct nd_err e = {0};
	uint64_t types[64];
	size_t ntypes;

	if (nd_py_stacks(c, runtime, &s, &e) == 0)
		name_raw_frames(c, &s);
	nd_py_stacks_free(&s);
	nd_err_clear(&e);
	nd_py_subtypes(c, c->array_type, types, 64, &ntypes, &e);
	walk_arenas(c, runtime);
}

/* why and paths: the references of obj, each written as a step. */
struct refs_seen {
	struct nd_ctx *c;
	uint64_t from;
	int n;
};

static int write_step(void *arg, uint64_t target, struct nd_step s)
{
	struct refs_seen *r = arg;
	struct nd_buf b = {0};

	nd_path_step(r->c, s, r->from, target, &b);
	nd_buf_free(&b);
	return ++r->n == 256;
}

static void walk_refs(struct nd_ctx *c, uint64_t obj)
{
	struct nd_refs *w = nd_refs_new(c);
	struct refs_seen r = {c, obj, 0};

	if (w)
		nd_refs_of(w, obj, write_step, &r);
	nd_refs_free(w);
}

void fuzz_exercise(struct nd_ctx *c, const struct fuzz_header *h)
{
	struct nd_err e = {0};
	uint64_t obj;

	switch (h->mode % FUZZ_MODES) {
	case FUZZ_ARRAY:
		show_array(c, h->root, h->nvalues);
		break;
	case FUZZ_STACKS:
		walk_interpreter(c, h->root);
		break;
	default:
		if (nd_py_resolve(c, h->root, h->name, &obj, &e) == 0) {
			show_array(c, obj, h->nvalues);
			walk_refs(c, obj);
		}
	}
}
