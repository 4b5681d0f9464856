#include "repr_items.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numfmt.h"
#include "preview.h"
#include "pyobj.h"
#include "values.h"

#define PRECISION 8

/* ---- float text in the manner of numpy's dragon4 calls ---- */

struct fparts {
	char intp[136]; /* sign and integer digits (callers keep |v| < 1e16) */
	char frac[64];  /* fractional digits */
	char exp[16];   /* "+05" for scientific, "" otherwise */
};

static void trim_zeros(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == '0')
		s[--n] = '\0';
}

/* Shortest digits, but at most `prec` after the point (rounded). */
static void positional(long double v, int w, int prec, bool plus,
		       bool exact_int, struct fparts *p)
{
	struct nd_digits d;
	char s[128];
	const char *sign = signbit(v) ? "-" : plus ? "+" : "";

	nd_shortest_digits(v, (enum nd_fwidth)w, &d);
	int nfrac = d.ndigits - d.exp10;
	if (nfrac > prec) {
		snprintf(s, sizeof(s), "%.*Lf", prec, fabsl(v));
		char *dot = strchr(s, '.');
		if (dot)
			*dot = '\0';
		snprintf(p->intp, sizeof(p->intp), "%s%s", sign, s);
		snprintf(p->frac, sizeof(p->frac), "%s", dot ? dot + 1 : "");
		trim_zeros(p->frac);
	} else if (d.exp10 <= 0) {
		snprintf(p->intp, sizeof(p->intp), "%s0", sign);
		snprintf(p->frac, sizeof(p->frac), "%0*d%s", -d.exp10, 0, d.d);
		if (d.exp10 == 0)
			snprintf(p->frac, sizeof(p->frac), "%s", d.d);
	} else if (d.exp10 >= d.ndigits && exact_int) {
		/* dragon4 prints the integer part exactly, past the digits
		 * that tell the value apart (float16 -23472, not -23470) */
		snprintf(p->intp, sizeof(p->intp), "%s%.0Lf", sign, fabsl(v));
		p->frac[0] = '\0';
	} else if (d.exp10 >= d.ndigits) {
		snprintf(p->intp, sizeof(p->intp), "%s%s%0*d", sign, d.d,
			 d.exp10 - d.ndigits, 0);
		if (d.exp10 == d.ndigits)
			snprintf(p->intp, sizeof(p->intp), "%s%s", sign, d.d);
		p->frac[0] = '\0';
	} else {
		snprintf(p->intp, sizeof(p->intp), "%s%.*s", sign, d.exp10, d.d);
		snprintf(p->frac, sizeof(p->frac), "%s", d.d + d.exp10);
	}
	if (v == 0)
		p->frac[0] = '\0';
	p->exp[0] = '\0';
}

static void scientific(long double v, int w, int prec, bool plus,
		       struct fparts *p)
{
	struct nd_digits d;
	const char *sign = signbit(v) ? "-" : plus ? "+" : "";
	int e;

	nd_shortest_digits(v, (enum nd_fwidth)w, &d);
	if (d.ndigits - 1 > prec) {
		char s[128];
		snprintf(s, sizeof(s), "%.*Le", prec, fabsl(v));
		char *ep = strchr(s, 'e');
		e = atoi(ep + 1);
		*ep = '\0';
		char *dot = strchr(s, '.');
		snprintf(p->intp, sizeof(p->intp), "%s%.1s", sign, s);
		snprintf(p->frac, sizeof(p->frac), "%s", dot ? dot + 1 : "");
		trim_zeros(p->frac);
	} else {
		snprintf(p->intp, sizeof(p->intp), "%s%c", sign, d.d[0]);
		snprintf(p->frac, sizeof(p->frac), "%s", d.d + 1);
		e = v == 0 ? 0 : d.exp10 - 1;
	}
	snprintf(p->exp, sizeof(p->exp), "%c%02d", e < 0 ? '-' : '+', abs(e));
}

