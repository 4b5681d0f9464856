/* What walking every thread's Python stack reads: the interpreter's thread
 * list, each thread's current frame, each frame's code object and caller,
 * and the code object's names and line table.
 *   3.9, 3.10: PyThreadState.frame, a chain of PyFrameObjects (f_back)
 *   3.11, 3.12: PyThreadState.cframe->current_frame, a chain of
 *     _PyInterpreterFrames (previous)
 *   3.13+: PyThreadState.current_frame, the same chain; f_executable
 *     instead of f_code, a tagged _PyStackRef from 3.14 */
#define PY_SSIZE_T_CLEAN
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>

#include "internal/pycore_interp.h"
#if PY_VERSION_HEX >= 0x030E0000
#include "internal/pycore_interpframe.h"
#include "internal/pycore_stackref.h"
#elif PY_VERSION_HEX >= 0x030B0000
#include "internal/pycore_frame.h"
#else
#include "frameobject.h"
#endif

#define P(name, v) printf("%s %ld\n", name, (long)(v))

int main(void)
{
#if PY_VERSION_HEX >= 0x030B0000
	P("interp_threads_head", offsetof(PyInterpreterState, threads.head));
#else
	P("interp_threads_head", offsetof(PyInterpreterState, tstate_head));
#endif
	P("ts_next", offsetof(PyThreadState, next));
	P("ts_thread_id", offsetof(PyThreadState, thread_id));

#if PY_VERSION_HEX >= 0x030D0000
	P("ts_frame", offsetof(PyThreadState, current_frame));
	P("cframe_current_frame", -1);
#elif PY_VERSION_HEX >= 0x030B0000
	P("ts_frame", offsetof(PyThreadState, cframe));
	P("cframe_current_frame", offsetof(_PyCFrame, current_frame));
#else
	P("ts_frame", offsetof(PyThreadState, frame));
	P("cframe_current_frame", -1);
#endif

#if PY_VERSION_HEX >= 0x030B0000
	P("frame_repr", 1); /* ND_FRAME_INTERP */
	P("fr_back", offsetof(_PyInterpreterFrame, previous));
#if PY_VERSION_HEX >= 0x030D0000
	P("fr_code", offsetof(_PyInterpreterFrame, f_executable));
	P("fr_instr", offsetof(_PyInterpreterFrame, instr_ptr));
#else
	P("fr_code", offsetof(_PyInterpreterFrame, f_code));
	P("fr_instr", offsetof(_PyInterpreterFrame, prev_instr));
#endif
	P("fr_owner", offsetof(_PyInterpreterFrame, owner));
#else
	P("frame_repr", 0); /* ND_FRAME_OBJECT */
	P("fr_back", offsetof(PyFrameObject, f_back));
	P("fr_code", offsetof(PyFrameObject, f_code));
	P("fr_instr", offsetof(PyFrameObject, f_lasti));
	P("fr_owner", -1);
#endif
	/* f_executable is a _PyStackRef: its low bits say how it is counted */
#if PY_VERSION_HEX >= 0x030E0000
	P("fr_code_tag_bits", Py_TAG_BITS);
#else
	P("fr_code_tag_bits", 0);
#endif
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
	P("fr_is_entry", offsetof(_PyInterpreterFrame, is_entry));
#else
	P("fr_is_entry", -1);
#endif
	/* frames that are no Python function's: the C stack's entry frame
	 * (3.12-3.14; 3.15 dropped it), the interpreter's own (3.14+), and
	 * from 3.15 every owner at or above the interpreter's */
#if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030F0000
	P("owner_cstack", FRAME_OWNED_BY_CSTACK);
#else
	P("owner_cstack", -1);
#endif
#if PY_VERSION_HEX >= 0x030E0000
	P("owner_interpreter", FRAME_OWNED_BY_INTERPRETER);
#else
	P("owner_interpreter", -1);
#endif

	P("co_filename", offsetof(PyCodeObject, co_filename));
	P("co_name", offsetof(PyCodeObject, co_name));
	P("co_firstlineno", offsetof(PyCodeObject, co_firstlineno));
#if PY_VERSION_HEX >= 0x030B0000
	P("co_qualname", offsetof(PyCodeObject, co_qualname));
	P("co_linetable", offsetof(PyCodeObject, co_linetable));
	P("co_code_adaptive", offsetof(PyCodeObject, co_code_adaptive));
	P("co_firsttraceable", offsetof(PyCodeObject, _co_firsttraceable));
#else
	P("co_qualname", -1);
#if PY_VERSION_HEX >= 0x030A0000
	P("co_linetable", offsetof(PyCodeObject, co_linetable));
#else
	P("co_linetable", offsetof(PyCodeObject, co_lnotab));
#endif
	P("co_code_adaptive", -1);
	P("co_firsttraceable", -1);
#endif
	return 0;
}
