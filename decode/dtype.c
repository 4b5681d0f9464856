/* PyArray_Descr of NumPy 1.x and 2.x decoded into a tree: sub-arrays,
 * fields with titles, datetime units, shared sub-dtypes decoded once;
 * every count, size and depth bounded. */
#define _GNU_SOURCE
#include "dtype.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pydict.h"
#include "pyobj.h"
#include "read.h"
#include "values.h"

/* Dtypes already decoded, by address: NumPy shares sub-dtypes, and a tree
 * that repeats one 700-field dtype 100 times is decoded once. */
struct memo {
	uint64_t addr;
	struct nd_dtype *d;
};

struct dstate {
	struct nd_ctx *c;
	struct nd_arena *a;
	struct nd_err *e;
	int nodes; /* distinct dtypes decoded */
	struct memo *memo;
	size_t memo_cap, memo_n;
};

static int decode(struct dstate *s, uint64_t addr, int depth,
		  struct nd_dtype **out);

static int64_t get_int(const unsigned char *raw, int off, int size)
{
	if (size == 1)
		return (signed char)raw[off];
	if (size == 4) {
		int32_t v;
		memcpy(&v, raw + off, 4);
		return v;
	}
	int64_t v;
	memcpy(&v, raw + off, 8);
	return v;
}

static void *alloc(struct dstate *s, size_t size)
{
	void *p = nd_arena_alloc(s->a, size);

	if (!p)
		nd_fail(s->e, ND_ENOMEM, "dtype too large to decode");
	return p;
}

static int decode_subarray(struct dstate *s, struct nd_dtype *d,
			   uint64_t sub, int depth)
{
	uint64_t p[2]; /* PyArray_ArrayDescr: base, shape */
	uint64_t items[64];
	size_t n;
	int rc = nd_read(s->c, sub, p, sizeof(p), s->e, "sub-array descr");

	if (rc)
		return rc;
	rc = decode(s, p[0], depth + 1, &d->sub_base);
	if (rc)
		return rc;
	int64_t one;
	if (nd_py_long(s->c, p[1], &one, NULL) == 0) {
		/* NumPy once allowed a bare int here */
		items[0] = p[1];
		n = 1;
	} else {
		rc = nd_py_tuple(s->c, p[1], items,
				 (size_t)s->c->np->maxdims, &n, s->e);
		if (rc)
			return rc;
	}
	d->sub_ndim = (int)n;
	d->sub_shape = alloc(s, (n ? n : 1) * sizeof(int64_t));
	if (!d->sub_shape)
		return -1;
	int64_t count = 1;
	for (size_t i = 0; i < n; i++) {
		rc = nd_py_long(s->c, items[i], &d->sub_shape[i], s->e);
		if (rc)
			return rc;
		if (d->sub_shape[i] < 0 ||
		    __builtin_mul_overflow(count, d->sub_shape[i], &count))
			return nd_fail(s->e, ND_ECORRUPT,
				       "dtype at 0x%" PRIx64
				       ": bad sub-array shape",
				       d->addr);
	}
	int64_t total;
	if (__builtin_mul_overflow(count, d->sub_base->elsize, &total) ||
	    total != d->elsize)
		return nd_fail(s->e, ND_ECORRUPT,
			       "dtype at 0x%" PRIx64
			       ": sub-array size does not match itemsize",
			       d->addr);
	return 0;
}

struct fieldscan {
	struct dstate *s;
	struct nd_dtype *d;
	int *order;      /* field indices sorted by name, for lookup */
	uint64_t *value; /* per field: the (descr, offset[, title]) tuple */
	char name[ND_MAX_NAME];
};

static int by_name(const void *a, const void *b, void *arg)
{
	const struct nd_field *f = arg;

	return strcmp(f[*(const int *)a].name, f[*(const int *)b].name);
}

