#define _GNU_SOURCE
#include "freeze.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

#define STOP_TIMEOUT_NS (FREEZE_WAIT_MS * 1000000ULL)

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static bool known(const struct freeze *f, pid_t tid)
{
	for (int i = 0; i < f->n; i++)
		if (f->t[i].tid == tid)
			return true;
	return false;
}

/* A thread's "State:" letter and TracerPid, from /proc; 'X' if gone. */
static char thread_state(pid_t pid, pid_t tid, int *tracer)
{
	char path[96], line[128];
	char state = 'X';

	*tracer = 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid,
		 (int)tid);
	FILE *fp = fopen(path, "re");
	if (!fp)
		return 'X';
	while (fgets(line, sizeof(line), fp)) {
		if (strncmp(line, "State:", 6) == 0)
			sscanf(line + 6, " %c", &state);
		else if (strncmp(line, "TracerPid:", 10) == 0)
			*tracer = atoi(line + 10);
	}
	fclose(fp);
	return state;
}

/* PTRACE_SEIZE refuses threads that are exiting as if it lacked the
 * right, and threads we hold already (born while we seized, attached by
 * PTRACE_O_TRACECLONE): 1 for ours, 0 to skip, <0 for a real refusal. */
static int seize_refused(struct freeze *f, pid_t tid, int err)
{
	int tracer;
	char state = thread_state(f->pid, tid, &tracer);

	if (state == 'X' || state == 'Z')
		return 0;
	if (tracer == f->tracer_tid)
		return 1;
	if (tracer)
		return nd_fail(&f->err, ND_ETARGET,
			       "process %d: thread %d is already traced by "
			       "process %d (a debugger?); try --no-pause",
			       (int)f->pid, (int)tid, tracer);
	if (err == EPERM || err == EACCES)
		return nd_fail(&f->err, ND_ETARGET,
			       "process %d: permission denied to pause it "
			       "(needs CAP_SYS_PTRACE); try --no-pause",
			       (int)f->pid);
	return nd_fail(&f->err, ND_ETARGET, "process %d: cannot pause it: %s",
		       (int)f->pid, strerror(err));
}

/* Seizes threads not yet held; returns how many were new, or -1. */
static int seize_new(struct freeze *f)
{
	char path[64];
	struct dirent *de;
	int added = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)f->pid);
	DIR *d = opendir(path);
	if (!d) {
		nd_fail(&f->err, ND_ETARGET, "process %d: %s", (int)f->pid,
			errno == ENOENT ? "no such process" : strerror(errno));
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
				nd_fail(&f->err, ND_ENOMEM, "out of memory");
				closedir(d);
				return -1;
			}
			f->t = t;
			f->cap = cap;
		}
		/* threads it starts while paused are seized by the kernel */
		if (ptrace(PTRACE_SEIZE, tid, NULL,
			   (void *)(uintptr_t)PTRACE_O_TRACECLONE) != 0) {
			int why = errno == ESRCH ? 0 : seize_refused(f, tid, errno);
			if (why < 0) {
				closedir(d);
				return -1;
			}
			if (why == 0)
				continue;
		}
		f->t[f->n++] = (struct frozen_thread){.tid = tid};
		ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
		added++;
	}
	closedir(d);
	return added;
}

/* Collects the stop of thread i if it has one; false if still running. */
static bool collect(struct freeze *f, int i)
{
	int status;
	pid_t r = waitpid(f->t[i].tid, &status, __WALL | WNOHANG);

	if (r == 0)
		return false;
	if (r < 0 || WIFEXITED(status) || WIFSIGNALED(status)) {
		f->t[i].tid = 0; /* gone */
		return true;
	}
	/* a signal-delivery-stop: a signal arrived before our interrupt;
	 * hold it and give it back on detach */
	if (WIFSTOPPED(status) && (status >> 16) == 0)
		f->t[i].sig = WSTOPSIG(status);
	f->t[i].stopped = 1;
	f->t[i].have_regs = f->want_regs &&
			    ptrace(PTRACE_GETREGS, f->t[i].tid, NULL,
				   &f->t[i].regs) == 0;
	return true;
}

