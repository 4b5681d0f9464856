/* Uprobes on PyTraceMalloc_Track and PyTraceMalloc_Untrack: NumPy reports
 * every data buffer it allocates or frees to them (domain 389047), whether
 * tracemalloc runs or not; and on PyMem_RawRealloc, for the one resize
 * NumPy 2.5 leaves untracked. Calls from other processes and other domains
 * are dropped here, in the kernel; the rest go to user space through a
 * ring buffer, and a full ring is counted, per CPU, never lost silently.
 *
 * An allocation also carries the allocating thread's newest Python
 * frames, raw (code object, instruction field, owner): user space names
 * them later (decode/pyframes.c), while the code objects live on. The
 * thread's state is the one whose thread_id is the thread's pthread_self(),
 * which on x86-64 is its fs base: right for a thread that does not hold
 * the GIL, which a global "current thread state" would not be. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "watch.h"

char LICENSE[] SEC("license") = "GPL";

/* The process, as ndspy sees it: in ndspy's PID namespace (pidns_dev,
 * pidns_ino) when that is not the initial one (a container's debug
 * sidecar), where the kernel's own IDs would never match. */
const volatile __u32 target_tgid = 0;
const volatile __u32 in_pidns = 0;
const volatile __u64 pidns_dev = 0, pidns_ino = 0;
const volatile struct nd_stack_cfg cfg = {};

/* 16 MiB: about 400,000 events, seconds of a busy target's buffers */
#define RING_BYTES (1 << 24)
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RING_BYTES);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* an event is built here, then copied into the ring at its real size */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nd_event);
} scratch SEC(".maps");

/* thread ID -> its thread state, checked at each use; or, with the low
 * bit set, the head of the thread list when none was found (a thread
 * without one: new thread states are put at the head, so while the head
 * stays, there is still none, and the list need not be walked again) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} tstates SEC(".maps");

/* NumPy 2.5 allocates with PyMem_RawMalloc and undoes the raw domain's
 * own trace: PyTraceMalloc_Untrack(0, p), then Track(389047, p, size). A
 * resize (PyDataMem_UserRENEW) is PyMem_RawRealloc(old, size),
 * Untrack(0, new), Untrack(389047, old), and only with tracemalloc on,
 * Track(389047, new, size); the public PyDataMem_RENEW untracks old
 * first, and says nothing more with tracemalloc off. What each thread is
 * in the middle of: */
enum resize_stage {
	RS_NONE,
	RS_REALLOC, /* PyMem_RawRealloc(old, size) was called */
	RS_NEW,     /* then Untrack(0, new): NumPy's resize, new is known */
	RS_SENT,    /* then Untrack(389047, old): sent as ND_EV_RESIZE; a
		     * Track(389047, new) right after is the same buffer */
	RS_OLD_GONE, /* RawRealloc, then Untrack(389047, old): the public
		      * resize; a Track of size bytes next is its new buffer,
		      * anything else says it was not tracked */
};

struct resize {
	__u64 old, new, size;
	__u32 stage;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct resize);
} resizes SEC(".maps");

/* A word of the target; 0 where it cannot be read (no pointer we follow
 * is 0 in a live structure). */
static __always_inline __u64 word(__u64 addr)
{
	__u64 v = 0;

	if (bpf_probe_read_user(&v, sizeof(v), (const void *)addr))
		return 0;
	return v;
}

#define STACK_WINDOW 4096

/* Structures are read whole, one helper call each (a call costs more than
 * its bytes), into here. */
struct spans {
	__u8 ts[ND_MAX_TS_SPAN];
	__u8 fr[ND_MAX_FRAME_SPAN];
	/* 3.11+: frames sit one above the other in the thread's data stack,
	 * the caller below: one read of the 4 KiB under the newest frame
	 * holds most of a stack */
	__u8 win[STACK_WINDOW];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct spans);
} spans SEC(".maps");

/* A field of a structure read whole; outside it, 0. */
static __always_inline __u64 field64(const __u8 *raw, int off, int cap)
{
	__u64 v = 0;

	if (off >= 0 && off <= cap - 8)
		__builtin_memcpy(&v, raw + off, sizeof(v));
	return v;
}

/* Reads thread state ts whole into sp->ts: false when unreadable. */
static __always_inline bool read_ts(struct spans *sp, __u64 ts)
{
	__u32 span = cfg.ts_span;

	if (span > ND_MAX_TS_SPAN)
		span = ND_MAX_TS_SPAN;
	return bpf_probe_read_user(sp->ts, span, (const void *)ts) == 0;
}

/* The thread state of the thread whose fs base is fs, read into sp->ts;
 * 0 when there is none. Looked for in the main interpreter, where NumPy
 * runs: the newest (interpreters.head) is a subinterpreter once one is
 * made. */
