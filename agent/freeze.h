/* Stopping every thread of a target for a consistent snapshot, and always
 * letting it go again: on success, on error, on SIGINT/SIGTERM/SIGHUP and on
 * ndspy's own crash. (If ndspy is SIGKILLed the kernel detaches for us.) */
#ifndef NDSPY_FREEZE_H
#define NDSPY_FREEZE_H

#include <stdint.h>
#include <sys/types.h>

#include "../decode/err.h"

struct frozen_thread {
	pid_t tid;
	int sig; /* signal caught in signal-delivery-stop, re-sent on thaw */
};

struct freeze {
	pid_t pid;
	struct frozen_thread *t;
	int n, cap;
	uint64_t t0_ns, pause_ns; /* when frozen, and for how long */
	int not_stopped;          /* threads that did not stop in time */
	int cleanup;              /* slot releasing us on a signal */
};

/* Seizes and interrupts all threads, waiting (bounded) until each stops. */
int freeze_all(struct freeze *f, pid_t pid, struct nd_err *e);
/* Detaches every thread; safe to call twice and from a signal handler. */
void thaw_all(struct freeze *f);

uint64_t now_ns(void);

#endif
