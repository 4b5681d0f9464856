/* Native backtraces with libunwind's remote API, over ndspy's own view of
 * the target: memory from its memory source (live or core), registers as
 * the freeze or the core's NT_PRSTATUS gave them, unwind tables from each
 * mapped object's .eh_frame_hdr (found through its file, read through the
 * target's memory). libunwind-coredump cannot do this for gcore's cores
 * (it needs a PT_LOAD for every code mapping, which gdb does not write)
 * and neither it nor libunwind-ptrace reads files through /proc/PID/root
 * or --sysroot; see README.md. */
#define _GNU_SOURCE
#include "unwind.h"

#include <elf.h>
#include <gelf.h>
#include <libelf.h>
#include <libunwind.h>
#include <stdlib.h>
#include <string.h>

#include "elf.h"
#include "target.h"

/* Exported by libunwind-x86_64 (libunwind-ptrace and -coredump find their
 * tables with it) but not declared in its installed headers. */
extern int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as,
					      unw_word_t ip,
					      unw_dyn_info_t *di,
					      unw_proc_info_t *pi,
					      int need_unwind_info, void *arg);

#define MAX_OBJECTS 1024

/* One mapped object's unwind table, looked up once. */
struct eh_object {
	uint64_t start, end; /* the object's mappings */
	uint64_t hdr, table, nfde;
	bool ok;
};

struct unwinder {
	const struct target *t;
	const struct user_regs_struct *regs; /* the thread being unwound */
	unw_addr_space_t as;
	struct eh_object obj[MAX_OBJECTS];    /* shared by all threads */
	size_t nobj;
};

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val,
		      int write, void *arg)
{
	struct unwinder *u = arg;
	(void)as;
	if (write)
		return -UNW_EINVAL;
	return u->t->mem->read(u->t->mem, addr, val, sizeof(*val)) ? -UNW_EINVAL
								   : 0;
}

static int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val,
		      int write, void *arg)
{
	const struct user_regs_struct *r = ((struct unwinder *)arg)->regs;
	(void)as;
	if (write)
		return -UNW_EINVAL;
	switch (reg) {
	case UNW_X86_64_RAX: *val = r->rax; break;
	case UNW_X86_64_RDX: *val = r->rdx; break;
	case UNW_X86_64_RCX: *val = r->rcx; break;
	case UNW_X86_64_RBX: *val = r->rbx; break;
	case UNW_X86_64_RSI: *val = r->rsi; break;
	case UNW_X86_64_RDI: *val = r->rdi; break;
	case UNW_X86_64_RBP: *val = r->rbp; break;
	case UNW_X86_64_RSP: *val = r->rsp; break;
	case UNW_X86_64_R8: *val = r->r8; break;
	case UNW_X86_64_R9: *val = r->r9; break;
	case UNW_X86_64_R10: *val = r->r10; break;
	case UNW_X86_64_R11: *val = r->r11; break;
	case UNW_X86_64_R12: *val = r->r12; break;
	case UNW_X86_64_R13: *val = r->r13; break;
	case UNW_X86_64_R14: *val = r->r14; break;
	case UNW_X86_64_R15: *val = r->r15; break;
	case UNW_X86_64_RIP: *val = r->rip; break;
	default: return -UNW_EBADREG;
	}
	return 0;
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t reg,
			unw_fpreg_t *val, int write, void *arg)
{
	(void)as, (void)reg, (void)val, (void)write, (void)arg;
	return -UNW_EBADREG;
}

static int resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	(void)as, (void)c, (void)arg;
	return -UNW_EINVAL; /* we never touch the target */
}

static int no_info(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
	(void)as, (void)addr, (void)arg;
	return -UNW_ENOINFO;
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi,
			    void *arg)
{
	(void)as, (void)pi, (void)arg; /* tables are libunwind's own */
}

static int get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf,
			 size_t len, unw_word_t *off, void *arg)
{
	(void)as, (void)addr, (void)buf, (void)len, (void)off, (void)arg;
	return -UNW_ENOINFO; /* names come from symbols.c */
}

/* Reads a 4-byte .eh_frame_hdr field encoded as udata4 or sdata4 (the
 * only encodings linkers write there). */
static bool field4(const struct target *t, uint64_t at, uint8_t enc,
		   uint64_t *v)
{
	uint32_t w;
	if ((enc & 0x0f) != 0x03 && (enc & 0x0f) != 0x0b)
		return false;
	if (t->mem->read(t->mem, at, &w, 4))
		return false;
	*v = (enc & 0x0f) == 0x0b ? (uint64_t)(int64_t)(int32_t)w : w;
	return true;
}

/* The binary search table of the .eh_frame_hdr at hdr, if it is one. */
static void eh_header(const struct target *t, uint64_t hdr,
		      struct eh_object *o)
{
	uint8_t h[4]; /* version, pointer, count and table encodings */
	uint64_t ptr;

	o->hdr = hdr;
	o->table = hdr + 12;
	o->ok = t->mem->read(t->mem, hdr, h, 4) == 0 && h[0] == 1 &&
		h[3] == 0x3b && field4(t, hdr + 4, h[1], &ptr) &&
		field4(t, hdr + 8, h[2], &o->nfde);
}

/* The vDSO has no file: its ELF image is in memory, linked at 0. */
static void load_vdso(const struct target *t, const struct region *r,
		      struct eh_object *o)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	if (t->mem->read(t->mem, r->start, &eh, sizeof(eh)) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_phnum > 64 ||
	    eh.e_phentsize != sizeof(ph))
		return;
	for (int i = 0; i < eh.e_phnum; i++) {
		if (t->mem->read(t->mem, r->start + eh.e_phoff + (uint64_t)i *
						       sizeof(ph),
				 &ph, sizeof(ph)))
			return;
		if (ph.p_type == PT_GNU_EH_FRAME && ph.p_vaddr < r->end - r->start) {
			eh_header(t, r->start + ph.p_vaddr, o);
			return;
		}
	}
}

