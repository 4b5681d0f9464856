/* pymalloc's arenas and pools on synthetic images (decode/obmalloc.c,
 * agent/pymalloc.c): the pools found through the arena table (3.12+ from
 * the interpreter state, before at the loads of _Py_GetAllocatedBlocks)
 * and by their headers agree; hostile headers and tables are rejected,
 * bounded, and never crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../agent/pymalloc.h"
#include "../../decode/obmalloc.h"
#include "image.h"

#define HEAD 48

/* A process's allocator in miniature: two arenas of a 16-entry table
 * (entries 0 and 3), with pools of 96-byte blocks (in use, in use and
 * adjacent, empty), one of 32-byte blocks, one of 128-byte blocks half
 * carved; the table where the version keeps it. */
struct heap {
	struct image im;
	struct image_mem src;
	struct maps maps;
	struct region reg[2];
	uint64_t pool, arena;
	uint64_t arena_at[2], first[2];
	uint64_t table, table_at, max_at, decoy_at, runtime;
	struct nd_rip_load loads[3];
	struct pools_where w;
};

static void pool_header(struct image *im, uint64_t p, uint32_t count,
			uint32_t arena, uint32_t block, uint32_t carved,
			uint32_t pool)
{
	img_w32(im, p, count);
	/* the last block carved is free unless all are in use */
	img_w64(im, p + 8, count < carved ? p + HEAD + (carved - 1) * block
					  : 0);
	img_w32(im, p + 32, arena);
	img_w32(im, p + 36, block / 16 - 1);
	img_w32(im, p + 40, HEAD + carved * block);
	img_w32(im, p + 44, pool - block);
}

static uint64_t make_arena(struct heap *h, int slot, uint32_t index,
			   uint32_t npools)
{
	uint64_t base = img_alloc(&h->im, h->arena);
	uint64_t first = (base + h->pool - 1) & ~(h->pool - 1);
	uint64_t ao = h->table + (uint64_t)index * 48;
	uint32_t ntotal = (uint32_t)((base + h->arena - first) / h->pool);

	h->arena_at[slot] = base;
	h->first[slot] = first;
	h->reg[slot] = (struct region){.start = base, .end = base + h->arena,
				       .perms = "rw-p", .kind = R_ANON};
	img_w64(&h->im, ao, base);
	img_w64(&h->im, ao + 8, first + npools * h->pool);
	img_w32(&h->im, ao + 16, ntotal - npools);
	img_w32(&h->im, ao + 20, ntotal);
	return first;
}

static void build(struct heap *h, int minor)
{
	memset(h, 0, sizeof(*h));
	image_init(&h->im, minor, minor >= 13 ? 2 : 1);
	const struct nd_pylayout *P = h->im.ctx.py;
	h->pool = 1ull << P->om_pool_bits;
	h->arena = 1ull << P->om_arena_bits;
	h->table = img_alloc(&h->im, 16 * 48);
	uint64_t a = make_arena(h, 0, 0, 4);
	uint32_t full = (uint32_t)((h->pool - HEAD) / 96);
	pool_header(&h->im, a, 3, 0, 96, full, (uint32_t)h->pool);
	pool_header(&h->im, a + h->pool, full, 0, 96, full, (uint32_t)h->pool);
	pool_header(&h->im, a + 2 * h->pool, 0, 0, 96, 4, (uint32_t)h->pool);
	pool_header(&h->im, a + 3 * h->pool, 7, 0, 32, 9, (uint32_t)h->pool);
	uint64_t b = make_arena(h, 1, 3, 1);
	pool_header(&h->im, b, 1, 3, 128, 2, (uint32_t)h->pool);
	h->maps = (struct maps){h->reg, 2};
	image_mem_init(&h->src, &h->im);

	if (P->om_state >= 0) {
		h->runtime = img_alloc(&h->im, 4096);
		uint64_t interp = img_alloc(&h->im, (size_t)P->om_state + 1024);
		uint64_t state = interp + (uint64_t)P->om_state;
		img_w64(&h->im, h->runtime + (uint64_t)P->rt_interpreters_head,
			interp);
		if (P->om_state_ptr) {
			state = img_alloc(&h->im, 1024);
			img_w64(&h->im, interp + (uint64_t)P->om_state, state);
		}
		h->table_at = state + (uint64_t)P->om_arenas;
		h->max_at = state + (uint64_t)P->om_maxarenas;
	} else {
		/* the statics, and a decoy load (raw_allocated_blocks) */
		uint64_t bss = img_alloc(&h->im, 64);
		h->decoy_at = bss;
		h->table_at = bss + 16;
		h->max_at = bss + 8;
		img_w64(&h->im, h->decoy_at, 12345);
		h->loads[0] = (struct nd_rip_load){h->decoy_at, 8};
		h->loads[1] = (struct nd_rip_load){h->max_at, 4};
		h->loads[2] = (struct nd_rip_load){h->table_at, 8};
	}
	img_w64(&h->im, h->table_at, h->table);
	img_w32(&h->im, h->max_at, 16);
	h->w = (struct pools_where){&h->im.ctx, &h->src.m, &h->maps,
				    h->runtime, h->loads,
				    P->om_state >= 0 ? 0 : 3};
}

