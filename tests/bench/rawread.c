/* Baselines for ndspy's benchmarks, each the best of N passes in seconds:
 *   rawread PID ADDR LEN [N]    one process_vm_readv pass over a range of
 *                               another process, 1 MiB chunks into a reused
 *                               buffer: as fast as the kernel copies
 *   rawread --write FILE LEN [N]  LEN bytes from a hot buffer into a new
 *                               file: what the page cache takes
 *   rawread --maps PID [N]      one pass over every private writable
 *                               mapping of PID (what `ndspy list` scans);
 *                               prints seconds and bytes
 *   rawread --core FILE [N]     one pread pass over the bytes of every
 *                               PT_LOAD segment of a core file; prints
 *                               seconds and bytes */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <stdbool.h>
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

/* The mappings `ndspy list` scans: private, writable, not [vdso] etc. */
static int maps_pass(pid_t pid, char *buf, uint64_t *bytes)
{
	char path[64], line[4096];

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	*bytes = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		char perms[5], name[4096] = "";
		if (sscanf(line, "%llx-%llx %4s %*s %*s %*s %4095s", &lo, &hi,
			   perms, name) < 3)
			continue;
		int special = name[0] == '[' && strcmp(name, "[heap]") &&
			      strncmp(name, "[stack", 6) && strncmp(name, "[anon", 5);
		if (perms[0] != 'r' || perms[1] != 'w' || perms[3] != 'p' ||
		    special)
			continue;
		if (read_pass(pid, lo, hi - lo, buf)) {
			fclose(f);
			return -1;
		}
		*bytes += hi - lo;
	}
	fclose(f);
	return 0;
}

static int core_pass(const char *path, char *buf, uint64_t *bytes)
{
	Elf64_Ehdr eh;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || pread(fd, &eh, sizeof(eh), 0) != sizeof(eh)) {
		perror(path);
		return -1;
	}
	*bytes = 0;
	for (int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) !=
		    sizeof(ph))
			return -1;
		if (ph.p_type != PT_LOAD)
			continue;
		for (uint64_t off = 0; off < ph.p_filesz; off += CHUNK) {
			size_t n = ph.p_filesz - off < CHUNK ? (size_t)(ph.p_filesz - off)
							     : CHUNK;
			if (pread(fd, buf, n, (off_t)(ph.p_offset + off)) != (ssize_t)n) {
				perror("pread");
				return -1;
			}
		}
		*bytes += ph.p_filesz;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	int writing = argc > 1 && strcmp(argv[1], "--write") == 0;

	bool maps = argc >= 3 && strcmp(argv[1], "--maps") == 0;
	if (maps || (argc >= 3 && strcmp(argv[1], "--core") == 0)) {
		char *buf = malloc(CHUNK);
		int passes = argc > 3 ? atoi(argv[3]) : 5;
		double best = 1e9;
		uint64_t bytes = 0;
		for (int p = 0; p < passes; p++) {
			double t0 = now();
			if (maps ? maps_pass((pid_t)atoi(argv[2]), buf, &bytes)
				 : core_pass(argv[2], buf, &bytes))
				return 1;
			if (now() - t0 < best)
				best = now() - t0;
		}
		printf("%.6f %llu\n", best, (unsigned long long)bytes);
		return 0;
	}

	if (argc < 4) {
		fprintf(stderr, "usage: rawread PID ADDR LEN [N]\n"
				"       rawread --write FILE LEN [N]\n"
				"       rawread --maps PID [N]\n"
				"       rawread --core FILE [N]\n");
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
