/* The watch probes of one target: attach, poll events, count losses,
 * detach. */
#ifndef NDSPY_WATCH_PROBE_H
#define NDSPY_WATCH_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../bpf/watch.h"
#include "../decode/err.h"
#include "../decode/layout.h"
#include "placement.h"

struct watch_probe;

/* Where a probe went: the function's file offset plus the placement. */
struct watch_site {
	uint64_t file_offset;
	struct placement place;
};

typedef void (*watch_event_fn)(void *arg, const struct nd_event *ev);

/* A function probed: its link-time address, where it is in the file, and
 * its first bytes (where in it the probe goes is decided from them). */
#define WATCH_CODE_BYTES 96
struct watch_fn {
	uint64_t vaddr, file_offset;
	uint8_t code[WATCH_CODE_BYTES];
};

/* What the probes need of the object defining PyTraceMalloc_Track (the
 * python binary or libpython), all plain data (agent/ reads it from the
 * file), and the process to watch. */
struct watch_object {
	char path[8400];  /* a path the kernel resolves to the same file */
	struct watch_fn track, untrack, raw_realloc;
	uint64_t runtime_vaddr; /* link-time &_PyRuntime; 0: not exported */
	pid_t pid;        /* as ndspy sees it (in its PID namespace) */
	const char *name; /* "process 1234", for messages */
	/* the interpreter's layout, and how many Python frames to copy per
	 * allocation (0, or py NULL: none) */
	const struct nd_pylayout *py;
	unsigned depth;
	bool verbose;     /* libbpf's own messages on stderr */
};

/* Checks the kernel (5.11+: bpf_get_current_task_btf), loads and
 * attaches (at_entry: at the functions' first instruction, the slow way,
 * for comparison); sites[0] is Track's, sites[1] Untrack's. The object
 * need not be mapped yet: uprobes follow the file. */
int watch_probe_open(const struct watch_object *obj, bool at_entry,
		     watch_event_fn fn, void *arg, struct watch_probe **out,
		     struct watch_site sites[2], struct nd_err *e);
/* Delivers what arrived within timeout_ms; number of events or -errno. */
int watch_probe_poll(struct watch_probe *w, int timeout_ms);
/* Delivers what is in the ring now (at the end of a watch). */
void watch_probe_drain(struct watch_probe *w);
/* Whether allocations carry Python frames: asked for, and a layout
 * (with _PyRuntime, structures small enough) the program can follow. */
bool watch_probe_stacks(const struct watch_probe *w);
/* Events dropped because the ring was full, over all CPUs. */
uint64_t watch_probe_lost(struct watch_probe *w);
/* Detaches everything; NULL is fine. */
void watch_probe_close(struct watch_probe *w);

#endif