/* The object holding region r: its extent and .eh_frame_hdr. */
static void load_object(const struct target *t, const struct region *r,
			struct eh_object *o)
{
	const struct maps *m = &t->maps;
	struct elf_obj eo;
	size_t nph;

	o->start = r->start;
	o->end = r->end;
	if (r->kind != R_FILE) {
		load_vdso(t, r, o);
		return;
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct region *x = &m->r[i];
		if (x->kind != R_FILE || strcmp(x->path, r->path))
			continue;
		if (x->start < o->start)
			o->start = x->start;
		if (x->end > o->end)
			o->end = x->end;
	}
	if (elf_obj_open(t, r, &eo, NULL))
		return;
	for (size_t i = 0; elf_getphdrnum(eo.elf, &nph) == 0 && i < nph; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(eo.elf, (int)i, &ph) &&
		    ph.p_type == PT_GNU_EH_FRAME) {
			eh_header(t, eo.bias + ph.p_vaddr, o);
			break;
		}
	}
	elf_obj_close(&eo);
}

static int find_proc_info(unw_addr_space_t as, unw_word_t ip,
			  unw_proc_info_t *pi, int need, void *arg)
{
	struct unwinder *u = arg;
	const struct region *r = maps_find(&u->t->maps, ip);
	struct eh_object *o = NULL;

	if (!r || (r->kind != R_FILE &&
		   !(r->kind == R_OTHER && r->path &&
		     strcmp(r->path, "[vdso]") == 0)))
		return -UNW_ENOINFO;
	for (size_t i = 0; i < u->nobj && !o; i++)
		if (u->obj[i].start <= ip && ip < u->obj[i].end)
			o = &u->obj[i];
	if (!o) {
		if (u->nobj == MAX_OBJECTS)
			return -UNW_ENOINFO;
		o = &u->obj[u->nobj++];
		memset(o, 0, sizeof(*o));
		load_object(u->t, r, o);
	}
	if (!o->ok)
		return -UNW_ENOINFO;
	unw_dyn_info_t di;
	memset(&di, 0, sizeof(di));
	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.start_ip = o->start;
	di.end_ip = o->end;
	di.u.rti.segbase = o->hdr;
	/* two 32-bit words (start, FDE) per entry, in unw_word_t units */
	di.u.rti.table_len = o->nfde * 8 / sizeof(unw_word_t);
	di.u.rti.table_data = o->table;
	return _Ux86_64_dwarf_search_unwind_table(as, ip, &di, pi, need, arg);
}

static unw_accessors_t accessors = {
	.find_proc_info = find_proc_info,
	.put_unwind_info = put_unwind_info,
	.get_dyn_info_list_addr = no_info,
	.access_mem = access_mem,
	.access_reg = access_reg,
	.access_fpreg = access_fpreg,
	.resume = resume,
	.get_proc_name = get_proc_name,
};

struct unwinder *unwinder_new(const struct target *t)
{
	struct unwinder *u = calloc(1, sizeof(*u));

	if (u && !(u->as = unw_create_addr_space(&accessors, 0))) {
		free(u);
		return NULL;
	}
	if (u) {
		u->t = t;
		/* memory holds still while we unwind: cache what was parsed */
		unw_set_caching_policy(u->as, UNW_CACHE_GLOBAL);
	}
	return u;
}

void unwinder_free(struct unwinder *u)
{
	if (u)
		unw_destroy_addr_space(u->as);
	free(u);
}

int unwind_thread(struct unwinder *u, const struct user_regs_struct *regs,
		  uint64_t *ips, uint64_t *sps, size_t max, size_t *n,
		  struct nd_err *e)
{
	const struct target *t = u->t;
	unw_cursor_t c;
	unw_word_t ip, prev_sp = 0;

	*n = 0;
	u->regs = regs;
	int rc = unw_init_remote(&c, u->as, u);
	while (rc == 0 && *n < max) {
		unw_word_t sp;
		if (unw_get_reg(&c, UNW_REG_IP, &ip) || !ip ||
		    unw_get_reg(&c, UNW_REG_SP, &sp))
			break;
		/* a stack that does not move on would loop */
		if (*n && sp < prev_sp)
			break;
		prev_sp = sp;
		sps[*n] = sp;
		ips[(*n)++] = ip;
		int step = unw_step(&c);
		if (step < 0 && *n > 1)
			nd_fail(e, ND_EREAD, "unwinding stopped here (libunwind: "
				"%s)", unw_strerror(step));
		if (step <= 0)
			break;
	}
	if (rc)
		return nd_fail(e, ND_EREAD, "cannot start unwinding (libunwind: "
					   "%s)", unw_strerror(rc));
	if (*n == max)
		nd_fail(e, ND_ELIMIT, "more than %zu native frames: the oldest "
			"are not shown", max);
	uint64_t top[8] = {0}, zero[8] = {0};
	if (*n <= 1 && t->core &&
	    t->mem->read(t->mem, regs->rsp, top, sizeof(top)) == 0 &&
	    memcmp(top, zero, sizeof(top)) == 0)
		return nd_fail(e, ND_EREAD, "the core holds only zeros at this "
			       "thread's stack pointer (gdb's gcore writes "
			       "zeros for thread stacks guarded with "
			       "MADV_GUARD_INSTALL, as glibc 2.43 makes them; "
			       "a kernel core has them)");
	return 0;
}
