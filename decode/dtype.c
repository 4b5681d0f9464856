#define _GNU_SOURCE
#include "dtype.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyobj.h"
#include "values.h"

static const char *const dt_units[] = {
	"Y", "M", "W", "<invalid>", "D", "h", "m", "s", "ms", "us", "ns",
	"ps", "fs", "as", "generic",
};

const char *nd_dt_unit_name(int unit)
{
	if (unit < 0 || unit > ND_DT_GENERIC || unit == 3)
		return "?";
	return dt_units[unit];
}

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

static uint64_t get_ptr(const unsigned char *raw, int off)
{
	uint64_t v;
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
	if (nd_py_type_name(s->c, get_ptr(raw, L->d_typeobj), &scalar, NULL) == 0)
		d->scalar_type = nd_arena_strdup(s->a, scalar);
	uint64_t metadata = get_ptr(raw, L->d_metadata);
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
		uint64_t cm = get_ptr(raw, L->d_c_metadata);
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
	uint64_t sub = get_ptr(raw, L->d_subarray);
	uint64_t names = get_ptr(raw, L->d_names);
	uint64_t fields = get_ptr(raw, L->d_fields);
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

void nd_dtype_dt_meta(const struct nd_dtype *d, struct nd_buf *b)
{
	if (!nd_dtype_is_datetime(d) || d->dt_unit == ND_DT_GENERIC ||
	    d->dt_unit < 0)
		return;
	if (d->dt_num == 1)
		nd_buf_printf(b, "[%s]", nd_dt_unit_name(d->dt_unit));
	else
		nd_buf_printf(b, "[%d%s]", d->dt_num,
			      nd_dt_unit_name(d->dt_unit));
}

void nd_dtype_str(const struct nd_dtype *d, struct nd_buf *b)
{
	char order = d->byteorder == '=' ? '<' : d->byteorder;
	int64_t size = d->elsize;

	if (d->type_num == ND_UNICODE)
		size /= 4;
	if (d->type_num == ND_OBJECT)
		nd_buf_printf(b, "%c%c", order, d->kind);
	else
		nd_buf_printf(b, "%c%c%" PRId64, order, d->kind, size);
	nd_dtype_dt_meta(d, b);
}

/* Mirrors numpy's _array_descr: fields in order, with explicit padding. */
bool nd_dtype_descr_defined(const struct nd_dtype *d)
{
	int64_t offset = 0;

	if (!d->structured)
		return d->sub_base ? nd_dtype_descr_defined(d->sub_base) : true;
	for (int i = 0; i < d->nfields; i++) {
		const struct nd_field *f = &d->fields[i];
		if (f->offset < offset)
			return false;
		const struct nd_dtype *fd = f->dtype->sub_base ? f->dtype->sub_base
							       : f->dtype;
		if (!nd_dtype_descr_defined(fd))
			return false;
		offset = f->offset + f->dtype->elsize;
	}
	return true;
}

static void put_str(struct nd_buf *b, const char *s, enum nd_style style)
{
	if (style == ND_STYLE_JSON)
		nd_buf_json_str(b, s, strlen(s));
	else
		nd_buf_py_repr(b, s);
}

static void put_typestr(struct nd_buf *b, const struct nd_dtype *d,
			enum nd_style style)
{
	struct nd_buf t = {0};

	nd_dtype_str(d, &t);
	put_str(b, nd_buf_str(&t), style);
	nd_buf_free(&t);
}

static void descr_any(const struct nd_dtype *d, struct nd_buf *b,
		      enum nd_style style);

static void padding(struct nd_buf *b, int64_t n, enum nd_style style)
{
	char pad[32];

	snprintf(pad, sizeof(pad), "|V%" PRId64, n);
	nd_buf_puts(b, style == ND_STYLE_JSON ? "[" : "(");
	put_str(b, "", style);
	nd_buf_puts(b, ", ");
	put_str(b, pad, style);
	nd_buf_puts(b, style == ND_STYLE_JSON ? "]" : ")");
}

void nd_dtype_descr_list(const struct nd_dtype *d, struct nd_buf *b,
			 enum nd_style style)
{
	const char *open = style == ND_STYLE_JSON ? "[" : "(";
	const char *close = style == ND_STYLE_JSON ? "]" : ")";
	int64_t offset = 0;
	bool first = true;

	nd_buf_putc(b, '[');
	for (int i = 0; i < d->nfields; i++) {
		const struct nd_field *f = &d->fields[i];
		if (f->offset > offset) {
			if (!first)
				nd_buf_puts(b, ", ");
			padding(b, f->offset - offset, style);
			offset = f->offset;
			first = false;
		}
		if (!first)
			nd_buf_puts(b, ", ");
		first = false;
		nd_buf_puts(b, open);
		if (f->title_py) {
			nd_buf_puts(b, open);
			nd_buf_puts(b, style == ND_STYLE_JSON ? f->title_json
							      : f->title_py);
			nd_buf_puts(b, ", ");
			put_str(b, f->name, style);
			nd_buf_puts(b, close);
		} else {
			put_str(b, f->name, style);
		}
		nd_buf_puts(b, ", ");
		if (f->dtype->sub_base) {
			descr_any(f->dtype->sub_base, b, style);
			nd_buf_puts(b, ", ");
			nd_buf_ints(b, f->dtype->sub_shape, f->dtype->sub_ndim,
				  style);
		} else {
			descr_any(f->dtype, b, style);
		}
		nd_buf_puts(b, close);
		offset += f->dtype->elsize;
	}
	if (d->elsize > offset) {
		if (!first)
			nd_buf_puts(b, ", ");
		padding(b, d->elsize - offset, style);
	}
	nd_buf_putc(b, ']');
}

static void descr_any(const struct nd_dtype *d, struct nd_buf *b,
		      enum nd_style style)
{
	if (d->structured) {
		nd_dtype_descr_list(d, b, style);
	} else if (d->sub_base) {
		nd_buf_puts(b, style == ND_STYLE_JSON ? "[" : "(");
		descr_any(d->sub_base, b, style);
		nd_buf_puts(b, ", ");
		nd_buf_ints(b, d->sub_shape, d->sub_ndim, style);
		nd_buf_puts(b, style == ND_STYLE_JSON ? "]" : ")");
	} else {
		put_typestr(b, d, style);
	}
}

void nd_dtype_iface_descr(const struct nd_dtype *d, struct nd_buf *b,
			  enum nd_style style)
{
	if (d->structured && nd_dtype_descr_defined(d)) {
		nd_dtype_descr_list(d, b, style);
		return;
	}
	/* NumPy's default, also its fallback when _array_descr raises */
	nd_buf_puts(b, style == ND_STYLE_JSON ? "[[" : "[(");
	put_str(b, "", style);
	nd_buf_puts(b, ", ");
	put_typestr(b, d, style);
	nd_buf_puts(b, style == ND_STYLE_JSON ? "]]" : ")]");
}

static const char *kind_name(char kind)
{
	switch (kind) {
	case 'b': return "bool";
	case 'i': return "int";
	case 'u': return "uint";
	case 'f': return "float";
	case 'c': return "complex";
	default: return NULL;
	}
}

static bool is_native(const struct nd_dtype *d)
{
	return d->byteorder != '>';
}

/* numpy's _scalar_str: the short form ('<i4') inside structured reprs,
 * the long one ('int32') at top level. */
static void scalar_repr(const struct nd_dtype *d, bool shortform,
			struct nd_buf *b)
{
	char order = d->byteorder == '>' ? '>' : d->byteorder == '|' ? 0 : '<';
	const char *kn = kind_name(d->kind);

	nd_buf_putc(b, '\'');
	if (d->kind == 'b') {
		nd_buf_puts(b, shortform ? "?" : "bool");
	} else if (d->kind == 'O') {
		nd_buf_putc(b, 'O');
	} else if (d->kind == 'S' || d->kind == 'V') {
		nd_buf_putc(b, d->kind);
		if (d->elsize)
			nd_buf_printf(b, "%" PRId64, d->elsize);
	} else if (d->kind == 'U') {
		nd_buf_printf(b, "%cU", order ? order : '<');
		if (d->elsize)
			nd_buf_printf(b, "%" PRId64, d->elsize / 4);
	} else if (d->kind == 'M' || d->kind == 'm') {
		nd_buf_printf(b, "%c%c8", order ? order : '<', d->kind);
		nd_dtype_dt_meta(d, b);
	} else if (kn && !shortform && is_native(d)) {
		nd_buf_printf(b, "%s%" PRId64, kn, d->elsize * 8);
	} else {
		if (order)
			nd_buf_putc(b, order);
		nd_buf_printf(b, "%c%" PRId64, d->kind, d->elsize);
	}
	nd_buf_putc(b, '\'');
}

static bool is_packed(const struct nd_dtype *d)
{
	bool align = d->flags & ND_ALIGNED_STRUCT;
	int64_t total = 0, maxal = 1;

	for (int i = 0; i < d->nfields; i++) {
		const struct nd_dtype *f = d->fields[i].dtype;
		if (align) {
			total = (total + f->alignment - 1) / f->alignment *
				f->alignment;
			if (f->alignment > maxal)
				maxal = f->alignment;
		}
		if (d->fields[i].offset != total)
			return false;
		total += f->elsize;
	}
	if (align)
		total = (total + maxal - 1) / maxal * maxal;
	return total == d->elsize;
}

static void struct_str(const struct nd_dtype *d, bool include_align,
		       bool as_void, const struct nd_print_rules *r, struct nd_buf *b);

static void field_type_repr(const struct nd_dtype *f, const struct nd_print_rules *r,
			    struct nd_buf *b)
{
	if (f->structured)
		struct_str(f, false, false, r, b);
	else
		scalar_repr(f, true, b);
}

/* numpy's _construction_repr(short=True) of a field, sub-arrays included */
static void field_format(const struct nd_dtype *f, bool paren, const struct nd_print_rules *r,
			 struct nd_buf *b)
{
	if (!f->sub_base) {
		field_type_repr(f, r, b);
		return;
	}
	if (paren)
		nd_buf_putc(b, '(');
	field_type_repr(f->sub_base, r, b);
	nd_buf_puts(b, ", ");
	nd_buf_ints(b, f->sub_shape, f->sub_ndim, ND_STYLE_PY);
	if (paren)
		nd_buf_putc(b, ')');
}

static void struct_list(const struct nd_dtype *d, const struct nd_print_rules *r,
			struct nd_buf *b)
{
	nd_buf_putc(b, '[');
	for (int i = 0; i < d->nfields; i++) {
		const struct nd_field *f = &d->fields[i];
		nd_buf_puts(b, i ? ", (" : "(");
		if (f->title_py) {
			nd_buf_putc(b, '(');
			nd_buf_puts(b, f->title_py);
			nd_buf_puts(b, ", ");
			nd_buf_py_repr(b, f->name);
			nd_buf_putc(b, ')');
		} else {
			nd_buf_py_repr(b, f->name);
		}
		nd_buf_puts(b, ", ");
		field_format(f->dtype, false, r, b);
		nd_buf_putc(b, ')');
	}
	nd_buf_putc(b, ']');
}

static void struct_dict(const struct nd_dtype *d, bool include_align,
			const struct nd_print_rules *r, struct nd_buf *b)
{
	/* NumPy before 1.22 wrote this form without spaces */
	const char *colon = r->dict_spaces ? ": " : ":";
	const char *sep = r->dict_spaces ? ", " : ",";
	bool titles = false;

	nd_buf_printf(b, "{'names'%s[", colon);
	for (int i = 0; i < d->nfields; i++) {
		if (i)
			nd_buf_puts(b, sep);
		nd_buf_py_repr(b, d->fields[i].name);
		titles |= d->fields[i].title_py != NULL;
	}
	nd_buf_printf(b, "], 'formats'%s[", colon);
	for (int i = 0; i < d->nfields; i++) {
		if (i)
			nd_buf_puts(b, sep);
		field_format(d->fields[i].dtype, true, r, b);
	}
	nd_buf_printf(b, "], 'offsets'%s[", colon);
	for (int i = 0; i < d->nfields; i++)
		nd_buf_printf(b, "%s%" PRId64, i ? sep : "",
			      d->fields[i].offset);
	if (titles) {
		nd_buf_printf(b, "], 'titles'%s[", colon);
		for (int i = 0; i < d->nfields; i++) {
			if (i)
				nd_buf_puts(b, sep);
			if (d->fields[i].title_py)
				nd_buf_puts(b, d->fields[i].title_py);
			else
				nd_buf_puts(b, "None");
		}
	}
	nd_buf_printf(b, "], 'itemsize'%s%" PRId64, colon, d->elsize);
	if (include_align && (d->flags & ND_ALIGNED_STRUCT))
		nd_buf_printf(b, ", 'aligned'%sTrue", colon);
	nd_buf_puts(b, "}");
}

/* numpy's _struct_str: the list form needs packed fields, and cannot
 * carry the aligned flag when str() wants it shown */
static void struct_str(const struct nd_dtype *d, bool include_align,
		       bool as_void, const struct nd_print_rules *r, struct nd_buf *b)
{
	bool record = !as_void && d->scalar_type &&
		      strcmp(d->scalar_type, "numpy.void");

	if (record)
		nd_buf_printf(b, "(%s, ", d->scalar_type);
	if (!(include_align && (d->flags & ND_ALIGNED_STRUCT)) && is_packed(d))
		struct_list(d, r, b);
	else
		struct_dict(d, include_align, r, b);
	if (record)
		nd_buf_putc(b, ')');
}

void nd_dtype_struct_str(const struct nd_dtype *d, bool as_void,
			 const struct nd_print_rules *r, struct nd_buf *b)
{
	struct_str(d, true, as_void, r, b);
}

void nd_dtype_repr(const struct nd_dtype *d, const struct nd_print_rules *r,
		   struct nd_buf *b)
{
	if (d->structured) {
		struct_str(d, false, false, r, b);
		if (d->flags & ND_ALIGNED_STRUCT)
			nd_buf_puts(b, ", align=True");
	} else {
		scalar_repr(d, false, b);
	}
}

void nd_dtype_array_suffix(const struct nd_dtype *d, bool nonempty,
			   const struct nd_print_rules *rules,
			   struct nd_buf *b)
{
	const char *kn = kind_name(d->kind);
	bool native = is_native(d) || !rules->order_matters;

	/* numpy's dtype_is_implied: int_, float_, complex_, bool_ */
	if (nonempty && !d->structured && native &&
	    (d->kind == 'b' ||
	     ((d->kind == 'i' || d->kind == 'f') && d->elsize == 8) ||
	     (d->kind == 'c' && d->elsize == 16)))
		return;
	nd_buf_puts(b, "dtype=");
	if (d->structured) {
		struct_str(d, true, false, rules, b);
	} else if (strchr("SUV", d->kind) || !native) {
		nd_buf_putc(b, '\'');
		nd_dtype_str(d, b);
		nd_buf_putc(b, '\'');
	} else if (d->kind == 'M' || d->kind == 'm') {
		nd_buf_printf(b, "'%s64", d->kind == 'M' ? "datetime"
							 : "timedelta");
		nd_dtype_dt_meta(d, b);
		nd_buf_putc(b, '\'');
	} else if (d->kind == 'b') {
		nd_buf_puts(b, "bool");
	} else if (kn) {
		nd_buf_printf(b, "%s%" PRId64, kn, d->elsize * 8);
	} else if (d->kind == 'O') {
		nd_buf_puts(b, "object");
	} else {
		nd_buf_putc(b, '\'');
		nd_dtype_str(d, b);
		nd_buf_putc(b, '\'');
	}
}

struct nd_print_rules nd_print_rules_for(const struct nd_ctx *c)
{
	/* unknown versions follow the newest release of their layout */
	int v = c->numpy_version ? c->numpy_version
				 : c->np->major >= 2 ? 299 : 199;

	return (struct nd_print_rules){.order_matters = v >= 200,
				       .shape_when_summarised = v >= 202,
				       .dict_spaces = v >= 122,
				       .subarray_summary = v >= 200,
				       .exact_int_digits = v >= 121,
				       .exp_cutoff_by_type = v >= 203};
}
