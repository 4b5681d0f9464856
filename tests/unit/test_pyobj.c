/* CPython objects as the decoder reads them, in every layout, 3.13t's
 * free-threaded header too: their headers and reference counts, and the
 * str, int, tuple and dict a frame's locals and a path are made of. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../decode/pydict.h"
#include "../../decode/pyobj.h"
#include "image.h"

static int count(void *arg, uint64_t key, uint64_t value)
{
	(void)key;
	(void)value;
	++*(int *)arg;
	return 0;
}

static void test_every_layout(void **state)
{
	(void)state;
	for (int v = 0; v < PY_NVERSIONS; v++) {
		struct pyver pv = py_version(v);
		struct image im;
		struct nd_err e = {0};
		char s[64];
		size_t len;
		int64_t n, refcnt;
		uint64_t type, items[4];
		size_t nitems;

		image_init_version(&im, v, 2);
		uint64_t str = img_str(&im, "frame_local");
		uint64_t big = img_int(&im, -1234567890123LL);
		if (nd_py_str(&im.ctx, str, s, sizeof(s), &len, &e))
			fail_msg("%s: %s", pv.name, e.msg);
		assert_string_equal(s, "frame_local");
		if (nd_py_long(&im.ctx, big, &n, &e))
			fail_msg("%s: %s", pv.name, e.msg);
		assert_int_equal(n, -1234567890123LL);
		uint64_t pair[] = {str, big};
		uint64_t tup = img_tuple(&im, 2, pair);
		assert_int_equal(nd_py_tuple(&im.ctx, tup, items, 4, &nitems,
					     &e), 0);
		assert_int_equal(nitems, 2);
		assert_int_equal(items[1], big);
		uint64_t d = img_dict(&im, 1, &str, &tup);
		int seen = 0;
		assert_int_equal(nd_py_dict_foreach(&im.ctx, d, count, &seen,
						    &e), 0);
		assert_int_equal(seen, 1);
		assert_int_equal(nd_py_header(&im.ctx, str, &refcnt, &type, &e),
				 0);
		assert_int_equal(refcnt, 1);
		assert_int_equal(type, im.t_str);
		/* a str is no int: its type, not its bytes, says so */
		assert_int_equal(nd_py_long(&im.ctx, str, &n, &e), -1);
		image_free(&im);
	}
}

/* Free-threaded counts: the owner's plus everyone else's (in the shared
 * word's upper bits), immortal when the owner's is all ones; an object
 * another thread gave up references to is whole until its owner merges
 * them; one merged to 0 was freed, whatever its type word still says. */
static void test_free_threaded_counts(void **state)
{
	(void)state;
	for (int v = 0; v < PY_NVERSIONS; v++) {
		struct pyver pv = py_version(v);
		struct image im;
		struct nd_err e = {0};
		int64_t refcnt;
		uint64_t type;

		if (!pv.ft)
			continue;
		image_init_version(&im, v, 2);
		const struct nd_pylayout *P = im.ctx.py;
		uint64_t o = img_int(&im, 7);
		uint64_t local = o + (uint64_t)P->ob_ref_local;
		uint64_t shared = o + (uint64_t)P->ob_ref_shared;
		static const struct {
			uint32_t local;
			int64_t shared;
			int64_t want; /* 0: refused */
		} cases[] = {
			{1, 0, 1},
			{0, 5 << 2, 5},          /* only other threads hold it */
			{2, (3 << 2) | 1, 5},    /* flags in the low bits */
			{UINT32_MAX, 0, UINT32_MAX}, /* immortal */
			{1, -(2 << 2) | 2, 1},   /* queued: 1 - 2, not merged */
			{0, 3, 0},               /* merged to 0: freed */
			{0, 0, 0},
			{0, -(1 << 2), 0},
		};
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			img_w32(&im, local, cases[i].local);
			img_w64(&im, shared, (uint64_t)cases[i].shared);
			int rc = nd_py_header(&im.ctx, o, &refcnt, &type, &e);
			if (cases[i].want) {
				if (rc)
					fail_msg("case %zu: %s", i, e.msg);
				assert_int_equal(refcnt, cases[i].want);
				assert_int_equal(type, im.t_int);
			} else {
				assert_int_equal(rc, -1);
				assert_int_equal(e.code, ND_ECORRUPT);
			}
		}
		image_free(&im);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_layout),
		cmocka_unit_test(test_free_threaded_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
