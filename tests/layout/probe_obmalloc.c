/* Where pymalloc keeps its arena table (3.12+, in the interpreter state:
 * the struct itself in 3.12, a pointer to it from 3.13), and the sizes of
 * its pools and arenas. Before 3.12 both live in Objects/obmalloc.c, which
 * installs no header: derive.py carries them. Each interpreter may have
 * its own state (isolated subinterpreters): they are walked through next. */
#define PY_SSIZE_T_CLEAN
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>

#include "internal/pycore_interp.h"
#include "internal/pycore_obmalloc.h"

#define P(name, v) printf("%s %ld\n", name, (long)(v))

int main(void)
{
	P("om_state", offsetof(PyInterpreterState, obmalloc));
#if PY_VERSION_HEX >= 0x030D0000
	P("om_state_ptr", 1);
#else
	P("om_state_ptr", 0);
#endif
	P("om_arenas", offsetof(struct _obmalloc_state, mgmt.arenas));
	P("om_maxarenas", offsetof(struct _obmalloc_state, mgmt.maxarenas));
	P("om_pool_bits", POOL_BITS);
	P("om_arena_bits", ARENA_BITS);
	P("om_arena_object", sizeof(struct arena_object));
	P("om_pool_header", POOL_OVERHEAD);
	return 0;
}
