/* Where NumPy keeps the fields ndspy reads, per its own headers. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
/* NumPy 2 shows the 2.x descr fields only to code built for 2.0 and up
 * (NPY_2_0_API_VERSION); 1.x headers ignore it */
#define NPY_TARGET_VERSION 0x00000012
#include <numpy/ndarraytypes.h>

#define P(name, v) printf("%s %ld\n", name, (long)(v))
#define S(m) sizeof(((PyArray_Descr *)0)->m)

int main(void)
{
#if NPY_ABI_VERSION >= 0x02000000
	typedef _PyArray_LegacyDescr legacy;
	P("major", 2);
	P("legacy_type_num_end", NPY_VSTRING);
#else
	typedef PyArray_Descr legacy;
	P("major", 1);
	P("legacy_type_num_end", INT_MAX);
#endif
	P("maxdims", NPY_MAXDIMS);
	P("arr_data", offsetof(PyArrayObject_fields, data));
	P("arr_nd", offsetof(PyArrayObject_fields, nd));
	P("arr_dims", offsetof(PyArrayObject_fields, dimensions));
	P("arr_strides", offsetof(PyArrayObject_fields, strides));
	P("arr_base", offsetof(PyArrayObject_fields, base));
	P("arr_descr", offsetof(PyArrayObject_fields, descr));
	P("arr_flags", offsetof(PyArrayObject_fields, flags));
	P("d_typeobj", offsetof(PyArray_Descr, typeobj));
	P("d_kind", offsetof(PyArray_Descr, kind));
	P("d_type", offsetof(PyArray_Descr, type));
	P("d_byteorder", offsetof(PyArray_Descr, byteorder));
	P("d_type_num", offsetof(PyArray_Descr, type_num));
	P("d_flags", offsetof(PyArray_Descr, flags));
	P("d_flags_size", S(flags));
	P("d_elsize", offsetof(PyArray_Descr, elsize));
	P("d_elsize_size", S(elsize));
	P("d_alignment", offsetof(PyArray_Descr, alignment));
	P("d_alignment_size", S(alignment));
	P("d_metadata", offsetof(PyArray_Descr, metadata));
	P("d_subarray", offsetof(legacy, subarray));
	P("d_fields", offsetof(legacy, fields));
	P("d_names", offsetof(legacy, names));
	P("d_c_metadata", offsetof(legacy, c_metadata));
	P("d_basicsize", sizeof(PyArray_Descr));
	P("dt_meta_base", offsetof(PyArray_DatetimeDTypeMetaData, meta.base));
	P("dt_meta_num", offsetof(PyArray_DatetimeDTypeMetaData, meta.num));
	return 0;
}