/* Pools in use of 96 bytes or more: the first two of arena 0, adjacent
 * and carved to their ends (one range), and arena 3's. */
static void expect_ranges(const struct heap *h, const struct pools *p)
{
	assert_int_equal(p->n, 2);
	uint64_t a = h->first[0], b = h->first[1];
	struct pool_range want[2] = {
		{a + HEAD, a + h->pool + HEAD +
				   (h->pool - HEAD) / 96 * 96},
		{b + HEAD, b + HEAD + 2 * 128}};
	if (b < a) {
		struct pool_range t = want[0];
		want[0] = want[1];
		want[1] = t;
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(p->r[i].start, want[i].start);
		assert_int_equal(p->r[i].end, want[i].end);
	}
	assert_int_equal(p->f.pools, 4);
}

/* fn on the heap of every version. */
static void each_version(void (*fn)(struct heap *h))
{
	for (int minor = PY_MINOR_FIRST; minor <= PY_MINOR_LAST; minor++) {
		struct heap h;
		build(&h, minor);
		fn(&h);
		image_free(&h.im);
	}
}

static void table_and_probe_agree(struct heap *h)
{
	struct pools p;
	struct nd_err e = {0};

	assert_int_equal(pools_find(&h->w, 96, &p, &e), 0);
	assert_int_equal(p.f.way, POOLS_TABLE);
	assert_int_equal(p.f.arenas, 2);
	expect_ranges(h, &p);
	pools_free(&p);

	/* no table where the version keeps it: the headers */
	img_w32(&h->im, h->max_at, 17);
	assert_int_equal(pools_find(&h->w, 96, &p, &e), 0);
	assert_int_equal(p.f.way, POOLS_PROBED);
	assert_non_null(strstr(p.f.why, "no arena table"));
	expect_ranges(h, &p);
	pools_free(&p);

	/* a table listing an arena twice, or one outside the memory scans
	 * read, is not the allocator's: the headers are read instead */
	img_w32(&h->im, h->max_at, 16);
	memcpy(img_ptr(&h->im, h->table + 5 * 48),
	       img_ptr(&h->im, h->table + 3 * 48), 48);
	assert_int_equal(pools_find(&h->w, 96, &p, &e), 0);
	assert_int_equal(p.f.way, POOLS_PROBED);
	assert_non_null(strstr(p.f.why, "overlap"));
	expect_ranges(h, &p);
	pools_free(&p);
	memset(img_ptr(&h->im, h->table + 5 * 48), 0, 48);
	h->maps.n = 1;
	assert_int_equal(pools_find(&h->w, 96, &p, &e), 0);
	assert_int_equal(p.f.way, POOLS_PROBED);
	assert_non_null(strstr(p.f.why, "not in private writable memory"));
	assert_int_equal(p.n, 1);
	pools_free(&p);
	h->maps.n = 2;

	/* a pool that names another arena is not the table's */
	img_w32(&h->im, h->first[1] + 32, 2);
	assert_int_equal(pools_find(&h->w, 96, &p, &e), 0);
	assert_int_equal(p.n, 1);
	pools_free(&p);
}

static void test_table_and_probe_agree(void **state)
{
	(void)state;
	each_version(table_and_probe_agree);
}

