/* decode/ on synthetic memory images in every supported layout: arrays,
 * dtypes, base chains, and hostile images that must fail cleanly. */
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../decode/format.h"
#include "../../decode/preview.h"
#include "../../decode/ndarray.h"
#include "../../decode/values.h"
#include "image.h"

static const int pairs[][2] = {{9, 1}, {11, 1}, {13, 2}, {14, 2}};
#define NPAIRS (sizeof(pairs) / sizeof(pairs[0]))

#define F_CARRAY (ND_F_C_CONTIGUOUS | ND_F_F_CONTIGUOUS | ND_F_OWNDATA | \
		  ND_F_ALIGNED | ND_F_WRITEABLE)

static uint64_t int32_array(struct image *im, uint64_t *descr)
{
	int32_t v[] = {1, 2, 3};
	int64_t dims[] = {3}, strides[] = {4};

	*descr = img_descr(im, 'i', 'i', '=', 5, 4, 4);
	return img_array(im, img_data(im, v, sizeof(v)), 1, dims, strides,
			 *descr, F_CARRAY, 0);
}

static void decode_ok(struct image *im, uint64_t addr, struct nd_array *a)
{
	struct nd_err e = {0};
	int rc = nd_array_decode(&im->ctx, addr, a, &e);

	if (rc)
		fail_msg("decode failed: %s", e.msg);
}

static void expect_fail(struct image *im, uint64_t addr, int code,
			const char *words)
{
	struct nd_err e = {0};
	struct nd_array a;
	int rc = nd_array_decode(&im->ctx, addr, &a, &e);

	nd_array_free(&a);
	if (rc != -1 || e.code != code)
		fail_msg("expected error %d, got %d (%s)", code, rc, e.msg);
	if (words && !strstr(e.msg, words))
		fail_msg("message '%s' lacks '%s'", e.msg, words);
}

static void json_of(struct image *im, struct nd_array *a, int64_t nvalues,
		    struct nd_buf *b)
{
	struct nd_err e = {0};
	struct nd_preview p;

	nd_preview_capture(&im->ctx, a, nvalues, 0, &p);
	assert_int_equal(nd_format_json(a, NULL, &p, b, &e), 0);
	nd_preview_free(&p);
}

/* The first n values as --json prints them. */
static void values_of(struct image *im, struct nd_array *a, int64_t n,
		      struct nd_buf *b)
{
	struct nd_preview p;

	nd_preview_capture(&im->ctx, a, n, 0, &p);
	if (p.values_err.code)
		fail_msg("values: %s", p.values_err.msg);
	nd_values_json(&p, a, b);
	nd_preview_free(&p);
}

static void test_int32_every_layout(void **state)
{
	(void)state;
	for (size_t i = 0; i < NPAIRS; i++) {
		struct image im;
		struct nd_array a;
		struct nd_buf b = {0};
		uint64_t descr;

		image_init(&im, pairs[i][0], pairs[i][1]);
		uint64_t addr = int32_array(&im, &descr);
		decode_ok(&im, addr, &a);
		assert_int_equal(a.ndim, 1);
		assert_int_equal(a.shape[0], 3);
		assert_int_equal(a.nbytes, 12);
		assert_string_equal(a.type_name, "numpy.ndarray");
		json_of(&im, &a, 3, &b);
		assert_non_null(strstr(b.p, "\"array_interface\": {\"data\": ["));
		assert_non_null(strstr(b.p, "\"strides\": null, \"descr\": [[\"\", \"<i4\"]], "
					    "\"typestr\": \"<i4\", \"shape\": [3], \"version\": 3}"));
		assert_non_null(strstr(b.p, "\"values\": [1, 2, 3]"));
		assert_non_null(strstr(b.p, "\"dtype\": {\"str\": \"<i4\", \"kind\": \"i\", "
					    "\"char\": \"i\", \"itemsize\": 4, \"alignment\": 4, "
					    "\"byteorder\": \"=\", \"type_num\": 5}"));
		nd_buf_free(&b);
		nd_array_free(&a);
		image_free(&im);
	}
}

/* np.zeros(2, dtype=[(('T', 'a'), 'u1'), ('n', [('x', '<f4', (2,))]),
 * ('z', '>i8')]) with z at 16 and itemsize 32: titles, nesting, a
 * sub-array field, padding in the middle and at the end. */
