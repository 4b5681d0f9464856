/* The watch probes of one target: attach, poll events, count losses,
 * detach. */
#ifndef NDSPY_WATCH_PROBE_H
#define NDSPY_WATCH_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "../bpf/watch.h"
#include "../decode/err.h"
#include "placement.h"

struct target;
struct watch_probe;

/* Where a probe went: the function's file offset plus the placement. */
struct watch_site {
	uint64_t file_offset;
	struct placement place;
};

typedef void (*watch_event_fn)(void *arg, const struct nd_event *ev);

/* Loads and attaches (at_entry: at the functions' first instruction,
 * the slow way, for comparison); sites[0] is Track's, sites[1] Untrack's. */
int watch_probe_open(const struct target *t, bool at_entry,
		     watch_event_fn fn, void *arg, struct watch_probe **out,
		     struct watch_site sites[2], struct nd_err *e);
/* Delivers what arrived within timeout_ms; number of events or -errno. */
int watch_probe_poll(struct watch_probe *w, int timeout_ms);
/* Events dropped because the ring was full, over all CPUs. */
uint64_t watch_probe_lost(struct watch_probe *w);
/* Detaches everything; NULL is fine. */
void watch_probe_close(struct watch_probe *w);

#endif
