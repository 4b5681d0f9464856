/* Loading bpf/watch.bpf.c into the kernel for one target and attaching
 * it where NumPy reports its buffers: PyTraceMalloc_Track and _Untrack in
 * the target's interpreter object, each at the cheapest safe place
 * (placement.c). Detaching is destroying the skeleton: the kernel drops
 * the uprobes with the links, and when ndspy dies, with its descriptors.
 *
 * Which process closes the last descriptor of a link matters: measured on
 * 6.18, ndspy killed with SIGKILL while several of its threads ran (a
 * paused scan) left the breakpoint in the target's code for good
 * ("failed to unregister, leaking uprobe") in 4-12 of 30 kills; killed
 * single-threaded, never. So a keeper, a forked single-threaded child
 * that holds copies of the link descriptors, closes them last: it exits
 * on its own when ndspy's end of a pipe closes, however ndspy ended. */
#define _GNU_SOURCE
#include "watch_probe.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "watch.skel.h"

#define BATCH 65536 /* events per poll: a busy target never ends a drain */

/* Track, Untrack, PyMem_RawRealloc */
#define NLINKS 3

struct watch_probe {
	struct watch_bpf *skel;
	struct bpf_link *link[NLINKS];
	struct nd_event split; /* a resize's new buffer, as an allocation */
	struct ring_buffer *rb;
	watch_event_fn fn;
	void *arg;
	unsigned batch;
	bool more; /* the last poll stopped at BATCH: do not wait next time */
	bool stacks;    /* the program copies Python frames */
	pid_t keeper;   /* 0: none */
	int keeper_fd;  /* our end of its pipe */
};

static int on_sample(void *ctx, void *data, size_t len)
{
	struct watch_probe *w = ctx;
	const struct nd_event *ev = data;
	size_t head = offsetof(struct nd_event, f);

	/* the frames an event carries are all it sends of them */
	if (len < head || ev->nframes > ND_MAX_RAWFRAMES ||
	    len < head + ev->nframes * sizeof(ev->f[0])) {
		/* not ours to read */
	} else if (ev->kind == ND_EV_RESIZE) {
		/* what Untrack and Track say when tracemalloc runs: the old
		 * buffer freed, the new one allocated there */
		memcpy(&w->split, ev, head);
		w->split.kind = ND_EV_FREE;
		w->split.addr = ev->old;
		w->split.size = 0;
		w->split.nframes = 0;
		w->split.stack = ND_STACK_OFF;
		w->fn(w->arg, &w->split);
		memcpy(&w->split, ev, head + ev->nframes * sizeof(ev->f[0]));
		w->split.kind = ND_EV_ALLOC;
		w->fn(w->arg, &w->split);
	} else {
		w->fn(w->arg, ev);
	}
	/* this one is consumed; the next wait for the next poll */
	return ++w->batch >= BATCH ? -EAGAIN : 0;
}

/* libbpf's own messages (a verifier's rejection, say) are for -v. */
static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level, (void)fmt, (void)ap;
	return 0;
}

/* Warnings only: they say why loading failed (the verifier's log among
 * them); the rest is libbpf telling its steps. */
static int say(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_WARN)
		return 0;
	fputs("ndspy: ", stderr); /* the message says "libbpf: " itself */
	return vfprintf(stderr, fmt, ap);
}

/* The kernel the probes need: bpf_get_current_task_btf came in 5.11. */
#define WATCH_KERNEL_MAJOR 5
#define WATCH_KERNEL_MINOR 11

static int kernel_ok(struct nd_err *e)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) != 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return 0; /* cannot tell: loading will say */
	if (major > WATCH_KERNEL_MAJOR ||
	    (major == WATCH_KERNEL_MAJOR && minor >= WATCH_KERNEL_MINOR))
		return 0;
	return nd_fail(e, ND_ETARGET, "Linux %s is too old: the probes need "
		       "Linux %d.%d or later (bpf_get_current_task_btf)",
		       u.release, WATCH_KERNEL_MAJOR, WATCH_KERNEL_MINOR);
}

