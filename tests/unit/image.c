#include "image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../decode/pyobj.h"

int image_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct image *im = ctx;

	for (size_t i = 0; i < im->n; i++) {
		struct image_seg *s = &im->seg[i];
		if (addr >= s->addr && addr - s->addr <= s->len &&
		    len <= s->len - (addr - s->addr)) {
			memcpy(buf, s->bytes + (addr - s->addr), len);
			return 0;
		}
	}
	return -14; /* EFAULT */
}

static int mem_read(struct mem *m, uint64_t addr, void *buf, size_t len)
{
	struct image_mem *x = (struct image_mem *)m;

	x->reads++;
	return image_read(x->im, addr, buf, len);
}

static void mem_close(struct mem *m)
{
	(void)m; /* the image is freed with image_free */
}

void image_mem_init(struct image_mem *x, struct image *im)
{
	*x = (struct image_mem){.m = {.read = mem_read, .readv = mem_readv_each,
				      .close = mem_close, .how = "image"},
				.im = im};
}

uint64_t img_alloc(struct image *im, size_t size)
{
	if (im->n == im->cap) {
		im->cap = im->cap ? im->cap * 2 : 64;
		im->seg = realloc(im->seg, im->cap * sizeof(*im->seg));
	}
	/* whole pages, as real memory is mapped, with an unmapped page
	 * after each so that overruns fail */
	size_t pages = (size + 4095) & ~(size_t)4095;
	uint64_t addr = im->next;
	im->seg[im->n++] = (struct image_seg){addr, pages ? pages : 4096,
					      calloc(1, pages ? pages : 4096)};
	im->next += (pages ? pages : 4096) + 4096;
	return addr;
}

void *img_ptr(struct image *im, uint64_t addr)
{
	for (size_t i = 0; i < im->n; i++)
		if (addr >= im->seg[i].addr && addr < im->seg[i].addr + im->seg[i].len)
			return im->seg[i].bytes + (addr - im->seg[i].addr);
	abort();
}

void img_w64(struct image *im, uint64_t addr, uint64_t v)
{
	memcpy(img_ptr(im, addr), &v, 8);
}

void img_w32(struct image *im, uint64_t addr, uint32_t v)
{
	memcpy(img_ptr(im, addr), &v, 4);
}

void img_w8(struct image *im, uint64_t addr, uint8_t v)
{
	*(uint8_t *)img_ptr(im, addr) = v;
}

/* A header of refcount 1: ob_refcnt, or (free-threaded) the owning
 * thread (an address, as CPython's thread ids are: never a count) and its
 * local count. */
static void header(struct image *im, uint64_t o, uint64_t type)
{
	const struct nd_pylayout *P = im->ctx.py;

	if (P->free_threaded) {
		img_w64(im, o, IMG_FT_TID);
		img_w32(im, o + (uint64_t)P->ob_ref_local, 1);
		img_w64(im, o + (uint64_t)P->ob_ref_shared, 0);
	} else {
		img_w64(im, o, 1);
	}
	img_w64(im, o + (uint64_t)P->ob_type, type);
}

uint64_t img_object(struct image *im, uint64_t type, size_t size)
{
	size_t min = (size_t)im->ctx.py->ob_size + 8;
	uint64_t o = img_alloc(im, size < min ? min : size);

	header(im, o, type);
	return o;
}

static uint64_t cstring(struct image *im, const char *s)
{
	uint64_t a = img_alloc(im, strlen(s) + 1);

	memcpy(img_ptr(im, a), s, strlen(s) + 1);
	return a;
}

uint64_t img_type(struct image *im, const char *name, uint64_t base,
		  uint64_t flags)
{
	const struct nd_pylayout *P = im->ctx.py;
	/* as big as a heap type (ht_cached_keys is past 800) */
	uint64_t t = img_object(im, im->t_type, 1024);

	img_w64(im, t + (uint64_t)P->tp_name, cstring(im, name));
	img_w64(im, t + (uint64_t)P->tp_flags, flags);
	img_w64(im, t + (uint64_t)P->tp_base, base);
	return t;
}

uint64_t img_str(struct image *im, const char *s)
{
	const struct nd_pylayout *P = im->ctx.py;
	size_t n = strlen(s);
	uint64_t o = img_object(im, im->t_str, (size_t)P->str_ascii_data + n + 1);

	img_w64(im, o + (uint64_t)P->ob_size, n);
	/* compact ascii, kind 1: kind, compact and ascii bits */
	img_w32(im, o + (uint64_t)P->str_state, 0x19u << P->str_kind_shift);
	memcpy(img_ptr(im, o + (uint64_t)P->str_ascii_data), s, n + 1);
	return o;
}

