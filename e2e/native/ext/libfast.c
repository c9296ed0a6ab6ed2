int fast_value(void) { return 7; }