/* ---- per-dtype element formatters (numpy.core.arrayprint) ---- */

size_t nd_ulen(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void float_fmt_build(struct floatfmt *f, const long double *v,
			    size_t n, int width, bool plus,
			    const struct nd_print_rules *rules)
{
	long double maxv = 0, minv = INFINITY;
	bool any_nonzero = false, any_finite = false, any_nonfinite = false,
	     neginf = false;
	struct fparts p;

	memset(f, 0, sizeof(*f));
	f->width = width;
	f->plus = plus;
	f->precision = PRECISION;
	f->exact_int = rules->exact_int_digits;
	/* 2.3+: 10 ** min(8, finfo(dtype).precision) */
	long double cutoff = !rules->exp_cutoff_by_type ? 1e8L
			     : width == ND_F16	     ? 1e3L
			     : width == ND_F32	     ? 1e6L
						     : 1e8L;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(v[i])) {
			any_nonfinite = true;
			neginf |= isinf(v[i]) && v[i] < 0;
			continue;
		}
		any_finite = true;
		long double a = fabsl(v[i]);
		if (a != 0) {
			any_nonzero = true;
			maxv = a > maxv ? a : maxv;
			minv = a < minv ? a : minv;
		}
	}
	if (any_nonzero &&
	    (maxv >= cutoff || minv < 0.0001 || maxv / minv > 1000.))
		f->exp = true;
	if (!any_finite) {
		f->exp_size = -1;
	} else if (f->exp) {
		int maxfrac = 0, maxint = 0, maxexp = 0;
		for (size_t i = 0; i < n; i++) {
			if (!isfinite(v[i]))
				continue;
			scientific(v[i], width, PRECISION, plus, &p);
			maxfrac = (int)strlen(p.frac) > maxfrac ? (int)strlen(p.frac) : maxfrac;
			maxint = (int)strlen(p.intp) > maxint ? (int)strlen(p.intp) : maxint;
			maxexp = (int)strlen(p.exp) > maxexp ? (int)strlen(p.exp) : maxexp;
		}
		f->exp_size = maxexp - 1;
		f->precision = f->min_digits = maxfrac;
		f->pad_left = maxint;
		f->pad_right = f->exp_size + 2 + f->precision;
	} else {
		int maxfrac = 0, maxint = 0;
		for (size_t i = 0; i < n; i++) {
			if (!isfinite(v[i]))
				continue;
			positional(v[i], width, PRECISION, plus, f->exact_int, &p);
			maxfrac = (int)strlen(p.frac) > maxfrac ? (int)strlen(p.frac) : maxfrac;
			maxint = (int)strlen(p.intp) > maxint ? (int)strlen(p.intp) : maxint;
		}
		f->pad_left = maxint;
		f->pad_right = maxfrac;
		f->exp_size = -1;
	}
	if (any_nonfinite) {
		int offset = f->pad_right + 1;
		int inflen = 3 + (neginf || plus);
		int nanlen = 3 + plus;
		if (nanlen - offset > f->pad_left)
			f->pad_left = nanlen - offset;
		if (inflen - offset > f->pad_left)
			f->pad_left = inflen - offset;
	}
}

static void float_fmt(const struct floatfmt *f, long double v,
		      struct nd_buf *b)
{
	struct fparts p;

