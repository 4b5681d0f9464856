#define _GNU_SOURCE
#include "runtime.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../decode/debug_offsets.h"
#include "../decode/layout_check.h"
#include "../decode/pyobj.h"
#include "elf.h"
#include "fileio.h"
#include "files.h"
#include "target.h"

#define MAX_SCAN (256u << 20) /* bytes of one .so we are willing to read */

/* "python3.11", "libpython3.11.so.1.0", "python3.9d": major and minor. */
static int version_from_name(const char *name, int *major, int *minor)
{
	const char *p = strstr(name, "python");

	if (!p || sscanf(p, "python%d.%d", major, minor) != 2)
		return -1;
	return 0;
}

/* why: the first candidate that could not be opened, if none served. */
static const struct region *find_interpreter(const struct target *t,
					     struct elf_obj *o,
					     struct nd_err *why)
{
	const struct maps *m = &t->maps;
	const struct region *cand[2] = {NULL, NULL}; /* libpython, binary */

	for (size_t i = 0; i < m->n; i++) {
		const struct region *r = &m->r[i];
		if (r->kind != R_FILE)
			continue;
		const char *b = path_base(r->path);
		int ma, mi;
		if (strncmp(b, "libpython", 9) == 0 && !cand[0] &&
		    version_from_name(b, &ma, &mi) == 0)
			cand[0] = r;
		else if (!cand[1] && (strncmp(b, "python", 6) == 0 ||
				      strcmp(r->path, t->exe) == 0))
			cand[1] = r;
	}
	/* The object that defines PyType_Type is the interpreter; a python
	 * binary linked to libpython only imports it. */
	for (int i = 0; i < 2; i++) {
		uint64_t a;
		if (!cand[i] || elf_obj_open(t, cand[i], o, why))
			continue;
		if (elf_obj_symbol(o, "PyType_Type", &a, NULL))
			return cand[i];
		elf_obj_close(o);
	}
	return NULL;
}

/* Only a free-threaded build (Py_GIL_DISABLED) has it: its Py_DECREF
 * calls it when the owning thread's count reaches zero. */
#define FREE_THREADED_SYMBOL "_Py_MergeZeroLocalRefcount"

/* The table of Python major.minor (free-threaded or not), or a refusal
 * naming who (the process, or the file under watch -- COMMAND). */
static int layout_of(const char *who, int major, int minor, bool ft,
		     const struct nd_pylayout **py, struct nd_err *e)
{
	*py = nd_pylayout_find(major, minor, ft);
	if (!*py)
		return nd_fail(e, ND_ETARGET, "%s: Python %d.%d%s is not "
			       "supported (supported: %s)", who, major, minor,
			       ft ? " (free-threaded)" : "",
			       nd_layout_supported_python());
	return 0;
}

/* CPython 3.13+ publishes the offsets of its objects for debuggers in
 * _Py_DebugOffsets at the start of _PyRuntime: where the target says
 * them, they replace the table's (a distribution or a patch release may
 * build differently). */
static int debug_offsets(const struct target *t, struct mem *mem,
			 struct runtime *rt, struct nd_err *e)
{
	struct nd_ctx c = {.rd = {.read = mem_read_cb, .ctx = mem}, .py = rt->py};
	struct nd_err why = {0};
	int rc = nd_debug_offsets(&c, rt->runtime_addr, rt->py, &rt->py_target,
				  &why);

	if (rc < 0)
		return nd_fail(e, ND_ETARGET, "%s: Python %d.%d.%d: %s",
			       t->name, rt->py_major,
			       rt->py_minor, rt->py_micro, why.msg);
	if (rc == 0)
		rt->py = &rt->py_target;
	return 0;
}

/* The table checked against the interpreter's own static types (o: the
 * interpreter's ELF object). */
static int layout_check(const struct target *t, struct mem *mem,
			struct elf_obj *o, struct runtime *rt,
			struct nd_err *e)
{
	struct nd_ctx c = {.rd = {.read = mem_read_cb, .ctx = mem}, .py = rt->py};
	struct nd_static_types st = {0};
	struct nd_err why = {0};

	elf_obj_symbol(o, "PyFloat_Type", &st.float_type, NULL);
	elf_obj_symbol(o, "PyTuple_Type", &st.tuple_type, NULL);
	elf_obj_symbol(o, "PyLong_Type", &st.long_type, NULL);
	elf_obj_symbol(o, "PyBool_Type", &st.bool_type, NULL);
	elf_obj_symbol(o, "PyBaseObject_Type", &st.object_type, NULL);
	if (nd_layout_check(&c, &st, &why))
		return nd_fail(e, ND_ETARGET, "%s: Python %d.%d.%d: %s",
			       t->name, rt->py_major, rt->py_minor,
			       rt->py_micro, why.msg);
	return 0;
}

