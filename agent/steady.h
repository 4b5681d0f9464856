/* Reading one array of a target that keeps running (--no-pause), so that
 * what is reported is one state of it, never half of two. The one place
 * show and list do this:
 *
 * an attempt reads the array through the snapshot; then its header, dims
 * and strides are read again from the target as it is now. If they moved
 * (resized, reshaped, rebound, freed), what the attempt read is forgotten
 * and it is made again, a few times at most. A failed attempt may be
 * such a change too: it is retried, and it is the object's own failure
 * (garbage) only when it fails the same way (code and address) on the
 * same raw bytes twice in a row. A target that holds still (paused, a
 * core) is read once. */
#ifndef NDSPY_STEADY_H
#define NDSPY_STEADY_H

#include <stdbool.h>
#include <stdint.h>

#include "../decode/ndarray.h"

/* Attempts per array before it counts as changing too fast to report. */
#define STEADY_TRIES 3

struct steady {
	bool running;     /* false: the target holds still, one attempt */
	struct nd_ctx now; /* reads the target as it is now, past the
			    * snapshot (used only when running) */
	/* forgets what an attempt read of the array a (a->addr, and a->raw
	 * where its header was read), before the next attempt reads it again */
	void (*forget)(void *arg, const struct nd_array *a);
	void *forget_arg;
};

/* What to forget (arg: the snapshot read through): everything, or only
 * the array's own header, dims and strides. */
void steady_forget_all(void *snapshot, const struct nd_array *a);
void steady_forget_array(void *snapshot, const struct nd_array *a);

/* One attempt: reads the array (through the snapshot) into a, which it
 * leaves to the caller to free; 0, or -1 with err set (a->addr still says
 * which address was tried). */
typedef int (*steady_fn)(void *arg, struct nd_array *a, struct nd_err *err);

enum steady_result {
	STEADY_READ,    /* a holds one state of the array */
	STEADY_FAILED,  /* err: the object's own failure */
	STEADY_CHANGED, /* it changed on each of at most tries attempts */
};

/* Attempts until one state is read (at most tries times; *attempts says
 * how many were made). a is freed and cleared between attempts. */
enum steady_result steady_read(struct steady *st, steady_fn fn,
			       void *arg, int tries, struct nd_array *a,
			       struct nd_err *err, int *attempts);

#endif
