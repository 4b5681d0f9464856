#define _GNU_SOURCE
#include "pypath.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ndarray.h"
#include "pyframes.h"
#include "pyobj.h"
#include "pywalk.h"
#include "read.h"
#include "values.h"

/* Whether s is a Python identifier (ASCII letters, digits, _, and any
 * non-ASCII character: Python's own check is wider than ndspy needs). */
static bool identifier(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!(*s == '_' || (*s >= 'a' && *s <= 'z') ||
		      (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      (unsigned char)*s >= 0x80))
			return false;
	return true;
}

/* A name as a step's text: only one Python could write after a dot (a
 * name set through setattr or globals() may be any string). */
static int name_of(struct nd_ctx *c, uint64_t str, struct nd_buf *b)
{
	char s[ND_MAX_NAME];

	if (nd_py_str(c, str, s, sizeof(s), NULL, NULL) || !identifier(s))
		return -1;
	nd_buf_puts(b, s);
	return 0;
}

/* Python's repr of a key it can read back as a literal: None, a bool, an
 * int, a finite float, bytes, a str (one with a lone surrogate decodes to
 * U+FFFD: not the key); {0xADDR} for any other. */
static void key_repr(struct nd_ctx *c, uint64_t key, struct nd_buf *b)
{
	struct nd_pyvalue *v = malloc(sizeof(*v));

	if (v)
		nd_py_value(c, key, v);
	enum nd_pykind k = v ? v->v.kind : ND_PY_UNREADABLE;
	bool literal = k == ND_PY_NONE || k == ND_PY_BOOL || k == ND_PY_INT ||
		       k == ND_PY_BIGINT || k == ND_PY_BYTES ||
		       (k == ND_PY_FLOAT && isfinite(v->v.f)) ||
		       (k == ND_PY_STR &&
			!memmem(v->v.s, v->v.slen, "\xef\xbf\xbd", 3));
	if (literal)
		nd_pyscalar_write(&v->v, key, ND_STYLE_PY, b);
	else
		nd_buf_printf(b, "{0x%" PRIx64 "}", key);
	free(v);
}

/* .gi_frame.f_locals['NAME'] (.cr_frame, .ag_frame: coroutines, async
 * generators): how Python reaches a suspended frame's local. */
static int gen_local(struct nd_ctx *c, uint64_t gen, uint64_t str,
		     struct nd_buf *b)
{
	uint64_t type;
	const char *name;
	char local[ND_MAX_NAME];

	if (nd_py_header(c, gen, NULL, &type, NULL) ||
	    nd_py_type_name(c, type, &name, NULL) ||
	    nd_py_str(c, str, local, sizeof(local), NULL, NULL))
		return -1;
	nd_buf_printf(b, ".%s_frame.f_locals[",
		      strcmp(name, "coroutine") == 0	      ? "cr"
		      : strcmp(name, "async_generator") == 0 ? "ag"
							      : "gi");
	nd_buf_py_repr(b, local);
	nd_buf_putc(b, ']');
	return 0;
}

/* The C-order index i in parent's shape: "i, j, k". */
static int unravel(struct nd_ctx *c, uint64_t array, uint64_t i,
		   struct nd_buf *b)
{
	unsigned char raw[ND_ARR_HEADER_MAX];
	struct nd_arr_raw r;
	int64_t shape[ND_MAXDIMS], idx[ND_MAXDIMS];

	if (nd_read(c, array, raw, nd_array_header_len(c->np), NULL, "array"))
		return -1;
	nd_array_parse(c->np, raw, &r);
	if (r.nd == 0) { /* the one element of a 0-d array: a[()] */
		nd_buf_puts(b, "()");
		return 0;
	}
	if (r.nd < 0 || r.nd > ND_MAXDIMS ||
	    nd_read(c, r.dims, shape, (size_t)r.nd * 8, NULL, "dims"))
		return -1;
	for (int64_t d = r.nd - 1; d >= 0; d--) {
		if (shape[d] <= 0)
			return -1;
		idx[d] = (int64_t)(i % (uint64_t)shape[d]);
		i /= (uint64_t)shape[d];
	}
	for (int64_t d = 0; d < r.nd; d++)
		nd_buf_printf(b, "%s%" PRId64, d ? ", " : "", idx[d]);
	return 0;
}

int nd_path_step(struct nd_ctx *c, struct nd_step s, uint64_t parent,
		 uint64_t target, struct nd_buf *b)
{
	char name[ND_MAX_NAME];

	switch (s.kind) {
	case ND_STEP_MODULE:
		return name_of(c, s.payload, b);
	case ND_STEP_ATTR_STR:
		nd_buf_putc(b, '.');
		return name_of(c, s.payload, b);
	case ND_STEP_ATTR_CSTR:
		if (nd_read_cstr(c, s.payload, name, sizeof(name), NULL,
				 "member name") || !identifier(name))
			return -1;
		nd_buf_putc(b, '.');
		nd_buf_puts(b, name);
		return 0;
	case ND_STEP_ATTR_FIXED:
		nd_buf_printf(b, ".%s", nd_step_names[s.payload]);
		return 0;
	case ND_STEP_GEN_LOCAL:
		return gen_local(c, parent, s.payload, b);
	case ND_STEP_INDEX:
		nd_buf_printf(b, "[%" PRIu64 "]", s.payload);
		return 0;
	case ND_STEP_FLAT:
		nd_buf_putc(b, '[');
		if (unravel(c, parent, s.payload, b))
			return -1;
		nd_buf_putc(b, ']');
		return 0;
	case ND_STEP_KEY:
		nd_buf_putc(b, '[');
		key_repr(c, s.payload, b);
		nd_buf_putc(b, ']');
		return 0;
	case ND_STEP_MEMBER:
		nd_buf_printf(b, "{0x%" PRIx64 "}", target);
		return 0;
	}
	return -1;
}

