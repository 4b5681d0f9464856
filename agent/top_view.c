#define _GNU_SOURCE
#include "top_view.h"

#include <curses.h>
#include <inttypes.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "../decode/buf.h"
#include "cleanup.h"

static struct termios saved;
static bool have_saved;
static int restore_slot = -1;
static SCREEN *screen;

/* From a signal handler: the modes ndspy found, the normal screen and
 * the cursor back (endwin is not async-signal-safe). */
static void restore_terminal(void *arg)
{
	static const char leave[] = "\033[?1049l\033[?25h\r\n";
	(void)arg;
	if (have_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	if (write(STDOUT_FILENO, leave, sizeof(leave) - 1) < 0)
		return;
}

int top_view_usable(struct nd_err *e)
{
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return nd_fail(e, ND_EUSAGE, "top needs a terminal (for a pipe "
			       "or a file: ndspy watch --json, or --metrics)");
	return 0;
}

int top_view_begin(struct nd_err *e)
{
	have_saved = tcgetattr(STDIN_FILENO, &saved) == 0;
	restore_slot = cleanup_push(restore_terminal, NULL);
	/* file and function names in the terminal's encoding */
	setlocale(LC_CTYPE, "");
	/* initscr would exit on a terminal curses does not know */
	screen = newterm(NULL, stdout, stdin);
	if (!screen) {
		cleanup_pop(restore_slot);
		return nd_fail(e, ND_EUSAGE, "top: the terminal (TERM=%.40s) "
			       "is not one curses knows", getenv("TERM"));
	}
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	return 0;
}

void top_view_end(void)
{
	endwin();
	delscreen(screen);
	screen = NULL;
	cleanup_pop(restore_slot);
	restore_slot = -1;
}

int top_view_key(void)
{
	int k = getch();
	return k == ERR ? -1 : k;
}

static const char *const sort_name[TOP_SORTS] = {
	"live bytes", "allocation rate", "allocated bytes", "live buffers"};

static uint64_t key_of(const struct site_line *l, enum top_sort s)
{
	switch (s) {
	case TOP_RATE:
		return l->recent_bytes;
	case TOP_ALLOCATED:
		return l->c.alloc_bytes;
	case TOP_BUFFERS:
		return l->c.live_n;
	default:
		return l->c.live_bytes;
	}
}

/* Largest first; ties by live bytes, then by allocated bytes, so that
 * rows do not jump between refreshes. */
static int compare(const void *a, const void *b, void *sort)
{
	const struct site_line *x = a, *y = b;
	enum top_sort by = *(const enum top_sort *)sort;
	uint64_t kx = key_of(x, by), ky = key_of(y, by);

	if (kx != ky)
		return kx < ky ? 1 : -1;
	if (x->c.live_bytes != y->c.live_bytes)
		return x->c.live_bytes < y->c.live_bytes ? 1 : -1;
	if (x->c.alloc_bytes != y->c.alloc_bytes)
		return x->c.alloc_bytes < y->c.alloc_bytes ? 1 : -1;
	return 0;
}

static const char *size(uint64_t n, char *out)
{
	nd_human_size(n, out, 16);
	return out;
}

/* One row's site: "function (file:line)" with the file's directory
 * dropped when the column is narrow. */
static void site_text(const struct nd_pyframe *f, int width, struct nd_buf *b)
{
	if (!f) {
		nd_buf_puts(b, SITES_NO_STACK);
		return;
	}
	const char *file = f->file;
	const char *base = strrchr(file, '/');
	const char *fn = sites_function(f);
	if (base && (int)(strlen(fn) + strlen(file) + 12) > width)
		file = base + 1;
	nd_buf_puts_safe(b, fn);
	nd_buf_puts(b, " (");
	nd_buf_puts_safe(b, file);
	nd_buf_printf(b, ":%d)", f->line);
}

/* Where a row's site begins: after its four numbers. */
#define SITE_COLUMN 43

void top_view_draw(struct top_frame *f)
{
	const struct live_ledger *s = f->seen;
	char a[16], c[16], d[16];
	struct nd_buf b = {0};
	int rows = LINES, cols = COLS;

	qsort_r(f->lines, f->n, sizeof(*f->lines), compare, &f->sort);
	uint64_t recent = 0;
	for (size_t i = 0; i < f->n; i++)
		recent += f->lines[i].recent_bytes;
	double sec = f->seconds > 0 ? f->seconds : 1;
	erase();
	attron(A_BOLD);
	mvprintw(0, 0, "ndspy top: %.*s", cols > 12 ? cols - 12 : 0, f->name);
	attroff(A_BOLD);
	mvprintw(1, 0, "live %s in %zu buffer%s  allocating %s/s  allocated %s "
		       "(%" PRIu64 " buffer%s)  lost %" PRIu64,
		 size(s->bytes_allocated - s->bytes_freed, a), s->live.n,
		 nd_plural(s->live.n),
		 size((uint64_t)((double)recent / sec), c),
		 size(s->bytes_allocated, d), s->allocs,
		 nd_plural(s->allocs), f->lost);
	mvprintw(2, 0, "sorted by %s  (s: sort, q: quit)%s%s", sort_name[f->sort],
		 f->note ? "  " : "", f->note ? f->note : "");
	attron(A_REVERSE);
	mvprintw(3, 0, "%-*s", cols, "     LIVE    BUFS      ALLOC/s  "
				     "ALLOCATED  LINE (outside NumPy)");
	attroff(A_REVERSE);
	for (size_t i = 0; i < f->n && (int)i + 4 < rows; i++) {
		const struct site_line *l = &f->lines[i];
		char e[16];
		nd_buf_reset(&b);
		site_text(l->f, cols - SITE_COLUMN, &b);
		mvprintw((int)i + 4, 0, "%9s %7" PRIu64 " %10s/s %10s  %.*s",
			 size(l->c.live_bytes, a), l->c.live_n,
			 size((uint64_t)((double)l->recent_bytes / sec), c),
			 size(l->c.alloc_bytes, e),
			 cols > SITE_COLUMN ? cols - SITE_COLUMN : 0,
			 nd_buf_str(&b));
	}
	nd_buf_free(&b);
	refresh();
}
