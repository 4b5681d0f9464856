#include "pywalk.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyobj.h"

struct subwalk {
	struct nd_ctx *c;
	uint64_t *out;
	size_t max, n;
};

/* tp_subclasses maps id(subclass) to a weakref to it. */
static int add_subclass(void *arg, uint64_t key, uint64_t ref)
{
	struct subwalk *w = arg;
	uint64_t sub, type;
	const char *name;
	(void)key;

	if (nd_read_u64(w->c, ref + (uint64_t)w->c->py->weakref_object, &sub,
			NULL, "weakref"))
		return 0;
	/* a dead weakref points at None; keep only live types, once */
	if (nd_py_header(w->c, sub, NULL, &type, NULL) ||
	    nd_py_type_name(w->c, sub, &name, NULL))
		return 0;
	for (size_t i = 0; i < w->n; i++)
		if (w->out[i] == sub)
			return 0;
	if (w->n < w->max)
		w->out[w->n++] = sub;
	return 0;
}

int nd_py_subtypes(struct nd_ctx *c, uint64_t type, uint64_t *out,
		   size_t max, size_t *n, struct nd_err *e)
{
	struct subwalk w = {.c = c, .out = out, .max = max};

	if (!max)
		return nd_fail(e, ND_ELIMIT, "no room for types");
	out[w.n++] = type;
	/* breadth first over the list as it grows */
	for (size_t i = 0; i < w.n; i++) {
		uint64_t subs;
		if (nd_read_u64(c, out[i] + (uint64_t)c->py->tp_subclasses, &subs,
				NULL, "tp_subclasses") || !subs)
			continue;
		/* static builtin types keep an index here, not a dict */
		uint64_t flags, t;
		if (nd_py_header(c, subs, NULL, &t, NULL) ||
		    nd_py_type_flags(c, t, &flags, NULL) ||
		    !(flags & ND_TPFLAGS_DICT))
			continue;
		nd_py_dict_foreach(c, subs, add_subclass, &w, NULL);
	}
	*n = w.n;
	return 0;
}

struct dictget {
	struct nd_ctx *c;
	const char *key;
	uint64_t value;
	char buf[ND_MAX_NAME];
};

static int match_key(void *arg, uint64_t key, uint64_t value)
{
	struct dictget *g = arg;

	if (nd_py_str(g->c, key, g->buf, sizeof(g->buf), NULL, NULL) == 0 &&
	    strcmp(g->buf, g->key) == 0) {
		g->value = value;
		return 1;
	}
	return 0;
}

/* Where an instance keeps its attributes: a dict, or (3.11+, until
 * something asks for __dict__) values[] beside the object under its
 * class's shared keys. All zero: no attributes at all. */
struct attrs {
	uint64_t dict, keys, values;
	int64_t capacity;
};

/* The value stored under key into *value; 0 there when there is none. */
static int lookup(struct nd_ctx *c, const struct attrs *a, const char *key,
		  uint64_t *value, struct nd_err *e)
{
	*value = 0;
	if (!a->dict && !a->keys)
		return 0;
	struct dictget *g = calloc(1, sizeof(*g));
	if (!g)
		return nd_fail(e, ND_ENOMEM, "out of memory");
	g->c = c;
	g->key = key;
	int rc = a->dict ? nd_py_dict_foreach(c, a->dict, match_key, g, e)
			 : nd_py_split_foreach(c, a->keys, a->values,
					       a->capacity, match_key, g, e);
	*value = g->value;
	free(g);
	return rc < 0 ? -1 : 0;
}

int nd_py_dict_get(struct nd_ctx *c, uint64_t dict, const char *key,
		   uint64_t *value, struct nd_err *e)
{
	struct attrs a = {.dict = dict, .capacity = -1};

	return lookup(c, &a, key, value, e);
}