/* A step's text with spaces outside quotes dropped and a double-quoted
 * str (without ' or \ inside) in Python's single quotes: two spellings of
 * one step compare equal. */
static void canon(const char *s, size_t n, struct nd_buf *b)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == ' ')
			continue;
		if (s[i] != '\'' && s[i] != '"') {
			nd_buf_putc(b, s[i]);
			continue;
		}
		size_t j = i + 1;
		bool plain = true;
		while (j < n && s[j] != s[i]) {
			plain &= s[j] != '\'' && s[j] != '\\';
			j += s[j] == '\\' ? 2 : 1;
		}
		if (j >= n) { /* unterminated: as it is */
			nd_buf_add(b, s + i, n - i);
			return;
		}
		if (s[i] == '"' && plain) {
			nd_buf_putc(b, '\'');
			nd_buf_add(b, s + i + 1, j - i - 1);
			nd_buf_putc(b, '\'');
		} else {
			nd_buf_add(b, s + i, j - i + 1);
		}
		i = j;
	}
}

/* The length of the step text starts with; 0 when it is malformed. */
static size_t step_len(const char *s)
{
	/* a generator's local is one step of three parts */
	static const char *const gens[] = {".gi_frame.f_locals[",
					   ".cr_frame.f_locals[",
					   ".ag_frame.f_locals["};
	for (size_t i = 0; i < 3; i++)
		if (!strncmp(s, gens[i], strlen(gens[i]))) {
			size_t key = step_len(s + strlen(gens[i]) - 1);
			return key ? strlen(gens[i]) - 1 + key : 0;
		}
	if (*s == '.') {
		size_t n = strcspn(s + 1, ".[{");
		return n ? n + 1 : 0;
	}
	if (*s == '{') {
		const char *end = strchr(s, '}');
		return end ? (size_t)(end - s) + 1 : 0;
	}
	if (*s != '[')
		return 0;
	char quote = 0;
	for (size_t i = 1; s[i]; i++) {
		if (quote && s[i] == '\\' && s[i + 1])
			i++;
		else if (quote && s[i] == quote)
			quote = 0;
		else if (!quote && (s[i] == '\'' || s[i] == '"'))
			quote = s[i];
		else if (!quote && s[i] == ']')
			return i + 1;
	}
	return 0;
}

struct match {
	struct nd_ctx *c;
	uint64_t from;
	const char *want; /* canonical */
	struct nd_buf text, tmp;
	uint64_t found;
	bool attr_only;
};

static int match_ref(void *arg, uint64_t target, struct nd_step s)
{
	struct match *m = arg;

	if (m->attr_only && s.kind != ND_STEP_ATTR_STR &&
	    s.kind != ND_STEP_ATTR_CSTR && s.kind != ND_STEP_ATTR_FIXED)
		return 0;
	nd_buf_reset(&m->text);
	nd_buf_reset(&m->tmp);
	if (nd_path_step(m->c, s, m->from, target, &m->text))
		return 0;
	canon(m->text.p, m->text.len, &m->tmp);
	if (strcmp(nd_buf_str(&m->tmp), m->want))
		return 0;
	m->found = target;
	return 1;
}

/* An attribute of obj's class: its MRO's dicts. */
static void class_attr(struct nd_refs *w, struct match *m, uint64_t obj)
{
	uint64_t type, types[ND_MAX_MRO];
	size_t n = 0;

	if (nd_py_header(m->c, obj, NULL, &type, NULL) ||
	    nd_py_mro(m->c, type, types, &n))
		return;
	m->attr_only = true;
	for (size_t i = 0; i < n && !m->found; i++) {
		m->from = types[i];
		nd_refs_of(w, types[i], match_ref, m);
	}
}

