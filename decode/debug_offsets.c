#include "debug_offsets.h"

#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include "read.h"

#define DBG_MAX 4096 /* bytes of _Py_DebugOffsets we read (3.15: 888) */

/* The structs _Py_DebugOffsets describes, as far as ndspy reads them. */
enum group {
	G_RUNTIME, G_INTERP, G_TSTATE, G_FRAME, G_CODE, G_TYPE, G_HEAPTYPE,
	G_TUPLE, G_LIST, G_SET, G_DICT, G_FLOAT, G_LONG, G_BYTES, G_STR,
	G_GEN, G_NGROUPS
};

static const char *const group_name[G_NGROUPS] = {
	"_PyRuntimeState", "PyInterpreterState", "PyThreadState",
	"_PyInterpreterFrame", "PyCodeObject", "PyTypeObject",
	"PyHeapTypeObject", "PyTupleObject", "PyListObject", "PySetObject",
	"PyDictObject", "PyFloatObject", "PyLongObject", "PyBytesObject",
	"PyUnicodeObject", "PyGenObject",
};

/* Each field of those structs that ndspy reads: where the table keeps
 * its offset (ours) and where the table keeps its place in
 * _Py_DebugOffsets (dbg; -1 where no version publishes it, and a 0
 * there means this version does not). max bounds a believable offset. */
struct field {
	const char *name;
	enum group g;
	int ours, dbg;
	uint64_t max;
};

#define OURS(f) (int)offsetof(struct nd_pylayout, f)
#define PUB(g, f, max) {#f, g, OURS(f), OURS(dbg_##f), max}
#define UNPUB(g, f) {#f, g, OURS(f), -1, 0}
#define OBJ 4096
#define STATE (1u << 20)

static const struct field fields[] = {
	PUB(G_RUNTIME, rt_interpreters_head, STATE),
	UNPUB(G_RUNTIME, rt_interpreters_main),
	PUB(G_INTERP, interp_next, STATE),
	PUB(G_INTERP, interp_id, STATE),
	PUB(G_INTERP, interp_threads_head, STATE),
	PUB(G_INTERP, interp_modules, STATE),
	UNPUB(G_INTERP, om_state),
	PUB(G_TSTATE, ts_next, OBJ),
	PUB(G_TSTATE, ts_thread_id, OBJ),
	PUB(G_TSTATE, ts_frame, OBJ),
	PUB(G_FRAME, fr_back, OBJ),
	PUB(G_FRAME, fr_code, OBJ),
	PUB(G_FRAME, fr_instr, OBJ),
	PUB(G_FRAME, fr_owner, OBJ),
	PUB(G_FRAME, fr_localsplus, OBJ),
	UNPUB(G_FRAME, fr_locals),
	PUB(G_CODE, co_filename, OBJ),
	PUB(G_CODE, co_name, OBJ),
	PUB(G_CODE, co_qualname, OBJ),
	PUB(G_CODE, co_linetable, OBJ),
	PUB(G_CODE, co_firstlineno, OBJ),
	PUB(G_CODE, co_localsplusnames, OBJ),
	PUB(G_CODE, co_code_adaptive, OBJ),
	UNPUB(G_CODE, co_firsttraceable),
	PUB(G_TYPE, tp_name, OBJ),
	PUB(G_TYPE, tp_flags, OBJ),
	PUB(G_TYPE, tp_basicsize, OBJ),
	PUB(G_TYPE, tp_dictoffset, OBJ),
	UNPUB(G_TYPE, tp_itemsize),
	UNPUB(G_TYPE, tp_base),
	UNPUB(G_TYPE, tp_mro),
	UNPUB(G_TYPE, tp_subclasses),
	UNPUB(G_TYPE, tp_members),
	UNPUB(G_TYPE, tp_getset),
	PUB(G_HEAPTYPE, ht_cached_keys, OBJ),
	PUB(G_TUPLE, tuple_item, OBJ),
	PUB(G_TUPLE, ob_size, OBJ),
	PUB(G_LIST, list_items, OBJ),
	PUB(G_SET, set_table, OBJ),
	PUB(G_SET, set_mask, OBJ),
	PUB(G_DICT, dict_keys, OBJ),
	PUB(G_DICT, dict_values, OBJ),
	UNPUB(G_DICT, dict_used),
	PUB(G_FLOAT, float_fval, OBJ),
	PUB(G_LONG, long_digits, OBJ),
	PUB(G_BYTES, bytes_sval, OBJ),
	PUB(G_STR, str_state, OBJ),
	PUB(G_GEN, gen_frame, OBJ),
};

#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

const struct nd_debug_field *nd_debug_fields(size_t *n)
{
	static struct nd_debug_field pub[NFIELDS];
	size_t k = 0;

	for (size_t i = 0; i < NFIELDS; i++)
		if (fields[i].dbg >= 0)
			pub[k++] = (struct nd_debug_field){
				fields[i].name, fields[i].ours, fields[i].dbg};
	*n = k;
	return pub;
}