static int scan_field(void *arg, uint64_t key, uint64_t value)
{
	struct fieldscan *f = arg;
	int lo = 0, hi = f->d->nfields;

	/* titles may be any object, and have entries of their own: only
	 * str keys can be field names */
	if (nd_py_str(f->s->c, key, f->name, sizeof(f->name), NULL, NULL))
		return 0;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		int i = f->order[mid];
		int cmp = strcmp(f->name, f->d->fields[i].name);
		if (cmp == 0) {
			f->value[i] = value;
			return 0;
		}
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0; /* a title: its entry duplicates the named one */
}

/* A title as the descr shows it, in both styles: any Python object is
 * allowed, most are str. */
static int decode_title(struct dstate *s, struct nd_field *fld, uint64_t obj)
{
	struct nd_buf py = {0}, json = {0};
	struct nd_pyvalue *v = malloc(sizeof(*v));

	if (!v)
		return nd_fail(s->e, ND_ENOMEM, "out of memory");
	nd_py_value(s->c, obj, v);
	nd_pyscalar_write(&v->v, obj, ND_STYLE_PY, &py);
	nd_pyscalar_write(&v->v, obj, ND_STYLE_JSON, &json);
	free(v);
	fld->title_py = nd_arena_strdup(s->a, nd_buf_str(&py));
	fld->title_json = nd_arena_strdup(s->a, nd_buf_str(&json));
	nd_buf_free(&py);
	nd_buf_free(&json);
	if (!fld->title_py || !fld->title_json)
		return nd_fail(s->e, ND_ENOMEM, "dtype too large");
	return 0;
}

static int decode_field(struct dstate *s, struct nd_dtype *d,
			struct nd_field *fld, uint64_t value, int depth)
{
	uint64_t items[3];
	size_t n;
	int rc = nd_py_tuple(s->c, value, items, 3, &n, s->e);

	if (rc)
		return rc;
	if (n < 2)
		return nd_fail(s->e, ND_ECORRUPT,
			       "dtype at 0x%" PRIx64 ": bad entry for field '%s'",
			       d->addr, fld->name);
	if ((rc = decode(s, items[0], depth + 1, &fld->dtype)) ||
	    (rc = nd_py_long(s->c, items[1], &fld->offset, s->e)))
		return rc;
	if (fld->offset < 0 || fld->offset > d->elsize ||
	    fld->dtype->elsize > d->elsize - fld->offset)
		return nd_fail(s->e, ND_ECORRUPT,
			       "dtype at 0x%" PRIx64
			       ": field '%s' lies outside the item",
			       d->addr, fld->name);
	if (n == 3 && !nd_py_is_none(s->c, items[2]))
		return decode_title(s, fld, items[2]);
	return 0;
}