static void wait_stops(struct freeze *f)
{
	int pending = f->n;

	while (pending && now_ns() - f->t0_ns < STOP_TIMEOUT_NS) {
		pending = 0;
		for (int i = 0; i < f->n; i++)
			if (f->t[i].tid && !f->t[i].stopped && !collect(f, i))
				pending++;
		if (pending)
			usleep(50);
	}
	/* A thread stuck in the kernel stops when it returns; reading memory
	 * does not need it stopped, only consistency does. */
	f->not_stopped = pending;
	f->stopped_ns = now_ns();
}

/* Detaches the stopped threads with their held signals. The others (not
 * stopped yet, or born meanwhile) are detached by the kernel when this
 * thread exits. */
static void release(struct freeze *f)
{
	for (int i = 0; i < f->n; i++)
		if (f->t[i].tid && f->t[i].stopped)
			ptrace(PTRACE_DETACH, f->t[i].tid, NULL,
			       (void *)(uintptr_t)f->t[i].sig);
}

/* Seizes every thread: threads started while we seize are seized too, so
 * the list is read until it is stable. How many were new, or -1. */
static int seize_all(struct freeze *f)
{
	int total = 0;

	for (int round = 0; round < 100; round++) {
		int added = seize_new(f);
		if (added < 0)
			return -1;
		if (!added)
			break;
		total += added;
	}
	return total;
}

static void *tracer_main(void *arg)
{
	struct freeze *f = arg;
	char c = 0;

	f->tracer_tid = gettid();
	if (seize_all(f) >= 0)
		wait_stops(f);
	/* a thread that was inside clone() when it stopped finishes it: its
	 * child, born held (PTRACE_O_TRACECLONE), is one of the threads too */
	if (!f->err.code && seize_all(f) > 0)
		wait_stops(f);
	if (write(f->ready[1], &c, 1) < 0) {
		/* main thread gone: release at once */
	} else if (!f->err.code) {
		while (read(f->wake[0], &c, 1) < 0 && errno == EINTR)
			;
	}
	release(f);
	__atomic_store_n(&f->released, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* From a signal handler: ask the tracer to release, wait for it a little
 * (its exit, or ours, detaches whatever remains). */
static void release_from_signal(void *arg)
{
	struct freeze *f = arg;
	char c = 0;

	if (write(f->wake[1], &c, 1) < 0)
		return;
	for (int i = 0; i < 1000 && !__atomic_load_n(&f->released,
						     __ATOMIC_ACQUIRE); i++) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
}

int freeze_all(struct freeze *f, pid_t pid, bool regs, struct nd_err *e)
{
	sigset_t all, old;
	char c;

	memset(f, 0, sizeof(*f));
	f->pid = pid;
	f->want_regs = regs;
	f->cleanup = -1;
	f->ready[0] = f->ready[1] = f->wake[0] = f->wake[1] = -1;
	if (pipe2(f->ready, O_CLOEXEC) || pipe2(f->wake, O_CLOEXEC)) {
		thaw_all(f);
		return nd_fail(e, ND_ETARGET, "cannot pause: %s", strerror(errno));
	}
	f->t0_ns = now_ns();
	/* signals go to our other threads, never to the tracer */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&f->tracer, NULL, tracer_main, f);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		thaw_all(f);
		return nd_fail(e, ND_ETARGET, "cannot pause: %s", strerror(rc));
	}
	f->cleanup = cleanup_push(release_from_signal, f);
	while (read(f->ready[0], &c, 1) < 0 && errno == EINTR)
		;
	if (f->err.code) {
		int code = f->err.code;
		char msg[sizeof(f->err.msg)];
		memcpy(msg, f->err.msg, sizeof(msg));
		thaw_all(f);
		return nd_fail(e, code, "%s", msg);
	}
	return 0;
}

void thaw_all(struct freeze *f)
{
	char c = 0;

	if (!f->pid)
		return; /* never frozen */
	if (f->wake[1] >= 0 && f->tracer) {
		if (write(f->wake[1], &c, 1) < 0) {
			/* the tracer reads nothing: it exits anyway */
		}
		pthread_join(f->tracer, NULL);
		f->tracer = 0;
		f->pause_ns = now_ns() - f->t0_ns;
	}
	cleanup_pop(f->cleanup);
	f->cleanup = -1;
	for (int i = 0; i < 2; i++) {
		if (f->ready[i] >= 0)
			close(f->ready[i]);
		if (f->wake[i] >= 0)
			close(f->wake[i]);
		f->ready[i] = f->wake[i] = -1;
	}
	free(f->t);
	f->t = NULL;
	f->n = f->cap = 0;
}
