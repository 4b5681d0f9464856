#include "snapshot_file.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>

#include "../decode/buf.h"
#include "spool.h"

#define PAGE SNAPSHOT_PAGE
#define NOTE_ALIGN 4

/* A run of kept bytes of one region: one PT_LOAD. */
struct run {
	uint64_t start, len;
	uint32_t flags;
};

uint64_t snapshot_file_keeps(const struct region *r)
{
	if (r->kind != R_FILE || r->perms[1] == 'w')
		return r->end;
	/* a file's first page (its ELF header), for readers to check the
	 * file against; the rest of a read-only mapping is the file's */
	return r->offset == 0 ? r->start + SNAPSHOT_PAGE : r->start;
}

static void note(struct nd_buf *b, const char *name, uint32_t type,
		 const void *desc, size_t len)
{
	static const char zero[NOTE_ALIGN];
	uint32_t h[3] = {(uint32_t)strlen(name) + 1, (uint32_t)len, type};

	nd_buf_add(b, h, sizeof(h));
	nd_buf_add(b, name, h[0]);
	nd_buf_add(b, zero, (NOTE_ALIGN - h[0] % NOTE_ALIGN) % NOTE_ALIGN);
	nd_buf_add(b, desc, len);
	nd_buf_add(b, zero, (NOTE_ALIGN - len % NOTE_ALIGN) % NOTE_ALIGN);
}

static void put64(struct nd_buf *b, uint64_t v)
{
	nd_buf_add(b, &v, 8);
}

/* NT_FILE: count, page size, (start, end, page offset) per file mapping,
 * then their names. */
static void file_note(struct nd_buf *out, const struct maps *m)
{
	struct nd_buf d = {0};
	uint64_t n = 0;

	for (size_t i = 0; i < m->n; i++)
		n += m->r[i].kind == R_FILE;
	put64(&d, n);
	put64(&d, PAGE);
	for (size_t i = 0; i < m->n; i++) {
		const struct region *r = &m->r[i];
		if (r->kind != R_FILE)
			continue;
		put64(&d, r->start);
		put64(&d, r->end);
		put64(&d, r->offset / PAGE);
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct region *r = &m->r[i];
		if (r->kind != R_FILE)
			continue;
		nd_buf_puts(&d, r->path);
		if (r->deleted)
			nd_buf_puts(&d, " (deleted)");
		nd_buf_add(&d, "", 1);
	}
	note(out, "CORE", NT_FILE, d.p, d.len);
	nd_buf_free(&d);
}

/* The map: version, count, then per region start, end, offset, inode,
 * dev major and minor, kind, deleted, perms, path length, path, padded
 * to 8 bytes. */
static void maps_note(struct nd_buf *out, const struct maps *m)
{
	static const char zero[8];
	struct nd_buf d = {0};
	uint32_t head[2] = {1, (uint32_t)m->n};

	nd_buf_add(&d, head, sizeof(head));
	for (size_t i = 0; i < m->n; i++) {
		const struct region *r = &m->r[i];
		uint16_t plen = r->path ? (uint16_t)strnlen(r->path, 4095) : 0;
		uint32_t dev[2] = {r->dev_major, r->dev_minor};
		uint8_t kd[2] = {(uint8_t)r->kind, r->deleted};
		put64(&d, r->start);
		put64(&d, r->end);
		put64(&d, r->offset);
		put64(&d, r->inode);
		nd_buf_add(&d, dev, sizeof(dev));
		nd_buf_add(&d, kd, sizeof(kd));
		nd_buf_add(&d, r->perms, 4);
		nd_buf_add(&d, &plen, sizeof(plen));
		nd_buf_add(&d, r->path ? r->path : "", plen);
		nd_buf_add(&d, zero, (8 - plen % 8) % 8);
	}
	note(out, SNAPSHOT_NOTE_NAME, SNAPSHOT_NOTE_MAPS, d.p, d.len);
	nd_buf_free(&d);
}

