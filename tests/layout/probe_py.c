/* Prints where CPython keeps the fields ndspy reads, as offsetof() against
 * one version's own headers sees them: "name value" lines, read by
 * derive.py. Built once per Python version (see derive.py). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define P(name, v) printf("%s %ld\n", name, (long)(v))

int main(void)
{
	P("ob_type", offsetof(PyObject, ob_type));
#ifdef Py_GIL_DISABLED
	/* the owning thread's count and everyone else's */
	P("refcnt_bits", 8 * sizeof(((PyObject *)0)->ob_ref_local));
	P("ob_ref_local", offsetof(PyObject, ob_ref_local));
	P("ob_ref_shared", offsetof(PyObject, ob_ref_shared));
#else
	/* the refcount is 32 bits where the upper half holds flags (3.14) */
	P("refcnt_bits", 8 * sizeof(((PyObject *)0)->ob_refcnt));
	P("ob_ref_local", -1);
	P("ob_ref_shared", -1);
#endif
	P("tp_name", offsetof(PyTypeObject, tp_name));
	P("tp_basicsize", offsetof(PyTypeObject, tp_basicsize));
	P("tp_flags", offsetof(PyTypeObject, tp_flags));
	P("tp_base", offsetof(PyTypeObject, tp_base));
	P("tp_mro", offsetof(PyTypeObject, tp_mro));
	P("tp_subclasses", offsetof(PyTypeObject, tp_subclasses));
	P("tp_dictoffset", offsetof(PyTypeObject, tp_dictoffset));
	/* a negative tp_dictoffset counts from the end of a variable-size
	 * object (tuple and int subclasses before 3.12) */
	P("tp_itemsize", offsetof(PyTypeObject, tp_itemsize));
	P("ob_size", offsetof(PyVarObject, ob_size));
	P("weakref_object", offsetof(PyWeakReference, wr_object));
#ifdef Py_TPFLAGS_MANAGED_DICT
	P("tpflags_managed_dict", Py_TPFLAGS_MANAGED_DICT);
#else
	P("tpflags_managed_dict", 0);
#endif
#ifdef Py_TPFLAGS_INLINE_VALUES
	P("tpflags_inline_values", Py_TPFLAGS_INLINE_VALUES);
#else
	P("tpflags_inline_values", 0);
#endif
	/* the keys every instance of a class shares (split tables) */
	P("ht_cached_keys", offsetof(PyHeapTypeObject, ht_cached_keys));
	P("tuple_item", offsetof(PyTupleObject, ob_item));
#ifdef _PyLong_SIGN_MASK
	P("long_repr", 1); /* ND_LONG_LV_TAG */
	P("long_digits", offsetof(PyLongObject, long_value.ob_digit));
#else
	P("long_repr", 0); /* ND_LONG_OB_SIZE */
	P("long_digits", offsetof(PyLongObject, ob_digit));
#endif
	P("float_fval", offsetof(PyFloatObject, ob_fval));
	P("str_state", offsetof(PyASCIIObject, state));
	{
		/* where the bit fields kind, compact and ascii (in that order
		 * in every version) start: a free-threaded build gives
		 * interned a byte of its own */
		PyASCIIObject a;
		unsigned int bits = 0;
		memset(&a, 0, sizeof(a));
		a.state.kind = 1;
		memcpy(&bits, &a.state, sizeof(bits));
		P("str_kind_shift", __builtin_ctz(bits));
	}
	P("str_ascii_data", sizeof(PyASCIIObject));
	P("str_compact_data", sizeof(PyCompactUnicodeObject));
	P("bytes_sval", offsetof(PyBytesObject, ob_sval));
	P("bytearray_bytes", offsetof(PyByteArrayObject, ob_bytes));
	P("bytearray_start", offsetof(PyByteArrayObject, ob_start));
	P("mview_buf", offsetof(PyMemoryViewObject, view.buf));
	P("mview_obj", offsetof(PyMemoryViewObject, view.obj));
	P("mview_len", offsetof(PyMemoryViewObject, view.len));
	P("dict_used", offsetof(PyDictObject, ma_used));
	P("dict_keys", offsetof(PyDictObject, ma_keys));
	P("dict_values", offsetof(PyDictObject, ma_values));
	return 0;
}
