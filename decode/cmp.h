/* The order qsort and bsearch put addresses in (uint64_t, ascending). */
#ifndef ND_CMP_H
#define ND_CMP_H

#include <stdint.h>

static inline int nd_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

#endif
