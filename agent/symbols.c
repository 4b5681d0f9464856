#include "symbols.h"

#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "elf.h"
#include "fileio.h"
#include "files.h"
#include "target.h"

/* The contents of an ELF section by name, or NULL. */
static Elf_Data *section(Elf *elf, const char *want, GElf_Shdr *out)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		if (gelf_getshdr(scn, &sh) &&
		    (name = elf_strptr(elf, shstrndx, sh.sh_name)) &&
		    strcmp(name, want) == 0) {
			if (out)
				*out = sh;
			return elf_getdata(scn, NULL);
		}
	}
	return NULL;
}

/* Candidate paths of the separate debug file, in the target's view:
 * /usr/lib/debug/.build-id/ab/cdef.debug, then the debuglink name beside
 * the object, in .debug/, and under /usr/lib/debug. */
static int debug_paths(Elf *elf, const char *objpath, char paths[][4200],
		       int max)
{
	int n = 0;
	Elf_Data *d = section(elf, ".note.gnu.build-id", NULL);

	/* note: namesz, descsz, type, "GNU\0", then the id */
	if (d && d->d_size > 16 && n < max) {
		const unsigned char *p = d->d_buf;
		uint32_t namesz, descsz;
		memcpy(&namesz, p, 4);
		memcpy(&descsz, p + 4, 4);
		size_t off = 12 + ((namesz + 3) & ~3u);
		if (descsz >= 2 && off + descsz <= d->d_size) {
			int w = snprintf(paths[n], 4200, "/usr/lib/debug/.build-id/%02x/",
					 p[off]);
			for (uint32_t i = 1; i < descsz && w < 4100; i++)
				w += snprintf(paths[n] + w, (size_t)(4200 - w), "%02x",
					      p[off + i]);
			snprintf(paths[n] + w, (size_t)(4200 - w), ".debug");
			n++;
		}
	}
	d = section(elf, ".gnu_debuglink", NULL);
	if (d && d->d_size > 1 && memchr(d->d_buf, '\0', d->d_size)) {
		const char *link = d->d_buf;
		int dir = (int)(path_base(objpath) - objpath);
		if (n < max)
			snprintf(paths[n++], 4200, "%.*s%s", dir, objpath, link);
		if (n < max)
			snprintf(paths[n++], 4200, "%.*s.debug/%s", dir, objpath, link);
		if (n < max)
			snprintf(paths[n++], 4200, "/usr/lib/debug%.*s%s", dir, objpath,
				 link);
	}
	return n;
}

/* Asks found() of each separate debug file of o (same link-time
 * addresses) until one says yes. */
static bool in_debug_files(struct elf_obj *o, const char *mapped,
			   bool (*found)(Elf *elf, void *arg), void *arg)
{
	char paths[4][4200], real[4300];

	int n = debug_paths(o->elf, mapped, paths, 4);
	for (int i = 0; i < n; i++) {
		/* the debug file is the target's, like the object */
		target_path(o->path, mapped, paths[i], real, sizeof(real));
		int fd = open_regular(real);
		if (fd < 0)
			continue;
		Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
		bool yes = elf && found(elf, arg);
		if (elf)
			elf_end(elf);
		close(fd);
		if (yes)
			return true;
	}
	return false;
}

struct value_query {
	const char *name;
	uint64_t *value;
};

static bool value_in(Elf *elf, void *arg)
{
	struct value_query *q = arg;
	return elf_symbol_value(elf, q->name, true, q->value, NULL);
}

struct function_query {
	uint64_t vaddr;
	struct native_symbol *out;
};

static bool function_in(Elf *elf, void *arg)
{
	struct function_query *q = arg;
	return elf_function_at(elf, q->vaddr, q->out->function,
			       sizeof(q->out->function), &q->out->offset);
}

int symbol_at(const struct target *t, uint64_t addr,
	      struct native_symbol *out)
{
	const struct region *r = maps_find(&t->maps, addr);
	struct elf_obj o;

	memset(out, 0, sizeof(*out));
	if (!r || r->kind != R_FILE) {
		snprintf(out->object, sizeof(out->object), "%s",
			 r && r->path ? r->path : "");
		return -1;
	}
	snprintf(out->object, sizeof(out->object), "%s", r->path);
	if (elf_obj_open(t, r, &o, NULL))
		return -1;
	struct function_query q = {addr - o.bias, out};
	bool found = function_in(o.elf, &q) ||
		     in_debug_files(&o, r->path, function_in, &q);
	elf_obj_close(&o);
	return found ? 0 : -1;
}

/* A path names one file; a name matches the file's name, or its beginning
 * up to a '.' or '-' (_mymod for _mymod.cpython-311-x86_64-linux-gnu.so,
 * libc for libc.so.6, but not for libcrypto.so.3). */
static bool names_object(const char *objfile, const char *path)
{
	if (strchr(objfile, '/'))
		return strcmp(path, objfile) == 0;
	const char *b = path_base(path);
	size_t n = strlen(objfile);
	return strncmp(b, objfile, n) == 0 &&
	       (b[n] == '\0' || b[n] == '.' || b[n] == '-');
}

int symbol_address(const struct target *t, const char *spec,
		   uint64_t *addr, struct nd_err *e)
{
	const struct maps *m = &t->maps;
	char objfile[256] = "";
	const char *name = spec, *colon = strchr(spec, ':');

	if (colon) {
		snprintf(objfile, sizeof(objfile), "%.*s", (int)(colon - spec), spec);
		name = colon + 1;
	}
	if (!*name)
		return nd_fail(e, ND_EUSAGE, "'@%s': no symbol name", spec);
	bool any_object = false, any_mapped = false;
	for (size_t i = 0; i < m->n; i++) {
		const struct region *r = &m->r[i];
		/* each object once: at its lowest mapping */
		if (r->kind != R_FILE || (i && m->r[i - 1].path &&
					  strcmp(m->r[i - 1].path, r->path) == 0))
			continue;
		if (*objfile && !names_object(objfile, r->path))
			continue;
		any_mapped = true;
		struct elf_obj o;
		if (elf_obj_open(t, r, &o, NULL))
			continue;
		any_object = true;
		uint64_t value;
		struct value_query q = {name, &value};
		bool found = value_in(o.elf, &q) ||
			     in_debug_files(&o, r->path, value_in, &q);
		uint64_t bias = o.bias;
		elf_obj_close(&o);
		if (found) {
			*addr = value + bias;
			return 0;
		}
	}
	if (*objfile && !any_mapped)
		return nd_fail(e, ND_ENOTARRAY,
			       "'@%s': no mapped object named %s", spec, objfile);
	if (*objfile && !any_object)
		return nd_fail(e, ND_EREAD,
			       "'@%s': %s is mapped but its file cannot be "
			       "opened (deleted, or replaced since it was "
			       "loaded)",
			       spec, objfile);
	return nd_fail(e, ND_ENOTARRAY,
		       "'@%s': no such symbol in %s (looked in .dynsym, .symtab "
		       "and installed debug files)",
		       spec, *objfile ? objfile : "any mapped object");
}
