/* Files as ndspy opens and reads them: never blocking on a FIFO, never a
 * device a target planted, inside a root when asked, read in full. */
#ifndef NDSPY_FILEIO_H
#define NDSPY_FILEIO_H

#include <stddef.h>
#include <stdint.h>

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

#endif
