//! Process-wide settings and expression introspection: threads, tier, object cache, version,
//! variable names.

use std::ffi::c_char;
use std::os::unix::ffi::OsStrExt;

use super::error::{numjit_error, numjit_status, Failure};
use super::guard;
use crate::parse::names::expr_names;

/// Sets the number of worker threads later evaluations use (0 is taken as 1) and returns the
/// previous number. Evaluations already running finish on the old threads. Thread-safe.
/// Returns 0 only if numjit panicked (a bug).
///
/// The initial number is `NUMJIT_NUM_THREADS` from the environment, or the number of cores.
#[no_mangle]
pub extern "C" fn numjit_set_num_threads(n: usize) -> usize {
    guard::value(0, || crate::exec::set_num_threads(n))
}

/// The number of worker threads evaluations use. Thread-safe. Returns 0 only if numjit
/// panicked (a bug).
#[no_mangle]
pub extern "C" fn numjit_get_num_threads() -> usize {
    guard::value(0, crate::exec::num_threads)
}

/// Makes the code generator named `name` (`"cranelift"`, `"llvm"` or `"auto"`, as
/// `NUMJIT_TIER` spells them) compile every expression compiled from now on; kernels compiled
/// before keep their code. Thread-safe.
///
/// An unknown name, or `"llvm"` in a library built without feature `llvm`, is `VALUE` (the
/// tier stays as it was).
///
/// # Safety
/// `name` is a NUL-terminated string; `error` is NULL or points to a writable
/// `numjit_error *`.
#[no_mangle]
pub unsafe extern "C" fn numjit_set_tier(
    name: *const c_char,
    error: *mut *mut numjit_error,
) -> numjit_status {
    let body = || {
        // SAFETY: `name` meets this function's contract (NULL is reported).
        let name = unsafe { guard::text(name, "`name`") }?;
        crate::set_tier(crate::Tier::available(name)?);
        Ok(())
    };
    // SAFETY: `error` is NULL or writable, by this function's contract.
    unsafe { guard::run(error, body) }
}

/// The name of the code generator compiling now (`"cranelift"`, `"llvm"` or `"auto"`), a
/// static string; NULL when `NUMJIT_TIER` names no tier (every compile reports that error).
#[no_mangle]
pub extern "C" fn numjit_get_tier() -> *const c_char {
    let name = match guard::value(None, || crate::tier().ok()) {
        Some(crate::Tier::Cranelift) => "cranelift\0",
        Some(crate::Tier::Llvm) => "llvm\0",
        Some(crate::Tier::Auto) => "auto\0",
        None => return std::ptr::null(),
    };
    name.as_ptr() as *const c_char
}

/// Makes the LLVM tier cache the object files it compiles in the directory `dir` (created
/// when missing; any bytes the file system accepts), or cache nothing when `dir` is NULL or
/// empty, from the next compile on; overrides `NUMJIT_CACHE_DIR`. A cached object is keyed by
/// the kernel, numjit's and LLVM's versions and the CPU; a damaged or foreign file is ignored
/// and compiled afresh. The directory must be one only trusted users can write (its objects
/// are run as machine code). Without feature `llvm` the setting has no effect. Thread-safe.
///
/// # Safety
/// `dir` is NULL or a NUL-terminated string; `error` is NULL or points to a writable
/// `numjit_error *`.
#[no_mangle]
pub unsafe extern "C" fn numjit_set_object_cache_dir(
    dir: *const c_char,
    error: *mut *mut numjit_error,
) -> numjit_status {
    let body = || {
        let dir = if dir.is_null() {
            None
        } else {
            // SAFETY: non-NULL and NUL-terminated, by this function's contract.
            let bytes = unsafe { std::ffi::CStr::from_ptr(dir) }.to_bytes();
            let path = std::ffi::OsStr::from_bytes(bytes);
            (!bytes.is_empty()).then(|| std::path::PathBuf::from(path))
        };
        crate::set_object_cache_dir(dir);
        Ok(())
    };
    // SAFETY: `error` is NULL or writable, by this function's contract.
    unsafe { guard::run(error, body) }
}

/// Writes the LLVM tier's object cache directory now (the last
/// [`numjit_set_object_cache_dir`], else `NUMJIT_CACHE_DIR`), NUL-terminated, into
/// `buf[0..buf_len]`, and the number of bytes that needs (including the NUL) into
/// `*needed_out`; an empty string when nothing is cached. With `buf` NULL and `buf_len` 0 it
/// only reports the size; a `buf_len` smaller than needed is `INVALID_ARGUMENT`.
///
/// # Safety
/// `buf` is NULL or points to `buf_len` writable bytes; `needed_out` points to a writable
/// `size_t`; `error` is NULL or points to a writable `numjit_error *`.
#[no_mangle]
pub unsafe extern "C" fn numjit_get_object_cache_dir(
    buf: *mut c_char,
    buf_len: usize,
    needed_out: *mut usize,
    error: *mut *mut numjit_error,
) -> numjit_status {
    let body = || {
        // SAFETY: `needed_out` meets this function's contract (NULL is reported).
        let needed = unsafe { guard::out(needed_out, "`needed_out`") }?;
        let dir = crate::object_cache_dir().unwrap_or_default();
        // SAFETY: `buf` meets this function's contract.
        unsafe { write_text(dir.as_os_str().as_bytes(), buf, buf_len, needed) }
    };
    // SAFETY: `error` is NULL or writable, by this function's contract.
    unsafe { guard::run(error, body) }
}

