/* A snapshot: what ndspy read of a target, kept. While it is open, every
 * page a read touches is fetched whole from the source (later reads of it
 * cost no system call) and the 64-byte lines the read covers are kept
 * (within a byte budget). Once sealed, it serves only what it kept: a read
 * of anything else fails with -ENODATA ("not captured while paused") and
 * never reaches the source.
 *
 * A command opens it when the target is paused (or, with --no-pause, when
 * it starts reading), and seals it when the target runs again: all it
 * decodes and prints afterwards comes from what was read meanwhile. A
 * snapshot that stays open is a page cache of a running target, emptied
 * when its pages may be stale (watch naming frames). `ndspy snapshot`
 * writes the kept pages into a core file (snapshot_file.c). */
#ifndef NDSPY_SNAPSHOT_H
#define NDSPY_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem.h"

#define SNAPSHOT_PAGE 4096u
#define SNAPSHOT_LINE 64u
/* What a snapshot may keep unless told otherwise (--capture-max). */
#define SNAPSHOT_BUDGET (1ull << 30)

struct snapshot;

/* A snapshot of src (which must outlive it), open, keeping at most budget
 * bytes of pages; NULL when out of memory. */
struct snapshot *snapshot_new(struct mem *src, uint64_t budget);
void snapshot_free(struct snapshot *s);
/* Its reader: reads through it (decode/ reads the target through this). */
struct mem *snapshot_mem(struct snapshot *s);
/* A reader that reads as snapshot_mem does but keeps nothing (a guess
 * about a candidate that will not be printed). */
struct mem *snapshot_glance(struct snapshot *s);

/* Forgets everything and opens it again: what was kept may be stale (a
 * pause begins; a running target moved on). */
void snapshot_reset(struct snapshot *s);
/* Forgets the pages holding [addr, addr + len), all of their lines: they
 * are read again when next needed (only while open). */
void snapshot_forget(struct snapshot *s, uint64_t addr, size_t len);
/* From now on only what was kept is served. */
void snapshot_seal(struct snapshot *s);
bool snapshot_sealed(const struct snapshot *s);

/* Bytes kept, and whether a read found the budget spent (what it read
 * then was passed on, not kept). */
uint64_t snapshot_bytes(const struct snapshot *s);
uint64_t snapshot_budget(const struct snapshot *s);
bool snapshot_overflowed(const struct snapshot *s);

/* A run of kept bytes. */
struct snapshot_run {
	uint64_t addr, len;
};
/* The runs of what it kept, ascending (the caller frees *runs); -1 when
 * out of memory. */
int snapshot_runs(const struct snapshot *s, struct snapshot_run **runs,
		  size_t *n);
/* len kept bytes at addr into buf, whether sealed or not; -ENODATA where
 * it kept none. */
int snapshot_copy(const struct snapshot *s, uint64_t addr, void *buf,
		  size_t len);

#endif