/* values[] (its header's address) when no dict has been made, or 0. */
static int inline_values(struct nd_ctx *c, uint64_t obj, uint64_t type,
			 uint64_t flags, uint64_t *slot, uint64_t *values,
			 int64_t *capacity, struct nd_err *e)
{
	const struct nd_pylayout *P = c->py;
	int64_t basicsize;
	uint8_t hdr[8];
	int rc;

	*values = 0;
	*capacity = -1;
	switch (P->values_repr) {
	case ND_VALUES_NONE:
		return 0;
	case ND_VALUES_PTR:
		if (*slot)
			return 0;
		return nd_read_u64(c, obj + (uint64_t)(int64_t)P->instance_values,
				   values, e, "instance values");
	case ND_VALUES_TAGGED:
		if (*slot & 1) {
			*values = *slot + 1;
			*slot = 0;
		}
		return 0;
	case ND_VALUES_INLINE:
		if (*slot || !(flags & P->tpflags_inline_values))
			return 0;
		if ((rc = nd_read(c, type + (uint64_t)P->tp_basicsize, &basicsize,
				  8, e, "tp_basicsize")))
			return rc;
		if (basicsize < nd_header_size(P) || basicsize > 4096)
			return nd_fail(e, ND_ECORRUPT,
				       "type at 0x%" PRIx64 ": bad tp_basicsize",
				       type);
		uint64_t at = obj + (uint64_t)basicsize;
		if ((rc = nd_read(c, at, hdr, sizeof(hdr), e, "inline values")))
			return rc;
		/* cleared when a dict took the values over */
		if (hdr[P->dv_valid]) {
			*values = at;
			*capacity = hdr[P->dv_capacity];
		}
		return 0;
	}
	return 0;
}

/* A negative tp_dictoffset counts back from the end of a variable-size
 * object, whose size its item count gives (as CPython computes it). */
static int var_dict_slot(struct nd_ctx *c, uint64_t obj, uint64_t type,
			 int64_t dictoffset, uint64_t *at, struct nd_err *e)
{
	const struct nd_pylayout *P = c->py;
	int64_t basicsize, itemsize, n;
	int rc;

	if ((rc = nd_read(c, type + (uint64_t)P->tp_basicsize, &basicsize, 8,
			  e, "tp_basicsize")) ||
	    (rc = nd_read(c, type + (uint64_t)P->tp_itemsize, &itemsize, 8, e,
			  "tp_itemsize")) ||
	    (rc = nd_read(c, obj + (uint64_t)P->ob_size, &n, 8, e,
			  "object size")))
		return rc;
	if (n < 0)
		n = n == INT64_MIN ? -1 : -n;
	if (basicsize < nd_header_size(P) || basicsize > 4096 || itemsize < 0 ||
	    itemsize > 4096 || n < 0 || n > (1LL << 40))
		return nd_fail(e, ND_ECORRUPT,
			       "object at 0x%" PRIx64 ": bad size for its "
			       "__dict__ slot",
			       obj);
	uint64_t size = ((uint64_t)(basicsize + n * itemsize) + 7) & ~7ULL;
	*at = obj + size + (uint64_t)dictoffset;
	return 0;
}

static int instance_attrs(struct nd_ctx *c, uint64_t obj, const char *what,
			  struct attrs *a, struct nd_err *e)
{
	const struct nd_pylayout *P = c->py;
	uint64_t type, flags, slot, at = 0;
	int64_t dictoffset;
	const char *tn;
	int rc;

