/* The values of a preview as JSON (DESIGN.md): numbers, booleans,
 * [re, im], strings for S/U/datetime items, lists for structured ones,
 * and the captured objects an object array points to. */
#include "values.h"

#include <inttypes.h>

#include "numfmt.h"
#include "preview.h"

struct json_leaf {
	const struct nd_preview *p;
	const struct nd_dtype *d;
};

static void json_leaf(void *arg, const unsigned char *elem, struct nd_buf *b)
{
	struct json_leaf *l = arg;

	nd_item_json(l->p, l->d, elem, b);
}

void nd_item_json(const struct nd_preview *p, const struct nd_dtype *d,
		  const unsigned char *item, struct nd_buf *b)
{
	bool swap = nd_item_swapped(d);
	int size = (int)d->elsize;

	if (d->structured) {
		nd_buf_putc(b, '[');
		for (int i = 0; i < d->nfields; i++) {
			if (i)
				nd_buf_puts(b, ", ");
			nd_item_json(p, d->fields[i].dtype,
				     item + d->fields[i].offset, b);
		}
		nd_buf_putc(b, ']');
		return;
	}
	if (d->sub_base) {
		struct json_leaf l = {p, d->sub_base};
		nd_nested_list(d->sub_base->elsize, d->sub_shape, d->sub_ndim,
			       item, 0, json_leaf, &l, b);
		return;
	}
	switch (d->kind) {
	case 'b':
		nd_buf_puts(b, item[0] ? "true" : "false");
		return;
	case 'i':
		if (size <= 8) {
			nd_buf_printf(b, "%" PRId64, nd_load_i(item, size, swap));
			return;
		}
		break;
	case 'u':
		if (size <= 8) {
			nd_buf_printf(b, "%" PRIu64, nd_load_u(item, size, swap));
			return;
		}
		break;
	case 'f':
		if (size == 2 || size == 4 || size == 8 || size == 16) {
			nd_json_float(nd_load_f(item, size, swap), size, b);
			return;
		}
		break;
	case 'c':
		if (size == 4 || size == 8 || size == 16 || size == 32) {
			nd_buf_putc(b, '[');
			nd_json_float(nd_load_f(item, size / 2, swap), size / 2, b);
			nd_buf_puts(b, ", ");
			nd_json_float(nd_load_f(item + size / 2, size / 2, swap),
				   size / 2, b);
			nd_buf_putc(b, ']');
			return;
		}
		break;
	case 'M':
	case 'm':
		if (size == 8) {
			int64_t v = nd_load_i(item, 8, swap);
			char s[80];
			if (v == ND_NAT) {
				nd_buf_puts(b, "\"NaT\"");
			} else if (d->kind == 'm' || d->dt_unit == ND_DT_GENERIC) {
				nd_buf_printf(b, "%" PRId64, v);
			} else {
				nd_fmt_datetime(v, d->dt_unit, d->dt_num, s,
						sizeof(s));
				nd_buf_printf(b, "\"%s\"", s);
			}
			return;
		}
		break;
	case 'S':
		nd_json_chars(item, size, false, false, true, b);
		return;
	case 'U':
		nd_json_chars(item, size, true, swap, true, b);
		return;
	case 'O':
		if (size == 8) {
			uint64_t obj = nd_load_u(item, 8, false);
			nd_pyscalar_write(nd_preview_object(p, obj), obj,
					  ND_STYLE_JSON, b);
			return;
		}
		break;
	default:
		break;
	}
	/* void and anything else: the raw bytes in hex */
	nd_buf_putc(b, '"');
	for (int i = 0; i < size; i++)
		nd_buf_printf(b, "%02x", item[i]);
	nd_buf_putc(b, '"');
}

void nd_values_json(const struct nd_preview *p, const struct nd_array *a,
		    struct nd_buf *b)
{
	size_t size = (size_t)a->dtype->elsize;

	nd_buf_putc(b, '[');
	for (int64_t i = 0; i < p->nvalues; i++) {
		if (i)
			nd_buf_puts(b, ", ");
		nd_item_json(p, a->dtype, p->values + (size_t)i * size, b);
	}
	nd_buf_putc(b, ']');
}