/* Where the probe on function fn (nargs arguments) goes: site, and
 * *vaddr, its link-time address. */
static int place(const struct watch_fn *fn, int nargs, bool at_entry,
		 struct watch_site *site, uint64_t *vaddr, struct nd_err *e)
{
	site->place.at_entry = true;
	if (!at_entry &&
	    probe_place(fn->code, sizeof(fn->code), nargs, &site->place))
		return nd_fail(e, ND_EIO, "cannot start the disassembler");
	if (site->place.at_entry)
		site->place.offset = 0;
	site->file_offset = fn->file_offset + site->place.offset;
	*vaddr = fn->vaddr + site->place.offset;
	return 0;
}

/* The PID namespace ndspy runs in, when it is not the initial one: the
 * program compares IDs there. */
static void pid_namespace(struct watch_bpf *skel)
{
	struct stat st;

	/* the initial namespace's inode is fixed (PROC_PID_INIT_INO) */
	if (stat("/proc/self/ns/pid", &st) != 0 || st.st_ino == 0xEFFFFFFCu)
		return;
	skel->rodata->in_pidns = 1;
	skel->rodata->pidns_dev = (uint64_t)st.st_dev;
	skel->rodata->pidns_ino = (uint64_t)st.st_ino;
}

static int attach(struct watch_probe *w, int which, struct bpf_program *prog,
		  const struct watch_object *obj, const char *name,
		  const struct watch_site *site, struct nd_err *e)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts);
	w->link[which] = bpf_program__attach_uprobe_opts(
		prog, obj->pid, obj->path, (size_t)site->file_offset, &opts);
	if (!w->link[which]) {
		int err = errno;
		return nd_fail(e, ND_ETARGET, "cannot attach a uprobe to %s in "
			       "%s: %s%s",
			       name, obj->path, strerror(err),
			       err == EPERM || err == EACCES
				       ? " (needs root, or CAP_BPF and "
					 "CAP_PERFMON)" : "");
	}
	return 0;
}

/* Where the program finds thread states and frames; probe_vaddr and
 * untrack_vaddr are the Track and Untrack probes' link-time addresses.
 * No stacks (rawframes 0) without a layout or _PyRuntime. */
static void stack_config(const struct watch_object *obj, uint64_t probe_vaddr,
			 uint64_t untrack_vaddr, struct nd_stack_cfg *cfg)
{
	const struct nd_pylayout *P = obj->py;
	uint64_t runtime = obj->runtime_vaddr;

	memset(cfg, 0, sizeof(*cfg));
	if (!P || !obj->depth || !runtime)
		return;
	/* a shim or a frame still setting up may sit between two frames
	 * tracemalloc counts */
	unsigned raw = 2 * obj->depth + 2;
	*cfg = (struct nd_stack_cfg){
		.probe_vaddr = probe_vaddr,
		.untrack_vaddr = untrack_vaddr,
		.runtime_vaddr = runtime,
		.code_tag_bits = P->fr_code_tag_bits,
		.rt_interpreters_main = P->rt_interpreters_main,
		.interp_threads_head = P->interp_threads_head,
		.ts_next = P->ts_next,
		.ts_thread_id = P->ts_thread_id,
		.ts_frame = P->ts_frame,
		.cframe_current_frame = P->cframe_current_frame,
		.fr_back = P->fr_back,
		.fr_code = P->fr_code,
		.fr_instr = P->fr_instr,
		.fr_owner = P->fr_owner,
		.rawframes = raw < ND_MAX_RAWFRAMES ? raw : ND_MAX_RAWFRAMES,
		.instr_is_int = P->frame_repr == ND_FRAME_OBJECT,
	};
	int fr[] = {P->fr_back + 8, P->fr_code + 8, P->fr_instr + 8,
		    P->fr_owner + 1};
	int ts[] = {P->ts_next + 8, P->ts_thread_id + 8, P->ts_frame + 8};
	for (int i = 0; i < 4; i++)
		cfg->frame_span = (unsigned)fr[i] > cfg->frame_span
					  ? (unsigned)fr[i] : cfg->frame_span;
	for (int i = 0; i < 3; i++)
		cfg->ts_span = (unsigned)ts[i] > cfg->ts_span ? (unsigned)ts[i]
							       : cfg->ts_span;
	/* a layout whose structures we cannot read in one go: no stacks */
	if (cfg->frame_span > ND_MAX_FRAME_SPAN || cfg->ts_span > ND_MAX_TS_SPAN)
		cfg->rawframes = 0;
}