/* The first bytes of _Py_GetAllocatedBlocks, which reads pymalloc's arena
 * table, decoded for the addresses they load (the table is static before
 * 3.12 and has no exported symbol). Read from the file: a core has it too.
 * Nothing found leaves the scan to find pools by their headers. */
static void arena_loads(struct elf_obj *o, struct runtime *rt)
{
	unsigned char code[64];
	uint64_t vaddr, size;
	int64_t off;

	rt->narena_loads = 0;
	if (rt->py->om_state >= 0 ||
	    !elf_symbol_value(o->elf, "_Py_GetAllocatedBlocks", false, &vaddr,
			      &size) ||
	    (off = elf_file_offset(o->elf, vaddr)) < 0 ||
	    pread_full(o->fd, code, sizeof(code), (uint64_t)off))
		return;
	/* a build without pymalloc has a shorter function: not the next */
	size_t n = size && size < sizeof(code) ? (size_t)size : sizeof(code);
	rt->narena_loads = nd_rip_loads(code, n, vaddr, rt->arena_loads,
					sizeof(rt->arena_loads) /
						sizeof(rt->arena_loads[0]));
	for (size_t i = 0; i < rt->narena_loads; i++)
		rt->arena_loads[i].addr += o->bias;
}

static int find_python(const struct target *t, struct mem *mem,
		       struct runtime *rt, struct nd_err *e)
{
	struct elf_obj o;
	struct nd_err why = {0};
	const struct region *r = find_interpreter(t, &o, &why);
	uint64_t addr;

	/* a file we could not open says more than "not Python" */
	if (!r && why.code)
		return nd_fail(e, why.code, "%s", why.msg);
	if (!r)
		return nd_fail(e, ND_ETARGET,
			       "%s: not a Python process (no libpython "
			       "or python binary mapped)",
			       t->name);
	snprintf(rt->py_path, sizeof(rt->py_path), "%s", r->path);
	elf_obj_symbol(&o, "PyType_Type", &rt->type_type, NULL);
	elf_obj_symbol(&o, "_PyRuntime", &rt->runtime_addr, NULL);
	uint32_t hex = 0;
	if (elf_obj_symbol(&o, "Py_Version", &addr, NULL) &&
	    mem->read(mem, addr, &hex, sizeof(hex)) == 0 && hex) {
		rt->py_major = (int)(hex >> 24);
		rt->py_minor = (int)((hex >> 16) & 0xff);
		rt->py_micro = (int)((hex >> 8) & 0xff);
	} else if (version_from_name(path_base(r->path), &rt->py_major,
				     &rt->py_minor)) {
		elf_obj_close(&o);
		return nd_fail(e, ND_ETARGET,
			       "%s: cannot tell the version of Python "
			       "in %s",
			       t->name, r->path);
	}
	if (layout_of(t->name, rt->py_major, rt->py_minor,
		      elf_obj_symbol(&o, FREE_THREADED_SYMBOL, &addr, NULL),
		      &rt->py, e)) {
		elf_obj_close(&o);
		return -1;
	}
	arena_loads(&o, rt);
	int rc = debug_offsets(t, mem, rt, e);
	if (!rc)
		rc = layout_check(t, mem, &o, rt, e);
	elf_obj_close(&o);
	return rc;
}

static bool same_file(const struct region *a, const struct region *b)
{
	return a->inode == b->inode && a->path && b->path &&
	       strcmp(a->path, b->path) == 0;
}

/* Addresses where NUL-terminated `s` sits in the read-only mappings of so. */
static size_t find_strings(const struct maps *m, struct mem *mem,
			   const struct region *so, const char *s,
			   uint64_t *out, size_t max)
{
	size_t n = 0, len = strlen(s) + 1;

	for (size_t i = 0; i < m->n && n < max; i++) {
		const struct region *r = &m->r[i];
		if (!same_file(r, so) || r->perms[0] != 'r' || r->perms[1] == 'w')
			continue;
		size_t size = (size_t)(r->end - r->start);
		if (size > MAX_SCAN)
			continue;
		char *buf = malloc(size);
		if (!buf)
			continue;
		if (mem->read(mem, r->start, buf, size) == 0) {
			const char *p = buf, *end = buf + size;
			while (n < max && (p = memmem(p, (size_t)(end - p), s, len))) {
				out[n++] = r->start + (uint64_t)(p - buf);
				p += len;
			}
		}
		free(buf);
	}
	return n;
}

