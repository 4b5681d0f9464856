/* Unnamed temporary files for what must be written while the target is
 * paused but delivered after (stdout or a pipe may not keep up). */
#ifndef NDSPY_SPOOL_H
#define NDSPY_SPOOL_H

#include <stddef.h>

/* An unlinked file in $TMPDIR (or /tmp); -1 with errno on failure. */
int spool_open(void);
/* Writes all of buf to fd; -1 with errno on failure. */
int write_all(int fd, const void *buf, size_t len);
/* Copies len bytes at off of from to the end of to; -1 with errno. */
int spool_copy(int from, long off, size_t len, int to);

#endif