static void no_pymalloc(struct heap *h)
{
	struct pools p;
	struct nd_err e = {0};

	/* PYTHONMALLOC=malloc: no table ever made, no pool anywhere */
	img_w32(&h->im, h->max_at, 0);
	img_w64(&h->im, h->table_at, 0);
	for (int a = 0; a < 2; a++)
		for (uint64_t q = h->first[a];
		     q + h->pool <= h->arena_at[a] + h->arena; q += h->pool)
			memset(img_ptr(&h->im, q), 0, HEAD);
	assert_int_equal(pools_find(&h->w, 96, &p, &e), 0);
	assert_int_equal(p.f.way, POOLS_NONE);
	assert_non_null(strstr(p.f.why, "PYTHONMALLOC"));
	assert_int_equal(p.n, 0);
	/* nor found by their headers */
	img_w32(&h->im, h->max_at, 17);
	assert_int_equal(pools_find(&h->w, 96, &p, &e), 0);
	assert_int_equal(p.f.way, POOLS_NONE);
}

static void test_no_pymalloc(void **state)
{
	(void)state;
	each_version(no_pymalloc);
}

static void hostile_tables(struct heap *h)
{
	struct nd_pyarena *a;
	size_t n;
	struct nd_err e = {0};
	struct nd_arena_table_at at = {h->table_at, h->max_at};
	uint64_t ao = h->table + 3 * 48;
	assert_int_equal(nd_arena_table(&h->im.ctx, &at, &a, &n, &e), 0);
	assert_int_equal(n, 2);
	free(a);
	/* a length no table has, one past the bound (nothing that
	 * large is allocated), a table that is not mapped */
	const uint32_t maxes[] = {17, 8, 1u << 31};
	for (size_t k = 0; k < 3; k++) {
		img_w32(&h->im, h->max_at, maxes[k]);
		assert_int_equal(nd_arena_table(&h->im.ctx, &at, &a, &n,
						&e), -1);
		assert_null(a);
	}
	img_w32(&h->im, h->max_at, 1u << 20);
	assert_int_equal(nd_arena_table(&h->im.ctx, &at, &a, &n, &e), -1);
	img_w32(&h->im, h->max_at, 16);
	/* arena objects out of shape: carving past the arena, a
	 * count of pools that does not fit, free above total */
	const struct {
		int off;
		uint64_t v;
	} bad[] = {{8, h->first[1] + h->arena + h->pool}, {20, 100},
		   {16, 200}, {0, h->arena_at[1] + 8}, {8, 4}};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		unsigned char keep[48];
		memcpy(keep, img_ptr(&h->im, ao), 48);
		if (bad[k].off == 16 || bad[k].off == 20)
			img_w32(&h->im, ao + (uint64_t)bad[k].off,
				(uint32_t)bad[k].v);
		else
			img_w64(&h->im, ao + (uint64_t)bad[k].off,
				bad[k].v);
		e = (struct nd_err){0};
		assert_int_equal(nd_arena_table(&h->im.ctx, &at, &a, &n,
						&e), -1);
		assert_int_equal(e.code, ND_ECORRUPT);
		memcpy(img_ptr(&h->im, ao), keep, 48);
	}
	if (h->im.ctx.py->om_state >= 0) {
		/* an interpreter list that loops ends */
		uint64_t interp;
		struct nd_arena_table_at tabs[4];
		size_t nt;
		image_read(&h->im, h->runtime + (uint64_t)h->im.ctx.py
					  ->rt_interpreters_head,
			   &interp, 8);
		img_w64(&h->im, interp + (uint64_t)h->im.ctx.py
						->interp_next,
			interp);
		e = (struct nd_err){0};
		assert_int_equal(nd_pymalloc_tables(&h->im.ctx,
						    h->runtime, tabs, 4,
						    &nt, &e), -1);
		assert_int_equal(e.code, ND_ELIMIT);
		assert_int_equal(nt, 1);
	}
}

static void test_hostile_tables(void **state)
{
	(void)state;
	each_version(hostile_tables);
}

/* Every field of a valid header made wrong, one at a time; then random
 * headers: whatever is accepted stays inside its pool. */
