#define _GNU_SOURCE
#include "freeze.h"

#include "cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STOP_TIMEOUT_NS (500 * 1000000ULL)

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Async-signal-safe: only syscalls. A thread that has not reached its stop
 * yet cannot be detached; give it a moment, then let the kernel's detach at
 * our exit release it. */
static void release(struct freeze *f)
{
	for (int i = 0; i < f->n; i++) {
		pid_t tid = f->t[i].tid;
		void *sig = (void *)(uintptr_t)f->t[i].sig;
		for (int tries = 0; tries < 200; tries++) {
			if (ptrace(PTRACE_DETACH, tid, NULL, sig) == 0 ||
			    errno != ESRCH)
				break;
			int status;
			if (waitpid(tid, &status, __WALL | WNOHANG) < 0 &&
			    errno == ECHILD)
				break; /* gone */
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
	}
	f->n = 0;
}

static void release_cb(void *arg)
{
	release(arg);
}

static bool known(const struct freeze *f, pid_t tid)
{
	for (int i = 0; i < f->n; i++)
		if (f->t[i].tid == tid)
			return true;
	return false;
}

/* Seizes threads not yet held; returns how many were new. */
static int seize_new(struct freeze *f, int *err)
{
	char path[64];
	struct dirent *de;
	int added = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)f->pid);
	DIR *d = opendir(path);
	if (!d) {
		*err = errno;
		return -1;
	}
	while ((de = readdir(d))) {
		pid_t tid = (pid_t)atoi(de->d_name);
		if (tid <= 0 || known(f, tid))
			continue;
		if (f->n == f->cap) {
			int cap = f->cap ? f->cap * 2 : 16;
			struct frozen_thread *t = realloc(f->t, (size_t)cap * sizeof(*t));
			if (!t) {
				*err = ENOMEM;
				closedir(d);
				return -1;
			}
			f->t = t;
			f->cap = cap;
		}
		if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) != 0) {
			if (errno == ESRCH)
				continue; /* exited meanwhile */
			*err = errno;
			closedir(d);
			return -1;
		}
		f->t[f->n++] = (struct frozen_thread){.tid = tid};
		ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
		added++;
	}
	closedir(d);
	return added;
}

/* Collects the stop of thread i; false if it has not stopped yet. */
static bool collect(struct freeze *f, int i)
{
	int status;
	pid_t r = waitpid(f->t[i].tid, &status, __WALL | WNOHANG);

	if (r == 0)
		return false;
	if (r < 0 || WIFEXITED(status) || WIFSIGNALED(status)) {
		/* gone: forget it */
		f->t[i] = f->t[--f->n];
		return true;
	}
	if (WIFSTOPPED(status) && (status >> 16) == 0 &&
	    WSTOPSIG(status) != SIGTRAP) {
		/* a signal arrived before our interrupt: hold it, give it
		 * back on detach */
		f->t[i].sig = WSTOPSIG(status);
	}
	return true;
}

int freeze_all(struct freeze *f, pid_t pid, struct nd_err *e)
{
	int err = 0;
	bool *stopped = NULL;

	memset(f, 0, sizeof(*f));
	f->pid = pid;
	f->cleanup = cleanup_push(release_cb, f);
	f->t0_ns = now_ns();
	/* threads started while we seize are not traced: list until stable */
	for (int round = 0; round < 100; round++) {
		int added = seize_new(f, &err);
		if (added < 0) {
			thaw_all(f);
			if (err == EPERM || err == EACCES)
				return nd_fail(e, ND_ETARGET,
					       "process %d: permission denied to "
					       "pause it (needs CAP_SYS_PTRACE; "
					       "is a debugger attached? try "
					       "--no-pause)",
					       (int)pid);
			return nd_fail(e, ND_ETARGET, "process %d: cannot pause it: %s",
				       (int)pid, strerror(err));
		}
		if (added == 0)
			break;
	}
	stopped = calloc((size_t)(f->n ? f->n : 1), sizeof(*stopped));
	int pending = f->n;
	while (pending > 0 && stopped && now_ns() - f->t0_ns < STOP_TIMEOUT_NS) {
		pending = 0;
		for (int i = 0; i < f->n; i++) {
			if (stopped[i])
				continue;
			int before = f->n;
			if (collect(f, i)) {
				if (f->n < before) {
					/* slot i now holds the last thread */
					stopped[i] = stopped[f->n];
					i--;
					continue;
				}
				stopped[i] = true;
			} else {
				pending++;
			}
		}
		if (pending)
			usleep(50);
	}
	/* A thread stuck in the kernel stops when it returns; reading memory
	 * does not need it stopped, only consistency does. */
	f->not_stopped = pending;
	free(stopped);
	return 0;
}

void thaw_all(struct freeze *f)
{
	cleanup_pop(f->cleanup);
	f->cleanup = -1;
	if (f->n)
		f->pause_ns = now_ns() - f->t0_ns;
	release(f);
	free(f->t);
	f->t = NULL;
	f->cap = 0;
}
