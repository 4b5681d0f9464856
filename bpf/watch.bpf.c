/* Uprobes on PyTraceMalloc_Track and PyTraceMalloc_Untrack: NumPy reports
 * every data buffer it allocates or frees to them (domain 389047), whether
 * tracemalloc runs or not. Calls from other processes and other domains
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

const volatile __u32 target_tgid = 0;
const volatile struct nd_stack_cfg cfg = {};

/* 16 MiB: about 400,000 events, seconds of a busy target's buffers */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
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

/* thread ID -> its thread state, checked at each use */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} tstates SEC(".maps");

/* A word of the target; 0 where it cannot be read (no pointer we follow
 * is 0 in a live structure). */
static __always_inline __u64 word(__u64 addr)
{
	__u64 v = 0;

	if (bpf_probe_read_user(&v, sizeof(v), (const void *)addr))
		return 0;
	return v;
}

static __always_inline __u64 find_tstate(__u64 runtime, __u64 fs, __u32 tid)
{
	__u64 *cached = bpf_map_lookup_elem(&tstates, &tid);
	__u64 ts;

	if (cached && *cached && word(*cached + cfg.ts_thread_id) == fs)
		return *cached;
	ts = word(word(runtime + cfg.rt_interpreters_head) +
		  cfg.interp_threads_head);
	for (int i = 0; i < ND_MAX_PYTHREADS_BPF && ts; i++) {
		if (word(ts + cfg.ts_thread_id) == fs) {
			bpf_map_update_elem(&tstates, &tid, &ts, BPF_ANY);
			return ts;
		}
		ts = word(ts + cfg.ts_next);
	}
	return 0;
}

static __always_inline void copy_frames(struct pt_regs *ctx,
					struct nd_event *e)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 runtime = cfg.runtime_vaddr + (PT_REGS_IP(ctx) - cfg.probe_vaddr);
	__u64 ts = find_tstate(runtime, task->thread.fsbase, e->tid);
	__u64 f;

	if (!ts) {
		e->stack = ND_STACK_NO_THREAD;
		return;
	}
	f = word(ts + cfg.ts_frame);
	if (cfg.cframe_current_frame >= 0 && f)
		f = word(f + cfg.cframe_current_frame);
	e->stack = ND_STACK_OK;
	for (int i = 0; i < ND_MAX_RAWFRAMES; i++) {
		struct nd_event_frame *fr = &e->f[i];
		__u8 owner = 0;
		__s32 lasti = 0;

		if (!f || i >= cfg.rawframes)
			break;
		fr->code = word(f + cfg.fr_code) & ~cfg.code_tag_bits;
		if (cfg.instr_is_int) {
			bpf_probe_read_user(&lasti, sizeof(lasti),
					    (const void *)(f + cfg.fr_instr));
			fr->instr = (__u64)(__s64)lasti;
		} else {
			fr->instr = word(f + cfg.fr_instr);
		}
		if (cfg.fr_owner >= 0)
			bpf_probe_read_user(&owner, 1,
					    (const void *)(f + cfg.fr_owner));
		fr->owner = owner;
		if (!fr->code) {
			e->stack = ND_STACK_UNREADABLE;
			break;
		}
		e->nframes = i + 1;
		f = word(f + cfg.fr_back);
	}
}

static __always_inline int emit(struct pt_regs *ctx, __u32 kind)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct nd_event *e;
	__u32 zero = 0, n;
	__u64 size;

	if ((__u32)(id >> 32) != target_tgid ||
	    (__u32)PT_REGS_PARM1(ctx) != ND_TRACE_DOMAIN)
		return 0;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	e->ts_ns = bpf_ktime_get_ns();
	e->addr = PT_REGS_PARM2(ctx);
	e->size = kind == ND_EV_ALLOC ? PT_REGS_PARM3(ctx) : 0;
	e->tid = (__u32)id;
	e->kind = kind;
	e->nframes = 0;
	e->stack = ND_STACK_OFF;
	if (kind == ND_EV_ALLOC && cfg.rawframes)
		copy_frames(ctx, e);
	n = e->nframes;
	if (n > ND_MAX_RAWFRAMES)
		n = ND_MAX_RAWFRAMES;
	size = __builtin_offsetof(struct nd_event, f) +
	       (__u64)n * sizeof(struct nd_event_frame);
	/* Waking the reader costs the traced thread more than the probe
	 * itself (an interrupt per event once it is behind): it polls every
	 * 100 ms and is never woken. A ring that fills is counted. */
	if (bpf_ringbuf_output(&events, e, size, BPF_RB_NO_WAKEUP)) {
		__u64 *n = bpf_map_lookup_elem(&lost, &zero);
		if (n)
			__sync_fetch_and_add(n, 1);
	}
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(on_track)
{
	return emit(ctx, ND_EV_ALLOC);
}

SEC("uprobe")
int BPF_KPROBE(on_untrack)
{
	return emit(ctx, ND_EV_FREE);
}
