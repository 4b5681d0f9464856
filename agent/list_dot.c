#include "list_dot.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../decode/dtype.h"
#include "../decode/ndarray.h"

/* Owners of data and objects that hold a buffer are filled, so that a
 * buffer's owner stands out among its views; an object no root reaches
 * is what one looks for in a leak, so it is framed in red. */
#define FILL_ARRAY "#dbe9f6"
#define FILL_OBJECT "#f6ecd2"
#define NO_PATH "#c0392b"

/* A chain is at most ND_MAX_BASES long: deeper recursion is a cycle the
 * decode did not see (it cannot, but the writer does not rely on it). */
#define MAX_NEST (ND_MAX_BASES + 2)

struct writer {
	const struct list_graph *g;
	struct nd_ctx *c;
	bool *done;     /* per g->o: its node (and edges out) written */
	struct nd_buf *b;
	struct nd_buf text; /* a label, before it is quoted */
};

void list_dot_str(struct nd_buf *b, const char *s, size_t len)
{
	struct nd_buf copy = {0}, safe = {0};

	/* control characters become \xNN: a '\n' of the target's text is
	 * then no line break, and Graphviz gets valid UTF-8 */
	nd_buf_putc(b, '"');
	for (size_t at = 0; at <= len;) {
		const char *nl = memchr(s + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (s + at)) : len - at;
		nd_buf_reset(&copy);
		nd_buf_add(&copy, s + at, n);
		nd_buf_reset(&safe);
		nd_buf_puts_safe(&safe, nd_buf_str(&copy));
		for (size_t i = 0; i < safe.len; i++) {
			if (safe.p[i] == '"' || safe.p[i] == '\\')
				nd_buf_putc(b, '\\');
			nd_buf_putc(b, safe.p[i]);
		}
		at += n;
		if (at < len) /* a '\n' */
			nd_buf_puts(b, "\\l");
		at++;
	}
	nd_buf_putc(b, '"');
	b->oom |= copy.oom || safe.oom;
	nd_buf_free(&copy);
	nd_buf_free(&safe);
}

static bool *done_of(struct writer *w, uint64_t addr)
{
	const struct graph_obj *o = list_graph_obj(w->g, addr);

	return o ? &w->done[o - w->g->o] : NULL;
}

/* The last line of a label: what holds the object. */
static void holder(struct writer *w, uint64_t addr)
{
	const struct graph_obj *o = list_graph_obj(w->g, addr);
	static const char *const say[] = {
		[HOLD_NONE] = "no path from roots",
		[HOLD_CUT] = "not reached (the walk was cut short, see -v)",
		[HOLD_UNNAMED] = "reached; no path Python could write",
		[HOLD_UNKNOWN] = "path not known",
	};

	if (o && o->hold == HOLD_PATH)
		nd_buf_add(&w->text, w->g->paths.p + o->off, o->len);
	else
		nd_buf_puts(&w->text, say[o ? o->hold : HOLD_UNKNOWN]);
	nd_buf_putc(&w->text, '\n');
}

static bool unheld(struct writer *w, uint64_t addr)
{
	const struct graph_obj *o = list_graph_obj(w->g, addr);

	return o && o->hold == HOLD_NONE;
}

/* "0x..." [label="...", ...]; the label is w->text. */
static void node(struct writer *w, uint64_t addr, const char *fill,
		 bool rounded)
{
	nd_buf_printf(w->b, "\t\"0x%" PRIx64 "\" [label=", addr);
	list_dot_str(w->b, w->text.p ? w->text.p : "", w->text.len);
	if (fill)
		nd_buf_printf(w->b, ", style=\"%sfilled\", fillcolor=\"%s\"",
			      rounded ? "rounded," : "", fill);
	if (unheld(w, addr))
		nd_buf_printf(w->b, ", color=\"%s\", penwidth=2", NO_PATH);
	nd_buf_puts(w->b, "];\n");
	nd_buf_reset(&w->text);
}

static void edge(struct writer *w, uint64_t from, uint64_t to,
		 const char *label)
{
	nd_buf_printf(w->b, "\t\"0x%" PRIx64 "\" -> \"0x%" PRIx64
			    "\" [label=\"%s\"];\n",
		      from, to, label);
}

/* An array as the list shows it: address, type, dtype and shape, nbytes,
 * who owns its data when no edge says it. */
static void array_label(struct writer *w, const struct nd_array *a)
{
	struct nd_buf *t = &w->text;
	char size[32];

	nd_buf_printf(t, "0x%" PRIx64 "\n", a->addr);
	nd_buf_puts_safe(t, a->type_name);
	nd_buf_putc(t, '\n');
	nd_dtype_str(a->dtype, t);
	nd_buf_putc(t, ' ');
	nd_buf_ints(t, a->shape, a->ndim, ND_STYLE_PY);
	nd_human_size((uint64_t)a->nbytes, size, sizeof(size));
	nd_buf_printf(t, "\nnbytes %" PRId64, a->nbytes);
	if (a->nbytes >= 1024)
		nd_buf_printf(t, " (%s)", size);
	nd_buf_putc(t, '\n');
	if (a->flags & ND_F_OWNDATA)
		nd_buf_puts(t, "owns its data\n");
	else if (!a->nbases)
		/* no object owns it: memory handed to NumPy by C code */
		nd_buf_printf(t, "borrows 0x%" PRIx64 "\n", a->data);
	holder(w, a->addr);
}