uint64_t img_int(struct image *im, int64_t v)
{
	const struct nd_pylayout *P = im->ctx.py;
	uint64_t o = img_object(im, im->t_int, 40);
	uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	int n = 0;

	for (uint64_t m = mag; m; m >>= 30)
		img_w32(im, o + (uint64_t)P->long_digits + 4 * (uint64_t)n++,
			(uint32_t)(m & 0x3fffffff));
	uint64_t head = o + (uint64_t)P->ob_size; /* ob_size or lv_tag */
	if (P->long_repr == ND_LONG_OB_SIZE)
		img_w64(im, head, (uint64_t)(v < 0 ? -n : n));
	else
		img_w64(im, head,
			((uint64_t)n << 3) | (v < 0 ? 2 : v == 0 ? 1 : 0));
	return o;
}

uint64_t img_tuple(struct image *im, size_t n, const uint64_t *items)
{
	const struct nd_pylayout *P = im->ctx.py;
	uint64_t o = img_object(im, im->t_tuple, (size_t)P->tuple_item + 8 * n);

	img_w64(im, o + (uint64_t)P->ob_size, n);
	for (size_t i = 0; i < n; i++)
		img_w64(im, o + (uint64_t)P->tuple_item + 8 * i, items[i]);
	return o;
}

/* A 3.11+ keys table of str keys: unicode (values beside the keys) or
 * split (values elsewhere; values may be NULL). */
static uint64_t keys_311(struct image *im, size_t n, const uint64_t *keys,
			 const uint64_t *values, int kind)
{
	size_t size = 8;
	int log2 = 3;

	while (size * 2 / 3 < n + 1) {
		size *= 2;
		log2++;
	}
	uint64_t k = img_alloc(im, 32 + size + 16 * n);
	img_w8(im, k + 8, (uint8_t)log2);
	img_w8(im, k + 9, (uint8_t)log2); /* 1-byte indices */
	img_w8(im, k + 10, (uint8_t)kind);
	img_w64(im, k + 24, n);
	for (size_t i = 0; i < n; i++) {
		uint64_t e = k + 32 + size + 16 * i;
		img_w64(im, e, keys[i]);
		if (values)
			img_w64(im, e + 8, values[i]);
	}
	return k;
}

uint64_t img_dict(struct image *im, size_t n, const uint64_t *keys,
		  const uint64_t *values)
{
	const struct nd_pylayout *P = im->ctx.py;
	uint64_t d = img_object(im, im->t_dict, 48);
	size_t size = 8;

	while (size * 2 / 3 < n + 1)
		size *= 2;
	img_w64(im, d + (uint64_t)P->dict_used, n);
	if (P->dict_repr == ND_DICT_39) {
		int ix = size <= 0xff ? 1 : 2;
		uint64_t k = img_alloc(im, 40 + size * (size_t)ix + 24 * n);
		img_w64(im, k + 8, size);
		img_w64(im, k + 32, n);
		for (size_t i = 0; i < n; i++) {
			uint64_t e = k + 40 + size * (uint64_t)ix + 24 * i;
			img_w64(im, e + 8, keys[i]);
			img_w64(im, e + 16, values[i]);
		}
		img_w64(im, d + (uint64_t)P->dict_keys, k);
	} else {
		img_w64(im, d + (uint64_t)P->dict_keys,
			keys_311(im, n, keys, values, 1));
	}
	return d;
}

uint64_t img_class(struct image *im, const char *name, int dict)
{
	const struct nd_pylayout *P = im->ctx.py;
	uint64_t flags = ND_TPFLAGS_HEAPTYPE;

	if (dict && P->tpflags_managed_dict)
		flags |= P->tpflags_managed_dict | P->tpflags_inline_values;
	uint64_t t = img_type(im, name, 0, flags);
	img_w64(im, t + (uint64_t)P->tp_basicsize,
		dict && !P->tpflags_managed_dict ? 24 : 16);
	if (dict && !P->tpflags_managed_dict)
		img_w64(im, t + (uint64_t)P->tp_dictoffset, 16);
	return t;
}

