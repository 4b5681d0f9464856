/* What only CPython's internal headers say (3.11+): the dict keys table,
 * split values, and (3.13+) where _Py_DebugOffsets publishes offsets,
 * including the frame-walking ones probe_frame.c derives. */
#define PY_SSIZE_T_CLEAN
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>

#include "internal/pycore_dict.h"
#if PY_VERSION_HEX >= 0x030E0000
#include "internal/pycore_debug_offsets.h"
#elif PY_VERSION_HEX >= 0x030D0000
#include "internal/pycore_runtime.h"
#endif

#define P(name, v) printf("%s %ld\n", name, (long)(v))
#define D(name, member) P(name, offsetof(_Py_DebugOffsets, member))

int main(void)
{
	P("dk_size", offsetof(PyDictKeysObject, dk_log2_size));
	P("dk_log2_index_bytes", offsetof(PyDictKeysObject, dk_log2_index_bytes));
	P("dk_kind", offsetof(PyDictKeysObject, dk_kind));
	P("dk_nentries", offsetof(PyDictKeysObject, dk_nentries));
	P("dk_indices", offsetof(PyDictKeysObject, dk_indices));
	P("dk_entry_size", sizeof(PyDictKeyEntry));
	P("dk_unicode_entry_size", sizeof(PyDictUnicodeEntry));
	P("dict_split_values", offsetof(PyDictValues, values));
#if PY_VERSION_HEX >= 0x030D0000
	/* inline values carry their capacity and whether a dict took over */
	P("dv_capacity", offsetof(PyDictValues, capacity));
	P("dv_valid", offsetof(PyDictValues, valid));
#else
	P("dv_capacity", -1);
	P("dv_valid", -1);
#endif
#if PY_VERSION_HEX >= 0x030D0000
	D("dbg_version", version);
	D("dbg_free_threaded", free_threaded);
	D("dbg_ob_type", pyobject.ob_type);
	D("dbg_tp_name", type_object.tp_name);
	D("dbg_tp_flags", type_object.tp_flags);
	D("dbg_tuple_item", tuple_object.ob_item);
	D("dbg_dict_keys", dict_object.ma_keys);
	D("dbg_dict_values", dict_object.ma_values);
	D("dbg_float_fval", float_object.ob_fval);
	D("dbg_long_digits", long_object.ob_digit);
	D("dbg_bytes_sval", bytes_object.ob_sval);
	D("dbg_str_state", unicode_object.state);
	D("dbg_str_ascii_size", unicode_object.asciiobject_size);
	/* the thread list and frame chain (see probe_frame.c) */
	D("dbg_interp_threads_head", interpreter_state.threads_head);
	D("dbg_ts_next", thread_state.next);
	D("dbg_ts_thread_id", thread_state.thread_id);
	D("dbg_ts_frame", thread_state.current_frame);
	D("dbg_fr_back", interpreter_frame.previous);
	D("dbg_fr_code", interpreter_frame.executable);
	D("dbg_fr_instr", interpreter_frame.instr_ptr);
	D("dbg_fr_owner", interpreter_frame.owner);
	D("dbg_co_filename", code_object.filename);
	D("dbg_co_name", code_object.name);
	D("dbg_co_qualname", code_object.qualname);
	D("dbg_co_linetable", code_object.linetable);
	D("dbg_co_firstlineno", code_object.firstlineno);
	D("dbg_co_code_adaptive", code_object.co_code_adaptive);
	D("dbg_rt_interpreters_head", runtime_state.interpreters_head);
	D("dbg_interp_next", interpreter_state.next);
	D("dbg_interp_id", interpreter_state.id);
	D("dbg_interp_modules", interpreter_state.imports_modules);
	D("dbg_fr_localsplus", interpreter_frame.localsplus);
	D("dbg_co_localsplusnames", code_object.localsplusnames);
	D("dbg_ob_size", tuple_object.ob_size);
	D("dbg_list_items", list_object.ob_item);
#endif
	/* published from 3.14 on: sets and generators; from 3.15 on: a
	 * type's sizes and a heap type's cached keys */
#if PY_VERSION_HEX >= 0x030E0000
	D("dbg_set_table", set_object.table);
	D("dbg_set_mask", set_object.mask);
	D("dbg_gen_frame", gen_object.gi_iframe);
#endif
#if PY_VERSION_HEX >= 0x030F0000
	D("dbg_tp_basicsize", type_object.tp_basicsize);
	D("dbg_tp_dictoffset", type_object.tp_dictoffset);
	D("dbg_ht_cached_keys", heap_type_object.ht_cached_keys);
#endif
	return 0;
}
