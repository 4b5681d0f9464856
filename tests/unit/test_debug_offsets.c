/* The target's _Py_DebugOffsets over ndspy's table: what it publishes is
 * read from it, and a build that moved a field of a struct whose other
 * fields it does not publish is refused, naming them. Synthetic
 * _PyRuntime images of 3.13-3.15 and 3.13t. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../decode/debug_offsets.h"
#include "image.h"

static int *field(struct nd_pylayout *L, int off)
{
	return (int *)((char *)L + off);
}

/* A _PyRuntime at *runtime publishing the table's own offsets. */
static void publish(struct image *im, uint64_t *runtime)
{
	const struct nd_pylayout *L = im->ctx.py;
	struct nd_pylayout *T = (struct nd_pylayout *)L;
	size_t n;
	const struct nd_debug_field *f = nd_debug_fields(&n);

	*runtime = img_alloc(im, 4096);
	memcpy(img_ptr(im, *runtime), "xdebugpy", 8);
	img_w64(im, *runtime + (uint64_t)L->dbg_version,
		((uint64_t)L->major << 24) | ((uint64_t)L->minor << 16) |
			0x02f0);
	img_w64(im, *runtime + (uint64_t)L->dbg_free_threaded,
		(uint64_t)L->free_threaded);
	img_w64(im, *runtime + (uint64_t)L->dbg_ob_type, (uint64_t)L->ob_type);
	img_w64(im, *runtime + (uint64_t)L->dbg_str_ascii_size,
		(uint64_t)L->str_ascii_data);
	for (size_t i = 0; i < n; i++) {
		int pos = *field(T, f[i].dbg);
		if (pos)
			img_w64(im, *runtime + (uint64_t)pos,
				(uint64_t)*field(T, f[i].ours));
	}
}

static int apply(struct image *im, uint64_t runtime, struct nd_pylayout *out,
		 struct nd_err *e)
{
	*e = (struct nd_err){0};
	return nd_debug_offsets(&im->ctx, runtime, im->ctx.py, out, e);
}

static void test_as_published(void **state)
{
	(void)state;
	for (int v = 0; v < PY_NVERSIONS; v++) {
		struct image im;
		struct nd_pylayout out;
		struct nd_err e;
		uint64_t R;
		struct pyver pv = py_version(v);
		if (pv.minor < 13)
			continue;
		image_init_version(&im, v, 2);
		publish(&im, &R);
		if (apply(&im, R, &out, &e))
			fail_msg("%s: %s", pv.name, e.msg);
		assert_memory_equal(&out, im.ctx.py, sizeof(out));
		/* the table was chosen by the build's symbols: a target whose
		 * offsets say the other kind (free-threaded or not), or the
		 * other header size, is refused */
		const struct nd_pylayout *L = im.ctx.py;
		assert_int_equal(L->free_threaded, pv.ft);
		uint64_t flag = R + (uint64_t)L->dbg_free_threaded;
		img_w64(&im, flag, !pv.ft);
		assert_int_equal(apply(&im, R, &out, &e), -1);
		assert_non_null(strstr(e.msg, pv.ft ? "says it is not free-"
						 : "says it is free-"));
		img_w64(&im, flag, pv.ft);
		img_w64(&im, R + (uint64_t)L->dbg_ob_type, pv.ft ? 8 : 24);
		assert_int_equal(apply(&im, R, &out, &e), -1);
		assert_non_null(strstr(e.msg, "PyObject.ob_type at"));
		img_w64(&im, R + (uint64_t)L->dbg_ob_type, (uint64_t)L->ob_type);
		assert_int_equal(apply(&im, R, &out, &e), 0);
		/* no cookie: nothing published, the table stands */
		memcpy(img_ptr(&im, R), "notdebug", 8);
		assert_int_equal(apply(&im, R, &out, &e), 1);
		image_free(&im);
	}
	struct image old;
	struct nd_pylayout out;
	struct nd_err e;
	image_init(&old, 12, 2);
	assert_int_equal(apply(&old, img_alloc(&old, 64), &out, &e), 1);
	image_free(&old);
}

/* A patch release of 3.14 that moved PyThreadState.next: read where the
 * target says, and every struct it fully publishes follows it. */
static void test_moved_published(void **state)
{
	struct image im;
	struct nd_pylayout out;
	struct nd_err e;
	uint64_t R;

	(void)state;
	image_init(&im, 14, 2);
	const struct nd_pylayout *L = im.ctx.py;
	publish(&im, &R);
	img_w64(&im, R + (uint64_t)L->dbg_ts_next, (uint64_t)L->ts_next + 8);
	img_w64(&im, R + (uint64_t)L->dbg_list_items,
		(uint64_t)L->list_items + 16);
	assert_int_equal(apply(&im, R, &out, &e), 0);
	assert_int_equal(out.ts_next, L->ts_next + 8);
	assert_int_equal(out.list_items, L->list_items + 16);
	assert_int_equal(out.ts_frame, L->ts_frame);
	image_free(&im);
}

/* Moving a field of a struct whose other fields ndspy needs from the
 * table (the type's tp_base, the code's _co_firsttraceable) is refused,
 * naming both; so are absurd offsets, another version, free threading. */
static void test_refused(void **state)
{
	(void)state;
	for (int v = 0; v < PY_NVERSIONS; v++) {
		struct image im;
		struct nd_pylayout out;
		struct nd_err e;
		uint64_t R;
		if (py_version(v).minor < 13)
			continue;
		image_init_version(&im, v, 2);
		const struct nd_pylayout *L = im.ctx.py;
		publish(&im, &R);
		uint64_t at = R + (uint64_t)L->dbg_tp_flags;
		img_w64(&im, at, (uint64_t)L->tp_flags + 8);
		assert_int_equal(apply(&im, R, &out, &e), -1);
		assert_non_null(strstr(e.msg, "PyTypeObject.tp_flags"));
		assert_non_null(strstr(e.msg, "cannot be verified"));
		img_w64(&im, at, (uint64_t)L->tp_flags);

		at = R + (uint64_t)L->dbg_co_name;
		img_w64(&im, at, (uint64_t)L->co_name + 8);
		assert_int_equal(apply(&im, R, &out, &e), -1);
		assert_non_null(strstr(e.msg, "co_firsttraceable"));
		img_w64(&im, at, (uint64_t)L->co_name);

		at = R + (uint64_t)L->dbg_ts_next;
		img_w64(&im, at, 1ull << 40);
		assert_int_equal(apply(&im, R, &out, &e), -1);
		assert_non_null(strstr(e.msg, "ts_next"));
		img_w64(&im, at, (uint64_t)L->ts_next);

		at = R + (uint64_t)L->dbg_version;
		img_w64(&im, at, 0x030C01F0);
		assert_int_equal(apply(&im, R, &out, &e), -1);
		assert_non_null(strstr(e.msg, "declares"));
		img_w64(&im, at, ((uint64_t)L->major << 24) |
					 ((uint64_t)L->minor << 16));

		at = R + (uint64_t)L->dbg_ob_type;
		img_w64(&im, at, 40); /* an object header of another size */
		assert_int_equal(apply(&im, R, &out, &e), -1);
		assert_non_null(strstr(e.msg, "PyObject.ob_type at 40"));
		img_w64(&im, at, (uint64_t)L->ob_type);
		assert_int_equal(apply(&im, R, &out, &e), 0);
		image_free(&im);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_as_published),
		cmocka_unit_test(test_moved_published),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
