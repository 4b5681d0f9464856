/* repr(arr): numpy's _formatArray over the items a preview captured,
 * with the element formatters of repr_items.c. */
#include "repr.h"

#include <stdlib.h>
#include <string.h>

#include "preview.h"
#include "repr_items.h"
#include "values.h"

#define LINE_WIDTH 75
#define EDGE 3

/* ---- numpy's _formatArray ---- */

struct layout {
	struct rctx *r;
	const struct nd_array *a;
	const struct fmt *f;
	const unsigned char *items; /* captured, C order over shown indices */
	const int64_t *shown;       /* shown positions per axis */
	const bool *summary;
	size_t stride[ND_MAXDIMS];  /* flat index step per shown position */
};

static void extend_line(struct nd_buf *s, struct nd_buf *line,
			const char *word, size_t width, size_t prefix_len)
{
	size_t ll = nd_ulen(nd_buf_str(line));
	bool wrap = ll + nd_ulen(word) > width && ll > prefix_len;

	if (wrap) {
		size_t n = line->len;
		while (n > 0 && line->p[n - 1] == ' ')
			n--;
		nd_buf_add(s, line->p, n);
		nd_buf_putc(s, '\n');
		nd_buf_reset(line);
		nd_buf_spaces(line, prefix_len);
	}
	nd_buf_puts(line, word);
}

static void recurse(struct layout *L, int axis, size_t flat, size_t hang,
		    size_t width, struct nd_buf *out)
{
	const struct nd_array *a = L->a;
	int left = a->ndim - axis;

	if (left == 0) {
		nd_fmt_item(L->r, L->f, L->items + flat * (size_t)a->dtype->elsize,
			 out);
		return;
	}
	int64_t m = L->shown[axis];
	bool summary = L->summary[axis];
	int64_t lead = summary ? EDGE : 0;
	size_t step = L->stride[axis];
	struct nd_buf s = {0}, word = {0};

	if (left == 1) {
		struct nd_buf line = {0};
		size_t elem_width = width - 1; /* max(len(','), len(']')) */
		nd_buf_spaces(&line, hang);
		for (int64_t i = 0; i < m; i++) {
			if (summary && i == lead) {
				extend_line(&s, &line, "...", elem_width, hang);
				nd_buf_puts(&line, ", ");
			}
			nd_buf_reset(&word);
			recurse(L, axis + 1, flat + (size_t)i * step, hang + 1,
				width - 1, &word);
			extend_line(&s, &line, nd_buf_str(&word), elem_width,
				    hang);
			if (i != m - 1)
				nd_buf_puts(&line, ", ");
		}
		nd_buf_add(&s, line.p, line.len);
		nd_buf_free(&line);
	} else {
		for (int64_t i = 0; i < m; i++) {
			if (summary && i == lead) {
				nd_buf_spaces(&s, hang);
				nd_buf_puts(&s, "...,");
				for (int k = 0; k < left - 1; k++)
					nd_buf_putc(&s, '\n');
			}
			nd_buf_spaces(&s, hang);
			nd_buf_reset(&word);
			recurse(L, axis + 1, flat + (size_t)i * step, hang + 1,
				width - 1, &word);
			nd_buf_puts(&s, nd_buf_str(&word));
			if (i != m - 1) {
				nd_buf_putc(&s, ',');
				for (int k = 0; k < left - 1; k++)
					nd_buf_putc(&s, '\n');
			}
		}
	}
	nd_buf_putc(out, '[');
	const char *body = nd_buf_str(&s);
	nd_buf_puts(out, strlen(body) >= hang ? body + hang : body);
	nd_buf_putc(out, ']');
	nd_buf_free(&s);
	nd_buf_free(&word);
}

static bool is_recarray(const struct nd_array *a)
{
	const char *dot = strrchr(a->type_name, '.');
	const char *name = dot ? dot + 1 : a->type_name;

	return strcmp(name, "recarray") == 0 && a->dtype->structured;
}

static void class_prefix(const struct nd_array *a, struct nd_buf *b)
{
	const char *dot = strrchr(a->type_name, '.');

	if (is_recarray(a)) {
		nd_buf_puts(b, "rec.array(");
	} else if (strcmp(a->type_name, "numpy.ndarray") == 0) {
		nd_buf_puts(b, "array(");
	} else {
		nd_buf_puts_safe(b, dot ? dot + 1 : a->type_name);
		nd_buf_putc(b, '(');
	}
}