static int decode_fields(struct dstate *s, struct nd_dtype *d, uint64_t names,
			 uint64_t fields, int depth)
{
	uint64_t *items = malloc(ND_MAX_FIELDS * sizeof(uint64_t));
	size_t n;
	int64_t entries;

	if (!items)
		return nd_fail(s->e, ND_ENOMEM, "out of memory");
	int rc = nd_py_tuple(s->c, names, items, ND_MAX_FIELDS, &n, s->e);
	if (rc) {
		free(items);
		return rc;
	}
	d->nfields = (int)n;
	d->fields = alloc(s, (n ? n : 1) * sizeof(*d->fields));
	uint64_t *value = alloc(s, (n ? n : 1) * sizeof(uint64_t));
	int *order = alloc(s, (n ? n : 1) * sizeof(int));
	struct fieldscan *scan = alloc(s, sizeof(*scan));
	for (size_t i = 0; i < n && d->fields && value && order && scan && !rc;
	     i++) {
		rc = nd_py_str(s->c, items[i], scan->name, sizeof(scan->name),
			       NULL, s->e);
		if (!rc && !(d->fields[i].name =
				     nd_arena_strdup(s->a, scan->name)))
			rc = nd_fail(s->e, ND_ENOMEM, "dtype too large");
		order[i] = (int)i;
	}
	free(items);
	if (rc)
		return rc;
	if (!d->fields || !value || !order || !scan)
		return nd_fail(s->e, ND_ENOMEM, "out of memory");
	/* one entry per name and per title: more is not a dtype's dict */
	if ((rc = nd_py_dict_len(s->c, fields, &entries, s->e)))
		return rc;
	if (entries > 2 * (int64_t)n)
		return nd_fail(s->e, ND_ECORRUPT,
			       "dtype at 0x%" PRIx64 ": %" PRId64
			       " fields defined for %zu names",
			       d->addr, entries, n);
	qsort_r(order, n, sizeof(int), by_name, d->fields);
	*scan = (struct fieldscan){.s = s, .d = d, .order = order,
				   .value = value};
	rc = nd_py_dict_foreach(s->c, fields, scan_field, scan, s->e);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (!value[i])
			return nd_fail(s->e, ND_ECORRUPT,
				       "dtype at 0x%" PRIx64
				       ": field '%s' is named but not defined",
				       d->addr, d->fields[i].name);
		rc = decode_field(s, d, &d->fields[i], value[i], depth);
		if (rc)
			return rc;
	}
	return 0;
}

static bool valid_alignment(int64_t a)
{
	return a >= 1 && a <= 4096 && (a & (a - 1)) == 0;
}

static struct nd_dtype *memo_get(const struct dstate *s, uint64_t addr)
{
	for (size_t i = (addr >> 4) & (s->memo_cap - 1); s->memo_cap;
	     i = (i + 1) & (s->memo_cap - 1)) {
		if (s->memo[i].addr == addr)
			return s->memo[i].d;
		if (!s->memo[i].addr)
			return NULL;
	}
	return NULL;
}

static int memo_put(struct dstate *s, uint64_t addr, struct nd_dtype *d)
{
	if (2 * (s->memo_n + 1) > s->memo_cap) {
		size_t cap = s->memo_cap ? 2 * s->memo_cap : 64;
		struct memo *m = calloc(cap, sizeof(*m));
		if (!m)
			return nd_fail(s->e, ND_ENOMEM, "out of memory");
		struct dstate grown = {.memo = m, .memo_cap = cap};
		for (size_t i = 0; i < s->memo_cap; i++)
			if (s->memo[i].addr)
				memo_put(&grown, s->memo[i].addr, s->memo[i].d);
		free(s->memo);
		s->memo = m;
		s->memo_cap = cap;
	}
	size_t i = (addr >> 4) & (s->memo_cap - 1);
	while (s->memo[i].addr)
		i = (i + 1) & (s->memo_cap - 1);
	s->memo[i] = (struct memo){addr, d};
	s->memo_n++;
	return 0;
}

#define SCALARS_MAX (1LL << 40)

/* What the writers walk, computed once per distinct dtype: the nodes with
 * shared sub-dtypes counted each time (saturating just past the limit),
 * the values one item prints, and whether objects hide inside. */
static void summarise(struct nd_dtype *d)
{
	int64_t n = 0;

	d->has_object = d->kind == 'O' ||
			(d->sub_base && d->sub_base->has_object);
	if (d->sub_base) {
		int64_t count = 1;
		for (int i = 0; i < d->sub_ndim; i++)
			if (__builtin_mul_overflow(count, d->sub_shape[i], &count))
				count = SCALARS_MAX;
		if (__builtin_mul_overflow(count, d->sub_base->scalars, &n))
			n = SCALARS_MAX;
	} else if (!d->structured) {
		n = 1;
	}
	for (int i = 0; i < d->nfields; i++) {
		d->has_object |= d->fields[i].dtype->has_object;
		if (__builtin_add_overflow(n, d->fields[i].dtype->scalars, &n))
			n = SCALARS_MAX;
	}
	d->scalars = n < SCALARS_MAX ? n : SCALARS_MAX;
}

