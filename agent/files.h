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

/* A path in the target's view (e.g. a sibling of a mapped file) to one we
 * can open: prefix is whatever made the mapped file reachable. */
void target_path(const char *resolved_mapped, const char *mapped_path,
		 const char *want, char *out, size_t cap);

#endif
