/* A frame's locals as references (decode/refs.h): fast locals, cells and
 * free variables named by the code object, and the frame's locals dict. */
#include "refs.h"

#include <stdbool.h>
#include <string.h>

#include "pyobj.h"

struct emit {
	nd_ref_fn fn;
	void *arg;
};

static int emit_attr(void *arg, uint64_t key, uint64_t value)
{
	const struct emit *m = arg;

	return value ? m->fn(m->arg, value,
			     (struct nd_step){key, ND_STEP_ATTR_STR}) : 0;
}

/* n names of a tuple of them, appended to names (at most max). */
static size_t names_of(struct nd_ctx *c, uint64_t code, int at, uint64_t *names,
		       size_t n, size_t max)
{
	uint64_t tuple;
	size_t got = 0;

	if (at < 0 || nd_read_u64(c, code + (uint64_t)at, &tuple, NULL,
				  "local names") || !tuple ||
	    nd_py_tuple(c, tuple, names + n, max - n, &got, NULL))
		return n;
	return n + got;
}

static bool is_cell(struct nd_ctx *c, uint64_t obj)
{
	uint64_t type, flags;
	const char *name;

	return nd_py_header(c, obj, NULL, &type, NULL) == 0 &&
	       nd_py_type_name(c, type, &name, NULL) == 0 &&
	       nd_py_type_flags(c, type, &flags, NULL) == 0 &&
	       !(flags & ND_TPFLAGS_HEAPTYPE) && strcmp(name, "cell") == 0;
}

int nd_frame_locals(struct nd_refs *w, uint64_t frame, uint64_t code,
		    nd_ref_fn fn, void *arg)
{
	struct nd_ctx *c = nd_refs_ctx(w);
	const struct nd_pylayout *P = c->py;
	uint64_t names[ND_MAX_LOCALS], values[ND_MAX_LOCALS], dict;
	struct emit m = {fn, arg};
	size_t n = 0;
	int rc;

	/* 3.11+ one tuple; before, locals, then cells, then free variables */
	n = names_of(c, code, P->co_localsplusnames, names, n, ND_MAX_LOCALS);
	n = names_of(c, code, P->co_varnames, names, n, ND_MAX_LOCALS);
	n = names_of(c, code, P->co_cellvars, names, n, ND_MAX_LOCALS);
	n = names_of(c, code, P->co_freevars, names, n, ND_MAX_LOCALS);
	if (n && nd_read(c, frame + (uint64_t)P->fr_localsplus, values, n * 8,
			 NULL, "frame locals"))
		n = 0;
	for (size_t i = 0; i < n; i++) {
		/* 3.14 keeps _PyStackRefs: tag bits below the pointer */
		uint64_t v = values[i] & ~P->fr_code_tag_bits;
		/* a cell or free variable: the frame's value is its content */
		if (v && is_cell(c, v) &&
		    nd_read_u64(c, v + (uint64_t)P->cell_ref, &v, NULL, "cell"))
			v = 0;
		if (v && (rc = fn(arg, v, (struct nd_step){names[i],
							   ND_STEP_ATTR_STR})))
			return rc;
	}
	/* a frame that keeps its locals in a dict (module and class bodies)
	 */
	if (P->fr_locals >= 0 &&
	    !nd_read_u64(c, frame + (uint64_t)P->fr_locals, &dict, NULL,
			 "f_locals") && dict &&
	    (rc = nd_py_dict_foreach(c, dict, emit_attr, &m, NULL)) > 0)
		return rc;
	return 0;
}
