/* Live NumPy bytes by allocation stack, as files other tools read:
 * folded stacks (flame graph tools, speedscope), a gzipped pprof profile
 * (go tool pprof, Pyroscope, Parca) and a self-contained HTML flame graph.
 * watch and audit write them when they end, however they end. */
#ifndef NDSPY_REPORT_H
#define NDSPY_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "../decode/buf.h"
#include "../decode/err.h"
#include "outfile.h"
#include "report_stacks.h"

enum report_kind { REPORT_FOLDED, REPORT_PPROF, REPORT_HTML, REPORT_KINDS };

struct report_files {
	const char *path[REPORT_KINDS]; /* NULL: not asked for */
	struct outfile out[REPORT_KINDS];
	bool open[REPORT_KINDS];
};

#define REPORT_OPT_FOLDED 0x180
#define REPORT_OPT_PPROF 0x181
#define REPORT_OPT_HTML 0x182
#define REPORT_OPTIONS \
	{"folded", required_argument, NULL, REPORT_OPT_FOLDED}, \
	{"pprof", required_argument, NULL, REPORT_OPT_PPROF}, \
	{"html", required_argument, NULL, REPORT_OPT_HTML}
#define REPORT_HELP \
	"  --folded FILE    live bytes by allocation stack, one line per stack\n" \
	"                   (outer;...;inner BYTES: flamegraph.pl, speedscope)\n" \
	"  --pprof FILE     the same as a gzipped pprof profile (inuse_space,\n" \
	"                   inuse_objects, alloc_space, alloc_objects: go tool\n" \
	"                   pprof, Pyroscope, Parca)\n" \
	"  --html FILE      the same as one self-contained page: a flame graph\n" \
	"                   (click to zoom, hover for bytes, search)\n"

/* True when ch was one of REPORT_OPTIONS (its path kept). */
bool report_option(struct report_files *r, int ch, const char *arg);
bool report_wanted(const struct report_files *r);
/* Creates the files asked for (before the target is touched: a bad
 * destination fails early). */
int report_create(struct report_files *r, struct nd_err *e);

/* Writes and puts in place every file asked for; on failure the others
 * are still written, and the first error is returned. */
int report_finish(struct report_files *r, const struct report_in *in,
		  struct nd_err *e);
/* Removes what was created and not finished; safe to call twice. */
void report_abort(struct report_files *r);

#endif
