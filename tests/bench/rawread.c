/* The baseline for ndspy's benchmarks: one process_vm_readv pass over a
 * range of another process, in 1 MiB chunks into a reused buffer, as fast
 * as the kernel copies. Prints the best time of N passes in seconds.
 *   rawread PID ADDR LEN [N] */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <time.h>

#define CHUNK (1u << 20)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: rawread PID ADDR LEN [N]\n");
		return 2;
	}
	pid_t pid = (pid_t)atoi(argv[1]);
	uint64_t addr = strtoull(argv[2], NULL, 0);
	uint64_t len = strtoull(argv[3], NULL, 0);
	int passes = argc > 4 ? atoi(argv[4]) : 5;
	char *buf = malloc(CHUNK);
	double best = 1e9;

	for (int p = 0; p < passes; p++) {
		double t0 = now();
		for (uint64_t off = 0; off < len; off += CHUNK) {
			size_t n = len - off < CHUNK ? (size_t)(len - off) : CHUNK;
			struct iovec l = {buf, n};
			struct iovec r = {(void *)(uintptr_t)(addr + off), n};
			if (process_vm_readv(pid, &l, 1, &r, 1, 0) != (ssize_t)n) {
				perror("process_vm_readv");
				return 1;
			}
		}
		double t = now() - t0;
		if (t < best)
			best = t;
	}
	printf("%.6f\n", best);
	return 0;
}
