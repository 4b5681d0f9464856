/* The few kernel types the programs of bpf/ use, instead of a vmlinux.h dumped
 * from the build machine's BTF (which a build host may not have, and which
 * is 3 MB). The structures are CO-RE relocatable (preserve_access_index):
 * the loader finds their fields in the running kernel's BTF, so only the
 * fields named here need to exist there, at whatever offset. The numbers
 * are Linux's UAPI, which does not change. */
#ifndef __VMLINUX_H__
#define __VMLINUX_H__

typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef _Bool bool;
enum { false = 0, true = 1 };

enum bpf_map_type {
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_RINGBUF = 27,
};

enum {
	BPF_ANY = 0,
};

/* bpf_ringbuf_output's flags and bpf_ringbuf_query's questions */
enum {
	BPF_RB_NO_WAKEUP = 1,
	BPF_RB_FORCE_WAKEUP = 2,
};
enum {
	BPF_RB_AVAIL_DATA = 0,
};

struct bpf_pidns_info {
	__u32 pid;
	__u32 tgid;
};

#pragma clang attribute push(__attribute__((preserve_access_index)), \
			     apply_to = record)

/* x86-64: what bpf_tracing.h's PT_REGS_* read */
struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx,
		dx, si, di, orig_ax, ip, cs, flags, sp, ss;
};

struct thread_struct {
	unsigned long fsbase;
};

struct task_struct {
	struct thread_struct thread;
};

#pragma clang attribute pop

#endif
