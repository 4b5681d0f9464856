/* What ndspy prints: repr() text, numbers, dates and .npy headers, checked
 * against what NumPy 1.24 prints for the same arrays. */
#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../decode/npy.h"
#include "../../decode/numfmt.h"
#include "../../decode/preview.h"
#include "../../decode/repr.h"
#include "image.h"

#define F_CARRAY (ND_F_C_CONTIGUOUS | ND_F_F_CONTIGUOUS | ND_F_OWNDATA | \
		  ND_F_ALIGNED | ND_F_WRITEABLE)

struct fixture {
	struct image im;
	struct nd_array a;
};

/* A C-contiguous array of `n` items laid out as given. */
static void make(struct fixture *f, char kind, char type, int type_num,
		 int64_t elsize, const void *data, int nd, const int64_t *dims)
{
	int64_t strides[ND_MAXDIMS];
	int64_t count = 1;
	struct nd_err e = {0};

	for (int i = nd - 1; i >= 0; i--) {
		strides[i] = i == nd - 1 ? elsize : strides[i + 1] * dims[i + 1];
		count *= dims[i];
	}
	image_init(&f->im, 11, 1);
	uint64_t d = img_descr(&f->im, kind, type, kind == 'b' || elsize == 1 ? '|' : '=',
			       type_num, elsize, elsize > 8 ? 8 : elsize);
	uint64_t buf = img_data(&f->im, data, (size_t)(count * elsize));
	uint64_t addr = img_array(&f->im, buf, nd, dims, strides, d, F_CARRAY, 0);
	if (nd_array_decode(&f->im.ctx, addr, &f->a, &e))
		fail_msg("decode: %s", e.msg);
}

static void done(struct fixture *f)
{
	nd_array_free(&f->a);
	image_free(&f->im);
}

static void expect_repr(struct fixture *f, const char *want)
{
	struct nd_buf b = {0};
	struct nd_err e = {0};

	struct nd_preview p;
	nd_preview_capture(&f->im.ctx, &f->a, -1, ND_REPR_THRESHOLD, &p);
	assert_int_equal(nd_repr(&p, &f->a, &b, &e), 0);
	nd_preview_free(&p);
	assert_string_equal(b.p, want);
	nd_buf_free(&b);
	done(f);
}

static void test_repr_floats(void **state)
{
	struct fixture f;
	int64_t n3[] = {3}, n2[] = {2};
	(void)state;

	make(&f, 'f', 'd', 12, 8, (double[]){0.0, 1.1, 2.2}, 1, n3);
	expect_repr(&f, "array([0. , 1.1, 2.2])");
	make(&f, 'f', 'd', 12, 8, (double[]){1, 1.0 / 3}, 1, n2);
	expect_repr(&f, "array([1.        , 0.33333333])");
	make(&f, 'f', 'd', 12, 8, (double[]){1e-5, 1.0}, 1, n2);
	expect_repr(&f, "array([1.e-05, 1.e+00])");
	make(&f, 'f', 'd', 12, 8, (double[]){NAN, INFINITY, -1.5}, 1, n3);
	expect_repr(&f, "array([ nan,  inf, -1.5])");
	make(&f, 'f', 'd', 12, 8, (double[]){5e-324, 1.0}, 1, n2);
	expect_repr(&f, "array([5.e-324, 1.e+000])");
	make(&f, 'f', 'f', 11, 4, (float[]){0.1f, 1.0f / 3}, 1, n2);
	expect_repr(&f, "array([0.1       , 0.33333334], dtype=float32)");
	make(&f, 'c', 'D', 15, 16, (double[]){1, 2, 3, -4.5}, 1, n2);
	expect_repr(&f, "array([1.+2.j , 3.-4.5j])");
	make(&f, 'f', 'd', 12, 8, (double[]){5.0}, 0, NULL);
	expect_repr(&f, "array(5.)");
}

static void test_repr_ints_and_layout(void **state)
{
	struct fixture f;
	int64_t v[2000];
	(void)state;

	for (int i = 0; i < 2000; i++)
		v[i] = i;
	make(&f, 'i', 'l', 7, 8, v, 1, (int64_t[]){2000});
	expect_repr(&f, "array([   0,    1,    2, ..., 1997, 1998, 1999])");
	make(&f, 'i', 'l', 7, 8, v, 2, (int64_t[]){3, 4});
	expect_repr(&f, "array([[ 0,  1,  2,  3],\n"
			"       [ 4,  5,  6,  7],\n"
			"       [ 8,  9, 10, 11]])");
	for (int i = 0; i < 30; i++)
		v[i] = i * 1000;
	make(&f, 'i', 'l', 7, 8, v, 1, (int64_t[]){30});
	expect_repr(&f,
		    "array([    0,  1000,  2000,  3000,  4000,  5000,  6000,  7000,  8000,\n"
		    "        9000, 10000, 11000, 12000, 13000, 14000, 15000, 16000, 17000,\n"
		    "       18000, 19000, 20000, 21000, 22000, 23000, 24000, 25000, 26000,\n"
		    "       27000, 28000, 29000])");
	make(&f, 'i', 'b', 1, 1, (int8_t[]){1, 2}, 1, (int64_t[]){2});
	expect_repr(&f, "array([1, 2], dtype=int8)");
	make(&f, 'b', '?', 0, 1, (uint8_t[]){1, 0}, 1, (int64_t[]){2});
	expect_repr(&f, "array([ True, False])");
	make(&f, 'i', 'h', 3, 2, (int16_t[]){0}, 2, (int64_t[]){0, 3});
	expect_repr(&f, "array([], shape=(0, 3), dtype=int16)");
}

