/* Native backtraces of a stopped thread (live) or a thread of a core. */
#ifndef NDSPY_UNWIND_H
#define NDSPY_UNWIND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/user.h>

#include "../decode/err.h"

struct target;

/* One per target: what it learns of the target's objects (unwind tables)
 * serves every thread. NULL when out of memory. */
struct unwinder;
struct unwinder *unwinder_new(const struct target *t);
void unwinder_free(struct unwinder *u);

/* The return addresses of the thread whose registers are regs, newest
 * first (ips[0] is where it is), at most max; sps[i] is the stack pointer
 * in frame i (its locals lie between sps[i] and sps[i + 1]). */
int unwind_thread(struct unwinder *u, const struct user_regs_struct *regs,
		  uint64_t *ips, uint64_t *sps, size_t max, size_t *n,
		  struct nd_err *e);

#endif
