#include "target.h"

#include "core.h"
#include "freeze.h"
#include "steady.h"

#include <dirent.h>
#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static bool all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

int target_parse(const char *spec, struct nd_err *e)
{
	char *end;

	if (!*spec)
		return nd_fail(e, ND_EUSAGE, "TARGET is empty: give a process "
					     "ID or a core file");
	if (!all_digits(spec))
		return 0;
	errno = 0;
	long v = strtol(spec, &end, 10);
	if (errno || v <= 0 || v > 0x3fffffff)
		return nd_fail(e, ND_EUSAGE,
			       "'%s' is not a process ID (a core file named so "
			       "is ./%s)",
			       spec, spec);
	return 0;
}

/* A thread ID's process (its Tgid), or 0 when there is no such task. */
static pid_t target_tgid(pid_t tid)
{
	char path[64], line[256];
	pid_t tgid = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	if (f)
		fclose(f);
	return tgid;
}

static bool have_cap(const struct __user_cap_data_struct d[2], int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

/* The probes of watch and audit need CAP_BPF and CAP_PERFMON (both
 * implied by CAP_SYS_ADMIN); without them, opening another user's process
 * would fail first, on CAP_SYS_PTRACE, and each fix would only reveal the
 * next refusal: name all that is missing at once. */
static int probe_privileges(const char *cmd, pid_t pid, struct nd_err *e)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	char path[32], missing[48] = "";
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (stat(path, &st) != 0 || syscall(SYS_capget, &h, d) != 0)
		return 0; /* no such process, or cannot tell: opening says */
	bool admin = have_cap(d, CAP_SYS_ADMIN);
	if (!admin && !have_cap(d, CAP_BPF))
		strcat(missing, ", CAP_BPF");
	if (!admin && !have_cap(d, CAP_PERFMON))
		strcat(missing, ", CAP_PERFMON");
	if (!missing[0])
		return 0;
	if (!have_cap(d, CAP_SYS_PTRACE) && st.st_uid != geteuid())
		strcat(missing, ", CAP_SYS_PTRACE");
	return nd_fail(e, ND_ETARGET, "process %d: %s needs root, or "
		       "capabilities ndspy lacks: %s",
		       (int)pid, cmd, missing + 2);
}

int target_parse_live(const char *cmd, const char *spec, struct nd_err *e)
{
	if (!all_digits(spec))
		return nd_fail(e, ND_EUSAGE, "%s needs a live process: '%s' is "
			       "not a PID", cmd, spec);
	if (target_parse(spec, e))
		return -1;
	pid_t tgid = target_tgid(atoi(spec));
	if (tgid && tgid != atoi(spec))
		return nd_fail(e, ND_EUSAGE, "%s is a thread of process %d: give "
			       "the process", spec, (int)tgid);
	return probe_privileges(cmd, (pid_t)atoi(spec), e);
}

bool target_exited(pid_t pid)
{
	char path[64], line[256];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return true;
	char *got = fgets(line, sizeof(line), f);
	fclose(f);
	const char *paren = got ? strrchr(line, ')') : NULL;
	return !paren || paren[1] != ' ' || paren[2] == 'Z' || paren[2] == 'X';
}

/* A thread that can speak for the process: the main thread, unless it
 * called pthread_exit and is a zombie (no map, no memory to read through
 * it), in which case any live thread. */
static pid_t live_task(pid_t pid)
{
	char path[64];
	struct dirent *de;
	pid_t live = pid;

	if (!target_exited(pid))
		return pid;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	while (d && (de = readdir(d))) {
		pid_t tid = (pid_t)atoi(de->d_name);
		if (tid > 0 && tid != pid) {
			live = tid;
			break;
		}
	}
	if (d)
		closedir(d);
	return live;
}

/* The decoder's view of the opened target. */
static void set_ctx(struct target *t)
{
	t->ctx.rd.read = mem_read_cb;
	t->ctx.rd.readv = mem_readv_cb;
	t->ctx.rd.ctx = t->mem;
	t->ctx.py = t->rt.py;
	t->ctx.np = t->rt.np;
	t->ctx.array_type = t->rt.array_type;
	t->ctx.descr_type = t->rt.descr_type;
	t->ctx.type_type = t->rt.type_type;
	int major = 0, minor = 0;
	if (sscanf(t->rt.np_version, "%d.%d", &major, &minor) == 2)
		t->ctx.numpy_version = major * 100 + minor;
}

/* The snapshot in front of t->src, through which everything is read. */
static int open_snapshot(struct target *t, const struct target_opts *o,
			 struct nd_err *e)
{
	uint64_t budget = o && o->capture_max ? o->capture_max : SNAPSHOT_BUDGET;

	if (!(t->snap = snapshot_new(t->src, budget)))
		return nd_fail(e, ND_ENOMEM, "out of memory");
	t->mem = snapshot_mem(t->snap);
	return 0;
}

static int open_core(const char *path, const struct target_opts *o,
		     struct target *t, struct nd_err *e)
{
	snprintf(t->name, sizeof(t->name), "core %s", path);
	int rc = core_open(path, o ? o->sysroot : NULL, o ? o->exe : NULL,
			   &t->core, e);
	if (rc)
		return rc;
	t->src = core_mem(t->core);
	if ((rc = open_snapshot(t, o, e))) {
		target_close(t);
		return rc;
	}
	snprintf(t->exe, sizeof(t->exe), "%s", core_exe_path(t->core));
	if ((rc = core_maps(t->core, &t->maps, e)) ||
	    (rc = runtime_discover(t, e))) {
		target_close(t);
		return rc;
	}
	set_ctx(t);
	return 0;
}

