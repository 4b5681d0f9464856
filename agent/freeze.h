/* Stopping every thread of a target for a consistent snapshot, and always
 * letting it go again. All ptrace work happens on a tracer thread of our
 * own: when it exits, the kernel detaches whatever it still traces (a
 * thread that never reached its stop, one born meanwhile), so nothing can
 * stay stopped after the release; on a signal or a crash the release runs
 * first and ndspy's death detaches the rest. */
#ifndef NDSPY_FREEZE_H
#define NDSPY_FREEZE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "../decode/err.h"

/* How long a thread may take to stop before it is left running. */
#define FREEZE_WAIT_MS 100

struct frozen_thread {
	pid_t tid;
	int sig;      /* signal caught in signal-delivery-stop, re-sent on thaw */
	int stopped;
	bool have_regs;
	struct user_regs_struct regs; /* when asked for: where it stopped */
};

struct freeze {
	pid_t pid;
	struct frozen_thread *t;
	int n, cap;
	uint64_t t0_ns, pause_ns; /* when seizing began, and how long from
				   * then until the release */
	uint64_t stopped_ns;      /* when the last thread was seen stopped
				   * (or the wait for it ended) */
	int not_stopped;          /* threads that did not stop in time */
	bool want_regs;           /* read each stopped thread's registers */
	/* the tracer thread and how we talk to it */
	pthread_t tracer;
	pid_t tracer_tid;
	int ready[2], wake[2];    /* pipes: frozen / time to release */
	int released;             /* set by the tracer when done */
	struct nd_err err;        /* why freezing failed */
	int cleanup;              /* slot releasing us on a signal */
};

/* Seizes and interrupts all threads, waiting (bounded) until each stops;
 * with regs, also reads the registers of each (only the tracer may). */
int freeze_all(struct freeze *f, pid_t pid, bool regs, struct nd_err *e);
/* Lets every thread go; safe to call twice, and on a zeroed struct. */
void thaw_all(struct freeze *f);

uint64_t now_ns(void);

#endif
