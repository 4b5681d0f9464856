#include "ndarray.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pyobj.h"

const struct nd_flag_name nd_flag_names[6] = {
	{"C_CONTIGUOUS", ND_F_C_CONTIGUOUS},
	{"F_CONTIGUOUS", ND_F_F_CONTIGUOUS},
	{"OWNDATA", ND_F_OWNDATA},
	{"WRITEABLE", ND_F_WRITEABLE},
	{"ALIGNED", ND_F_ALIGNED},
	{"WRITEBACKIFCOPY", ND_F_WRITEBACKIFCOPY},
};

const char *nd_base_kind_name(enum nd_base_kind k)
{
	static const char *const names[] = {
		"ndarray", "bytes", "bytearray", "memoryview", "mmap",
		"ctypes", "object",
	};
	return names[k];
}

size_t nd_array_header_len(const struct nd_nplayout *L)
{
	return (size_t)L->arr_flags + 4;
}

void nd_array_parse(const struct nd_nplayout *L, const unsigned char *raw,
		    struct nd_arr_raw *r)
{
	int32_t nd;

	memcpy(&r->refcnt, raw, 8);
	memcpy(&r->type, raw + 8, 8);
	memcpy(&r->data, raw + L->arr_data, 8);
	memcpy(&nd, raw + L->arr_nd, 4);
	r->nd = nd;
	memcpy(&r->dims, raw + L->arr_dims, 8);
	memcpy(&r->strides, raw + L->arr_strides, 8);
	memcpy(&r->base, raw + L->arr_base, 8);
	memcpy(&r->descr, raw + L->arr_descr, 8);
	memcpy(&r->flags, raw + L->arr_flags, 4);
}

bool nd_array_plausible(const struct nd_nplayout *L,
			const unsigned char *raw)
{
	struct nd_arr_raw r;

	nd_array_parse(L, raw, &r);
	if (r.refcnt == 0 || r.refcnt >= ND_MAX_ARRAY_REFCNT || r.nd < 0 ||
	    r.nd > L->maxdims || !r.descr || (r.descr & 7))
		return false;
	return r.nd == 0 || (r.dims && r.strides && !(r.dims & 7) &&
			     !(r.strides & 7));
}

static int read_arr(struct nd_ctx *c, uint64_t addr, struct nd_arr_raw *r,
		    struct nd_err *e)
{
	unsigned char raw[ND_ARR_HEADER_MAX];
	int rc = nd_read(c, addr, raw, nd_array_header_len(c->np), e,
			 "ndarray");

	if (!rc)
		nd_array_parse(c->np, raw, r);
	return rc;
}

int nd_array_peek_nbytes(struct nd_ctx *c, uint64_t addr,
			 struct nd_itemsize_memo *m, int64_t *nbytes)
{
	const struct nd_nplayout *L = c->np;
	int64_t dims[ND_MAXDIMS], size = 1, itemsize = 0;
	struct nd_arr_raw r;

	*nbytes = INT64_MAX;
	if (read_arr(c, addr, &r, NULL) || r.nd < 0 || r.nd > L->maxdims ||
	    (r.nd && nd_read(c, r.dims, dims, (size_t)r.nd * 8, NULL, "dims")))
		return -1;
	for (int i = 0; i < r.nd; i++)
		if (dims[i] < 0 || __builtin_mul_overflow(size, dims[i], &size))
			return 0;
	size_t slot = (r.descr >> 4) % ND_ITEMSIZE_MEMO;
	if (m->descr[slot] == r.descr) {
		itemsize = m->itemsize[slot];
	} else {
		unsigned char v[8] = {0};
		if (nd_read(c, r.descr + (uint64_t)L->d_elsize, v,
			    (size_t)L->d_elsize_size, NULL, "itemsize"))
			return 0;
		memcpy(&itemsize, v, 8);
		if (L->d_elsize_size == 4)
			itemsize = (int32_t)itemsize;
		m->descr[slot] = r.descr;
		m->itemsize[slot] = itemsize;
	}
	if (__builtin_mul_overflow(size, itemsize, nbytes))
		*nbytes = INT64_MAX;
	return 0;
}

