#include "refs.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ndarray.h"
#include "pyobj.h"
#include "pywalk.h"

#define CHUNK 512       /* pointers read at a time */
#define NPY_OBJECT 17
/* collections.deque (Modules/_collectionsmodule.c, no header; the same
 * 3.9-3.14): its length is ob_size, then leftblock, rightblock,
 * leftindex; a block is leftlink, 64 items, rightlink */
#define DEQUE_LEFTBLOCK 24
#define DEQUE_LEFTINDEX 40
#define BLOCKLEN 64
#define T_OBJECT 6
#define T_OBJECT_EX 16

const char *const nd_step_names[] = {"__defaults__", "__kwdefaults__",
				     "cell_contents", "base", "__class__"};
enum { N_DEFAULTS, N_KWDEFAULTS, N_CELL, N_BASE, N_CLASS };

enum kind { K_PLAIN, K_LEAF, K_DICT, K_LIST, K_TUPLE, K_SET, K_DEQUE, K_CELL,
	    K_FUNC, K_ARRAY, K_MODULE, K_GEN };

struct member {
	uint64_t name; /* a C string in the target */
	int64_t offset;
};

struct tinfo {
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
	struct tinfo *t;  /* open addressing by type address */
	size_t cap, used;
	struct member *m;
	size_t nm, mcap;
};

struct nd_refs *nd_refs_new(struct nd_ctx *c)
{
	struct nd_refs *w = calloc(1, sizeof(*w));

	if (w && !(w->t = calloc(w->cap = 1024, sizeof(*w->t)))) {
		free(w);
		return NULL;
	}
	if (w)
		w->c = c;
	return w;
}

void nd_refs_free(struct nd_refs *w)
{
	if (!w)
		return;
	free(w->t);
	free(w->m);
	free(w);
}

static struct tinfo *slot(struct nd_refs *w, uint64_t type)
{
	size_t i = (size_t)(type >> 3) * 0x9e3779b97f4a7c15ull & (w->cap - 1);

	while (w->t[i].type && w->t[i].type != type)
		i = (i + 1) & (w->cap - 1);
	return &w->t[i];
}

static bool grow(struct nd_refs *w)
{
	struct tinfo *old = w->t;
	size_t n = w->cap;
	struct tinfo *t = calloc(2 * n, sizeof(*t));

	if (!t)
		return false;
	w->t = t;
	w->cap = 2 * n;
	for (size_t i = 0; i < n; i++)
		if (old[i].type)
			*slot(w, old[i].type) = old[i];
	free(old);
	return true;
}

/* A builtin base on the tp_base chain, by name: of a static type (a class
 * of the program may have a builtin's name), or a dotted one only a C
 * extension's spec gives (deque is a heap type from 3.13). */
static enum kind named_kind(struct nd_ctx *c, uint64_t type)
{
	static const struct {
		const char *name;
		enum kind k;
	} names[] = {{"set", K_SET},	   {"frozenset", K_SET},
		     {"cell", K_CELL},	   {"function", K_FUNC},
		     {"collections.deque", K_DEQUE}, {"module", K_MODULE},
		     {"generator", K_GEN},  {"coroutine", K_GEN},
		     {"async_generator", K_GEN}};

	for (int depth = 0; type && depth < 32; depth++) {
		const char *name;
		uint64_t flags;
		if (nd_py_type_name(c, type, &name, NULL) ||
		    nd_py_type_flags(c, type, &flags, NULL))
			return K_PLAIN;
		bool named = !(flags & ND_TPFLAGS_HEAPTYPE) || strchr(name, '.');
		for (size_t i = 0;
		     named && i < sizeof(names) / sizeof(names[0]); i++)
			if (strcmp(name, names[i].name) == 0)
				return names[i].k;
		if (nd_read_u64(c, type + (uint64_t)c->py->tp_base, &type, NULL,
				"tp_base"))
			return K_PLAIN;
	}
	return K_PLAIN;
}

static void add_member(struct nd_refs *w, uint64_t name, int64_t offset)
{
	if (w->nm == w->mcap) {
		size_t cap = w->mcap ? 2 * w->mcap : 256;
		struct member *m = realloc(w->m, cap * sizeof(*m));
		if (!m)
			return;
		w->m = m;
		w->mcap = cap;
	}
	w->m[w->nm++] = (struct member){name, offset};
}

