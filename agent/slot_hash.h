/* Where a 64-bit key starts its probe in an open-addressing table of
 * mask + 1 slots (a power of two): the key's bits mixed (MurmurHash3's
 * finalizer), so that addresses, which share their low bits, spread. */
#ifndef NDSPY_SLOT_HASH_H
#define NDSPY_SLOT_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline size_t slot_hash(uint64_t key, size_t mask)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (size_t)key & mask;
}

#endif
