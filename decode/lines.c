/* Each walk mirrors CPython's own (Objects/codeobject.c of that version) step
 * for step, so tables the compiler never writes still give CPython's answer;
 * only where CPython would read past the end do we fail instead. Lines are
 * summed in long long so garbage cannot overflow. */
#include "lines.h"

#include <limits.h>


static int set_line(long long l, int *line)
{
	if (l < INT_MIN || l > INT_MAX)
		return -1;
	*line = (int)l;
	return 0;
}

/* 3.9: (unsigned byte increment, signed line increment) pairs; addr belongs
 * to the line reached after every pair that starts at or before it. CPython
 * reads len/2 pairs, so an odd last byte is ignored, not an error. */
static int lnotab(int first, const uint8_t *t, size_t len, int addrq,
		  int *line)
{
	long long addr = 0, l = first;

	for (size_t i = 0; i + 1 < len; i += 2) {
		addr += t[i];
		if (addr > addrq)
			break;
		l += (int8_t)t[i + 1];
	}
	return set_line(l, line);
}

/* 3.10 (PEP 626): pairs (byte length, signed line delta) of consecutive
 * ranges; delta -128 means "no line" and leaves the running line alone.
 * Zero-length pairs only carry line deltas too big for one byte, so CPython
 * folds them into the next range (PyLineTable_NextAddressRange). */
static int linetable310(int first, const uint8_t *t, size_t len, int addr,
			int *line)
{
	long long end = 0, computed = first, ar_line = -1;
	size_t i = 0;

	while (end <= addr) {
		long long start = end;

		if (i >= len) { /* past the last range: no line */
			*line = -1;
			return 0;
		}
		do {
			if (len - i < 2) /* odd length, or ends mid-fold */
				return -1;
			end += t[i];
			if ((int8_t)t[i + 1] == -128) {
				ar_line = -1;
			} else {
				computed += (int8_t)t[i + 1];
				ar_line = computed;
			}
			i += 2;
		} while (end == start);
	}
	return set_line(ar_line, line);
}

/* A 6-bit-per-byte varint with bit 6 as "more", low bit the sign. Bit 7 is
 * ignored here as in CPython's scan_varint; past 32 bits is garbage. */
static int svarint(const uint8_t *t, size_t len, size_t i, long long *out)
{
	unsigned int read, val, shift = 0;

	if (i >= len)
		return -1;
	read = t[i++];
	val = read & 63;
	while (read & 64) {
		shift += 6;
		if (i >= len || shift >= 32)
			return -1;
		read = t[i++];
		val |= (read & 63) << shift;
	}
	*out = (val & 1) ? -(long long)(val >> 1) : (long long)(val >> 1);
	return 0;
}

/* 3.11+ (InternalDocs/locations.md): entries start with a byte 1cccclll,
 * covering lll+1 code units; the kind cccc says how the line moves: short
 * forms 0-9 keep it, one-line forms 10-12 add 0-2, no-column 13 and long 14
 * add a signed varint, 15 means no line. Columns follow but never matter for
 * the line, so the walk skips to the next byte with bit 7 set, as CPython's
 * advance() does. */
static int locations(int first, const uint8_t *t, size_t len, int addr,
		     int *line)
{
	long long end = 0, computed = first, ar_line = -1;
	size_t i = 0;

	while (end <= addr) {
		uint8_t b;
		int kind, rc;
		long long delta = 0;

		if (i >= len) {
			*line = -1;
			return 0;
		}
		b = t[i];
		kind = (b >> 3) & 15;
		if (kind == 13 || kind == 14) {
			rc = svarint(t, len, i + 1, &delta);
			if (rc)
				return rc;
		} else if (kind >= 10 && kind <= 12) {
			delta = kind - 10;
		}
		computed += delta;
		ar_line = (b >> 3) == 0x1f ? -1 : computed;
		end += ((b & 7) + 1) * 2;
		do
			i++;
		while (i < len && !(t[i] & 128));
	}
	return set_line(ar_line, line);
}

int nd_addr2line(enum nd_lines_repr repr, int firstlineno,
		 const uint8_t *table, size_t len, int addr, int *line)
{
	if (!table)
		len = 0;
	switch (repr) {
	case ND_LINES_LNOTAB:
		return lnotab(firstlineno, table, len, addr, line);
	case ND_LINES_310:
	case ND_LINES_LOCATIONS:
		/* PyCode_Addr2Line: before the first instruction */
		if (addr < 0) {
			*line = firstlineno;
			return 0;
		}
		return repr == ND_LINES_310 ?
			linetable310(firstlineno, table, len, addr, line) :
			locations(firstlineno, table, len, addr, line);
	}
	return -1;
}
