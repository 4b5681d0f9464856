/* agent/snapshot.c: what an open snapshot reads it keeps (the lines, not
 * the pages); once sealed it serves only that, never the source, and
 * refuses the rest as "not captured"; budgets, forgetting, resetting,
 * glances, the kept runs in order. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../agent/snapshot.h"
#include "../../decode/ndarray.h"
#include "image.h"

#define F_CARRAY (ND_F_C_CONTIGUOUS | ND_F_F_CONTIGUOUS | ND_F_OWNDATA | \
		  ND_F_ALIGNED | ND_F_WRITEABLE)

/* An image with two int32 arrays, read through a snapshot of it. */
struct fixture {
	struct image im;
	struct image_mem src;
	struct snapshot *s;
	struct nd_ctx ctx; /* the decoder's view through the snapshot */
	uint64_t a1, a2, descr;
};

static void setup(struct fixture *f, int py, int np, uint64_t budget)
{
	int32_t v[] = {1, 2, 3};
	int64_t dims[] = {3}, strides[] = {4};

	image_init(&f->im, py, np);
	image_mem_init(&f->src, &f->im);
	f->descr = img_descr(&f->im, 'i', 'i', '=', 5, 4, 4);
	f->a1 = img_array(&f->im, img_data(&f->im, v, sizeof(v)), 1, dims,
			  strides, f->descr, F_CARRAY, 0);
	f->a2 = img_array(&f->im, img_data(&f->im, v, sizeof(v)), 1, dims,
			  strides, f->descr, F_CARRAY, 0);
	f->s = snapshot_new(&f->src.m, budget);
	assert_non_null(f->s);
	f->ctx = f->im.ctx;
	f->ctx.rd = (struct nd_reader){.read = mem_read_cb,
				       .readv = mem_readv_cb,
				       .ctx = snapshot_mem(f->s)};
}

static void teardown(struct fixture *f)
{
	snapshot_free(f->s);
	image_free(&f->im);
}

static void decodes(struct fixture *f, uint64_t addr, int64_t shape0)
{
	struct nd_array a;
	struct nd_err e = {0};

	if (nd_array_decode(&f->ctx, addr, &a, &e))
		fail_msg("decode of 0x%llx failed: %s", (unsigned long long)addr,
			 e.msg);
	assert_int_equal(a.shape[0], shape0);
	nd_array_free(&a);
}

static void test_sealed_refuses_the_rest(void **state)
{
	static const int pairs[][2] = {{9, 1}, {11, 1}, {13, 2}, {14, 2}};
	(void)state;

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct fixture f;
		struct nd_array a;
		struct nd_err e = {0};
		setup(&f, pairs[i][0], pairs[i][1], SNAPSHOT_BUDGET);
		decodes(&f, f.a1, 3);
		snapshot_seal(f.s);
		assert_true(snapshot_sealed(f.s));
		unsigned long reads = f.src.reads;
		/* the target moves on: the snapshot does not */
		img_w64(&f.im, f.a1 + 16, 0);
		img_w64(&f.im, f.a1, 7);
		decodes(&f, f.a1, 3);
		/* a2 and its buffers were never read while open */
		assert_int_equal(nd_array_decode(&f.ctx, f.a2, &a, &e), -1);
		nd_array_free(&a);
		assert_int_equal(e.code, ND_EREAD);
		assert_non_null(strstr(e.msg, "not captured while paused"));
		char byte;
		assert_int_equal(snapshot_mem(f.s)->read(snapshot_mem(f.s),
							 f.a2, &byte, 1),
				 -ENODATA);
		/* and the source was not asked for any of it */
		assert_int_equal(f.src.reads, reads);
		teardown(&f);
	}
}

static void test_unreadable_stays_unreadable(void **state)
{
	struct fixture f;
	char buf[8];
	(void)state;

	setup(&f, 11, 1, SNAPSHOT_BUDGET);
	struct mem *m = snapshot_mem(f.s);
	/* the page after each image segment is unmapped */
	uint64_t hole = f.a1 + 4096;
	assert_int_equal(m->read(m, hole, buf, 8), -EFAULT);
	snapshot_seal(f.s);
	/* after the seal, the same answer as the target gave: unreadable,
	 * not "not captured" */
	assert_int_equal(m->read(m, hole, buf, 8), -EFAULT);
	teardown(&f);
}