uint64_t img_instance(struct image *im, uint64_t cls, size_t n,
		      const char *const *names, const uint64_t *values,
		      int as_dict)
{
	const struct nd_pylayout *P = im->ctx.py;
	uint64_t *keys = calloc(n + 1, 8);
	/* room for a pre-header before it and inline values after it */
	uint64_t mem = img_alloc(im, 64 + 8 * n + 64);
	uint64_t o = mem + 32;

	img_w64(im, o, 1);
	img_w64(im, o + 8, cls);
	for (size_t i = 0; i < n; i++)
		keys[i] = img_str(im, names[i]);
	if (as_dict || P->values_repr == ND_VALUES_NONE) {
		uint64_t d = img_dict(im, n, keys, values);
		img_w64(im, o + (uint64_t)(int64_t)(P->tpflags_managed_dict
							    ? P->instance_dict
							    : 16),
			d);
		free(keys);
		return o;
	}
	uint64_t shared = keys_311(im, n, keys, NULL, 2);
	img_w64(im, cls + (uint64_t)P->ht_cached_keys, shared);
	uint64_t vals;
	if (P->values_repr == ND_VALUES_INLINE) {
		uint64_t at = o + 16; /* tp_basicsize */
		img_w8(im, at + (uint64_t)P->dv_capacity, (uint8_t)n);
		img_w8(im, at + (uint64_t)P->dv_valid, 1);
		vals = at + (uint64_t)P->dict_split_values;
	} else {
		vals = img_alloc(im, 8 * n + 8) + 8;
		if (P->values_repr == ND_VALUES_PTR)
			img_w64(im, o + (uint64_t)(int64_t)P->instance_values, vals);
		else
			img_w64(im, o + (uint64_t)(int64_t)P->instance_dict,
				vals - 1);
	}
	for (size_t i = 0; i < n; i++)
		img_w64(im, vals + 8 * i, values[i]);
	free(keys);
	return o;
}

uint64_t img_descr(struct image *im, char kind, char type, char byteorder,
		   int type_num, int64_t elsize, int64_t alignment)
{
	const struct nd_nplayout *L = im->ctx.np;
	uint64_t d = img_object(im, im->t_dtype_int, 128);

	img_w64(im, d + (uint64_t)L->d_typeobj, im->t_void);
	img_w8(im, d + (uint64_t)L->d_kind, (uint8_t)kind);
	img_w8(im, d + (uint64_t)L->d_type, (uint8_t)type);
	img_w8(im, d + (uint64_t)L->d_byteorder, (uint8_t)byteorder);
	img_w32(im, d + (uint64_t)L->d_type_num, (uint32_t)type_num);
	if (L->d_elsize_size == 4) {
		img_w32(im, d + (uint64_t)L->d_elsize, (uint32_t)elsize);
		img_w32(im, d + (uint64_t)L->d_alignment, (uint32_t)alignment);
	} else {
		img_w64(im, d + (uint64_t)L->d_elsize, (uint64_t)elsize);
		img_w64(im, d + (uint64_t)L->d_alignment, (uint64_t)alignment);
	}
	return d;
}

void img_descr_set(struct image *im, uint64_t descr, int which, uint64_t v)
{
	const struct nd_nplayout *L = im->ctx.np;
	int off[] = {L->d_subarray, L->d_fields, L->d_names, L->d_c_metadata,
		     L->d_flags};

	if (which == D_FLAGS && L->d_flags_size == 1)
		img_w8(im, descr + (uint64_t)off[which], (uint8_t)v);
	else
		img_w64(im, descr + (uint64_t)off[which], v);
}

void img_descr_fields(struct image *im, uint64_t descr, size_t n,
		      const char *const *names, const uint64_t *descrs,
		      const int64_t *offsets, const char *const *titles)
{
	uint64_t *keys = calloc(2 * n + 1, 8), *vals = calloc(2 * n + 1, 8);
	uint64_t *nameobj = calloc(n + 1, 8);
	size_t nk = 0;

	for (size_t i = 0; i < n; i++) {
		nameobj[i] = img_str(im, names[i]);
		uint64_t items[3] = {descrs[i], img_int(im, offsets[i]), 0};
		size_t ni = 2;
		if (titles && titles[i]) {
			items[2] = img_str(im, titles[i]);
			ni = 3;
		}
		uint64_t tup = img_tuple(im, ni, items);
		keys[nk] = nameobj[i];
		vals[nk++] = tup;
		if (ni == 3) {
			keys[nk] = items[2];
			vals[nk++] = tup;
		}
	}
	img_descr_set(im, descr, D_NAMES, img_tuple(im, n, nameobj));
	img_descr_set(im, descr, D_FIELDS, img_dict(im, nk, keys, vals));
	free(keys);
	free(vals);
	free(nameobj);
}

void img_descr_datetime(struct image *im, uint64_t descr, int unit, int num)
{
	uint64_t cm = img_alloc(im, 48);

	img_w32(im, cm + (uint64_t)im->ctx.np->dt_meta_base, (uint32_t)unit);
	img_w32(im, cm + (uint64_t)im->ctx.np->dt_meta_num, (uint32_t)num);
	img_descr_set(im, descr, D_C_METADATA, cm);
}