static __always_inline __u64 find_tstate(struct spans *sp, __u64 runtime,
					 __u64 fs, __u32 tid)
{
	__u64 *cached = bpf_map_lookup_elem(&tstates, &tid);
	__u64 head, ts, none;

	if (cached && *cached && !(*cached & 1) && read_ts(sp, *cached) &&
	    field64(sp->ts, cfg.ts_thread_id, ND_MAX_TS_SPAN) == fs)
		return *cached;
	head = word(word(runtime + cfg.rt_interpreters_main) +
		    cfg.interp_threads_head);
	if (cached && (*cached & 1) && *cached == (head | 1))
		return 0;
	ts = head;
	for (int i = 0; i < ND_MAX_PYTHREADS_BPF && ts; i++) {
		if (!read_ts(sp, ts))
			return 0;
		if (field64(sp->ts, cfg.ts_thread_id, ND_MAX_TS_SPAN) == fs) {
			bpf_map_update_elem(&tstates, &tid, &ts, BPF_ANY);
			return ts;
		}
		ts = field64(sp->ts, cfg.ts_next, ND_MAX_TS_SPAN);
	}
	none = head | 1;
	bpf_map_update_elem(&tstates, &tid, &none, BPF_ANY);
	return 0;
}

/* probe_vaddr: the link-time address of the probe that fired, whose
 * distance to the ip gives the load bias */
static __always_inline void copy_frames(struct pt_regs *ctx,
					struct nd_event *e, __u64 probe_vaddr)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 runtime = cfg.runtime_vaddr + (PT_REGS_IP(ctx) - probe_vaddr);
	__u32 zero = 0;
	struct spans *sp = bpf_map_lookup_elem(&spans, &zero);
	__u64 f;

	if (!sp)
		return;
	if (!find_tstate(sp, runtime, task->thread.fsbase, e->tid)) {
		e->stack = ND_STACK_NO_THREAD;
		return;
	}
	f = field64(sp->ts, cfg.ts_frame, ND_MAX_TS_SPAN);
	if (cfg.cframe_current_frame >= 0 && f)
		f = word(f + cfg.cframe_current_frame);
	e->stack = ND_STACK_OK;
	__u64 wbase = 0;
	bool win = false, no_win = cfg.instr_is_int;
	for (int i = 0; i < ND_MAX_RAWFRAMES; i++) {
		struct nd_event_frame *fr = &e->f[i];
		__u32 span = cfg.frame_span;
		const __u8 *raw = sp->fr;
		__u64 off;

		if (!f || i >= cfg.rawframes)
			break;
		if (span > ND_MAX_FRAME_SPAN)
			span = ND_MAX_FRAME_SPAN;
		if (!no_win && (!win || f < wbase ||
				f - wbase > STACK_WINDOW - ND_MAX_FRAME_SPAN)) {
			wbase = f + ND_MAX_FRAME_SPAN - STACK_WINDOW;
			win = bpf_probe_read_user(sp->win, STACK_WINDOW,
						  (const void *)wbase) == 0;
			/* near the start of a mapping: frame by frame */
			no_win = !win;
		}
		off = f - wbase;
		if (win && f >= wbase && off <= STACK_WINDOW - ND_MAX_FRAME_SPAN) {
			off &= STACK_WINDOW - 1;
			if (off > STACK_WINDOW - ND_MAX_FRAME_SPAN)
				break;
			raw = sp->win + off;
		} else if (bpf_probe_read_user(sp->fr, span, (const void *)f)) {
			e->stack = ND_STACK_UNREADABLE;
			break;
		}
		fr->code = field64(raw, cfg.fr_code, ND_MAX_FRAME_SPAN) &
			   ~cfg.code_tag_bits;
		fr->instr = field64(raw, cfg.fr_instr, ND_MAX_FRAME_SPAN);
		if (cfg.instr_is_int)
			fr->instr = (__u64)(__s64)(__s32)fr->instr;
		fr->owner = cfg.fr_owner >= 0 && cfg.fr_owner < ND_MAX_FRAME_SPAN
				    ? raw[cfg.fr_owner] : 0;
		if (!fr->code) {
			e->stack = ND_STACK_UNREADABLE;
			break;
		}
		e->nframes = i + 1;
		f = field64(raw, cfg.fr_back, ND_MAX_FRAME_SPAN);
	}
}

/* The calling thread's process and thread IDs as ndspy sees them; false
 * when its process is not in ndspy's PID namespace. */
static __always_inline bool ids(__u32 *tgid, __u32 *tid)
{
	struct bpf_pidns_info ns;
	__u64 id;

	if (in_pidns) {
		if (bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns,
						sizeof(ns)))
			return false;
		*tgid = ns.tgid;
		*tid = ns.pid;
		return true;
	}
	id = bpf_get_current_pid_tgid();
	*tgid = (__u32)(id >> 32);
	*tid = (__u32)id;
	return true;
}

