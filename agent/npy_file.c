#define _GNU_SOURCE
#include "npy_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../decode/npy.h"
#include "freeze.h"
#include "spool.h"

#define COPY_CHUNK (8u << 20)
#define RING_CHUNK (256u << 10) /* stays in L2 between the two copies */
#define RING_MIN (4u << 20)     /* below this a thread is not worth it */

static void progress(struct npy_file *f)
{
	uint64_t t = now_ns();

	if (!f->progress || t - f->t0_ns < 1000000000ULL ||
	    t - f->last_progress_ns < 100000000ULL)
		return;
	f->last_progress_ns = t;
	fprintf(stderr, "\rsaving %s: %llu / %llu MiB", f->out.path,
		(unsigned long long)(f->written >> 20),
		(unsigned long long)(f->total >> 20));
}

static int sink_write(void *ctx, const void *buf, size_t len)
{
	struct npy_file *f = ctx;

	if (write_all(f->out.fd, buf, len)) {
		f->err = errno;
		return -1;
	}
	f->written += len;
	progress(f);
	return 0;
}

/* The write() path: one process_vm_readv and one write per chunk. */
static int copy_by_write(struct npy_file *f, uint64_t addr, size_t len)
{
	char *buf = malloc(len < COPY_CHUNK ? (len ? len : 1) : COPY_CHUNK);

	if (!buf)
		return -ENOMEM;
	for (size_t off = 0; off < len;) {
		size_t n = len - off < COPY_CHUNK ? len - off : COPY_CHUNK;
		int rc = f->mem->read(f->mem, addr + off, buf, n);
		if (rc) {
			free(buf);
			return rc;
		}
		if (sink_write(f, buf, n)) {
			free(buf);
			return -EIO;
		}
		off += n;
	}
	free(buf);
	return 0;
}

#define RING 8

/* A reader thread fills a ring of L2-sized buffers with process_vm_readv
 * while this thread writes them out: the two copies overlap on two cores. */
struct ring {
	struct npy_file *f;
	uint64_t src;
	size_t len;
	char *buf[RING];
	size_t n[RING];
	int full[RING]; /* 1 filled, 0 free; -errno when the read failed */
	int stop;       /* the writer gave up */
};

/* Spins a little (the other side is usually a chunk away), then yields,
 * then sleeps, so that a stalled writer does not burn a core. */
static void wait_while(int *flag, int value, int *stop)
{
	for (unsigned spins = 0;
	     __atomic_load_n(flag, __ATOMIC_ACQUIRE) == value &&
	     !__atomic_load_n(stop, __ATOMIC_ACQUIRE);
	     spins++) {
		if (spins > 100000) {
			struct timespec ts = {0, 50000};
			nanosleep(&ts, NULL);
		} else if (spins > 1000) {
			sched_yield();
		}
	}
}

static void *ring_reader(void *arg)
{
	struct ring *r = arg;
	size_t off = 0;

	for (int i = 0; off < r->len; i = (i + 1) % RING) {
		wait_while(&r->full[i], 1, &r->stop);
		if (__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE))
			break;
		size_t n = r->len - off < RING_CHUNK ? r->len - off : RING_CHUNK;
		int rc = r->f->mem->read(r->f->mem, r->src + off, r->buf[i], n);
		r->n[i] = n;
		__atomic_store_n(&r->full[i], rc ? rc : 1, __ATOMIC_RELEASE);
		if (rc)
			break;
		off += n;
	}
	return NULL;
}

static int copy_by_ring(struct npy_file *f, uint64_t addr, size_t len)
{
	struct ring r = {.f = f, .src = addr, .len = len};
	pthread_t th;
	int rc = 0;
	char *mem = malloc((size_t)RING * RING_CHUNK);

	if (!mem)
		return 1;
	for (int i = 0; i < RING; i++)
		r.buf[i] = mem + (size_t)i * RING_CHUNK;
	/* signals are handled on this thread, where the cleanup runs */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int failed = pthread_create(&th, NULL, ring_reader, &r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (failed) {
		free(mem);
		return 1;
	}
	size_t off = 0;
	for (int i = 0; off < len && !rc; i = (i + 1) % RING) {
		wait_while(&r.full[i], 0, &r.stop);
		int state = __atomic_load_n(&r.full[i], __ATOMIC_ACQUIRE);
		if (state < 0)
			rc = state;
		else if (sink_write(f, r.buf[i], r.n[i]))
			rc = -EIO;
		off += r.n[i];
		__atomic_store_n(&r.full[i], 0, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	free(mem);
	return rc;
}

static int sink_copy(void *ctx, uint64_t addr, size_t len)
{
	struct npy_file *f = ctx;

	/* reserving the blocks up front spares ext4 work per page */
	if (len >= RING_MIN)
		fallocate(f->out.fd, FALLOC_FL_KEEP_SIZE, (off_t)f->written,
			  (off_t)len);
	int rc = len >= RING_MIN ? copy_by_ring(f, addr, len) : 1;
	return rc == 1 ? copy_by_write(f, addr, len) : rc;
}

static int io_error(struct npy_file *f, int err, struct nd_err *e)
{
	/* say which file and why, not just that the sink failed */
	nd_err_clear(e);
	return nd_fail(e, ND_EIO, "cannot write %.200s: %s", f->out.path,
		       strerror(err));
}

int npy_file_save(struct npy_file *f, struct nd_ctx *c, struct mem *mem,
		  const struct nd_array *a, struct nd_err *e)
{
	struct nd_sink sink = {.write = sink_write, .copy = sink_copy, .ctx = f};

	f->mem = mem;
	f->total = (uint64_t)a->nbytes;
	f->t0_ns = now_ns();
	int rc = nd_npy_write(c, a, &sink, e);
	if (f->last_progress_ns)
		fputc('\n', stderr);
	return rc && e && e->code == ND_EIO ? io_error(f, f->err, e) : rc;
}

int npy_file_create(struct npy_file *f, const char *path, struct nd_err *e)
{
	memset(f, 0, sizeof(*f));
	f->progress = isatty(2);
	return outfile_create(&f->out, path, e);
}

int npy_file_finish(struct npy_file *f, struct nd_err *e)
{
	return outfile_finish(&f->out, e);
}

void npy_file_abort(struct npy_file *f)
{
	outfile_abort(&f->out);
}
