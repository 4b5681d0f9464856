/* Finding array headers by scanning the target's memory: every 16-byte
 * aligned slot whose type word is ndarray or a subclass and whose header
 * looks live becomes a candidate (validated by a full decode afterwards).
 * Array objects are small Python objects: what is scanned is the blocks of
 * pymalloc's pools that can hold one (pymalloc.h), and all writable memory
 * only for types too large for pymalloc, or when the target's pools cannot
 * be found. Two threads read and scan chunks in parallel. */
#ifndef NDSPY_SCAN_H
#define NDSPY_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../decode/ctx.h"
#include "../decode/pywalk.h"
#include "maps.h"
#include "mem.h"
#include "pymalloc.h"

struct scan {
	uint64_t *cand;      /* candidate addresses, sorted, unique */
	size_t ncand;
	/* scan_arrays: ndarray and its subtypes, ascending */
	uint64_t types[ND_MAX_SUBTYPES];
	size_t ntypes;
	uint64_t bytes;      /* bytes of memory scanned */
	uint64_t regions;    /* regions scanned whole */
	uint64_t unreadable; /* bytes that could not be read */
	/* where small objects were looked for (pymalloc.h), and how many
	 * types were looked for in all writable memory besides */
	struct pools_found found;
	size_t nlarge;
};

void scan_free(struct scan *s);
/* What was scanned and why, for -v: "scanned 38 MiB: the blocks of ..."
 * (SCAN_DESCRIBE bytes hold it all). */
#define SCAN_DESCRIBE 640
void scan_describe(const struct scan *s, char *buf, size_t cap);

/* Finds the ndarray types of t, and scans t's source for arrays of them
 * (in bulk, past the snapshot; the arena table through it). progress:
 * called now and then from the calling thread with bytes done and total
 * (may be NULL). */
struct target;
struct freeze;
int scan_arrays(struct target *t,
		void (*progress)(uint64_t done, uint64_t total),
		struct scan *out, struct nd_err *e);
/* What list and audit share: begins one state of t (target_pause; the
 * caller releases it with target_release whatever the result), then
 * scan_arrays. */
int scan_target(struct target *t, bool pause, struct freeze *fz,
		void (*progress)(uint64_t done, uint64_t total),
		struct scan *out, struct nd_err *e);

#endif