/* In the keeper: only async-signal-safe calls (ndspy may have threads),
 * all signals blocked until ignored. Our copy of the pipe's write end is
 * closed first, or the read below would never end; then everything but
 * the pipe and the links, so that it holds no one else's pipe open (best
 * effort: close_range may be refused). Signals sent to ndspy's process
 * group pass it by. */
static void keeper_main(int pipe_fd, int write_end, const int *links,
			const sigset_t *mask)
{
	int keep[NLINKS + 1] = {pipe_fd}, lo = 0, n = NLINKS + 1;
	struct sigaction ign = {.sa_handler = SIG_IGN};
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	char c;

	close(write_end);
	for (int i = 1; i < n; i++)
		keep[i] = links[i - 1];
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (keep[j] < keep[i]) {
				int x = keep[i];
				keep[i] = keep[j];
				keep[j] = x;
			}
	for (int i = 0; i < n; i++) {
		if (keep[i] > lo)
			close_range((unsigned)lo, (unsigned)keep[i] - 1, 0);
		lo = keep[i] + 1;
	}
	close_range((unsigned)lo, ~0U, 0);
	setpgid(0, 0);
	/* none of ndspy's handlers (they release ndspy's target) */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	sigaction(SIGINT, &ign, NULL);
	sigaction(SIGTERM, &ign, NULL);
	sigaction(SIGHUP, &ign, NULL);
	sigaction(SIGPIPE, &ign, NULL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	prctl(PR_SET_NAME, "ndspy-probes");
	while (read(pipe_fd, &c, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

static int keeper_start(struct watch_probe *w, struct nd_err *e)
{
	int p[2], links[NLINKS];
	sigset_t all, old;

	for (int i = 0; i < NLINKS; i++)
		links[i] = bpf_link__fd(w->link[i]);
	if (pipe2(p, O_CLOEXEC))
		return nd_fail(e, ND_EIO, "cannot make a pipe: %s",
			       strerror(errno));
	/* ndspy's handlers must not run in the keeper */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pid_t pid = fork();
	if (pid == 0)
		keeper_main(p[0], p[1], links, &old);
	int err = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return nd_fail(e, ND_EIO, "cannot fork: %s", strerror(err));
	}
	close(p[0]);
	w->keeper = pid;
	w->keeper_fd = p[1];
	return 0;
}

int watch_probe_open(const struct watch_object *obj, bool at_entry,
		     watch_event_fn fn, void *arg, struct watch_probe **out,
		     struct watch_site sites[2], struct nd_err *e)
{
	struct watch_probe *w = calloc(1, sizeof(*w));
	int rc;

	if (!w)
		return nd_fail(e, ND_ENOMEM, "out of memory");
	if (kernel_ok(e)) {
		free(w);
		return -1;
	}
	w->fn = fn;
	w->arg = arg;
	libbpf_set_print(obj->verbose ? say : quiet);
	w->skel = watch_bpf__open();
	if (!w->skel) {
		rc = nd_fail(e, ND_ETARGET, "cannot load the eBPF program: %s",
			     strerror(errno));
		goto fail;
	}
	uint64_t track_vaddr = 0, untrack_vaddr = 0, realloc_vaddr = 0;
	struct watch_site realloc_site;
	if ((rc = place(&obj->track, 3, at_entry, &sites[0], &track_vaddr, e)) ||
	    (rc = place(&obj->untrack, 2, at_entry, &sites[1], &untrack_vaddr,
			e)) ||
	    (rc = place(&obj->raw_realloc, 2, at_entry, &realloc_site,
			&realloc_vaddr, e)))
		goto fail;
	w->skel->rodata->target_tgid = (uint32_t)obj->pid;
	pid_namespace(w->skel);
	stack_config(obj, track_vaddr, untrack_vaddr,
		     (struct nd_stack_cfg *)&w->skel->rodata->cfg);
	w->stacks = w->skel->rodata->cfg.rawframes > 0;
	if (watch_bpf__load(w->skel)) {
		int err = errno;
		rc = nd_fail(e, ND_ETARGET, "cannot load the eBPF program: %s%s",
			     strerror(err),
			     err == EPERM || err == EACCES
				     ? " (needs root, or CAP_BPF and CAP_PERFMON)"
				     : obj->verbose ? "" : " (-v says why)");
		goto fail;
	}
	if ((rc = attach(w, 0, w->skel->progs.on_track, obj,
			 "PyTraceMalloc_Track", &sites[0], e)) ||
	    (rc = attach(w, 1, w->skel->progs.on_untrack, obj,
			 "PyTraceMalloc_Untrack", &sites[1], e)) ||
	    (rc = attach(w, 2, w->skel->progs.on_raw_realloc, obj,
			 "PyMem_RawRealloc", &realloc_site, e)) ||
	    (rc = keeper_start(w, e)))
		goto fail;
	w->rb = ring_buffer__new(bpf_map__fd(w->skel->maps.events), on_sample,
				 w, NULL);
	if (!w->rb) {
		rc = nd_fail(e, ND_ETARGET, "cannot read the ring buffer: %s",
			     strerror(errno));
		goto fail;
	}
	*out = w;
	return 0;
fail:
	watch_probe_close(w);
	return rc;
}

int watch_probe_poll(struct watch_probe *w, int timeout_ms)
{
	/* the program never wakes us: wait, then take what is there, at
	 * most BATCH events, so that a target producing them as fast as we
	 * read cannot keep us from the clock and from signals */
	int n = ring_buffer__poll(w->rb, w->more ? 0 : timeout_ms);
	if (n < 0 && n != -EINTR && n != -EAGAIN)
		return n;
	int m = w->batch < BATCH ? ring_buffer__consume(w->rb) : 0;
	w->more = w->batch >= BATCH;
	w->batch = 0;
	return m < 0 && m != -EAGAIN ? m : 0;
}

void watch_probe_drain(struct watch_probe *w)
{
	struct timespec t0, t;

	/* bounded, in batches and in time (2 s): a target still running
	 * keeps producing, and each event may be slow to deliver */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 64; i++) {
		if (watch_probe_poll(w, 0) < 0 || !w->more)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= 2)
			break;
	}
}

bool watch_probe_stacks(const struct watch_probe *w)
{
	return w->stacks;
}

uint64_t watch_probe_lost(struct watch_probe *w)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t total = 0;
	uint32_t zero = 0;

	if (ncpu <= 0)
		return 0;
	uint64_t *per = calloc((size_t)ncpu, sizeof(*per));
	if (per && bpf_map__lookup_elem(w->skel->maps.lost, &zero, sizeof(zero),
					per, (size_t)ncpu * sizeof(*per), 0) == 0)
		for (int i = 0; i < ncpu; i++)
			total += per[i];
	free(per);
	return total;
}

void watch_probe_close(struct watch_probe *w)
{
	if (!w)
		return;
	ring_buffer__free(w->rb);
	for (int i = 0; i < NLINKS; i++)
		bpf_link__destroy(w->link[i]);
	watch_bpf__destroy(w->skel);
	/* the probes are gone when the keeper is */
	if (w->keeper > 0) {
		close(w->keeper_fd);
		while (waitpid(w->keeper, NULL, 0) < 0 && errno == EINTR)
			;
	}
	free(w);
}
