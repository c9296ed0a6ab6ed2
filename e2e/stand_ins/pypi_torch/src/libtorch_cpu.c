/* The stand-in's libtorch_cpu.so: found by _C through RUNPATH $ORIGIN/lib. */
int torch_cpu_answer(void) { return 42; }
