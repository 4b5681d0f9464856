/* decode/pyframes.c on synthetic interpreters of every supported version:
 * thread states, frame chains as each version links them (frame objects;
 * interpreter frames with is_entry, or shims owned by the C stack or the
 * interpreter), lines from each version's table, and hostile chains. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../decode/pyframes.h"
#include "../../decode/rawframes.h"
#include "image.h"

#define FIRST 40 /* every code object's co_firstlineno */
#define ADDR 12  /* every frame runs the instruction at this byte offset,
		  * which each table below puts on line FIRST + 2 */

struct world {
	struct image im;
	uint64_t runtime, interp, t_code;
};

/* v: a layout, as tests/unit/image.h numbers them */
static void world_init(struct world *w, int v)
{
	struct image *im = &w->im;

	memset(w, 0, sizeof(*w));
	image_init_version(im, v, 1);
	w->t_code = img_type(im, "code", 0, 0);
	w->runtime = img_alloc(im, 1024);
	w->interp = img_alloc(im, 16384);
	img_w64(im, w->runtime + (uint64_t)im->ctx.py->rt_interpreters_head,
		w->interp);
	img_w64(im, w->runtime + (uint64_t)im->ctx.py->rt_interpreters_main,
		w->interp);
}

static uint64_t bytes_obj(struct image *im, const uint8_t *b, size_t n)
{
	uint64_t o = img_object(im, im->t_bytes,
				(size_t)im->ctx.py->bytes_sval + n + 1);

	img_w64(im, o + (uint64_t)im->ctx.py->ob_size, n);
	memcpy(img_ptr(im, o + (uint64_t)im->ctx.py->bytes_sval), b, n);
	return o;
}

/* A code object whose table puts byte offset ADDR on line FIRST + 2. */
static uint64_t code_obj(struct world *w, const char *file, const char *name,
			 int firsttraceable)
{
	struct image *im = &w->im;
	const struct nd_pylayout *P = im->ctx.py;
	/* 3.9: +10 bytes, +2 lines; 3.10: (10, 0), (10, +2); 3.11+: no-column
	 * entries of 6 and 4 code units, line deltas 0 and +2 */
	static const uint8_t lnotab[] = {10, 2}, t310[] = {10, 0, 10, 2},
			     loc[] = {0x80 | 13 << 3 | 5, 0x00,
				      0x80 | 13 << 3 | 3, 0x04};
	const uint8_t *t = P->minor == 9 ? lnotab : P->minor == 10 ? t310 : loc;
	size_t tn = P->minor == 9 ? sizeof(lnotab)
		    : P->minor == 10 ? sizeof(t310) : sizeof(loc);
	uint64_t c = img_object(im, w->t_code, 512);

	img_w64(im, c + (uint64_t)P->co_filename, img_str(im, file));
	img_w64(im, c + (uint64_t)P->co_name, img_str(im, name));
	if (P->co_qualname >= 0) {
		char q[64];
		snprintf(q, sizeof(q), "Q.%s", name);
		img_w64(im, c + (uint64_t)P->co_qualname, img_str(im, q));
	}
	img_w32(im, c + (uint64_t)P->co_firstlineno, FIRST);
	img_w64(im, c + (uint64_t)P->ob_size, 64); /* code units (3.11+) */
	img_w64(im, c + (uint64_t)P->co_linetable, bytes_obj(im, t, tn));
	if (P->co_firsttraceable >= 0)
		img_w32(im, c + (uint64_t)P->co_firsttraceable,
			(uint32_t)firsttraceable);
	return c;
}

/* A frame running code at ADDR (or, for a shim, owned by owner). */
static uint64_t frame(struct world *w, uint64_t code, uint64_t back,
		      int entry, int owner)
{
	struct image *im = &w->im;
	const struct nd_pylayout *P = im->ctx.py;
	uint64_t f = img_alloc(im, 256);

	img_w64(im, f + (uint64_t)P->fr_back, back);
	/* 3.14 tags its stack references: the low bits must be cleared */
	img_w64(im, f + (uint64_t)P->fr_code, code | (P->fr_code_tag_bits & 1));
	if (P->frame_repr == ND_FRAME_OBJECT) {
		img_w32(im, f + (uint64_t)P->fr_instr,
			P->minor == 9 ? ADDR : ADDR / 2);
		return f;
	}
	img_w64(im, f + (uint64_t)P->fr_instr,
		code + (uint64_t)P->co_code_adaptive + ADDR);
	img_w8(im, f + (uint64_t)P->fr_owner, (uint8_t)owner);
	if (P->fr_is_entry >= 0)
		img_w8(im, f + (uint64_t)P->fr_is_entry, (uint8_t)entry);
	return f;
}

