/* Baselines for ndspy's benchmarks, each the best of N passes in seconds:
 *   rawread PID ADDR LEN [N]    one process_vm_readv pass over a range of
 *                               another process, 1 MiB chunks into a reused
 *                               buffer: as fast as the kernel copies
 *   rawread --write FILE LEN [N]  LEN bytes from a hot buffer into a new
 *                               file: what the page cache takes */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1u << 20)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int read_pass(pid_t pid, uint64_t addr, uint64_t len, char *buf)
{
	for (uint64_t off = 0; off < len; off += CHUNK) {
		size_t n = len - off < CHUNK ? (size_t)(len - off) : CHUNK;
		struct iovec l = {buf, n};
		struct iovec r = {(void *)(uintptr_t)(addr + off), n};
		if (process_vm_readv(pid, &l, 1, &r, 1, 0) != (ssize_t)n) {
			perror("process_vm_readv");
			return -1;
		}
	}
	return 0;
}

static int write_pass(const char *path, uint64_t len, char *buf)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0) {
		perror(path);
		return -1;
	}
	for (uint64_t off = 0; off < len; off += CHUNK) {
		size_t n = len - off < CHUNK ? (size_t)(len - off) : CHUNK;
		if (write(fd, buf, n) != (ssize_t)n) {
			perror("write");
			close(fd);
			return -1;
		}
	}
	close(fd);
	unlink(path);
	return 0;
}

int main(int argc, char **argv)
{
	int writing = argc > 1 && strcmp(argv[1], "--write") == 0;

	if (argc < 4) {
		fprintf(stderr, "usage: rawread PID ADDR LEN [N]\n"
				"       rawread --write FILE LEN [N]\n");
		return 2;
	}
	uint64_t len = strtoull(argv[3], NULL, 0);
	int passes = argc > 4 ? atoi(argv[4]) : 5;
	char *buf = malloc(CHUNK);
	double best = 1e9;

	memset(buf, 0x5a, CHUNK);
	for (int p = 0; p < passes; p++) {
		double t0 = now();
		int rc = writing ? write_pass(argv[2], len, buf)
				 : read_pass((pid_t)atoi(argv[1]),
					     strtoull(argv[2], NULL, 0), len, buf);
		if (rc)
			return 1;
		double t = now() - t0;
		if (t < best)
			best = t;
	}
	printf("%.6f\n", best);
	return 0;
}
