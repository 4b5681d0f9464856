/* What a report is made of, and its stacks as every format names them
 * (agent/report_stacks.c): shared by report.c and report_pprof.c. */
#ifndef NDSPY_REPORT_STACKS_H
#define NDSPY_REPORT_STACKS_H

#include <stddef.h>
#include <stdint.h>

#include "../decode/buf.h"
#include "live_table.h"
#include "sites.h"

/* What a report is made of. sites may be NULL (no stacks: every buffer
 * at site 0). */
struct report_in {
	const struct live_ledger *seen;
	const struct sites *sites;
	const char *title;         /* "ndspy watch: process 1234 (...)" */
	int64_t start_ns, end_ns;  /* CLOCK_REALTIME, the window */
};

/* Site id's frames (innermost first) and how many; none for id 0. */
size_t report_frames(const struct report_in *in, uint32_t id,
		     const struct nd_pyframe **f);
/* "function (file:line)", or "[no Python stack]" for f NULL. */
void report_frame_name(const struct nd_pyframe *f, struct nd_buf *b);

#endif