static uint64_t thread(struct world *w, uint64_t newest, uint64_t id,
		       uint64_t next)
{
	struct image *im = &w->im;
	const struct nd_pylayout *P = im->ctx.py;
	uint64_t ts = img_alloc(im, 512);

	img_w64(im, ts + (uint64_t)P->ts_next, next);
	img_w64(im, ts + (uint64_t)P->ts_thread_id, id);
	if (P->cframe_current_frame >= 0) {
		uint64_t cf = img_alloc(im, 64);
		img_w64(im, cf + (uint64_t)P->cframe_current_frame, newest);
		newest = cf;
	}
	img_w64(im, ts + (uint64_t)P->ts_frame, newest);
	return ts;
}

static int owner_shim(const struct nd_pylayout *P)
{
	return P->owner_interpreter >= 0 ? P->owner_interpreter : P->owner_cstack;
}

/* <module> calls outer() from C (a new loop call), which calls inner() in
 * the same loop call where the version inlines Python calls. Returns the
 * newest frame; *shim1, *shim2 the shims (3.12+). */
static uint64_t chain(struct world *w, uint64_t *shim1, uint64_t *shim2)
{
	const struct nd_pylayout *P = w->im.ctx.py;
	uint64_t mod = code_obj(w, "/app/main.py", "<module>", 0);
	uint64_t out = code_obj(w, "/app/main.py", "outer", 0);
	uint64_t in = code_obj(w, "/app/lib.py", "inner", 0);
	/* a frame still in its prologue (3.11+): not shown */
	uint64_t setup = code_obj(w, "/app/lib.py", "setup", 100);

	*shim1 = *shim2 = 0;
	if (P->frame_repr == ND_FRAME_OBJECT)
		return frame(w, in, frame(w, out, frame(w, mod, 0, 0, 0), 0, 0),
			     0, 0);
	uint64_t f = 0;
	if (owner_shim(P) >= 0)
		f = *shim2 = frame(w, 0, 0, 0, owner_shim(P));
	f = frame(w, mod, f, 1, 0);
	if (owner_shim(P) >= 0)
		f = *shim1 = frame(w, 0, f, 0, owner_shim(P));
	f = frame(w, out, f, 1, 0);
	f = frame(w, in, f, 0, 0);
	return frame(w, setup, f, 0, 0);
}

static void test_every_version(void **state)
{
	(void)state;
	for (int v = 0; v < PY_NVERSIONS; v++) {
		struct pyver pv = py_version(v);
		struct world w;
		struct nd_pystacks s;
		struct nd_err e = {0};
		uint64_t shim1, shim2;

		world_init(&w, v);
		const struct nd_pylayout *P = w.im.ctx.py;
		uint64_t idle = thread(&w, 0, 0x2222, 0);
		uint64_t busy = thread(&w, chain(&w, &shim1, &shim2), 0x1111, idle);
		img_w64(&w.im, w.interp + (uint64_t)P->interp_threads_head, busy);
		if (nd_py_stacks(&w.im.ctx, w.runtime, &s, &e))
			fail_msg("%s: %s", pv.name, e.msg);
		assert_int_equal(s.n, 2);
		assert_int_equal(s.t[0].thread_id, 0x1111);
		assert_int_equal(s.t[1].thread_id, 0x2222);
		assert_int_equal(s.t[1].n, 0);
		const struct nd_pythread *t = &s.t[0];
		if (t->err.code)
			fail_msg("%s: %s", pv.name, t->err.msg);
		assert_int_equal(t->n, 3);
		static const char *const names[] = {"inner", "outer", "<module>"};
		static const char *const files[] = {"/app/lib.py", "/app/main.py",
						    "/app/main.py"};
		/* one loop call per frame before 3.11; inner() inlined after */
		bool entry[] = {pv.minor < 11, true, true};
		uint64_t shims[] = {0, shim1, shim2};
		for (int i = 0; i < 3; i++) {
			assert_string_equal(t->f[i].name, names[i]);
			assert_string_equal(t->f[i].file, files[i]);
			assert_int_equal(t->f[i].line, FIRST + 2);
			assert_int_equal(t->f[i].eval_entry, entry[i]);
			assert_int_equal(t->f[i].shim, shims[i]);
			if (pv.minor >= 11) {
				char q[64];
				snprintf(q, sizeof(q), "Q.%s", names[i]);
				assert_string_equal(t->f[i].qualname, q);
			} else {
				assert_null(t->f[i].qualname);
			}
		}
		nd_py_stacks_free(&s);
		image_free(&w.im);
	}
}