static uint64_t structured(struct image *im)
{
	uint64_t u1 = img_descr(im, 'u', 'B', '|', 2, 1, 1);
	uint64_t f4 = img_descr(im, 'f', 'f', '=', 11, 4, 4);
	uint64_t i8 = img_descr(im, 'i', 'l', '>', 7, 8, 8);
	uint64_t sub = img_descr(im, 'V', 'V', '|', 20, 8, 4);
	uint64_t sa = img_alloc(im, 16);
	int64_t two = 2;
	img_w64(im, sa, f4);
	img_w64(im, sa + 8, img_tuple(im, 1, (uint64_t[]){img_int(im, two)}));
	img_descr_set(im, sub, D_SUBARRAY, sa);
	uint64_t inner = img_descr(im, 'V', 'V', '|', 20, 8, 4);
	img_descr_fields(im, inner, 1, (const char *[]){"x"}, &sub,
			 (int64_t[]){0}, NULL);
	uint64_t outer = img_descr(im, 'V', 'V', '|', 20, 32, 8);
	img_descr_fields(im, outer, 3, (const char *[]){"a", "n", "z"},
			 (uint64_t[]){u1, inner, i8}, (int64_t[]){0, 4, 16},
			 (const char *[]){"T", NULL, NULL});
	unsigned char data[64] = {0};
	data[0] = 7;
	float x[2] = {1.5f, -2.0f};
	memcpy(data + 4, x, 8);
	data[16 + 7] = 5; /* big-endian 5 */
	data[32] = 8;
	int64_t dims[] = {2}, strides[] = {32};
	return img_array(im, img_data(im, data, sizeof(data)), 1, dims, strides,
			 outer, F_CARRAY, 0);
}

static void test_structured_descr(void **state)
{
	(void)state;
	for (size_t i = 0; i < NPAIRS; i++) {
		struct image im;
		struct nd_array a;
		struct nd_buf b = {0};

		image_init(&im, pairs[i][0], pairs[i][1]);
		decode_ok(&im, structured(&im), &a);
		assert_int_equal(a.dtype->nfields, 3);
		assert_string_equal(a.dtype->fields[0].title_py, "'T'");
		nd_dtype_iface_descr(a.dtype, &b, ND_STYLE_PY);
		assert_string_equal(b.p,
			"[(('T', 'a'), '|u1'), ('', '|V3'), ('n', [('x', '<f4', (2,))]), "
			"('', '|V4'), ('z', '>i8'), ('', '|V8')]");
		nd_buf_reset(&b);
		nd_dtype_iface_descr(a.dtype, &b, ND_STYLE_JSON);
		assert_string_equal(b.p,
			"[[[\"T\", \"a\"], \"|u1\"], [\"\", \"|V3\"], [\"n\", [[\"x\", \"<f4\", [2]]]], "
			"[\"\", \"|V4\"], [\"z\", \">i8\"], [\"\", \"|V8\"]]");
		nd_buf_reset(&b);
		values_of(&im, &a, 2, &b);
		assert_string_equal(b.p, "[[7, [[1.5, -2.0]], 5], [8, [[0.0, 0.0]], 0]]");
		nd_buf_reset(&b);
		nd_dtype_str(a.dtype, &b);
		assert_string_equal(b.p, "|V32");
		nd_buf_free(&b);
		nd_array_free(&a);
		image_free(&im);
	}
}

static void test_overlapping_fields_fall_back(void **state)
{
	struct image im;
	struct nd_array a;
	struct nd_buf b = {0};
	(void)state;

	image_init(&im, 11, 1);
	uint64_t i4 = img_descr(&im, 'i', 'i', '=', 5, 4, 4);
	uint64_t d = img_descr(&im, 'V', 'V', '|', 20, 16, 4);
	img_descr_fields(&im, d, 2, (const char *[]){"p", "q"},
			 (uint64_t[]){i4, i4}, (int64_t[]){8, 0}, NULL);
	int64_t dims[] = {1}, strides[] = {16};
	unsigned char data[16] = {0};
	decode_ok(&im, img_array(&im, img_data(&im, data, 16), 1, dims, strides,
				 d, F_CARRAY, 0), &a);
	assert_false(nd_dtype_descr_defined(a.dtype));
	nd_dtype_iface_descr(a.dtype, &b, ND_STYLE_PY);
	assert_string_equal(b.p, "[('', '|V16')]");
	nd_buf_free(&b);
	nd_array_free(&a);
	image_free(&im);
}

