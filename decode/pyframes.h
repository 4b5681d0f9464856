/* The Python stack of every thread of every interpreter: their thread
 * states, each one's chain of frames, and for each frame the code object's
 * file, function and current line. */
#ifndef ND_PYFRAMES_H
#define ND_PYFRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "ctx.h"

#define ND_MAX_PYTHREADS 4096 /* of all interpreters */
#define ND_MAX_PYFRAMES 4096 /* frames of one thread */

struct nd_pyframe {
	uint64_t frame, code;
	const char *file, *name;
	const char *qualname; /* 3.11+; NULL before */
	int line;             /* -1 where the code has no line there */
	/* the outermost frame that one call of the evaluation loop runs:
	 * the frames from the previous such frame (or the newest) up to this
	 * one belong to one native _PyEval_EvalFrameDefault frame */
	bool eval_entry;
	/* 3.12+: for an eval_entry frame, the frame the loop call pushed
	 * below it (a local of _PyEval_EvalFrameDefault, so on the native
	 * stack of that call); 0 where unknown */
	uint64_t shim;
};

struct nd_pythread {
	uint64_t tstate;
	int64_t interp_id; /* its interpreter's id: 0 for the main one */
	bool main_interp;
	uint64_t thread_id; /* pthread_self(): the thread's fs base on x86-64 */
	struct nd_pyframe *f; /* newest first */
	size_t n;
	struct nd_err err;  /* why the chain stops early, if it does */
};

struct nd_pystacks {
	struct nd_pythread *t; /* the main interpreter's first */
	size_t n;
	struct nd_arena arena;
	struct nd_err err; /* why the thread list was cut short, if it was */
};

/* Walks every interpreter's threads from _PyRuntime (runtime), the main
 * interpreter's first. A frame
 * that cannot be read ends its thread's chain (recorded in that thread's
 * err), not the whole walk. Free with nd_py_stacks_free() whatever the
 * result. */
int nd_py_stacks(struct nd_ctx *c, uint64_t runtime, struct nd_pystacks *out,
		 struct nd_err *e);
void nd_py_stacks_free(struct nd_pystacks *s);

#endif
