/* libFuzzer harness for the core-file reader (agent/core.c, mem_core.c)
 * and what reads through it: each input is written to a memfd and given
 * to `list`, `stacks` and `show` as a core, as a user would. Seeds are
 * real kernel and gdb cores trimmed by their coredump_filter to notes and
 * ELF headers (record.py); the files those name are read from this
 * machine, as ndspy reads them. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../agent/cli.h"

static int fd = -1;
static char path[64];

/* ndspy's crash handlers (agent/cleanup.c: release the target, then die)
 * must not hide a finding from the sanitizer. */
const char *__asan_default_options(void)
{
	return "allow_user_segv_handler=0:handle_abort=1";
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fd = memfd_create("ndspy-fuzz-core", 0);
	if (fd < 0) {
		perror("memfd_create");
		exit(1);
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	/* what the commands print is not the point */
	if (!freopen("/dev/null", "w", stdout)) {
		perror("/dev/null");
		exit(1);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	char list[] = "list", stacks[] = "stacks", show[] = "show";
	char json[] = "--json", name[] = "__main__.a";
	char *list_argv[] = {list, json, path, NULL};
	char *stacks_argv[] = {stacks, path, NULL};
	char *show_argv[] = {show, path, name, NULL};

	if (ftruncate(fd, 0) || pwrite(fd, d, n, 0) != (ssize_t)n)
		abort();
	cmd_list(3, list_argv);
	cmd_stacks(2, stacks_argv);
	cmd_show(3, show_argv);
	return 0;
}
