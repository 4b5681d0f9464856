/* Reading a core file's structure with libelf: its PT_LOAD segments and
 * the notes that say what the process was (threads and their registers,
 * the command, the auxiliary vector, the mapped files). Everything in the
 * file is untrusted: sizes are checked against the file before use. */
#define _GNU_SOURCE
#include "core.h"

#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "snapshot_file.h"

#define MAX_SEGS (1u << 20)
#define MAX_NOTES (64u << 20) /* bytes of notes we read, in all */
#define MAX_THREADS (1u << 16)
#define MAX_FILE_MAPS (1u << 20) /* NT_FILE entries (vm.max_map_count
				  * is 65530 by default) */
#define USER_END (1ull << 56)    /* above: the kernel's (vsyscall) */

static int fail(struct core *c, struct nd_err *e, const char *what)
{
	return nd_fail(e, ND_ETARGET, "core %s: %s", c->path, what);
}

static int cmp_seg(const void *a, const void *b)
{
	const struct core_seg *x = a, *y = b;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static int cmp_map(const void *a, const void *b)
{
	const struct core_map *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int read_segments(struct core *c, Elf *elf, struct nd_err *e)
{
	GElf_Ehdr eh;
	size_t nph;

	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
	    eh.e_type != ET_CORE)
		return fail(c, e, "not an ELF core file");
	if (gelf_getclass(elf) != ELFCLASS64 || eh.e_machine != EM_X86_64)
		return fail(c, e, "not an x86-64 core (ndspy reads 64-bit x86 "
				  "processes only)");
	if (elf_getphdrnum(elf, &nph) || nph > MAX_SEGS)
		return fail(c, e, "unreadable program headers");
	c->seg = calloc(nph ? nph : 1, sizeof(*c->seg));
	if (!c->seg)
		return nd_fail(e, ND_ENOMEM, "out of memory");
	uint64_t need = 0;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph))
			return fail(c, e, "unreadable program header");
		if (ph.p_type != PT_LOAD || !ph.p_memsz || ph.p_vaddr >= USER_END)
			continue;
		/* a kernel's or gdb's segments are page aligned, ndspy
		 * snapshot's to 64-byte lines */
		if (ph.p_filesz > ph.p_memsz || ph.p_offset + ph.p_filesz < ph.p_offset ||
		    ph.p_vaddr + ph.p_memsz > USER_END || (ph.p_vaddr & 63))
			return fail(c, e, "a segment's address or sizes make no "
					  "sense: the file is damaged");
		if (ph.p_offset + ph.p_filesz > need)
			need = ph.p_offset + ph.p_filesz;
		c->seg[c->nseg++] = (struct core_seg){
			ph.p_vaddr, ph.p_memsz, ph.p_offset, ph.p_filesz,
			ph.p_flags};
	}
	if (need > c->size) {
		char msg[200];
		snprintf(msg, sizeof(msg),
			 "truncated: the file has %llu bytes, its segments "
			 "need %llu (the dump was cut short: ulimit -c, or a "
			 "full disk)",
			 (unsigned long long)c->size, (unsigned long long)need);
		return fail(c, e, msg);
	}
	qsort(c->seg, c->nseg, sizeof(*c->seg), cmp_seg);
	for (size_t i = 1; i < c->nseg; i++)
		if (c->seg[i].vaddr < c->seg[i - 1].vaddr + c->seg[i - 1].memsz)
			return fail(c, e, "two of its segments overlap: the file "
					  "is damaged or forged");
	return 0;
}

static int add_thread(struct core *c, const void *desc, size_t len)
{
	struct elf_prstatus st;

	if (len < sizeof(st) || c->nthr >= MAX_THREADS)
		return 0;
	memcpy(&st, desc, sizeof(st));
	struct core_thread *p = realloc(c->thr, (c->nthr + 1) * sizeof(*p));
	if (!p)
		return -1;
	c->thr = p;
	p[c->nthr].tid = st.pr_pid;
	p[c->nthr].cursig = st.pr_cursig;
	memcpy(&p[c->nthr].regs, &st.pr_reg, sizeof(p[c->nthr].regs));
	c->nthr++;
	return 0;
}

static int read_auxv(struct core *c, const uint8_t *desc, size_t len)
{
	if (c->auxv)
		return 0;
	if (!(c->auxv = malloc(len ? len : 1)))
		return -1;
	memcpy(c->auxv, desc, len);
	c->auxv_len = len;
	for (size_t i = 0; i + 16 <= len; i += 16) {
		uint64_t type, val;
		memcpy(&type, desc + i, 8);
		memcpy(&val, desc + i + 8, 8);
		if (type == AT_ENTRY)
			c->at_entry = val;
		else if (type == AT_SYSINFO_EHDR)
			c->at_sysinfo_ehdr = val;
		else if (type == AT_EXECFN)
			c->at_execfn = val;
	}
	return 0;
}

