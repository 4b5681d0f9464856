/* The pprof report (agent/report_pprof.c). */
#ifndef NDSPY_REPORT_PPROF_H
#define NDSPY_REPORT_PPROF_H

#include "../decode/buf.h"
#include "../decode/err.h"
#include "report_stacks.h"

/* The gzipped profile.proto (report_pprof.c) into b. */
int report_pprof(const struct report_in *in, struct nd_buf *b,
		 struct nd_err *e);

#endif
