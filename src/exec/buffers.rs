//! Buffers: new zero-filled or constant arrays (temporaries, results, reduction partials), the
//! view of an owned array, and element-by-element copies between views (broadcasting).

use super::layout::broadcast_strides;
use crate::api::array::Array;
use crate::core::dtype::{DType, Element, Scalar};
use crate::core::error::{Error, ErrorKind, Result};
use crate::core::shape;
use crate::core::view::RawView;
use ndarray::ArrayD;

/// Copies `src` into `dst` element by element, broadcasting `src` to `dst`'s shape (same
/// dtype). The views must not overlap.
pub(crate) fn copy_broadcast(src: &RawView, dst: &RawView) {
    let strides = broadcast_strides(&src.shape, &src.strides, &dst.shape);
    let view = RawView {
        strides,
        shape: dst.shape.clone(),
        ..src.clone()
    };
    copy_view(&view, dst);
}

/// A new zero-filled C-ordered array (a program's temporary or result).
pub(crate) fn alloc(dtype: DType, shape: &[usize]) -> Result<Array> {
    filled(dtype, shape, Scalar::I64(0).cast(dtype))
}

/// A new C-ordered array of `value`s; one too large to allocate is a `limit` error, not an
/// abort (`sum(a[:, None] + b, axis=0)` asks for the memory of its output only here).
pub(super) fn filled(dtype: DType, shape: &[usize], value: Scalar) -> Result<Array> {
    // On huge pages when large: a reduction's buffer (P10's 4000² distances) is new each call,
    // and 4 KiB pages would cost a fault every 512 elements.
    fn fill<T: Element>(dtype: DType, shape: &[usize], v: Scalar) -> Result<ArrayD<T>> {
        let value = T::from_scalar(v).unwrap_or_else(|| unreachable!("identity has the acc dtype"));
        let mut buf: Vec<T> = Vec::new();
        let n = shape::checked_bytes(shape, dtype)
            .filter(|&n| buf.try_reserve_exact(n).is_ok())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Limit,
                    format!(
                        "cannot allocate an array of shape {} and dtype {dtype}",
                        shape::fmt_shape(shape)
                    ),
                )
            })?;
        crate::core::alloc::advise_huge_pages(buf.as_mut_ptr() as *mut u8, n * dtype.size());
        buf.resize(n, value);
        ArrayD::from_shape_vec(shape, buf)
            .map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))
    }
    Ok(match dtype {
        DType::Bool => Array::Bool(fill(dtype, shape, value)?),
        DType::Int32 => Array::Int32(fill(dtype, shape, value)?),
        DType::Int64 => Array::Int64(fill(dtype, shape, value)?),
        DType::Float32 => Array::Float32(fill(dtype, shape, value)?),
        DType::Float64 => Array::Float64(fill(dtype, shape, value)?),
        DType::Complex64 => Array::Complex64(fill(dtype, shape, value)?),
        DType::Complex128 => Array::Complex128(fill(dtype, shape, value)?),
        DType::Bytes(_) => {
            return Err(Error::new(
                ErrorKind::Internal,
                "no buffer of bytes is ever made (lowering rejects bytes results)",
            ))
        }
    })
}

/// A view of an owned (C-ordered) result array.
pub(crate) fn view_of(a: &Array) -> RawView {
    macro_rules! v {
        ($x:expr) => {{
            let size = a.dtype().size() as isize;
            RawView {
                dtype: a.dtype(),
                ptr: $x.as_ptr() as *const u8,
                shape: $x.shape().into(),
                strides: $x.strides().iter().map(|s| s * size).collect(),
            }
        }};
    }
    match a {
        Array::Bool(x) => v!(x),
        Array::Int32(x) => v!(x),
        Array::Int64(x) => v!(x),
        Array::Float32(x) => v!(x),
        Array::Float64(x) => v!(x),
        Array::Complex64(x) => v!(x),
        Array::Complex128(x) => v!(x),
    }
}

/// Copies a result into a caller's output view (same shape and dtype, any strides).
pub(super) fn copy_into(src: &Array, out: &RawView) {
    copy_view(&view_of(src), out)
}

/// Copies between views of one shape and dtype (any strides; `view` may have zero strides).
/// Row by row: a row whose elements are contiguous in both is one `memcpy`.
pub(super) fn copy_view(view: &RawView, out: &RawView) {
    let size = view.dtype.size();
    if shape::size(&out.shape) == 0 {
        return;
    }
    let rank = out.shape.len();
    let (width, s_in, s_out) = match rank {
        0 => (1, 0, 0),
        _ => (
            out.shape[rank - 1],
            view.strides[rank - 1],
            out.strides[rank - 1],
        ),
    };
    let rows = shape::size(&out.shape) / width;
    let contiguous = s_in == size as isize && s_out == size as isize;
    for row in 0..rows {
        let (mut so, mut oo) = (0isize, 0isize);
        let mut rest = row;
        for d in (0..rank.saturating_sub(1)).rev() {
            let i = (rest % out.shape[d]) as isize;
            rest /= out.shape[d];
            so += i * view.strides[d];
            oo += i * out.strides[d];
        }
        // SAFETY: the offsets address elements inside arrays of this shape and dtype; callers
        // pass views that do not overlap (an owned result into a caller's output, or a
        // program's temporary into its target).
        unsafe {
            let (src, dst) = (view.ptr.offset(so), (out.ptr as *mut u8).offset(oo));
            if contiguous {
                std::ptr::copy_nonoverlapping(src, dst, width * size);
            } else {
                for j in 0..width as isize {
                    std::ptr::copy_nonoverlapping(
                        src.offset(j * s_in),
                        dst.offset(j * s_out),
                        size,
                    );
                }
            }
        }
    }
}