/* Threads of every interpreter: the main one's first (whatever the
 * list's order: it begins with the newest), then each other's with its
 * id; an interpreter list that loops ends, and one that cannot be read
 * past the main interpreter still gives the main one's threads. */
static void test_interpreters(void **state)
{
	(void)state;
	for (int v = 0; v < PY_NVERSIONS; v++) {
		struct pyver pv = py_version(v);
		struct world w;
		struct nd_pystacks s;
		struct nd_err e = {0};

		world_init(&w, v);
		const struct nd_pylayout *P = w.im.ctx.py;
		uint64_t sub = img_alloc(&w.im, 16384);
		img_w64(&w.im, w.runtime + (uint64_t)P->rt_interpreters_head,
			sub);
		img_w64(&w.im, sub + (uint64_t)P->interp_next, w.interp);
		img_w64(&w.im, sub + (uint64_t)P->interp_id, 7);
		uint64_t in = code_obj(&w, "<script>", "waiting_in_sub", 0);
		img_w64(&w.im, sub + (uint64_t)P->interp_threads_head,
			thread(&w, frame(&w, in, 0, 1, 0), 0x1111, 0));
		img_w64(&w.im, w.interp + (uint64_t)P->interp_threads_head,
			thread(&w, 0, 0x2222, 0));
		if (nd_py_stacks(&w.im.ctx, w.runtime, &s, &e))
			fail_msg("%s: %s", pv.name, e.msg);
		assert_int_equal(s.n, 2);
		assert_true(s.t[0].main_interp);
		assert_int_equal(s.t[0].interp_id, 0);
		assert_int_equal(s.t[0].thread_id, 0x2222);
		assert_false(s.t[1].main_interp);
		assert_int_equal(s.t[1].interp_id, 7);
		assert_int_equal(s.t[1].thread_id, 0x1111);
		assert_int_equal(s.t[1].n, 1);
		assert_string_equal(s.t[1].f[0].name, "waiting_in_sub");
		assert_int_equal(s.err.code, 0);
		nd_py_stacks_free(&s);

		/* the list loops back on itself: each interpreter once */
		img_w64(&w.im, w.interp + (uint64_t)P->interp_next, sub);
		assert_int_equal(nd_py_stacks(&w.im.ctx, w.runtime, &s, &e), 0);
		assert_int_equal(s.n, 2);
		nd_py_stacks_free(&s);

		/* the list leads to unmapped memory: the main one's thread */
		img_w64(&w.im, w.runtime + (uint64_t)P->rt_interpreters_head,
			0xdead0000);
		assert_int_equal(nd_py_stacks(&w.im.ctx, w.runtime, &s, &e), 0);
		assert_int_equal(s.n, 1);
		assert_true(s.t[0].main_interp);
		assert_int_equal(s.err.code, ND_EREAD);
		nd_py_stacks_free(&s);
		image_free(&w.im);
	}
}

/* Raw frames as the watch probe copies them: named and placed as in a
 * walk; shims and frames in their prologue skipped; a cached code object
 * whose memory now holds another is named anew, and garbage is refused,
 * never named from the cache. */
