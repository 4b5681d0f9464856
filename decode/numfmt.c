#include "numfmt.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double nd_half_to_double(uint16_t h)
{
	int sign = h >> 15, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
	double v;

	if (exp == 0)
		v = ldexp(frac, -24);
	else if (exp == 31)
		v = frac ? NAN : INFINITY;
	else
		v = ldexp(frac | 0x400, exp - 25);
	return sign ? -v : v;
}

/* Round-to-nearest-even conversion, to test whether text reads back. */
static uint16_t double_to_half(double v)
{
	uint16_t sign = signbit(v) ? 0x8000 : 0;

	v = fabs(v);
	if (isnan(v))
		return 0x7e00;
	if (v >= 65520.0)
		return sign | 0x7c00;
	if (v < ldexp(1, -14)) {
		/* subnormal: units of 2^-24 */
		double q = nearbyint(ldexp(v, 24));
		return sign | (uint16_t)q;
	}
	int e;
	double m = frexp(v, &e); /* v = m * 2^e, 0.5 <= m < 1 */
	double q = nearbyint(ldexp(m, 11)); /* 11 significant bits */
	if (q >= 2048) {
		q /= 2;
		e++;
	}
	int exp = e - 1 + 15;
	if (exp >= 31)
		return sign | 0x7c00;
	return sign | (uint16_t)(exp << 10) | ((uint16_t)q & 0x3ff);
}

static bool reads_back(const char *s, long double v, enum nd_fwidth w)
{
	switch (w) {
	case ND_F16:
		return double_to_half(strtod(s, NULL)) ==
		       double_to_half((double)v);
	case ND_F32:
		return strtof(s, NULL) == (float)v;
	case ND_F64:
		return strtod(s, NULL) == (double)v;
	default:
		return strtold(s, NULL) == v;
	}
}

static int max_digits(enum nd_fwidth w)
{
	return w == ND_F16 ? 5 : w == ND_F32 ? 9 : w == ND_F64 ? 17 : 21;
}

void nd_fmt_shortest(long double v, enum nd_fwidth w, char *out, size_t cap)
{
	if (isnan(v)) {
		snprintf(out, cap, "nan");
		return;
	}
	if (isinf(v)) {
		snprintf(out, cap, v < 0 ? "-inf" : "inf");
		return;
	}
	for (int p = 1; p <= max_digits(w); p++) {
		snprintf(out, cap, "%.*Lg", p, v);
		if (reads_back(out, v, w))
			return;
	}
}

void nd_shortest_digits(long double v, enum nd_fwidth w, struct nd_digits *o)
{
	char s[64];

	memset(o, 0, sizeof(*o));
	o->neg = signbit(v) != 0;
	if (v == 0) {
		o->d[0] = '0';
		o->ndigits = 1;
		o->exp10 = 1;
		return;
	}
	for (int p = 1; p <= max_digits(w); p++) {
		snprintf(s, sizeof(s), "%.*Le", p - 1, fabsl(v));
		if (reads_back(s, fabsl(v), w) ||
		    p == max_digits(w))
			break;
	}
	/* s is "D.DDDDe[+-]XX" */
	int n = 0;
	const char *c = s;
	for (; *c && *c != 'e'; c++)
		if (*c >= '0' && *c <= '9')
			o->d[n++] = *c;
	while (n > 1 && o->d[n - 1] == '0')
		n--;
	o->d[n] = '\0';
	o->ndigits = n;
	o->exp10 = atoi(c + 1) + 1;
}

