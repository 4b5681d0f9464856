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
#include "cleanup.h"
#include "freeze.h"
#include "spool.h"

#define COPY_CHUNK (8u << 20)
#define RING_CHUNK (256u << 10) /* stays in L2 between the two copies */
#define RING_MIN (4u << 20)     /* below this a thread is not worth it */

static void unlink_tmp(void *path)
{
	unlink(path);
}

/* Where np.save's open(path, "wb") would write: through symlinks, also
 * dangling ones (to the file they name). */
static void destination(const char *path, char *out, size_t cap)
{
	char real[PATH_MAX], link[PATH_MAX];
	struct stat st;

	if (realpath(path, real)) {
		snprintf(out, cap, "%s", real);
		return;
	}
	ssize_t n = lstat(path, &st) == 0 && S_ISLNK(st.st_mode)
			    ? readlink(path, link, sizeof(link) - 1)
			    : -1;
	if (n <= 0) {
		snprintf(out, cap, "%s", path);
		return;
	}
	link[n] = '\0';
	const char *slash = strrchr(path, '/');
	size_t dir = link[0] == '/' || !slash ? 0 : (size_t)(slash - path + 1);
	if (dir + (size_t)n >= cap) {
		snprintf(out, cap, "%s", path); /* too long to resolve */
		return;
	}
	memcpy(out, path, dir);
	memcpy(out + dir, link, (size_t)n + 1);
}

int npy_file_create(struct npy_file *f, const char *path, struct nd_err *e)
{
	struct stat st;
	bool exists;

	memset(f, 0, sizeof(*f));
	f->fd = f->dest = f->cleanup = -1;
	f->progress = isatty(2);
	destination(path, f->path, sizeof(f->path));
	exists = stat(f->path, &st) == 0;
	if (exists && S_ISDIR(st.st_mode))
		return nd_fail(e, ND_EUSAGE, "cannot write %s: Is a directory",
			       path);
	if (exists && !S_ISREG(st.st_mode)) {
		/* a device or a pipe: written in place, never replaced, and
		 * only after the pause, since it may not keep up */
		f->dest = open(f->path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
		f->fd = f->dest >= 0 ? spool_open() : -1;
		if (f->fd < 0) {
			int err = errno;
			npy_file_abort(f);
			return nd_fail(e, ND_EUSAGE, "cannot write %s: %s", path,
				       strerror(err));
		}
		return 0;
	}
	/* a regular file appears only when complete, as a rename */
	snprintf(f->tmp, sizeof(f->tmp), "%s.ndspy-XXXXXX", f->path);
	f->fd = mkostemp(f->tmp, O_CLOEXEC);
	if (f->fd < 0) {
		int err = errno;
		f->tmp[0] = '\0';
		return nd_fail(e, ND_EUSAGE, "cannot write %s: %s", path,
			       strerror(err));
	}
	f->cleanup = cleanup_push(unlink_tmp, f->tmp);
	if (exists) {
		/* replacing a file keeps its owner and mode, as np.save's
		 * in-place truncation would */
		fchmod(f->fd, st.st_mode & 07777);
		if (fchown(f->fd, st.st_uid, st.st_gid) != 0) {
			/* not ours to give away: keep our ownership */
		}
	} else {
		/* the mode np.save's open() would give: 0666 less the umask */
		mode_t mask = umask(0);
		umask(mask);
		fchmod(f->fd, 0666 & ~mask);
	}
	return 0;
}

static void progress(struct npy_file *f)
{
	uint64_t t = now_ns();

	if (!f->progress || t - f->t0_ns < 1000000000ULL ||
	    t - f->last_progress_ns < 100000000ULL)
		return;
	f->last_progress_ns = t;
	fprintf(stderr, "\rsaving %s: %llu / %llu MiB", f->path,
		(unsigned long long)(f->written >> 20),
		(unsigned long long)(f->total >> 20));
}

static int sink_write(void *ctx, const void *buf, size_t len)
{
	struct npy_file *f = ctx;

	if (write_all(f->fd, buf, len)) {
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
		fallocate(f->fd, FALLOC_FL_KEEP_SIZE, (off_t)f->written,
			  (off_t)len);
	int rc = len >= RING_MIN ? copy_by_ring(f, addr, len) : 1;
	return rc == 1 ? copy_by_write(f, addr, len) : rc;
}

static int io_error(struct npy_file *f, int err, struct nd_err *e)
{
	/* say which file and why, not just that the sink failed */
	nd_err_clear(e);
	return nd_fail(e, ND_EIO, "cannot write %.200s: %s", f->path,
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

int npy_file_finish(struct npy_file *f, struct nd_err *e)
{
	if (f->dest >= 0) {
		off_t size = lseek(f->fd, 0, SEEK_END);
		if (size < 0 || spool_copy(f->fd, 0, (size_t)size, f->dest))
			return io_error(f, errno, e);
	} else {
		int fd = f->fd;
		f->fd = -1;
		if (close(fd) != 0 || rename(f->tmp, f->path) != 0)
			return io_error(f, errno, e);
		f->tmp[0] = '\0';
	}
	npy_file_abort(f); /* closes what is left; nothing to remove */
	return 0;
}

void npy_file_abort(struct npy_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	if (f->dest >= 0)
		close(f->dest);
	f->fd = f->dest = -1;
	if (f->tmp[0])
		unlink(f->tmp);
	f->tmp[0] = '\0';
	cleanup_pop(f->cleanup);
	f->cleanup = -1;
}
