//! The dtype-erased view every stage below the API passes around: a pointer, a shape and byte
//! strides. The API builds them from ndarray arrays (`api/vars.rs`), the C ABI from callers'
//! descriptions.

use crate::core::dtype::DType;

/// A dtype-erased view: where the elements are and how to step through them.
#[derive(Debug, Clone)]
pub(crate) struct RawView {
    pub dtype: DType,
    /// Address of the element at index (0, …, 0).
    pub ptr: *const u8,
    pub shape: crate::core::shape::Shape,
    /// Byte strides (negative for reversed axes).
    pub strides: crate::core::shape::Strides,
}

impl RawView {
    /// A view of no elements (all lengths 0) standing for a variable that is not bound.
    pub fn empty(dtype: DType, rank: usize) -> RawView {
        RawView {
            dtype,
            ptr: std::ptr::null(),
            shape: smallvec::smallvec![0; rank],
            strides: smallvec::smallvec![0; rank],
        }
    }

    /// True when the elements are contiguous in C order (what kernels may specialize on).
    pub fn is_c_contiguous(&self) -> bool {
        let mut expect = self.dtype.size() as isize;
        for (&d, &s) in self.shape.iter().zip(&self.strides).rev() {
            if d > 1 && s != expect {
                return false;
            }
            expect *= d as isize;
        }
        true
    }
}