	if (!isfinite(v)) {
		const char *s = isnan(v) ? (f->plus ? "+nan" : "nan")
			      : v < 0    ? "-inf"
			      : f->plus  ? "+inf" : "inf";
		int pad = f->pad_left + f->pad_right + 1 - (int)strlen(s);
		nd_buf_spaces(b, pad > 0 ? (size_t)pad : 0);
		nd_buf_puts(b, s);
		return;
	}
	if (f->exp) {
		scientific(v, f->width, f->precision, f->plus, &p);
		if ((int)strlen(p.frac) < f->min_digits) {
			/* dragon4's min_digits: more digits of the exact value,
			 * not zeros (they differ for subnormals) */
			char t[128];
			snprintf(t, sizeof(t), "%.*Le", f->min_digits, fabsl(v));
			char *dot = strchr(t, '.'), *ep = strchr(t, 'e');
			if (dot && ep && ep > dot) {
				snprintf(p.frac, sizeof(p.frac), "%.*s",
					 (int)(ep - dot - 1), dot + 1);
				int e = atoi(ep + 1);
				snprintf(p.exp, sizeof(p.exp), "%c%02d",
					 e < 0 ? '-' : '+', abs(e));
				p.intp[strlen(p.intp) - 1] = t[0];
			}
		}
		int pl = f->pad_left - (int)strlen(p.intp);
		nd_buf_spaces(b, pl > 0 ? (size_t)pl : 0);
		nd_buf_printf(b, "%s.%s", p.intp, p.frac);
		nd_buf_printf(b, "e%c%0*d", p.exp[0], f->exp_size,
			      atoi(p.exp + 1));
		return;
	}
	positional(v, f->width, f->precision, f->plus, f->exact_int, &p);
	int pl = f->pad_left - (int)strlen(p.intp);
	nd_buf_spaces(b, pl > 0 ? (size_t)pl : 0);
	nd_buf_printf(b, "%s.%s", p.intp, p.frac);
	int pr = f->pad_right - (int)strlen(p.frac);
	nd_buf_spaces(b, pr > 0 ? (size_t)pr : 0);
}

static void str_repr(const unsigned char *p, int64_t size, bool swap,
		     struct nd_buf *b)
{
	struct nd_buf t = {0};
	int64_t n = size / 4;

	while (n > 0 && nd_load_u(p + 4 * (n - 1), 4, swap) == 0)
		n--;
	for (int64_t i = 0; i < n; i++) {
		char enc[4];
		nd_buf_add(&t, enc,
			   nd_utf8_encode(enc, (uint32_t)nd_load_u(p + 4 * i, 4,
								   swap)));
	}
	nd_buf_py_repr_n(b, t.p ? t.p : "", t.len);
	nd_buf_free(&t);
}

void nd_fmt_free(struct fmt *f)
{
	for (int i = 0; i < f->nfields; i++)
		nd_fmt_free(&f->fields[i]);
	free(f->fields);
}


/* Byte offsets of a sub-array's elements in C order (at most max). */
static size_t sub_offsets(const int64_t *shape, int ndim, int64_t elsize,
			  int64_t base, int64_t *out, size_t max)
{
	if (ndim == 0) {
		if (max)
			out[0] = base;
		return 1;
	}
	int64_t inner = elsize;
	for (int i = 1; i < ndim; i++)
		inner *= shape[i];
	size_t n = 0;
	for (int64_t i = 0; i < shape[0] && n < max; i++)
		n += sub_offsets(shape + 1, ndim - 1, elsize, base + i * inner,
				 out + n, max - n);
	return n;
}

static int64_t sub_edge(const struct rctx *r, const struct nd_dtype *d)
{
	/* NumPy 2's SubArrayFormat summarises past the threshold too */
	if (!r->p->rules.subarray_summary)
		return 0;
	int64_t count = 1;
	for (int i = 0; i < d->sub_ndim; i++)
		if (__builtin_mul_overflow(count, d->sub_shape[i], &count))
			return ND_REPR_EDGE;
	return count > r->threshold ? ND_REPR_EDGE : 0;
}

static int sub_column(struct column col, const int64_t *offs, size_t noffs,
		      struct column *out)
{
	size_t n = col.n * noffs;

	if (noffs && n / noffs != col.n)
		return -1;
	if (n > MAX_COLUMN)
		n = MAX_COLUMN - MAX_COLUMN % (noffs ? noffs : 1);
	out->p = malloc((n ? n : 1) * sizeof(*out->p));
	if (!out->p)
		return -1;
	out->n = n;
	for (size_t i = 0; i < n; i++)
		out->p[i] = col.p[i / noffs] + offs[i % noffs];
	return 0;
}

