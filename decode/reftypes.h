/* What the instances of a type hold (decode/refs.h's cache): its kind
 * (a container refs.c walks, a leaf, or plain), whether they may have a
 * __dict__ or inline values, their object members (__slots__, C members,
 * Cython getters that load a field). Made in reftypes.c, read by refs.c. */
#ifndef ND_REFTYPES_H
#define ND_REFTYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "refs.h"

enum nd_kind { ND_K_PLAIN, ND_K_LEAF, ND_K_DICT, ND_K_LIST, ND_K_TUPLE,
	       ND_K_SET, ND_K_DEQUE, ND_K_CELL, ND_K_FUNC, ND_K_ARRAY,
	       ND_K_MODULE, ND_K_GEN };

struct nd_member {
	uint64_t name; /* a C string in the target */
	int64_t offset;
};

struct nd_tinfo {
	uint64_t type;
	uint8_t kind;
	bool attrs; /* instances may have a __dict__ or inline values */
	bool heap;  /* a class of the program: .__class__ is followed (one
		     * defined in a function is reached no other way) */
	uint32_t first, n; /* its object members in w->m */
};

struct nd_refs {
	struct nd_ctx *c;
	bool cut; /* a container was larger than the limits: not all of it */
	struct nd_tinfo *t;  /* open addressing by type address */
	size_t cap, used;
	struct nd_member *m;
	size_t nm, mcap;
};

/* The cached description of type (made at its first sight); NULL when it
 * cannot be read. */
const struct nd_tinfo *nd_type_info(struct nd_refs *w, uint64_t type);

#endif
