/* Where fields live in the target's objects, per CPython and NumPy version.
 * The decoder never hard-codes an offset: it asks these tables. All targets are
 * 64-bit little-endian (x86-64). */
#ifndef ND_LAYOUT_H
#define ND_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

enum nd_long_repr {
	ND_LONG_OB_SIZE, /* <= 3.11: sign and digit count in ob_size */
	ND_LONG_LV_TAG,  /* >= 3.12: _PyLongValue.lv_tag */
};

enum nd_dict_repr {
	ND_DICT_39, /* 3.9, 3.10: dk_size, dk_lookup, 24-byte entries */
	ND_DICT_311, /* >= 3.11: log2 sizes, dk_kind, 16-byte unicode entries */
};

/* Where an instance whose __dict__ was never made keeps its attributes:
 * values[] of a split table whose keys are the class's ht_cached_keys. */
enum nd_values_repr {
	ND_VALUES_NONE,   /* 3.9, 3.10: always in a dict */
	ND_VALUES_PTR,    /* 3.11: a pointer at instance_values (pre-header) */
	ND_VALUES_TAGGED, /* 3.12: the dict slot, low bit set, holds values-1 */
	ND_VALUES_INLINE, /* 3.13+: right after the object, at tp_basicsize */
};

/* How a thread's Python stack is chained. */
enum nd_frame_repr {
	ND_FRAME_OBJECT, /* 3.9, 3.10: PyFrameObjects, f_back */
	ND_FRAME_INTERP, /* 3.11+: _PyInterpreterFrames, previous */
};

struct nd_pylayout {
	int major, minor;
	/* a free-threaded build (Py_GIL_DISABLED, "3.13t"): its object header
	 * has the owning thread, a local and a shared refcount before ob_type */
	int free_threaded;
	int ob_type;
	int refcnt_bits; /* 32 where the upper half holds flags (3.14+) */
	/* free-threaded only (-1 otherwise): uint32 ob_ref_local (all ones:
	 * immortal) and Py_ssize_t ob_ref_shared (the count << 2, flags) */
	int ob_ref_local, ob_ref_shared;
	/* PyTypeObject */
	int tp_name, tp_basicsize, tp_flags, tp_base, tp_mro;
	/* PyTupleObject */
	int tuple_item;
	/* PyLongObject: digits follow the size or the tag */
	enum nd_long_repr long_repr;
	int long_digits;
	/* PyFloatObject */
	int float_fval;
	/* PyUnicodeObject; state's kind (3 bits), compact and ascii bits
	 * start at bit str_kind_shift */
	int str_state, str_kind_shift, str_ascii_data, str_compact_data;
	/* PyBytesObject, PyByteArrayObject */
	int bytes_sval, bytearray_bytes, bytearray_start;
	/* PyMemoryViewObject: the Py_buffer copy */
	int mview_buf, mview_obj, mview_len;
	/* mmap.mmap */
	int mmap_data, mmap_size;
	/* ctypes CDataObject */
	int cdata_ptr, cdata_size;
	/* PyDictObject */
	enum nd_dict_repr dict_repr;
	int dict_used, dict_keys, dict_values;
	int dict_split_values; /* values[] inside PyDictValues */
	/* PyDictKeysObject: dk_size (3.9, 3.10) or dk_log2_size; -1 absent */
	int dk_size, dk_log2_index_bytes, dk_kind, dk_nentries, dk_indices;
	int dk_entry_size, dk_unicode_entry_size;
	/* 3.13+: where _Py_DebugOffsets (at the start of _PyRuntime) publishes
	 * the offsets above, so that they are read from the target; 0 before */
	int dbg_version, dbg_free_threaded;
	int dbg_ob_type, dbg_tp_name, dbg_tp_flags, dbg_tuple_item;
	int dbg_dict_keys, dbg_dict_values, dbg_float_fval, dbg_long_digits;
	int dbg_bytes_sval, dbg_str_state, dbg_str_ascii_size;
	/* finding objects: subclasses (a dict of weakrefs), modules, and
	 * instance dicts (after the header at tp_dictoffset, or, for types
	 * with tpflags_managed_dict, at instance_dict, before it) */
	int tp_subclasses, tp_dictoffset, weakref_object;
	uint64_t tpflags_managed_dict;
	/* _PyRuntime.interpreters: head is the newest interpreter (the list
	 * of all of them, linked by interp_next), main the main one, whose
	 * names are the program's; each has its interp_id (main's is 0) */
	int rt_interpreters_head, rt_interpreters_main, interp_next, interp_id;
	int interp_modules, module_dict, instance_dict;
	uint64_t tpflags_inline_values;
	int ht_cached_keys;
	enum nd_values_repr values_repr;
	int instance_values;
	/* PyDictValues header bytes (3.13+; -1 before) */
	int dv_capacity, dv_valid;
	/* for a negative tp_dictoffset: the object's size from its items */
	int tp_itemsize, ob_size;
	/* every thread's Python stack: PyInterpreterState's first
	 * PyThreadState (tstate_head, threads.head), then next; thread_id is
	 * the thread's pthread_self() */
	int interp_threads_head, ts_next, ts_thread_id;
	/* the newest frame: ts_frame is PyThreadState.frame (a PyFrameObject,
	 * 3.9, 3.10), .cframe (a _PyCFrame whose current_frame is at
	 * cframe_current_frame, 3.11, 3.12) or .current_frame (3.13+);
	 * cframe_current_frame is -1 where there is no _PyCFrame */
	int ts_frame, cframe_current_frame;
	enum nd_frame_repr frame_repr;
	/* the frame: its caller (f_back, previous) and code object (f_code,
	 * f_executable); from 3.14 f_executable is a _PyStackRef whose low
	 * fr_code_tag_bits are cleared to get the pointer (0 before) */
	int fr_back, fr_code;
	uint64_t fr_code_tag_bits;
	/* where it is: int f_lasti (3.9, 3.10), prev_instr (3.11, 3.12) or
	 * instr_ptr (3.13+), a pointer into the code's co_code_adaptive */
	int fr_instr;
	/* 3.11: is_entry (bool); 3.11+: owner (char), whose owner_cstack
	 * (3.12-3.14) value and owner_interpreter (3.14+) and above mark
	 * frames that are no Python function's; -1 absent */
	int fr_is_entry, fr_owner, owner_cstack, owner_interpreter;
	/* PyCodeObject: co_linetable is co_lnotab in 3.9 (a bytes object);
	 * co_qualname, co_code_adaptive (the first instruction) and
	 * co_firsttraceable (_co_firsttraceable) are -1 before 3.11 */
	int co_filename, co_name, co_qualname, co_firstlineno, co_linetable;
	int co_code_adaptive, co_firsttraceable;
	/* 3.13+: where _Py_DebugOffsets publishes the offsets above; 0 before */
	int dbg_interp_threads_head, dbg_ts_next, dbg_ts_thread_id, dbg_ts_frame;
	int dbg_fr_back, dbg_fr_code, dbg_fr_instr, dbg_fr_owner;
	int dbg_co_filename, dbg_co_name, dbg_co_qualname, dbg_co_linetable;
	int dbg_co_firstlineno, dbg_co_code_adaptive;
	/* ... and of what names, why and the scan read (0 where a version
	 * does not publish it: sets and generators from 3.14, a type's sizes
	 * and cached keys from 3.15) */
	int dbg_rt_interpreters_head, dbg_interp_next, dbg_interp_id;
	int dbg_interp_modules, dbg_fr_localsplus, dbg_co_localsplusnames;
	int dbg_ob_size, dbg_list_items, dbg_set_table, dbg_set_mask;
	int dbg_gen_frame, dbg_tp_basicsize, dbg_tp_dictoffset;
	int dbg_ht_cached_keys;
	/* pymalloc: its arena table (struct _obmalloc_state's mgmt.arenas and
	 * mgmt.maxarenas) in the interpreter state at om_state, or pointed to
	 * from there when om_state_ptr (3.13+); -1 before 3.12, where the
	 * table is static and found another way. Each interpreter has its
	 * state (interp_next links them). Pools of 2^om_pool_bits
	 * bytes, each starting with an om_pool_header-byte header, in arenas
	 * of 2^om_arena_bits; an arena_object is om_arena_object bytes */
	int om_state, om_state_ptr, om_arenas, om_maxarenas;
	int om_pool_bits, om_arena_bits, om_arena_object, om_pool_header;
	/* what `why` follows (refs.c): list items, set entries (a table of
	 * set_entry bytes, mask + 1 of them), a cell's object, a function's
	 * defaults and kwdefaults, a type's members (PyMemberDef[]: name,
	 * type, offset; member_size each) */
	int list_items, set_mask, set_table, set_entry, cell_ref;
	int fn_defaults, fn_kwdefaults, tp_members;
	int member_name, member_type, member_offset, member_size;
	/* a type's getters (PyGetSetDef[]: name, then get at getset_get;
	 * getset_size each): a Cython attribute's is a field load */
	int tp_getset, getset_get, getset_size;
	/* a frame's locals: localsplus (in the frame) named by
	 * co_localsplusnames (3.11+) or co_varnames, co_cellvars and
	 * co_freevars in turn (-1 where absent); its locals dict */
	int co_localsplusnames, co_varnames, co_cellvars, co_freevars;
	int fr_localsplus, fr_locals;
	/* a generator's (coroutine's, async generator's) frame: at gen_frame
	 * inside the object from 3.11 (gen_frame_embedded), a pointer to a
	 * frame object there before */
	int gen_frame, gen_frame_embedded;
};

