//! The panic guard every exported function runs under, and the helpers that turn raw pointer
//! arguments into checked Rust values (NULL and non-UTF-8 become errors, not crashes).
//!
//! Helpers take the argument's name as `impl Display` (a `&str` or `format_args!`), so that
//! a message is only formatted when there is an error: these run on every evaluation.

use std::ffi::{c_char, CStr};
use std::fmt::Display;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::error::{numjit_error, numjit_status, Failure};

/// The stack a call of the C ABI may use on its caller's thread: compiling 250 nested calls,
/// near the parser's limit, fits in it (`c_abi_runs_on_small_stacks` runs it on a 1.25 MiB
/// thread, where no segment is made).
const STACK_RED_ZONE: usize = 1 << 20;
/// The stack a call runs on when its thread has less than [`STACK_RED_ZONE`] left: what a
/// main thread has. Making it costs an `mmap` and the page faults of what the call touches,
/// 0.3–0.5 ms per compile (`compile_latency_on_small_stacks`); threads with more stack left
/// pay a few nanoseconds for the check.
const STACK_SEGMENT: usize = 8 << 20;

/// Runs a fallible body: a panic becomes `NUMJIT_STATUS_PANIC`, and on failure a new error object
/// is stored in `*error` (NULL on success) unless `error` itself is NULL.
///
/// # Safety
/// `error` is NULL or points to a writable `numjit_error *`.
pub(super) unsafe fn run(
    error: *mut *mut numjit_error,
    body: impl FnOnce() -> Result<(), Failure>,
) -> numjit_status {
    // Unwind safety: a panic can leave only caches behind, and those tolerate it (the engine
    // ignores lock poisoning); the caller's arrays are not Rust values.
    // Every evaluation runs under a fallible guard: there, it observes the thread's token.
    // C callers run on threads of any stack size (64 KiB is common for worker pools), and
    // compiling needs more than that: below `STACK_RED_ZONE` of stack left, the body runs on a
    // fresh segment of `STACK_SEGMENT` bytes (an `mmap` for that call, nothing otherwise).
    let guarded = || {
        stacker::maybe_grow(STACK_RED_ZONE, STACK_SEGMENT, || {
            super::cancel::observing(body)
        })
    };
    let failure = match catch_unwind(AssertUnwindSafe(guarded)) {
        Ok(Ok(())) => None,
        Ok(Err(f)) => Some(f),
        Err(payload) => Some(Failure::panic(payload.as_ref())),
    };
    let status = failure.as_ref().map_or(numjit_status::Ok, |f| f.status);
    if !error.is_null() {
        let object = failure.map_or(std::ptr::null_mut(), |f| {
            Box::into_raw(Box::new(numjit_error::from(f)))
        });
        // SAFETY: `error` is non-NULL and writable by this function's contract.
        unsafe { *error = object };
    }
    status
}

/// Runs an infallible body (getters, `free`): a panic yields `fallback` instead of unwinding
/// into C, which would be undefined behaviour.
pub(super) fn value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// The object behind a required pointer argument.
///
/// # Safety
/// `p` is NULL or points to a live, properly initialized `T` for `'a`.
pub(super) unsafe fn arg<'a, T>(p: *const T, what: impl Display) -> Result<&'a T, Failure> {
    // SAFETY: NULL or valid, by this function's contract.
    unsafe { p.as_ref() }.ok_or_else(|| Failure::null(&what))
}

/// The slot behind a required out-parameter.
///
/// # Safety
/// `p` is NULL or points to a writable `T` for `'a`.
pub(super) unsafe fn out<'a, T>(p: *mut T, what: impl Display) -> Result<&'a mut T, Failure> {
    // SAFETY: NULL or valid and writable, by this function's contract.
    unsafe { p.as_mut() }.ok_or_else(|| Failure::null(&what))
}

/// A required NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that stays unchanged for `'a`.
pub(super) unsafe fn text<'a>(p: *const c_char, what: impl Display) -> Result<&'a str, Failure> {
    if p.is_null() {
        return Err(Failure::null(&what));
    }
    // SAFETY: non-NULL and NUL-terminated by this function's contract.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|e| Failure::invalid(format!("{what} is not valid UTF-8 ({e})")))
}

/// A `(pointer, count)` argument as a slice; the pointer may be NULL when the count is 0.
///
/// # Safety
/// When `len > 0`, `p` is NULL or points to `len` initialized `T`s that stay unchanged for `'a`.
pub(super) unsafe fn slice<'a, T>(
    p: *const T,
    len: usize,
    what: impl Display,
) -> Result<&'a [T], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Failure::null(&what));
    }
    if len > isize::MAX as usize / std::mem::size_of::<T>().max(1) {
        return Err(Failure::invalid(format!(
            "{what} has {len} elements, more than memory can hold"
        )));
    }
    if !p.is_aligned() {
        return Err(Failure::invalid(format!(
            "{what} is not aligned for its element type"
        )));
    }
    // SAFETY: non-NULL, aligned, `len` elements by contract, total size checked above.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}
