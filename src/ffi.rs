//! The C ABI (see `include/numjit.h`).
