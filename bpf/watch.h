/* The event the watch program sends through its ring buffer, and where
 * it finds the allocating thread's Python frames; shared by
 * bpf/watch.bpf.c and probe/. */
#ifndef NDSPY_WATCH_H
#define NDSPY_WATCH_H

#define ND_TRACE_DOMAIN 389047 /* NumPy's data buffers in tracemalloc */
#define ND_MAX_RAWFRAMES 64    /* frames copied per event, shims included */
#define ND_MAX_PYTHREADS_BPF 512 /* thread states searched per thread */

enum nd_event_kind {
	ND_EV_ALLOC = 1, /* PyTraceMalloc_Track(domain, ptr, size) */
	ND_EV_FREE = 2,  /* PyTraceMalloc_Untrack(domain, ptr) */
	/* NumPy 2.5 resized old (PyMem_RawRealloc) to addr, size bytes: it
	 * untracks old but, with tracemalloc off, never tracks addr; the
	 * program tells it from the calls around (see watch.bpf.c) */
	ND_EV_RESIZE = 3,
	/* old (freed already) was resized where the new pointer is not seen:
	 * counted as "resized, untracked", once the thread goes on */
	ND_EV_RESIZE_LOST = 4,
};

/* Why an alloc event has fewer frames than asked for. */
enum nd_stack_status {
	ND_STACK_OFF = 0,      /* not asked for (--depth 0, or a free) */
	ND_STACK_OK = 1,       /* the chain ended, or the cap was reached */
	ND_STACK_NO_THREAD = 2, /* no thread state of this thread was found */
	ND_STACK_UNREADABLE = 3, /* a thread state or frame could not be read */
};

struct nd_event_frame {
	unsigned long long code;  /* tag bits cleared */
	unsigned long long instr; /* f_lasti (3.9, 3.10) or the pointer */
	unsigned int owner;       /* 3.11+ */
	unsigned int pad;
};

struct nd_event {
	unsigned long long ts_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	unsigned long long addr;
	unsigned long long size;  /* 0 for a free */
	unsigned long long old;   /* a resize's old pointer; else 0 */
	unsigned int tid;
	unsigned int kind;
	unsigned int nframes;
	unsigned int stack; /* enum nd_stack_status */
	struct nd_event_frame f[ND_MAX_RAWFRAMES]; /* nframes of them sent */
};

/* Where thread states and frames are (decode/layout.c, or the target's
 * _Py_DebugOffsets), set before the program loads. The program finds the
 * load bias of the probed object from the probe's address, so that a
 * command started under watch needs nothing from its memory map. */
struct nd_stack_cfg {
	unsigned long long probe_vaddr;   /* link-time address of the Track probe */
	unsigned long long untrack_vaddr; /* and of the Untrack probe */
	unsigned long long runtime_vaddr; /* link-time &_PyRuntime */
	unsigned long long code_tag_bits;
	int rt_interpreters_main, interp_threads_head, ts_next, ts_thread_id;
	int ts_frame, cframe_current_frame; /* -1: no _PyCFrame */
	int fr_back, fr_code, fr_instr, fr_owner; /* fr_owner -1: none */
	unsigned int rawframes; /* frames to copy, 0: no stacks */
	unsigned int instr_is_int; /* f_lasti: a 32-bit int */
	unsigned int frame_span; /* bytes of a frame holding all four fields */
	unsigned int ts_span;    /* bytes of a thread state holding its three */
};

#define ND_MAX_FRAME_SPAN 128
#define ND_MAX_TS_SPAN 256

#endif