/* The bracketed values, as array2string gives them. */
static int body(struct rctx *r, const struct nd_array *a, size_t prefix_len,
		struct nd_buf *out)
{
	const struct nd_preview *p = r->p;
	struct layout L = {.r = r, .a = a, .items = p->items,
			   .shown = p->shown, .summary = p->summary};
	struct fmt f;

	if (a->size == 0) {
		nd_buf_puts(out, "[]");
		return 0;
	}
	for (int k = a->ndim - 1; k >= 0; k--)
		L.stride[k] = k == a->ndim - 1 ? 1
				: L.stride[k + 1] * (size_t)p->shown[k + 1];
	size_t n = p->nshown < MAX_COLUMN ? p->nshown : MAX_COLUMN;
	struct column col = {.n = n, .p = malloc((n ? n : 1) * sizeof(*col.p))};
	int rc = col.p ? 0 : -1;
	for (size_t i = 0; !rc && i < n; i++)
		col.p[i] = p->items + i * (size_t)a->dtype->elsize;
	if (!rc)
		rc = nd_fmt_build(r, &f, a->dtype, col);
	free(col.p);
	if (!rc) {
		f.zero_d = a->ndim == 0;
		L.f = &f;
		/* continuation lines line up after "array([" */
		recurse(&L, 0, 0, prefix_len + 1, LINE_WIDTH - 1, out);
	}
	nd_fmt_free(&f);
	return rc;
}

int nd_repr(const struct nd_preview *p, const struct nd_array *a,
	    struct nd_buf *out, struct nd_err *e)
{
	struct rctx r = {.p = p, .threshold = p->threshold};
	const struct nd_print_rules *rules = &p->rules;
	struct nd_buf s = {0}, extras = {0};

	if (p->repr_err.code)
		return nd_fail(e, p->repr_err.code, "%s", p->repr_err.msg);
	if (p->nshown == 0 && a->size > 0)
		return nd_fail(e, ND_EUSAGE, "the repr was not captured");
	class_prefix(a, &s);
	size_t prefix_len = s.len;
	if (body(&r, a, prefix_len, &s)) {
		nd_buf_free(&s);
		return nd_fail(e, ND_ENOMEM, "out of memory");
	}
	if (is_recarray(a)) {
		/* numpy.recarray.__repr__: the dtype always on its own line */
		nd_buf_puts(&s, ",\n");
		nd_buf_spaces(&s, prefix_len);
		nd_buf_puts(&s, "dtype=");
		nd_dtype_struct_str(a->dtype, true, rules, &s);
		nd_buf_putc(&s, ')');
		goto done;
	}
	bool shape = (a->size == 0 && !(a->ndim == 1 && a->shape[0] == 0)) ||
		     (rules->shape_when_summarised && a->size > p->threshold);
	if (shape && !rules->shape_when_summarised) {
		/* before 2.2 the shape of an empty array belongs to the values
		 * ("[], shape=(0, 3)"), not to what may wrap after them */
		nd_buf_puts(&s, ", shape=");
		nd_buf_ints(&s, a->shape, a->ndim, ND_STYLE_PY);
	} else if (shape) {
		nd_buf_puts(&extras, "shape=");
		nd_buf_ints(&extras, a->shape, a->ndim, ND_STYLE_PY);
	}
	struct nd_buf dt = {0};
	nd_dtype_array_suffix(a->dtype, a->size > 0, rules, &dt);
	if (dt.len) {
		if (extras.len)
			nd_buf_puts(&extras, ", ");
		nd_buf_add(&extras, dt.p, dt.len);
	}
	nd_buf_free(&dt);
	if (extras.len) {
		/* wrap the extras to their own line if they would overflow */
		nd_buf_putc(&s, ',');
		const char *all = nd_buf_str(&s);
		const char *nl = strrchr(all, '\n');
		size_t last = nd_ulen(nl ? nl + 1 : all);
		if (last + nd_ulen(nd_buf_str(&extras)) + 1 + 1 > LINE_WIDTH) {
			nd_buf_putc(&s, '\n');
			nd_buf_spaces(&s, prefix_len);
		} else {
			nd_buf_putc(&s, ' ');
		}
		nd_buf_add(&s, extras.p, extras.len);
	}
	nd_buf_putc(&s, ')');
done:
	nd_buf_add(out, s.p, s.len);
	nd_buf_free(&s);
	nd_buf_free(&extras);
	return out->oom ? nd_fail(e, ND_ENOMEM, "out of memory") : 0;
}
