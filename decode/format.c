#include "format.h"

#include <inttypes.h>
#include <string.h>

#include "preview.h"
#include "repr.h"
#include "values.h"

static void jstr(struct nd_buf *b, const char *s)
{
	nd_buf_json_str(b, s, strlen(s));
}

void nd_format_iface(const struct nd_array *a, enum nd_style style,
		     struct nd_buf *b)
{
	bool json = style == ND_STYLE_JSON;
	bool readonly = !(a->flags & ND_F_WRITEABLE);
	struct nd_buf ts = {0};

	nd_dtype_str(a->dtype, &ts);
	/* keys in the order NumPy fills the dict */
	nd_buf_printf(b, json ? "{\"data\": [%" PRIu64 ", %s], \"strides\": "
			      : "{'data': (%" PRIu64 ", %s), 'strides': ",
		      a->data,
		      json ? (readonly ? "true" : "false")
			   : (readonly ? "True" : "False"));
	/* strides is None exactly when the C_CONTIGUOUS flag is set */
	if (a->flags & ND_F_C_CONTIGUOUS)
		nd_buf_puts(b, json ? "null" : "None");
	else
		nd_buf_ints(b, a->strides, a->ndim, style);
	nd_buf_puts(b, json ? ", \"descr\": " : ", 'descr': ");
	nd_dtype_iface_descr(a->dtype, b, style);
	nd_buf_puts(b, json ? ", \"typestr\": " : ", 'typestr': ");
	if (json)
		jstr(b, nd_buf_str(&ts));
	else
		nd_buf_py_repr(b, nd_buf_str(&ts));
	nd_buf_puts(b, json ? ", \"shape\": " : ", 'shape': ");
	nd_buf_ints(b, a->shape, a->ndim, style);
	nd_buf_puts(b, json ? ", \"version\": 3}" : ", 'version': 3}");
	nd_buf_free(&ts);
}

static void dtype_json(const struct nd_dtype *d, struct nd_buf *b)
{
	struct nd_buf ts = {0};
	char bo[2] = {d->byteorder, 0};
	char kind[2] = {d->kind, 0}, ch[2] = {d->type, 0};

	nd_dtype_str(d, &ts);
	nd_buf_puts(b, "{\"str\": ");
	jstr(b, nd_buf_str(&ts));
	nd_buf_puts(b, ", \"kind\": ");
	jstr(b, kind);
	nd_buf_puts(b, ", \"char\": ");
	jstr(b, ch);
	nd_buf_printf(b, ", \"itemsize\": %" PRId64 ", \"alignment\": %" PRId64
			 ", \"byteorder\": ",
		      d->elsize, d->alignment);
	jstr(b, bo);
	nd_buf_printf(b, ", \"type_num\": %d}", d->type_num);
	nd_buf_free(&ts);
}

static void base_json(const struct nd_base *x, struct nd_buf *b)
{
	nd_buf_printf(b, "{\"address\": %" PRIu64 ", \"type\": ", x->addr);
	jstr(b, x->type);
	if (x->kind == ND_BASE_ARRAY) {
		nd_buf_printf(b, ", \"data\": %" PRIu64 ", \"owndata\": %s",
			      x->data,
			      (x->flags & ND_F_OWNDATA) ? "true" : "false");
	} else if (x->len >= 0) {
		nd_buf_printf(b, ", \"buffer\": %" PRIu64 ", \"nbytes\": %" PRId64,
			      x->buf, x->len);
	}
	if (x->kind == ND_BASE_MEMORYVIEW && x->obj) {
		nd_buf_printf(b, ", \"obj\": {\"address\": %" PRIu64 ", \"type\": ",
			      x->obj);
		if (x->obj_type && x->obj_type[0])
			jstr(b, x->obj_type);
		else
			nd_buf_puts(b, "null");
		nd_buf_putc(b, '}');
	}
	nd_buf_putc(b, '}');
}

