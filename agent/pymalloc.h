/* Where the target's small Python objects are: the blocks of pymalloc's
 * pools (decode/obmalloc.h), found through the interpreter's arena table,
 * else by their headers at every pool-aligned address. Array headers are
 * small objects: a scan of these ranges costs what the objects cost, not
 * what the array data costs. */
#ifndef NDSPY_PYMALLOC_H
#define NDSPY_PYMALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "../decode/ctx.h"
#include "../decode/err.h"
#include "../decode/obmalloc.h"
#include "maps.h"
#include "mem.h"

enum pools_way {
	POOLS_NONE,   /* no pools to scan: scan all writable memory */
	POOLS_TABLE,  /* the arenas the interpreter's table lists */
	POOLS_PROBED, /* pool headers recognised at pool-aligned addresses */
};

struct pool_range {
	uint64_t start, end;
};

/* How pools were found, for -v. */
struct pools_found {
	enum pools_way way;
	char why[360];  /* NONE, PROBED: why not the table (or not pools) */
	uint64_t pools, arenas; /* pools found in use; arenas (TABLE) */
	uint64_t bytes;         /* of the ranges */
};

struct pools {
	struct pools_found f;
	struct pool_range *r; /* blocks of the pools wanted, ascending */
	size_t n;
};

/* Where to look: the table is read through ctx (its layout says the
 * Python), from &_PyRuntime (3.12+) or at the loads of
 * _Py_GetAllocatedBlocks (before); pool headers from src in bulk, at the
 * table's arenas or at every pool-aligned address of the regions of maps
 * that scans read. */
struct pools_where {
	struct nd_ctx *ctx;
	struct mem *src;
	const struct maps *maps;
	uint64_t runtime;
	const struct nd_rip_load *loads;
	size_t nloads;
};

/* The ranges of the pools in use whose blocks are at least min_block
 * bytes. Fails only when out of memory: where pools cannot be found,
 * out->f.way is POOLS_NONE and out->f.why says why. Arenas outside the
 * memory scans read, or listed twice, are not the allocator's: its table
 * is then refused as garbage. */
int pools_find(const struct pools_where *w, uint32_t min_block,
	       struct pools *out, struct nd_err *e);
void pools_free(struct pools *p);

#endif
