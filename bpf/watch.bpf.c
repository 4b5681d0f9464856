/* Uprobes on PyTraceMalloc_Track and PyTraceMalloc_Untrack: NumPy reports
 * every data buffer it allocates or frees to them (domain 389047), whether
 * tracemalloc runs or not. Calls from other processes and other domains
 * are dropped here, in the kernel; the rest go to user space through a
 * ring buffer, and a full ring is counted, per CPU, never lost silently. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "watch.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_tgid = 0;

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

static __always_inline int emit(struct pt_regs *ctx, __u32 kind)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct nd_event *e;
	__u32 zero = 0;

	if ((__u32)(id >> 32) != target_tgid ||
	    (__u32)PT_REGS_PARM1(ctx) != ND_TRACE_DOMAIN)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__u64 *n = bpf_map_lookup_elem(&lost, &zero);
		if (n)
			__sync_fetch_and_add(n, 1);
		return 0;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->addr = PT_REGS_PARM2(ctx);
	e->size = kind == ND_EV_ALLOC ? PT_REGS_PARM3(ctx) : 0;
	e->tid = (__u32)id;
	e->kind = kind;
	/* Waking the reader costs the traced thread more than the probe
	 * itself (an interrupt per event once it is behind): it polls every
	 * 100 ms and is never woken. A ring that fills is counted above. */
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
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