/* Which builtin buffer owner a type is (or derives from). */
static enum nd_base_kind classify(struct nd_ctx *c, uint64_t type)
{
	static const struct {
		const char *name;
		enum nd_base_kind kind;
	} known[] = {
		{"bytes", ND_BASE_BYTES},
		{"bytearray", ND_BASE_BYTEARRAY},
		{"memoryview", ND_BASE_MEMORYVIEW},
		{"mmap.mmap", ND_BASE_MMAP},
	};
	uint64_t t = type;

	for (int depth = 0; depth < 16 && t; depth++) {
		const char *name;
		uint64_t meta;
		if (nd_py_type_name(c, t, &name, NULL))
			break;
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(name, known[i].name) == 0)
				return known[i].kind;
		/* ctypes instances are recognised by their metatype,
		 * _ctypes.PyCArrayType, PyCSimpleType, PyCPointerType, ... */
		if (nd_py_header(c, t, NULL, &meta, NULL) == 0 &&
		    nd_py_type_name(c, meta, &name, NULL) == 0 &&
		    strncmp(name, "_ctypes.", 8) == 0)
			return ND_BASE_CTYPES;
		if (nd_read_u64(c, t + (uint64_t)c->py->tp_base, &t, NULL,
				"tp_base"))
			break;
	}
	return ND_BASE_OTHER;
}

static void buffer_details(struct nd_ctx *c, struct nd_arena *a,
			   struct nd_base *b)
{
	const struct nd_pylayout *P = c->py;
	uint64_t v[2];
	int64_t len;

	b->buf = 0;
	b->len = -1;
	switch (b->kind) {
	case ND_BASE_BYTES:
		if (nd_read(c, b->addr + (uint64_t)P->ob_size, &len, 8, NULL,
			    "bytes size") == 0) {
			b->buf = b->addr + (uint64_t)P->bytes_sval;
			b->len = len;
		}
		break;
	case ND_BASE_BYTEARRAY:
		if (nd_read(c, b->addr + (uint64_t)P->ob_size, &len, 8, NULL,
			    "size") == 0 &&
		    nd_read_u64(c, b->addr + (uint64_t)P->bytearray_start,
				&v[0], NULL, "start") == 0) {
			b->buf = v[0];
			b->len = len;
		}
		break;
	case ND_BASE_MEMORYVIEW:
		if (nd_read_u64(c, b->addr + (uint64_t)P->mview_buf, &v[0],
				NULL, "buf") == 0 &&
		    nd_read_u64(c, b->addr + (uint64_t)P->mview_obj, &v[1],
				NULL, "obj") == 0 &&
		    nd_read(c, b->addr + (uint64_t)P->mview_len, &len, 8, NULL,
			    "len") == 0) {
			char tn[ND_MAX_NAME];
			b->buf = v[0];
			b->len = len;
			b->obj = v[1];
			if (v[1]) {
				nd_py_describe(c, v[1], tn, sizeof(tn));
				b->obj_type = nd_arena_strdup(a, tn);
			}
		}
		break;
	case ND_BASE_MMAP:
		if (nd_read_u64(c, b->addr + (uint64_t)P->mmap_data, &v[0],
				NULL, "data") == 0 &&
		    nd_read(c, b->addr + (uint64_t)P->mmap_size, &len, 8, NULL,
			    "size") == 0) {
			b->buf = v[0];
			b->len = len;
		}
		break;
	case ND_BASE_CTYPES:
		if (nd_read_u64(c, b->addr + (uint64_t)P->cdata_ptr, &v[0],
				NULL, "b_ptr") == 0 &&
		    nd_read(c, b->addr + (uint64_t)P->cdata_size, &len, 8,
			    NULL, "b_size") == 0) {
			b->buf = v[0];
			b->len = len;
		}
		break;
	default:
		break;
	}
}

static int decode_bases(struct nd_ctx *c, struct nd_array *arr, uint64_t base,
			struct nd_err *e)
{
	uint64_t seen[ND_MAX_BASES + 1];
	int nseen = 0;