static void test_datetime_and_byteorder(void **state)
{
	(void)state;
	for (size_t i = 0; i < NPAIRS; i++) {
		struct image im;
		struct nd_array a;
		struct nd_buf b = {0};
		int64_t days[] = {18262, INT64_MIN}; /* 2020-01-01, NaT */
		int64_t dims[] = {2}, strides[] = {8};

		image_init(&im, pairs[i][0], pairs[i][1]);
		uint64_t d = img_descr(&im, 'M', 'M', '=', 21, 8, 8);
		img_descr_datetime(&im, d, 4, 1);
		decode_ok(&im, img_array(&im, img_data(&im, days, 16), 1, dims,
					 strides, d, F_CARRAY, 0), &a);
		nd_dtype_str(a.dtype, &b);
		assert_string_equal(b.p, "<M8[D]");
		nd_buf_reset(&b);
		values_of(&im, &a, 5, &b);
		assert_string_equal(b.p, "[\"2020-01-01\", \"NaT\"]");
		nd_array_free(&a);

		/* >i4 0x00000102 = 258 read from big-endian bytes */
		unsigned char be[] = {0, 0, 1, 2, 0xff, 0xff, 0xff, 0xfe};
		int64_t strides4[] = {4};
		uint64_t bd = img_descr(&im, 'i', 'i', '>', 5, 4, 4);
		decode_ok(&im, img_array(&im, img_data(&im, be, 8), 1, dims,
					 strides4, bd, F_CARRAY, 0), &a);
		nd_buf_reset(&b);
		values_of(&im, &a, 5, &b);
		assert_string_equal(b.p, "[258, -2]");
		nd_buf_free(&b);
		nd_array_free(&a);
		image_free(&im);
	}
}

static void test_negative_strides_c_order(void **state)
{
	struct image im;
	struct nd_array a;
	struct nd_buf b = {0};
	int64_t v[12];
	(void)state;

	for (int i = 0; i < 12; i++)
		v[i] = i;
	image_init(&im, 11, 1);
	uint64_t d = img_descr(&im, 'i', 'l', '=', 7, 8, 8);
	uint64_t data = img_data(&im, v, sizeof(v));
	/* arange(12).reshape(3, 4)[::-1, ::-2] */
	int64_t dims[] = {3, 2}, strides[] = {-32, -16};
	decode_ok(&im, img_array(&im, data + 88, 2, dims, strides, d,
				 ND_F_ALIGNED | ND_F_WRITEABLE, 0), &a);
	values_of(&im, &a, 6, &b);
	assert_string_equal(b.p, "[11, 9, 7, 5, 3, 1]");
	nd_buf_free(&b);
	nd_array_free(&a);
	image_free(&im);
}

/* A target thread reshaping an array in place while it is read: the
 * reader serves the image, and just before the strides are read it
 * writes the new dims and strides, as arr.shape = (4, 3) does. */
struct racing {
	struct image *im;
	uint64_t when;   /* the address whose read comes after the change */
	uint64_t dims;   /* where the dims and strides are */
	int changed;
};

static int racing_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct racing *r = ctx;

	if (addr == r->when && !r->changed) {
		img_w64(r->im, r->dims, 4);
		img_w64(r->im, r->dims + 8, 3);
		img_w64(r->im, r->dims + 16, 24);
		img_w64(r->im, r->dims + 24, 8);
		r->changed = 1;
	}
	return image_read(r->im, addr, buf, len);
}

static int image_readv(void *ctx, struct nd_iov *iov, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (image_read(ctx, iov[i].addr, iov[i].buf, iov[i].len))
			return -14;
	return 0;
}

