#include "obmalloc.h"

#include <stdlib.h>
#include <string.h>

#include "read.h"

#define ALIGNMENT 16 /* pymalloc's on 64-bit: block sizes step by it */
#define TABLE_CHUNK 256 /* arena objects read at a time */

/* struct pool_header: ref.count, freeblock, nextpool, prevpool,
 * arenaindex, szidx, nextoffset, maxnextoffset (the same from 3.9 on). */
bool nd_pool_parse(const struct nd_pylayout *P, uint64_t addr,
		   const unsigned char *hdr, struct nd_pool *out)
{
	uint32_t pool = 1u << P->om_pool_bits, head = (uint32_t)P->om_pool_header;
	uint32_t count = nd_u32_at(hdr, 0), szidx = nd_u32_at(hdr, 36);
	uint32_t next = nd_u32_at(hdr, 40), maxnext = nd_u32_at(hdr, 44);
	uint64_t freeblock = nd_u64_at(hdr, 8);

	if (addr & (pool - 1) || szidx >= ND_SMALL_REQUEST / ALIGNMENT)
		return false;
	uint32_t block = (szidx + 1) * ALIGNMENT;
	/* a pool starts with two blocks carved (one handed out, one on the
	 * free list) and carves one more at a time up to its end */
	if (maxnext != pool - block || next > pool || next < head + 2 * block ||
	    (next - head) % block)
		return false;
	if (count > (next - head) / block)
		return false;
	if (freeblock && (freeblock < addr + head ||
			  freeblock >= addr + next ||
			  (freeblock - addr - head) % block))
		return false;
	*out = (struct nd_pool){addr, count, block, nd_u32_at(hdr, 32), next};
	return true;
}

int nd_pymalloc_tables(struct nd_ctx *c, uint64_t runtime,
		       struct nd_arena_table_at *out, size_t max, size_t *n,
		       struct nd_err *e)
{
	const struct nd_pylayout *P = c->py;
	uint64_t interp;

	*n = 0;
	if (P->om_state < 0)
		return nd_fail(e, ND_EUNSUPPORTED, "Python %d.%d keeps no arena "
			       "table in its interpreter state", P->major,
			       P->minor);
	if (nd_read_u64(c, runtime + (uint64_t)P->rt_interpreters_head, &interp,
		     e, "the interpreter list"))
		return -1;
	for (size_t walked = 0; interp; walked++) {
		uint64_t state = interp + (uint64_t)P->om_state;
		if (walked == ND_MAX_INTERPRETERS)
			return nd_fail_at(e, ND_ELIMIT, interp, "more than %d "
					  "interpreters", ND_MAX_INTERPRETERS);
		if (P->om_state_ptr &&
		    nd_read_u64(c, state, &state, e, "an interpreter's allocator "
						  "state"))
			return -1;
		struct nd_arena_table_at at = {
			state + (uint64_t)P->om_arenas,
			state + (uint64_t)P->om_maxarenas};
		bool seen = false;
		for (size_t i = 0; i < *n; i++)
			seen |= out[i].arenas == at.arenas;
		if (state && !seen && *n == max)
			return nd_fail_at(e, ND_ELIMIT, interp, "more than %zu "
					  "allocator states", max);
		if (state && !seen)
			out[(*n)++] = at;
		if (nd_read_u64(c, interp + (uint64_t)P->interp_next, &interp, e,
			     "the interpreter list"))
			return -1;
	}
	return 0;
}

/* One arena object: address (0 when unused), pool_address (the next pool
 * to carve), nfreepools, ntotalpools. Its pools are the pool-aligned
 * slots after address, as many as fit. */
