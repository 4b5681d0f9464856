/* An opened target: its memory, its map, and what runs in it. */
#ifndef NDSPY_TARGET_H
#define NDSPY_TARGET_H

#include <stdbool.h>
#include <sys/types.h>

#include "../decode/ctx.h"
#include "../decode/format.h"
#include "maps.h"
#include "mem.h"
#include "runtime.h"

struct core;

/* Where a core's files are when it is read on another machine. */
struct target_opts {
	const char *sysroot; /* prefix for every path the core names */
	const char *exe;     /* the executable, wherever it is now */
	bool numpy_optional; /* stacks: Python is enough */
};

struct target {
	pid_t pid;         /* a live process; 0 for a core */
	pid_t task;        /* live: the thread whose view of it we use */
	struct core *core; /* a core file; NULL for a live process */
	char name[4200];   /* "process 1234" or "core PATH": starts messages */
	char exe[4200];    /* the executable's path as mapped */
	bool numpy_optional;
	struct maps maps;
	struct mem *mem;
	struct runtime rt;
	struct nd_ctx ctx;
};

/* Checks TARGET without touching it: a PID (all digits) or a core file's
 * path (anything else); ND_EUSAGE if it can be neither. */
int target_parse(const char *spec, struct nd_err *e);
/* cache_pages: how many pages of small reads to keep (show: 512; list,
 * which decodes again after the pause from what it read: many). */
int target_open(const char *spec, const struct target_opts *o,
		size_t cache_pages, struct target *t, struct nd_err *e);
/* Reads the memory map again: once the target is paused, the map a scan
 * covers must be the one of that moment, not of when it was opened. A
 * core's map never changes. */
int target_reread_maps(struct target *t, struct nd_err *e);
void target_close(struct target *t);
/* TARGET for the commands that need a live process (watch, audit): a PID
 * that is a process, not one of its threads (probes filter by process). */
int target_parse_live(const char *cmd, const char *spec, struct nd_err *e);
/* Whether process pid is gone or a zombie (no memory left to read). */
bool target_exited(pid_t pid);
/* The mapping holding addr, in the decoder's terms. */
void target_region(const struct target *t, uint64_t addr,
		   struct nd_region *out);

#endif