static void test_unchanged_sees_races(void **state)
{
	(void)state;
	for (size_t k = 0; k < NPAIRS; k++) {
		struct image im;
		struct nd_array a;
		int64_t v[12];
		for (int i = 0; i < 12; i++)
			v[i] = i;
		image_init(&im, pairs[k][0], pairs[k][1]);
		const struct nd_nplayout *L = im.ctx.np;
		/* the batched reader and the plain one give the same answers */
		if (k % 2)
			im.ctx.rd.readv = image_readv;
		uint64_t d = img_descr(&im, 'i', 'l', '=', 7, 8, 8);
		uint64_t d2 = img_descr(&im, 'u', 'L', '=', 8, 8, 8);
		uint64_t data = img_data(&im, v, sizeof(v));
		int64_t dims[] = {3, 4}, strides[] = {32, 8};
		uint64_t addr = img_array(&im, data, 2, dims, strides, d,
					  F_CARRAY, 0);
		uint64_t ds;
		memcpy(&ds, img_ptr(&im, addr + (uint64_t)L->arr_dims), 8);

		decode_ok(&im, addr, &a);
		assert_true(nd_array_unchanged(&im.ctx, &a));
		/* references come and go: the array is the same */
		img_w64(&im, addr, 7);
		assert_true(nd_array_unchanged(&im.ctx, &a));
		/* each field the decode used, changed alone and put back */
		const struct {
			uint64_t at, now;
		} edits[] = {
			{addr + 8, im.t_void},                    /* type */
			{addr + (uint64_t)L->arr_data, data + 8},
			{addr + (uint64_t)L->arr_descr, d2},
			{addr + (uint64_t)L->arr_base, data},
			{addr + (uint64_t)L->arr_dims, ds + 16},
			{ds + 8, 5},                              /* a dim */
			{ds + 24, 16},                            /* a stride */
		};
		for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
			uint64_t was;
			memcpy(&was, img_ptr(&im, edits[i].at), 8);
			img_w64(&im, edits[i].at, edits[i].now);
			assert_false(nd_array_unchanged(&im.ctx, &a));
			img_w64(&im, edits[i].at, was);
			assert_true(nd_array_unchanged(&im.ctx, &a));
		}
		img_w32(&im, addr + (uint64_t)L->arr_flags,
			F_CARRAY & ~ND_F_WRITEABLE);
		assert_false(nd_array_unchanged(&im.ctx, &a));
		img_w32(&im, addr + (uint64_t)L->arr_flags, F_CARRAY);
		nd_array_free(&a);

		/* reshaped between reading the dims and the strides: the
		 * decode mixes (3, 4) with (24, 8); reading again says so */
		struct racing r = {.im = &im, .when = ds + 16, .dims = ds};
		im.ctx.rd.read = racing_read;
		im.ctx.rd.ctx = &r;
		decode_ok(&im, addr, &a);
		assert_int_equal(r.changed, 1);
		assert_int_equal(a.shape[0], 3);
		assert_int_equal(a.strides[0], 24);
		im.ctx.rd.read = image_read;
		im.ctx.rd.ctx = &im;
		assert_false(nd_array_unchanged(&im.ctx, &a));
		nd_array_free(&a);
		/* decoded again once it holds still: consistent, unchanged */
		decode_ok(&im, addr, &a);
		assert_int_equal(a.shape[0], 4);
		assert_int_equal(a.strides[0], 24);
		assert_true(nd_array_unchanged(&im.ctx, &a));
		nd_array_free(&a);
		/* freed since it was found: not an array any more */
		img_w64(&im, addr, 0);
		struct nd_err gone = {0};
		assert_int_equal(nd_array_decode(&im.ctx, addr, &a, &gone), -1);
		assert_int_equal(gone.code, ND_ENOTARRAY);
		assert_int_equal(gone.addr, addr);
		nd_array_free(&a);
		image_free(&im);
	}
}

static void test_base_chain_and_cycle(void **state)
{
	struct image im;
	struct nd_array a;
	uint64_t descr;
	(void)state;

	image_init(&im, 13, 2);
	uint64_t owner = int32_array(&im, &descr);
	uint64_t bytes = img_object(&im, im.t_bytes, 48);
	img_w64(&im, bytes + 16, 4);
	img_w64(&im, owner + (uint64_t)im.ctx.np->arr_base, bytes);
	int64_t dims[] = {2}, strides[] = {4};
	uint64_t view = img_array(&im, 0x1000, 1, dims, strides, descr,
				  ND_F_C_CONTIGUOUS, owner);
	decode_ok(&im, view, &a);
	assert_int_equal(a.nbases, 2);
	assert_int_equal(a.bases[0].addr, owner);
	assert_int_equal(a.bases[0].kind, ND_BASE_ARRAY);
	assert_string_equal(a.bases[1].type, "bytes");
	assert_int_equal(a.bases[1].kind, ND_BASE_BYTES);
	assert_int_equal(a.bases[1].len, 4);
	assert_false(a.base_cycle);
	nd_array_free(&a);

	/* owner.base = view: the chain must end, flagged as a cycle */
	img_w64(&im, owner + (uint64_t)im.ctx.np->arr_base, view);
	decode_ok(&im, view, &a);
	assert_true(a.base_cycle);
	assert_int_equal(a.nbases, 1);
	nd_array_free(&a);
	image_free(&im);
}

