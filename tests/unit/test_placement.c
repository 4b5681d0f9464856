/* probe/placement.c on the real prologues of PyTraceMalloc_Track and
 * _Untrack (Debian's 3.11 and 3.13) and on made-up ones that must send the
 * probe back to the entry: a branch first, an argument overwritten. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../probe/placement.h"

static struct placement place(const uint8_t *code, size_t len, int nargs)
{
	struct placement p;

	assert_int_equal(probe_place(code, len, nargs, &p), 0);
	return p;
}

static void test_real_prologues(void **state)
{
	/* 3.11 Track: cmpl $0,x(%rip); push %r14 (emulated) */
	static const uint8_t track311[] = {0x83, 0x3d, 0xc7, 0x36, 0x56, 0x00,
					   0x00, 0x41, 0x56, 0x41, 0x55, 0x41,
					   0x54, 0x55, 0x53, 0xbb};
	/* 3.11 Untrack: cmpl; je (returns early when tracemalloc is off: the
	 * probe must be on the je itself, not past it) */
	static const uint8_t untrack311[] = {0x83, 0x3d, 0x49, 0xf8, 0x55, 0x00,
					     0x00, 0x74, 0x35, 0x55, 0x48, 0x89,
					     0xf5, 0xbe, 0x01, 0x00};
	/* 3.13 Track: endbr64; push %r14 */
	static const uint8_t track313[] = {0xf3, 0x0f, 0x1e, 0xfa, 0x41, 0x56,
					   0x49, 0x89, 0xd6, 0x41, 0x55, 0x49};
	struct placement p;

	(void)state;
	p = place(track311, sizeof(track311), 3);
	assert_false(p.at_entry);
	assert_int_equal(p.offset, 7);
	assert_string_equal(p.insn, "push r14");
	p = place(untrack311, sizeof(untrack311), 2);
	assert_false(p.at_entry);
	assert_int_equal(p.offset, 7);
	assert_non_null(strstr(p.insn, "je"));
	p = place(track313, sizeof(track313), 3);
	assert_false(p.at_entry);
	assert_int_equal(p.offset, 4);
}

static void test_back_to_the_entry(void **state)
{
	/* mov %rax,%rsi; push %rbx: the second argument is gone by then */
	static const uint8_t clobber[] = {0x48, 0x89, 0xc6, 0x53};
	/* ret first: nothing after it is reached */
	static const uint8_t ret[] = {0xc3, 0x53};
	/* cmp; jmp *%rax (indirect: not emulated, and it leaves) */
	static const uint8_t indirect[] = {0x48, 0x39, 0xc7, 0xff, 0xe0, 0x53};
	static const uint8_t garbage[] = {0x0f, 0xff, 0xff, 0xff};
	struct placement p;

	(void)state;
	p = place(clobber, sizeof(clobber), 2);
	assert_true(p.at_entry);
	assert_non_null(strstr(p.why, "argument"));
	p = place(clobber, sizeof(clobber), 1);
	assert_false(p.at_entry);
	assert_int_equal(p.offset, 3);
	p = place(ret, sizeof(ret), 2);
	assert_true(p.at_entry);
	p = place(indirect, sizeof(indirect), 2);
	assert_true(p.at_entry);
	p = place(garbage, sizeof(garbage), 2);
	assert_true(p.at_entry);
	assert_int_equal(p.offset, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_prologues),
		cmocka_unit_test(test_back_to_the_entry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
