#include "values.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "numfmt.h"
#include "pyobj.h"


void nd_cursor_init(struct nd_cursor *cur, const struct nd_array *a)
{
	memset(cur->idx, 0, sizeof(cur->idx));
	cur->a = a;
	cur->addr = a->data;
	cur->left = a->size;
}

bool nd_cursor_next(struct nd_cursor *cur, uint64_t *addr)
{
	const struct nd_array *a = cur->a;

	if (cur->left <= 0)
		return false;
	*addr = cur->addr;
	cur->left--;
	for (int k = a->ndim - 1; k >= 0; k--) {
		cur->addr += (uint64_t)a->strides[k];
		if (++cur->idx[k] < a->shape[k])
			break;
		cur->addr -= (uint64_t)a->strides[k] * (uint64_t)a->shape[k];
		cur->idx[k] = 0;
	}
	return true;
}

void nd_items_init(struct nd_items *it, struct nd_ctx *c,
		   const struct nd_array *a)
{
	memset(it, 0, sizeof(*it));
	it->c = c;
	it->cap = 64 * 1024;
	it->lo = a->data + (uint64_t)a->extent_lo;
	it->hi = a->data + (uint64_t)a->extent_hi;
}

void nd_items_free(struct nd_items *it)
{
	free(it->win);
	it->win = NULL;
	it->len = 0;
}

int nd_items_read(struct nd_items *it, uint64_t addr, void *buf, size_t len,
		  struct nd_err *e)
{
	if (it->len && addr >= it->base && addr - it->base <= it->len &&
	    len <= it->len - (addr - it->base)) {
		memcpy(buf, it->win + (addr - it->base), len);
		return 0;
	}
	if (!it->win)
		it->win = malloc(it->cap);
	if (it->win && len <= it->cap / 2 && addr >= it->lo &&
	    addr + len <= it->hi) {
		/* Centre the window so that both stride directions reuse it. */
		uint64_t half = it->cap / 2;
		uint64_t start = addr > it->lo + half - len ? addr + len - half
							    : it->lo;
		uint64_t end = start + it->cap < it->hi ? start + it->cap : it->hi;
		it->len = 0;
		if (it->c->rd.read(it->c->rd.ctx, start, it->win,
				   (size_t)(end - start)) == 0) {
			it->base = start;
			it->len = (size_t)(end - start);
			memcpy(buf, it->win + (addr - start), len);
			return 0;
		}
	}
	return nd_read(it->c, addr, buf, len, e, "array data");
}

bool nd_item_swapped(const struct nd_dtype *d)
{
	return d->byteorder == '>';
}

static void load(unsigned char *dst, const unsigned char *p, int size,
		 bool swap)
{
	if (!swap) {
		memcpy(dst, p, (size_t)size);
		return;
	}
	for (int i = 0; i < size; i++)
		dst[i] = p[size - 1 - i];
}

uint64_t nd_load_u(const unsigned char *p, int size, bool swap)
{
	unsigned char b[8] = {0};

	if (size > 8)
		size = 8;
	load(b, p, size, swap);
	uint64_t v;
	memcpy(&v, b, 8);
	return v;
}

int64_t nd_load_i(const unsigned char *p, int size, bool swap)
{
	uint64_t v = nd_load_u(p, size, swap);

	if (size < 8 && size > 0 && (v >> (size * 8 - 1)) & 1)
		v |= ~0ULL << (size * 8);
	return (int64_t)v;
}

long double nd_load_f(const unsigned char *p, int size, bool swap)
{
	unsigned char b[16] = {0};

	load(b, p, size > 16 ? 16 : size, swap);
	switch (size) {
	case 2: {
		uint16_t h;
		memcpy(&h, b, 2);
		return nd_half_to_double(h);
	}
	case 4: {
		float f;
		memcpy(&f, b, 4);
		return f;
	}
	case 8: {
		double f;
		memcpy(&f, b, 8);
		return f;
	}
	default: {
		long double f;
		memcpy(&f, b, sizeof(f));
		return f;
	}
	}
}

