/* The stand-in's libcublas.so.12, loaded with ctypes from the venv path. */
int cublas_version(void) { return 12; }
