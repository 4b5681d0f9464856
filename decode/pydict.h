/* Reading a target's dicts (decode/pydict.c). */
#ifndef ND_PYDICT_H
#define ND_PYDICT_H

#include <stdint.h>

#include "ctx.h"

/* Calls fn for each (key, value) of a dict, in insertion order; stops early
 * when fn returns non-zero and returns that value. */
typedef int (*nd_dict_fn)(void *arg, uint64_t key, uint64_t value);
int nd_py_dict_foreach(struct nd_ctx *c, uint64_t dict, nd_dict_fn fn,
		       void *arg, struct nd_err *e);
/* The same over a split table without its dict: the shared keys table and
 * the values[] array (the first value's address); capacity bounds the
 * entries read where it is known, -1 where not. */
int nd_py_split_foreach(struct nd_ctx *c, uint64_t keys, uint64_t values,
			int64_t capacity, nd_dict_fn fn, void *arg,
			struct nd_err *e);
/* Number of items in a dict. */
int nd_py_dict_len(struct nd_ctx *c, uint64_t dict, int64_t *n,
		   struct nd_err *e);

#endif
