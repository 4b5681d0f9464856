#include "reftypes.h"

#include <stdlib.h>
#include <string.h>

#include "pyobj.h"

#define T_OBJECT 6
#define T_OBJECT_EX 16

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

static struct nd_tinfo *slot(struct nd_refs *w, uint64_t type)
{
	size_t i = (size_t)(type >> 3) * 0x9e3779b97f4a7c15ull & (w->cap - 1);

	while (w->t[i].type && w->t[i].type != type)
		i = (i + 1) & (w->cap - 1);
	return &w->t[i];
}

static bool grow(struct nd_refs *w)
{
	struct nd_tinfo *old = w->t;
	size_t n = w->cap;
	struct nd_tinfo *t = calloc(2 * n, sizeof(*t));

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
static enum nd_kind named_kind(struct nd_ctx *c, uint64_t type)
{
	static const struct {
		const char *name;
		enum nd_kind k;
	} names[] = {{"set", ND_K_SET},	   {"frozenset", ND_K_SET},
		     {"cell", ND_K_CELL},	   {"function", ND_K_FUNC},
		     {"collections.deque", ND_K_DEQUE}, {"module", ND_K_MODULE},
		     {"generator", ND_K_GEN},  {"coroutine", ND_K_GEN},
		     {"async_generator", ND_K_GEN}};

	for (int depth = 0; type && depth < 32; depth++) {
		const char *name;
		uint64_t flags;
		if (nd_py_type_name(c, type, &name, NULL) ||
		    nd_py_type_flags(c, type, &flags, NULL))
			return ND_K_PLAIN;
		bool named = !(flags & ND_TPFLAGS_HEAPTYPE) || strchr(name, '.');
		for (size_t i = 0;
		     named && i < sizeof(names) / sizeof(names[0]); i++)
			if (strcmp(name, names[i].name) == 0)
				return names[i].k;
		if (nd_read_u64(c, type + (uint64_t)c->py->tp_base, &type, NULL,
				"tp_base"))
			return ND_K_PLAIN;
	}
	return ND_K_PLAIN;
}

static void add_member(struct nd_refs *w, uint64_t name, int64_t offset)
{
	if (w->nm == w->mcap) {
		size_t cap = w->mcap ? 2 * w->mcap : 256;
		struct nd_member *m = realloc(w->m, cap * sizeof(*m));
		if (!m)
			return;
		w->m = m;
		w->mcap = cap;
	}
	w->m[w->nm++] = (struct nd_member){name, offset};
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
static void getters(struct nd_refs *w, uint64_t type, struct nd_tinfo *t)
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
static void members(struct nd_refs *w, uint64_t type, struct nd_tinfo *t)
{
	const struct nd_pylayout *P = w->c->py;
	uint64_t types[ND_MAX_MRO];
	size_t ntypes = 0;
	unsigned char def[64];

	t->first = (uint32_t)w->nm;
	if (P->member_size > (int)sizeof(def) ||
	    nd_py_mro(w->c, type, types, &ntypes))
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
			if ((kind != T_OBJECT && kind != T_OBJECT_EX) ||
			    off < nd_header_size(P) ||
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

const struct nd_tinfo *nd_type_info(struct nd_refs *w, uint64_t type)
{
	struct nd_ctx *c = w->c;
	struct nd_tinfo *t = slot(w, type);
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
	*t = (struct nd_tinfo){.type = type, .kind = ND_K_PLAIN,
			    .heap = flags & ND_TPFLAGS_HEAPTYPE};
	w->used++;
	nd_read(c, type + (uint64_t)c->py->tp_dictoffset, &dictoffset, 8, NULL,
		"tp_dictoffset");
	t->attrs = dictoffset != 0 || (c->py->tpflags_managed_dict &&
				       (flags & c->py->tpflags_managed_dict));
	if ((flags & (ND_TPFLAGS_LONG | ND_TPFLAGS_UNICODE |
		      ND_TPFLAGS_BYTES)) && !(flags & ND_TPFLAGS_HEAPTYPE))
		t->kind = ND_K_LEAF;
	else if (flags & ND_TPFLAGS_DICT)
		t->kind = ND_K_DICT;
	else if (flags & ND_TPFLAGS_LIST)
		t->kind = ND_K_LIST;
	else if (flags & ND_TPFLAGS_TUPLE)
		t->kind = ND_K_TUPLE;
	else if (c->array_type &&
		 nd_py_is_subtype(c, type, c->array_type, &array, NULL) == 0 &&
		 array)
		t->kind = ND_K_ARRAY;
	else if (!(flags & ND_TPFLAGS_TYPE))
		t->kind = (uint8_t)named_kind(c, type);
	/* a module's attributes are its dict's entries, read as such */
	if (t->kind == ND_K_MODULE)
		t->attrs = false;
	if (t->kind != ND_K_LEAF)
		members(w, type, t);
	return t;
}
