/* A growable byte buffer. Running out of memory is sticky (buf->oom) so that
 * formatting code can append freely and check once at the end. */
#ifndef ND_BUF_H
#define ND_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* JSON lists, or Python tuples ("(3,)") for text that mirrors repr(). */
enum nd_style { ND_STYLE_JSON, ND_STYLE_PY };

struct nd_buf {
	char *p;
	size_t len, cap;
	bool oom;
};

void nd_buf_free(struct nd_buf *b);
void nd_buf_reset(struct nd_buf *b);
void nd_buf_add(struct nd_buf *b, const void *data, size_t len);
void nd_buf_puts(struct nd_buf *b, const char *s);
void nd_buf_putc(struct nd_buf *b, char c);
void nd_buf_printf(struct nd_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void nd_buf_spaces(struct nd_buf *b, size_t n);
/* A list of integers: [3, 4] in JSON, (3, 4) or (3,) as Python. */
void nd_buf_ints(struct nd_buf *b, const int64_t *v, int n,
		 enum nd_style style);
/* Appends s as a JSON string literal (quotes included). */
void nd_buf_json_str(struct nd_buf *b, const char *s, size_t len);
/* Appends s as Python's repr() of a str would show it (quotes chosen as
 * Python does, unprintable characters escaped). _n takes a length, for
 * strings with NULs inside. */
void nd_buf_py_repr(struct nd_buf *b, const char *s);
void nd_buf_py_repr_n(struct nd_buf *b, const char *s, size_t len);
/* Python's repr() of bytes: b'...' (strip drops trailing NULs). */
void nd_buf_bytes_repr(struct nd_buf *b, const void *data, size_t len,
		       bool strip);
/* Text from the target (type names, paths) made safe for a terminal:
 * control characters become \xNN. */
void nd_buf_puts_safe(struct nd_buf *b, const char *s);
/* How many bytes at the start of s[0..len) are whole, valid UTF-8. */
size_t nd_utf8_valid_prefix(const char *s, size_t len);
/* Encodes a code point as UTF-8 into out (up to 4 bytes); invalid code
 * points (surrogates, > U+10FFFF) become U+FFFD. Returns the length. */
size_t nd_utf8_encode(char *out, uint32_t cp);
/* NUL-terminated view of the content ("" when empty or after oom). */
const char *nd_buf_str(struct nd_buf *b);

/* "s" after a count that is not 1 ("1 array", "2 arrays"). */
static inline const char *nd_plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

/* "800 B", "1.5 KiB", "2.0 GiB": sizes as every command prints them. */
void nd_human_size(uint64_t n, char *out, size_t cap);

#endif
