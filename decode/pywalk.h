/* Walking the target interpreter's object graph: the subclasses of a type,
 * sys.modules, module globals and instance attributes. */
#ifndef ND_PYWALK_H
#define ND_PYWALK_H

#include <stddef.h>
#include <stdint.h>

#include "ctx.h"

#define ND_MAX_SUBTYPES 4096

/* type and every type deriving from it (tp_subclasses, transitively);
 * out[0] is type itself. */
int nd_py_subtypes(struct nd_ctx *c, uint64_t type, uint64_t *out,
		   size_t max, size_t *n, struct nd_err *e);

/* The value stored under the str key in a dict; *value = 0 when the key
 * is absent. */
int nd_py_dict_get(struct nd_ctx *c, uint64_t dict, const char *key,
		   uint64_t *value, struct nd_err *e);

/* A module global: its module (the key sys.modules has it under, and the
 * object), its key and its value. */
struct nd_global {
	uint64_t module_key, module, key, value;
};
/* Calls fn(arg, g) for each global of each entry of the main
 * interpreter's sys.modules, reading nothing of them but their dicts (so
 * that a walk looking for a few values costs little); what cannot be
 * walked is passed over. Stops when fn returns non-zero. */
typedef int (*nd_global_fn)(void *arg, const struct nd_global *g);
int nd_py_module_globals(struct nd_ctx *c, uint64_t runtime, nd_global_fn fn,
			 void *arg, struct nd_err *e);
/* "MODULE.NAME" of a global, as nd_py_resolve takes it; fails when the
 * entry of sys.modules is not a module or a name is not a str. */
int nd_py_global_name(struct nd_ctx *c, const struct nd_global *g, char *out,
		      size_t cap, struct nd_err *e);

/* MODULE.NAME[.ATTR...] to the object it names, from the interpreter at
 * runtime (&_PyRuntime): the longest prefix that is in sys.modules, then
 * globals and instance attributes. */
int nd_py_resolve(struct nd_ctx *c, uint64_t runtime, const char *dotted,
		  uint64_t *obj, struct nd_err *e);

#endif
