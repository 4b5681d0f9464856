#include "watch_object.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "elf.h"
#include "fileio.h"
#include "sites.h"
#include "target.h"

static int function(void *elf, int fd, const char *path, const char *name,
		    struct watch_fn *fn, struct nd_err *e)
{
	if (!elf_symbol_value(elf, name, false, &fn->vaddr, NULL))
		return nd_fail(e, ND_ETARGET, "%s has no %s", path, name);
	int64_t off = elf_file_offset(elf, fn->vaddr);
	if (off < 0 || pread_full(fd, fn->code, sizeof(fn->code), (uint64_t)off))
		return nd_fail(e, ND_ETARGET, "%s: cannot read %s", path, name);
	fn->file_offset = (uint64_t)off;
	return 0;
}

int watch_object_of_file(void *elf, int fd, const char *path,
			 struct watch_object *o, struct nd_err *e)
{
	snprintf(o->path, sizeof(o->path), "%s", path);
	o->verbose = cli_verbose;
	if (!elf_symbol_value(elf, "_PyRuntime", true, &o->runtime_vaddr, NULL))
		o->runtime_vaddr = 0;
	return function(elf, fd, path, "PyTraceMalloc_Track", &o->track, e) ||
			       function(elf, fd, path, "PyTraceMalloc_Untrack",
					&o->untrack, e) ||
			       function(elf, fd, path, "PyMem_RawRealloc",
					&o->raw_realloc, e)
		       ? -1 : 0;
}

int watch_object_of_target(const struct target *t, struct watch_object *o,
			   struct nd_err *e)
{
	const struct region *r = NULL;
	struct elf_obj eo = {.fd = -1};

	for (size_t i = 0; i < t->maps.n && !r; i++)
		if (t->maps.r[i].path &&
		    strcmp(t->maps.r[i].path, t->rt.py_path) == 0)
			r = &t->maps.r[i];
	if (!r)
		return nd_fail(e, ND_ETARGET, "%s: the interpreter is not mapped "
			       "any more", t->name);
	if (elf_obj_open(t, r, &eo, e))
		return -1;
	int rc = watch_object_of_file(eo.elf, eo.fd, eo.path, o, e);
	elf_obj_close(&eo);
	o->pid = t->pid;
	o->name = t->name;
	return rc;
}

void watch_object_say(const char *name, const char *path,
		      const struct watch_site sites[2], bool at_entry)
{
	for (int i = 0; i < 2; i++)
		cli_verbosef("%s: %s probed at file offset 0x%" PRIx64 " of %s "
			     "(%s)",
			     name, i ? "PyTraceMalloc_Untrack"
				     : "PyTraceMalloc_Track",
			     sites[i].file_offset, path,
			     sites[i].place.at_entry && at_entry
				     ? "at the entry, as asked"
				     : sites[i].place.why);
}

int watch_target(struct target *t, unsigned depth, struct sites *ss,
		 bool *have_sites, watch_event_fn fn, void *arg,
		 struct watch_probe **w, bool say, struct nd_err *e)
{
	struct watch_object obj = {0};
	struct watch_site where[2];

	*have_sites = false;
	if (watch_object_of_target(t, &obj, e))
		return -1;
	if (sites_init(ss, t, depth) == 0) {
		*have_sites = true;
		obj.py = t->ctx.py;
		obj.depth = depth;
	}
	obj.name = t->name;
	if (watch_probe_open(&obj, false, fn, arg, w, where, e))
		return -1;
	if (say)
		watch_object_say(t->name, obj.path, where, false);
	return 0;
}