uint64_t img_array(struct image *im, uint64_t data, int nd,
		   const int64_t *dims, const int64_t *strides, uint64_t descr,
		   uint32_t flags, uint64_t base)
{
	const struct nd_nplayout *L = im->ctx.np;
	uint64_t a = img_object(im, im->t_ndarray, 96);
	uint64_t ds = img_alloc(im, 16 * (size_t)(nd ? nd : 1));

	for (int i = 0; i < nd; i++) {
		img_w64(im, ds + 8 * (uint64_t)i, (uint64_t)dims[i]);
		img_w64(im, ds + 8 * (uint64_t)(nd + i), (uint64_t)strides[i]);
	}
	img_w64(im, a + (uint64_t)L->arr_data, data);
	img_w32(im, a + (uint64_t)L->arr_nd, (uint32_t)nd);
	img_w64(im, a + (uint64_t)L->arr_dims, ds);
	img_w64(im, a + (uint64_t)L->arr_strides, ds + 8 * (uint64_t)nd);
	img_w64(im, a + (uint64_t)L->arr_base, base);
	img_w64(im, a + (uint64_t)L->arr_descr, descr);
	img_w32(im, a + (uint64_t)L->arr_flags, flags);
	return a;
}

uint64_t img_data(struct image *im, const void *src, size_t len)
{
	uint64_t a = img_alloc(im, len);

	memcpy(img_ptr(im, a), src, len);
	return a;
}

struct pyver py_version(int v)
{
	static const int ft_minors[] = PY_FT_MINORS;
	int gil = PY_MINOR_LAST - PY_MINOR_FIRST + 1;
	struct pyver r = {.ft = v >= gil};

	r.minor = r.ft ? ft_minors[v - gil] : PY_MINOR_FIRST + v;
	snprintf(r.name, sizeof(r.name), "3.%d%s", r.minor, r.ft ? "t" : "");
	return r;
}

static void init(struct image *im, int py_minor, bool ft, int np_major)
{
	memset(im, 0, sizeof(*im));
	im->next = 0x7f0000000000ULL;
	im->ctx.rd.read = image_read;
	im->ctx.rd.ctx = im;
	im->ctx.py = nd_pylayout_find(3, py_minor, ft);
	im->ctx.np = nd_nplayout_find(np_major);
	im->ctx.numpy_version = np_major == 1 ? 124 : 202;
	/* type's own type is itself */
	im->t_type = img_alloc(im, 416);
	header(im, im->t_type, im->t_type);
	img_w64(im, im->t_type + (uint64_t)im->ctx.py->tp_name, cstring(im, "type"));
	img_w64(im, im->t_type + (uint64_t)im->ctx.py->tp_flags,
		ND_TPFLAGS_TYPE);
	uint64_t object = img_type(im, "object", 0, 0);
	img_w64(im, im->t_type + (uint64_t)im->ctx.py->tp_base, object);
	im->t_tuple = img_type(im, "tuple", object, ND_TPFLAGS_TUPLE);
	im->t_int = img_type(im, "int", object, ND_TPFLAGS_LONG);
	im->t_str = img_type(im, "str", object, ND_TPFLAGS_UNICODE);
	im->t_dict = img_type(im, "dict", object, ND_TPFLAGS_DICT);
	im->t_none = img_type(im, "NoneType", object, 0);
	im->t_bytes = img_type(im, "bytes", object, ND_TPFLAGS_BYTES);
	im->t_float = img_type(im, "float", object, 0);
	im->t_memoryview = img_type(im, "memoryview", object, 0);
	im->t_ndarray = img_type(im, "numpy.ndarray", object, 0);
	im->t_dtype = img_type(im, "numpy.dtype", object, 0);
	im->t_dtype_int = img_type(im, "numpy.dtype[int32]", im->t_dtype, 0);
	im->t_void = img_type(im, "numpy.void", object, 0);
	im->none = img_object(im, im->t_none, 16);
	im->ctx.array_type = im->t_ndarray;
	im->ctx.descr_type = im->t_dtype;
	im->ctx.type_type = im->t_type;
}

void image_init(struct image *im, int py_minor, int np_major)
{
	init(im, py_minor, false, np_major);
}

void image_init_version(struct image *im, int v, int np_major)
{
	struct pyver pv = py_version(v);

	init(im, pv.minor, pv.ft, np_major);
}

void image_free(struct image *im)
{
	for (size_t i = 0; i < im->n; i++)
		free(im->seg[i].bytes);
	free(im->seg);
	memset(im, 0, sizeof(*im));
}
