/* Opening the files a target has mapped, as the target sees them: through
 * /proc/PID/root (containers, mount namespaces) or by the path the kernel
 * shows us (chroots), checked against the inode in the maps line. */
#ifndef NDSPY_FILES_H
#define NDSPY_FILES_H

#include <stddef.h>
#include <sys/types.h>

#include "../decode/err.h"
#include "maps.h"

struct target;

/* Opens the file behind region r read-only; resolved receives the path that
 * worked. Fails with a message naming the file. A core's files come from
 * the core's view (--sysroot, --exe), checked against it. */
int target_file_open(const struct target *t, const struct region *r,
		     char *resolved,
		     size_t cap, int *fd, struct nd_err *e);

/* Opens path read-only only if it is a regular file, never blocking on a
 * FIFO or touching a device the target planted there. -errno on failure. */
int open_regular(const char *path);
/* The same for path taken inside root, as a chroot would take it: "..",
 * absolute paths and symlinks stay in root (openat2 RESOLVE_IN_ROOT). */
int open_in_root(const char *root, const char *path);

/* The part of path after its last '/'. */
const char *path_base(const char *path);

/* All len bytes at off, or -errno (-EFAULT past the end of the file). */
int pread_full(int fd, void *buf, size_t len, uint64_t off);

/* A path in the target's view (e.g. a sibling of a mapped file) to one we
 * can open: prefix is whatever made the mapped file reachable. */
void target_path(const char *resolved_mapped, const char *mapped_path,
		 const char *want, char *out, size_t cap);

#endif
