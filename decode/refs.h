/* The references one object holds, each as the step of a path that
 * Python itself would write to follow it (decode/pypath.h prints them):
 * dict entries [KEY], list, tuple and deque items [INT], object-array
 * elements [I, J], attributes .NAME (instance __dict__, managed dict or
 * inline values; __slots__ and C members of every type of the MRO; class
 * and module dicts, function attributes), .__defaults__, .__kwdefaults__,
 * .cell_contents, an array's .base, an object's .__class__ where it is a
 * class of the program, a suspended generator's or coroutine's locals
 * (.gi_frame.f_locals['NAME']); and set members and dict keys, which
 * Python cannot name, as {0xADDR}. A C type's getter is followed where its machine code
 * is a field load and nothing else (Cython's public attributes: pandas'
 * BlockManager.blocks); what a C type keeps otherwise (tp_traverse only,
 * computed getters) is not followed. */
#ifndef ND_REFS_H
#define ND_REFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctx.h"

enum nd_step_kind {
	ND_STEP_ATTR_STR,   /* .NAME; payload: the name, a str object */
	ND_STEP_ATTR_CSTR,  /* .NAME; payload: a C string's address */
	ND_STEP_ATTR_FIXED, /* .NAME; payload: an index in nd_step_names */
	ND_STEP_INDEX,      /* [INT]; payload: the index */
	ND_STEP_FLAT,       /* [I, J, ...] of an object array; payload: the
			     * C-order index, unravelled by its shape */
	ND_STEP_KEY,        /* [KEY]; payload: the key object */
	ND_STEP_MEMBER,     /* {0xADDR}: the step's target itself (a set
			     * member, a dict's key object) */
	ND_STEP_GEN_LOCAL,  /* .gi_frame.f_locals['NAME'] (cr_, ag_ for
			     * coroutines, async generators); payload: the
			     * name, a str object */
	ND_STEP_MODULE,     /* a root: payload is sys.modules' key (a str) */
	ND_STEP_FRAME,      /* a root: payload is thread << 32 | frame */
};

struct nd_step {
	uint64_t payload;
	uint8_t kind;
};

extern const char *const nd_step_names[];

/* Limits: members of a type's MRO, items of one container followed. */
#define ND_MAX_MEMBERS 256
#define ND_MAX_REFS (1u << 24)

/* Whether the n bytes of a getter's code (x86-64) load its object's field
 * and return it, increfed, and nothing else: the field's offset. */
bool nd_field_getter(const unsigned char *code, size_t n, int64_t *offset);

struct nd_refs;
struct nd_refs *nd_refs_new(struct nd_ctx *c);
void nd_refs_free(struct nd_refs *w);

/* Calls fn(arg, target, step) for each reference obj holds (0 targets
 * left out); stops when fn returns non-zero and returns that. An object
 * that cannot be read holds nothing: 0. */
typedef int (*nd_ref_fn)(void *arg, uint64_t target, struct nd_step step);
int nd_refs_of(struct nd_refs *w, uint64_t obj, nd_ref_fn fn, void *arg);
/* fn with its argument; nd_ref_attr, an nd_dict_fn over it, passes each
 * (name, value) entry of a dict on as a .NAME step. */
struct nd_ref_sink {
	nd_ref_fn fn;
	void *arg;
};
int nd_ref_attr(void *sink, uint64_t name, uint64_t value);
/* Whether obj is a cell (of the builtin type); its content into *content
 * (0 when empty or unreadable). */
bool nd_refs_cell(struct nd_refs *w, uint64_t obj, uint64_t *content);
/* Whether a container was larger than the limits (ND_MAX_REFS items,
 * ND_MAX_DICT entries): what it holds past them was not given. */
bool nd_refs_cut(const struct nd_refs *w);

/* The locals of a frame (as decode/pyframes.h gives it: the
 * frame and its code object) as .NAME steps: fast locals, cells and free
 * variables (the object a cell holds), the entries of its locals dict. */
#define ND_MAX_LOCALS 4096
int nd_frame_locals(struct nd_refs *w, uint64_t frame, uint64_t code,
		    nd_ref_fn fn, void *arg);

#endif