static int build_children(struct rctx *r, struct fmt *f,
			  const struct nd_dtype *d, struct column col)
{
	int n = d->structured ? d->nfields : 1;
	int64_t *offs = NULL;
	size_t noffs = 1;

	f->fields = calloc((size_t)(n ? n : 1), sizeof(*f->fields));
	if (!f->fields)
		return -1;
	f->nfields = n;
	if (!d->structured) {
		offs = malloc(MAX_COLUMN * sizeof(*offs));
		if (!offs)
			return -1;
		/* the format looks at every element, the summary only
		 * decides which are printed (StructuredVoidFormat.from_data) */
		noffs = sub_offsets(d->sub_shape, d->sub_ndim,
				    d->sub_base->elsize, 0, offs, MAX_COLUMN);
	}
	int rc = 0;
	for (int i = 0; i < n && !rc; i++) {
		struct column sub;
		const struct nd_dtype *fd = d->structured ? d->fields[i].dtype
							  : d->sub_base;
		rc = sub_column(col, d->structured ? &d->fields[i].offset : offs,
				d->structured ? 1 : noffs, &sub);
		if (!rc) {
			rc = nd_fmt_build(r, &f->fields[i], fd, sub);
			free(sub.p);
		}
	}
	free(offs);
	return rc;
}

int nd_fmt_build(struct rctx *r, struct fmt *f, const struct nd_dtype *d,
		     struct column col)
{
	int size = (int)d->elsize;
	char s[80];

	memset(f, 0, sizeof(*f));
	f->d = d;
	f->swap = nd_item_swapped(d);
	if (d->structured || d->sub_base) {
		f->kind = d->structured ? F_STRUCT : F_SUBARRAY;
		return build_children(r, f, d, col);
	}
	switch (d->kind) {
	case 'b':
		f->kind = F_BOOL;
		return 0;
	case 'i':
	case 'u':
	case 'm':
		f->kind = d->kind == 'i' ? F_INT : d->kind == 'u' ? F_UINT
						       : F_TIMEDELTA;
		for (size_t i = 0; i < col.n; i++) {
			int64_t v = nd_load_i(col.p[i], size, f->swap);
			if (f->kind == F_UINT)
				snprintf(s, sizeof(s), "%" PRIu64,
					 nd_load_u(col.p[i], size, f->swap));
			else if (f->kind == F_TIMEDELTA && v == ND_NAT)
				snprintf(s, sizeof(s), "'NaT'");
			else
				snprintf(s, sizeof(s), "%" PRId64, v);
			if ((int)strlen(s) > f->width)
				f->width = (int)strlen(s);
		}
		return 0;
	case 'f':
	case 'c': {
		int w = d->kind == 'c' ? size / 2 : size;
		long double *re = malloc((col.n ? col.n : 1) * sizeof(*re));
		long double *im = malloc((col.n ? col.n : 1) * sizeof(*im));
		if (!re || !im) {
			free(re);
			free(im);
			return -1;
		}
		for (size_t i = 0; i < col.n; i++) {
			re[i] = nd_load_f(col.p[i], w, f->swap);
			im[i] = d->kind == 'c' ? nd_load_f(col.p[i] + w, w, f->swap)
					       : 0;
		}
		f->kind = d->kind == 'c' ? F_COMPLEX : F_FLOAT;
		float_fmt_build(&f->re, re, col.n, w, false, &r->p->rules);
		if (d->kind == 'c')
			float_fmt_build(&f->im, im, col.n, w, true,
					&r->p->rules);
		free(re);
		free(im);
		return 0;
	}
	case 'M':
		f->kind = F_DATETIME;
		for (size_t i = 0; i < col.n; i++) {
			int64_t v = nd_load_i(col.p[i], 8, f->swap);
			nd_fmt_datetime(v, d->dt_unit, d->dt_num, s, sizeof(s));
			if ((int)strlen(s) + 2 > f->width)
				f->width = (int)strlen(s) + 2;
		}
		return 0;
	case 'S':
		f->kind = F_BYTES;
		return 0;
	case 'U':
		f->kind = F_STR;
		return 0;
	case 'O':
		f->kind = F_OBJECT;
		return 0;
	default:
		f->kind = F_VOID;
		return 0;
	}
}