static void notes(struct nd_buf *b, const struct snapshot_meta *m)
{
	for (size_t i = 0; i < m->nthr; i++) {
		struct elf_prstatus st;
		memset(&st, 0, sizeof(st));
		st.pr_pid = m->thr[i].tid;
		st.pr_ppid = m->ppid;
		st.pr_pgrp = st.pr_sid = m->pid;
		st.pr_cursig = (short)m->thr[i].sig;
		st.pr_info.si_signo = m->thr[i].sig;
		memcpy(&st.pr_reg, &m->thr[i].regs, sizeof(st.pr_reg));
		note(b, "CORE", NT_PRSTATUS, &st, sizeof(st));
	}
	struct elf_prpsinfo ps;
	memset(&ps, 0, sizeof(ps));
	ps.pr_state = 0;
	ps.pr_sname = 'R';
	ps.pr_pid = m->pid;
	ps.pr_ppid = m->ppid;
	ps.pr_pgrp = ps.pr_sid = m->pid;
	ps.pr_uid = m->uid;
	ps.pr_gid = m->gid;
	memcpy(ps.pr_fname, m->comm, sizeof(ps.pr_fname));
	memcpy(ps.pr_psargs, m->args, sizeof(ps.pr_psargs));
	note(b, "CORE", NT_PRPSINFO, &ps, sizeof(ps));
	if (m->auxv_len)
		note(b, "CORE", NT_AUXV, m->auxv, m->auxv_len);
	file_note(b, m->maps);
	maps_note(b, m->maps);
}

static uint32_t seg_flags(const struct region *r)
{
	return (r->perms[0] == 'r' ? PF_R : 0) | (r->perms[1] == 'w' ? PF_W : 0) |
	       (r->perms[2] == 'x' ? PF_X : 0);
}

/* The runs of kept bytes the file holds, in address order, each within
 * one region. */
static int runs_of(const struct snapshot *s, const struct maps *m,
		   struct run **out, size_t *n)
{
	struct snapshot_run *kept;
	size_t nk, cap = 0;

	*out = NULL;
	*n = 0;
	if (snapshot_runs(s, &kept, &nk))
		return -1;
	for (size_t i = 0; i < nk; i++) {
		uint64_t a = kept[i].addr, end = a + kept[i].len;
		while (a < end) {
			const struct region *r = maps_find(m, a);
			if (!r) {
				a += SNAPSHOT_LINE; /* read, then unmapped? */
				continue;
			}
			uint64_t stop = end < r->end ? end : r->end;
			uint64_t keep = snapshot_file_keeps(r);
			uint64_t to = stop < keep ? stop : keep;
			if (to > a) {
				if (*n == cap) {
					cap = cap ? 2 * cap : 256;
					struct run *p = realloc(*out, cap * sizeof(*p));
					if (!p) {
						free(kept);
						return -1;
					}
					*out = p;
				}
				(*out)[(*n)++] = (struct run){a, to - a,
							      seg_flags(r)};
			}
			a = stop;
		}
	}
	free(kept);
	return 0;
}

static int write_or_fail(int fd, const void *p, size_t len, struct nd_err *e)
{
	if (write_all(fd, p, len))
		return nd_fail(e, ND_EIO, "cannot write the snapshot: %s",
			       strerror(errno));
	return 0;
}

int snapshot_file_write(int fd, const struct snapshot *s,
			const struct snapshot_meta *m, uint64_t *bytes,
			struct nd_err *e)
{
	struct nd_buf head = {0}, nb = {0};
	struct run *runs;
	size_t nruns;
	int rc = 0;

