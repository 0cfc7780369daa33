//! Engines, kernels and evaluation: the handles of the C ABI.

use std::ffi::c_char;
use std::sync::OnceLock;

use super::array::{layout, numjit_array_mut, numjit_dtype, numjit_var, Raw, Subject};
use super::bind::{Inputs, OutView};
use super::error::{numjit_error, numjit_status, Failure};
use super::guard;
use super::result::numjit_result;
use crate::api::engine::{Engine, Kernel};
use crate::core::error::{Error, ErrorKind};

/// A compiler with a cache of compiled expressions.
///
/// Created by `numjit_engine_new`, freed by `numjit_engine_free`. Thread-safe: any number of
/// threads may compile with one engine at the same time (the cache is locked internally).
pub struct numjit_engine {
    engine: Engine,
}

/// A compiled expression, ready to evaluate any number of times.
///
/// Created by `numjit_compile`, freed by `numjit_kernel_free`. Immutable and thread-safe: any
/// number of threads may evaluate one kernel at the same time. A kernel stays valid after its
/// engine is freed (the compiled code is shared, not owned by the engine's cache).
pub struct numjit_kernel {
    kernel: Kernel,
}

/// A new engine whose cache holds up to `cache_capacity` compiled expressions (least recently
/// used evicted first); 0 means the default of 256.
///
/// Returns NULL only if numjit panicked (a bug). Free it with `numjit_engine_free`.
#[no_mangle]
pub extern "C" fn numjit_engine_new(cache_capacity: usize) -> *mut numjit_engine {
    guard::value(std::ptr::null_mut(), || {
        let engine = match cache_capacity {
            0 => Engine::default(),
            n => Engine::with_cache_capacity(n),
        };
        Box::into_raw(Box::new(numjit_engine { engine }))
    })
}

/// Frees an engine. NULL is allowed and does nothing. Kernels compiled by it stay valid.
/// No other thread may be using the engine.
///
/// # Safety
/// `engine` is NULL or returned by `numjit_engine_new` and not freed yet.
#[no_mangle]
pub unsafe extern "C" fn numjit_engine_free(engine: *mut numjit_engine) {
    guard::value((), || {
        if !engine.is_null() {
            // SAFETY: made by `Box::into_raw` in `numjit_engine_new`, not freed yet (contract).
            drop(unsafe { Box::from_raw(engine) });
        }
    })
}

/// Compiles `expr` for inputs with the names, dtypes and ndims of `vars[0..nvars]` (their data
/// is not read; their strides only tell whether they are C-contiguous), or takes it from the
/// engine's cache. On success stores a new kernel in `*kernel_out`, which the caller frees with
/// `numjit_kernel_free`.
///
/// Errors: the expression's (`SYNTAX`, `UNKNOWN_NAME`, `TYPE`, …), `NULL_ARGUMENT`,
/// `INVALID_ARGUMENT` for a malformed var. On failure `*kernel_out` is set to NULL.
///
/// # Safety
/// `engine` is a live engine; `expr` a NUL-terminated string; `vars` points to `nvars` vars
/// (may be NULL when `nvars` is 0) whose names and arrays meet `numjit_var`'s requirements;
/// `kernel_out` points to a writable `numjit_kernel *`; `error` is NULL or points to a writable
/// `numjit_error *`, which receives a new error on failure and NULL on success.
#[no_mangle]
pub unsafe extern "C" fn numjit_compile(
    engine: *const numjit_engine,
    expr: *const c_char,
    vars: *const numjit_var,
    nvars: usize,
    kernel_out: *mut *mut numjit_kernel,
    error: *mut *mut numjit_error,
) -> numjit_status {
    let body = || {
        // SAFETY: each pointer meets this function's contract (NULLs are reported).
        let slot = unsafe { guard::out(kernel_out, "`kernel_out`") }?;
        *slot = std::ptr::null_mut();
        // SAFETY: as above.
        let engine = unsafe { guard::arg(engine, "`engine`") }?;
        // SAFETY: as above.
        let expr = unsafe { guard::text(expr, "`expr`") }?;
        // SAFETY: as above.
        let mut inputs = unsafe { Inputs::new(vars, nvars) }?;
        let kernel = engine.engine.compile(expr, &inputs.vars().signature())?;
        *slot = Box::into_raw(Box::new(numjit_kernel { kernel }));
        Ok(())
    };
    // SAFETY: `error` is NULL or writable, by this function's contract.
    unsafe { guard::run(error, body) }
}

/// Frees a kernel. NULL is allowed and does nothing. No other thread may be using it.
///
/// # Safety
/// `kernel` is NULL or returned by `numjit_compile` and not freed yet.
#[no_mangle]
pub unsafe extern "C" fn numjit_kernel_free(kernel: *mut numjit_kernel) {
    guard::value((), || {
        if !kernel.is_null() {
            // SAFETY: made by `Box::into_raw` in `numjit_compile`, not freed yet (contract).
            drop(unsafe { Box::from_raw(kernel) });
        }
    })
}

/// Stores the dtype of the kernel's result in `*dtype_out`; a `value` error for a program that
/// ends in a statement (it has no result).
///
/// # Safety
/// `kernel` is NULL or a live kernel; `dtype_out` is NULL or points to a writable `numjit_dtype`.
#[no_mangle]
pub unsafe extern "C" fn numjit_kernel_dtype(
    kernel: *const numjit_kernel,
    dtype_out: *mut numjit_dtype,
) -> numjit_status {
    let body = || {
        // SAFETY: NULL or valid, by this function's contract.
        let kernel = unsafe { guard::arg(kernel, "`kernel`") }?;
        // SAFETY: as above.
        let dtype = kernel.kernel.dtype().ok_or_else(|| {
            Error::new(
                ErrorKind::Value,
                "the kernel has no result: its program ends in a statement, not an expression",
            )
        })?;
        *unsafe { guard::out(dtype_out, "`dtype_out`") }? = dtype.into();
        Ok(())
    };
    // SAFETY: no error out-parameter: NULL is allowed.
    unsafe { guard::run(std::ptr::null_mut(), body) }
}

