#include "refs.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ndarray.h"
#include "pydict.h"
#include "pyobj.h"
#include "pywalk.h"
#include "reftypes.h"

#define CHUNK 512       /* pointers read at a time */
#define NPY_OBJECT 17
/* collections.deque (Modules/_collectionsmodule.c, no header; the same
 * 3.9-3.15): its length is ob_size, then leftblock, rightblock,
 * leftindex (bytes past ob_size); a block is leftlink, 64 items,
 * rightlink */
#define DEQUE_LEFTBLOCK 8
#define DEQUE_LEFTINDEX 24
#define BLOCKLEN 64

const char *const nd_step_names[] = {"__defaults__", "__kwdefaults__",
				     "cell_contents", "base", "__class__"};
enum { N_DEFAULTS, N_KWDEFAULTS, N_CELL, N_BASE, N_CLASS };

struct emit {
	struct nd_ref_sink s;
	struct nd_refs *w;
};

/* A dict's entry: its value [KEY]; its key too, where it is an object
 * that may hold others (not a str, int, bytes). */
static int emit_value(void *arg, uint64_t key, uint64_t value)
{
	const struct emit *m = arg;
	const struct nd_tinfo *t;
	uint64_t type;
	int rc = value ? m->s.fn(m->s.arg, value,
				 (struct nd_step){key, ND_STEP_KEY}) : 0;

	if (!rc && key && nd_py_header(m->w->c, key, NULL, &type, NULL) == 0 &&
	    (t = nd_type_info(m->w, type)) && t->kind != ND_K_LEAF)
		rc = m->s.fn(m->s.arg, key,
			     (struct nd_step){key, ND_STEP_MEMBER});
	return rc;
}

int nd_ref_attr(void *sink, uint64_t name, uint64_t value)
{
	const struct nd_ref_sink *s = sink;

	return value ? s->fn(s->arg, value,
			     (struct nd_step){name, ND_STEP_ATTR_STR}) : 0;
}