/* Garbage that passes for a type: its "metatype" has the type flag but
 * is not type nor derived from it, or its name is code, not text (both
 * seen when show is given random addresses). A real metaclass and a long
 * non-ASCII name cut mid-character are still types. */
static void test_fake_types(void **state)
{
	(void)state;
	for (size_t i = 0; i < NPAIRS; i++) {
		struct image im;
		const char *name;
		struct nd_err e = {0};

		image_init(&im, pairs[i][0], pairs[i][1]);
		const struct nd_pylayout *P = im.ctx.py;
		uint64_t fake_meta = img_object(&im, im.t_none, 1024);
		img_w64(&im, fake_meta + (uint64_t)P->tp_flags,
			ND_TPFLAGS_TYPE);
		uint64_t fake = img_object(&im, fake_meta, 1024);
		img_w64(&im, fake + (uint64_t)P->tp_name,
			img_data(&im, "Widget", 7));
		assert_int_equal(nd_py_type_name(&im.ctx, fake, &name, &e), -1);
		assert_int_equal(e.code, ND_ECORRUPT);
		assert_non_null(strstr(e.msg, "not a type object"));

		uint64_t meta = img_type(&im, "Meta", im.t_type,
					 ND_TPFLAGS_TYPE);
		uint64_t cls = img_type(&im, "Widget", im.t_type, 0);
		img_w64(&im, cls + 8, meta);
		nd_err_clear(&e);
		assert_int_equal(nd_py_type_name(&im.ctx, cls, &name, &e), 0);
		assert_string_equal(name, "Widget");

		static const char code[] = "AWAVAUATUH\x89\xe5SH\x83\xec";
		uint64_t t = img_type(&im, "x", im.t_type, 0);
		img_w64(&im, t + (uint64_t)P->tp_name,
			img_data(&im, code, sizeof(code)));
		nd_err_clear(&e);
		assert_int_equal(nd_py_type_name(&im.ctx, t, &name, &e), -1);
		assert_int_equal(e.code, ND_ECORRUPT);
		assert_non_null(strstr(e.msg, "its name is not one"));

		/* 126 bytes of "é" then more: cut at the cache's 127 */
		char longname[300];
		for (size_t k = 0; k + 1 < sizeof(longname); k += 2)
			memcpy(longname + k, "\xc3\xa9", 2);
		longname[sizeof(longname) - 1] = 0;
		uint64_t u = img_type(&im, longname, im.t_type, 0);
		nd_err_clear(&e);
		assert_int_equal(nd_py_type_name(&im.ctx, u, &name, &e), 0);
		assert_memory_equal(name, longname, 126);
		image_free(&im);
	}
}