int target_open(const char *spec, const struct target_opts *o,
		struct target *t, struct nd_err *e)
{
	memset(t, 0, sizeof(*t));
	t->numpy_optional = o && o->numpy_optional;
	if (!all_digits(spec))
		return open_core(spec, o, t, e);
	pid_t pid = (pid_t)atoi(spec);
	t->pid = pid;
	snprintf(t->name, sizeof(t->name), "process %d", (int)pid);
	if (o && (o->sysroot || o->exe))
		return nd_fail(e, ND_EUSAGE, "--sysroot and --exe are for core "
			       "files; process %d's files are found through "
			       "/proc/%d/root",
			       (int)pid, (int)pid);
	if (kill(pid, 0) != 0 && errno == ESRCH)
		return nd_fail(e, ND_ETARGET, "process %d: no such process",
			       (int)pid);
	pid_t task = live_task(pid);
	t->task = task;
	char link[64];
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)task);
	ssize_t n = readlink(link, t->exe, sizeof(t->exe) - 1);
	t->exe[n > 0 ? n : 0] = '\0';
	int rc = maps_read(task, &t->maps, e);
	if (rc) {
		if (e->code == ND_ETARGET && strstr(e->msg, "Permission")) {
			nd_err_clear(e);
			return nd_fail(e, ND_ETARGET,
				       "process %d: permission denied reading "
				       "its memory map (needs root or "
				       "CAP_SYS_PTRACE)",
				       (int)pid);
		}
		return rc;
	}
	uint64_t probe = 0;
	for (size_t i = 0; i < t->maps.n && !probe; i++)
		if (t->maps.r[i].perms[0] == 'r' && t->maps.r[i].kind != R_OTHER)
			probe = t->maps.r[i].start;
	if ((rc = mem_live_open(task, probe, &t->src, e)) ||
	    (rc = open_snapshot(t, o, e)) || (rc = runtime_discover(t, e))) {
		target_close(t);
		if (kill(pid, 0) != 0 && errno == ESRCH) {
			/* it exited while we looked: say that, not what the
			 * half-gone memory suggested */
			nd_err_clear(e);
			return nd_fail(e, ND_ETARGET, "process %d exited",
				       (int)pid);
		}
		return rc;
	}
	set_ctx(t);
	return 0;
}

int target_maps_again(struct target *t, struct nd_err *e)
{
	struct maps m = {0};

	if (!t->pid || snapshot_sealed(t->snap))
		return 0;
	if (maps_read(live_task(t->pid), &m, e))
		return -1;
	maps_free(&t->maps);
	t->maps = m;
	return 0;
}

const struct region *target_find(struct target *t, uint64_t addr)
{
	const struct region *r = maps_find(&t->maps, addr);

	if (!r && t->pid && !snapshot_sealed(t->snap) &&
	    target_maps_again(t, NULL) == 0)
		r = maps_find(&t->maps, addr);
	return r;
}

int target_pause(struct target *t, bool pause, bool regs, struct freeze *fz,
		 struct nd_err *e)
{
	snapshot_reset(t->snap);
	if (!pause || !t->pid)
		return 0;
	if (freeze_all(fz, t->pid, regs, e))
		return -1;
	if (fz->not_stopped)
		fprintf(stderr, "ndspy: %s: %d thread%s did not stop within "
				"%d ms and ran on while it was read: what %s "
				"meanwhile may be inconsistent\n",
			t->name, fz->not_stopped,
			nd_plural(fz->not_stopped), FREEZE_WAIT_MS,
			fz->not_stopped == 1 ? "it changed" : "they changed");
	return 0;
}

void target_release(struct target *t, struct freeze *fz)
{
	char budget[32];

	if (fz)
		thaw_all(fz);
	snapshot_seal(t->snap);
	if (!snapshot_overflowed(t->snap))
		return;
	nd_human_size(snapshot_budget(t->snap), budget, sizeof(budget));
	fprintf(stderr, "ndspy: %s: more was read than the capture budget "
			"(%s) keeps: what was read past it is not shown (raise "
			"it with --capture-max)\n", t->name, budget);
}

void target_steady(struct target *t, bool running, bool forget_everything,
		   struct steady *st)
{
	*st = (struct steady){.running = running, .now = t->ctx,
			      .forget = forget_everything ? steady_forget_all
							  : steady_forget_array,
			      .forget_arg = t->snap};
	st->now.rd = (struct nd_reader){.read = mem_read_cb,
					.readv = mem_readv_cb, .ctx = t->src};
}

void target_close(struct target *t)
{
	snapshot_free(t->snap);
	if (t->src)
		t->src->close(t->src);
	t->snap = NULL;
	t->src = t->mem = NULL;
	t->core = NULL;
	maps_free(&t->maps);
	free(t->frames);
	t->frames = NULL;
	t->nframes = 0;
}

void target_region(struct target *t, uint64_t addr, struct nd_region *out)
{
	const struct region *r = target_find(t, addr);

	memset(out, 0, sizeof(*out));
	if (!r) {
		out->kind = "unmapped";
		return;
	}
	out->kind = region_kind_name(r->kind);
	out->start = r->start;
	out->end = r->end;
	out->offset = r->offset;
	out->path = r->kind == R_FILE ? r->path : NULL;
	memcpy(out->perms, r->perms, sizeof(out->perms));
}