/// Evaluates `kernel` with `vars[0..nvars]` (the names, dtypes and ndims it was compiled for;
/// any sizes and strides) and stores a new numjit-owned result in `*result_out`, which the caller
/// frees with `numjit_result_free`.
///
/// Inputs are read in place, never copied, and only during the call. Blocks until done (numjit's
/// worker threads do the work).
///
/// Errors: `SIGNATURE` (vars do not match the kernel), `BROADCAST`, `VALUE`, `NULL_ARGUMENT`,
/// `INVALID_ARGUMENT`. On failure `*result_out` is set to NULL.
///
/// # Safety
/// `kernel` is a live kernel; `vars` as for `numjit_compile`, and their memory is not written
/// by anyone during the call; `result_out` points to a writable `numjit_result *`; `error` is
/// NULL or points to a writable `numjit_error *`.
#[no_mangle]
pub unsafe extern "C" fn numjit_kernel_eval(
    kernel: *const numjit_kernel,
    vars: *const numjit_var,
    nvars: usize,
    result_out: *mut *mut numjit_result,
    error: *mut *mut numjit_error,
) -> numjit_status {
    let body = || {
        // SAFETY: each pointer meets this function's contract (NULLs are reported).
        let slot = unsafe { guard::out(result_out, "`result_out`") }?;
        *slot = std::ptr::null_mut();
        // SAFETY: as above.
        let kernel = unsafe { guard::arg(kernel, "`kernel`") }?;
        // SAFETY: as above.
        let mut inputs = unsafe { Inputs::new(vars, nvars) }?;
        let array = kernel.kernel.eval(&inputs.vars())?;
        *slot = numjit_result::boxed(array);
        Ok(())
    };
    // SAFETY: `error` is NULL or writable, by this function's contract.
    unsafe { guard::run(error, body) }
}

/// Evaluates `kernel` with `vars[0..nvars]` and writes the result into `*out`, which must have
/// exactly the result's shape and dtype (any strides; see `numjit_array_mut`).
///
/// On any error nothing has been written to `out`.
///
/// Errors: as `numjit_kernel_eval`, plus `OUTPUT` (wrong shape or dtype) and `INVALID_ARGUMENT`
/// (e.g. an output whose elements overlap).
///
/// # Safety
/// As for `numjit_kernel_eval`; `out` points to a `numjit_array_mut` describing writable memory
/// that nobody else reads or writes during the call.
#[no_mangle]
pub unsafe extern "C" fn numjit_kernel_eval_into(
    kernel: *const numjit_kernel,
    vars: *const numjit_var,
    nvars: usize,
    out: *const numjit_array_mut,
    error: *mut *mut numjit_error,
) -> numjit_status {
    let body = || {
        // SAFETY: each pointer meets this function's contract (NULLs are reported).
        let kernel = unsafe { guard::arg(kernel, "`kernel`") }?;
        // SAFETY: as above.
        let out = unsafe { guard::arg(out, "`out`") }?;
        // SAFETY: as above.
        let mut inputs = unsafe { Inputs::new(vars, nvars) }?;
        // SAFETY: shape/strides NULL or `ndim` entries, by contract.
        let l = unsafe { layout(&Raw::from(out), Subject::Output, true) }?;
        inputs.stream(l.bytes.clone());
        // SAFETY: writable, valid and unshared for the call, by contract.
        let mut view = unsafe { OutView::new(&l, false) }?;
        view.eval_into(&kernel.kernel, &inputs.vars())?;
        Ok(())
    };
    // SAFETY: `error` is NULL or writable, by this function's contract.
    unsafe { guard::run(error, body) }
}

/// Compiles (through a process-wide engine and its cache) and evaluates `expr` in one call:
/// the short form of `numjit_compile` + `numjit_kernel_eval`. Stores a new result in
/// `*result_out` (NULL on failure), freed with `numjit_result_free`. Thread-safe.
///
/// # Safety
/// As for `numjit_compile` (without the engine) and `numjit_kernel_eval`.
#[no_mangle]
pub unsafe extern "C" fn numjit_evaluate(
    expr: *const c_char,
    vars: *const numjit_var,
    nvars: usize,
    result_out: *mut *mut numjit_result,
    error: *mut *mut numjit_error,
) -> numjit_status {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    let body = || {
        // SAFETY: each pointer meets this function's contract (NULLs are reported).
        let slot = unsafe { guard::out(result_out, "`result_out`") }?;
        *slot = std::ptr::null_mut();
        // SAFETY: as above.
        let expr = unsafe { guard::text(expr, "`expr`") }?;
        // SAFETY: as above.
        let mut inputs = unsafe { Inputs::new(vars, nvars) }?;
        let vars = inputs.vars();
        let kernel = ENGINE
            .get_or_init(Engine::default)
            .compile(expr, &vars.signature())?;
        *slot = numjit_result::boxed(kernel.eval(&vars)?);
        Ok::<(), Failure>(())
    };
    // SAFETY: `error` is NULL or writable, by this function's contract.
    unsafe { guard::run(error, body) }
}
