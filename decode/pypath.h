/* Paths as Python writes them (DESIGN.md's grammar): the text of one step
 * of decode/refs.h, from the objects it names. */
#ifndef ND_PYPATH_H
#define ND_PYPATH_H

#include <stdint.h>

#include "buf.h"
#include "ctx.h"
#include "refs.h"

/* Appends step s, which leads from parent to target, to b: ".NAME",
 * "[INT]", "[I, J]" (an object array's element, unravelled by parent's
 * shape), "[KEY]" (Python's repr of a str, bytes, int, float, bool or None
 * key; "{0xADDR}" for any other), "{0xADDR}" (a set member), or a module
 * root's name. A frame root is the caller's to write (it knows the
 * thread's id): -1, as for anything that cannot be read. */
int nd_path_step(struct nd_ctx *c, struct nd_step s, uint64_t parent,
		 uint64_t target, struct nd_buf *b);

/* Follows the steps of text (".NAME", "[INT]", "[KEY]", "[I, J]",
 * "{0xADDR}", as nd_path_step writes them; a str key may be given in
 * double quotes, spaces outside quotes do not count) from obj: each step
 * is the reference of obj that nd_path_step would write so, or for .NAME
 * an attribute of obj's class (its MRO's dicts). done names what was
 * followed so far, for messages. */
int nd_path_follow(struct nd_ctx *c, uint64_t obj, const char *text,
		   const char *done, uint64_t *out, struct nd_err *e);

/* MODULE.NAME then steps to the object it names, from the interpreter at
 * runtime (&_PyRuntime): the longest prefix that is in sys.modules, the
 * global, then nd_path_follow. */
int nd_py_resolve(struct nd_ctx *c, uint64_t runtime, const char *path,
		  uint64_t *obj, struct nd_err *e);

/* A frame root: frame:TID:N names frame (with its code object). */
struct nd_frame_root {
	uint64_t frame, code;
	int tid, n;
};
/* The roots of one thread's Python frames (py, named tid): py->n of them
 * into out, N counting from 0, the innermost; how many. */
struct nd_pythread;
size_t nd_frame_roots(const struct nd_pythread *py, int tid,
		      struct nd_frame_root *out);
/* frame:TID:N.NAME... to the object it names, among frames. */
int nd_path_frame(struct nd_ctx *c, const struct nd_frame_root *frames,
		  size_t nframes, const char *path, uint64_t *out,
		  struct nd_err *e);

#endif
