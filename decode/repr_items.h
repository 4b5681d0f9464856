/* repr's per-dtype element formatters (numpy.core.arrayprint): built over
 * the elements a repr shows, so that floats share precision and padding,
 * then applied to each. repr.c lays them out. */
#ifndef ND_REPR_ITEMS_H
#define ND_REPR_ITEMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "dtype.h"

struct nd_preview;

enum fkind { F_BOOL, F_INT, F_UINT, F_FLOAT, F_COMPLEX, F_DATETIME,
	     F_TIMEDELTA, F_BYTES, F_STR, F_VOID, F_OBJECT, F_STRUCT,
	     F_SUBARRAY };

struct floatfmt {
	bool exp;
	bool plus;
	bool exact_int; /* print integer parts exactly (rules) */
	int width;      /* item width in memory */
	int precision;  /* max fractional digits */
	int min_digits; /* zero-pad fraction to this (scientific) */
	int pad_left, pad_right, exp_size;
};

struct fmt {
	enum fkind kind;
	const struct nd_dtype *d;
	bool swap, zero_d;
	int width;                  /* ints, time deltas, datetimes */
	struct floatfmt re, im;
	struct fmt *fields;         /* F_STRUCT: per field; F_SUBARRAY: [0] */
	int nfields;
};

struct rctx {
	const struct nd_preview *p;
	int64_t threshold;
};

/* Elements a formatter is built over: n item pointers. */
struct column {
	const unsigned char **p;
	size_t n;
};

#define MAX_COLUMN (1 << 22) /* elements a formatter looks at */

/* Builds f for dtype d over the elements in col. */
int nd_fmt_build(struct rctx *r, struct fmt *f, const struct nd_dtype *d,
		 struct column col);
/* Appends element p formatted by f. */
void nd_fmt_item(struct rctx *r, const struct fmt *f, const unsigned char *p,
		 struct nd_buf *b);
void nd_fmt_free(struct fmt *f);
/* Width in characters of UTF-8 text, as repr counts it. */
size_t nd_ulen(const char *s);

#endif
