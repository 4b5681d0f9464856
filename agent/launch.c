/* `watch -- COMMAND`: the command is started held before its exec, so
 * that the probes are in place before its first line runs. Uprobes follow
 * files, not mappings: they can be attached to the interpreter's file
 * (the python binary, or the libpython it links) before it is mapped,
 * filtered to the held process's pid, which exec keeps. */
#define _GNU_SOURCE
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elf.h"
#include "fileio.h"

/* COMMAND as execvp would find it. */
static int find_program(const char *cmd, char *out, size_t cap)
{
	if (strchr(cmd, '/')) {
		snprintf(out, cap, "%s", cmd);
		return access(out, X_OK);
	}
	const char *path = getenv("PATH");
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t n = strcspn(p, ":");
		snprintf(out, cap, "%.*s/%s", (int)n, n ? p : ".", cmd);
		if (access(out, X_OK) == 0)
			return 0;
		p += n + (p[n] == ':');
	}
	return -1;
}

static bool defines_track(const char *path, struct watch_file *f)
{
	uint64_t v;
	int fd = open_regular(path);

	if (fd < 0)
		return false;
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf && elf_symbol_value(elf, "PyTraceMalloc_Track", false, &v,
				    NULL)) {
		snprintf(f->path, sizeof(f->path), "%s", path);
		f->fd = fd;
		f->elf = elf;
		return true;
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return false;
}

/* DT_NEEDED libpython of elf, found the way the dynamic linker would
 * (RPATH/RUNPATH with $ORIGIN, LD_LIBRARY_PATH, the system dirs). */
static bool needed_libpython(Elf *elf, const char *exe, struct watch_file *f)
{
	Elf_Scn *scn = NULL;
	const char *need = NULL, *runpath = NULL, *rpath = NULL;
	char dirs[12288];

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sizeof(GElf_Dyn); i++) {
			GElf_Dyn dyn;
			if (!gelf_getdyn(d, (int)i, &dyn))
				continue;
			const char *s = elf_strptr(elf, sh.sh_link, dyn.d_un.d_val);
			if (dyn.d_tag == DT_NEEDED && s && strstr(s, "libpython"))
				need = s;
			else if (dyn.d_tag == DT_RUNPATH && s)
				runpath = s;
			else if (dyn.d_tag == DT_RPATH && s)
				rpath = s;
		}
	}
	if (!need)
		return false;
	char origin[4096];
	snprintf(origin, sizeof(origin), "%s", exe);
	char *slash = strrchr(origin, '/');
	if (slash)
		*slash = '\0';
	/* ld.so's order: DT_RPATH (ignored when DT_RUNPATH exists),
	 * LD_LIBRARY_PATH, DT_RUNPATH, then the system's directories */
	const char *llp = getenv("LD_LIBRARY_PATH");
	snprintf(dirs, sizeof(dirs), "%s:%s:%s:/lib/x86_64-linux-gnu:"
		 "/usr/lib/x86_64-linux-gnu:/usr/local/lib:/lib:/usr/lib",
		 runpath || !rpath ? "" : rpath, llp ? llp : "",
		 runpath ? runpath : "");
	for (const char *p = dirs; *p;) {
		size_t n = strcspn(p, ":");
		char dir[4096], cand[8300];
		snprintf(dir, sizeof(dir), "%.*s", (int)n, p);
		if (strncmp(dir, "$ORIGIN", 7) == 0)
			snprintf(cand, sizeof(cand), "%s%s/%s", origin, dir + 7, need);
		else if (strncmp(dir, "${ORIGIN}", 9) == 0)
			snprintf(cand, sizeof(cand), "%s%s/%s", origin, dir + 9, need);
		else
			snprintf(cand, sizeof(cand), "%s/%s", dir, need);
		if (n && defines_track(cand, f))
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

int launch_find_interpreter(const char *cmd, struct watch_file *f,
			    struct nd_err *e)
{
	char exe[4096];

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return nd_fail(e, ND_ETARGET, "libelf: %s", elf_errmsg(-1));
	if (find_program(cmd, exe, sizeof(exe)))
		return nd_fail(e, ND_ETARGET, "%s: command not found", cmd);
	char real[4096];
	if (realpath(exe, real))
		snprintf(exe, sizeof(exe), "%s", real);
	if (defines_track(exe, f))
		return 0;
	int fd = open_regular(exe);
	Elf *elf = fd >= 0 ? elf_begin(fd, ELF_C_READ_MMAP, NULL) : NULL;
	bool found = elf && needed_libpython(elf, exe, f);
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
	if (!found)
		return nd_fail(e, ND_ETARGET, "%s is not a Python interpreter "
			       "(neither it nor a libpython it links defines "
			       "PyTraceMalloc_Track); give the python command "
			       "itself", exe);
	return 0;
}

void launch_file_close(struct watch_file *f)
{
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
	f->elf = NULL;
	f->fd = -1;
}

int launch_held(char **argv, struct launch *l, struct nd_err *e)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		return nd_fail(e, ND_ETARGET, "pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return nd_fail(e, ND_ETARGET, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		char go;
		close(p[1]);
		/* held here until the probes are in; no byte: ndspy is gone */
		if (read(p[0], &go, 1) != 1)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "ndspy: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[0]);
	l->pid = pid;
	l->go = p[1];
	return 0;
}

void launch_release(struct launch *l)
{
	char go = 1;

	if (l->go >= 0 && write(l->go, &go, 1) < 0) {
		/* the child died meanwhile: waitpid tells */
	}
	if (l->go >= 0)
		close(l->go);
	l->go = -1;
}

void launch_abort(struct launch *l)
{
	if (l->go >= 0)
		close(l->go); /* the child exits without running anything */
	l->go = -1;
	if (l->pid > 0)
		waitpid(l->pid, NULL, 0);
	l->pid = 0;
}

int launch_reap(struct launch *l, int *status)
{
	int st;

	if (l->pid <= 0 || waitpid(l->pid, &st, WNOHANG) != l->pid)
		return 0;
	l->pid = 0;
	*status = st;
	return 1;
}
