/* What `why` follows from an object to the objects it references: list
 * items, set entries, cells, functions' defaults, C members (and
 * __slots__, a bound method's __func__ and __self__) and getters of a type,
 * and a frame's locals (localsplus, named by the code object:
 * co_localsplusnames from 3.11, co_varnames + co_cellvars + co_freevars
 * before), a suspended generator's or coroutine's among them. */
#define PY_SSIZE_T_CLEAN
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>

#include "structmember.h"
#include "internal/pycore_interp.h"
#if PY_VERSION_HEX >= 0x030E0000
#include "internal/pycore_interpframe.h"
#include "internal/pycore_interpframe_structs.h"
#elif PY_VERSION_HEX >= 0x030B0000
#include "internal/pycore_frame.h"
#else
#include "frameobject.h"
#endif

#define P(name, v) printf("%s %ld\n", name, (long)(v))

int main(void)
{
	P("list_items", offsetof(PyListObject, ob_item));
	P("set_mask", offsetof(PySetObject, mask));
	P("set_table", offsetof(PySetObject, table));
	P("set_entry", sizeof(setentry));
	P("cell_ref", offsetof(PyCellObject, ob_ref));
	P("fn_defaults", offsetof(PyFunctionObject, func_defaults));
	P("fn_kwdefaults", offsetof(PyFunctionObject, func_kwdefaults));
	P("tp_members", offsetof(PyTypeObject, tp_members));
	P("member_name", offsetof(PyMemberDef, name));
	P("member_type", offsetof(PyMemberDef, type));
	P("member_offset", offsetof(PyMemberDef, offset));
	P("member_size", sizeof(PyMemberDef));
	P("tp_getset", offsetof(PyTypeObject, tp_getset));
	P("getset_get", offsetof(PyGetSetDef, get));
	P("getset_size", sizeof(PyGetSetDef));
#if PY_VERSION_HEX >= 0x030B0000
	P("co_localsplusnames", offsetof(PyCodeObject, co_localsplusnames));
	P("co_varnames", -1);
	P("co_cellvars", -1);
	P("co_freevars", -1);
	P("fr_localsplus", offsetof(_PyInterpreterFrame, localsplus));
	P("fr_locals", offsetof(_PyInterpreterFrame, f_locals));
	/* a generator's (coroutine's) frame: inside the object */
	P("gen_frame", offsetof(PyGenObject, gi_iframe));
	P("gen_frame_embedded", 1);
#else
	P("co_localsplusnames", -1);
	P("co_varnames", offsetof(PyCodeObject, co_varnames));
	P("co_cellvars", offsetof(PyCodeObject, co_cellvars));
	P("co_freevars", offsetof(PyCodeObject, co_freevars));
	P("fr_localsplus", offsetof(PyFrameObject, f_localsplus));
	P("fr_locals", offsetof(PyFrameObject, f_locals));
	P("gen_frame", offsetof(PyGenObject, gi_frame));
	P("gen_frame_embedded", 0);
#endif
	return 0;
}
