/* Choosing where in a function a uprobe goes. */
#ifndef NDSPY_PLACEMENT_H
#define NDSPY_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct placement {
	uint32_t offset;  /* from the function's start; 0 at the entry */
	bool at_entry;    /* no better place: the slow way */
	char insn[192];   /* the instruction probed (when not at the entry) */
	char why[256];    /* for --verbose: what decided */
};

/* code: the function's first bytes; nargs: how many of its arguments the
 * probe reads (from rdi, rsi, rdx, ...). 0, or -1 if the decoder cannot
 * start. */
int probe_place(const uint8_t *code, size_t len, int nargs,
		struct placement *out);

#endif