/* A static type object whose tp_name is one of the strings: its tp_name
 * slot sits in the object's writable data. The strings are looked for in
 * bulk (what is read-only is the file's: nothing of it need be kept);
 * the type through mem. */
static uint64_t find_type(const struct maps *m, struct mem *bulk,
			  struct mem *mem, struct nd_ctx *c,
			  const struct region *so, const char *name)
{
	uint64_t strs[8];
	size_t ns = find_strings(m, bulk, so, name, strs, 8);

	for (size_t i = 0; i < m->n && ns; i++) {
		const struct region *r = &m->r[i];
		if (!same_file(r, so) || r->perms[1] != 'w')
			continue;
		size_t size = (size_t)(r->end - r->start);
		if (size > MAX_SCAN)
			continue;
		uint64_t *w = malloc(size);
		if (!w)
			continue;
		if (mem->read(mem, r->start, w, size) != 0) {
			free(w);
			continue;
		}
		for (size_t k = 0; k < size / 8; k++) {
			for (size_t j = 0; j < ns; j++) {
				if (w[k] != strs[j] || k * 8 < (size_t)c->py->tp_name)
					continue;
				uint64_t type = r->start + k * 8 -
						(uint64_t)c->py->tp_name;
				const char *got;
				if (nd_py_type_name(c, type, &got, NULL) == 0 &&
				    strcmp(got, name) == 0) {
					free(w);
					return type;
				}
			}
		}
		free(w);
	}
	return 0;
}

static int read_small(const char *path, char *buf, size_t cap)
{
	int fd = open_regular(path);

	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* The quoted text after the first of the keys, e.g. version = "1.19.5". */
static bool quoted_after(const char *text, const char *const *keys,
			 char *out, size_t cap)
{
	for (; *keys; keys++) {
		const char *p = strstr(text, *keys);
		if (!p)
			continue;
		p += strlen(*keys);
		while (*p == ' ' || *p == '=' || *p == ':')
			p++;
		if (*p != '"' && *p != '\'')
			continue;
		const char *q = strchr(p + 1, *p);
		if (!q || (size_t)(q - p - 1) >= cap || !strchr("0123456789", p[1]))
			continue;
		snprintf(out, cap, "%.*s", (int)(q - p - 1), p + 1);
		return true;
	}
	return false;
}

/* numpy/version.py, numpy/_version.py (versioneer), then the
 * numpy-X.dist-info / .egg-info directory name beside the package. */
static void numpy_version(const char *resolved_so, const char *mapped_so,
			  char *out, size_t cap)
{
	static const char *const py_keys[] = {"\nversion", "\n__version__",
					      "\nshort_version", NULL};
	static const char *const json_keys[] = {"\"version\"", NULL};
	char dir[4200], path[4400], text[16384];

	out[0] = '\0';
	/* .../numpy/core/_multiarray_umath.so or .../numpy/_core/... */
	snprintf(dir, sizeof(dir), "%s", mapped_so);
	for (int up = 0; up < 2; up++) {
		char *slash = strrchr(dir, '/');
		if (!slash)
			return;
		*slash = '\0';
	}
	char want[4300];
	snprintf(want, sizeof(want), "%s/version.py", dir);
	target_path(resolved_so, mapped_so, want, path, sizeof(path));
	if (read_small(path, text, sizeof(text)) == 0 &&
	    quoted_after(text, py_keys, out, cap))
		return;
	snprintf(want, sizeof(want), "%s/_version.py", dir);
	target_path(resolved_so, mapped_so, want, path, sizeof(path));
	if (read_small(path, text, sizeof(text)) == 0 &&
	    quoted_after(text, json_keys, out, cap))
		return;
	char *slash = strrchr(dir, '/');
	if (!slash)
		return;
	*slash = '\0';
	target_path(resolved_so, mapped_so, dir, path, sizeof(path));
	DIR *d = opendir(path);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		const char *dash = de->d_name + 6;
		if (strncmp(de->d_name, "numpy-", 6) || !strchr("0123456789", *dash))
			continue;
		const char *end = strstr(dash, ".dist-info");
		if (!end)
			end = strstr(dash, ".egg-info");
		if (end && (size_t)(end - dash) < cap &&
		    !memchr(dash, '-', (size_t)(end - dash))) {
			snprintf(out, cap, "%.*s", (int)(end - dash), dash);
			break;
		}
	}
	if (d)
		closedir(d);
}

static int find_numpy(const struct target *t, struct mem *mem,
		      struct runtime *rt, struct nd_err *e)
{
	const struct maps *m = &t->maps;
	const struct region *so = NULL;

