/* Finding CPython and NumPy inside a target: versions, the interpreter
 * object, and the type objects the decoder recognises. Works without debug
 * symbols: NumPy's types are found through their tp_name strings. */
#ifndef NDSPY_RUNTIME_H
#define NDSPY_RUNTIME_H

#include <stdint.h>
#include <sys/types.h>

#include "../decode/err.h"
#include "../decode/layout.h"
#include "../decode/obmalloc.h"
#include "maps.h"
#include "mem.h"

struct runtime {
	int py_major, py_minor, py_micro;
	char py_path[4200];    /* the python binary or libpython, as mapped */
	uint64_t type_type;    /* &PyType_Type */
	char np_version[32];   /* "" when no file tells */
	int np_major;
	char np_path[4200];    /* _multiarray_umath, as mapped */
	/* why a NumPy that is loaded was not read (numpy_optional); "" */
	char np_skipped[sizeof(((struct nd_err *)0)->msg)];
	uint64_t array_type;   /* &PyArray_Type */
	uint64_t descr_type;   /* &PyArrayDescr_Type */
	const struct nd_pylayout *py;
	const struct nd_nplayout *np;
	/* 3.13+: the table's offsets as the target publishes them in
	 * _Py_DebugOffsets; py points here when they were read */
	struct nd_pylayout py_target;
	uint64_t runtime_addr; /* &_PyRuntime, 0 when not exported */
	/* before 3.12: where pymalloc's static arena table may be, the
	 * loads _Py_GetAllocatedBlocks begins with (see obmalloc.h) */
	struct nd_rip_load arena_loads[8];
	size_t narena_loads;
};

/* Fills t->rt from t's maps and memory. */
struct target;
int runtime_discover(struct target *t, struct nd_err *e);
/* The layout of the interpreter in file path (fd, elf: an Elf *) before
 * any process runs it: its version from Py_Version's bytes in the file,
 * else from its name; the tables' offsets (what _Py_DebugOffsets would
 * say of these builds). */
int runtime_file_layout(void *elf, int fd, const char *path,
			const struct nd_pylayout **py, struct nd_err *e);

#endif
