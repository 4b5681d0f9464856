/* The event the watch program sends through its ring buffer; shared by
 * bpf/watch.bpf.c and probe/. */
#ifndef NDSPY_WATCH_H
#define NDSPY_WATCH_H

#define ND_TRACE_DOMAIN 389047 /* NumPy's data buffers in tracemalloc */

enum nd_event_kind {
	ND_EV_ALLOC = 1, /* PyTraceMalloc_Track(domain, ptr, size) */
	ND_EV_FREE = 2,  /* PyTraceMalloc_Untrack(domain, ptr) */
};

struct nd_event {
	unsigned long long ts_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	unsigned long long addr;
	unsigned long long size;  /* 0 for a free */
	unsigned int tid;
	unsigned int kind;
};

#endif