static int *at(struct nd_pylayout *L, int off)
{
	return (int *)((char *)L + off);
}

static int place(const struct nd_pylayout *L, int dbg_off)
{
	return dbg_off < 0 ? 0 : *at((struct nd_pylayout *)L, dbg_off);
}

int nd_debug_offsets(struct nd_ctx *c, uint64_t runtime,
		     const struct nd_pylayout *table, struct nd_pylayout *out,
		     struct nd_err *e)
{
	unsigned char d[DBG_MAX];
	int end = 0;

	if (!table->dbg_version || !runtime)
		return 1;
	/* the table's extent in this version: the furthest field it has */
	for (size_t i = 0; i < NFIELDS; i++)
		if (place(table, fields[i].dbg) > end)
			end = place(table, fields[i].dbg);
	int extra[] = {table->dbg_version, table->dbg_free_threaded,
		       table->dbg_ob_type, table->dbg_str_ascii_size};
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		if (extra[i] > end)
			end = extra[i];
	end += 8;
	if (end > DBG_MAX || nd_read(c, runtime, d, (size_t)end, e,
				     "_Py_DebugOffsets"))
		return end > DBG_MAX ? nd_fail(e, ND_EUNSUPPORTED,
					       "_Py_DebugOffsets is larger "
					       "than ndspy reads")
				     : 1;
	if (memcmp(d, "xdebugpy", 8) != 0)
		return 1;
	uint64_t version = nd_u64_at(d, (size_t)table->dbg_version);
	if ((int)(version >> 24) != table->major ||
	    (int)((version >> 16) & 0xff) != table->minor)
		return nd_fail(e, ND_ETARGET, "its _Py_DebugOffsets declares "
			       "version 0x%" PRIx64 ", not %d.%d",
			       version, table->major, table->minor);
	/* the table was chosen by the build's symbols; the header's shape
	 * is not read from here, so it must be the one the table has */
	uint64_t ft = nd_u64_at(d, (size_t)table->dbg_free_threaded);
	uint64_t ob_type = nd_u64_at(d, (size_t)table->dbg_ob_type);
	if ((ft != 0) != (table->free_threaded != 0))
		return nd_fail(e, ND_ETARGET, "its _Py_DebugOffsets says it is "
			       "%s, its symbols that it is %s",
			       ft ? "free-threaded" : "not free-threaded",
			       table->free_threaded ? "free-threaded"
						    : "built with a GIL");
	if (ob_type != (uint64_t)table->ob_type)
		return nd_fail(e, ND_ETARGET, "its _Py_DebugOffsets puts "
			       "PyObject.ob_type at %" PRIu64 ", not %d: an "
			       "object header ndspy does not know", ob_type,
			       table->ob_type);
	*out = *table;
	const struct field *moved[G_NGROUPS] = {0};
	for (size_t i = 0; i < NFIELDS; i++) {
		const struct field *f = &fields[i];
		int pos = place(table, f->dbg);
		if (!pos)
			continue;
		uint64_t v = nd_u64_at(d, (size_t)pos);
		if (v > f->max)
			return nd_fail(e, ND_ECORRUPT, "its _Py_DebugOffsets "
				       "puts %s.%s at %" PRIu64 ": no object "
				       "is that large", group_name[f->g],
				       f->name, v);
		if ((int)v != *at(out, f->ours) && !moved[f->g])
			moved[f->g] = f;
		*at(out, f->ours) = (int)v;
	}
	/* a struct that moved a field it publishes may have moved those it
	 * does not: those cannot be trusted to the table */
	for (size_t i = 0; i < NFIELDS; i++) {
		const struct field *f = &fields[i], *m = moved[f->g];
		if (!m || place(table, f->dbg))
			continue;
		return nd_fail(e, ND_EUNSUPPORTED, "this build of CPython "
			       "%d.%d moved %s.%s (from %d to %d): %s, "
			       "which it does not publish, cannot be "
			       "verified, so it is not read",
			       table->major, table->minor, group_name[m->g],
			       m->name, *at((struct nd_pylayout *)table,
					    m->ours),
			       *at(out, m->ours), f->name);
	}
	/* compact strings keep utf8_length and utf8 after the ASCII part */
	uint64_t ascii = nd_u64_at(d, (size_t)table->dbg_str_ascii_size);
	if (ascii > OBJ)
		return nd_fail(e, ND_ECORRUPT, "its _Py_DebugOffsets gives an "
			       "ASCII string header of %" PRIu64 " bytes",
			       ascii);
	out->str_compact_data = (int)ascii + (table->str_compact_data -
					      table->str_ascii_data);
	out->str_ascii_data = (int)ascii;
	return 0;
}