/* A base that is not an array listed: what its decode says of it. */
static void base_label(struct writer *w, const struct nd_base *x)
{
	struct nd_buf *t = &w->text;

	nd_buf_printf(t, "0x%" PRIx64 "\n", x->addr);
	nd_buf_puts_safe(t, x->type ? x->type : "?");
	nd_buf_putc(t, '\n');
	if (x->kind == ND_BASE_ARRAY)
		nd_buf_printf(t, "data 0x%" PRIx64 "%s\nnot listed\n", x->data,
			      x->flags & ND_F_OWNDATA ? ", owns its data" : "");
	else if (x->len >= 0)
		nd_buf_printf(t, "buffer 0x%" PRIx64 ", %" PRId64 " bytes\n",
			      x->buf, x->len);
	holder(w, x->addr);
}

static void array(struct writer *w, uint64_t addr, int nest);

/* The links of a's chain from its first base on, each object written
 * once: a link already written has its own links written with it. */
static void chain(struct writer *w, const struct nd_array *a, int nest)
{
	uint64_t from = a->addr;

	for (int i = 0; i < a->nbases; i++) {
		const struct nd_base *x = &a->bases[i];
		edge(w, from, x->addr, "base");
		bool *done = done_of(w, x->addr);
		if (done && *done)
			return;
		/* an array listed is drawn whole, with its own chain */
		if (x->kind == ND_BASE_ARRAY && list_graph_array(w->g, x->addr)) {
			array(w, x->addr, nest + 1);
			return;
		}
		if (done)
			*done = true;
		base_label(w, x);
		node(w, x->addr, x->kind == ND_BASE_ARRAY
				 ? (x->flags & ND_F_OWNDATA ? FILL_ARRAY : NULL)
				 : FILL_OBJECT,
		     x->kind != ND_BASE_ARRAY);
		if (x->kind == ND_BASE_MEMORYVIEW && x->obj) {
			/* the exporter: what really owns a memoryview's
			 * buffer (a bytes, an mmap, ...) */
			edge(w, x->addr, x->obj, "obj");
			bool *od = done_of(w, x->obj);
			if (!od || !*od) {
				if (od)
					*od = true;
				nd_buf_printf(&w->text, "0x%" PRIx64 "\n",
					      x->obj);
				nd_buf_puts_safe(&w->text, x->obj_type
							   ? x->obj_type
							   : "?");
				nd_buf_putc(&w->text, '\n');
				holder(w, x->obj);
				node(w, x->obj, FILL_OBJECT, true);
			}
		}
		from = x->addr;
	}
}

/* A listed array, decoded again, and its chain. */
static void array(struct writer *w, uint64_t addr, int nest)
{
	bool *done = done_of(w, addr);
	struct nd_array a;

	if ((done && *done) || nest > MAX_NEST)
		return;
	if (done)
		*done = true;
	memset(&a, 0, sizeof(a));
	if (nd_array_decode(w->c, addr, &a, NULL) == 0) {
		array_label(w, &a);
		node(w, addr, a.flags & ND_F_OWNDATA ? FILL_ARRAY : NULL, false);
		chain(w, &a, nest);
	} else {
		/* validated while paused, so not seen here only when its
		 * decode needs what the capture budget left out */
		nd_buf_printf(&w->text, "0x%" PRIx64 "\nnot captured within "
			      "--capture-max\n", addr);
		holder(w, addr);
		node(w, addr, NULL, false);
	}
	nd_array_free(&a);
}

static void title_label(const struct list_graph *g, const char *title,
			struct nd_buf *t)
{
	char size[32];

	nd_buf_printf(t, "%s: %zu of %zu arrays drawn", title, g->ndrawn,
		      g->n);
	if (g->lone) {
		nd_human_size((uint64_t)g->lone_min, size, sizeof(size));
		nd_buf_printf(t, "; %zu without views or bases under %s left "
			      "out (--min-bytes sets that size)", g->lone, size);
	}
	if (g->over)
		nd_buf_printf(t, "; %zu past the first %zu left out", g->over,
			      g->ndrawn);
	if (g->cut)
		nd_buf_puts(t, "; the walk from the roots was cut short");
	if (g->unwalked)
		nd_buf_puts(t, "; no paths: an ndspy snapshot keeps no object "
			       "graph");
	nd_buf_putc(t, '\n');
}

int list_dot_write(const struct list_graph *g, struct nd_ctx *c,
		   const char *title, struct nd_buf *b, struct nd_err *e)
{
	struct writer w = {g, c, calloc(g->no ? g->no : 1, sizeof(bool)), b,
			   {0}};

	if (!w.done)
		return nd_fail(e, ND_ENOMEM, "out of memory");
	title_label(g, title, &w.text);
	nd_buf_puts(b, "digraph ndspy {\n\tgraph [rankdir=LR, labelloc=t, "
		       "fontname=\"monospace\", label=");
	list_dot_str(b, w.text.p, w.text.len);
	nd_buf_puts(b, "];\n\tnode [shape=box, fontname=\"monospace\", "
		       "fontsize=10];\n\tedge [fontname=\"monospace\", "
		       "fontsize=9];\n");
	nd_buf_reset(&w.text);
	for (size_t i = 0; i < g->ndrawn; i++)
		array(&w, g->order[i], 0);
	nd_buf_puts(b, "}\n");
	bool oom = b->oom || w.text.oom;
	nd_buf_free(&w.text);
	free(w.done);
	return oom ? nd_fail(e, ND_ENOMEM, "out of memory") : 0;
}