	*a = (struct attrs){.capacity = -1};
	if ((rc = nd_py_header(c, obj, NULL, &type, e)) ||
	    (rc = nd_py_type_name(c, type, &tn, e)) ||
	    (rc = nd_py_type_flags(c, type, &flags, e)) ||
	    (rc = nd_read(c, type + (uint64_t)P->tp_dictoffset, &dictoffset, 8,
			  e, "tp_dictoffset")))
		return rc;
	bool managed = P->tpflags_managed_dict &&
		       (flags & P->tpflags_managed_dict);
	if (managed)
		at = obj + (uint64_t)(int64_t)P->instance_dict;
	else if (dictoffset > 0 && dictoffset < 4096)
		at = obj + (uint64_t)dictoffset;
	else if (dictoffset < 0 && dictoffset > -4096)
		rc = var_dict_slot(c, obj, type, dictoffset, &at, e);
	else
		return nd_fail(e, ND_EUNSUPPORTED,
			       "'%s' (a %s) has no __dict__ ndspy can read "
			       "(__slots__ or a C type)",
			       what, tn);
	if (rc)
		return rc;
	uint64_t values = 0;
	if ((rc = nd_read_u64(c, at, &slot, e, "instance dict")))
		return rc;
	/* only a managed dict may have values instead */
	if (managed && (rc = inline_values(c, obj, type, flags, &slot, &values,
					   &a->capacity, e)))
		return rc;
	if (slot) {
		uint64_t dtype, dflags;
		if (nd_py_header(c, slot, NULL, &dtype, NULL) ||
		    nd_py_type_flags(c, dtype, &dflags, NULL) ||
		    !(dflags & ND_TPFLAGS_DICT))
			return nd_fail(e, ND_ECORRUPT,
				       "'%s' (a %s): its __dict__ slot holds "
				       "no dict",
				       what, tn);
		a->dict = slot;
		return 0;
	}
	if (!values)
		return 0;
	if ((rc = nd_read_u64(c, type + (uint64_t)P->ht_cached_keys, &a->keys,
			      e, "shared keys")))
		return rc;
	if (!a->keys)
		return nd_fail(e, ND_ECORRUPT,
			       "'%s' (a %s) has inline values but its class "
			       "no shared keys",
			       what, tn);
	a->values = values + (uint64_t)P->dict_split_values;
	return 0;
}

int nd_py_getattr(struct nd_ctx *c, uint64_t obj, const char *name,
		  const char *what, uint64_t *value, struct nd_err *e)
{
	struct attrs a;
	struct nd_err why = {0};

	*value = 0;
	if (instance_attrs(c, obj, what, &a, &why))
		return why.code == ND_EUNSUPPORTED
			       ? 0 : nd_fail(e, why.code, "%s", why.msg);
	return lookup(c, &a, name, value, e);
}

int nd_py_attrs_foreach(struct nd_ctx *c, uint64_t obj, nd_dict_fn fn,
			void *arg, struct nd_err *e)
{
	struct attrs a;
	int rc = instance_attrs(c, obj, "object", &a, NULL);

	if (rc)
		return 0; /* no __dict__ to walk: nothing */
	if (a.dict)
		return nd_py_dict_foreach(c, a.dict, fn, arg, e);
	if (a.keys)
		return nd_py_split_foreach(c, a.keys, a.values, a.capacity, fn,
					   arg, e);
	return 0;
}

/* A module, or an instance of a subclass of it (lazy loaders). */
static bool is_module(struct nd_ctx *c, uint64_t obj)
{
	uint64_t type;
	const char *name;

	if (nd_py_header(c, obj, NULL, &type, NULL))
		return false;
	for (int depth = 0; type && depth < 64; depth++) {
		if (nd_py_type_name(c, type, &name, NULL))
			return false;
		if (strcmp(name, "module") == 0)
			return true;
		if (nd_read_u64(c, type + (uint64_t)c->py->tp_base, &type, NULL,
				"tp_base"))
			return false;
	}
	return false;
}

/* The module whose name is the longest dotted prefix of path; its length
 * in *len. */
static int find_module(struct nd_ctx *c, uint64_t modules, const char *path,
		       uint64_t *mod, size_t *len)
{
	char prefix[1024];

	snprintf(prefix, sizeof(prefix), "%s", path);
	for (size_t n = strlen(prefix); n;) {
		prefix[n] = '\0';
		if (nd_py_dict_get(c, modules, prefix, mod, NULL) == 0 && *mod &&
		    is_module(c, *mod)) {
			*len = n;
			return 0;
		}
		char *dot = strrchr(prefix, '.');
		n = dot ? (size_t)(dot - prefix) : 0;
	}
	return -1;
}

