/* agent/live_table.c: what is added is found until removed; an address
 * allocated again replaces the old entry; churn does not grow the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../agent/live_table.h"

static void test_add_find_remove(void **state)
{
	struct live_table t = {0};
	struct live_buf out;

	(void)state;
	for (uint64_t i = 0; i < 100000; i++) {
		struct live_buf b = {0x10000 + i * 32, i + 1, i, 7};
		assert_int_equal(live_add(&t, &b, NULL), 0);
	}
	assert_int_equal(t.n, 100000);
	for (uint64_t i = 0; i < 100000; i += 2)
		assert_true(live_remove(&t, 0x10000 + i * 32, &out));
	assert_int_equal(t.n, 50000);
	assert_false(live_remove(&t, 0x10000, NULL)); /* already gone */
	assert_false(live_remove(&t, 0x5, NULL));     /* never there */
	for (uint64_t i = 1; i < 100000; i += 2) {
		const struct live_buf *b = live_get(&t, 0x10000 + i * 32);
		assert_non_null(b);
		assert_int_equal(b->size, i + 1);
	}
	/* the same address again: the newer buffer counts */
	struct live_buf again = {0x10000 + 32, 999, 1, 8};
	struct live_buf old;
	assert_int_equal(live_add(&t, &again, &old), 1);
	assert_int_equal(old.size, 2);
	assert_int_equal(t.n, 50000);
	assert_int_equal(live_get(&t, 0x10000 + 32)->size, 999);
	/* addresses 0 and 1 are the table's own markers: never entries */
	struct live_buf zero = {0, 1, 0, 0};
	assert_int_equal(live_add(&t, &zero, NULL), 0);
	assert_null(live_get(&t, 0));
	live_free(&t);
}

static void test_churn_stays_small(void **state)
{
	struct live_table t = {0};

	(void)state;
	for (uint64_t i = 0; i < 2000000; i++) {
		struct live_buf b = {0x1000 + i * 16, 16, 0, 1};
		assert_int_equal(live_add(&t, &b, NULL), 0);
		assert_true(live_remove(&t, b.addr, NULL));
	}
	assert_int_equal(t.n, 0);
	assert_true(t.cap <= 1024);
	live_free(&t);
}

/* Per-site counts follow the table: a free takes the bytes from the site
 * that allocated them, a buffer NumPy resized in place moves its bytes
 * from its old site to the new one, an unknown free changes no site. */
static void test_ledger_sites(void **state)
{
	struct live_ledger l = {0};
	struct live_buf gone;

	(void)state;
	struct live_buf a = {0x1000, 300, 1, 7, 5}, b = {0x2000, 50, 2, 7, 5},
			c = {0x3000, 7, 3, 7, 0}, moved = {0x1000, 400, 4, 7, 900};
	assert_int_equal(ledger_alloc(&l, &a), 0);
	assert_int_equal(ledger_alloc(&l, &b), 0);
	assert_int_equal(ledger_alloc(&l, &c), 0);
	assert_int_equal(ledger_site(&l, 5).live_bytes, 350);
	assert_int_equal(ledger_site(&l, 5).live_n, 2);
	assert_int_equal(ledger_site(&l, 0).live_bytes, 7);
	assert_true(ledger_free(&l, 0x2000, &gone));
	assert_int_equal(gone.site, 5);
	assert_false(ledger_free(&l, 0x9000, &gone));
	assert_int_equal(ledger_alloc(&l, &moved), 0);
	struct site_count s5 = ledger_site(&l, 5), s900 = ledger_site(&l, 900);
	assert_int_equal(s5.live_bytes, 0);
	assert_int_equal(s5.live_n, 0);
	assert_int_equal(s5.alloc_bytes, 350);
	assert_int_equal(s5.alloc_n, 2);
	assert_int_equal(s900.live_bytes, 400);
	assert_int_equal(s900.alloc_n, 1);
	assert_int_equal(ledger_site(&l, 100000).alloc_n, 0);
	assert_int_equal(l.bytes_allocated - l.bytes_freed, 407);
	/* NumPy tracks a failed allocation at address 0: not a buffer */
	struct live_buf failed = {0, 1ull << 45, 5, 7, 5};
	assert_int_equal(ledger_alloc(&l, &failed), 0);
	assert_int_equal(ledger_site(&l, 5).alloc_n, 2);
	assert_int_equal(l.bytes_allocated - l.bytes_freed, 407);
	ledger_free_all(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_find_remove),
		cmocka_unit_test(test_churn_stays_small),
		cmocka_unit_test(test_ledger_sites),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
