/* decode/lines.c against the real interpreters: for code of varied shapes
 * and hand-built tables, the line of every instruction offset as each
 * version's own PyCode_Addr2Line gave it (tests/unit/gen_lines.py writes
 * them to lines_cases.h). Then malformed tables: an error or a sane line,
 * never a read past the end (run under ASan to see that). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../decode/err.h"
#include "../../decode/lines.h"

/* One code object: runs of {start, end, line} cover every even addr from
 * -2 to past the end of co_code (and of the table, for synthetic ones). */
struct vcase {
	const char *name;
	enum nd_lines_repr repr;
	int firstlineno;
	const uint8_t *table;
	size_t len;
	const int (*runs)[3];
	size_t nruns;
};

#include "lines_cases.h"

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* The table in a heap block of exactly its size, so ASan sees overreads. */
static int lookup(enum nd_lines_repr repr, int first, const uint8_t *t,
		  size_t len, int addr, int *line)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, t, len);
	rc = nd_addr2line(repr, first, copy, len, addr, line);
	free(copy);
	return rc;
}

static void test_interpreters_agree(void **state)
{
	(void)state;
	int versions = 0;

	for (size_t i = 0; i < NCASES; i++) {
		const struct vcase *c = &cases[i];

		versions += strstr(c->name, " <module>:") != NULL;
		for (size_t r = 0; r < c->nruns; r++) {
			for (int a = c->runs[r][0]; a < c->runs[r][1]; a += 2) {
				int line = INT_MIN;
				int rc = lookup(c->repr, c->firstlineno,
						c->table, c->len, a, &line);

				if (rc != 0 || line != c->runs[r][2])
					fail_msg("%s addr %d: rc %d line %d, "
						 "Python says %d",
						 c->name, a, rc, line,
						 c->runs[r][2]);
			}
		}
	}
	assert_true(versions >= 7); /* 3.9-3.15 */
}

static void expect(enum nd_lines_repr repr, int first, const uint8_t *t,
		   size_t len, int addr, int want_rc, int want_line)
{
	int line = INT_MIN;

	assert_int_equal(lookup(repr, first, t, len, addr, &line), want_rc);
	if (want_rc == 0)
		assert_int_equal(line, want_line);
}

static void test_empty_and_extreme_addrs(void **state)
{
	(void)state;
	static const uint8_t lnotab[] = {4, 1, 4, 2};
	static const uint8_t pairs[] = {4, 1, 4, 2};
	static const uint8_t locs[] = {0x80 | 11 << 3 | 1, 0, 1};

	/* no table: 3.9 stays on firstlineno, 3.10+ have no line */
	expect(ND_LINES_LNOTAB, 7, lnotab, 0, 0, 0, 7);
	expect(ND_LINES_310, 7, pairs, 0, 0, 0, -1);
	expect(ND_LINES_LOCATIONS, 7, locs, 0, 0, 0, -1);
	assert_int_equal(nd_addr2line(ND_LINES_LOCATIONS, 7, NULL, 9, 0,
				      &(int){0}), 0);
	/* before the first instruction, and far past the last */
	for (int r = ND_LINES_LNOTAB; r <= ND_LINES_LOCATIONS; r++) {
		expect(r, 7, locs, sizeof(locs), INT_MIN, 0, 7);
		expect(r, 7, locs, sizeof(locs), -1, 0, 7);
	}
	expect(ND_LINES_LNOTAB, 7, lnotab, sizeof(lnotab), INT_MAX, 0, 10);
	expect(ND_LINES_310, 7, pairs, sizeof(pairs), INT_MAX, 0, -1);
	expect(ND_LINES_310, 7, pairs, sizeof(pairs), 7, 0, 10);
	expect(ND_LINES_310, 7, pairs, sizeof(pairs), 8, 0, -1);
	expect(ND_LINES_LOCATIONS, 7, locs, sizeof(locs), 3, 0, 8);
	expect(ND_LINES_LOCATIONS, 7, locs, sizeof(locs), 4, 0, -1);
	expect(ND_LINES_LOCATIONS, 7, locs, sizeof(locs), INT_MAX, 0, -1);
	assert_int_equal(nd_addr2line((enum nd_lines_repr)9, 1, locs, 3, 0,
				      &(int){0}),
			 -1);
}

static void test_malformed(void **state)
{
	(void)state;
	/* 3.10: odd length; a zero-length pair with nothing after it */
	static const uint8_t odd[] = {2, 1, 2};
	static const uint8_t fold[] = {2, 1, 0, 127};
	/* 3.11+: varints cut short, or longer than 32 bits */
	static const uint8_t cut[] = {0x80 | 13 << 3, 2, 0x80 | 14 << 3, 0x41};
	static const uint8_t nolen[] = {0x80 | 13 << 3};
	static const uint8_t wide[] = {0x80 | 13 << 3, 0x7f, 0x7f, 0x7f,
				       0x7f, 0x7f, 0x7f, 0x3f};
	/* the running line leaves int range */
	static const uint8_t up[] = {0x80 | 11 << 3, 0, 0};
	static const uint8_t down[] = {2, 0x81};

	expect(ND_LINES_310, 5, odd, sizeof(odd), 1, 0, 6);
	expect(ND_LINES_310, 5, odd, sizeof(odd), 2, -1, 0);
	expect(ND_LINES_310, 5, fold, sizeof(fold), 2, -1, 0);
	expect(ND_LINES_LOCATIONS, 5, cut, sizeof(cut), 1, 0, 6);
	expect(ND_LINES_LOCATIONS, 5, cut, sizeof(cut), 2, -1, 0);
	expect(ND_LINES_LOCATIONS, 5, nolen, sizeof(nolen), 0, -1,
	       0);
	expect(ND_LINES_LOCATIONS, 5, wide, sizeof(wide), 0, -1, 0);
	expect(ND_LINES_LOCATIONS, INT_MAX, up, sizeof(up), 0, -1,
	       0);
	expect(ND_LINES_310, INT_MIN, down, sizeof(down), 0, -1, 0);
	/* 3.9 reads len/2 pairs: an odd last byte is not looked at */
	expect(ND_LINES_LNOTAB, 5, odd, sizeof(odd), 100, 0, 6);
}

/* Random bytes of every small length: any answer, but only 0 or
 * -1, and (under ASan) no read outside the table. */
static void test_garbage(void **state)
{
	(void)state;
	uint32_t x = 12345;
	uint8_t t[40];

	for (int round = 0; round < 3000; round++) {
		size_t len = (size_t)round % sizeof(t);

		for (size_t i = 0; i < len; i++) {
			x = x * 1103515245u + 12345u;
			t[i] = (uint8_t)(x >> 16);
		}
		for (int r = ND_LINES_LNOTAB; r <= ND_LINES_LOCATIONS; r++)
			for (int a = -2; a < 200; a += 2) {
				int line, rc = lookup(r, 1, t, len, a, &line);

				assert_true(rc == 0 || rc == -1);
			}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interpreters_agree),
		cmocka_unit_test(test_empty_and_extreme_addrs),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
