/* What must happen even if ndspy is interrupted or crashes: releasing a
 * paused target, removing a half-written file. Callbacks run from the
 * signal handler, so they may only make async-signal-safe calls. */
#ifndef NDSPY_CLEANUP_H
#define NDSPY_CLEANUP_H

typedef void (*cleanup_fn)(void *arg);

/* Registers fn(arg) to run on SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE and
 * on crashes; returns a slot for cleanup_pop(). */
int cleanup_push(cleanup_fn fn, void *arg);
/* Forgets the callback (it has been run normally, or is no longer needed). */
void cleanup_pop(int slot);
/* In a callback: the signal being handled. */
int cleanup_signal(void);

#endif
