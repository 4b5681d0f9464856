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

/* MODULE.NAME[.ATTR...] to the object it names, from the interpreter at
 * runtime (&_PyRuntime): the longest prefix that is in sys.modules, then
 * globals and instance attributes. */
int nd_py_resolve(struct nd_ctx *c, uint64_t runtime, const char *dotted,
		  uint64_t *obj, struct nd_err *e);

#endif
