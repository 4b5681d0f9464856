/* agent/'s models on synthetic snapshots: list (which candidates are
 * arrays, what keeps each buffer, the summary), the steady reads of a
 * running target, and audit (orphans, pinned owners, growth). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../agent/audit_model.h"
#include "../../agent/list_model.h"
#include "../../agent/snapshot.h"
#include "../../agent/steady.h"
#include "image.h"

#define F_OWNS (ND_F_C_CONTIGUOUS | ND_F_F_CONTIGUOUS | ND_F_OWNDATA | \
		ND_F_ALIGNED | ND_F_WRITEABLE)
#define F_VIEW (ND_F_C_CONTIGUOUS | ND_F_ALIGNED | ND_F_WRITEABLE)

static const int pairs[][2] = {{9, 1}, {11, 1}, {13, 2}, {14, 2}};
#define NPAIRS (sizeof(pairs) / sizeof(pairs[0]))

/* A process in miniature: an owner of 100 doubles and a 5-element view
 * of it, an array wrapping a bytes object, one borrowing memory nothing
 * owns, and two candidates that are not arrays; seen through a
 * snapshot. */
struct world {
	struct image im;
	struct image_mem src;
	struct snapshot *s;
	struct nd_ctx ctx;
	uint64_t owner, view, wraps, borrows, str, cand[6];
	int64_t borrowed_bytes;
};

static void build(struct world *w, int py, int np)
{
	struct image *im = &w->im;
	int64_t n100[] = {100}, n5[] = {5}, n3[] = {3}, s8[] = {8}, s4[] = {4};

	image_init(im, py, np);
	image_mem_init(&w->src, im);
	uint64_t f8 = img_descr(im, 'f', 'd', '=', 12, 8, 8);
	uint64_t i4 = img_descr(im, 'i', 'i', '=', 5, 4, 4);
	uint64_t data = img_alloc(im, 800);
	w->owner = img_array(im, data, 1, n100, s8, f8, F_OWNS, 0);
	w->view = img_array(im, data + 80, 1, n5, s8, f8, F_VIEW, w->owner);
	uint64_t bytes = img_object(im, im->t_bytes, 64);
	img_w64(im, bytes + 16, 24);
	w->wraps = img_array(im, bytes + (uint64_t)im->ctx.py->bytes_sval, 1,
			     n3, s8, f8, F_VIEW, bytes);
	w->borrows = img_array(im, img_alloc(im, 12), 1, n3, s4, i4, F_VIEW,
			       0);
	w->borrowed_bytes = 12;
	w->str = img_str(im, "not an array");
	uint64_t c[] = {w->owner, w->view, w->wraps, w->borrows, w->str,
			w->str + 4096 /* unmapped */};
	memcpy(w->cand, c, sizeof(c));
	for (int i = 0; i < 6; i++) /* candidates come sorted */
		for (int j = i + 1; j < 6; j++)
			if (w->cand[j] < w->cand[i]) {
				uint64_t x = w->cand[i];
				w->cand[i] = w->cand[j];
				w->cand[j] = x;
			}
	w->s = snapshot_new(&w->src.m, SNAPSHOT_BUDGET);
	w->ctx = im->ctx;
	w->ctx.rd = (struct nd_reader){.read = mem_read_cb,
				       .readv = mem_readv_cb,
				       .ctx = snapshot_mem(w->s)};
}

static void destroy(struct world *w)
{
	snapshot_free(w->s);
	image_free(&w->im);
}

static const struct list_entry *entry(const struct list_model *m,
				      uint64_t addr)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->e[i].addr == addr)
			return &m->e[i];
	return NULL;
}