int nd_path_follow(struct nd_ctx *c, uint64_t obj, const char *text,
		   const char *done, uint64_t *out, struct nd_err *e)
{
	struct nd_refs *w = nd_refs_new(c);
	struct match m = {.c = c};
	struct nd_buf want = {0};
	int rc = 0;

	if (!w)
		return nd_fail(e, ND_ENOMEM, "out of memory");
	for (const char *p = text; *p && !rc;) {
		size_t n = step_len(p);
		if (!n) {
			rc = nd_fail(e, ND_EUSAGE, "%s: cannot read the step at "
				     "'%.40s' (see ndspy why --help)", done, p);
			break;
		}
		nd_buf_reset(&want);
		canon(p, n, &want);
		m = (struct match){.c = c, .from = obj, .want = nd_buf_str(&want),
				   .text = m.text, .tmp = m.tmp};
		nd_refs_of(w, obj, match_ref, &m);
		/* a plain name: an attribute, maybe of the class */
		bool plain = *p == '.' && !memchr(p, '[', n);
		if (!m.found && plain)
			class_attr(w, &m, obj);
		if (!m.found && plain) {
			/* the walk passes over what it cannot read: a
			 * lookup of its own says why */
			char name[ND_MAX_NAME], what[1024];
			snprintf(name, sizeof(name), "%.*s", (int)n - 1, p + 1);
			snprintf(what, sizeof(what), "%s%.*s", done,
				 (int)(p - text), text);
			if (nd_py_getattr(c, obj, name, what, &m.found, e)) {
				rc = -1;
				break;
			}
		}
		if (!m.found && plain)
			rc = nd_fail(e, ND_ENOTARRAY, "%s%.*s has no attribute "
				     "'%.*s'", done, (int)(p - text), text,
				     (int)n - 1, p + 1);
		else if (!m.found)
			rc = nd_fail(e, ND_ENOTARRAY, "%s%.*s has no %.*s", done,
				     (int)(p - text), text, (int)n, p);
		obj = m.found;
		p += n;
	}
	nd_buf_free(&m.text);
	nd_buf_free(&m.tmp);
	nd_buf_free(&want);
	nd_refs_free(w);
	*out = obj;
	return rc;
}

size_t nd_frame_roots(const struct nd_pythread *py, int tid,
		      struct nd_frame_root *out)
{
	for (size_t j = 0; j < py->n; j++)
		out[j] = (struct nd_frame_root){py->f[j].frame, py->f[j].code,
						tid, (int)j};
	return py->n;
}

int nd_path_frame(struct nd_ctx *c, const struct nd_frame_root *frames,
		  size_t nframes, const char *path, uint64_t *out,
		  struct nd_err *e)
{
	int tid, n, used = 0;

	if (sscanf(path, "frame:%d:%d%n", &tid, &n, &used) != 2 ||
	    path[used] != '.')
		return nd_fail(e, ND_EUSAGE, "'%s': a frame is frame:TID:N.NAME "
			       "(TID as stacks prints it, N = 0 the innermost "
			       "Python frame)", path);
	const struct nd_frame_root *f = NULL;
	for (size_t i = 0; i < nframes && !f; i++)
		if (frames[i].tid == tid && frames[i].n == n)
			f = &frames[i];
	if (!f)
		return nd_fail(e, ND_ENOTARRAY, "frame:%d:%d: no such Python "
			       "frame (see ndspy stacks)", tid, n);
	const char *rest = path + used;
	size_t len = step_len(rest);
	struct nd_refs *w = nd_refs_new(c);
	struct match m = {.c = c, .from = f->frame, .attr_only = true};
	struct nd_buf want = {0};
	if (!w)
		return nd_fail(e, ND_ENOMEM, "out of memory");
	canon(rest, len, &want);
	m.want = nd_buf_str(&want);
	nd_frame_locals(w, f->frame, f->code, match_ref, &m);
	nd_refs_free(w);
	nd_buf_free(&m.text);
	nd_buf_free(&m.tmp);
	nd_buf_free(&want);
	if (!len || !m.found)
		return nd_fail(e, ND_ENOTARRAY, "frame:%d:%d has no local %.*s",
			       tid, n, (int)(len ? len - 1 : 0), rest + 1);
	char done[64];
	snprintf(done, sizeof(done), "%.*s", (int)(used + len) < 63
						     ? (int)(used + len) : 63,
		 path);
	return nd_path_follow(c, m.found, rest + len, done, out, e);
}

int nd_py_resolve(struct nd_ctx *c, uint64_t runtime, const char *path,
		  uint64_t *obj, struct nd_err *e)
{
	uint64_t mod, global;
	char done[1024];
	size_t len;

	if (strlen(path) >= sizeof(done))
		return nd_fail(e, ND_EUSAGE, "name too long: %.40s...", path);
	if (nd_py_module_of(c, runtime, path, &mod, &len, e))
		return -1;
	/* MODULE.NAME, then the steps of the path */
	const char *name = path + len + 1, *end = name + strcspn(name, ".[{");
	if (path[len] != '.' || end == name)
		return nd_fail(e, ND_EUSAGE, "'%s': give MODULE.NAME, e.g. "
			       "__main__.x", path);
	snprintf(done, sizeof(done), "%.*s", (int)(end - path), path);
	uint64_t dict;
	char key[ND_MAX_NAME];
	snprintf(key, sizeof(key), "%.*s", (int)(end - name), name);
	if (nd_read_u64(c, mod + (uint64_t)c->py->module_dict, &dict, e,
			"module dict") ||
	    nd_py_dict_get(c, dict, key, &global, e))
		return -1;
	if (!global)
		return nd_fail(e, ND_ENOTARRAY, "%.*s has no global '%s'",
			       (int)len, path, key);
	return nd_path_follow(c, global, end, done, obj, e);
}