static void test_datetime_text(void **state)
{
	char s[80];
	(void)state;

	nd_fmt_datetime(18262, 4, 1, s, sizeof(s));
	assert_string_equal(s, "2020-01-01");
	nd_fmt_datetime(-165, 4, 1, s, sizeof(s));
	assert_string_equal(s, "1969-07-20");
	nd_fmt_datetime(1623760496789012345LL, 10, 1, s, sizeof(s));
	assert_string_equal(s, "2021-06-15T12:34:56.789012345");
	nd_fmt_datetime(12345, 8, 10, s, sizeof(s));
	assert_string_equal(s, "1970-01-01T00:02:03.450");
	nd_fmt_datetime(373, 1, 1, s, sizeof(s));
	assert_string_equal(s, "2001-02");
	nd_fmt_datetime(-1, 1, 1, s, sizeof(s));
	assert_string_equal(s, "1969-12");
	nd_fmt_datetime(-1, 7, 1, s, sizeof(s));
	assert_string_equal(s, "1969-12-31T23:59:59");
	nd_fmt_datetime(ND_NAT, 4, 1, s, sizeof(s));
	assert_string_equal(s, "NaT");
}

static void test_shortest_floats(void **state)
{
	char s[64];
	(void)state;

	nd_fmt_shortest(0.1f, ND_F32, s, sizeof(s));
	assert_string_equal(s, "0.1");
	nd_fmt_shortest(nd_half_to_double(0x2e66), ND_F16, s, sizeof(s));
	assert_string_equal(s, "0.1");
	nd_fmt_shortest(0.1, ND_F64, s, sizeof(s));
	assert_string_equal(s, "0.1");
	nd_fmt_shortest(1.0 / 3, ND_F64, s, sizeof(s));
	assert_string_equal(s, "0.3333333333333333");
	nd_fmt_shortest(-INFINITY, ND_F64, s, sizeof(s));
	assert_string_equal(s, "-inf");
	assert_true(nd_half_to_double(0x7c00) == INFINITY);
	assert_true(nd_half_to_double(0x0001) == ldexp(1, -24));
}

struct capture {
	struct nd_buf b;
};

static int cap_write(void *ctx, const void *buf, size_t len)
{
	nd_buf_add(&((struct capture *)ctx)->b, buf, len);
	return 0;
}

static void npy_of(struct fixture *f, struct nd_buf *out)
{
	struct capture c = {{0}};
	struct nd_sink sink = {.write = cap_write, .ctx = &c};
	struct nd_err e = {0};

	if (nd_npy_write(&f->im.ctx, &f->a, &sink, &e))
		fail_msg("npy: %s", e.msg);
	*out = c.b;
}

static void test_npy_headers(void **state)
{
	struct fixture f;
	struct nd_buf b;
	static const char want_f8[] =
		"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, "
		"'shape': (3,), }                                                    "
		"        \n";
	(void)state;

	make(&f, 'f', 'd', 12, 8, (double[]){1, 2, 3}, 1, (int64_t[]){3});
	npy_of(&f, &b);
	assert_int_equal(b.len, 128 + 24);
	assert_memory_equal(b.p, want_f8, 128);
	assert_memory_equal(b.p + 128, ((double[]){1, 2, 3}), 24);
	nd_buf_free(&b);
	done(&f);

	make(&f, 'f', 'd', 12, 8, (double[]){1.0}, 0, NULL);
	npy_of(&f, &b);
	assert_memory_equal(b.p, "\x93NUMPY\x01\x00v\x00{'descr': '<f8', "
			    "'fortran_order': False, 'shape': (), }", 62);
	nd_buf_free(&b);
	done(&f);
}

static void test_npy_gathers_c_order(void **state)
{
	struct image im;
	struct nd_array a;
	struct nd_err e = {0};
	struct nd_buf b;
	int32_t v[6] = {0, 1, 2, 3, 4, 5};
	(void)state;

	/* arange(6).reshape(2, 3).T, then a step that breaks F order too */
	image_init(&im, 13, 2);
	uint64_t d = img_descr(&im, 'i', 'i', '=', 5, 4, 4);
	uint64_t data = img_data(&im, v, sizeof(v));
	int64_t dims[] = {2, 2}, strides[] = {4, 12};
	uint64_t addr = img_array(&im, data, 2, dims, strides, d,
				  ND_F_ALIGNED | ND_F_WRITEABLE, 0);
	assert_int_equal(nd_array_decode(&im.ctx, addr, &a, &e), 0);
	struct fixture f = {.im = im, .a = a};
	npy_of(&f, &b);
	assert_int_equal(b.len, 128 + 16);
	assert_memory_equal(b.p + 128, ((int32_t[]){0, 3, 1, 4}), 16);
	assert_non_null(memmem(b.p, 128, "'fortran_order': False, 'shape': (2, 2)", 39));
	nd_buf_free(&b);
	done(&f);
}

static void test_npy_refuses_objects(void **state)
{
	struct fixture f;
	struct nd_buf h = {0};
	struct nd_err e = {0};
	(void)state;

	make(&f, 'O', 'O', 17, 8, (uint64_t[]){0}, 1, (int64_t[]){1});
	assert_int_equal(nd_npy_header(&f.a, &h, &e), -1);
	assert_int_equal(e.code, ND_EUNSUPPORTED);
	assert_non_null(strstr(e.msg, "object arrays cannot be saved"));
	nd_buf_free(&h);
	done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_repr_floats),
		cmocka_unit_test(test_repr_ints_and_layout),
		cmocka_unit_test(test_datetime_text),
		cmocka_unit_test(test_shortest_floats),
		cmocka_unit_test(test_npy_headers),
		cmocka_unit_test(test_npy_gathers_c_order),
		cmocka_unit_test(test_npy_refuses_objects),
	};
	return cmocka_run_group_tests_name("format", tests, NULL, NULL);
}