/// What the LLVM tier's object cache has done in this process (see
/// [`numjit_get_object_cache_stats`]).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct numjit_object_cache_stats {
    /// Objects loaded from the cache (no LLVM compile).
    pub hits: u64,
    /// Compiles that found no file for their key.
    pub misses: u64,
    /// Files found but not used (damaged, foreign or not linkable), compiled afresh.
    pub rejected: u64,
    /// Objects written to the cache.
    pub stored: u64,
    /// Objects that could not be written (the compile went on).
    pub store_errors: u64,
}

/// Writes the object cache's counts since the process started into `*out`.
///
/// # Safety
/// `out` points to a writable `numjit_object_cache_stats`; `error` is NULL or points to a
/// writable `numjit_error *`.
#[no_mangle]
pub unsafe extern "C" fn numjit_get_object_cache_stats(
    out: *mut numjit_object_cache_stats,
    error: *mut *mut numjit_error,
) -> numjit_status {
    let body = || {
        // SAFETY: `out` meets this function's contract (NULL is reported).
        let out = unsafe { guard::out(out, "`out`") }?;
        let s = crate::object_cache_stats();
        *out = numjit_object_cache_stats {
            hits: s.hits,
            misses: s.misses,
            rejected: s.rejected,
            stored: s.stored,
            store_errors: s.store_errors,
        };
        Ok(())
    };
    // SAFETY: `error` is NULL or writable, by this function's contract.
    unsafe { guard::run(error, body) }
}

/// The library's version (`"0.1.0"`), a static string.
#[no_mangle]
pub extern "C" fn numjit_version() -> *const c_char {
    static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr() as *const c_char
}

/// Lists the variable names `expr` uses, so a caller can look up values before compiling.
///
/// Writes the names in order of first appearance, each once, separated by single spaces and
/// NUL-terminated, into `buf[0..buf_len]`, and the number of bytes that needs (including the NUL)
/// into `*needed_out`. Every bare name counts, including `pi`, `e`, `inf` and `nan` (a variable of
/// that name takes the place of the constant); function names and keywords do not.
///
/// With `buf` NULL and `buf_len` 0 it only reports the size. A `buf_len` smaller than needed is
/// `INVALID_ARGUMENT` (nothing but an empty string is written). A malformed expression gives its
/// `SYNTAX` or `LIMIT` error.
///
/// # Safety
/// `expr` is a NUL-terminated string; `buf` is NULL or points to `buf_len` writable bytes;
/// `needed_out` points to a writable `size_t`; `error` is NULL or points to a writable
/// `numjit_error *`.
#[no_mangle]
pub unsafe extern "C" fn numjit_expr_names(
    expr: *const c_char,
    buf: *mut c_char,
    buf_len: usize,
    needed_out: *mut usize,
    error: *mut *mut numjit_error,
) -> numjit_status {
    let body = || {
        // SAFETY: each pointer meets this function's contract (NULLs are reported).
        let needed = unsafe { guard::out(needed_out, "`needed_out`") }?;
        // SAFETY: as above.
        let expr = unsafe { guard::text(expr, "`expr`") }?;
        let tree = crate::parse::parse_expr(expr).map_err(|e| e.with_source(expr))?;
        // SAFETY: `buf` meets this function's contract.
        unsafe { write_names(&expr_names(&tree), buf, buf_len, needed) }
    };
    // SAFETY: `error` is NULL or writable, by this function's contract.
    unsafe { guard::run(error, body) }
}

/// Writes `names`, space-separated and NUL-terminated, into `buf[0..buf_len]` and the bytes
/// that needs into `*needed` (with `buf` NULL and `buf_len` 0: only the size).
///
/// # Safety
/// `buf` is NULL or points to `buf_len` writable bytes.
pub(super) unsafe fn write_names(
    names: &[String],
    buf: *mut c_char,
    buf_len: usize,
    needed: &mut usize,
) -> Result<(), Failure> {
    // SAFETY: `buf` meets this function's contract.
    unsafe { write_text(names.join(" ").as_bytes(), buf, buf_len, needed) }
}

/// Writes `text` NUL-terminated into `buf[0..buf_len]` and the bytes that needs into
/// `*needed` (with `buf` NULL and `buf_len` 0: only the size).
///
/// # Safety
/// `buf` is NULL or points to `buf_len` writable bytes.
unsafe fn write_text(
    text: &[u8],
    buf: *mut c_char,
    buf_len: usize,
    needed: &mut usize,
) -> Result<(), Failure> {
    *needed = text.len() + 1;
    if buf.is_null() && buf_len == 0 {
        return Ok(());
    }
    if buf.is_null() {
        return Err(Failure::null(&"`buf`"));
    }
    // SAFETY: non-NULL with `buf_len` writable bytes, by contract.
    let out = unsafe { std::slice::from_raw_parts_mut(buf as *mut u8, buf_len) };
    if buf_len < *needed {
        if let Some(first) = out.first_mut() {
            *first = 0;
        }
        return Err(Failure::invalid(format!(
            "buf_len is {buf_len}, but the text needs {} bytes",
            *needed
        )));
    }
    out[..text.len()].copy_from_slice(text);
    out[text.len()] = 0;
    Ok(())
}