static void test_hostile_headers(void **state)
{
	(void)state;
	for (size_t i = 0; i < NPAIRS; i++) {
		struct image im;
		uint64_t descr;

		image_init(&im, pairs[i][0], pairs[i][1]);
		const struct nd_nplayout *L = im.ctx.np;
		uint64_t a = int32_array(&im, &descr);

		img_w32(&im, a + (uint64_t)L->arr_nd, 65);
		expect_fail(&im, a, ND_ECORRUPT, "ndim 65");
		img_w32(&im, a + (uint64_t)L->arr_nd, (uint32_t)-1);
		expect_fail(&im, a, ND_ECORRUPT, "ndim");
		img_w32(&im, a + (uint64_t)L->arr_nd, 1);

		uint64_t dims;
		memcpy(&dims, img_ptr(&im, a + (uint64_t)L->arr_dims), 8);
		img_w64(&im, a + (uint64_t)L->arr_dims, 0xdead0000);
		expect_fail(&im, a, ND_EREAD, "shape");
		img_w64(&im, a + (uint64_t)L->arr_dims, dims);

		/* strides that overflow the address space */
		img_w64(&im, dims, 1000);
		img_w64(&im, dims + 8, INT64_MAX / 10);
		expect_fail(&im, a, ND_ECORRUPT, "strides");
		img_w64(&im, dims, (uint64_t)-3);
		expect_fail(&im, a, ND_ECORRUPT, "shape");
		img_w64(&im, dims, 3);
		img_w64(&im, dims + 8, 4);

		/* a descr that is not a dtype */
		img_w64(&im, a + (uint64_t)L->arr_descr, im.none);
		expect_fail(&im, a, ND_ECORRUPT, "not a numpy.dtype");
		img_w64(&im, a + (uint64_t)L->arr_descr, descr);

		/* impossible dtype fields */
		img_w8(&im, descr + (uint64_t)L->d_kind, 'Q');
		expect_fail(&im, a, ND_ECORRUPT, "impossible");
		img_w8(&im, descr + (uint64_t)L->d_kind, 'i');

		/* freed object: refcount 0, garbage type */
		img_w64(&im, a, 0);
		expect_fail(&im, a, ND_ENOTARRAY, "live");
		img_w64(&im, a, 1);
		img_w64(&im, a + 8, 0x1234560);
		expect_fail(&im, a, ND_ENOTARRAY, "live");
		img_w64(&im, a + 8, im.t_ndarray);
		/* a freed block whose first word is pymalloc's free-list
		 * pointer: its low half looks like a count where the count is
		 * 32 bits (3.14), but no array has overflow or flag bits, nor
		 * a count that high in any version */
		img_w64(&im, a, 0x00007f1200000002ULL);
		expect_fail(&im, a, ND_ENOTARRAY, "live");
		img_w64(&im, a, 1);

		/* not an array at all, and unmapped */
		expect_fail(&im, im.none, ND_ENOTARRAY, "NoneType");
		expect_fail(&im, 0xdead0000, ND_EREAD, NULL);
		expect_fail(&im, a + 1, ND_ENOTARRAY, "aligned");
		image_free(&im);
	}
}

static void test_hostile_dtypes(void **state)
{
	struct image im;
	uint64_t descr;
	(void)state;

	image_init(&im, 11, 1);
	uint64_t a = int32_array(&im, &descr);
	uint64_t i4 = img_descr(&im, 'i', 'i', '=', 5, 4, 4);

	/* a structured dtype whose only field is itself: no endless descent */
	uint64_t self = img_descr(&im, 'V', 'V', '|', 20, 4, 4);
	img_descr_fields(&im, self, 1, (const char *[]){"f"}, &self,
			 (int64_t[]){0}, NULL);
	img_w64(&im, a + (uint64_t)im.ctx.np->arr_descr, self);
	expect_fail(&im, a, ND_ELIMIT, "nested too deeply");

	/* a field outside the item */
	uint64_t out = img_descr(&im, 'V', 'V', '|', 20, 4, 4);
	img_descr_fields(&im, out, 1, (const char *[]){"f"}, &i4,
			 (int64_t[]){2}, NULL);
	img_w64(&im, a + (uint64_t)im.ctx.np->arr_descr, out);
	expect_fail(&im, a, ND_ECORRUPT, "outside the item");

	/* a names tuple claiming a million entries */
	uint64_t many = img_descr(&im, 'V', 'V', '|', 20, 4, 4);
	img_descr_fields(&im, many, 1, (const char *[]){"f"}, &i4,
			 (int64_t[]){0}, NULL);
	uint64_t names;
	memcpy(&names, img_ptr(&im, many + (uint64_t)im.ctx.np->d_names), 8);
	img_w64(&im, names + 16, 1000000);
	img_w64(&im, a + (uint64_t)im.ctx.np->arr_descr, many);
	expect_fail(&im, a, ND_ELIMIT, "items");

	/* a named field the fields dict does not define */
	uint64_t missing = img_descr(&im, 'V', 'V', '|', 20, 4, 4);
	img_descr_fields(&im, missing, 1, (const char *[]){"f"}, &i4,
			 (int64_t[]){0}, NULL);
	img_descr_set(&im, missing, D_NAMES,
		      img_tuple(&im, 1, (uint64_t[]){img_str(&im, "g")}));
	img_w64(&im, a + (uint64_t)im.ctx.np->arr_descr, missing);
	expect_fail(&im, a, ND_ECORRUPT, "not defined");

	/* a bad datetime unit */
	uint64_t dt = img_descr(&im, 'M', 'M', '=', 21, 8, 8);
	img_descr_datetime(&im, dt, 99, 1);
	img_w64(&im, a + (uint64_t)im.ctx.np->arr_descr, dt);
	expect_fail(&im, a, ND_ECORRUPT, "datetime");

	/* a fields dict whose keys table is garbage */
	uint64_t bad = img_descr(&im, 'V', 'V', '|', 20, 4, 4);
	img_descr_fields(&im, bad, 1, (const char *[]){"f"}, &i4,
			 (int64_t[]){0}, NULL);
	uint64_t fields, keys;
	memcpy(&fields, img_ptr(&im, bad + (uint64_t)im.ctx.np->d_fields), 8);
	memcpy(&keys, img_ptr(&im, fields + (uint64_t)im.ctx.py->dict_keys), 8);
	img_w8(&im, keys + 8, 60);
	img_w64(&im, a + (uint64_t)im.ctx.np->arr_descr, bad);
	expect_fail(&im, a, ND_ECORRUPT, "keys table");
	image_free(&im);
}

