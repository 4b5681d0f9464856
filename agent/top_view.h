/* ndspy top's screen (ncurses): a header line with the process's totals,
 * then one row per Python line, sorted as asked. The terminal is given
 * back on every exit: top_view_end normally, and a signal-safe restore of
 * its saved modes on a crash or a fatal signal. */
#ifndef NDSPY_TOP_VIEW_H
#define NDSPY_TOP_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../decode/err.h"
#include "site_lines.h"

enum top_sort { TOP_LIVE, TOP_RATE, TOP_ALLOCATED, TOP_BUFFERS, TOP_SORTS };

struct top_frame {
	const char *name;              /* "process 1234 (python3 app.py)" */
	const struct live_ledger *seen;
	struct site_line *lines;       /* sorted here */
	size_t n;
	double seconds;                /* what recent_bytes covers */
	uint64_t lost;
	enum top_sort sort;
	const char *note;              /* a message under the header, or NULL */
};

/* Whether stdin and stdout are a terminal (asked before the target is
 * touched). */
int top_view_usable(struct nd_err *e);
/* Takes the terminal. */
int top_view_begin(struct nd_err *e);
void top_view_draw(struct top_frame *f);
/* A key pressed (KEY_RESIZE when the terminal changed size), or -1. */
int top_view_key(void);
void top_view_end(void);

#endif