static int64_t expanded(const struct nd_dtype *d)
{
	int64_t w = 1 + (d->sub_base ? d->sub_base->weight : 0);

	for (int i = 0; i < d->nfields && w <= ND_MAX_DTYPE_EXPANDED; i++)
		w += d->fields[i].dtype->weight;
	return w > ND_MAX_DTYPE_EXPANDED ? ND_MAX_DTYPE_EXPANDED + 1 : w;
}

static int decode_node(struct dstate *s, uint64_t addr, int depth,
		       struct nd_dtype **out);

static int decode(struct dstate *s, uint64_t addr, int depth,
		  struct nd_dtype **out)
{
	if ((*out = memo_get(s, addr)))
		return 0;
	/* a cycle is never memoised (its nodes are unfinished): it ends at
	 * the depth limit, a wide one at the node limit */
	if (depth > ND_MAX_DTYPE_DEPTH || ++s->nodes > ND_MAX_DTYPE_NODES)
		return nd_fail(s->e, ND_ELIMIT,
			       "dtype at 0x%" PRIx64 " is nested too deeply or "
			       "has too many fields",
			       addr);
	int rc = decode_node(s, addr, depth, out);
	if (rc)
		return rc;
	(*out)->weight = expanded(*out);
	summarise(*out);
	if ((*out)->weight > ND_MAX_DTYPE_EXPANDED)
		return nd_fail(s->e, ND_ELIMIT,
			       "dtype at 0x%" PRIx64 " expands to more than %d "
			       "fields",
			       addr, ND_MAX_DTYPE_EXPANDED);
	return memo_put(s, addr, *out);
}

/* Sizes the kinds allow: formatting reads items by kind, so a hostile
 * descr must not claim a 3-byte datetime or object pointer. */
static bool size_fits_kind(char kind, int64_t size)
{
	switch (kind) {
	case 'b':
		return size == 1;
	case 'i':
	case 'u':
		return size == 1 || size == 2 || size == 4 || size == 8;
	case 'f':
		return size == 2 || size == 4 || size == 8 || size == 12 ||
		       size == 16;
	case 'c':
		return size == 8 || size == 16 || size == 24 || size == 32;
	case 'M':
	case 'm':
	case 'O':
		return size == 8;
	default:
		return true;
	}
}

