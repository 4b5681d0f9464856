/* What the probes of probe/ need of the interpreter file, read here (the
 * probes take plain data: addresses, file offsets, code bytes). */
#ifndef NDSPY_WATCH_OBJECT_H
#define NDSPY_WATCH_OBJECT_H

#include "../decode/err.h"
#include "../probe/watch_probe.h"

struct target;

/* From an interpreter file (elf: its Elf *, opened as fd at path): where
 * PyTraceMalloc_Track and _Untrack are and their first bytes, and
 * &_PyRuntime. o's pid, name, layout and depth are the caller's. */
int watch_object_of_file(void *elf, int fd, const char *path,
			 struct watch_object *o, struct nd_err *e);
/* The same for the interpreter an opened target has mapped. */
int watch_object_of_target(const struct target *t, struct watch_object *o,
			   struct nd_err *e);

/* -v: where the probes went and why. */
void watch_object_say(const char *name, const char *path,
		      const struct watch_site sites[2], bool at_entry);
/* The probes on an opened target, with depth Python frames per buffer
 * named through ss (*have_sites: they can be; without, the probes go in
 * stackless), events to fn(arg); say: -v says where they went. */
struct sites;
int watch_target(struct target *t, unsigned depth, struct sites *ss,
		 bool *have_sites, watch_event_fn fn, void *arg,
		 struct watch_probe **w, bool say, struct nd_err *e);

#endif
