/* Reading CPython objects of the target: headers, types, and the few builtin
 * objects the decoder needs (tuple, int, float, str, bytes; dicts are in
 * pydict.h). Each function checks what it reads and fails with a message
 * rather than trusting it. */
#ifndef ND_PYOBJ_H
#define ND_PYOBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctx.h"
#include "read.h"

/* tp_flags bits that identify builtin base classes (stable 3.9-3.15). */
#define ND_TPFLAGS_READY (1UL << 12)
#define ND_TPFLAGS_LONG (1UL << 24)
#define ND_TPFLAGS_LIST (1UL << 25)
#define ND_TPFLAGS_TUPLE (1UL << 26)
#define ND_TPFLAGS_BYTES (1UL << 27)
#define ND_TPFLAGS_UNICODE (1UL << 28)
#define ND_TPFLAGS_DICT (1UL << 29)
#define ND_TPFLAGS_TYPE (1UL << 31)
#define ND_TPFLAGS_HEAPTYPE (1UL << 9)

/* Bytes of the largest object header up to ob_type's end (free-threaded). */
#define ND_PYHEADER_MAX 32

/* The object's refcount and type, with sanity checks on both. */
int nd_py_header(struct nd_ctx *c, uint64_t obj, int64_t *refcnt,
		 uint64_t *type, struct nd_err *e);
/* tp_name of a type object (cached per type address). */
int nd_py_type_name(struct nd_ctx *c, uint64_t type, const char **name,
		    struct nd_err *e);
int nd_py_type_flags(struct nd_ctx *c, uint64_t type, uint64_t *flags,
		     struct nd_err *e);
/* Whether type is base or derives from it (tp_base chain, bounded). */
int nd_py_is_subtype(struct nd_ctx *c, uint64_t type, uint64_t base,
		     bool *yes, struct nd_err *e);
/* Type name of obj for messages; "" if unreadable. Never fails. */
void nd_py_describe(struct nd_ctx *c, uint64_t obj, char *out, size_t cap);

/* Whether obj is None (by its type's name, so no address is needed). */
bool nd_py_is_none(struct nd_ctx *c, uint64_t obj);

/* That obj's type carries flag, one of the builtin fast-subclass flags
 * (a kind, "tuple", for the message when it does not). */
int nd_py_check_kind(struct nd_ctx *c, uint64_t obj, uint64_t flag,
		     const char *kind, struct nd_err *e);

/* Items of a tuple (or tuple subclass); fails if more than max. */
int nd_py_tuple(struct nd_ctx *c, uint64_t obj, uint64_t *items, size_t max,
		size_t *n, struct nd_err *e);
/* A type's MRO (tp_mro: itself, then its bases in order); a type with
 * more than ND_MAX_MRO of them, or none readable, fails. */
#define ND_MAX_MRO 64
int nd_py_mro(struct nd_ctx *c, uint64_t type, uint64_t *out, size_t *n);
/* A Python int that fits in int64. */
int nd_py_long(struct nd_ctx *c, uint64_t obj, int64_t *v, struct nd_err *e);
int nd_py_float(struct nd_ctx *c, uint64_t obj, double *v, struct nd_err *e);
/* A str as UTF-8 (at most cap-1 bytes; longer strings fail with ND_ELIMIT).
 * out is NUL-terminated; len (if not NULL) counts embedded NULs too. */
int nd_py_str(struct nd_ctx *c, uint64_t obj, char *out, size_t cap,
	      size_t *len, struct nd_err *e);

/* A bytes object's contents (at most cap bytes, else ND_ELIMIT). */
int nd_py_bytes(struct nd_ctx *c, uint64_t obj, void *out, size_t cap,
		size_t *len, struct nd_err *e);

/* The value of a simple object (an element of an object array, a field
 * title), for printing: None, bool, int (64-bit), float, str, or just its
 * type. Pointers refer to storage the filler owns. */
/* ND_PY_BIGINT: an int past 64 bits, its decimal digits in s */
enum nd_pykind { ND_PY_UNREADABLE, ND_PY_NONE, ND_PY_BOOL, ND_PY_INT,
		 ND_PY_BIGINT, ND_PY_FLOAT, ND_PY_STR, ND_PY_BYTES,
		 ND_PY_OTHER };
struct nd_pyscalar {
	enum nd_pykind kind;
	const char *type; /* tp_name, for ND_PY_OTHER */
	int64_t i;
	double f;
	const char *s;    /* str: UTF-8; bytes: raw; slen bytes, NULs allowed */
	size_t slen;
};
/* nd_py_value's result and the storage behind it. */
struct nd_pyvalue {
	struct nd_pyscalar v;
	char type[128];
	char s[4096];
};
/* Reads obj; strings longer than 4 KiB come back as ND_PY_OTHER. */
void nd_py_value(struct nd_ctx *c, uint64_t obj, struct nd_pyvalue *out);

#endif
