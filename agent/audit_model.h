/* What `ndspy audit` finds, from the target's arrays as read (a census of
 * its snapshot, or of a unit test's synthetic memory) and the buffers the
 * window saw allocated and not freed:
 *   orphan  a buffer allocated in the window, never freed, that no live
 *           array owns (OWNDATA with that data pointer): leaked by C code
 *   pinned  an owning array nothing references but its views (its
 *           refcount equals the number of arrays whose base it is) while
 *           the views reach only part of its bytes
 *   growth  buffers allocated in the window and still live, by the
 *           stack that allocated them (by size where none was seen)
 *   unreachable  an array owning its data that no root reaches at the end
 *           (why_model.h: cmd_audit marks them): held by C code, or
 *           garbage awaiting collection
 * No process and no output here: cmd_audit.c runs the window and prints. */
#ifndef NDSPY_AUDIT_MODEL_H
#define NDSPY_AUDIT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../decode/ndarray.h"
#include "live_table.h"
#include "sites.h"

/* What a census keeps of one array. */
struct census_arr {
	uint64_t addr, data, base; /* base: the base array, 0 if none */
	int64_t nbytes, refcnt, lo, hi;
	uint32_t flags;
	int nviews; /* arrays whose base this is */
	/* the hull of the bytes its views reach, relative to data */
	int64_t vlo, vhi;
	bool unreachable; /* no path from Python's roots (marked after) */
};

/* Every array of one state of the target, indexed. */
struct census {
	struct census_arr *a; /* by address */
	size_t n;
	uint64_t *owned;      /* data pointers of arrays owning them, sorted */
	size_t nowned;
	struct census_view { uint64_t base, addr; } *views; /* by base */
	size_t nviews;
};

/* Decodes every candidate through c (what does not decode is not an
 * array) and indexes owners and views. */
int census_take(struct census *s, struct nd_ctx *c, const uint64_t *cand,
		size_t ncand, struct nd_err *e);
void census_free(struct census *s);
/* The views of owner: *first is the first of them in s->views. */
size_t census_views_of(const struct census *s, uint64_t owner, size_t *first);
/* Bytes of owner o its views reach: the hull of their extents. */
int64_t census_reachable(const struct census_arr *o);

enum audit_kind { AUDIT_ORPHAN, AUDIT_PINNED, AUDIT_GROWTH,
		  AUDIT_UNREACHABLE };

struct audit_finding {
	enum audit_kind kind;
	uint64_t bytes;              /* orphan, growth: bytes; pinned: unreachable */
	const struct live_buf *buf;  /* orphan; growth by size: one of them */
	const struct census_arr *owner; /* pinned, unreachable */
	uint64_t count;              /* growth: buffers */
	const struct site *site;     /* where it was allocated; NULL unknown */
};

struct audit_findings {
	struct audit_finding *f; /* orphans, pinned, growth; largest first */
	size_t n;
	struct live_buf *bufs;   /* the window's live buffers judged */
	uint64_t growth, orphan_bytes, pinned_bytes, unreachable_bytes;
	size_t norphan, npinned, nunreachable;
};

/* The findings of a window: seen, what it saw allocated and not freed
 * (site ids into sites, which may be NULL: none seen); end, the census at
 * its end (have_end false: the target exited first, and orphans cannot be
 * told); buffers under min_size are not judged. Growth per site is summed
 * into sites. */
int audit_find(struct audit_findings *out, const struct census *end,
	       bool have_end, const struct live_ledger *seen,
	       struct sites *sites, uint64_t min_size, struct nd_err *e);
void audit_findings_free(struct audit_findings *f);

#endif
