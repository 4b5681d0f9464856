/* Hashes: where a 64-bit key starts its probe in an open-addressing
 * table, and a hash of bytes, for telling contents apart. */
#ifndef NDSPY_HASH_H
#define NDSPY_HASH_H

#include <stddef.h>
#include <stdint.h>

/* The slot of key in a table of mask + 1 slots (a power of two): its bits
 * mixed (MurmurHash3's finalizer), so that addresses, which share their
 * low bits, spread. */
static inline size_t slot_hash(uint64_t key, size_t mask)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (size_t)key & mask;
}

/* len bytes at p hashed into h (FNV-1a); start from FNV_START. */
#define FNV_START 14695981039346656037ULL
static inline uint64_t fnv1a(uint64_t h, const void *p, size_t len)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < len; i++)
		h = (h ^ c[i]) * 1099511628211ULL;
	return h;
}

#endif
