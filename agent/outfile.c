/* A file ndspy writes (--save's .npy, snapshot's core): a regular file
 * appears only when complete, written beside it and renamed into place; a
 * device or a pipe is written in place, through a spool, after the target
 * runs again (it may not keep up). */
#define _GNU_SOURCE
#include "outfile.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "spool.h"

static int fail(struct outfile *f, int err, struct nd_err *e)
{
	nd_err_clear(e);
	return nd_fail(e, ND_EIO, "cannot write %.200s: %s", f->path,
		       strerror(err));
}

static void unlink_tmp(void *path)
{
	unlink(path);
}

/* Where open(path, "wb") would write: through symlinks, also dangling
 * ones (to the file they name). */
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

int outfile_create(struct outfile *f, const char *path, struct nd_err *e)
{
	struct stat st;
	bool exists;

	memset(f, 0, sizeof(*f));
	f->fd = f->dest = f->cleanup = -1;
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
			outfile_abort(f);
			return nd_fail(e, ND_EUSAGE, "cannot write %s: %s", path,
				       strerror(err));
		}
		return 0;
	}
	/* a regular file appears only when complete, as a rename; a signal
	 * between its creation and its cleanup's registration would leave
	 * it: they wait until both are done */
	sigset_t stop, old;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	sigaddset(&stop, SIGQUIT);
	sigprocmask(SIG_BLOCK, &stop, &old);
	snprintf(f->tmp, sizeof(f->tmp), "%s.ndspy-XXXXXX", f->path);
	f->fd = mkostemp(f->tmp, O_CLOEXEC);
	if (f->fd < 0) {
		int err = errno;
		f->tmp[0] = '\0';
		sigprocmask(SIG_SETMASK, &old, NULL);
		return nd_fail(e, ND_EUSAGE, "cannot write %s: %s", path,
			       strerror(err));
	}
	f->cleanup = cleanup_push(unlink_tmp, f->tmp);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (exists) {
		/* replacing a file keeps its owner and mode, as an
		 * in-place truncation (np.save's) would */
		fchmod(f->fd, st.st_mode & 07777);
		if (fchown(f->fd, st.st_uid, st.st_gid) != 0) {
			/* not ours to give away: keep our ownership */
		}
	} else {
		/* the mode open() would give: 0666 less the umask */
		mode_t mask = umask(0);
		umask(mask);
		fchmod(f->fd, 0666 & ~mask);
	}
	return 0;
}

int outfile_finish(struct outfile *f, struct nd_err *e)
{
	if (f->dest >= 0) {
		off_t size = lseek(f->fd, 0, SEEK_END);
		if (size < 0 || spool_copy(f->fd, 0, (size_t)size, f->dest))
			return fail(f, errno, e);
	} else {
		int fd = f->fd;
		f->fd = -1;
		if (close(fd) != 0 || rename(f->tmp, f->path) != 0)
			return fail(f, errno, e);
		f->tmp[0] = '\0';
	}
	outfile_abort(f); /* closes what is left; nothing to remove */
	return 0;
}

void outfile_abort(struct outfile *f)
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
