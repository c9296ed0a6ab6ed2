/* A real CPython extension module that needs lib/libtorch_cpu.so next to it. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

int torch_cpu_answer(void);

static PyObject *answer(PyObject *self, PyObject *args) {
  return PyLong_FromLong(torch_cpu_answer());
}

static PyMethodDef methods[] = {
    {"answer", answer, METH_NOARGS, "The answer, from libtorch_cpu.so."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_C", NULL, -1, methods};

PyMODINIT_FUNC PyInit__C(void) { return PyModule_Create(&module); }