void nd_json_float(long double v, int size, struct nd_buf *b)
{
	char s[64];

	nd_fmt_shortest(v, (enum nd_fwidth)size, s, sizeof(s));
	if (s[0] == 'n' || s[0] == 'i' || s[1] == 'i')
		nd_buf_printf(b, "\"%s\"", s); /* JSON has no NaN/Infinity */
	else if (strpbrk(s, ".e"))
		nd_buf_puts(b, s);
	else
		nd_buf_printf(b, "%s.0", s); /* stays a float when parsed */
}

void nd_json_chars(const unsigned char *p, int64_t n, bool ucs4, bool swap,
		   bool strip, struct nd_buf *b)
{
	struct nd_buf t = {0};
	int64_t count = ucs4 ? n / 4 : n;

	/* NumPy drops trailing NULs of S and U items */
	while (strip && count > 0) {
		uint32_t cp = ucs4 ? (uint32_t)nd_load_u(p + 4 * (count - 1), 4, swap)
				   : p[count - 1];
		if (cp)
			break;
		count--;
	}
	for (int64_t i = 0; i < count; i++) {
		char enc[4];
		uint32_t cp = ucs4 ? (uint32_t)nd_load_u(p + 4 * i, 4, swap) : p[i];
		nd_buf_add(&t, enc, nd_utf8_encode(enc, cp));
	}
	nd_buf_json_str(b, t.p ? t.p : "", t.len);
	nd_buf_free(&t);
}

void nd_pyscalar_write(const struct nd_pyscalar *v, uint64_t obj,
		       enum nd_style style, struct nd_buf *b)
{
	bool json = style == ND_STYLE_JSON;
	char f[64];

	switch (v->kind) {
	case ND_PY_NONE:
		nd_buf_puts(b, json ? "null" : "None");
		return;
	case ND_PY_BOOL:
		nd_buf_puts(b, v->i ? (json ? "true" : "True")
				    : (json ? "false" : "False"));
		return;
	case ND_PY_INT:
		nd_buf_printf(b, "%" PRId64, v->i);
		return;
	case ND_PY_BIGINT:
		nd_buf_add(b, v->s, v->slen);
		return;
	case ND_PY_FLOAT:
		if (json) {
			nd_json_float(v->f, 8, b);
		} else {
			nd_fmt_py_float(v->f, f, sizeof(f));
			nd_buf_puts(b, f);
		}
		return;
	case ND_PY_STR:
		if (json)
			nd_buf_json_str(b, v->s, v->slen);
		else
			nd_buf_py_repr_n(b, v->s, v->slen);
		return;
	case ND_PY_BYTES:
		if (json) /* as text, one character per byte (latin-1) */
			nd_json_chars((const unsigned char *)v->s,
				      (int64_t)v->slen, false, false, false, b);
		else
			nd_buf_bytes_repr(b, v->s, v->slen, false);
		return;
	case ND_PY_UNREADABLE:
	case ND_PY_OTHER:
		break;
	}
	const char *type = v->kind == ND_PY_OTHER ? v->type : NULL;
	if (!obj) {
		nd_buf_puts(b, json ? "null" : "NULL");
	} else if (json) {
		nd_buf_printf(b, "{\"address\": %" PRIu64 ", \"type\": ", obj);
		if (type)
			nd_buf_json_str(b, type, strlen(type));
		else
			nd_buf_puts(b, "null");
		nd_buf_putc(b, '}');
	} else {
		nd_buf_putc(b, '<');
		nd_buf_puts_safe(b, type ? type : "unreadable");
		nd_buf_printf(b, " object at 0x%" PRIx64 ">", obj);
	}
}

void nd_nested_list(int64_t elsize, const int64_t *shape, int ndim,
		    const unsigned char *item, int64_t edge, nd_leaf_fn leaf,
		    void *arg, struct nd_buf *b)
{
	if (ndim == 0) {
		leaf(arg, item, b);
		return;
	}
	int64_t inner = elsize;
	for (int i = 1; i < ndim; i++)
		inner *= shape[i];
	nd_buf_putc(b, '[');
	for (int64_t i = 0; i < shape[0]; i++) {
		if (i)
			nd_buf_puts(b, ", ");
		if (edge && shape[0] > 2 * edge && i == edge) {
			nd_buf_puts(b, "..., ");
			i = shape[0] - edge;
		}
		nd_nested_list(elsize, shape + 1, ndim - 1, item + i * inner,
			       edge, leaf, arg, b);
	}
	nd_buf_putc(b, ']');
}