static __always_inline int emit(struct pt_regs *ctx, __u32 tid, __u32 kind,
				__u64 addr, __u64 size, __u64 old)
{
	struct nd_event *e;
	__u32 zero = 0, n;
	__u64 bytes, flags;

	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	e->ts_ns = bpf_ktime_get_ns();
	e->addr = addr;
	e->size = size;
	e->old = old;
	e->tid = tid;
	e->kind = kind;
	e->nframes = 0;
	e->stack = ND_STACK_OFF;
	/* a resize is sent from the Untrack probe */
	if (kind == ND_EV_ALLOC && cfg.rawframes)
		copy_frames(ctx, e, cfg.probe_vaddr);
	else if (kind == ND_EV_RESIZE && cfg.rawframes)
		copy_frames(ctx, e, cfg.untrack_vaddr);
	n = e->nframes;
	if (n > ND_MAX_RAWFRAMES)
		n = ND_MAX_RAWFRAMES;
	bytes = __builtin_offsetof(struct nd_event, f) +
		(__u64)n * sizeof(struct nd_event_frame);
	/* Waking the reader costs the traced thread more than the probe
	 * itself (an interrupt per event once it is behind): it polls every
	 * 100 ms (10 ms for a command it started), and is woken only when
	 * the ring is half full, before it fills. A ring that fills is
	 * counted. */
	flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= RING_BYTES / 2
			? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&events, e, bytes, flags)) {
		__u64 *lostn = bpf_map_lookup_elem(&lost, &zero);
		if (lostn)
			__sync_fetch_and_add(lostn, 1);
	}
	return 0;
}

/* The calling thread, when it is the target's. */
static __always_inline bool ours(__u32 *tid)
{
	__u32 tgid;

	return ids(&tgid, tid) && tgid == target_tgid;
}

/* The thread goes on: a public resize that no Track followed is counted
 * (its new buffer is not seen). */
static __always_inline void settle(struct pt_regs *ctx, __u32 tid,
				   struct resize *r)
{
	if (r->stage == RS_OLD_GONE)
		emit(ctx, tid, ND_EV_RESIZE_LOST, r->old, 0, r->old);
	r->stage = RS_NONE;
}

SEC("uprobe")
int BPF_KPROBE(on_track)
{
	__u64 ptr = PT_REGS_PARM2(ctx), size = PT_REGS_PARM3(ctx), old = 0;
	__u32 tid;
	struct resize *r;

	if ((__u32)PT_REGS_PARM1(ctx) != ND_TRACE_DOMAIN || !ours(&tid))
		return 0;
	r = bpf_map_lookup_elem(&resizes, &tid);
	if (r && r->stage == RS_SENT && r->new == ptr) {
		/* tracemalloc on: the resize was sent already */
		r->stage = RS_NONE;
		return 0;
	}
	if (r && r->stage == RS_OLD_GONE && r->size == size) {
		old = r->old; /* tracemalloc on: the public resize's buffer */
		r->stage = RS_NONE;
	} else if (r) {
		settle(ctx, tid, r);
	}
	return emit(ctx, tid, ND_EV_ALLOC, ptr, size, old);
}

SEC("uprobe")
int BPF_KPROBE(on_untrack)
{
	__u32 tid, domain = (__u32)PT_REGS_PARM1(ctx);
	__u64 ptr = PT_REGS_PARM2(ctx);
	struct resize *r;

	if ((domain != ND_TRACE_DOMAIN && domain != 0) || !ours(&tid))
		return 0;
	r = bpf_map_lookup_elem(&resizes, &tid);
	if (domain == 0) { /* never sent: only a resize's new pointer */
		if (r && r->stage == RS_REALLOC) {
			r->new = ptr;
			r->stage = RS_NEW;
		} else if (r && r->stage != RS_OLD_GONE) {
			r->stage = RS_NONE;
		}
		return 0;
	}
	if (r && r->stage == RS_NEW && r->old == ptr) {
		r->stage = RS_SENT;
		return emit(ctx, tid, ND_EV_RESIZE, r->new, r->size, ptr);
	}
	if (r && r->stage == RS_REALLOC && r->old == ptr) {
		r->stage = RS_OLD_GONE;
	} else if (r) {
		settle(ctx, tid, r);
	}
	return emit(ctx, tid, ND_EV_FREE, ptr, 0, 0);
}

SEC("uprobe")
int BPF_KPROBE(on_raw_realloc)
{
	__u32 tid;
	struct resize *r, next = {PT_REGS_PARM1(ctx), 0, PT_REGS_PARM2(ctx),
				  RS_REALLOC};

	if (!ours(&tid))
		return 0;
	r = bpf_map_lookup_elem(&resizes, &tid);
	if (r)
		settle(ctx, tid, r);
	bpf_map_update_elem(&resizes, &tid, &next, BPF_ANY);
	return 0;
}