static int arena_check(const struct nd_pylayout *P, const unsigned char *ao,
		       uint32_t index, struct nd_pyarena *out)
{
	uint64_t pool = 1ull << P->om_pool_bits, size = 1ull << P->om_arena_bits;
	uint64_t base = nd_u64_at(ao, 0), carve = nd_u64_at(ao, 8);
	uint32_t nfree = nd_u32_at(ao, 16), ntotal = nd_u32_at(ao, 20);
	uint64_t first = (base + pool - 1) & ~(pool - 1);

	if (base % ALIGNMENT || base > UINT64_MAX - size ||
	    ntotal != (base + size - first) / pool || nfree > ntotal ||
	    carve < first || carve > first + ntotal * pool ||
	    (carve - first) % pool)
		return -1;
	*out = (struct nd_pyarena){first, carve, index};
	return 0;
}

int nd_arena_table(struct nd_ctx *c, const struct nd_arena_table_at *at,
		   struct nd_pyarena **out, size_t *n, struct nd_err *e)
{
	const struct nd_pylayout *P = c->py;
	size_t osz = (size_t)P->om_arena_object;
	unsigned char buf[TABLE_CHUNK * 64];
	uint32_t max = 0;
	uint64_t table;

	*out = NULL;
	*n = 0;
	if (osz < 24 || osz > 64)
		return nd_fail(e, ND_EUNSUPPORTED, "arena objects of %zu bytes",
			       osz);
	if (nd_read(c, at->maxarenas, &max, sizeof(max), e, "maxarenas") ||
	    nd_read_u64(c, at->arenas, &table, e, "the arena table"))
		return -1;
	if (!max && !table)
		return 0; /* never allocated an arena */
	/* the table starts at 16 arena objects and doubles */
	if (max < 16 || max > ND_MAX_ARENAS || (max & (max - 1)) || !table ||
	    table % 8)
		return nd_fail_at(e, ND_ECORRUPT, at->arenas, "not an arena "
				  "table (%u arena objects at %#llx)", max,
				  (unsigned long long)table);
	struct nd_pyarena *a = NULL;
	size_t used = 0;
	for (uint32_t i = 0; i < max; i += TABLE_CHUNK) {
		uint32_t k = max - i < TABLE_CHUNK ? max - i : TABLE_CHUNK;
		if (nd_read(c, table + (uint64_t)i * osz, buf, k * osz, e,
			    "the arena table"))
			goto fail;
		for (uint32_t j = 0; j < k; j++) {
			const unsigned char *ao = buf + j * osz;
			if (!nd_u64_at(ao, 0))
				continue; /* unused */
			struct nd_pyarena one;
			if (arena_check(P, ao, i + j, &one)) {
				nd_fail_at(e, ND_ECORRUPT, table + (i + j) * osz,
					   "arena object %u is not one", i + j);
				goto fail;
			}
			if ((used & (used - 1)) == 0) { /* 0 or a power of 2: full */
				struct nd_pyarena *g = realloc(
					a, (used ? 2 * used : 1) * sizeof(*a));
				if (!g) {
					nd_fail(e, ND_ENOMEM, "out of memory");
					goto fail;
				}
				a = g;
			}
			a[used++] = one;
		}
	}
	*out = a;
	*n = used;
	return 0;
fail:
	free(a);
	return -1;
}

size_t nd_rip_loads(const unsigned char *code, size_t n, uint64_t vaddr,
		    struct nd_rip_load *out, size_t max)
{
	size_t got = 0;

	for (size_t i = 0; i + 6 <= n && got < max; i++) {
		/* an optional REX prefix (W: a 64-bit load), opcode 8b, ModRM
		 * with mod 00 and r/m 101: [rip + disp32] */
		size_t at = i;
		bool wide = false;
		if ((code[at] & 0xf0) == 0x40) {
			wide = code[at] & 8;
			at++;
		}
		if (at + 6 > n || code[at] != 0x8b || (code[at + 1] & 0xc7) != 5)
			continue;
		int32_t disp;
		memcpy(&disp, code + at + 2, sizeof(disp));
		size_t len = at + 6 - i;
		out[got++] = (struct nd_rip_load){
			vaddr + i + len + (uint64_t)(int64_t)disp, wide ? 8 : 4};
		i += len - 1;
	}
	return got;
}
