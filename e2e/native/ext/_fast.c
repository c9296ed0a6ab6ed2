/* A CPython extension with RUNPATH $ORIGIN/lib that needs lib/libfast.so. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

int fast_value(void);

static PyObject *value(PyObject *self, PyObject *args) { return PyLong_FromLong(fast_value()); }

static PyMethodDef methods[] = {{"value", value, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fast", NULL, -1, methods};

PyMODINIT_FUNC PyInit__fast(void) { return PyModule_Create(&module); }
