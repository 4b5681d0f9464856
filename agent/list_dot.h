/* `ndspy list --dot`: the graph list_graph chose, as Graphviz DOT. */
#ifndef NDSPY_LIST_DOT_H
#define NDSPY_LIST_DOT_H

#include "../decode/buf.h"
#include "../decode/ctx.h"
#include "list_graph.h"

/* Appends the digraph to b: a node per object (named by its address as
 * "0x.."), labelled with what it is and its path from the roots; edges
 * from each array to its base ("base") and from a memoryview to the
 * object that exported its buffer ("obj"). Arrays are decoded again
 * through c (the sealed snapshot); title starts the graph's label. */
int list_dot_write(const struct list_graph *g, struct nd_ctx *c,
		   const char *title, struct nd_buf *b, struct nd_err *e);

/* s as a DOT string literal (quotes included): control characters and
 * invalid UTF-8 as \xNN (as the text output shows them), backslashes and
 * quotes escaped, each '\n' ending a left-aligned line. */
void list_dot_str(struct nd_buf *b, const char *s, size_t len);

#endif