	if (runs_of(s, m->maps, &runs, &nruns))
		return nd_fail(e, ND_ENOMEM, "out of memory");
	notes(&nb, m);
	size_t phnum = nruns + 1;
	/* past 65534 segments, the count goes in section header 0 */
	bool xnum = phnum >= PN_XNUM;
	uint64_t phoff = sizeof(Elf64_Ehdr);
	uint64_t note_off = phoff + phnum * sizeof(Elf64_Phdr);
	uint64_t data = (note_off + nb.len + PAGE - 1) & ~(uint64_t)(PAGE - 1);
	uint64_t end = data;
	for (size_t i = 0; i < nruns; i++)
		end += runs[i].len;
	Elf64_Ehdr eh = {
		.e_ident = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64,
			    ELFDATA2LSB, EV_CURRENT, ELFOSABI_NONE},
		.e_type = ET_CORE, .e_machine = EM_X86_64,
		.e_version = EV_CURRENT, .e_phoff = phoff,
		.e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr),
		.e_phnum = xnum ? PN_XNUM : (Elf64_Half)phnum,
	};
	if (xnum) {
		eh.e_shoff = end;
		eh.e_shentsize = sizeof(Elf64_Shdr);
		eh.e_shnum = 1;
	}
	nd_buf_add(&head, &eh, sizeof(eh));
	Elf64_Phdr ph = {.p_type = PT_NOTE, .p_offset = note_off,
			 .p_filesz = nb.len, .p_align = NOTE_ALIGN};
	nd_buf_add(&head, &ph, sizeof(ph));
	uint64_t off = data;
	for (size_t i = 0; i < nruns; i++) {
		ph = (Elf64_Phdr){.p_type = PT_LOAD, .p_flags = runs[i].flags,
				  .p_offset = off, .p_vaddr = runs[i].start,
				  .p_filesz = runs[i].len, .p_memsz = runs[i].len,
				  .p_align = SNAPSHOT_LINE};
		nd_buf_add(&head, &ph, sizeof(ph));
		off += runs[i].len;
	}
	nd_buf_add(&head, nb.p, nb.len);
	static const char zero[PAGE];
	nd_buf_add(&head, zero, data - head.len);
	if (head.oom || nb.oom)
		rc = nd_fail(e, ND_ENOMEM, "out of memory");
	if (!rc)
		rc = write_or_fail(fd, head.p, head.len, e);
	static unsigned char buf[1 << 16];
	for (size_t i = 0; !rc && i < nruns; i++)
		for (uint64_t p = 0; !rc && p < runs[i].len; p += sizeof(buf)) {
			size_t n = runs[i].len - p < sizeof(buf)
					   ? (size_t)(runs[i].len - p) : sizeof(buf);
			if (snapshot_copy(s, runs[i].start + p, buf, n))
				rc = nd_fail(e, ND_EIO, "the snapshot lost what it "
					     "kept at 0x%llx",
					     (unsigned long long)(runs[i].start + p));
			else
				rc = write_or_fail(fd, buf, n, e);
		}
	if (!rc && xnum) {
		Elf64_Shdr sh = {.sh_type = SHT_NULL, .sh_size = 1,
				 .sh_info = (Elf64_Word)phnum};
		rc = write_or_fail(fd, &sh, sizeof(sh), e);
		end += sizeof(sh);
	}
	*bytes = end;
	nd_buf_free(&head);
	nd_buf_free(&nb);
	free(runs);
	return rc;
}

int snapshot_file_maps(const unsigned char *desc, size_t len, struct maps *m,
		       struct nd_err *e)
{
	uint32_t head[2];
	size_t at = sizeof(head);

	memset(m, 0, sizeof(*m));
	if (len < sizeof(head))
		goto bad;
	memcpy(head, desc, sizeof(head));
	/* a region takes at least 48 bytes: the count cannot exceed that */
	if (head[0] != 1 || head[1] > len / 48)
		goto bad;
	m->r = calloc(head[1] ? head[1] : 1, sizeof(*m->r));
	if (!m->r)
		return nd_fail(e, ND_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < head[1]; i++) {
		struct region *r = &m->r[i];
		uint32_t dev[2];
		uint16_t plen;
		if (len - at < 48)
			goto bad;
		memcpy(&r->start, desc + at, 8);
		memcpy(&r->end, desc + at + 8, 8);
		memcpy(&r->offset, desc + at + 16, 8);
		memcpy(&r->inode, desc + at + 24, 8);
		memcpy(dev, desc + at + 32, 8);
		r->dev_major = dev[0];
		r->dev_minor = dev[1];
		r->kind = desc[at + 40];
		r->deleted = desc[at + 41];
		memcpy(r->perms, desc + at + 42, 4);
		memcpy(&plen, desc + at + 46, 2);
		at += 48;
		size_t padded = ((size_t)plen + 7) / 8 * 8;
		if (len - at < padded || r->start >= r->end ||
		    r->kind > R_OTHER || (i && r->start < m->r[i - 1].end))
			goto bad;
		if (plen && !(r->path = strndup((const char *)desc + at, plen))) {
			maps_free(m);
			return nd_fail(e, ND_ENOMEM, "out of memory");
		}
		at += padded;
		m->n++;
	}
	return 0;
bad:
	maps_free(m);
	return nd_fail(e, ND_ETARGET, "its map (the NDSPY note) is damaged");
}