bool nd_field_getter(const unsigned char *code, size_t n, int64_t *offset)
{
	/* Py_INCREF of the loaded object as GCC writes it: addq $1,(%rax),
	 * incq (%rax); from 3.12, the 32-bit count left alone when it would
	 * overflow (immortal) */
	static const struct {
		unsigned char b[10];
		size_t n;
	} incref[] = {
		{{0x48, 0x83, 0x00, 0x01}, 4},
		{{0x48, 0xff, 0x00}, 3},
		{{0x8b, 0x10, 0x83, 0xc2, 0x01, 0x74, 0x02, 0x89, 0x10}, 9},
		{{0x8b, 0x10, 0xff, 0xc2, 0x74, 0x02, 0x89, 0x10}, 8},
	};
	size_t at;

	/* mov rax, [rdi + disp8 | disp32] */
	if (n >= 4 && code[0] == 0x48 && code[1] == 0x8b && code[2] == 0x47) {
		*offset = (int8_t)code[3];
		at = 4;
	} else if (n >= 7 && code[0] == 0x48 && code[1] == 0x8b &&
		   code[2] == 0x87) {
		int32_t d;
		memcpy(&d, code + 3, 4);
		*offset = d;
		at = 7;
	} else {
		return false;
	}
	/* then the incref, then ret: nothing else */
	for (size_t i = 0; i < sizeof(incref) / sizeof(incref[0]); i++)
		if (at + incref[i].n < n &&
		    memcmp(code + at, incref[i].b, incref[i].n) == 0 &&
		    code[at + incref[i].n] == 0xc3)
			return *offset >= 16;
	return false;
}

/* The getters of a C type's getsets whose code is a field load. */
static void getters(struct nd_refs *w, uint64_t type, struct tinfo *t)
{
	const struct nd_pylayout *P = w->c->py;
	unsigned char def[64], code[32];
	uint64_t list;

	if (P->getset_size > (int)sizeof(def) ||
	    nd_read_u64(w->c, type + (uint64_t)P->tp_getset, &list, NULL,
			"tp_getset") || !list)
		return;
	for (int k = 0; k < ND_MAX_MEMBERS && t->n < ND_MAX_MEMBERS; k++) {
		uint64_t name, get;
		int64_t off;
		if (nd_read(w->c, list + (uint64_t)(k * P->getset_size), def,
			    (size_t)P->getset_size, NULL, "a type's getters"))
			return;
		memcpy(&name, def, 8);
		memcpy(&get, def + P->getset_get, 8);
		if (!name)
			return;
		if (get && nd_read(w->c, get, code, sizeof(code), NULL,
				   "a getter") == 0 &&
		    nd_field_getter(code, sizeof(code), &off) && off < 1 << 20) {
			add_member(w, name, off);
			t->n = (uint32_t)(w->nm - t->first);
		}
	}
}

/* The object members (T_OBJECT, T_OBJECT_EX: __slots__ and C members) of
 * every type of type's MRO, but the module dicts functions keep (their
 * modules are roots already) and a module's __dict__ (its attributes are
 * followed as such). */
static void members(struct nd_refs *w, uint64_t type, struct tinfo *t)
{
	const struct nd_pylayout *P = w->c->py;
	uint64_t mro, types[64];
	size_t ntypes = 0;
	unsigned char def[64];

	t->first = (uint32_t)w->nm;
	if (P->member_size > (int)sizeof(def) ||
	    nd_read_u64(w->c, type + (uint64_t)P->tp_mro, &mro, NULL, "tp_mro") ||
	    !mro || nd_py_tuple(w->c, mro, types, 64, &ntypes, NULL))
		ntypes = 0;
	for (size_t i = 0; i < ntypes; i++) {
		uint64_t list;
		getters(w, types[i], t);
		if (nd_read_u64(w->c, types[i] + (uint64_t)P->tp_members, &list,
				NULL, "tp_members") || !list)
			continue;
		for (int k = 0; k < ND_MAX_MEMBERS && t->n < ND_MAX_MEMBERS;
		     k++) {
			uint64_t name;
			int32_t kind;
			int64_t off;
			if (nd_read(w->c, list + (uint64_t)(k * P->member_size),
				    def, (size_t)P->member_size, NULL,
				    "a type's members"))
				break;
			memcpy(&name, def + P->member_name, 8);
			memcpy(&kind, def + P->member_type, 4);
			memcpy(&off, def + P->member_offset, 8);
			if (!name)
				break;
			char s[16];
			if ((kind != T_OBJECT && kind != T_OBJECT_EX) || off < 16 ||
			    off > 1 << 20 ||
			    (nd_read_cstr(w->c, name, s, sizeof(s), NULL,
					  "member name") == 0 &&
			     (!strcmp(s, "__globals__") ||
			      !strcmp(s, "__builtins__") ||
			      !strcmp(s, "__dict__"))))
				continue;
			add_member(w, name, off);
			t->n = (uint32_t)(w->nm - t->first);
		}
	}
}

