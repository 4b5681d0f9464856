/* process_vm_readv first: one syscall per batch, no file descriptor, no
 * stop needed. /proc/PID/mem when a seccomp policy or an LSM refuses it. */
#define _GNU_SOURCE
#include "mem.h"

#include "../decode/ctx.h"
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define BATCH 1024 /* IOV_MAX */

struct mem_live {
	struct mem m;
	pid_t pid;
	int fd; /* /proc/PID/mem, or -1 when process_vm_readv works */
};

static int live_read(struct mem *m, uint64_t addr, void *buf, size_t len)
{
	struct mem_live *l = (struct mem_live *)m;
	size_t done = 0;

	if (l->fd >= 0)
		return pread_full(l->fd, buf, len, addr);
	while (done < len) {
		struct iovec local = {(char *)buf + done, len - done};
		struct iovec remote = {(void *)(uintptr_t)(addr + done),
				       len - done};
		ssize_t n = process_vm_readv(l->pid, &local, 1, &remote, 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EFAULT;
		done += (size_t)n;
	}
	return 0;
}

/* process_vm_readv stops at the first range that fails; the ranges after
 * it are retried in the next call, the failed one alone is marked. */
static size_t live_readv(struct mem *m, struct mem_iov *iov, size_t n)
{
	struct mem_live *l = (struct mem_live *)m;
	struct iovec local[BATCH], remote[BATCH];
	size_t ok = 0;

	if (l->fd >= 0)
		return mem_readv_each(m, iov, n);
	for (size_t i = 0; i < n;) {
		size_t k = n - i < BATCH ? n - i : BATCH;
		for (size_t j = 0; j < k; j++) {
			local[j] = (struct iovec){iov[i + j].buf, iov[i + j].len};
			remote[j] = (struct iovec){
				(void *)(uintptr_t)iov[i + j].addr, iov[i + j].len};
		}
		ssize_t got = process_vm_readv(l->pid, local, k, remote, k, 0);
		if (got < 0 && errno == EINTR)
			continue;
		size_t left = got > 0 ? (size_t)got : 0;
		size_t j = 0;
		for (; j < k && left >= iov[i + j].len; j++) {
			left -= iov[i + j].len;
			iov[i + j].status = 0;
			ok++;
		}
		if (j < k) {
			/* the first failing range: retry it alone to tell a
			 * partial read from an unreadable start */
			struct mem_iov *f = &iov[i + j];
			f->status = live_read(m, f->addr, f->buf, f->len);
			ok += f->status == 0;
			j++;
		}
		i += j;
	}
	return ok;
}

static void live_close(struct mem *m)
{
	struct mem_live *l = (struct mem_live *)m;

	if (l->fd >= 0)
		close(l->fd);
	free(l);
}

int mem_live_open(pid_t pid, uint64_t probe_addr, struct mem **out,
		  struct nd_err *e)
{
	struct mem_live *l = calloc(1, sizeof(*l));
	char byte;

	if (!l)
		return nd_fail(e, ND_ENOMEM, "out of memory");
	l->m = (struct mem){.read = live_read, .readv = live_readv,
			    .close = live_close, .how = "process_vm_readv"};
	l->pid = pid;
	l->fd = -1;
	struct iovec local = {&byte, 1};
	struct iovec remote = {(void *)(uintptr_t)probe_addr, 1};
	/* NDSPY_MEM=procfs takes the fallback on purpose (tests, and
	 * kernels where process_vm_readv misbehaves) */
	const char *force = getenv("NDSPY_MEM");
	bool procfs = force && strcmp(force, "procfs") == 0;
	if (!procfs && process_vm_readv(pid, &local, 1, &remote, 1, 0) == 1) {
		*out = &l->m;
		return 0;
	}
	int err = procfs ? EPERM : errno;
	if (err == ESRCH) {
		free(l);
		return nd_fail(e, ND_ETARGET, "process %d: no such process",
			       (int)pid);
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	l->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (l->fd < 0 || pread(l->fd, &byte, 1, (off_t)probe_addr) != 1) {
		int err2 = errno;
		live_close(&l->m);
		if (err == EPERM || err2 == EACCES || err2 == EPERM)
			return nd_fail(e, ND_ETARGET,
				       "process %d: permission denied reading its "
				       "memory (needs root or CAP_SYS_PTRACE, and "
				       "ptrace must be allowed)",
				       (int)pid);
		return nd_fail(e, ND_ETARGET,
			       "process %d: cannot read its memory: %s",
			       (int)pid, strerror(err));
	}
	l->m.how = "/proc/PID/mem";
	*out = &l->m;
	return 0;
}