static void test_list_model(void **state)
{
	(void)state;
	for (size_t p = 0; p < NPAIRS; p++) {
		struct world w;
		struct list_model m = {0};
		struct steady still = {.running = false};
		struct nd_err e = {0};
		build(&w, pairs[p][0], pairs[p][1]);
		assert_int_equal(list_validate(&m, &w.ctx, &w.ctx, &still, w.cand,
					       6, 0, &e), 0);
		snapshot_seal(w.s);
		assert_int_equal(m.n, 4);
		assert_int_equal(m.rejected, 2);
		assert_int_equal(entry(&m, w.owner)->nbytes, 800);
		assert_int_equal(entry(&m, w.view)->nbytes, 40);
		/* printed from the sealed snapshot: owners as the table says */
		const char *want[][2] = {{NULL, "owns its data"},
					 {NULL, "view of 0x"},
					 {NULL, "wraps bytes"},
					 {NULL, "borrows 0x"}};
		uint64_t addrs[] = {w.owner, w.view, w.wraps, w.borrows};
		for (int i = 0; i < 4; i++) {
			struct nd_array a;
			struct nd_buf b = {0};
			struct list_entry *f = (struct list_entry *)entry(&m, addrs[i]);
			assert_int_equal(list_decode_again(&w.ctx, f, &a), 0);
			list_owner(&a, f, &b);
			assert_non_null(strstr(nd_buf_str(&b), want[i][1]));
			nd_array_free(&a);
			nd_buf_free(&b);
		}
		struct nd_buf sum = {0};
		list_summary(&m, &sum);
		assert_string_equal(nd_buf_str(&sum),
				    "4 arrays; 800 B owned by arrays, 36 B reached "
				    "only through views of other objects; 3 "
				    "distinct buffers\n");
		nd_buf_free(&sum);
		list_sort(&m);
		assert_int_equal(m.e[0].addr, w.owner);
		list_model_free(&m);
		/* --min-bytes: the guess skips small arrays undecoded */
		assert_int_equal(list_validate(&m, &w.ctx, &w.ctx, &still, w.cand,
					       6, 100, &e), 0);
		assert_int_equal(m.n, 1);
		assert_int_equal(m.e[0].addr, w.owner);
		list_model_free(&m);
		destroy(&w);
	}
}

/* The target as it is now, changing the view's shape before the first
 * `changes` re-checks read it (a running target caught mid-reshape). */
struct racing {
	struct world *w;
	uint64_t dims;
	int changes;
};

static int racing_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct racing *r = ctx;

	if (r->changes > 0 && addr == r->w->view) {
		int64_t was;
		memcpy(&was, img_ptr(&r->w->im, r->dims), 8);
		img_w64(&r->w->im, r->dims, (uint64_t)(was - 1));
		r->changes--;
	}
	return image_read(&r->w->im, addr, buf, len);
}

static int decode_view(void *arg, struct nd_array *a, struct nd_err *e)
{
	struct world *w = arg;

	return nd_array_decode(&w->ctx, w->view, a, e);
}

static int decode_str(void *arg, struct nd_array *a, struct nd_err *e)
{
	struct world *w = arg;

	return nd_array_decode(&w->ctx, w->str, a, e);
}

static void test_steady(void **state)
{
	(void)state;
	for (size_t p = 0; p < NPAIRS; p++) {
		struct world w;
		struct nd_array a = {0};
		struct nd_err e = {0};
		int tries;
		build(&w, pairs[p][0], pairs[p][1]);
		struct racing r = {&w, 0, 1};
		memcpy(&r.dims, img_ptr(&w.im, w.view +
				       (uint64_t)w.im.ctx.np->arr_dims), 8);
		struct steady st = {.running = true, .now = w.im.ctx,
				    .forget = steady_forget_array,
				    .forget_arg = w.s};
		st.now.rd = (struct nd_reader){.read = racing_read, .ctx = &r};
		/* changed once: read again, and the new shape is what counts */
		assert_int_equal(steady_read(&st, decode_view, &w, STEADY_TRIES,
					     &a, &e, &tries), STEADY_READ);
		assert_int_equal(tries, 2);
		assert_int_equal(a.shape[0], 4);
		nd_array_free(&a);
		/* changing at every look: given up after the tries */
		r.changes = 100;
		assert_int_equal(steady_read(&st, decode_view, &w, STEADY_TRIES,
					     &a, &e, &tries), STEADY_CHANGED);
		assert_int_equal(tries, STEADY_TRIES);
		nd_array_free(&a);
		/* garbage fails the same way twice: its own failure */
		nd_err_clear(&e);
		assert_int_equal(steady_read(&st, decode_str, &w, STEADY_TRIES,
					     &a, &e, &tries), STEADY_FAILED);
		assert_int_equal(tries, 2);
		assert_int_equal(e.code, ND_ENOTARRAY);
		assert_int_equal(e.addr, w.str);
		nd_array_free(&a);
		destroy(&w);
	}
}