/* n pointers at items, each [i] (or, for sets, itself) */
static int items(struct nd_refs *w, uint64_t items, uint64_t n, size_t stride,
		 uint8_t kind, nd_ref_fn fn, void *arg)
{
	uint64_t buf[2 * CHUNK];
	size_t per = stride / 8;

	if (n > ND_MAX_REFS) {
		n = ND_MAX_REFS;
		w->cut = true;
	}
	for (uint64_t i = 0; i < n; i += CHUNK) {
		uint64_t k = n - i < CHUNK ? n - i : CHUNK;
		if (nd_read(w->c, items + i * stride, buf, (size_t)(k * stride),
			    NULL, "container items"))
			return 0;
		for (uint64_t j = 0; j < k; j++) {
			uint64_t v = buf[j * per];
			int rc = v ? fn(arg, v, (struct nd_step){
							kind == ND_STEP_MEMBER
								? v : i + j,
							kind}) : 0;
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int deque_items(struct nd_refs *w, uint64_t obj, nd_ref_fn fn,
		       void *arg)
{
	uint64_t len, block, idx, b[BLOCKLEN + 2];
	uint64_t size = obj + (uint64_t)w->c->py->ob_size;

	if (nd_read_u64(w->c, size, &len, NULL, "deque") ||
	    nd_read_u64(w->c, size + DEQUE_LEFTBLOCK, &block, NULL, "deque") ||
	    nd_read_u64(w->c, size + DEQUE_LEFTINDEX, &idx, NULL, "deque") ||
	    idx >= BLOCKLEN)
		return 0;
	if (len > ND_MAX_REFS) {
		w->cut = true;
		len = ND_MAX_REFS;
	}
	for (uint64_t i = 0; i < len; block = b[BLOCKLEN + 1], idx = 0) {
		if (nd_read(w->c, block, b, sizeof(b), NULL, "deque block"))
			return 0;
		for (; idx < BLOCKLEN && i < len; idx++, i++) {
			int rc = b[1 + idx] ? fn(arg, b[1 + idx],
						 (struct nd_step){
							 i, ND_STEP_INDEX})
					    : 0;
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* An array's base, and an object array's elements in C order. */
static int array_refs(struct nd_refs *w, uint64_t obj, nd_ref_fn fn,
		      void *arg)
{
	const struct nd_nplayout *L = w->c->np;
	unsigned char raw[ND_ARR_HEADER_MAX];
	struct nd_arr_raw r;
	int32_t type_num = 0;
	int64_t shape[ND_MAXDIMS], strides[ND_MAXDIMS], idx[ND_MAXDIMS] = {0};
	int rc;

	if (nd_read(w->c, obj, raw, nd_array_header_len(L), NULL, "array"))
		return 0;
	nd_array_parse(L, raw, &r);
	if (r.base && (rc = fn(arg, r.base,
			       (struct nd_step){N_BASE, ND_STEP_ATTR_FIXED})))
		return rc;
	if (!r.descr || r.nd < 0 || r.nd > ND_MAXDIMS ||
	    nd_read(w->c, r.descr + (uint64_t)L->d_type_num, &type_num, 4,
		    NULL, "descr") || type_num != NPY_OBJECT ||
	    (r.nd && (nd_read(w->c, r.dims, shape, (size_t)r.nd * 8, NULL,
			      "dims") ||
		      nd_read(w->c, r.strides, strides, (size_t)r.nd * 8, NULL,
			      "strides"))))
		return 0;
	uint64_t n = 1;
	for (int64_t d = 0; d < r.nd; d++) {
		if (shape[d] < 0)
			return 0;
		if (shape[d] && n > ND_MAX_REFS / (uint64_t)shape[d]) {
			w->cut = true;
			return 0;
		}
		n *= (uint64_t)shape[d];
	}
	for (uint64_t i = 0; i < n; i++) {
		uint64_t at = r.data, v;
		for (int64_t d = 0; d < r.nd; d++)
			at += (uint64_t)idx[d] * (uint64_t)strides[d];
		if (nd_read_u64(w->c, at, &v, NULL, "object element"))
			return 0;
		if (v && (rc = fn(arg, v, (struct nd_step){i, ND_STEP_FLAT})))
			return rc;
		for (int64_t d = r.nd - 1; d >= 0 && ++idx[d] == shape[d]; d--)
			idx[d] = 0;
	}
	return 0;
}

/* A generator's locals: the steps of its frame's, spelled through it. */
static int gen_local(void *arg, uint64_t target, struct nd_step step)
{
	const struct nd_ref_sink *s = arg;

	return s->fn(s->arg, target,
		     (struct nd_step){step.payload, ND_STEP_GEN_LOCAL});
}

static int gen_locals(struct nd_refs *w, uint64_t obj, nd_ref_fn fn,
		      void *arg)
{
	const struct nd_pylayout *P = w->c->py;
	struct nd_ref_sink s = {fn, arg};
	uint64_t frame = obj + (uint64_t)P->gen_frame, code;

	/* before 3.11 a frame object, gone once the generator is done */
	if (!P->gen_frame_embedded &&
	    (nd_read_u64(w->c, frame, &frame, NULL, "gi_frame") || !frame))
		return 0;
	if (nd_read_u64(w->c, frame + (uint64_t)P->fr_code, &code, NULL,
			"generator code"))
		return 0;
	code &= ~P->fr_code_tag_bits;
	/* only what the frame holds by name: its locals dict is the
	 * generator's own only at module level, which has none */
	return nd_frame_locals(w, frame, code, gen_local, &s);
}

static int container(struct nd_refs *w, const struct nd_tinfo *t, uint64_t obj,
		     nd_ref_fn fn, void *arg)
{
	const struct nd_pylayout *P = w->c->py;
	struct emit m = {{fn, arg}, w};
	struct nd_err e = {0};
	uint64_t n, at, v;
	int rc;

	switch (t->kind) {
	case ND_K_DICT:
		rc = nd_py_dict_foreach(w->c, obj, emit_value, &m, &e);
		w->cut |= rc < 0 && e.code == ND_ELIMIT;
		return rc > 0 ? 1 : 0;
	case ND_K_LIST:
		if (nd_read_u64(w->c, obj + (uint64_t)P->ob_size, &n, NULL,
				"list") ||
		    nd_read_u64(w->c, obj + (uint64_t)P->list_items, &at, NULL,
				"list"))
			return 0;
		return items(w, at, n, 8, ND_STEP_INDEX, fn, arg);
	case ND_K_TUPLE:
		if (nd_read_u64(w->c, obj + (uint64_t)P->ob_size, &n, NULL,
				"tuple"))
			return 0;
		return items(w, obj + (uint64_t)P->tuple_item, n, 8,
			     ND_STEP_INDEX, fn, arg);
	case ND_K_SET:
		if (nd_read_u64(w->c, obj + (uint64_t)P->set_mask, &n, NULL,
				"set") ||
		    nd_read_u64(w->c, obj + (uint64_t)P->set_table, &at, NULL,
				"set") ||
		    P->set_entry != 16)
			return 0;
		if (n >= ND_MAX_REFS) {
			w->cut = true;
			return 0;
		}
		return items(w, at, n + 1, 16, ND_STEP_MEMBER, fn, arg);
	case ND_K_DEQUE:
		return deque_items(w, obj, fn, arg);
	case ND_K_CELL:
		if (nd_read_u64(w->c, obj + (uint64_t)P->cell_ref, &v, NULL,
				"cell") || !v)
			return 0;
		return fn(arg, v, (struct nd_step){N_CELL, ND_STEP_ATTR_FIXED});
	case ND_K_FUNC:
		rc = 0;
		if (!nd_read_u64(w->c, obj + (uint64_t)P->fn_defaults, &v, NULL,
				 "function") && v)
			rc = fn(arg, v, (struct nd_step){N_DEFAULTS,
							 ND_STEP_ATTR_FIXED});
		if (!rc && !nd_read_u64(w->c, obj + (uint64_t)P->fn_kwdefaults,
					&v, NULL, "function") && v)
			rc = fn(arg, v, (struct nd_step){N_KWDEFAULTS,
							 ND_STEP_ATTR_FIXED});
		return rc;
	case ND_K_ARRAY:
		return array_refs(w, obj, fn, arg);
	case ND_K_GEN:
		return gen_locals(w, obj, fn, arg);
	case ND_K_MODULE:
		if (nd_read_u64(w->c, obj + (uint64_t)P->module_dict, &v, NULL,
				"module dict") || !v)
			return 0;
		return nd_py_dict_foreach(w->c, v, nd_ref_attr, &m.s, NULL) > 0
			       ? 1 : 0;
	}
	return 0;
}

int nd_refs_of(struct nd_refs *w, uint64_t obj, nd_ref_fn fn, void *arg)
{
	uint64_t type;
	const struct nd_tinfo *t;
	struct nd_ref_sink s = {fn, arg};
	int rc;

	if (nd_py_header(w->c, obj, NULL, &type, NULL) ||
	    !(t = nd_type_info(w, type)) || t->kind == ND_K_LEAF)
		return 0;
	if ((rc = container(w, t, obj, fn, arg)))
		return rc;
	if (t->heap &&
	    (rc = fn(arg, type, (struct nd_step){N_CLASS, ND_STEP_ATTR_FIXED})))
		return rc;
	if (t->attrs && (rc = nd_py_attrs_foreach(w->c, obj, nd_ref_attr, &s,
						  NULL)) > 0)
		return rc;
	for (uint32_t i = 0; i < t->n; i++) {
		const struct nd_member *mb = &w->m[t->first + i];
		uint64_t v;
		if (!nd_read_u64(w->c, obj + (uint64_t)mb->offset, &v, NULL,
				 "member") && v &&
		    (rc = fn(arg, v, (struct nd_step){mb->name,
						      ND_STEP_ATTR_CSTR})))
			return rc;
	}
	return 0;
}

bool nd_refs_cell(struct nd_refs *w, uint64_t obj, uint64_t *content)
{
	const struct nd_tinfo *t;
	uint64_t type;

	if (nd_py_header(w->c, obj, NULL, &type, NULL) ||
	    !(t = nd_type_info(w, type)) || t->kind != ND_K_CELL)
		return false;
	if (nd_read_u64(w->c, obj + (uint64_t)w->c->py->cell_ref, content,
			NULL, "cell"))
		*content = 0;
	return true;
}

bool nd_refs_cut(const struct nd_refs *w)
{
	return w->cut;
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

int nd_frame_locals(struct nd_refs *w, uint64_t frame, uint64_t code,
		    nd_ref_fn fn, void *arg)
{
	struct nd_ctx *c = w->c;
	const struct nd_pylayout *P = c->py;
	uint64_t names[ND_MAX_LOCALS], values[ND_MAX_LOCALS], dict;
	struct nd_ref_sink s = {fn, arg};
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
		uint64_t content;
		if (v && nd_refs_cell(w, v, &content))
			v = content;
		if (v && (rc = fn(arg, v, (struct nd_step){names[i],
							   ND_STEP_ATTR_STR})))
			return rc;
	}
	/* a frame that keeps its locals in a dict (module and class bodies)
	 */
	if (P->fr_locals >= 0 &&
	    !nd_read_u64(c, frame + (uint64_t)P->fr_locals, &dict, NULL,
			 "f_locals") && dict &&
	    (rc = nd_py_dict_foreach(c, dict, nd_ref_attr, &s, NULL)) > 0)
		return rc;
	return 0;
}
