#define _GNU_SOURCE
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int spool_open(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4200];

	if (!dir || !*dir)
		dir = "/tmp";
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	snprintf(path, sizeof(path), "%s/ndspy-spool-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int spool_copy(int from, long off, size_t len, int to)
{
	char buf[1 << 16];

	while (len) {
		ssize_t n = pread(from, buf, len < sizeof(buf) ? len : sizeof(buf),
				  off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		if (write_all(to, buf, (size_t)n))
			return -1;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}
