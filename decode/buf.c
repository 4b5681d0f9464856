#include "buf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nd_buf_free(struct nd_buf *b)
{
	free(b->p);
	*b = (struct nd_buf){0};
}

void nd_buf_reset(struct nd_buf *b)
{
	b->len = 0;
	b->oom = false;
}

static bool reserve(struct nd_buf *b, size_t more);

void nd_buf_ints(struct nd_buf *b, const int64_t *v, int n,
		 enum nd_style style)
{
	nd_buf_putc(b, style == ND_STYLE_JSON ? '[' : '(');
	for (int i = 0; i < n; i++)
		nd_buf_printf(b, "%s%" PRId64, i ? ", " : "", v[i]);
	if (style == ND_STYLE_PY && n == 1)
		nd_buf_putc(b, ',');
	nd_buf_putc(b, style == ND_STYLE_JSON ? ']' : ')');
}

static bool reserve(struct nd_buf *b, size_t more)
{
	if (b->oom)
		return false;
	if (more > SIZE_MAX / 2 - b->len) {
		b->oom = true;
		return false;
	}
	if (b->len + more + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + more + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return false;
		}
		b->p = p;
		b->cap = cap;
	}
	return true;
}

void nd_buf_add(struct nd_buf *b, const void *data, size_t len)
{
	if (!reserve(b, len))
		return;
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void nd_buf_puts(struct nd_buf *b, const char *s)
{
	nd_buf_add(b, s, strlen(s));
}

void nd_buf_putc(struct nd_buf *b, char c)
{
	nd_buf_add(b, &c, 1);
}

void nd_buf_spaces(struct nd_buf *b, size_t n)
{
	if (!reserve(b, n))
		return;
	memset(b->p + b->len, ' ', n);
	b->len += n;
	b->p[b->len] = '\0';
}

void nd_buf_printf(struct nd_buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		nd_buf_add(b, small, (size_t)n);
		return;
	}
	if (!reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void nd_buf_json_str(struct nd_buf *b, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;

	nd_buf_putc(b, '"');
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		if (c == '"' || c == '\\') {
			nd_buf_putc(b, '\\');
			nd_buf_putc(b, (char)c);
			i++;
		} else if (c < 0x20) {
			nd_buf_printf(b, "\\u%04x", c);
			i++;
		} else {
			size_t n = utf8_seq(s + i, len - i);
			if (n == 0) {
				/* Keep the output valid JSON whatever the target held. */
				nd_buf_puts(b, "\\ufffd");
				i++;
			} else {
				nd_buf_add(b, s + i, n);
				i += n;
			}
		}
	}
	nd_buf_putc(b, '"');
}

/* Code points Python's str.isprintable() rejects, other than controls:
 * format characters, separators other than the space, private use. */
static bool unprintable(uint32_t cp)
{
	static const uint32_t ranges[][2] = {
		{0xa0, 0xa0}, {0xad, 0xad}, {0x600, 0x605}, {0x61c, 0x61c},
		{0x6dd, 0x6dd}, {0x70f, 0x70f}, {0x1680, 0x1680},
		{0x180e, 0x180e}, {0x2000, 0x200f}, {0x2028, 0x202f},
		{0x205f, 0x2064}, {0x2066, 0x206f}, {0x3000, 0x3000},
		{0xd800, 0xf8ff}, {0xfeff, 0xfeff}, {0xfff9, 0xfffb},
		{0x110bd, 0x110bd}, {0x1d173, 0x1d17a}, {0xe0001, 0xe0001},
		{0xe0020, 0xe007f}, {0xf0000, 0x10ffff},
	};

	if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
		return true;
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (cp >= ranges[i][0] && cp <= ranges[i][1])
			return true;
	return false;
}

size_t nd_utf8_valid_prefix(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		size_t n = utf8_seq(u + i, len - i);
		if (!n)
			break;
		i += n;
	}
	return i;
}

static uint32_t utf8_decode(const unsigned char *s, size_t n)
{
	static const unsigned char mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	uint32_t cp = s[0] & mask[n];

	for (size_t i = 1; i < n; i++)
		cp = (cp << 6) | (s[i] & 0x3f);
	return cp;
}

/* Python's quoting of str and bytes literals: single quotes unless the
 * text has one and no double quote; escapes for the quote, backslash,
 * \n \r \t and what is not printable (every byte >= 0x7f for bytes). */
static void py_quoted(struct nd_buf *b, const unsigned char *s, size_t len,
		      bool bytes)
{
	bool sq = memchr(s, '\'', len) != NULL;
	bool dq = memchr(s, '"', len) != NULL;
	char q = sq && !dq ? '"' : '\'';

	if (bytes)
		nd_buf_putc(b, 'b');
	nd_buf_putc(b, q);
	for (size_t i = 0; i < len;) {
		size_t n = bytes ? 1 : utf8_seq(s + i, len - i);
		uint32_t cp = bytes ? s[i] : n ? utf8_decode(s + i, n) : 0xfffd;
		if (cp == (uint32_t)q || cp == '\\')
			nd_buf_printf(b, "\\%c", (char)cp);
		else if (cp == '\n')
			nd_buf_puts(b, "\\n");
		else if (cp == '\r')
			nd_buf_puts(b, "\\r");
		else if (cp == '\t')
			nd_buf_puts(b, "\\t");
		else if (bytes ? cp >= 0x20 && cp < 0x7f : !unprintable(cp))
			nd_buf_add(b, s + i, n ? n : 1);
		else if (cp < 0x100)
			nd_buf_printf(b, "\\x%02x", cp);
		else if (cp < 0x10000)
			nd_buf_printf(b, "\\u%04x", cp);
		else
			nd_buf_printf(b, "\\U%08x", cp);
		i += n ? n : 1;
	}
	nd_buf_putc(b, q);
}

void nd_buf_py_repr_n(struct nd_buf *b, const char *str, size_t len)
{
	py_quoted(b, (const unsigned char *)str, len, false);
}

void nd_buf_bytes_repr(struct nd_buf *b, const void *data, size_t len,
		       bool strip)
{
	const unsigned char *p = data;

	/* NumPy drops the trailing NULs of S items */
	while (strip && len > 0 && p[len - 1] == 0)
		len--;
	py_quoted(b, p, len, true);
}

void nd_buf_py_repr(struct nd_buf *b, const char *str)
{
	nd_buf_py_repr_n(b, str, strlen(str));
}

void nd_buf_puts_safe(struct nd_buf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len = strlen(str);

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(s + i, len - i);
		uint32_t cp = n ? utf8_decode(s + i, n) : 0xfffd;
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || !n)
			nd_buf_printf(b, "\\x%02x", n ? cp : s[i]);
		else
			nd_buf_add(b, s + i, n);
		i += n ? n : 1;
	}
}

size_t nd_utf8_encode(char *out, uint32_t cp)
{
	if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		cp = 0xfffd;
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

const char *nd_buf_str(struct nd_buf *b)
{
	return (b->p && !b->oom) ? b->p : "";
}

void nd_human_size(uint64_t n, char *out, size_t cap)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, cap, "%" PRIu64 " B", n);
	else
		snprintf(out, cap, "%.1f %s", v, unit[u]);
}
