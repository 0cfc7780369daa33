//! Results owned by numjit: an evaluated array the caller reads and then frees.

use std::ffi::c_void;

use super::array::{numjit_array, numjit_dtype};
use super::error::numjit_status;
use super::guard;
use crate::api::array::Array;

/// An array computed by numjit and owned by the caller.
///
/// Created by `numjit_kernel_eval` / `numjit_evaluate`, read with `numjit_result_array`, freed
/// with `numjit_result_free`. numjit never touches it between those calls: any thread may read it.
pub struct numjit_result {
    array: Array,
    /// The shape and byte strides as C sees them, kept here so the view can borrow them.
    shape: Vec<isize>,
    strides: Vec<isize>,
}

impl numjit_result {
    /// Moves `array` to the heap for the caller.
    pub(super) fn boxed(array: Array) -> *mut numjit_result {
        let item = array.dtype().size() as isize;
        macro_rules! layout {
            ($a:expr) => {
                (
                    $a.shape().iter().map(|&d| d as isize).collect(),
                    $a.strides().iter().map(|&s| s * item).collect(),
                )
            };
        }
        let (shape, strides) = match &array {
            Array::Bool(a) => layout!(a),
            Array::Int32(a) => layout!(a),
            Array::Int64(a) => layout!(a),
            Array::Float32(a) => layout!(a),
            Array::Float64(a) => layout!(a),
            Array::Complex64(a) => layout!(a),
            Array::Complex128(a) => layout!(a),
        };
        Box::into_raw(Box::new(numjit_result {
            array,
            shape,
            strides,
        }))
    }

    fn data(&self) -> *const c_void {
        match &self.array {
            Array::Bool(a) => a.as_ptr() as *const c_void,
            Array::Int32(a) => a.as_ptr() as *const c_void,
            Array::Int64(a) => a.as_ptr() as *const c_void,
            Array::Float32(a) => a.as_ptr() as *const c_void,
            Array::Float64(a) => a.as_ptr() as *const c_void,
            Array::Complex64(a) => a.as_ptr() as *const c_void,
            Array::Complex128(a) => a.as_ptr() as *const c_void,
        }
    }
}

/// Describes the result in `*array_out`: its dtype, data, ndim, shape and byte strides (results
/// are C-contiguous today, but read the strides). The pointers in it are owned by `result` and
/// valid until `numjit_result_free`. The elements belong to the caller, who may also write
/// them (through a cast of `data`); the shape and strides must not be written.
///
/// # Safety
/// `result` is NULL or a live result; `array_out` is NULL or points to a writable
/// `numjit_array`.
#[no_mangle]
pub unsafe extern "C" fn numjit_result_array(
    result: *const numjit_result,
    array_out: *mut numjit_array,
) -> numjit_status {
    let body = || {
        // SAFETY: NULL or valid, by this function's contract.
        let r = unsafe { guard::arg(result, "`result`") }?;
        // SAFETY: as above.
        let slot = unsafe { guard::out(array_out, "`array_out`") }?;
        *slot = numjit_array {
            dtype: numjit_dtype::from(r.array.dtype()) as u32,
            data: r.data(),
            ndim: r.shape.len(),
            shape: r.shape.as_ptr(),
            strides: r.strides.as_ptr(),
        };
        Ok(())
    };
    // SAFETY: no error out-parameter: NULL is allowed.
    unsafe { guard::run(std::ptr::null_mut(), body) }
}

/// Frees a result and its data. NULL is allowed and does nothing. Pointers obtained from
/// `numjit_result_array` are invalid afterwards.
///
/// # Safety
/// `result` is NULL or a result returned by numjit and not freed yet.
#[no_mangle]
pub unsafe extern "C" fn numjit_result_free(result: *mut numjit_result) {
    guard::value((), || {
        if !result.is_null() {
            // SAFETY: made by `Box::into_raw` in `numjit_result::boxed`, not freed yet (contract).
            drop(unsafe { Box::from_raw(result) });
        }
    })
}
