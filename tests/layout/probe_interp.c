/* Where the interpreter keeps sys.modules, for MODULE.NAME lookups:
 * _PyRuntime.interpreters.main, then the interpreter's modules dict; and
 * interpreters.head, the newest, whose list (next) holds them all, each
 * with its id (0 for the main one). */
#define PY_SSIZE_T_CLEAN
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>

#include "internal/pycore_interp.h"
#include "internal/pycore_runtime.h"

#define P(name, v) printf("%s %ld\n", name, (long)(v))

int main(void)
{
	P("rt_interpreters_head", offsetof(_PyRuntimeState, interpreters.head));
	/* head is the newest interpreter: a subinterpreter once one is made */
	P("rt_interpreters_main", offsetof(_PyRuntimeState, interpreters.main));
	P("interp_next", offsetof(PyInterpreterState, next));
	P("interp_id", offsetof(PyInterpreterState, id));
#if PY_VERSION_HEX >= 0x030C0000
	P("interp_modules", offsetof(PyInterpreterState, imports.modules));
#else
	P("interp_modules", offsetof(PyInterpreterState, modules));
#endif
	return 0;
}