static void test_raw_frames(void **state)
{
	(void)state;
	for (int v = 0; v < PY_NVERSIONS; v++) {
		struct pyver pv = py_version(v);
		struct world w;
		struct nd_arena a = {0};
		struct nd_pyframe f;
		struct nd_err e = {0};

		world_init(&w, v);
		const struct nd_pylayout *P = w.im.ctx.py;
		struct nd_codecache *cc = nd_codecache_new();
		assert_non_null(cc);
		uint64_t code = code_obj(&w, "/app/lib.py", "inner", 0);
		struct nd_rawframe r = {code, 0, 0};
		if (P->frame_repr == ND_FRAME_OBJECT)
			r.instr = pv.minor == 9 ? ADDR : ADDR / 2;
		else
			r.instr = code + (uint64_t)P->co_code_adaptive + ADDR;
		for (int twice = 0; twice < 2; twice++) {
			if (nd_py_frame_of(&w.im.ctx, cc, &a, &r, &f, &e))
				fail_msg("%s: %s", pv.name, e.msg);
			assert_string_equal(f.file, "/app/lib.py");
			assert_string_equal(f.name, "inner");
			assert_int_equal(f.line, FIRST + 2);
		}
		/* freed, and the memory reused by another function */
		const char *other = "/app/other.py";
		img_w64(&w.im, code + (uint64_t)P->co_filename,
			img_str(&w.im, other));
		assert_int_equal(nd_py_frame_of(&w.im.ctx, cc, &a, &r, &f, &e), 0);
		assert_string_equal(f.file, other);
		/* ... or by a shorter function: the frame ran past its end */
		if (P->frame_repr == ND_FRAME_INTERP) {
			img_w64(&w.im, code + (uint64_t)P->ob_size, 2);
			assert_true(nd_py_frame_of(&w.im.ctx, cc, &a, &r, &f,
						   &e) < 0);
			img_w64(&w.im, code + (uint64_t)P->ob_size, 64);
		}
		/* ... or by something that is no code object */
		img_w64(&w.im, code + (uint64_t)P->ob_type, w.im.t_int);
		assert_true(nd_py_frame_of(&w.im.ctx, cc, &a, &r, &f, &e) < 0);
		if (P->frame_repr == ND_FRAME_INTERP) {
			uint64_t setup = code_obj(&w, "/app/lib.py", "setup", 100);
			struct nd_rawframe pro = {
				setup,
				setup + (uint64_t)P->co_code_adaptive + ADDR, 0};
			assert_int_equal(nd_py_frame_of(&w.im.ctx, cc, &a, &pro,
							&f, &e), 1);
		}
		if (owner_shim(P) >= 0) {
			struct nd_rawframe shim = {0, 0, (uint8_t)owner_shim(P)};
			assert_int_equal(nd_py_frame_of(&w.im.ctx, cc, &a, &shim,
							&f, &e), 1);
		}
		nd_codecache_free(cc);
		nd_arena_free(&a);
		image_free(&w.im);
	}
}

static void test_hostile_chains(void **state)
{
	(void)state;
	for (int v = 0; v < PY_NVERSIONS; v++) {
		struct pyver pv = py_version(v);
		struct world w;
		struct nd_pystacks s;
		struct nd_err e = {0};

		world_init(&w, v);
		const struct nd_pylayout *P = w.im.ctx.py;
		uint64_t code = code_obj(&w, "/x.py", "f", 0);
		/* a frame chain that loops, one into unmapped memory, and a
		 * code object whose line table is a str */
		uint64_t a = frame(&w, code, 0, 0, 0);
		uint64_t b = frame(&w, code, a, 0, 0);
		img_w64(&w.im, a + (uint64_t)P->fr_back, b);
		uint64_t lost = frame(&w, code, 0x7000deadb000ULL, 0, 0);
		uint64_t odd = code_obj(&w, "/y.py", "g", 0);
		img_w64(&w.im, odd + (uint64_t)P->co_linetable,
			img_str(&w.im, "not bytes"));
		uint64_t t3 = thread(&w, frame(&w, odd, 0, 0, 0), 3, 0);
		uint64_t t2 = thread(&w, lost, 2, t3);
		uint64_t t1 = thread(&w, b, 1, t2);
		img_w64(&w.im, w.interp + (uint64_t)P->interp_threads_head, t1);
		if (nd_py_stacks(&w.im.ctx, w.runtime, &s, &e))
			fail_msg("%s: %s", pv.name, e.msg);
		assert_int_equal(s.n, 3);
		/* the loop is seen within a few laps, not after 4096 frames */
		assert_int_equal(s.t[0].err.code, ND_ECORRUPT);
		assert_true(s.t[0].n <= 8);
		assert_int_equal(s.t[1].n, 1);
		assert_int_equal(s.t[1].err.code, ND_EREAD);
		assert_int_equal(s.t[2].n, 0);
		assert_true(s.t[2].err.code != 0);
		nd_py_stacks_free(&s);

		/* a thread list that loops: its threads once, and why */
		img_w64(&w.im, t3 + (uint64_t)P->ts_next, t1);
		assert_int_equal(nd_py_stacks(&w.im.ctx, w.runtime, &s, &e), 0);
		assert_int_equal(s.n, 3);
		assert_int_equal(s.err.code, ND_ECORRUPT);
		nd_py_stacks_free(&s);
		/* no _PyRuntime: a clear error */
		nd_err_clear(&e);
		assert_int_equal(nd_py_stacks(&w.im.ctx, 0, &s, &e), -1);
		assert_int_equal(e.code, ND_EUNSUPPORTED);
		nd_py_stacks_free(&s);
		image_free(&w.im);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_version),
		cmocka_unit_test(test_hostile_chains),
		cmocka_unit_test(test_raw_frames),
		cmocka_unit_test(test_interpreters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