/* Found in review: each of these once crashed, read out of bounds, or
 * refused a dtype NumPy accepts. */
static void test_review_regressions(void **state)
{
	struct image im;
	struct nd_array a;
	struct nd_buf b = {0};
	uint64_t descr;
	(void)state;

	image_init(&im, 11, 1);
	const struct nd_nplayout *L = im.ctx.np;
	uint64_t arr = int32_array(&im, &descr);

	/* a datetime or object descr must be 8 bytes wide */
	uint64_t m3 = img_descr(&im, 'M', 'M', '=', 21, 3, 1);
	img_w64(&im, arr + (uint64_t)L->arr_descr, m3);
	expect_fail(&im, arr, ND_ECORRUPT, "impossible");

	/* an object element whose int has ob_size INT64_MIN */
	uint64_t o8 = img_descr(&im, 'O', 'O', '|', 17, 8, 8);
	uint64_t bad_int = img_int(&im, 1);
	img_w64(&im, bad_int + 16, (uint64_t)INT64_MIN);
	int64_t one[] = {1}, eight[] = {8};
	uint64_t oa = img_array(&im, img_data(&im, &bad_int, 8), 1, one, eight,
				o8, F_CARRAY, 0);
	decode_ok(&im, oa, &a);
	values_of(&im, &a, 1, &b);
	assert_non_null(strstr(b.p, "\"type\": \"int\""));
	nd_array_free(&a);

	/* an empty structured dtype: names (), fields {} */
	uint64_t empty = img_descr(&im, 'V', 'V', '|', 20, 4, 1);
	img_descr_fields(&im, empty, 0, NULL, NULL, NULL, NULL);
	img_w64(&im, arr + (uint64_t)L->arr_descr, empty);
	decode_ok(&im, arr, &a);
	assert_true(a.dtype->structured);
	nd_buf_reset(&b);
	nd_dtype_iface_descr(a.dtype, &b, ND_STYLE_PY);
	assert_string_equal(b.p, "[('', '|V4')]");
	nd_array_free(&a);

	/* one 700-field dtype shared by 100 fields: decoded once */
	uint64_t u1 = img_descr(&im, 'u', 'B', '|', 2, 1, 1);
	const char *names[700];
	uint64_t descrs[700];
	int64_t offs[700];
	char namebuf[700][16];
	for (int i = 0; i < 700; i++) {
		snprintf(namebuf[i], sizeof(namebuf[i]), "f%d", i);
		names[i] = namebuf[i];
		descrs[i] = u1;
		offs[i] = i;
	}
	uint64_t inner = img_descr(&im, 'V', 'V', '|', 20, 700, 1);
	img_descr_fields(&im, inner, 700, names, descrs, offs, NULL);
	uint64_t outer = img_descr(&im, 'V', 'V', '|', 20, 70000, 1);
	for (int i = 0; i < 100; i++) {
		descrs[i] = inner;
		offs[i] = 700 * i;
	}
	img_descr_fields(&im, outer, 100, names, descrs, offs, NULL);
	img_w64(&im, arr + (uint64_t)L->arr_descr, outer);
	decode_ok(&im, arr, &a);
	assert_int_equal(a.dtype->weight, 1 + 100 * 701);
	nd_array_free(&a);

	/* ...but sharing that doubles 25 times is refused, not expanded */
	uint64_t level = u1;
	for (int i = 0; i < 25; i++) {
		int64_t size = (int64_t)1 << i;
		uint64_t d = img_descr(&im, 'V', 'V', '|', 20, 2 * size, 1);
		img_descr_fields(&im, d, 2, (const char *[]){"l", "r"},
				 (uint64_t[]){level, level},
				 (int64_t[]){0, size}, NULL);
		level = d;
	}
	img_w64(&im, arr + (uint64_t)L->arr_descr, level);
	expect_fail(&im, arr, ND_ELIMIT, "expands");

	/* a subclass with a 200-character name is still an array */
	char longname[201];
	memset(longname, 'x', 200);
	longname[200] = '\0';
	uint64_t sub = img_type(&im, longname, im.t_ndarray, 0);
	img_w64(&im, arr + (uint64_t)L->arr_descr, descr);
	img_w64(&im, arr + 8, sub);
	decode_ok(&im, arr, &a);
	assert_int_equal(strlen(a.type_name), 127);
	nd_array_free(&a);
	nd_buf_free(&b);
	image_free(&im);
}