static void test_budget(void **state)
{
	struct fixture f;
	struct nd_array a;
	(void)state;

	/* room for two lines: a1's header; the rest passes through */
	setup(&f, 11, 1, 2 * SNAPSHOT_LINE);
	decodes(&f, f.a1, 3);
	assert_true(snapshot_overflowed(f.s));
	assert_int_equal(snapshot_bytes(f.s), 2 * SNAPSHOT_LINE);
	snapshot_seal(f.s);
	assert_int_equal(nd_array_decode(&f.ctx, f.a1, &a, NULL), -1);
	nd_array_free(&a);
	teardown(&f);
}

static void test_forget_and_reset(void **state)
{
	struct fixture f;
	(void)state;

	setup(&f, 13, 2, SNAPSHOT_BUDGET);
	const struct nd_nplayout *L = f.im.ctx.np;
	decodes(&f, f.a1, 3);
	uint64_t dims;
	memcpy(&dims, img_ptr(&f.im, f.a1 + (uint64_t)L->arr_dims), 8);
	img_w64(&f.im, dims, 2); /* reshaped meanwhile */
	decodes(&f, f.a1, 3);    /* the kept page */
	snapshot_forget(f.s, dims, 8);
	decodes(&f, f.a1, 2);    /* read again */
	img_w64(&f.im, dims, 1);
	snapshot_reset(f.s);
	assert_int_equal(snapshot_bytes(f.s), 0);
	assert_false(snapshot_sealed(f.s));
	decodes(&f, f.a1, 1);
	teardown(&f);
}

/* What is kept is the lines reads covered, not their pages: the rest of
 * a page it fetched is refused once sealed, and a glance keeps nothing. */
static void test_lines_kept(void **state)
{
	struct fixture f;
	struct snapshot_run *runs;
	size_t n;
	char buf[16];
	(void)state;

	setup(&f, 14, 2, SNAPSHOT_BUDGET);
	decodes(&f, f.a2, 3);
	decodes(&f, f.a1, 3);
	assert_int_equal(snapshot_runs(f.s, &runs, &n), 0);
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(runs[i].addr % SNAPSHOT_LINE, 0);
		assert_int_equal(runs[i].len % SNAPSHOT_LINE, 0);
		if (i) /* ascending, and adjacent lines are one run */
			assert_true(runs[i].addr > runs[i - 1].addr +
						   runs[i - 1].len);
		unsigned char *kept = malloc(runs[i].len);
		assert_int_equal(snapshot_copy(f.s, runs[i].addr, kept,
					       runs[i].len), 0);
		assert_memory_equal(kept, img_ptr(&f.im, runs[i].addr),
				    runs[i].len);
		free(kept);
		total += runs[i].len;
	}
	assert_int_equal(total, snapshot_bytes(f.s));
	/* far less than the pages those reads touched */
	assert_true(total < 6 * SNAPSHOT_PAGE);
	free(runs);
	/* a page it fetched: the lines past what was read are not kept */
	uint64_t past = (f.a1 & ~(uint64_t)(SNAPSHOT_PAGE - 1)) + 3072;
	assert_int_equal(snapshot_copy(f.s, past, buf, 8), -ENODATA);
	/* a glance is served, and keeps nothing */
	struct mem *g = snapshot_glance(f.s);
	uint64_t kept = snapshot_bytes(f.s);
	assert_int_equal(g->read(g, past, buf, 8), 0);
	assert_memory_equal(buf, img_ptr(&f.im, past), 8);
	assert_int_equal(snapshot_bytes(f.s), kept);
	snapshot_seal(f.s);
	assert_int_equal(g->read(g, past, buf, 8), -ENODATA);
	struct mem *m = snapshot_mem(f.s);
	assert_int_equal(m->read(m, past, buf, 8), -ENODATA);
	teardown(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sealed_refuses_the_rest),
		cmocka_unit_test(test_unreadable_stays_unreadable),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_forget_and_reset),
		cmocka_unit_test(test_lines_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
