/* Element access: walking an array in C order through its strides, reading
 * items through a window cache; and turning captured items into JSON. */
#ifndef ND_VALUES_H
#define ND_VALUES_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "ctx.h"
#include "ndarray.h"
#include "pyobj.h"

/* Addresses of elements in C order. */
struct nd_cursor {
	const struct nd_array *a;
	int64_t idx[ND_MAXDIMS];
	uint64_t addr;
	int64_t left;
};

void nd_cursor_init(struct nd_cursor *cur, const struct nd_array *a);
bool nd_cursor_next(struct nd_cursor *cur, uint64_t *addr);

/* Reads items through a 64 KiB window so neighbouring elements cost one
 * read; falls back to exact reads where the window would cross into
 * unreadable memory. */
struct nd_items {
	struct nd_ctx *c;
	uint64_t lo, hi; /* the window never leaves [lo, hi) */
	size_t cap;      /* window size, 64 KiB unless the caller sets it */
	unsigned char *win;
	uint64_t base;
	size_t len;
};

/* Items of array a: windows stay inside the bytes its elements cover. */
void nd_items_init(struct nd_items *it, struct nd_ctx *c,
		   const struct nd_array *a);
void nd_items_free(struct nd_items *it);
int nd_items_read(struct nd_items *it, uint64_t addr, void *buf, size_t len,
		  struct nd_err *e);

/* Integer and float loads from item bytes in the dtype's byte order. */
bool nd_item_swapped(const struct nd_dtype *d);
int64_t nd_load_i(const unsigned char *p, int size, bool swap);
uint64_t nd_load_u(const unsigned char *p, int size, bool swap);
/* kind 'f' items of 2, 4, 8 or 16 bytes. */
long double nd_load_f(const unsigned char *p, int size, bool swap);

/* A sub-array item as nested lists "[[a, b], [c, d]]" over shape, each
 * element (elsize bytes apart) written by leaf; with edge > 0, axes longer
 * than 2 * edge show their edges around "...". */
typedef void (*nd_leaf_fn)(void *arg, const unsigned char *elem,
			   struct nd_buf *b);
void nd_nested_list(int64_t elsize, const int64_t *shape, int ndim,
		    const unsigned char *item, int64_t edge, nd_leaf_fn leaf,
		    void *arg, struct nd_buf *b);

/* A float as JSON: its shortest text, "nan"/"inf" as strings, always
 * with a point or an exponent (it stays a float when parsed). */
void nd_json_float(long double v, int size, struct nd_buf *b);
/* n bytes of S (ucs4: U) items as a JSON string, trailing NULs dropped
 * (strip) as NumPy drops them. */
void nd_json_chars(const unsigned char *p, int64_t n, bool ucs4, bool swap,
		   bool strip, struct nd_buf *b);

/* A Python object's value: as JSON its int, float, str, bool, None, or
 * {"address": A, "type": T}; as Python what repr() shows (or
 * "<T object at 0x...>"). */
void nd_pyscalar_write(const struct nd_pyscalar *v, uint64_t obj,
		       enum nd_style style, struct nd_buf *b);

/* values_json.c: */
struct nd_preview;
/* One item as a JSON value (see DESIGN.md: numbers, booleans, [re, im],
 * strings for S/U/datetime, lists for structured items); objects come
 * from the preview. */
void nd_item_json(const struct nd_preview *p, const struct nd_dtype *d,
		  const unsigned char *item, struct nd_buf *b);
/* The captured values as a JSON list. */
void nd_values_json(const struct nd_preview *p, const struct nd_array *a,
		    struct nd_buf *b);

#endif