static void test_hostile_pools(void **state)
{
	(void)state;
	for (int minor = PY_MINOR_FIRST; minor <= PY_MINOR_LAST; minor++) {
		struct image im;
		image_init(&im, minor, 1);
		const struct nd_pylayout *P = im.ctx.py;
		uint32_t pool = 1u << P->om_pool_bits;
		uint64_t at = 0x7f0000000000ull;
		unsigned char good[48] = {0}, h[48];
		uint32_t v[] = {3, 0, 0, 0, 0, 0, 0, 0, 9, 5, HEAD + 5 * 96,
				pool - 96};
		memcpy(good, v, sizeof(good));
		uint64_t fb = at + HEAD + 2 * 96;
		memcpy(good + 8, &fb, 8);
		struct nd_pool p;
		assert_true(nd_pool_parse(P, at, good, &p));
		assert_int_equal(p.block, 96);
		assert_int_equal(p.end, HEAD + 5 * 96);
		assert_false(nd_pool_parse(P, at + 16, good, &p));
		const struct {
			int off, len;
			uint64_t v;
		} bad[] = {
			{36, 4, 32},                 /* no such size class */
			{36, 4, 4},                  /* not the class maxnext says */
			{40, 4, pool + 96},          /* carved past the pool */
			{40, 4, HEAD + 96},          /* fewer than two carved */
			{40, 4, HEAD + 5 * 96 + 8},  /* not at a block */
			{0, 4, 6},                   /* more in use than carved */
			{8, 8, at + HEAD + 2 * 96 + 8}, /* free list mid-block */
			{8, 8, at + pool},           /* free list outside */
			{8, 8, at + HEAD + 7 * 96},  /* free list uncarved */
		};
		for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			memcpy(h, good, sizeof(h));
			memcpy(h + bad[k].off, &bad[k].v, (size_t)bad[k].len);
			assert_false(nd_pool_parse(P, at, h, &p));
		}
		uint64_t x = 0x9e3779b97f4a7c15ull + (uint64_t)minor;
		for (int k = 0; k < 200000; k++) {
			for (int j = 0; j < 48; j += 8) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				memcpy(h + j, &x, 8);
			}
			/* half of them with sane offsets, to get past the
			 * first checks */
			if (k & 1) {
				uint32_t sz = (uint32_t)(x % 32);
				uint32_t blk = (sz + 1) * 16;
				uint32_t next = (uint32_t)(x >> 40) % pool;
				uint32_t maxn = pool - blk;
				memcpy(h + 36, &sz, 4);
				memcpy(h + 40, &next, 4);
				memcpy(h + 44, &maxn, 4);
			}
			if (nd_pool_parse(P, at, h, &p)) {
				assert_true(p.end <= pool);
				assert_true(p.end >= HEAD + 2 * p.block);
				assert_true(p.count * p.block <= p.end - HEAD);
			}
		}
		image_free(&im);
	}
}

/* _Py_GetAllocatedBlocks as Debian's 3.11 begins it: raw_allocated_blocks,
 * maxarenas, a register cleared, arenas. */
static void test_rip_loads(void **state)
{
	(void)state;
	const unsigned char code[] = {
		0x48, 0x8b, 0x15, 0x09, 0x42, 0x3b, 0x00, /* mov rdx,[rip+] */
		0x44, 0x8b, 0x0d, 0x7a, 0x44, 0x3f, 0x00, /* mov r9d,[rip+] */
		0x45, 0x31, 0xc0,                         /* xor r8d,r8d */
		0x48, 0x8b, 0x3d, 0x80, 0x44, 0x3f, 0x00, /* mov rdi,[rip+] */
		0x45, 0x39, 0xc1, 0x0f, 0x84, 0xef, 0x7f, 0xe1, 0xff};
	struct nd_rip_load l[8];
	size_t n = nd_rip_loads(code, sizeof(code), 0x6d0190, l, 8);
	assert_int_equal(n, 3);
	assert_int_equal(l[0].addr, 0xa843a0);
	assert_int_equal(l[0].width, 8);
	assert_int_equal(l[1].addr, 0xac4618);
	assert_int_equal(l[1].width, 4);
	assert_int_equal(l[2].addr, 0xac4628);
	assert_int_equal(l[2].width, 8);
	/* cut short: no load read past the end */
	assert_int_equal(nd_rip_loads(code, 12, 0x6d0190, l, 8), 1);
	assert_int_equal(nd_rip_loads(code, sizeof(code), 0, l, 2), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_and_probe_agree),
		cmocka_unit_test(test_no_pymalloc),
		cmocka_unit_test(test_hostile_tables),
		cmocka_unit_test(test_hostile_pools),
		cmocka_unit_test(test_rip_loads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