/* Capturing a preview must stay quick and small whatever the header
 * claims: zero-size items by the trillion, ints of zero digits. */
static void test_preview_budgets(void **state)
{
	struct image im;
	struct nd_array a;
	struct nd_preview p;
	struct nd_buf b = {0};
	(void)state;

	image_init(&im, 13, 2);
	uint64_t v0 = img_descr(&im, 'V', 'V', '|', 20, 0, 1);
	int64_t dims[] = {1000000000000LL}, strides[] = {0};
	unsigned char byte = 0;
	uint64_t arr = img_array(&im, img_data(&im, &byte, 1), 1, dims, strides,
				 v0, F_CARRAY, 0);
	decode_ok(&im, arr, &a);
	nd_preview_capture(&im.ctx, &a, 1000000000000LL, ND_REPR_THRESHOLD, &p);
	assert_int_equal(p.values_err.code, ND_ELIMIT);
	assert_int_equal(p.repr_err.code, ND_OK);
	nd_preview_free(&p);
	nd_array_free(&a);

	/* an object element: an int of four 30-bit digits, all 0 (not
	 * normalised; garbage or caught mid-update) prints as 0 */
	uint64_t o8 = img_descr(&im, 'O', 'O', '|', 17, 8, 8);
	uint64_t zero = img_int(&im, 1);
	img_w64(&im, zero + 16, 4 << 3); /* 3.13 lv_tag: 4 digits, positive */
	img_w32(&im, zero + (uint64_t)im.ctx.py->long_digits, 0);
	int64_t one[] = {1}, eight[] = {8};
	arr = img_array(&im, img_data(&im, &zero, 8), 1, one, eight, o8,
			F_CARRAY, 0);
	decode_ok(&im, arr, &a);
	values_of(&im, &a, 1, &b);
	assert_string_equal(b.p, "[0]");
	nd_buf_free(&b);
	nd_array_free(&a);
	image_free(&im);
}

static void test_values_unreadable_data(void **state)
{
	struct image im;
	struct nd_array a;
	struct nd_buf b = {0};
	struct nd_err e = {0};
	uint64_t descr;
	(void)state;

	image_init(&im, 11, 1);
	uint64_t addr = int32_array(&im, &descr);
	img_w64(&im, addr + (uint64_t)im.ctx.np->arr_data, 0xdead0000);
	decode_ok(&im, addr, &a);
	struct nd_preview p;
	nd_preview_capture(&im.ctx, &a, 3, 0, &p);
	assert_int_equal(nd_format_json(&a, NULL, &p, &b, &e), -1);
	assert_int_equal(e.code, ND_EREAD);
	assert_non_null(strstr(b.p, "\"values\": null, \"values_error\": "));
	nd_preview_free(&p);
	nd_buf_free(&b);
	nd_array_free(&a);
	image_free(&im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_int32_every_layout),
		cmocka_unit_test(test_structured_descr),
		cmocka_unit_test(test_overlapping_fields_fall_back),
		cmocka_unit_test(test_datetime_and_byteorder),
		cmocka_unit_test(test_negative_strides_c_order),
		cmocka_unit_test(test_base_chain_and_cycle),
		cmocka_unit_test(test_unchanged_sees_races),
		cmocka_unit_test(test_fake_types),
		cmocka_unit_test(test_hostile_headers),
		cmocka_unit_test(test_hostile_dtypes),
		cmocka_unit_test(test_values_unreadable_data),
		cmocka_unit_test(test_review_regressions),
		cmocka_unit_test(test_preview_budgets),
	};
	return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
