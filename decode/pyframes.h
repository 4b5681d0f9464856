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
#define ND_MAX_INTERPS 256
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

/* A frame as the watch probe copies it in the kernel: its code object
 * (tag bits cleared), its instruction field as it is (f_lasti for 3.9 and
 * 3.10, the instruction pointer from 3.11) and its owner (3.11+). */
struct nd_rawframe {
	uint64_t code, instr;
	uint8_t owner;
};

/* Code objects already named, with what they held then: a frame of one
 * costs a single read while the object is unchanged, and an object freed
 * and its memory reused is named again, never from the old entry. */
struct nd_codecache;
struct nd_codecache *nd_codecache_new(void);
void nd_codecache_free(struct nd_codecache *cc);

/* Names raw frame r and finds its line, as tracemalloc would record it:
 * 0 with *f filled (names copied into a); 1 when r is no Python
 * function's frame (a shim, one still setting up), which tracemalloc
 * skips too. */
int nd_py_frame_of(struct nd_ctx *c, struct nd_codecache *cc,
		   struct nd_arena *a, const struct nd_rawframe *r,
		   struct nd_pyframe *f, struct nd_err *e);

/* Walks the main interpreter's threads from _PyRuntime (runtime). A frame
 * that cannot be read ends its thread's chain (recorded in that thread's
 * err), not the whole walk. Free with nd_py_stacks_free() whatever the
 * result. */
int nd_py_stacks(struct nd_ctx *c, uint64_t runtime, struct nd_pystacks *out,
		 struct nd_err *e);
void nd_py_stacks_free(struct nd_pystacks *s);

#endif