static const struct tinfo *type_info(struct nd_refs *w, uint64_t type)
{
	struct nd_ctx *c = w->c;
	struct tinfo *t = slot(w, type);
	uint64_t flags;
	int64_t dictoffset = 0;
	bool array = false;

	if (t->type)
		return t;
	if (nd_py_type_flags(c, type, &flags, NULL))
		return NULL;
	if (2 * (w->used + 1) > w->cap) {
		if (!grow(w))
			return NULL;
		t = slot(w, type);
	}
	*t = (struct tinfo){.type = type, .kind = K_PLAIN,
			    .heap = flags & ND_TPFLAGS_HEAPTYPE};
	w->used++;
	nd_read(c, type + (uint64_t)c->py->tp_dictoffset, &dictoffset, 8, NULL,
		"tp_dictoffset");
	t->attrs = dictoffset != 0 || (c->py->tpflags_managed_dict &&
				       (flags & c->py->tpflags_managed_dict));
	if ((flags & (ND_TPFLAGS_LONG | ND_TPFLAGS_UNICODE |
		      ND_TPFLAGS_BYTES)) && !(flags & ND_TPFLAGS_HEAPTYPE))
		t->kind = K_LEAF;
	else if (flags & ND_TPFLAGS_DICT)
		t->kind = K_DICT;
	else if (flags & ND_TPFLAGS_LIST)
		t->kind = K_LIST;
	else if (flags & ND_TPFLAGS_TUPLE)
		t->kind = K_TUPLE;
	else if (c->array_type &&
		 nd_py_is_subtype(c, type, c->array_type, &array, NULL) == 0 &&
		 array)
		t->kind = K_ARRAY;
	else if (!(flags & ND_TPFLAGS_TYPE))
		t->kind = (uint8_t)named_kind(c, type);
	/* a module's attributes are its dict's entries, read as such */
	if (t->kind == K_MODULE)
		t->attrs = false;
	if (t->kind != K_LEAF)
		members(w, type, t);
	return t;
}

struct emit {
	nd_ref_fn fn;
	void *arg;
	struct nd_refs *w;
};

static const struct tinfo *type_info(struct nd_refs *w, uint64_t type);

/* A dict's entry: its value [KEY]; its key too, where it is an object
 * that may hold others (not a str, int, bytes). */
static int emit_value(void *arg, uint64_t key, uint64_t value)
{
	const struct emit *m = arg;
	const struct tinfo *t;
	uint64_t type;
	int rc = value ? m->fn(m->arg, value,
			       (struct nd_step){key, ND_STEP_KEY}) : 0;

	if (!rc && key && nd_py_header(m->w->c, key, NULL, &type, NULL) == 0 &&
	    (t = type_info(m->w, type)) && t->kind != K_LEAF)
		rc = m->fn(m->arg, key, (struct nd_step){key, ND_STEP_MEMBER});
	return rc;
}

