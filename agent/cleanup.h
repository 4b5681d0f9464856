/* The one owner of ndspy's signal handlers. What must happen even if
 * ndspy is interrupted or crashes runs from them: releasing a paused
 * target, removing a half-written file. Callbacks run from the signal
 * handler, so they may only make async-signal-safe calls. Long commands
 * (watch, audit) ask instead for SIGINT and SIGTERM to only be noted, so
 * that they end cleanly with their report. */
#ifndef NDSPY_CLEANUP_H
#define NDSPY_CLEANUP_H

#include <signal.h>
#include <stdbool.h>

typedef void (*cleanup_fn)(void *arg);

/* Registers fn(arg) to run on SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE and
 * on crashes; returns a slot for cleanup_pop(). */
int cleanup_push(cleanup_fn fn, void *arg);
/* Forgets the callback (it has been run normally, or is no longer needed). */
void cleanup_pop(int slot);
/* In a callback: the signal being handled. */
int cleanup_signal(void);

/* From now on SIGINT and SIGTERM (and SIGHUP, with hangup) set
 * cleanup_stop_requested and end nothing, and SIGPIPE is ignored (a
 * write fails instead); the callbacks still run on the other signals,
 * and on crashes. */
void cleanup_catch_stop(bool hangup);
extern volatile sig_atomic_t cleanup_stop_requested;

#endif
