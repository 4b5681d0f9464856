/* Finding array headers by scanning the target's writable memory: every
 * 16-byte aligned slot whose type word is ndarray or a subclass and whose
 * header looks live becomes a candidate (validated by a full decode
 * afterwards). Two threads read and scan chunks in parallel. */
#ifndef NDSPY_SCAN_H
#define NDSPY_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../decode/ctx.h"
#include "../decode/pywalk.h"
#include "maps.h"
#include "mem.h"

struct scan {
	uint64_t *cand;      /* candidate addresses, sorted, unique */
	size_t ncand;
	/* scan_arrays: ndarray and its subtypes, ascending */
	uint64_t types[ND_MAX_SUBTYPES];
	size_t ntypes;
	uint64_t bytes;      /* bytes of memory scanned */
	uint64_t regions;
	uint64_t unreadable; /* bytes that could not be read */
};

/* Whether a region is scanned: private, writable, not a kernel page. */
int scan_region_wanted(const struct region *r);

/* types: the array types in any order, the most common (ndarray) first;
 * progress: called now and then from the calling thread with bytes done
 * and total (may be NULL). */
int scan_memory(const struct maps *m, struct mem *mem, const struct nd_ctx *c,
		const uint64_t *types, size_t ntypes,
		void (*progress)(uint64_t done, uint64_t total),
		struct scan *out, struct nd_err *e);
void scan_free(struct scan *s);

/* Finds the ndarray types of t, and scans t's source for arrays of them
 * (in bulk, past the snapshot). */
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
