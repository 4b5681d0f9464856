/* A source of target memory: a live process (mem_live.c) or a core file
 * (mem_core.c). */
#ifndef NDSPY_MEM_H
#define NDSPY_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../decode/err.h"

struct mem_iov {
	uint64_t addr;
	void *buf;
	size_t len;
	int status; /* 0 read in full, or -errno */
};

struct mem {
	/* 0 when all len bytes were read, -EFAULT (or -errno) otherwise */
	int (*read)(struct mem *m, uint64_t addr, void *buf, size_t len);
	/* Reads many ranges in as few calls as possible; each iov gets its
	 * own status. Returns the number read in full. */
	size_t (*readv)(struct mem *m, struct mem_iov *iov, size_t n);
	void (*close)(struct mem *m);
	/* Optional (NULL: copy with read): the len bytes at addr in place,
	 * valid until close, or NULL when they are not all in one piece. */
	const void *(*view)(struct mem *m, uint64_t addr, size_t len);
	/* Optional (NULL: all of a mapping may be): the first range [*lo,
	 * *hi) at or after addr, below end, that it holds bytes of; false
	 * when none. A core holds what its segments dumped, a snapshot file
	 * what was captured: scans skip the rest. */
	bool (*present)(struct mem *m, uint64_t addr, uint64_t end, uint64_t *lo,
			uint64_t *hi);
	const char *how; /* "process_vm_readv" or "/proc/PID/mem" */
};

/* probe_addr: an address known to be readable, used to find out whether
 * process_vm_readv is allowed or /proc/PID/mem must serve instead. */
int mem_live_open(pid_t pid, uint64_t probe_addr, struct mem **out,
		  struct nd_err *e);


/* A readv for sources without a batched read: each range read with
 * m->read. */
size_t mem_readv_each(struct mem *m, struct mem_iov *iov, size_t n);

/* The decoder's read callbacks over a mem. */
int mem_read_cb(void *ctx, uint64_t addr, void *buf, size_t len);
struct nd_iov;
int mem_readv_cb(void *ctx, struct nd_iov *iov, size_t n);

#endif
