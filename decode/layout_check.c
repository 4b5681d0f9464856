#include "layout_check.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "pyobj.h"
#include "read.h"

/* A word at off in obj; false when it cannot be read. */
static bool word(struct nd_ctx *c, uint64_t obj, int off, uint64_t *v)
{
	return obj && off >= 0 &&
	       nd_read_u64(c, obj + (uint64_t)off, v, NULL, "type") == 0;
}

static int moved(struct nd_err *e, const char *field, int off,
		 const char *what)
{
	return nd_fail(e, ND_EUNSUPPORTED, "this build moved %s: at offset "
		       "%d, where ndspy's table has it, %s; not read", field,
		       off, what);
}

int nd_layout_check(struct nd_ctx *c, const struct nd_static_types *st,
		    struct nd_err *e)
{
	const struct nd_pylayout *P = c->py;
	uint64_t v, mro, items[3];
	char name[8];

	/* The type objects are read or the check skipped. What they point
	 * to is checked once the type is ready: a core may give the
	 * interpreter's data as its file holds it, pointers not yet set or
	 * relocated. */
	uint64_t flags;
	bool float_ready = word(c, st->float_type, P->tp_flags, &flags) &&
			   (flags & ND_TPFLAGS_READY);
	bool bool_ready = word(c, st->bool_type, P->tp_flags, &flags) &&
			  (flags & ND_TPFLAGS_READY);
	if (float_ready && word(c, st->float_type, P->tp_name, &v) &&
	    (nd_read(c, v, name, 6, NULL, "tp_name") ||
	     memcmp(name, "float", 6) != 0))
		return moved(e, "PyTypeObject.tp_name", P->tp_name,
			     "float's type has no name \"float\"");
	if (word(c, st->float_type, P->tp_basicsize, &v) &&
	    v != (uint64_t)P->float_fval + 8)
		return moved(e, "PyTypeObject.tp_basicsize or "
			     "PyFloatObject.ob_fval", P->tp_basicsize,
			     "a float's size is not its value's end");
	if (word(c, st->tuple_type, P->tp_itemsize, &v) && v != 8)
		return moved(e, "PyTypeObject.tp_itemsize", P->tp_itemsize,
			     "a tuple's items are not pointers");
	if ((word(c, st->tuple_type, P->tp_flags, &v) &&
	     !(v & ND_TPFLAGS_TUPLE)) ||
	    (word(c, st->long_type, P->tp_flags, &v) &&
	     !(v & ND_TPFLAGS_LONG)))
		return moved(e, "PyTypeObject.tp_flags", P->tp_flags,
			     "tuple's and int's flags do not say so");
	if (bool_ready && st->long_type &&
	    word(c, st->bool_type, P->tp_base, &v) && v != st->long_type)
		return moved(e, "PyTypeObject.tp_base", P->tp_base,
			     "bool's base is not int");
	/* bool's MRO: (bool, int, object), a tuple of three */
	if (!bool_ready || !st->long_type || !st->object_type ||
	    !word(c, st->bool_type, P->tp_mro, &mro))
		return 0;
	uint64_t size;
	if (!word(c, mro, P->ob_type, &v) || v != st->tuple_type ||
	    !word(c, mro, P->ob_size, &size) ||
	    size != 3 ||
	    nd_read(c, mro + (uint64_t)P->tuple_item, items, sizeof(items),
		    NULL, "tuple") ||
	    items[0] != st->bool_type || items[1] != st->long_type ||
	    items[2] != st->object_type)
		return moved(e, "PyTypeObject.tp_mro", P->tp_mro,
			     "bool's MRO is not (bool, int, object)");
	return 0;
}
