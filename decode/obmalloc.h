/* pymalloc, CPython's allocator of objects of at most 512 bytes: arenas
 * (1 MiB, 256 KiB in 3.9) cut into pools (16 KiB, 4 KiB in 3.9), each pool
 * a header then blocks of one size class. Where the arenas are (the
 * interpreter's arena table), what a pool header says, and checks that
 * turn garbage into "not a pool" rather than a wrong range to scan. */
#ifndef ND_OBMALLOC_H
#define ND_OBMALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctx.h"

/* pymalloc serves requests up to this; larger objects come from malloc */
#define ND_SMALL_REQUEST 512
/* arena objects we accept in a table: 2^20 arenas are a terabyte */
#define ND_MAX_ARENAS (1u << 20)

struct nd_pool {
	uint64_t addr;   /* the pool (its header) */
	uint32_t count;  /* blocks in use */
	uint32_t block;  /* bytes per block */
	uint32_t arena;  /* its arena's index in the table */
	uint32_t end;    /* offset past the last block ever handed out */
};

/* The pools an arena has carved so far: [first, end), pool-aligned. */
struct nd_pyarena {
	uint64_t first, end;
	uint32_t index;
};

/* Whether the header bytes hdr (P->om_pool_header of them, read at addr)
 * are a pool's: a size class, offsets and counts that agree with each
 * other and with the pool's size, a free list inside the pool. */
bool nd_pool_parse(const struct nd_pylayout *P, uint64_t addr,
		   const unsigned char *hdr, struct nd_pool *out);

/* Where an arena table's pointer and its length (maxarenas) are. */
struct nd_arena_table_at {
	uint64_t arenas, maxarenas;
};

/* 3.12+: the tables of every interpreter, from &_PyRuntime, each once
 * (interpreters that share the main one's state point to it). */
int nd_pymalloc_tables(struct nd_ctx *c, uint64_t runtime,
		       struct nd_arena_table_at *out, size_t max, size_t *n,
		       struct nd_err *e);

/* The arenas in use, from the table at at; every entry must be an arena
 * object (a table with none in use gives *n == 0: the target does not
 * allocate with pymalloc). *out is malloc'd (NULL when *n is 0). */
int nd_arena_table(struct nd_ctx *c, const struct nd_arena_table_at *at,
		   struct nd_pyarena **out, size_t *n, struct nd_err *e);

/* Before 3.12 the table is static in the interpreter's object file, read by
 * its exported _Py_GetAllocatedBlocks: the addresses its first
 * instructions load from RIP-relative (mov reg, [rip+disp32]), with the
 * width of each load; code is the function's first bytes, at link-time
 * address vaddr. A candidate list: the caller tries them on the table. */
struct nd_rip_load {
	uint64_t addr;
	int width; /* 4 or 8 */
};
size_t nd_rip_loads(const unsigned char *code, size_t n, uint64_t vaddr,
		    struct nd_rip_load *out, size_t max);

#endif