struct repr_leaf {
	struct rctx *r;
	const struct fmt *f;
};

static void repr_leaf(void *arg, const unsigned char *elem, struct nd_buf *b)
{
	struct repr_leaf *l = arg;

	nd_fmt_item(l->r, l->f, elem, b);
}

void nd_fmt_item(struct rctx *r, const struct fmt *f,
		     const unsigned char *p, struct nd_buf *b)
{
	const struct nd_dtype *d = f->d;
	int size = (int)d->elsize;
	char s[80];

	switch (f->kind) {
	case F_BOOL:
		nd_buf_puts(b, p[0] ? (f->zero_d ? "True" : " True") : "False");
		break;
	case F_INT:
	case F_UINT:
	case F_TIMEDELTA: {
		int64_t v = nd_load_i(p, size, f->swap);
		if (f->kind == F_UINT)
			snprintf(s, sizeof(s), "%" PRIu64, nd_load_u(p, size, f->swap));
		else if (f->kind == F_TIMEDELTA && v == ND_NAT)
			snprintf(s, sizeof(s), "'NaT'");
		else
			snprintf(s, sizeof(s), "%" PRId64, v);
		nd_buf_printf(b, "%*s", f->width, s);
		break;
	}
	case F_FLOAT:
		float_fmt(&f->re, nd_load_f(p, size, f->swap), b);
		break;
	case F_COMPLEX: {
		struct nd_buf im = {0};
		float_fmt(&f->re, nd_load_f(p, size / 2, f->swap), b);
		float_fmt(&f->im, nd_load_f(p + size / 2, size / 2, f->swap), &im);
		const char *is = nd_buf_str(&im);
		size_t keep = strlen(is);
		while (keep > 0 && is[keep - 1] == ' ')
			keep--;
		nd_buf_add(b, is, keep);
		nd_buf_putc(b, 'j');
		nd_buf_puts(b, is + keep);
		nd_buf_free(&im);
		break;
	}
	case F_DATETIME: {
		char q[96];
		nd_fmt_datetime(nd_load_i(p, 8, f->swap), d->dt_unit, d->dt_num,
				s, sizeof(s));
		snprintf(q, sizeof(q), "'%s'", s);
		nd_buf_printf(b, "%*s", f->width, q);
		break;
	}
	case F_BYTES:
		nd_buf_bytes_repr(b, p, size, true);
		break;
	case F_STR:
		str_repr(p, size, f->swap, b);
		break;
	case F_VOID:
		nd_buf_bytes_repr(b, p, size, false);
		break;
	case F_OBJECT: {
		uint64_t obj = nd_load_u(p, 8, false);
		nd_pyscalar_write(nd_preview_object(r->p, obj), obj,
				  ND_STYLE_PY, b);
		break;
	}
	case F_STRUCT:
		nd_buf_putc(b, '(');
		for (int i = 0; i < f->nfields; i++) {
			if (i)
				nd_buf_puts(b, ", ");
			nd_fmt_item(r, &f->fields[i], p + d->fields[i].offset, b);
		}
		if (f->nfields == 1)
			nd_buf_putc(b, ',');
		nd_buf_putc(b, ')');
		break;
	case F_SUBARRAY: {
		/* numpy's SubArrayFormat: nested over the field's own shape */
		struct repr_leaf l = {r, &f->fields[0]};
		nd_nested_list(d->sub_base->elsize, d->sub_shape, d->sub_ndim, p,
			       sub_edge(r, d), repr_leaf, &l, b);
		break;
	}
	}
}