	seen[nseen++] = arr->addr;
	arr->bases = nd_arena_alloc(&arr->arena,
				    ND_MAX_BASES * sizeof(*arr->bases));
	if (!arr->bases)
		return nd_fail(e, ND_ENOMEM, "out of memory");
	while (base && arr->nbases < ND_MAX_BASES) {
		for (int i = 0; i < nseen; i++) {
			if (seen[i] == base) {
				arr->base_cycle = true;
				return 0;
			}
		}
		seen[nseen++] = base;
		struct nd_base *b = &arr->bases[arr->nbases];
		uint64_t type;
		const char *name;
		bool is_array;
		int rc = nd_py_header(c, base, NULL, &type, e);
		if (!rc)
			rc = nd_py_type_name(c, type, &name, e);
		if (!rc)
			rc = nd_py_is_subtype(c, type, c->array_type, &is_array, e);
		if (rc)
			return rc;
		b->addr = base;
		b->type = nd_arena_strdup(&arr->arena, name);
		if (!b->type)
			return nd_fail(e, ND_ENOMEM, "out of memory");
		arr->nbases++;
		if (!is_array) {
			b->kind = classify(c, type);
			buffer_details(c, &arr->arena, b);
			return 0;
		}
		struct nd_arr_raw r;
		rc = read_arr(c, base, &r, e);
		if (rc)
			return rc;
		b->kind = ND_BASE_ARRAY;
		b->data = r.data;
		b->flags = r.flags;
		b->len = -1;
		base = r.base;
	}
	if (base)
		arr->base_cycle = true; /* longer than any real chain */
	return 0;
}

/* Byte range [lo, hi) that the elements cover relative to data, checked
 * for overflow so that hostile strides cannot wrap. */
static int extent(struct nd_array *a, struct nd_err *e)
{
	int64_t lo = 0, hi = a->dtype->elsize;

	if (a->size == 0) {
		a->extent_lo = a->extent_hi = 0;
		return 0;
	}
	for (int i = 0; i < a->ndim; i++) {
		int64_t span;
		if (__builtin_mul_overflow(a->shape[i] - 1, a->strides[i], &span))
			goto overflow;
		if (span < 0 ? __builtin_add_overflow(lo, span, &lo)
			     : __builtin_add_overflow(hi, span, &hi))
			goto overflow;
	}
	a->extent_lo = lo;
	a->extent_hi = hi;
	if ((lo < 0 && (uint64_t)0 - (uint64_t)lo > a->data) ||
	    (hi > 0 && a->data + (uint64_t)hi < a->data))
		goto overflow;
	return 0;
overflow:
	return nd_fail_at(e, ND_ECORRUPT, a->addr, "ndarray at 0x%" PRIx64
			  ": strides reach outside the address space", a->addr);
}

int nd_array_decode(struct nd_ctx *c, uint64_t addr, struct nd_array *a,
		    struct nd_err *e)
{
	struct nd_arr_raw r;
	uint64_t type;
	const char *name;
	bool is_array;

	struct nd_err head = {0};

