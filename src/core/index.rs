//! Basic indexing: makes the view `u[1:-1, ::2, None]` of a bound array, as NumPy does.
//!
//! Lowering turns every subscript into a derived input; when the inputs are bound this module
//! computes its view (pointer, shape, strides) from the base array's. Nothing is copied, and the
//! kernels never know the input was sliced.

use crate::core::error::{Error, ErrorKind, Result, Span};
use crate::core::view::RawView;

/// One item of a subscript `a[...]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IndexItem {
    /// What it selects.
    pub kind: IndexKind,
    /// Where it stands.
    pub span: Span,
}

/// The kinds of subscript items: integers only, as in NumPy basic indexing with literals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexKind {
    /// `i` (negative counts from the end): selects one position and drops the dimension.
    Index(i64),
    /// `start:stop:step`, each optional; clipped to the dimension like NumPy.
    Slice {
        /// First index (default: the start in the step's direction).
        start: Option<i64>,
        /// Exclusive end (default: past the end in the step's direction).
        stop: Option<i64>,
        /// Step (default 1; 0 is an error).
        step: Option<i64>,
    },
    /// `None`: a new dimension of size 1.
    NewAxis,
    /// `...`: as many full slices as the dimensions not otherwise indexed.
    Ellipsis,
}

/// The view `base[items]`. Slices are clipped like NumPy's; an integer index outside its
/// dimension is an error pointing at the item.
pub(crate) fn apply(base: &RawView, items: &[IndexItem], span: Span) -> Result<RawView> {
    let consumed = items
        .iter()
        .filter(|i| matches!(i.kind, IndexKind::Index(_) | IndexKind::Slice { .. }))
        .count();
    let rank = base.shape.len();
    if consumed > rank {
        return Err(Error::at(
            ErrorKind::Axis,
            span,
            format!(
                "too many indices: the array has {rank} dimensions, but {consumed} were indexed"
            ),
        ));
    }
    let mut out = RawView {
        dtype: base.dtype,
        ptr: base.ptr,
        shape: smallvec::SmallVec::new(),
        strides: smallvec::SmallVec::new(),
    };
    let mut offset = 0isize;
    let mut axis = 0;
    let full = |axis: usize, out: &mut RawView| {
        out.shape.push(base.shape[axis]);
        out.strides.push(base.strides[axis]);
    };
    for item in items {
        match item.kind {
            IndexKind::NewAxis => {
                out.shape.push(1);
                out.strides.push(0);
            }
            IndexKind::Ellipsis => {
                for _ in 0..rank - consumed {
                    full(axis, &mut out);
                    axis += 1;
                }
            }
            IndexKind::Index(i) => {
                let n = base.shape[axis] as i64;
                let at = if i < 0 { i + n } else { i };
                if at < 0 || at >= n {
                    return Err(Error::at(
                        ErrorKind::Value,
                        item.span,
                        format!("index {i} is out of bounds for axis {axis} with size {n}"),
                    ));
                }
                offset += at as isize * base.strides[axis];
                axis += 1;
            }
            IndexKind::Slice { start, stop, step } => {
                let step = step.unwrap_or(1);
                if step == 0 {
                    return Err(Error::at(
                        ErrorKind::Value,
                        item.span,
                        "slice step cannot be zero",
                    ));
                }
                let (first, count) = slice_indices(start, stop, step, base.shape[axis] as i64);
                if count > 0 {
                    offset += first as isize * base.strides[axis];
                }
                out.shape.push(count as usize);
                // With two or more elements the step stays inside the array, so its byte
                // stride fits; a lone element's stride is never used (`a[::2**63-1]`).
                let stride = match base.strides[axis].checked_mul(step as isize) {
                    Some(s) if count > 1 => s,
                    _ => 0,
                };
                out.strides.push(stride);
                axis += 1;
            }
        }
    }
    // Dimensions after the last item are taken whole (`a[1]` on a matrix is a row).
    while axis < rank {
        full(axis, &mut out);
        axis += 1;
    }
    // The first element of a non-empty view lies inside the base array, so the offset does too.
    out.ptr = base.ptr.wrapping_offset(offset);
    Ok(out)
}

/// Python's `slice(start, stop, step).indices(len)`: the first index and how many are selected.
fn slice_indices(start: Option<i64>, stop: Option<i64>, step: i64, len: i64) -> (i64, i64) {
    let resolve = |v: i64, lo: i64, hi: i64| (if v < 0 { v + len } else { v }).clamp(lo, hi);
    let (first, end) = if step > 0 {
        (
            start.map_or(0, |v| resolve(v, 0, len)),
            stop.map_or(len, |v| resolve(v, 0, len)),
        )
    } else {
        (
            start.map_or(len - 1, |v| resolve(v, -1, len - 1)),
            stop.map_or(-1, |v| resolve(v, -1, len - 1)),
        )
    };
    // In i128: `end - first + step - 1` overflows i64 for steps near ±2**63.
    let (first, end, step) = (first as i128, end as i128, step as i128);
    let count = if step > 0 {
        (end - first + step - 1).max(0) / step
    } else {
        (first - end - step - 1).max(0) / -step
    };
    (first as i64, count as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_follow_python() {
        assert_eq!(slice_indices(Some(1), Some(-1), 1, 5), (1, 3));
        assert_eq!(slice_indices(None, None, -1, 5), (4, 5));
        assert_eq!(slice_indices(Some(9), Some(2), -2, 12), (9, 4)); // 9 7 5 3
        assert_eq!(slice_indices(Some(-100), Some(100), 1, 3), (0, 3)); // clipped
        assert_eq!(slice_indices(Some(3), Some(1), 1, 5).1, 0);
        assert_eq!(slice_indices(None, None, 2, 0), (0, 0));
    }

    #[test]
    fn huge_slice_steps_select_one_element() {
        // Steps of ±(2**63 - 1) overflowed the count (`[]` in release, a panic with checks).
        assert_eq!(slice_indices(None, None, i64::MAX, 5), (0, 1));
        assert_eq!(slice_indices(None, None, -i64::MAX, 5), (4, 1));
        assert_eq!(slice_indices(Some(2), None, i64::MAX, 5), (2, 1));
        assert_eq!(slice_indices(Some(-100), Some(100), i64::MAX, 0), (0, 0));
    }
}