static int decode_node(struct dstate *s, uint64_t addr, int depth,
		       struct nd_dtype **out)
{
	const struct nd_nplayout *L = s->c->np;
	unsigned char raw[128];
	uint64_t type;
	bool is_descr;
	int rc = nd_py_header(s->c, addr, NULL, &type, s->e);
	if (rc)
		return rc;
	rc = nd_py_is_subtype(s->c, type, s->c->descr_type, &is_descr, s->e);
	if (rc)
		return rc;
	if (!is_descr) {
		char tn[96];
		nd_py_describe(s->c, addr, tn, sizeof(tn));
		return nd_fail(s->e, ND_ECORRUPT,
			       "descr pointer 0x%" PRIx64
			       " is a %s, not a numpy.dtype",
			       addr, tn[0] ? tn : "unreadable object");
	}
	rc = nd_read(s->c, addr, raw, (size_t)L->d_basicsize, s->e, "dtype");
	if (rc)
		return rc;
	struct nd_dtype *d = alloc(s, sizeof(*d));
	if (!d)
		return -1;
	d->addr = addr;
	d->kind = (char)raw[L->d_kind];
	d->type = (char)raw[L->d_type];
	d->byteorder = (char)raw[L->d_byteorder];
	d->type_num = (int)get_int(raw, L->d_type_num, 4);
	d->flags = (uint64_t)get_int(raw, L->d_flags, L->d_flags_size);
	if (L->d_flags_size == 1)
		d->flags &= 0xff;
	d->elsize = get_int(raw, L->d_elsize, L->d_elsize_size);
	d->alignment = get_int(raw, L->d_alignment, L->d_alignment_size);
	d->dt_unit = -1;
	if (!strchr("biufcmMOSUVT", d->kind) || d->kind == 0 ||
	    !strchr("<>=|", d->byteorder) || d->byteorder == 0 ||
	    d->type_num < 0 || d->elsize < 0 || d->elsize > (1LL << 40) ||
	    !size_fits_kind(d->kind, d->elsize) ||
	    !valid_alignment(d->alignment))
		return nd_fail(s->e, ND_ECORRUPT,
			       "dtype at 0x%" PRIx64
			       " has impossible fields (kind 0x%02x, itemsize "
			       "%" PRId64 ")",
			       addr, (unsigned char)d->kind, d->elsize);
	const char *scalar;
	uint64_t typeobj = nd_u64_at(raw, (size_t)L->d_typeobj);
	if (nd_py_type_name(s->c, typeobj, &scalar, NULL) == 0)
		d->scalar_type = nd_arena_strdup(s->a, scalar);
	uint64_t metadata = nd_u64_at(raw, (size_t)L->d_metadata);
	if (metadata && !nd_py_is_none(s->c, metadata)) {
		int64_t n = 0;
		if (nd_py_dict_len(s->c, metadata, &n, NULL) == 0)
			d->has_metadata = n > 0;
	}
	*out = d;
	if (d->type_num >= L->legacy_type_num_end)
		return 0; /* new-style dtype: no legacy tail */
	if (L->d_c_metadata + 8 > L->d_basicsize) {
		rc = nd_read(s->c, addr + (uint64_t)L->d_basicsize,
			     raw + L->d_basicsize,
			     (size_t)(L->d_c_metadata + 8 - L->d_basicsize),
			     s->e, "dtype legacy fields");
		if (rc)
			return rc;
	}
	if (d->type_num == ND_DATETIME || d->type_num == ND_TIMEDELTA) {
		int32_t meta[2];
		uint64_t cm = nd_u64_at(raw, (size_t)L->d_c_metadata);
		rc = nd_read(s->c, cm + (uint64_t)L->dt_meta_base, meta,
			     sizeof(meta), s->e, "datetime metadata");
		if (rc)
			return rc;
		if (meta[0] < 0 || meta[0] > ND_DT_GENERIC || meta[0] == 3 ||
		    meta[1] < 1)
			return nd_fail(s->e, ND_ECORRUPT,
				       "dtype at 0x%" PRIx64
				       ": bad datetime unit %d/%d",
				       addr, meta[0], meta[1]);
		d->dt_unit = meta[0];
		d->dt_num = meta[1];
	}
	uint64_t sub = nd_u64_at(raw, (size_t)L->d_subarray);
	uint64_t names = nd_u64_at(raw, (size_t)L->d_names);
	uint64_t fields = nd_u64_at(raw, (size_t)L->d_fields);
	if (sub) {
		rc = decode_subarray(s, d, sub, depth);
		if (rc)
			return rc;
	}
	if (names && !nd_py_is_none(s->c, names)) {
		d->structured = true;
		rc = decode_fields(s, d, names, fields, depth);
		if (rc)
			return rc;
	}
	return 0;
}

int nd_dtype_decode(struct nd_ctx *c, struct nd_arena *a, uint64_t addr,
		    struct nd_dtype **out, struct nd_err *e)
{
	struct dstate s = {.c = c, .a = a, .e = e};
	int rc = decode(&s, addr, 0, out);

	free(s.memo);
	return rc;
}

bool nd_dtype_is_datetime(const struct nd_dtype *d)
{
	return d->type_num == ND_DATETIME || d->type_num == ND_TIMEDELTA;
}

bool nd_dtype_has_object(const struct nd_dtype *d)
{
	return d->has_object;
}
