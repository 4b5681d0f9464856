/* Allocation sites: the Python frames the watch probe copied with a
 * buffer (bpf/watch.bpf.c), named as tracemalloc would record them, and,
 * for audit, kept once per distinct stack. */
#ifndef NDSPY_SITES_H
#define NDSPY_SITES_H

#include <stddef.h>
#include <stdint.h>

#include "../bpf/watch.h"
#include "../decode/arena.h"
#include "../decode/buf.h"
#include "../decode/rawframes.h"
#include "live_table.h"

struct snapshot;
struct target;

struct site {
	uint64_t hash;
	struct nd_pyframe *f; /* innermost first */
	size_t n;
	uint64_t bytes, count; /* audit's growth: its buffers still live */
};

/* Raw stacks (code objects and instructions) already named since the
 * cache of pages was last emptied: a loop allocating from one place is named
 * once per batch of events, not once per event. */
#define SITES_RAW 8192
/* Distinct stacks kept (a long watch of code that makes new code keeps
 * making new ones); past it, new stacks count as none. */
#define SITES_MAX 65536
struct sites_raw {
	uint64_t hash;
	uint32_t id, gen;
};

struct sites {
	/* the running target's code objects, read through a cache of pages
	 * of its own (a snapshot that is never sealed), emptied when pages
	 * older than a buffer could be stale */
	struct nd_ctx ctx;
	struct snapshot *pages;
	unsigned depth;    /* frames kept per buffer */
	struct nd_codecache *codes;
	struct nd_arena scratch; /* one event's names */
	struct nd_pyframe *frames; /* depth of them: one event's frames */
	uint64_t pages_ns; /* CLOCK_MONOTONIC when pages was emptied */
	uint32_t gen;      /* how often it was: raw[] entries of older ones
			    * are stale */
	struct sites_raw raw[SITES_RAW];
	/* interned stacks; id 0 is "none" */
	struct site *s;
	size_t n, cap;
	uint32_t *index; /* open addressing by hash, 0 empty */
	size_t icap;
	struct nd_arena kept; /* the interned stacks' names */
};

/* t must outlive ss. -1 when out of memory. */
int sites_init(struct sites *ss, struct target *t, unsigned depth);
void sites_free(struct sites *ss);
/* The site (ss->s[id]) of alloc event ev's frames, named as tracemalloc
 * would record them, up to depth: the same stack, the same id. 0 when it
 * has none, or they cannot be named (never guessed), or out of memory. */
uint32_t sites_of(struct sites *ss, const struct nd_event *ev);
/* Event ev counted in l: an allocation at its site (named through ss;
 * ss NULL: site 0), a free, a resize whose new buffer was not seen. -1
 * when out of memory (what was kept is still right). */
int sites_count(struct sites *ss, struct live_ledger *l,
		const struct nd_event *ev);
/* A frame's function as tracemalloc users know it: its qualified name
 * where the version has one. */
const char *sites_function(const struct nd_pyframe *f);
/* What stands for the frames of a buffer allocated without them. */
#define SITES_NO_STACK "[no Python stack]"
/* ", \"stack\": [{\"file\": .., \"function\": .., \"line\": ..}, ..]" */
void sites_json(const struct nd_pyframe *f, size_t n, struct nd_buf *b);
/* "  FILE:LINE FUNCTION" of the innermost frame (FILE without its
 * directory); nothing for none. */
void sites_text(const struct nd_pyframe *f, size_t n, struct nd_buf *b);

#endif
