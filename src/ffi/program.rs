//! Programs through the C ABI: running one with named inputs and writable outputs, and listing
//! the names a program reads and writes (so that a caller can look up and bind its arrays).

use std::ffi::c_char;
use std::sync::OnceLock;

use super::array::{numjit_var, numjit_var_mut};
use super::bind::Inputs;
use super::error::{numjit_error, numjit_status, Failure};
use super::guard;
use super::result::numjit_result;
use super::runtime::write_names;
use crate::api::engine::Engine;
use crate::parse::names::program_names;

/// Compiles (through a process-wide engine and its cache) and runs `program`: a sequence of
/// statements (assignments, `for` loops, `swap`, slice assignment, after any `def` kernels; see
/// the grammar) or a lone expression. The program reads `inputs[0..ninputs]` and may write `outputs[0..noutputs]`,
/// in place; a name it assigns that is neither is an intermediate of the program.
///
/// Every shape is checked before the first write: on any error the outputs are untouched.
/// When `result_out` is not NULL it receives the value of the program's final expression (a new
/// result, freed with `numjit_result_free`), or NULL when the program ends with an assignment.
///
/// Errors: the program's (`SYNTAX`, `UNKNOWN_NAME`, `TYPE`, `BROADCAST`, …), `SIGNATURE` (an
/// assignment to an input: pass it as an output), `NULL_ARGUMENT`, `INVALID_ARGUMENT` (a
/// malformed array, a name given twice, an output whose elements overlap, or an output whose
/// memory overlaps another variable's). Thread-safe; blocks until done.
///
/// # Safety
/// `program` is a NUL-terminated string; `inputs` as the `vars` of `numjit_compile`;
/// `outputs` points to `noutputs` vars (may be NULL when `noutputs` is 0) describing writable
/// memory that nobody else reads or writes during the call; `result_out` is NULL or points to
/// a writable `numjit_result *`; `error` is NULL or points to a writable `numjit_error *`.
#[no_mangle]
pub unsafe extern "C" fn numjit_run(
    program: *const c_char,
    inputs: *const numjit_var,
    ninputs: usize,
    outputs: *const numjit_var_mut,
    noutputs: usize,
    result_out: *mut *mut numjit_result,
    error: *mut *mut numjit_error,
) -> numjit_status {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    let body = || {
        let mut slot = match result_out.is_null() {
            true => None,
            // SAFETY: non-NULL and writable, by this function's contract.
            false => Some(unsafe { guard::out(result_out, "`result_out`") }?),
        };
        if let Some(s) = slot.as_deref_mut() {
            *s = std::ptr::null_mut();
        }
        // SAFETY: each pointer meets this function's contract (NULLs are reported).
        let program = unsafe { guard::text(program, "`program`") }?;
        // SAFETY: as above.
        let mut arrays = unsafe { Inputs::with_outputs(inputs, ninputs, outputs, noutputs) }?;
        let vars = arrays.vars();
        let kernel = ENGINE
            .get_or_init(Engine::default)
            .compile(program, &vars.signature())?;
        let value = kernel.run(&vars)?;
        drop(vars);
        arrays.write_back();
        if let (Some(s), Some(a)) = (slot, value) {
            *s = numjit_result::boxed(a);
        }
        Ok::<(), Failure>(())
    };
    // SAFETY: `error` is NULL or writable, by this function's contract.
    unsafe { guard::run(error, body) }
}

/// Which names `numjit_program_names` lists.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum numjit_names {
    /// Every name the program reads or writes.
    All = 0,
    /// Only the names it assigns to (whole, in part, or by `swap`): bind those that are the
    /// caller's arrays as outputs.
    Written = 1,
}

/// Lists the names of `program` that may be the caller's variables, as `numjit_expr_names`
/// does for an expression: in order of first appearance, each once, space-separated and
/// NUL-terminated in `buf[0..buf_len]`, with the bytes that needs in `*needed_out`. `which` is a
/// `numjit_names` value. Loop variables are not listed (they are the program's own).
///
/// Errors: the program's `SYNTAX` or `LIMIT` error, `INVALID_ARGUMENT` for a short buffer or an
/// unknown `which`, `NULL_ARGUMENT`.
///
/// # Safety
/// As for `numjit_expr_names`, with `program` for `expr`.
#[no_mangle]
pub unsafe extern "C" fn numjit_program_names(
    program: *const c_char,
    which: u32,
    buf: *mut c_char,
    buf_len: usize,
    needed_out: *mut usize,
    error: *mut *mut numjit_error,
) -> numjit_status {
    let body = || {
        // SAFETY: each pointer meets this function's contract (NULLs are reported).
        let needed = unsafe { guard::out(needed_out, "`needed_out`") }?;
        let written = match which {
            w if w == numjit_names::All as u32 => false,
            w if w == numjit_names::Written as u32 => true,
            _ => {
                return Err(Failure::invalid(format!(
                    "which is {which}, not a numjit_names (0 all, 1 written)"
                )))
            }
        };
        // SAFETY: as above.
        let src = unsafe { guard::text(program, "`program`") }?;
        let tree = crate::parse::parse_program(src).map_err(|e| e.with_source(src))?;
        let names = program_names(&tree);
        let list = if written { names.written } else { names.all };
        // SAFETY: `buf` meets this function's contract.
        unsafe { write_names(&list, buf, buf_len, needed) }
    };
    // SAFETY: `error` is NULL or writable, by this function's contract.
    unsafe { guard::run(error, body) }
}