static void test_audit_model(void **state)
{
	(void)state;
	for (size_t p = 0; p < NPAIRS; p++) {
		struct world w;
		struct census c;
		struct nd_err e = {0};
		struct live_ledger seen = {0};
		build(&w, pairs[p][0], pairs[p][1]);
		assert_int_equal(census_take(&c, &w.ctx, w.cand, 6, &e), 0);
		assert_int_equal(c.n, 4);
		uint64_t owner_data = 0;
		for (size_t i = 0; i < c.n; i++)
			if (c.a[i].addr == w.owner)
				owner_data = c.a[i].data;
		/* the window saw the owner's buffer and three nothing owns */
		struct live_buf bufs[] = {{owner_data, 800, 1, 7, 0},
					  {0x5000, 4096, 2, 7, 0},
					  {0x6000, 64, 3, 8, 0},
					  {0x7000, 64, 4, 8, 0}};
		for (int i = 0; i < 4; i++)
			assert_int_equal(ledger_alloc(&seen, &bufs[i]), 0);
		struct audit_findings f;
		assert_int_equal(audit_find(&f, &c, true, &seen, NULL, 0, &e), 0);
		assert_int_equal(f.norphan, 3);
		assert_int_equal(f.orphan_bytes, 4096 + 128);
		assert_int_equal(f.npinned, 1);
		assert_int_equal(f.pinned_bytes, 800);
		assert_int_equal(f.growth, 800 + 4096 + 128);
		size_t orphans = 0, pinned = 0, growth = 0;
		for (size_t i = 0; i < f.n; i++) {
			const struct audit_finding *x = &f.f[i];
			if (x->kind == AUDIT_ORPHAN) {
				assert_int_not_equal(x->buf->addr, owner_data);
				orphans++;
			} else if (x->kind == AUDIT_PINNED) {
				/* the view reaches 40 of its 800 bytes */
				assert_int_equal(x->owner->addr, w.owner);
				assert_int_equal(x->bytes, 760);
				size_t first;
				assert_int_equal(census_views_of(&c, w.owner,
								 &first), 1);
				assert_int_equal(c.views[first].addr, w.view);
				pinned++;
			} else {
				growth++;
			}
		}
		assert_int_equal(orphans, 3);
		assert_int_equal(pinned, 1);
		assert_int_equal(growth, 3); /* by size: 4096, 800, 2 x 64 */
		assert_int_equal(f.f[0].kind, AUDIT_ORPHAN);
		assert_int_equal(f.f[0].bytes, 4096); /* largest first */
		audit_findings_free(&f);
		/* no end scan: nothing can be called an orphan */
		assert_int_equal(audit_find(&f, &c, false, &seen, NULL, 0, &e), 0);
		assert_int_equal(f.norphan, 0);
		audit_findings_free(&f);
		/* buffers under the size an old NumPy caches are not judged */
		assert_int_equal(audit_find(&f, &c, true, &seen, NULL, 1024, &e),
				 0);
		assert_int_equal(f.norphan, 1);
		audit_findings_free(&f);
		ledger_free_all(&seen);
		census_free(&c);
		destroy(&w);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_model),
		cmocka_unit_test(test_steady),
		cmocka_unit_test(test_audit_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
