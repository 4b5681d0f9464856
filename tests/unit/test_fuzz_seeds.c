/* The committed fuzz_decode seeds (tests/fuzz/seeds/decode) still reach
 * what they were recorded for: each array decodes, each thread walk finds
 * threads, each name resolves to an array. A seed that stops at the first
 * read the decoder makes anew (a new check, a type cache that kept bytes
 * out of the recording) would leave the fuzzer mutating nothing. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../decode/ndarray.h"
#include "../../decode/pyframes.h"
#include "../../decode/pypath.h"
#include "../fuzz/image_file.h"

#define SEEDS "tests/fuzz/seeds/decode"

static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *d = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (d = malloc((size_t)len)) &&
	    fread(d, 1, (size_t)len, f) != (size_t)len) {
		free(d);
		d = NULL;
	}
	*n = d ? (size_t)len : 0;
	fclose(f);
	return d;
}

/* "" when the seed reaches its goal, else why not. */
static const char *check(struct fuzz_image *im, char *why, size_t cap)
{
	struct nd_ctx c;
	struct nd_err e = {0};
	struct nd_array a;
	struct nd_pystacks s;
	uint64_t obj = im->h.root;
	int rc = 0;

	fuzz_image_ctx(im, &c);
	switch (im->h.mode % FUZZ_MODES) {
	case FUZZ_STACKS:
		rc = nd_py_stacks(&c, im->h.root, &s, &e);
		if (!rc && s.n == 0)
			rc = nd_fail(&e, ND_ECORRUPT, "no thread found");
		nd_py_stacks_free(&s);
		break;
	default:
		/* a name resolves to what it names: an array */
		if (im->h.mode % FUZZ_MODES == FUZZ_RESOLVE)
			rc = nd_py_resolve(&c, im->h.root, im->h.name, &obj,
					   &e);
		if (!rc) {
			rc = nd_array_decode(&c, obj, &a, &e);
			nd_array_free(&a);
		}
	}
	snprintf(why, cap, "%s", rc ? e.msg : "");
	return why;
}

static void test_seeds_reach_their_goal(void **state)
{
	static struct fuzz_image im;
	DIR *d = opendir(SEEDS);
	struct dirent *de;
	size_t seeds = 0, bad = 0;

	(void)state;
	assert_non_null(d);
	while ((de = readdir(d))) {
		char path[512], why[400];
		size_t n = 0;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", SEEDS, de->d_name);
		uint8_t *bytes = slurp(path, &n);
		assert_non_null(bytes);
		assert_int_equal(fuzz_image_parse(bytes, n, &im), 0);
		if (*check(&im, why, sizeof(why))) {
			printf("# %s: %s\n", de->d_name, why);
			bad++;
		}
		seeds++;
		free(bytes);
	}
	closedir(d);
	/* five Python/NumPy pairs, 60+ zoo arrays each */
	assert_true(seeds >= 300);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seeds_reach_their_goal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
