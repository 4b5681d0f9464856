/* Number and date formatting as NumPy and Python print them: shortest
 * round-trip digits per float width, float16 conversion, datetime64 as ISO
 * 8601 text. */
#ifndef ND_NUMFMT_H
#define ND_NUMFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Widths a float may have in target memory. */
enum nd_fwidth { ND_F16 = 2, ND_F32 = 4, ND_F64 = 8, ND_F80 = 16 };

double nd_half_to_double(uint16_t h);

/* Shortest "%.Ng" text that reads back to the same value at width w.
 * Non-finite values give "nan", "inf", "-inf". */
void nd_fmt_shortest(long double v, enum nd_fwidth w, char *out, size_t cap);

/* The decimal digits of v's shortest round-trip form: digits without dot,
 * the decimal exponent (value = 0.DIGITS * 10^exp10), and the sign. */
struct nd_digits {
	char d[48];
	int ndigits;
	int exp10;
	bool neg;
};
void nd_shortest_digits(long double v, enum nd_fwidth w, struct nd_digits *out);

/* Python's repr() of a float: shortest digits, "1e-05", "1e+16", "2.0". */
void nd_fmt_py_float(double v, char *out, size_t cap);

#define ND_NAT INT64_MIN

/* A datetime64 value in `unit` times `num` as NumPy's datetime_as_string
 * gives it ("2020-01-01", "2020-01-01T12:00:00.000", "NaT"). */
void nd_fmt_datetime(int64_t v, int unit, int num, char *out, size_t cap);

#endif