/* The file of that name among the last few added (a file's mappings are
 * adjacent; a name seen again farther back just gets a second entry,
 * which keeps this linear on hostile notes). */
static size_t recent_file(const struct core *c, const char *name, size_t len)
{
	for (size_t k = 0; k < 8 && k < c->nfiles; k++) {
		size_t f = c->nfiles - 1 - k;
		if (strlen(c->files[f].path) == len &&
		    strncmp(c->files[f].path, name, len) == 0)
			return f;
	}
	return c->nfiles;
}

/* NT_FILE: count, page size, count (start, end, page offset) triples, then
 * count NUL-terminated names. Names repeat per mapping; files[] holds each
 * once (nearly: see recent_file). */
static int read_files(struct core *c, const uint8_t *desc, size_t len)
{
	uint64_t count, page;

	if (len < 16 || c->map)
		return 0;
	memcpy(&count, desc, 8);
	memcpy(&page, desc + 8, 8);
	if (count > (len - 16) / 24 || count > MAX_FILE_MAPS || !page ||
	    page > (1u << 30))
		return 0;
	const char *name = (const char *)desc + 16 + count * 24;
	const char *end = (const char *)desc + len;
	c->map = calloc(count ? count : 1, sizeof(*c->map));
	c->files = calloc(count ? count : 1, sizeof(*c->files));
	if (!c->map || !c->files)
		return -1;
	for (uint64_t i = 0; i < count && name < end; i++) {
		const char *nul = memchr(name, '\0', (size_t)(end - name));
		if (!nul)
			break;
		uint64_t t[3];
		memcpy(t, desc + 16 + i * 24, sizeof(t));
		size_t plen = (size_t)(nul - name);
		bool deleted = plen > 10 && strcmp(nul - 10, " (deleted)") == 0;
		if (deleted)
			plen -= 10;
		size_t f = recent_file(c, name, plen);
		if (f == c->nfiles) {
			c->files[f].path = strndup(name, plen);
			if (!c->files[f].path)
				return -1;
			c->files[f].deleted = deleted;
			c->files[f].fd = -1;
			c->files[f].head = UINT64_MAX;
			c->nfiles++;
		}
		if (t[1] > t[0] && t[2] < UINT64_MAX / page) {
			c->map[c->nmap++] = (struct core_map){t[0], t[1],
							      t[2] * page, f};
			if (!t[2] && c->files[f].head == UINT64_MAX)
				c->files[f].head = t[0];
		}
		name = nul + 1;
	}
	qsort(c->map, c->nmap, sizeof(*c->map), cmp_map);
	return 0;
}

static int read_notes(struct core *c, Elf *elf, struct nd_err *e)
{
	size_t nph;
	uint64_t budget = MAX_NOTES;

	elf_getphdrnum(elf, &nph);
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		if (ph.p_offset > c->size || ph.p_filesz > c->size - ph.p_offset)
			return fail(c, e, "truncated: its notes are cut off");
		if (ph.p_filesz > budget)
			return fail(c, e, "more notes than a process writes: the "
					  "file is damaged");
		budget -= ph.p_filesz;
		uint8_t *buf = malloc(ph.p_filesz ? ph.p_filesz : 1);
		if (!buf)
			return nd_fail(e, ND_ENOMEM, "out of memory");
		if (pread(c->fd, buf, ph.p_filesz, (off_t)ph.p_offset) !=
		    (ssize_t)ph.p_filesz) {
			free(buf);
			return fail(c, e, "cannot read its notes");
		}
		size_t off = 0;
		int rc = 0;
		while (!rc && off + 12 <= ph.p_filesz) {
			uint32_t nh[3]; /* namesz, descsz, type */
			memcpy(nh, buf + off, sizeof(nh));
			size_t name_at = off + 12;
			size_t desc_at = name_at + ((nh[0] + 3u) & ~3u);
			size_t next = desc_at + ((nh[1] + 3u) & ~3u);
			if (desc_at > ph.p_filesz || nh[1] > ph.p_filesz - desc_at)
				break;
			const uint8_t *desc = buf + desc_at;
			if (nh[2] == NT_PRSTATUS)
				rc = add_thread(c, desc, nh[1]);
			else if (nh[2] == NT_AUXV)
				rc = read_auxv(c, desc, nh[1]);
			else if (nh[2] == SNAPSHOT_NOTE_MAPS && !c->snapshot &&
				 nh[0] == sizeof(SNAPSHOT_NOTE_NAME) &&
				 memcmp(buf + name_at, SNAPSHOT_NOTE_NAME,
					sizeof(SNAPSHOT_NOTE_NAME)) == 0) {
				struct nd_err me = {0};
				if (snapshot_file_maps(desc, nh[1], &c->smaps, &me)) {
					free(buf);
					return fail(c, e, me.msg);
				}
				c->snapshot = true;
			}
			else if (nh[2] == NT_FILE)
				rc = read_files(c, desc, nh[1]);
			else if (nh[2] == NT_PRPSINFO && nh[1] >= sizeof(prpsinfo_t)) {
				prpsinfo_t ps;
				memcpy(&ps, desc, sizeof(ps));
				c->pid = ps.pr_pid;
				memcpy(c->fname, ps.pr_fname, 16);
				c->ps = ps;
			}
			off = next;
		}
		free(buf);
		if (rc)
			return nd_fail(e, ND_ENOMEM, "out of memory");
	}
	if (!c->nthr)
		return fail(c, e, "no thread in it (no NT_PRSTATUS note): not a "
				  "process core");
	if (!c->map)
		return fail(c, e, "no NT_FILE note: which files the process had "
				  "mapped is unknown (cores from kernels before "
				  "3.7 lack it)");
	if (!c->pid)
		c->pid = c->thr[0].tid;
	return 0;
}

