/* The table's type-object offsets against a target's own static types
 * (float, tuple, int, bool, object), in every version's layout (3.13t's
 * too): each field moved is refused by name; what cannot be read, or a
 * type not ready yet (a core giving the file's data), is not judged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../decode/layout_check.h"
#include "../../decode/pyobj.h"
#include "image.h"

/* The static types of a made-up interpreter, ready. */
static void statics(struct image *im, struct nd_static_types *st)
{
	const struct nd_pylayout *P = im->ctx.py;
	uint64_t object;

	image_read(im, im->t_tuple + (uint64_t)P->tp_base, &object, 8);
	img_w64(im, im->t_float + (uint64_t)P->tp_basicsize,
		(uint64_t)P->float_fval + 8);
	img_w64(im, im->t_float + (uint64_t)P->tp_flags, ND_TPFLAGS_READY);
	img_w64(im, im->t_tuple + (uint64_t)P->tp_itemsize, 8);
	img_w64(im, im->t_tuple + (uint64_t)P->tp_flags,
		ND_TPFLAGS_TUPLE | ND_TPFLAGS_READY);
	uint64_t b = img_type(im, "bool", im->t_int,
			      ND_TPFLAGS_LONG | ND_TPFLAGS_READY);
	uint64_t mro[] = {b, im->t_int, object};
	img_w64(im, b + (uint64_t)P->tp_mro, img_tuple(im, 3, mro));
	*st = (struct nd_static_types){im->t_float, im->t_tuple, im->t_int, b,
				       object};
}

static void test_checks(void **state)
{
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
		{"tp_name", offsetof(struct nd_pylayout, tp_name)},
		{"tp_basicsize", offsetof(struct nd_pylayout, tp_basicsize)},
		{"tp_itemsize", offsetof(struct nd_pylayout, tp_itemsize)},
		{"tp_flags", offsetof(struct nd_pylayout, tp_flags)},
		{"tp_base", offsetof(struct nd_pylayout, tp_base)},
		{"tp_mro", offsetof(struct nd_pylayout, tp_mro)},
	};

	(void)state;
	for (int v = 0; v < PY_NVERSIONS; v++) {
		struct image im;
		struct nd_static_types st, none = {0};
		struct nd_err e = {0};
		struct pyver pv = py_version(v);
		image_init_version(&im, v, 2);
		const struct nd_pylayout *P = im.ctx.py;
		statics(&im, &st);
		if (nd_layout_check(&im.ctx, &st, &e))
			fail_msg("%s: %s", pv.name, e.msg);
		assert_int_equal(nd_layout_check(&im.ctx, &none, &e), 0);
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
			struct nd_pylayout moved = *P;
			*(int *)((char *)&moved + fields[i].off) += 8;
			im.ctx.py = &moved;
			e = (struct nd_err){0};
			assert_int_equal(nd_layout_check(&im.ctx, &st, &e), -1);
			if (!strstr(e.msg, fields[i].name))
				fail_msg("%s %s: %s", pv.name, fields[i].name,
					 e.msg);
			im.ctx.py = P;
		}
		/* bool as its file holds it: not ready, no MRO yet */
		img_w64(&im, st.bool_type + (uint64_t)P->tp_flags,
			ND_TPFLAGS_LONG);
		img_w64(&im, st.bool_type + (uint64_t)P->tp_mro, 0);
		img_w64(&im, st.bool_type + (uint64_t)P->tp_base, 0);
		assert_int_equal(nd_layout_check(&im.ctx, &st, &e), 0);
		/* types that cannot be read are not judged */
		st.float_type = st.tuple_type = 0xdead0000;
		assert_int_equal(nd_layout_check(&im.ctx, &st, &e), 0);
		image_free(&im);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
