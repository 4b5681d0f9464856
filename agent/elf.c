#include "elf.h"

#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "target.h"

/* The lowest mapping of the same file: its offset pins the bias. */
static const struct region *first_mapping(const struct maps *m,
					  const struct region *r)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->r[i].inode == r->inode && m->r[i].path && r->path &&
		    strcmp(m->r[i].path, r->path) == 0)
			return &m->r[i];
	return r;
}

int elf_obj_open(const struct target *t, const struct region *r,
		 struct elf_obj *o, struct nd_err *e)
{
	const struct region *low = first_mapping(&t->maps, r);
	size_t nph;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return nd_fail(e, ND_ETARGET, "libelf: %s", elf_errmsg(-1));
	int rc = target_file_open(t, low, o->path, sizeof(o->path), &o->fd, e);
	if (rc)
		return rc;
	Elf *elf = elf_begin(o->fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getphdrnum(elf, &nph)) {
		if (elf)
			elf_end(elf);
		close(o->fd);
		return nd_fail(e, ND_ETARGET, "%s: not an ELF object", low->path);
	}
	o->elf = elf;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		uint64_t pstart = ph.p_offset & ~0xfffULL;
		if (low->offset >= pstart && low->offset < ph.p_offset + ph.p_filesz) {
			/* vaddr of the mapped file offset, minus where it is */
			uint64_t vaddr = ph.p_vaddr - ph.p_offset + low->offset;
			o->bias = low->start - vaddr;
			return 0;
		}
	}
	elf_obj_close(o);
	return nd_fail(e, ND_ETARGET, "%s: no loadable segment at offset 0x%llx",
		       low->path, (unsigned long long)low->offset);
}

void elf_obj_close(struct elf_obj *o)
{
	if (o->elf)
		elf_end(o->elf);
	if (o->fd >= 0)
		close(o->fd);
	o->elf = NULL;
	o->fd = -1;
}

/* The first defined symbol of the table of that type that match accepts;
 * its name stays valid while elf is open. */
typedef bool (*sym_match)(const GElf_Sym *sym, const char *name, void *arg);

static bool lookup(Elf *elf, Elf64_Word type, sym_match match, void *arg,
		   GElf_Sym *out, const char **out_name)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type ||
		    !sh.sh_entsize)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		size_t n = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; data && i < n; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(data, (int)i, &sym) ||
			    sym.st_shndx == SHN_UNDEF)
				continue;
			const char *s = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (s && match(&sym, s, arg)) {
				*out = sym;
				if (out_name)
					*out_name = s;
				return true;
			}
		}
	}
	return false;
}

struct by_name {
	const char *name;
	bool data_only;
};

static bool match_name(const GElf_Sym *sym, const char *name, void *arg)
{
	const struct by_name *want = arg;
	int kind = GELF_ST_TYPE(sym->st_info);

	if (want->data_only && kind != STT_OBJECT && kind != STT_NOTYPE)
		return false;
	return strcmp(name, want->name) == 0;
}

static bool match_code_at(const GElf_Sym *sym, const char *name, void *arg)
{
	uint64_t vaddr = *(const uint64_t *)arg;
	int kind = GELF_ST_TYPE(sym->st_info);

	return (kind == STT_FUNC || kind == STT_GNU_IFUNC) && *name &&
	       sym->st_value <= vaddr &&
	       vaddr - sym->st_value < (sym->st_size ? sym->st_size : 1);
}

bool elf_function_at(void *elf, uint64_t vaddr, char *name, size_t cap,
		     uint64_t *off)
{
	GElf_Sym sym;
	const char *s;

	if (!lookup(elf, SHT_SYMTAB, match_code_at, &vaddr, &sym, &s) &&
	    !lookup(elf, SHT_DYNSYM, match_code_at, &vaddr, &sym, &s))
		return false;
	snprintf(name, cap, "%s", s);
	*off = vaddr - sym.st_value;
	return true;
}

bool elf_symbol_value(void *elf, const char *name, bool data_only,
		      uint64_t *value, uint64_t *size)
{
	GElf_Sym sym;
	struct by_name want = {name, data_only};

	if (!lookup(elf, SHT_DYNSYM, match_name, &want, &sym, NULL) &&
	    !lookup(elf, SHT_SYMTAB, match_name, &want, &sym, NULL))
		return false;
	*value = sym.st_value;
	if (size)
		*size = sym.st_size;
	return true;
}

bool elf_obj_symbol(struct elf_obj *o, const char *name, uint64_t *addr,
		    uint64_t *size)
{
	if (!elf_symbol_value(o->elf, name, false, addr, size))
		return false;
	*addr += o->bias;
	return true;
}

int64_t elf_file_offset(void *elf, uint64_t vaddr)
{
	size_t nph;

	if (elf_getphdrnum(elf, &nph))
		return -1;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD &&
		    vaddr >= ph.p_vaddr && vaddr - ph.p_vaddr < ph.p_filesz)
			return (int64_t)(ph.p_offset + (vaddr - ph.p_vaddr));
	}
	return -1;
}
