/* Raw frames the watch probe copied, named while the target runs: each
 * code object is named once and kept with the fields it was named from,
 * which are compared with the object at each use. */
#include "rawframes.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pyobj.h"
#include "read.h"

#define MAX_TEXT 4096       /* a file or function name */
#define MAX_LINETABLE (1u << 20)

/* A code object as it was named: the fields a name and a line come from,
 * and their contents. */
struct nd_codeinfo {
	uint64_t code, type, filename, name, qualname, linetable;
	int32_t firstlineno, firsttraceable;
	int64_t units; /* 3.11+: code units (Py_SIZE); -1 unknown */
	char *file, *fname, *qual;
	uint8_t *table;
	size_t len;
};

#define ND_CODECACHE 4096 /* slots, by code address */
#define CODE_SPAN 256     /* the fields used all lie before this */

struct nd_codecache {
	struct nd_codeinfo slot[ND_CODECACHE];
	uint8_t table[MAX_LINETABLE]; /* a line table read to compare */
};

static uint64_t at64(const uint8_t *span, int off)
{
	uint64_t v = 0;

	if (off >= 0 && off + 8 <= CODE_SPAN)
		memcpy(&v, span + off, 8);
	return v;
}

static int32_t at32(const uint8_t *span, int off)
{
	int32_t v = 0;

	if (off >= 0 && off + 4 <= CODE_SPAN)
		memcpy(&v, span + off, 4);
	return v;
}

/* Bytes of a code object that hold every field used: no more, so that a
 * small code object at the end of a mapping is read whole. */
static size_t code_span(const struct nd_pylayout *P)
{
	int end = P->ob_size + 8;
	int f[] = {P->co_filename, P->co_name, P->co_qualname, P->co_linetable,
		   P->co_firstlineno, P->co_firsttraceable};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i] + 8 > end)
			end = f[i] + 8;
	return end < CODE_SPAN ? (size_t)end : CODE_SPAN;
}

static void info_clear(struct nd_codeinfo *k)
{
	free(k->file);
	free(k->fname);
	free(k->qual);
	free(k->table);
	memset(k, 0, sizeof(*k));
}

/* Whether str object s still holds text want (NULL: no string wanted). */
static bool same_text(struct nd_ctx *c, uint64_t s, const char *want)
{
	char buf[MAX_TEXT];

	if (!want)
		return true;
	return nd_py_str(c, s, buf, sizeof(buf), NULL, NULL) == 0 &&
	       strcmp(buf, want) == 0;
}

static char *text_field(struct nd_ctx *c, uint64_t s, struct nd_err *e)
{
	char buf[MAX_TEXT];
	char *out;

	if (nd_py_str(c, s, buf, sizeof(buf), NULL, e))
		return NULL;
	if (!(out = strdup(buf)))
		nd_fail(e, ND_ENOMEM, "out of memory");
	return out;
}

/* Whether slot k still describes the code object whose fields are in
 * span: the same type and pointers, and the same texts and line table
 * behind them (freed strings can come back at the same addresses). */
static bool still(struct nd_ctx *c, struct nd_codecache *cc,
		  const struct nd_codeinfo *k, uint64_t code,
		  const uint8_t *span)
{
	const struct nd_pylayout *P = c->py;
	uint64_t type;
	size_t len;

	memcpy(&type, span + P->ob_type, 8);
	return k->code == code && k->type == type &&
	       k->filename == at64(span, P->co_filename) &&
	       k->name == at64(span, P->co_name) &&
	       k->qualname == at64(span, P->co_qualname) &&
	       k->linetable == at64(span, P->co_linetable) &&
	       k->firstlineno == at32(span, P->co_firstlineno) &&
	       (k->units < 0 || k->units == (int64_t)at64(span, P->ob_size)) &&
	       same_text(c, k->filename, k->file) &&
	       same_text(c, k->name, k->fname) &&
	       same_text(c, k->qualname, k->qual) &&
	       nd_py_bytes(c, k->linetable, cc->table, MAX_LINETABLE, &len,
			   NULL) == 0 &&
	       len == k->len && memcmp(cc->table, k->table, len) == 0;
}

