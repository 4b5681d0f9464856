/* Walking the target interpreter's object graph: the subclasses of a type,
 * sys.modules, module globals and instance attributes. */
#ifndef ND_PYWALK_H
#define ND_PYWALK_H

#include <stddef.h>
#include <stdint.h>

#include "ctx.h"
#include "pydict.h"
#include "pyobj.h"

#define ND_MAX_SUBTYPES 4096

/* type and every type deriving from it (tp_subclasses, transitively);
 * out[0] is type itself. */
int nd_py_subtypes(struct nd_ctx *c, uint64_t type, uint64_t *out,
		   size_t max, size_t *n, struct nd_err *e);

/* The value stored under the str key in a dict; *value = 0 when the key
 * is absent. */
int nd_py_dict_get(struct nd_ctx *c, uint64_t dict, const char *key,
		   uint64_t *value, struct nd_err *e);

/* obj's instance attribute called name, from its __dict__, managed dict or
 * inline values (what: how messages call obj): 0 with *value 0 when it
 * has none (or no place for any); -1 when they cannot be read. */
int nd_py_getattr(struct nd_ctx *c, uint64_t obj, const char *name,
		  const char *what, uint64_t *value, struct nd_err *e);
/* Calls fn(arg, name, value) for each instance attribute of obj (its
 * __dict__, managed dict or inline values; nothing where it has none).
 * Stops when fn returns non-zero and returns that. */
int nd_py_attrs_foreach(struct nd_ctx *c, uint64_t obj, nd_dict_fn fn,
			void *arg, struct nd_err *e);
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
/* Calls fn(arg, name, module) for each entry of the main interpreter's
 * sys.modules; -1 when it cannot be read. */
int nd_py_modules_foreach(struct nd_ctx *c, uint64_t runtime, nd_dict_fn fn,
			  void *arg, struct nd_err *e);
/* "MODULE.NAME" of a global, as nd_py_resolve takes it; fails when the
 * entry of sys.modules is not a module or a name is not a str. */
int nd_py_global_name(struct nd_ctx *c, const struct nd_global *g, char *out,
		      size_t cap, struct nd_err *e);

/* The module of the main interpreter's sys.modules whose name is the
 * longest dotted prefix of path (*len its length). */
int nd_py_module_of(struct nd_ctx *c, uint64_t runtime, const char *path,
		    uint64_t *mod, size_t *len, struct nd_err *e);

#endif