	memset(a, 0, sizeof(*a));
	a->addr = addr;
	int rc = nd_py_header(c, addr, &a->refcnt, &type, &head);
	if (rc && head.code == ND_ECORRUPT)
		return nd_fail_at(e, ND_ENOTARRAY, addr, "0x%" PRIx64
				  " does not hold a live Python object", addr);
	if (rc)
		return nd_err_take(e, &head);
	if (nd_py_type_name(c, type, &name, NULL) != 0)
		return nd_fail_at(e, ND_ENOTARRAY, addr,
			       "0x%" PRIx64
			       " does not hold a live Python object (its type "
			       "pointer 0x%" PRIx64 " is not a type)",
			       addr, type);
	rc = nd_py_is_subtype(c, type, c->array_type, &is_array, e);
	if (rc)
		return rc;
	if (!is_array)
		return nd_fail_at(e, ND_ENOTARRAY, addr,
			       "0x%" PRIx64 " holds a Python %s, not a "
			       "numpy.ndarray",
			       addr, name);
	uint64_t word;
	if (nd_read_u64(c, addr, &word, NULL, "object header") ||
	    word >= ND_MAX_ARRAY_REFCNT)
		return nd_fail_at(e, ND_ENOTARRAY, addr,
			       "0x%" PRIx64
			       " does not hold a live array (its reference "
			       "count word 0x%" PRIx64 " is not a count)",
			       addr, word);
	a->type = type;
	a->type_name = nd_arena_strdup(&a->arena, name);
	if (!a->type_name)
		return nd_fail(e, ND_ENOMEM, "out of memory");
	if ((rc = read_arr(c, addr, &r, e)))
		return rc;
	if (r.nd < 0 || r.nd > c->np->maxdims)
		return nd_fail_at(e, ND_ECORRUPT, addr,
			       "ndarray at 0x%" PRIx64 ": ndim %" PRId64
			       " is out of range (0-%d)",
			       addr, r.nd, c->np->maxdims);
	a->raw = r;
	a->ndim = (int)r.nd;
	a->data = r.data;
	a->flags = r.flags;
	if (a->ndim &&
	    ((rc = nd_read(c, r.dims, a->shape, (size_t)a->ndim * 8, e,
			   "ndarray shape")) ||
	     (rc = nd_read(c, r.strides, a->strides, (size_t)a->ndim * 8, e,
			   "ndarray strides"))))
		return rc;
	a->size = 1;
	for (int i = 0; i < a->ndim; i++) {
		if (a->shape[i] < 0 ||
		    __builtin_mul_overflow(a->size, a->shape[i], &a->size))
			return nd_fail_at(e, ND_ECORRUPT, addr,
				       "ndarray at 0x%" PRIx64
				       ": shape is negative or overflows",
				       addr);
	}
	if ((rc = nd_dtype_decode(c, &a->arena, r.descr, &a->dtype, e)))
		return rc;
	if (__builtin_mul_overflow(a->size, a->dtype->elsize, &a->nbytes))
		return nd_fail_at(e, ND_ECORRUPT, addr,
			       "ndarray at 0x%" PRIx64 ": size overflows", addr);
	if ((rc = extent(a, e)))
		return rc;
	return decode_bases(c, a, r.base, e);
}

bool nd_array_unchanged(struct nd_ctx *c, const struct nd_array *a)
{
	const struct nd_arr_raw *was = &a->raw;
	unsigned char raw[ND_ARR_HEADER_MAX];
	int64_t dims[ND_MAXDIMS], strides[ND_MAXDIMS];
	size_t dlen = (size_t)a->ndim * 8;
	/* one batch where the reader has one: the three are read together */
	struct nd_iov iov[3] = {
		{a->addr, raw, nd_array_header_len(c->np)},
		{was->dims, dims, dlen},
		{was->strides, strides, dlen},
	};
	size_t n = a->ndim ? 3 : 1;
	struct nd_arr_raw now;

	if (c->rd.readv) {
		if (c->rd.readv(c->rd.ctx, iov, n))
			return false;
	} else {
		for (size_t i = 0; i < n; i++)
			if (nd_read(c, iov[i].addr, iov[i].buf, iov[i].len,
				    NULL, "ndarray"))
				return false;
	}
	nd_array_parse(c->np, raw, &now);
	return now.type == was->type && now.data == was->data &&
	       now.nd == was->nd && now.dims == was->dims &&
	       now.strides == was->strides && now.base == was->base &&
	       now.descr == was->descr && now.flags == was->flags &&
	       memcmp(dims, a->shape, dlen) == 0 &&
	       memcmp(strides, a->strides, dlen) == 0;
}

size_t nd_array_raw_state(struct nd_ctx *c, uint64_t addr,
			  unsigned char out[ND_RAW_STATE_MAX])
{
	size_t hlen = nd_array_header_len(c->np);
	struct nd_arr_raw r;

	if (nd_read(c, addr, out, hlen, NULL, "ndarray"))
		return 0;
	nd_array_parse(c->np, out, &r);
	size_t dlen = (size_t)r.nd * 8;
	if (r.nd <= 0 || r.nd > c->np->maxdims ||
	    nd_read(c, r.dims, out + hlen, dlen, NULL, "shape") ||
	    nd_read(c, r.strides, out + hlen + dlen, dlen, NULL, "strides"))
		return hlen;
	return hlen + 2 * dlen;
}

void nd_array_free(struct nd_array *a)
{
	nd_arena_free(&a->arena);
}