/* The main interpreter's sys.modules. */
static int sys_modules(struct nd_ctx *c, uint64_t runtime, uint64_t *modules,
		       struct nd_err *e)
{
	const struct nd_pylayout *P = c->py;
	uint64_t interp;

	if (!runtime)
		return nd_fail(e, ND_ETARGET,
			       "the interpreter's _PyRuntime is not exported: "
			       "names cannot be looked up");
	if (nd_read_u64(c, runtime + (uint64_t)P->rt_interpreters_main,
			&interp, e, "interpreters") ||
	    nd_read_u64(c, interp + (uint64_t)P->interp_modules, modules, e,
			"sys.modules"))
		return -1;
	return 0;
}

struct globals_walk {
	struct nd_ctx *c;
	nd_global_fn fn;
	void *arg;
	struct nd_global g;
};

static int each_global(void *arg, uint64_t key, uint64_t value)
{
	struct globals_walk *w = arg;

	w->g.key = key;
	w->g.value = value;
	return w->fn(w->arg, &w->g);
}

/* Nothing of the module is read but its dict: whether it is one, and its
 * name, only when a caller asks (nd_py_global_name). */
static int each_module(void *arg, uint64_t key, uint64_t mod)
{
	struct globals_walk *w = arg;
	uint64_t dict;

	w->g.module_key = key;
	w->g.module = mod;
	if (nd_read_u64(w->c, mod + (uint64_t)w->c->py->module_dict, &dict,
			NULL, "module dict"))
		return 0;
	/* not a module, or a dict that cannot be walked: the others are */
	int rc = nd_py_dict_foreach(w->c, dict, each_global, w, NULL);
	return rc > 0 ? rc : 0;
}

int nd_py_module_globals(struct nd_ctx *c, uint64_t runtime, nd_global_fn fn,
			 void *arg, struct nd_err *e)
{
	struct globals_walk w = {.c = c, .fn = fn, .arg = arg};
	uint64_t modules;

	if (sys_modules(c, runtime, &modules, e))
		return -1;
	return nd_py_dict_foreach(c, modules, each_module, &w, e) < 0 ? -1 : 0;
}

int nd_py_modules_foreach(struct nd_ctx *c, uint64_t runtime, nd_dict_fn fn,
			  void *arg, struct nd_err *e)
{
	uint64_t modules;

	if (sys_modules(c, runtime, &modules, e))
		return -1;
	return nd_py_dict_foreach(c, modules, fn, arg, e);
}

int nd_py_global_name(struct nd_ctx *c, const struct nd_global *g, char *out,
		      size_t cap, struct nd_err *e)
{
	char mod[ND_MAX_NAME], name[ND_MAX_NAME];

	if (!is_module(c, g->module))
		return nd_fail_at(e, ND_ENOTARRAY, g->module, "0x%" PRIx64
				  " in sys.modules is not a module", g->module);
	if (nd_py_str(c, g->module_key, mod, sizeof(mod), NULL, e) ||
	    nd_py_str(c, g->key, name, sizeof(name), NULL, e))
		return -1;
	if ((size_t)snprintf(out, cap, "%s.%s", mod, name) >= cap)
		return nd_fail(e, ND_ELIMIT, "%s.%s: name too long", mod, name);
	return 0;
}

int nd_py_module_of(struct nd_ctx *c, uint64_t runtime, const char *path,
		    uint64_t *mod, size_t *len, struct nd_err *e)
{
	uint64_t modules;

	if (sys_modules(c, runtime, &modules, e))
		return -1;
	if (find_module(c, modules, path, mod, len))
		return nd_fail(e, ND_ENOTARRAY,
			       "'%s': no module of that name in sys.modules "
			       "(give MODULE.NAME, e.g. __main__.x)",
			       path);
	return 0;
}