	for (size_t i = 0; i < m->n && !so; i++)
		if (m->r[i].kind == R_FILE &&
		    strncmp(path_base(m->r[i].path), "_multiarray_umath", 17) == 0)
			so = &m->r[i];
	if (!so)
		return nd_fail(e, ND_ETARGET,
			       "%s: Python %d.%d%s without NumPy (numpy's "
			       "_multiarray_umath is not loaded)",
			       t->name, rt->py_major, rt->py_minor,
			       rt->py->free_threaded ? "t" : "");
	snprintf(rt->np_path, sizeof(rt->np_path), "%s", so->path);
	/* NumPy built for a free-threaded Python has every field behind the
	 * larger header: no NumPy of that kind could be built here to
	 * derive and test its layout (see README) */
	if (rt->py->free_threaded)
		return nd_fail(e, ND_ETARGET,
			       "%s: NumPy on free-threaded Python %d.%dt is "
			       "not supported yet (stacks are)",
			       t->name, rt->py_major, rt->py_minor);

	/* Type names are read through a context that knows Python's layout;
	 * NumPy's is not needed for that yet. */
	struct nd_ctx c = {.rd = {.read = mem_read_cb, .ctx = mem}, .py = rt->py};
	rt->array_type = find_type(m, t->src, mem, &c, so, "numpy.ndarray");
	rt->descr_type = find_type(m, t->src, mem, &c, so, "numpy.dtype");
	if (!rt->array_type || !rt->descr_type)
		return nd_fail(e, ND_ETARGET,
			       "%s: NumPy is loaded but its ndarray and "
			       "dtype types were not found in %s",
			       t->name, so->path);
	if (!rt->type_type)
		mem->read(mem, rt->array_type + (uint64_t)rt->py->ob_type,
			  &rt->type_type, 8);

	char resolved[4200];
	int fd;
	if (target_file_open(t, so, resolved, sizeof(resolved), &fd, NULL) == 0) {
		close(fd);
		numpy_version(resolved, so->path, rt->np_version,
			      sizeof(rt->np_version));
	}
	/* The dtype object's size is the layout's fingerprint: 96 bytes in
	 * 1.x, 88 in 2.x. It outranks what files say. */
	int64_t basicsize = 0;
	mem->read(mem, rt->descr_type + (uint64_t)rt->py->tp_basicsize,
		  &basicsize, 8);
	for (int major = 1; major <= 2; major++) {
		const struct nd_nplayout *L = nd_nplayout_find(major);
		if (L && L->d_basicsize == basicsize) {
			rt->np = L;
			rt->np_major = major;
		}
	}
	if (!rt->np)
		return nd_fail(e, ND_ETARGET,
			       "%s: NumPy %s has a dtype layout we do not "
			       "know (%" PRId64 "-byte descriptors; supported: %s)",
			       t->name, rt->np_version[0] ? rt->np_version : "?",
			       basicsize, nd_layout_supported_numpy());
	return 0;
}

int runtime_discover(struct target *t, struct nd_err *e)
{
	struct runtime *rt = &t->rt;

	memset(rt, 0, sizeof(*rt));
	int rc = find_python(t, t->mem, rt, e);
	if (rc)
		return rc;
	struct nd_err np = {0};
	rc = find_numpy(t, t->mem, rt, &np);
	if (rc && t->numpy_optional) {
		/* rt->np stays NULL; a NumPy loaded but not read says why */
		if (rt->np_path[0])
			snprintf(rt->np_skipped, sizeof(rt->np_skipped), "%s",
				 np.msg);
		return 0;
	}
	return rc ? nd_fail(e, np.code, "%s", np.msg) : 0;
}

int runtime_file_layout(void *elf, int fd, const char *path,
			const struct nd_pylayout **py, struct nd_err *e)
{
	uint64_t vaddr;
	uint32_t hex = 0;
	int major, minor;
	int64_t off;

	if (elf_symbol_value(elf, "Py_Version", true, &vaddr, NULL) &&
	    (off = elf_file_offset(elf, vaddr)) >= 0 &&
	    pread_full(fd, &hex, sizeof(hex), (uint64_t)off) == 0 && hex) {
		major = (int)(hex >> 24);
		minor = (int)((hex >> 16) & 0xff);
	} else if (version_from_name(path_base(path), &major, &minor)) {
		return nd_fail(e, ND_ETARGET, "cannot tell the version of "
			       "Python in %s", path);
	}
	return layout_of(path, major, minor,
			 elf_symbol_value(elf, FREE_THREADED_SYMBOL, true,
					  &vaddr, NULL),
			 py, e);
}