static void region_json(const struct nd_region *m, struct nd_buf *b)
{
	nd_buf_puts(b, "{\"kind\": ");
	jstr(b, m->kind);
	if (strcmp(m->kind, "unmapped") == 0)
		nd_buf_puts(b, ", \"start\": null, \"end\": null");
	else
		nd_buf_printf(b, ", \"start\": %" PRIu64 ", \"end\": %" PRIu64,
			      m->start, m->end);
	nd_buf_puts(b, ", \"path\": ");
	if (m->path)
		jstr(b, m->path);
	else
		nd_buf_puts(b, "null");
	nd_buf_putc(b, '}');
}

int nd_format_json(const struct nd_array *a, const struct nd_region *mem,
		   const struct nd_preview *p, struct nd_buf *b,
		   struct nd_err *e)
{
	int rc = 0;

	nd_buf_printf(b, "{\"address\": %" PRIu64 ", \"type\": ", a->addr);
	jstr(b, a->type_name);
	nd_buf_printf(b, ", \"refcnt\": %" PRId64 ", \"ndim\": %d, \"shape\": ",
		      a->refcnt, a->ndim);
	nd_buf_ints(b, a->shape, a->ndim, ND_STYLE_JSON);
	nd_buf_puts(b, ", \"strides\": ");
	nd_buf_ints(b, a->strides, a->ndim, ND_STYLE_JSON);
	nd_buf_printf(b, ", \"size\": %" PRId64 ", \"nbytes\": %" PRId64
			 ", \"data\": %" PRIu64 ", \"dtype\": ",
		      a->size, a->nbytes, a->data);
	dtype_json(a->dtype, b);
	nd_buf_puts(b, ", \"flags\": {");
	for (int i = 0; i < 6; i++)
		nd_buf_printf(b, "%s\"%s\": %s", i ? ", " : "",
			      nd_flag_names[i].name,
			      (a->flags & nd_flag_names[i].bit) ? "true" : "false");
	nd_buf_puts(b, "}, \"array_interface\": ");
	nd_format_iface(a, ND_STYLE_JSON, b);
	nd_buf_puts(b, ", \"base\": [");
	for (int i = 0; i < a->nbases; i++) {
		if (i)
			nd_buf_puts(b, ", ");
		base_json(&a->bases[i], b);
	}
	nd_buf_putc(b, ']');
	if (a->base_cycle)
		nd_buf_puts(b, ", \"base_cycle\": true");
	if (mem) {
		nd_buf_puts(b, ", \"memory\": ");
		region_json(mem, b);
	}
	if (p && p->nvalues >= 0 && !p->values_err.code) {
		nd_buf_puts(b, ", \"values\": ");
		nd_values_json(p, a, b);
	} else if (p && p->values_err.code) {
		nd_buf_puts(b, ", \"values\": null, \"values_error\": ");
		jstr(b, p->values_err.msg);
		rc = nd_fail(e, p->values_err.code, "%s", p->values_err.msg);
	}
	nd_buf_puts(b, "}\n");
	return rc;
}

static void region_text(const struct nd_array *a, const struct nd_region *m,
			struct nd_buf *b)
{
	nd_buf_printf(b, "  data      0x%" PRIx64 "  ", a->data);
	if (strcmp(m->kind, "unmapped") == 0) {
		nd_buf_puts(b, "not in any mapping\n");
		return;
	}
	static const struct {
		const char *kind, *label;
	} labels[] = {
		{"heap", "heap"}, {"stack", "stack"},
		{"anon", "anonymous mapping"}, {"file", "file"},
		{"other", "mapping"},
	};
	const char *label = m->kind;
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (strcmp(labels[i].kind, m->kind) == 0)
			label = labels[i].label;
	nd_buf_puts(b, label);
	if (m->path) {
		nd_buf_putc(b, ' ');
		nd_buf_puts_safe(b, m->path);
		nd_buf_printf(b, " (offset 0x%" PRIx64 ")",
			      m->offset + (a->data - m->start));
	}
	nd_buf_printf(b, "  [0x%" PRIx64 "-0x%" PRIx64 " %s]\n", m->start, m->end,
		      m->perms);
}

