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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_find_remove),
		cmocka_unit_test(test_churn_stays_small),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
