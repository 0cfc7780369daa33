//! The panic guard every exported function runs under, and the helpers that turn raw pointer
//! arguments into checked Rust values (NULL and non-UTF-8 become errors, not crashes).
//!
//! Helpers take the argument's name as `impl Display` (a `&str` or `format_args!`), so that
//! a message is only formatted when there is an error: these run on every evaluation.

use std::ffi::{c_char, CStr};
use std::fmt::Display;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::error::{numjit_error, numjit_status, Failure};

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
    let failure = match catch_unwind(AssertUnwindSafe(|| super::cancel::observing(body))) {
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