/* Reading the mapped core past a new end of file raises SIGBUS: a clear
 * error rather than a crash. */
static void on_sigbus(void *arg)
{
	struct core *c = arg;

	if (cleanup_signal() != SIGBUS)
		return;
	if (write(2, c->sigbus_msg, strlen(c->sigbus_msg)) < 0) {
		/* nothing more to say */
	}
	_exit(3);
}

int core_open(const char *path, const char *sysroot, const char *exe,
	      struct core **out, struct nd_err *e)
{
	struct core *c = calloc(1, sizeof(*c));
	struct stat st;

	if (!c)
		return nd_fail(e, ND_ENOMEM, "out of memory");
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->sysroot = sysroot;
	c->exe = exe;
	pthread_mutex_init(&c->lock, NULL);
	c->cleanup = -1;
	c->fd = -1;
	c->fd = open_regular(path);
	if (c->fd < 0) {
		nd_fail(e, ND_ETARGET, "%s: %s", path,
			c->fd == -ENOENT ? "not a process ID, and no such "
					   "file (TARGET is a PID or a core)"
			: c->fd == -EINVAL ? "not a regular file"
					   : strerror(-c->fd));
		core_free(c);
		return -1;
	}
	fstat(c->fd, &st);
	c->size = (uint64_t)st.st_size;
	if (elf_version(EV_CURRENT) == EV_NONE) {
		core_free(c);
		return nd_fail(e, ND_ETARGET, "libelf: %s", elf_errmsg(-1));
	}
	Elf *elf = elf_begin(c->fd, ELF_C_READ, NULL);
	int rc = elf ? read_segments(c, elf, e)
		     : fail(c, e, "not an ELF core file");
	if (!rc)
		rc = read_notes(c, elf, e);
	if (!rc && c->size) {
		/* segments were checked against the size: no access past it,
		 * unless the file shrinks meanwhile (see on_sigbus) */
		void *map = mmap(NULL, c->size, PROT_READ, MAP_PRIVATE, c->fd, 0);
		c->image = map == MAP_FAILED ? NULL : map;
		snprintf(c->sigbus_msg, sizeof(c->sigbus_msg),
			 "ndspy: core %s shrank while it was read (is it "
			 "still being written?)\n", path);
		c->cleanup = c->image ? cleanup_push(on_sigbus, c) : -1;
	}
	if (elf)
		elf_end(elf);
	if (rc) {
		core_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void core_free(struct core *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nfiles; i++) {
		if (c->files[i].fd >= 0)
			close(c->files[i].fd);
		free(c->files[i].path);
		free(c->files[i].tried);
	}
	cleanup_pop(c->cleanup);
	if (c->image)
		munmap((void *)c->image, c->size);
	if (c->fd >= 0)
		close(c->fd);
	pthread_mutex_destroy(&c->lock);
	free(c->files);
	free(c->map);
	free(c->seg);
	free(c->thr);
	free(c->auxv);
	maps_free(&c->smaps);
	free(c);
}

const struct core_map *core_map_at(const struct core *c, uint64_t addr)
{
	size_t lo = 0, hi = c->nmap;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->map[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->nmap && c->map[lo].start <= addr ? &c->map[lo] : NULL;
}

const char *core_exe_path(const struct core *c)
{
	const struct core_map *m = c->at_entry ? core_map_at(c, c->at_entry) : NULL;
	return m ? c->files[m->file].path : "";
}

/* Kinds the kernel names in /proc/PID/maps but a core does not: the
 * stack holds the strings exec put there (AT_EXECFN); the heap is the
 * first anonymous region past the executable and its bss (the kernel
 * starts brk up to 32 MiB beyond it, up to 1 GiB since Linux 6.10). */
static void guess_kinds(struct core *c, struct maps *m)
{
	const char *exe = core_exe_path(c);
	uint64_t exe_end = 0;

	for (size_t i = 0; i < m->n; i++) {
		struct region *r = &m->r[i];
		if (c->at_execfn >= r->start && c->at_execfn < r->end &&
		    r->kind == R_ANON)
			r->kind = R_STACK;
		if (c->at_sysinfo_ehdr && r->start == c->at_sysinfo_ehdr) {
			r->kind = R_OTHER;
			free(r->path);
			r->path = strdup("[vdso]");
		}
		if (r->kind == R_FILE && *exe && strcmp(r->path, exe) == 0)
			exe_end = r->end;
	}
	for (size_t i = 0; exe_end && i < m->n; i++) {
		struct region *r = &m->r[i];
		if (r->start < exe_end || r->kind != R_ANON)
			continue;
		if (r->start == exe_end) { /* the bss */
			exe_end = r->end;
			continue;
		}
		if (r->start - exe_end <= (1ull << 30) + 4096 &&
		    r->perms[1] == 'w')
			r->kind = R_HEAP;
		break;
	}
}

static int cmp_region(const void *a, const void *b)
{
	const struct region *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Every segment is a region; so is every file mapping the dump left out
 * entirely (gcore writes no segment for read-only file mappings): those
 * were readable, and nothing says more. */
/* A snapshot's map, as the note holds it. */
static int snapshot_maps(const struct core *c, struct maps *m,
			 struct nd_err *e)
{
	m->n = 0;
	m->r = calloc(c->smaps.n ? c->smaps.n : 1, sizeof(*m->r));
	if (!m->r)
		return nd_fail(e, ND_ENOMEM, "out of memory");
	for (size_t i = 0; i < c->smaps.n; i++) {
		m->r[i] = c->smaps.r[i];
		m->r[i].path = NULL;
		m->n++;
		if (c->smaps.r[i].path &&
		    !(m->r[i].path = strdup(c->smaps.r[i].path))) {
			maps_free(m);
			return nd_fail(e, ND_ENOMEM, "out of memory");
		}
	}
	return 0;
}

int core_maps(struct core *c, struct maps *m, struct nd_err *e)
{
	if (c->snapshot)
		return snapshot_maps(c, m, e);
	m->n = 0;
	m->r = calloc(c->nseg + c->nmap + 1, sizeof(*m->r));
	if (!m->r)
		return nd_fail(e, ND_ENOMEM, "out of memory");
	for (size_t i = 0; i < c->nseg; i++) {
		const struct core_seg *s = &c->seg[i];
		struct region *r = &m->r[m->n++];
		r->start = s->vaddr;
		r->end = s->vaddr + s->memsz;
		snprintf(r->perms, sizeof(r->perms), "%c%c%cp",
			 s->flags & PF_R ? 'r' : '-', s->flags & PF_W ? 'w' : '-',
			 s->flags & PF_X ? 'x' : '-');
		r->kind = R_ANON;
	}
	size_t nseg = m->n;
	for (size_t i = 0; i < c->nmap; i++) {
		const struct core_map *f = &c->map[i];
		/* the first segment ending past the mapping's start */
		size_t lo = 0, hi = nseg;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (m->r[mid].end <= f->start)
				lo = mid + 1;
			else
				hi = mid;
		}
		struct region *r = lo < nseg && m->r[lo].start == f->start
					   ? &m->r[lo] : NULL;
		if ((!r && lo < nseg && m->r[lo].start < f->end) || (r && r->path))
			continue; /* overlaps a segment it does not start */
		if (!r) {
			r = &m->r[m->n++];
			r->start = f->start;
			r->end = f->end;
			snprintf(r->perms, sizeof(r->perms), "r--p");
		}
		r->kind = R_FILE;
		r->offset = f->offset;
		r->deleted = c->files[f->file].deleted;
		r->path = strdup(c->files[f->file].path);
		if (!r->path) {
			maps_free(m);
			return nd_fail(e, ND_ENOMEM, "out of memory");
		}
	}
	qsort(m->r, m->n, sizeof(*m->r), cmp_region);
	guess_kinds(c, m);
	return 0;
}
