/* Starting a command held before its exec, for `watch -- COMMAND`. */
#ifndef NDSPY_LAUNCH_H
#define NDSPY_LAUNCH_H

#include <sys/types.h>

#include "../decode/err.h"

/* The file defining PyTraceMalloc_Track that COMMAND will run. */
struct watch_file {
	char path[8400];
	int fd;
	void *elf; /* Elf * */
};

struct launch {
	pid_t pid; /* 0 once reaped */
	int go;    /* writing a byte lets it exec */
};

int launch_find_interpreter(const char *cmd, struct watch_file *f,
			    struct nd_err *e);
void launch_file_close(struct watch_file *f);
/* Forks; the child waits for launch_release() before exec'ing argv. */
int launch_held(char **argv, struct launch *l, struct nd_err *e);
void launch_release(struct launch *l);
/* The child exits without running the command; reaped. */
void launch_abort(struct launch *l);
/* 1 (and *status) when the child has exited, 0 if it still runs. */
int launch_reap(struct launch *l, int *status);

#endif
