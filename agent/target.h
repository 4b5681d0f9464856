/* An opened target: its memory, its map, and what runs in it. */
#ifndef NDSPY_TARGET_H
#define NDSPY_TARGET_H

#include <stdbool.h>
#include <sys/types.h>

#include "../decode/ctx.h"
#include "../decode/format.h"
#include "../decode/pypath.h"
#include "maps.h"
#include "mem.h"
#include "runtime.h"
#include "snapshot.h"

struct core;
struct freeze;

/* Where a core's files are when it is read on another machine. */
struct target_opts {
	const char *sysroot; /* prefix for every path the core names */
	const char *exe;     /* the executable, wherever it is now */
	bool numpy_optional; /* stacks: Python is enough */
	uint64_t capture_max; /* the snapshot's budget; 0: SNAPSHOT_BUDGET */
};

struct target {
	pid_t pid;         /* a live process; 0 for a core */
	pid_t task;        /* live: the thread whose view of it we use */
	struct core *core; /* a core file; NULL for a live process */
	char name[4200];   /* "process 1234" or "core PATH": starts messages */
	char exe[4200];    /* the executable's path as mapped */
	bool numpy_optional;
	struct maps maps;
	struct mem *src;        /* the process or the core file */
	struct snapshot *snap;  /* what was read of it (snapshot.h) */
	struct mem *mem;        /* reads through snap: what decode/ reads */
	struct runtime rt;
	struct nd_ctx ctx;
	/* every thread's Python frames (the roots of frame:TID:N paths),
	 * once a command has read them (threads_frames); NULL before */
	struct nd_frame_root *frames;
	size_t nframes;
};

/* Checks TARGET without touching it: a PID (all digits) or a core file's
 * path (anything else); ND_EUSAGE if it can be neither. */
int target_parse(const char *spec, struct nd_err *e);
/* Opens it and finds Python and NumPy in it (reading through the
 * snapshot, open). */
int target_open(const char *spec, const struct target_opts *o,
		struct target *t, struct nd_err *e);
/* Begins one state of the target: the snapshot is emptied (what was kept
 * was read while the target ran) and, for a live target when pause is
 * set, every thread is stopped (fz; with regs, their registers read).
 * Threads that do not stop in time are said on stderr. */
int target_pause(struct target *t, bool pause, bool regs, struct freeze *fz,
		 struct nd_err *e);
/* Ends it: a paused target runs again, and the snapshot is sealed: what
 * is decoded and printed from now on was read in between. A budget spent
 * meanwhile is said on stderr. */
void target_release(struct target *t, struct freeze *fz);
/* The map read again, so that it is the map of this moment (a scan, a
 * snapshot file): a live target's, while its snapshot is open. */
int target_maps_again(struct target *t, struct nd_err *e);
/* The region holding addr. A live target's map is read again first if it
 * has none while the snapshot is open (a mapping made since it was read);
 * after the release it is what it was. */
const struct region *target_find(struct target *t, uint64_t addr);

/* How arrays of t are read as one state each (steady.h): a running target
 * (--no-pause) is read again past the snapshot. On a change, forget_all
 * forgets everything read (show), else only the array's own header, dims
 * and strides (list, which keeps what it validated before). */
struct steady;
void target_steady(struct target *t, bool running, bool forget_all,
		   struct steady *st);
void target_close(struct target *t);
/* TARGET for the commands that need a live process (watch, audit): a PID
 * that is a process, not one of its threads (probes filter by process). */
int target_parse_live(const char *cmd, const char *spec, struct nd_err *e);
/* Whether process pid is gone or a zombie (no memory left to read). */
bool target_exited(pid_t pid);
/* The mapping holding addr (target_find), in the decoder's terms. */
void target_region(struct target *t, uint64_t addr, struct nd_region *out);

#endif
