/* A C extension that keeps arrays in C globals, for @SYMBOL lookups: one
 * exported, one static (only in .symtab, or in a separate debug file once
 * the test strips it). Built by test_symbols.py against each target's
 * Python headers. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* MODSYM_exported: each build of this file exports its own name */
#define CAT(a, b) a##b
#define XCAT(a, b) CAT(a, b)
#define ndspy_exported XCAT(MODSYM, _exported)

PyObject *ndspy_exported;
static PyObject *ndspy_hidden;

static PyObject *keep(PyObject *self, PyObject *args)
{
	PyObject *a, *b;
	(void)self;

	if (!PyArg_ParseTuple(args, "OO", &a, &b))
		return NULL;
	Py_XDECREF(ndspy_exported);
	Py_XDECREF(ndspy_hidden);
	Py_INCREF(a);
	Py_INCREF(b);
	ndspy_exported = a;
	ndspy_hidden = b;
	Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
	{"keep", keep, METH_VARARGS, "keep(a, b): hold a and b in C globals"},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, MODNAME, NULL, -1,
				    methods};

#define INIT(name) PyInit_##name
#define INIT_OF(name) INIT(name)

PyMODINIT_FUNC INIT_OF(MODSYM)(void)
{
	return PyModule_Create(&module);
}
