//! The C ABI. `include/numjit.h` is generated from this module by cbindgen (`cbindgen.toml`;
//! `tests/c_api.rs` fails when the header is stale), so these doc comments are the header's.
//!
//! Conventions every function follows (the header repeats them in its preamble):
//!
//! * **Status codes.** Fallible functions return a [`numjit_status`]; `NUMJIT_STATUS_OK` (0) is
//!   success. The message, with the expression drawn and a caret under the offending part, is in
//!   a `numjit_error` object handed back through the last parameter (see `error.rs` for why an
//!   object and not a thread-local "last error").
//! * **Ownership.** Every `numjit_*_new`/`compile`/`eval`/`evaluate` result is owned by the caller
//!   and released with the matching `numjit_*_free`, which accepts NULL. Arrays passed in are
//!   borrowed for the duration of the call only; numjit never keeps a pointer to caller memory.
//! * **Validation.** NULL pointers, unknown dtype codes, negative or overflowing shapes, strides
//!   that reach outside the address space and overlapping outputs are reported as
//!   `NUMJIT_STATUS_NULL_ARGUMENT` / `NUMJIT_STATUS_INVALID_ARGUMENT`, never undefined
//!   behaviour; misaligned data is read and written through aligned copies. (What cannot be checked — that a pointer really points at that much memory — is
//!   the caller's promise.)
//! * **Panics** never cross the boundary: each function runs under `catch_unwind` and reports a
//!   panic as `NUMJIT_STATUS_PANIC` (see `guard.rs`).
//! * **Threads.** Engines and kernels are immutable or internally locked: any number of threads
//!   may use one at the same time. An evaluation blocks the calling thread while numjit's own
//!   worker pool computes.
//!
//! Layout: `error` (status codes, the error object), `guard` (panic guard, argument helpers),
//! `array` (checking a caller's array description and viewing it as an ndarray — the only place
//! that reads array memory descriptions), `bind` (the checked arrays as the engine's `Vars`), `engine` (engines, kernels, evaluation), `result`
//! (numjit-owned result arrays), `cancel` (cancel tokens), `program` (running programs with outputs, the names a program
//! reads and writes), `runtime` (threads, tier, object cache, version, the names an expression uses).
#![allow(non_camel_case_types)] // C names (`numjit_engine`), so the Rust reads like the header.
#![deny(unsafe_op_in_unsafe_fn)] // every unsafe operation gets its own block and SAFETY line

mod array;
mod bind;
mod cancel;
mod engine;
mod error;
mod guard;
mod program;
mod result;
mod runtime;

#[cfg(test)]
mod tests;
