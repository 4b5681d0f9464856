/* The strings NumPy derives from a dtype: dtype.str, the array-interface
 * and np.save descr lists, repr and str of dtypes, and what array repr
 * puts after "dtype=", per the target NumPy's printing rules. */
#define _GNU_SOURCE
#include "dtype.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


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
