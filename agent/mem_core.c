/* A core file's memory: bytes the dump holds come from its segments; the
 * pages it left out of file-backed mappings (the read-only parts of the
 * binary and its libraries, usually) from those files, found under
 * --sysroot and checked against the first page the core kept of each. */
#define _GNU_SOURCE
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fileio.h"
#include "snapshot_file.h"

#define PAGE 4096u

/* The first segment ending past addr (it may start after addr). */
static size_t seg_from(const struct core *c, uint64_t addr)
{
	size_t lo = 0, hi = c->nseg;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->seg[mid].vaddr + c->seg[mid].memsz <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct core_seg *seg_at(const struct core *c, uint64_t addr)
{
	size_t i = seg_from(c, addr);

	return i < c->nseg && c->seg[i].vaddr <= addr ? &c->seg[i] : NULL;
}

/* The file's first page must be the one the core kept of its mapping at
 * offset 0 (the ELF header, program headers and build-id note): if not,
 * the file was replaced since, and its other pages would be lies. */
static int verify(struct core *c, size_t fi, int fd, struct nd_err *e)
{
	uint64_t head = c->files[fi].head;
	const struct core_seg *s = head == UINT64_MAX ? NULL : seg_at(c, head);
	uint8_t a[PAGE], b[PAGE];

	if (!s || s->vaddr != head || !s->filesz) {
		/* nothing to compare with (gcore keeps no page of read-only
		 * mappings): what is read of it is the file as it is now */
		fprintf(stderr, "ndspy: core %s: %s is read as it is now: the "
				"core kept no page of it to check it against\n",
			c->path, c->files[fi].path);
		return 0;
	}
	size_t n = s->filesz < PAGE ? (size_t)s->filesz : PAGE;
	if (pread_full(c->fd, a, n, s->offset))
		return nd_fail(e, ND_ETARGET, "core %s cannot be read: it "
			       "changed since ndspy opened it", c->path);
	if (pread_full(fd, b, n, 0) || memcmp(a, b, n))
		return nd_fail(e, ND_ETARGET,
			       "core %s: %s is not the file the process had "
			       "mapped (it changed since the core was written); "
			       "give the original files with --sysroot DIR%s",
			       c->path, c->files[fi].path,
			       c->exe ? "" : " or --exe PATH");
	return 0;
}

/* Opens file fi where it is for us: --exe for the executable, else the
 * path the core names, under the sysroot if one was given: resolved
 * inside it, so that no "..", no symlink of a hostile core's files leads
 * out. out: the path for messages. -errno when it cannot be opened. */
static int locate(const struct core *c, size_t fi, char *out, size_t cap)
{
	const char *p = c->files[fi].path;

	if (c->exe && strcmp(p, core_exe_path(c)) == 0) {
		snprintf(out, cap, "%s", c->exe);
		return open_regular(c->exe);
	}
	snprintf(out, cap, "%s%s", c->sysroot ? c->sysroot : "", p);
	return c->sysroot ? open_in_root(c->sysroot, p) : open_regular(p);
}

/* Opens file fi once; later calls get the same fd or the same error.
 * Without e (a read that needed the file) the error is said once here,
 * as nothing else would name the file. */
static int open_file(struct core *c, size_t fi, struct nd_err *e)
{
	struct core_file *f = &c->files[fi];
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	if (!f->tried && (f->tried = calloc(1, sizeof(*f->tried)))) {
		struct core_file_tried *t = f->tried;
		int fd = locate(c, fi, t->resolved, sizeof(t->resolved));
		if (fd < 0)
			nd_fail(&t->err, ND_ETARGET,
				"core %s: needs %s%s, which cannot be opened "
				"(%s); %s",
				c->path, t->resolved,
				f->deleted ? " (deleted before the dump)" : "",
				strerror(-fd),
				c->sysroot ? "is --sysroot the target's root?"
					   : "give the target's files with "
					     "--sysroot DIR or --exe PATH");
		else if (verify(c, fi, fd, &t->err))
			close(fd);
		else
			f->fd = fd;
		if (f->fd < 0 && !e)
			fprintf(stderr, "ndspy: %s\n", t->err.msg);
	}
	if (f->fd < 0) {
		if (!f->tried)
			rc = nd_fail(e, ND_ENOMEM, "out of memory");
		else
			rc = nd_fail(e, f->tried->err.code, "%s",
				     f->tried->err.msg);
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int core_file_open(struct core *c, const struct region *r, char *resolved,
		   size_t cap, int *fd, struct nd_err *e)
{
	const struct core_map *m = core_map_at(c, r->start);

	if (!m)
		return nd_fail(e, ND_ETARGET, "mapping at 0x%llx has no file",
			       (unsigned long long)r->start);
	if (open_file(c, m->file, e))
		return -1;
	*fd = dup(c->files[m->file].fd);
	if (*fd < 0)
		return nd_fail(e, ND_ETARGET, "dup: %s", strerror(errno));
	snprintf(resolved, cap, "%s", c->files[m->file].tried->resolved);
	return 0;
}

/* What a snapshot holds no segment for: -EFAULT unmapped, -ENODATA not
 * captured, 0 its file's (past what the file keeps of a read-only file
 * mapping: the file holds it as the process saw it). */
static int not_kept(const struct core *c, uint64_t addr)
{
	const struct region *r = maps_find(&c->smaps, addr);

	if (!r)
		return -EFAULT;
	return addr < snapshot_file_keeps(r) ? -ENODATA : 0;
}

/* Reads in pieces: the bytes a segment holds from the core, the rest of a
 * file-backed mapping (left out of the dump, or with no segment at all, as
 * gcore does for read-only mappings) from its file. */
static int core_read(struct mem *mm, uint64_t addr, void *buf, size_t len)
{
	struct core *c = (struct core *)mm;

	while (len) {
		size_t i = seg_from(c, addr);
		const struct core_seg *s = i < c->nseg ? &c->seg[i] : NULL;
		uint64_t n = len;
		int rc;
		if (s && s->vaddr <= addr && addr - s->vaddr < s->filesz) {
			uint64_t off = addr - s->vaddr;
			if (n > s->filesz - off)
				n = s->filesz - off;
			rc = pread_full(c->fd, buf, (size_t)n, s->offset + off);
		} else {
			const struct core_map *m = core_map_at(c, addr);
			if (c->snapshot && (rc = not_kept(c, addr)))
				return rc;
			if (!m || open_file(c, m->file, NULL))
				return -EFAULT;
			uint64_t stop = m->end;
			if (s && s->vaddr <= addr && s->vaddr + s->memsz < stop)
				stop = s->vaddr + s->memsz;
			else if (s && s->vaddr > addr && s->vaddr < stop)
				stop = s->vaddr;
			if (n > stop - addr)
				n = stop - addr;
			/* past the file's end the process would have had
			 * SIGBUS: unreadable */
			rc = pread_full(c->files[m->file].fd, buf, (size_t)n,
					m->offset + (addr - m->start));
		}
		if (rc)
			return rc;
		addr += n;
		buf = (char *)buf + n;
		len -= (size_t)n;
	}
	return 0;
}

/* Scans read big ranges in place rather than copy them: a core's bytes
 * are already in the page cache. */
static const void *core_view(struct mem *mm, uint64_t addr, size_t len)
{
	struct core *c = (struct core *)mm;
	size_t i = seg_from(c, addr);

	if (!c->image || i >= c->nseg)
		return NULL;
	const struct core_seg *s = &c->seg[i];
	if (s->vaddr > addr || addr - s->vaddr > s->filesz ||
	    len > s->filesz - (addr - s->vaddr))
		return NULL;
	return c->image + s->offset + (addr - s->vaddr);
}

static void core_close(struct mem *m)
{
	core_free((struct core *)m);
}

static bool core_present(struct mem *mm, uint64_t addr, uint64_t end,
			 uint64_t *lo, uint64_t *hi)
{
	struct core *c = (struct core *)mm;

	for (size_t i = seg_from(c, addr); i < c->nseg && c->seg[i].vaddr < end;
	     i++) {
		const struct core_seg *s = &c->seg[i];
		uint64_t a = s->vaddr > addr ? s->vaddr : addr;
		uint64_t b = s->vaddr + s->filesz < end ? s->vaddr + s->filesz
							 : end;
		if (a < b) {
			*lo = a;
			*hi = b;
			return true;
		}
	}
	return false;
}

struct mem *core_mem(struct core *c)
{
	c->m.read = core_read;
	c->m.readv = mem_readv_each;
	c->m.close = core_close;
	c->m.view = core_view;
	c->m.present = core_present;
	c->m.how = "the core file";
	return &c->m;
}