/* The slot of code object code, named now if it was not, or no longer
 * holds what it held. */
static int code_info(struct nd_ctx *c, struct nd_codecache *cc, uint64_t code,
		     struct nd_codeinfo **out, struct nd_err *e)
{
	const struct nd_pylayout *P = c->py;
	struct nd_codeinfo *k = &cc->slot[(code >> 4) % ND_CODECACHE];
	uint8_t span[CODE_SPAN] = {0};
	int64_t refcnt;
	uint64_t type;

	int rc = nd_read(c, code, span, code_span(P), e, "code object");
	if (rc)
		return rc;
	if (still(c, cc, k, code, span)) {
		*out = k;
		return 0;
	}
	info_clear(k);
	const char *tname;
	if (nd_py_header(c, code, &refcnt, &type, e) ||
	    nd_py_type_name(c, type, &tname, e))
		return -1;
	if (strcmp(tname, "code") != 0)
		return nd_fail(e, ND_ECORRUPT, "0x%" PRIx64 " is a %s, not a "
			       "code object", code, tname);
	k->type = type;
	k->filename = at64(span, P->co_filename);
	k->name = at64(span, P->co_name);
	k->qualname = at64(span, P->co_qualname);
	k->linetable = at64(span, P->co_linetable);
	k->firstlineno = at32(span, P->co_firstlineno);
	k->firsttraceable = at32(span, P->co_firsttraceable);
	k->units = P->frame_repr == ND_FRAME_INTERP
			   ? (int64_t)at64(span, P->ob_size) : -1;
	if (!(k->file = text_field(c, k->filename, e)) ||
	    !(k->fname = text_field(c, k->name, e)) ||
	    (P->co_qualname >= 0 && !(k->qual = text_field(c, k->qualname, e))) ||
	    (rc = nd_py_bytes(c, k->linetable, cc->table, MAX_LINETABLE,
			      &k->len, e)) ||
	    !(k->table = malloc(k->len ? k->len : 1))) {
		info_clear(k);
		return rc ? rc : nd_fail(e, ND_ENOMEM, "out of memory");
	}
	memcpy(k->table, cc->table, k->len);
	k->code = code;
	*out = k;
	return 0;
}

int nd_py_frame_of(struct nd_ctx *c, struct nd_codecache *cc,
		   struct nd_arena *a, const struct nd_rawframe *r,
		   struct nd_pyframe *f, struct nd_err *e)
{
	const struct nd_pylayout *P = c->py;
	struct nd_codeinfo *k;
	int addr;

	if (nd_frame_is_shim(P, r->owner))
		return 1;
	int rc = code_info(c, cc, r->code, &k, e);
	if (!rc)
		rc = nd_frame_place(P, r, k->firsttraceable, &addr, e);
	if (rc)
		return rc;
	/* an instruction past its code: the frame ran another code object
	 * that was freed since, and this one took its place */
	if (k->units >= 0 && addr / 2 > k->units)
		return nd_fail(e, ND_ECORRUPT, "code object at 0x%" PRIx64
			       " is not the one the frame ran", r->code);
	memset(f, 0, sizeof(*f));
	f->code = r->code;
	if ((rc = nd_addr2line(nd_frame_lines(P), k->firstlineno, k->table, k->len,
			       addr, &f->line)))
		return nd_fail(e, ND_ECORRUPT, "code object at 0x%" PRIx64
			       ": bad line table", r->code);
	f->file = nd_arena_strdup(a, k->file);
	f->name = nd_arena_strdup(a, k->fname);
	f->qualname = k->qual ? nd_arena_strdup(a, k->qual) : NULL;
	if (!f->file || !f->name || (k->qual && !f->qualname))
		return nd_fail(e, ND_ENOMEM, "out of memory");
	return 0;
}

struct nd_codecache *nd_codecache_new(void)
{
	return calloc(1, sizeof(struct nd_codecache));
}

void nd_codecache_free(struct nd_codecache *cc)
{
	if (!cc)
		return;
	for (size_t i = 0; i < ND_CODECACHE; i++)
		info_clear(&cc->slot[i]);
	free(cc);
}