static void base_text(const struct nd_base *x, struct nd_buf *b)
{
	nd_buf_printf(b, "0x%" PRIx64 "  ", x->addr);
	nd_buf_puts_safe(b, x->type);
	if (x->kind == ND_BASE_ARRAY) {
		nd_buf_printf(b, "  (data 0x%" PRIx64 ", %s)", x->data,
			      (x->flags & ND_F_OWNDATA) ? "owns its data"
							: "does not own its data");
	} else if (x->kind == ND_BASE_MEMORYVIEW && x->obj) {
		nd_buf_puts(b, "  of ");
		nd_buf_puts_safe(b, x->obj_type && x->obj_type[0] ? x->obj_type
								  : "object");
		nd_buf_printf(b, " 0x%" PRIx64, x->obj);
	}
	if (x->kind != ND_BASE_ARRAY && x->len >= 0)
		nd_buf_printf(b, "  (%" PRId64 " bytes at 0x%" PRIx64 ")", x->len,
			      x->buf);
	nd_buf_putc(b, '\n');
}

int nd_format_text(const struct nd_array *a, const struct nd_region *mem,
		   const struct nd_preview *p, struct nd_buf *b,
		   struct nd_err *e)
{
	int rc = 0;

	if (p && p->threshold > 0) {
		struct nd_buf r = {0};
		struct nd_err why = {0};
		if (nd_repr(p, a, &r, &why) == 0) {
			nd_buf_printf(b, "%s\n", nd_buf_str(&r));
		} else if (why.code == ND_ELIMIT) {
			/* too big to preview is not an error: the rest stands */
			nd_buf_printf(b, "<values not shown: %s>\n", why.msg);
		} else {
			nd_buf_printf(b, "<values unavailable: %s>\n", why.msg);
			rc = nd_fail(e, why.code, "%s", why.msg);
		}
		nd_buf_free(&r);
	}
	nd_buf_printf(b, "  object    0x%" PRIx64 "  ", a->addr);
	nd_buf_puts_safe(b, a->type_name);
	nd_buf_printf(b, "  refcnt %" PRId64 "\n", a->refcnt);
	const struct nd_print_rules *rules = &p->rules;
	nd_buf_puts(b, "  dtype     dtype(");
	nd_dtype_repr(a->dtype, rules, b);
	nd_buf_puts(b, ")  str ");
	struct nd_buf ts = {0};
	nd_dtype_str(a->dtype, &ts);
	nd_buf_py_repr(b, nd_buf_str(&ts));
	nd_buf_free(&ts);
	nd_buf_printf(b, ", itemsize %" PRId64 ", alignment %" PRId64
			 ", byteorder '%c', num %d\n",
		      a->dtype->elsize, a->dtype->alignment,
		      a->dtype->byteorder, a->dtype->type_num);
	nd_buf_puts(b, "  shape     ");
	nd_buf_ints(b, a->shape, a->ndim, ND_STYLE_PY);
	nd_buf_puts(b, "\n  strides   ");
	nd_buf_ints(b, a->strides, a->ndim, ND_STYLE_PY);
	nd_buf_printf(b, "\n  size      %" PRId64 " elements, %" PRId64 " bytes\n",
		      a->size, a->nbytes);
	if (mem)
		region_text(a, mem, b);
	nd_buf_puts(b, "  flags\n");
	for (int i = 0; i < 6; i++)
		nd_buf_printf(b, "    %s : %s\n", nd_flag_names[i].name,
			      (a->flags & nd_flag_names[i].bit) ? "True" : "False");
	nd_buf_puts(b, "  base      ");
	if (a->nbases == 0)
		nd_buf_puts(b, "None\n");
	for (int i = 0; i < a->nbases; i++) {
		if (i)
			nd_buf_puts(b, "            ");
		base_text(&a->bases[i], b);
	}
	if (a->base_cycle)
		nd_buf_puts(b, "            ... (the chain loops back; stopped)\n");
	nd_buf_puts(b, "  __array_interface__\n    ");
	nd_format_iface(a, ND_STYLE_PY, b);
	nd_buf_putc(b, '\n');
	return rc;
}
