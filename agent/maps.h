/* The target's memory map (/proc/PID/maps), sorted by address, and what kind
 * of memory each region is. */
#ifndef NDSPY_MAPS_H
#define NDSPY_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../decode/err.h"

enum region_kind { R_ANON, R_HEAP, R_STACK, R_FILE, R_OTHER };

struct region {
	uint64_t start, end, offset;
	char perms[5];
	unsigned dev_major, dev_minor;
	uint64_t inode;
	enum region_kind kind;
	char *path; /* NULL for anonymous memory; "[vdso]" etc. for R_OTHER */
	bool deleted;
};

struct maps {
	struct region *r;
	size_t n;
};

int maps_read(pid_t pid, struct maps *m, struct nd_err *e);
int maps_parse(const char *text, struct maps *m, struct nd_err *e);
void maps_free(struct maps *m);
/* The region holding addr, or NULL. */
const struct region *maps_find(const struct maps *m, uint64_t addr);
const char *region_kind_name(enum region_kind k);
/* Whether scans read a region: private, writable, not a kernel page. */
bool region_scanned(const struct region *r);

#endif
