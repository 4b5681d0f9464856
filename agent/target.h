/* An opened target: its memory, its map, and what runs in it. */
#ifndef NDSPY_TARGET_H
#define NDSPY_TARGET_H

#include <sys/types.h>

#include "../decode/ctx.h"
#include "../decode/format.h"
#include "maps.h"
#include "mem.h"
#include "runtime.h"

struct target {
	pid_t pid;
	struct maps maps;
	struct mem *mem;
	struct runtime rt;
	struct nd_ctx ctx;
};

/* Parses TARGET (a PID) without touching the process; ND_EUSAGE if it is
 * not one. */
int target_parse(const char *spec, pid_t *pid, struct nd_err *e);
/* cache_pages: how many pages of small reads to keep (show: 512; list,
 * which decodes again after the pause from what it read: many). */
int target_open(pid_t pid, size_t cache_pages, struct target *t,
		struct nd_err *e);
/* Reads the memory map again: once the target is paused, the map a scan
 * covers must be the one of that moment, not of when it was opened. */
int target_reread_maps(struct target *t, struct nd_err *e);
void target_close(struct target *t);
/* The mapping holding addr, in the decoder's terms. */
void target_region(const struct target *t, uint64_t addr,
		   struct nd_region *out);

#endif