static int emit_attr(void *arg, uint64_t key, uint64_t value)
{
	const struct emit *m = arg;

	return value ? m->fn(m->arg, value,
			     (struct nd_step){key, ND_STEP_ATTR_STR}) : 0;
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

	if (nd_read_u64(w->c, obj + (uint64_t)w->c->py->ob_size, &len, NULL,
			"deque") ||
	    nd_read_u64(w->c, obj + DEQUE_LEFTBLOCK, &block, NULL, "deque") ||
	    nd_read_u64(w->c, obj + DEQUE_LEFTINDEX, &idx, NULL, "deque") ||
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
	const struct emit *m = arg;

	return m->fn(m->arg, target,
		     (struct nd_step){step.payload, ND_STEP_GEN_LOCAL});
}

static int gen_locals(struct nd_refs *w, uint64_t obj, nd_ref_fn fn,
		      void *arg)
{
	const struct nd_pylayout *P = w->c->py;
	struct emit m = {fn, arg, w};
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
	return nd_frame_locals(w, frame, code, gen_local, &m);
}

static int container(struct nd_refs *w, const struct tinfo *t, uint64_t obj,
		     nd_ref_fn fn, void *arg)
{
	const struct nd_pylayout *P = w->c->py;
	struct emit m = {fn, arg, w};
	struct nd_err e = {0};
	uint64_t n, at, v;
	int rc;

	switch (t->kind) {
	case K_DICT:
		rc = nd_py_dict_foreach(w->c, obj, emit_value, &m, &e);
		w->cut |= rc < 0 && e.code == ND_ELIMIT;
		return rc > 0 ? 1 : 0;
	case K_LIST:
		if (nd_read_u64(w->c, obj + (uint64_t)P->ob_size, &n, NULL,
				"list") ||
		    nd_read_u64(w->c, obj + (uint64_t)P->list_items, &at, NULL,
				"list"))
			return 0;
		return items(w, at, n, 8, ND_STEP_INDEX, fn, arg);
	case K_TUPLE:
		if (nd_read_u64(w->c, obj + (uint64_t)P->ob_size, &n, NULL,
				"tuple"))
			return 0;
		return items(w, obj + (uint64_t)P->tuple_item, n, 8,
			     ND_STEP_INDEX, fn, arg);
	case K_SET:
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
	case K_DEQUE:
		return deque_items(w, obj, fn, arg);
	case K_CELL:
		if (nd_read_u64(w->c, obj + (uint64_t)P->cell_ref, &v, NULL,
				"cell") || !v)
			return 0;
		return fn(arg, v, (struct nd_step){N_CELL, ND_STEP_ATTR_FIXED});
	case K_FUNC:
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
	case K_ARRAY:
		return array_refs(w, obj, fn, arg);
	case K_GEN:
		return gen_locals(w, obj, fn, arg);
	case K_MODULE:
		if (nd_read_u64(w->c, obj + (uint64_t)P->module_dict, &v, NULL,
				"module dict") || !v)
			return 0;
		return nd_py_dict_foreach(w->c, v, emit_attr, &m, NULL) > 0
			       ? 1 : 0;
	}
	return 0;
}

int nd_refs_of(struct nd_refs *w, uint64_t obj, nd_ref_fn fn, void *arg)
{
	uint64_t type;
	const struct tinfo *t;
	struct emit m = {fn, arg, w};
	int rc;

	if (nd_py_header(w->c, obj, NULL, &type, NULL) ||
	    !(t = type_info(w, type)) || t->kind == K_LEAF)
		return 0;
	if ((rc = container(w, t, obj, fn, arg)))
		return rc;
	if (t->heap &&
	    (rc = fn(arg, type, (struct nd_step){N_CLASS, ND_STEP_ATTR_FIXED})))
		return rc;
	if (t->attrs && (rc = nd_py_attrs_foreach(w->c, obj, emit_attr, &m,
						  NULL)) > 0)
		return rc;
	for (uint32_t i = 0; i < t->n; i++) {
		const struct member *mb = &w->m[t->first + i];
		uint64_t v;
		if (!nd_read_u64(w->c, obj + (uint64_t)mb->offset, &v, NULL,
				 "member") && v &&
		    (rc = fn(arg, v, (struct nd_step){mb->name,
						      ND_STEP_ATTR_CSTR})))
			return rc;
	}
	return 0;
}

bool nd_refs_cut(const struct nd_refs *w)
{
	return w->cut;
}

struct nd_ctx *nd_refs_ctx(struct nd_refs *w)
{
	return w->c;
}