struct nd_nplayout {
	int major; /* 1 or 2 */
	int maxdims;
	/* PyArrayObject_fields */
	int arr_data, arr_nd, arr_dims, arr_strides, arr_base, arr_descr, arr_flags;
	/* PyArray_Descr (and _PyArray_LegacyDescr in 2.x) */
	int d_typeobj, d_kind, d_type, d_byteorder, d_type_num;
	int d_flags, d_flags_size;
	int d_elsize, d_elsize_size;
	int d_alignment, d_alignment_size;
	int d_subarray, d_fields, d_names, d_metadata, d_c_metadata;
	/* PyArrayDescr_Type.tp_basicsize: tells 1.x from 2.x in the target */
	int d_basicsize;
	/* type_num at and above which a descr has no legacy fields (2.x) */
	int legacy_type_num_end;
	/* PyArray_DatetimeDTypeMetaData.meta inside c_metadata */
	int dt_meta_base, dt_meta_num;
};

/* Bytes of the object header: where an object's own fields begin. */
static inline int nd_header_size(const struct nd_pylayout *P)
{
	return P->ob_type + 8;
}

/* NULL when the version is not one we know; see nd_layout_supported(). */
const struct nd_pylayout *nd_pylayout_find(int major, int minor,
					   bool free_threaded);
const struct nd_nplayout *nd_nplayout_find(int numpy_major);
/* "3.9-3.15, and 3.13t free-threaded" and "1.x and 2.x", for error
 * messages. */
const char *nd_layout_supported_python(void);
const char *nd_layout_supported_numpy(void);

#endif
