/* Every thread of a paused live process or of a core: registers, native
 * frames, and its Python thread. What `stacks` prints and `snapshot`
 * captures. */
#ifndef NDSPY_THREADS_H
#define NDSPY_THREADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../decode/err.h"
#include "../decode/pyframes.h"

#define THREAD_MAX_NATIVE 512 /* frames of one thread */
#define THREAD_MAX_SUBINTERP 8 /* other interpreters one thread is in */

/* One OS thread as read: native frames, its Python thread. */
struct thread {
	pid_t tid;
	bool main;
	uint64_t ips[THREAD_MAX_NATIVE], sps[THREAD_MAX_NATIVE];
	size_t n;
	struct nd_err err;
	/* in the nd_pystacks read with it: its main interpreter's thread
	 * state (NULL if none), and those it has in other interpreters */
	const struct nd_pythread *py;
	const struct nd_pythread *sub[THREAD_MAX_SUBINTERP];
	size_t nsub;
};

struct target;
struct freeze;

/* Reads every thread of t, between target_pause (with registers: fz) and
 * target_release; a core's threads need no fz. *out (free it) has *n of
 * them; ps (nd_py_stacks_free it) their Python stacks. What cannot be
 * read of the Python threads is said on stderr. */
int threads_read(struct target *t, const struct freeze *fz,
		 struct thread **out, size_t *n, struct nd_pystacks *ps,
		 struct nd_err *e);

/* The Python frames of th (as read with it) as t->frames, the roots of
 * frame:TID:N paths (N counts each thread's Python frames, 0 the
 * innermost). */
int threads_frames(struct target *t, const struct thread *th, size_t n,
		   struct nd_err *e);

/* threads_read, keeping only their frames as t->frames (show and why:
 * the roots of frame:TID:N paths). */
int threads_roots(struct target *t, const struct freeze *fz, struct nd_err *e);

#endif
