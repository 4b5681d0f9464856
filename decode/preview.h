/* Everything printing an array needs from the target beyond its header:
 * the item bytes the values and the repr show, and the Python objects those
 * items point to. Captured while the target is paused; formatting then
 * reads only the preview, after the target runs again. */
#ifndef ND_PREVIEW_H
#define ND_PREVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "ctx.h"
#include "dtype.h"
#include "ndarray.h"
#include "pyobj.h"

#define ND_REPR_THRESHOLD 1000 /* np.get_printoptions()['threshold'] */
#define ND_REPR_EDGE 3         /* edgeitems */

struct nd_objentry {
	uint64_t addr;
	struct nd_pyscalar v;
};

struct nd_preview {
	struct nd_print_rules rules;
	/* --json values: the first nvalues elements in C order */
	int64_t nvalues;    /* -1: not asked for */
	unsigned char *values;
	struct nd_err values_err; /* code != ND_OK: could not be read */
	/* repr: shown positions per axis ("..." in between when summarised)
	 * and their items in C order */
	int64_t threshold;  /* 0: not asked for */
	int64_t shown[ND_MAXDIMS];
	bool summary[ND_MAXDIMS];
	size_t nshown;
	unsigned char *items;
	struct nd_err repr_err;
	/* objects referenced by captured items, sorted by address */
	struct nd_objentry *objs;
	size_t nobjs;
	struct nd_arena arena;
};

/* Captures what the JSON values (nvalues >= 0) and the repr
 * (threshold > 0) need. Problems are recorded in values_err / repr_err,
 * not returned: the header is still worth printing. */
void nd_preview_capture(struct nd_ctx *c, const struct nd_array *a,
			int64_t nvalues, int64_t threshold,
			struct nd_preview *p);
void nd_preview_free(struct nd_preview *p);
/* The captured object at addr (an UNREADABLE one if it was not). */
const struct nd_pyscalar *nd_preview_object(const struct nd_preview *p,
					    uint64_t addr);

#endif
