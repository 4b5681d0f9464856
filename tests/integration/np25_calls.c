/* NumPy 2.5's calls around a data buffer, made exactly as its default
 * allocator and PyDataMem_User* wrappers make them (numpy/_core/src/
 * multiarray/alloc.cpp, with numpy#30902), on raw memory: for
 * test_np25.py, which checks what watch and audit make of them. Built
 * against each target's Python headers. Addresses are Python ints. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define NPY_TRACE_DOMAIN 389047

/* PyDataMem_UserNEW: PyMem_RawMalloc, the raw domain's own trace undone,
 * then NumPy's. */
static PyObject *alloc(PyObject *self, PyObject *arg)
{
	size_t n = PyLong_AsSize_t(arg);
	(void)self;

	if (PyErr_Occurred())
		return NULL;
	void *p = PyMem_RawMalloc(n);
	if (!p)
		return PyErr_NoMemory();
	PyTraceMalloc_Untrack(0, (uintptr_t)p);
	if (PyTraceMalloc_Track(NPY_TRACE_DOMAIN, (uintptr_t)p, n) == -1) {
		PyMem_RawFree(p);
		return PyErr_NoMemory();
	}
	return PyLong_FromVoidPtr(p);
}

/* What both resizes begin with: the arguments (address, size) and
 * PyMem_RawRealloc; -1 with a Python error set. */
static int reallocate(PyObject *a, void **p, void **r, size_t *n)
{
	PyObject *addr;
	Py_ssize_t size;

	if (!PyArg_ParseTuple(a, "On", &addr, &size))
		return -1;
	*p = PyLong_AsVoidPtr(addr);
	*n = (size_t)size;
	if (PyErr_Occurred())
		return -1;
	*r = PyMem_RawRealloc(*p, *n);
	if (!*r) {
		PyErr_NoMemory();
		return -1;
	}
	return 0;
}

/* PyDataMem_UserRENEW: the realloc and the raw domain's trace undone
 * (default_realloc), then the old pointer untracked; the new one is
 * tracked only where tracemalloc runs (-2: it does not). */
static PyObject *resize(PyObject *self, PyObject *a)
{
	void *p, *r;
	size_t n;
	(void)self;

	if (reallocate(a, &p, &r, &n))
		return NULL;
	PyTraceMalloc_Untrack(0, (uintptr_t)r);
	if (PyTraceMalloc_Untrack(NPY_TRACE_DOMAIN, (uintptr_t)p) != -2)
		PyTraceMalloc_Track(NPY_TRACE_DOMAIN, (uintptr_t)r, n);
	return PyLong_FromVoidPtr(r);
}

/* The public PyDataMem_RENEW: the old pointer untracked before the raw
 * domain's trace of the new one, and nothing more where tracemalloc
 * does not run. */
static PyObject *resize_public(PyObject *self, PyObject *a)
{
	void *p, *r;
	size_t n;
	(void)self;

	if (reallocate(a, &p, &r, &n))
		return NULL;
	if (PyTraceMalloc_Untrack(NPY_TRACE_DOMAIN, (uintptr_t)p) != -2) {
		PyTraceMalloc_Untrack(0, (uintptr_t)r);
		PyTraceMalloc_Track(NPY_TRACE_DOMAIN, (uintptr_t)r, n);
	}
	return PyLong_FromVoidPtr(r);
}

/* PyDataMem_UserFREE. */
static PyObject *release(PyObject *self, PyObject *arg)
{
	void *p = PyLong_AsVoidPtr(arg);
	(void)self;

	if (PyErr_Occurred())
		return NULL;
	PyTraceMalloc_Untrack(NPY_TRACE_DOMAIN, (uintptr_t)p);
	PyMem_RawFree(p);
	Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
	{"alloc", alloc, METH_O, NULL},
	{"resize", resize, METH_VARARGS, NULL},
	{"resize_public", resize_public, METH_VARARGS, NULL},
	{"release", release, METH_O, NULL},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
	PyModuleDef_HEAD_INIT, "np25_calls", NULL, -1, methods,
	NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_np25_calls(void)
{
	PyObject *m = PyModule_Create(&module);
#ifdef Py_GIL_DISABLED
	/* it keeps no state: importing it must not turn the GIL back on in
	 * a free-threaded target (the threads ndspy follows stay free) */
	if (m)
		PyUnstable_Module_SetGIL(m, Py_MOD_GIL_NOT_USED);
#endif
	return m;
}