void nd_fmt_py_float(double v, char *out, size_t cap)
{
	struct nd_digits d;

	if (isnan(v) || isinf(v)) {
		snprintf(out, cap, "%s", isnan(v) ? "nan" : v < 0 ? "-inf" : "inf");
		return;
	}
	nd_shortest_digits(v, ND_F64, &d);
	const char *sign = d.neg ? "-" : "";
	int e = v == 0 ? 0 : d.exp10 - 1;
	if (e < -4 || e >= 16) {
		/* 1e-05, 1.5e+300 */
		snprintf(out, cap, "%s%c%s%se%c%02d", sign, d.d[0],
			 d.ndigits > 1 ? "." : "", d.d + 1, e < 0 ? '-' : '+',
			 abs(e));
	} else if (d.exp10 <= 0) {
		/* 0.00123: zeros after the point, then the digits */
		snprintf(out, cap, "%s0.%0*d%s", sign, -d.exp10, 0, d.d);
		if (d.exp10 == 0)
			snprintf(out, cap, "%s0.%s", sign, d.d);
	} else if (d.exp10 >= d.ndigits) {
		/* 1200.0 */
		snprintf(out, cap, "%s%s%0*d.0", sign, d.d, d.exp10 - d.ndigits, 0);
		if (d.exp10 == d.ndigits)
			snprintf(out, cap, "%s%s.0", sign, d.d);
	} else {
		snprintf(out, cap, "%s%.*s.%s", sign, d.exp10, d.d, d.d + d.exp10);
	}
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian). Wide
 * arithmetic: any int64 count times any unit multiplier stays defined. */
typedef __int128 i128;

static i128 floordiv(i128 a, i128 b)
{
	i128 q = a / b;
	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static void civil(i128 days, i128 *y, int *m, int *d)
{
	days += 719468;
	i128 era = floordiv(days, 146097);
	i128 doe = days - era * 146097;
	i128 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	i128 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	i128 mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

void nd_fmt_datetime(int64_t v, int unit, int num, char *out, size_t cap)
{
	/* sub-second units: digits after the dot, and units per second */
	static const struct {
		int digits;
		int64_t per_sec;
	} sub[] = {
		[8] = {3, 1000LL},
		[9] = {6, 1000000LL},
		[10] = {9, 1000000000LL},
		[11] = {12, 1000000000000LL},
		[12] = {15, 1000000000000000LL},
		[13] = {18, 1000000000000000000LL},
	};
	static const int64_t secs_per[] = {[5] = 3600, [6] = 60, [7] = 1};

	if (v == ND_NAT) {
		snprintf(out, cap, "NaT");
		return;
	}
	i128 t = (i128)v * num;
	i128 y = 0, days, secs = 0, frac = 0;
	int m = 1, d = 1, fdigits = 0;
	if (unit == 0) {
		y = 1970 + t;
	} else if (unit == 1) {
		y = 1970 + floordiv(t, 12);
		m = (int)(t - floordiv(t, 12) * 12) + 1;
	} else if (unit == 2 || unit == 4) {
		days = t * (unit == 2 ? 7 : 1);
		civil(days, &y, &m, &d);
	} else if (unit >= 5 && unit <= 13) {
		i128 per_sec = unit <= 7 ? 1 : sub[unit].per_sec;
		i128 sec = unit <= 7 ? t * secs_per[unit] : floordiv(t, per_sec);
		frac = unit <= 7 ? 0 : t - sec * per_sec;
		fdigits = unit <= 7 ? 0 : sub[unit].digits;
		days = floordiv(sec, 86400);
		secs = sec - days * 86400;
		civil(days, &y, &m, &d);
	}
	/* the generic unit, garbage units, and years no calendar reaches */
	if (unit < 0 || unit > 13 || unit == 3 || y > INT64_MAX / 2 ||
	    y < INT64_MIN / 2) {
		snprintf(out, cap, "%" PRId64, v);
		return;
	}
	int n = unit == 0   ? snprintf(out, cap, "%04" PRId64, (int64_t)y)
		: unit == 1 ? snprintf(out, cap, "%04" PRId64 "-%02d",
				       (int64_t)y, m)
			    : snprintf(out, cap, "%04" PRId64 "-%02d-%02d",
				       (int64_t)y, m, d);
	if (unit <= 4 || n < 0 || (size_t)n >= cap)
		return;
	int hh = (int)(secs / 3600), mm = (int)(secs / 60 % 60),
	    ss = (int)(secs % 60);
	if (unit == 5)
		snprintf(out + n, cap - (size_t)n, "T%02d", hh);
	else if (unit == 6)
		snprintf(out + n, cap - (size_t)n, "T%02d:%02d", hh, mm);
	else if (unit == 7)
		snprintf(out + n, cap - (size_t)n, "T%02d:%02d:%02d", hh, mm, ss);
	else
		snprintf(out + n, cap - (size_t)n, "T%02d:%02d:%02d.%0*" PRId64,
			 hh, mm, ss, fdigits, (int64_t)frac);
}
