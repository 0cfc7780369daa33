//! Maps an n-d iteration over several operands onto as few loop dimensions as possible.
//!
//! Like NumPy's iterator: size-1 dimensions are dropped and neighbours `(d, d+1)` merge when every
//! operand steps through them as one (`stride[d] == stride[d+1] * size[d+1]`). A C-contiguous
//! expression of any rank becomes one long dimension.

use smallvec::{smallvec, SmallVec};

use crate::core::shape::{Shape, Strides};
use crate::core::view::RawView;

/// An iteration space: extents, and for every operand a byte stride per dimension.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Space {
    pub dims: Shape,
    /// `strides[k][d]`: operand `k`'s byte step along dimension `d`.
    pub strides: Vec<Strides>,
}

impl Space {
    pub fn size(&self) -> usize {
        self.dims.iter().product()
    }

    /// Keeps only dimensions `range`, in order.
    pub fn select(&self, dims: &[usize]) -> Space {
        Space {
            dims: dims.iter().map(|&d| self.dims[d]).collect(),
            strides: self
                .strides
                .iter()
                .map(|s| dims.iter().map(|&d| s[d]).collect())
                .collect(),
        }
    }

    /// Drops size-1 dimensions and merges mergeable neighbours.
    pub fn collapse(&self) -> Space {
        let mut out = Space {
            dims: SmallVec::new(),
            strides: vec![SmallVec::new(); self.strides.len()],
        };
        for d in 0..self.dims.len() {
            let n = self.dims[d];
            if n == 1 {
                continue;
            }
            let mergeable = out.dims.last().is_some()
                && self
                    .strides
                    .iter()
                    .zip(&out.strides)
                    .all(|(s, o)| *o.last().unwrap_or(&0) == s[d] * n as isize);
            if mergeable {
                let last = out.dims.len() - 1;
                out.dims[last] *= n;
                for (o, s) in out.strides.iter_mut().zip(&self.strides) {
                    o[last] = s[d];
                }
            } else {
                out.dims.push(n);
                for (o, s) in out.strides.iter_mut().zip(&self.strides) {
                    o.push(s[d]);
                }
            }
        }
        out
    }

    /// The dimensions reordered so that operand `lead` is walked in the order it is stored
    /// (its steps largest first, as NumPy's iterator orders them), or `None` when they already
    /// are. A Fortran-ordered file is then read front to back, not across the whole file per
    /// row. Ties keep their order, so a C-ordered operand never reorders anything.
    pub fn storage_order(&self, lead: usize) -> Option<Vec<usize>> {
        let steps = &self.strides[lead];
        let key = |d: usize| steps[d].unsigned_abs();
        // Dimensions the operand does not step along (size 1, broadcast) keep their places:
        // where they go changes nothing in how it is read, and the other operands' order stays.
        let places: Vec<usize> = (0..self.dims.len())
            .filter(|&d| self.dims[d] > 1 && key(d) > 0)
            .collect();
        let mut moved = places.clone();
        moved.sort_by_key(|&d| std::cmp::Reverse(key(d)));
        if moved == places {
            return None;
        }
        let mut order: Vec<usize> = (0..self.dims.len()).collect();
        for (&at, &d) in places.iter().zip(&moved) {
            order[at] = d;
        }
        Some(order)
    }

    /// Prepends size-1 dimensions until there are at least `rank`.
    pub fn pad_to(self, rank: usize) -> Space {
        let pad = rank.saturating_sub(self.dims.len());
        if pad == 0 {
            return self;
        }
        // Built at full size in one go: inserting at the front reallocates (this is per call).
        let front = |fill: usize, rest: &[usize]| {
            std::iter::repeat_n(fill, pad)
                .chain(rest.iter().copied())
                .collect()
        };
        let front_i = |rest: &[isize]| {
            std::iter::repeat_n(0, pad)
                .chain(rest.iter().copied())
                .collect()
        };
        Space {
            dims: front(1, &self.dims),
            strides: self.strides.iter().map(|s| front_i(s)).collect(),
        }
    }
}

/// Byte strides of `shape` read through a view with `strides`, broadcast to `target`
/// (right-aligned; a stretched or missing dimension steps by 0).
pub(crate) fn broadcast_strides(shape: &[usize], strides: &[isize], target: &[usize]) -> Strides {
    let offset = target.len() - shape.len();
    (0..target.len())
        .map(|d| {
            if d < offset || shape[d - offset] == 1 {
                0
            } else {
                strides[d - offset]
            }
        })
        .collect()
}

/// True when the byte ranges of two views intersect (an empty view, or an iota's null base,
/// has none).
pub(crate) fn overlaps(a: &RawView, b: &RawView) -> bool {
    let range = |v: &RawView| {
        if v.shape.contains(&0) || v.ptr.is_null() {
            return None;
        }
        let (mut lo, mut hi) = (v.ptr as isize, v.ptr as isize);
        for (&d, &s) in v.shape.iter().zip(&v.strides) {
            let span = (d as isize - 1) * s;
            if span < 0 {
                lo += span;
            } else {
                hi += span;
            }
        }
        Some((lo, hi + v.dtype.size() as isize))
    };
    match (range(a), range(b)) {
        (Some((a0, a1)), Some((b0, b1))) => a0 < b1 && b0 < a1,
        _ => false,
    }
}

/// C-contiguous byte strides of `shape` for elements of `size` bytes.
pub(crate) fn c_strides(shape: &[usize], size: usize) -> Strides {
    let mut s: Strides = smallvec![0isize; shape.len()];
    let mut acc = size as isize;
    for d in (0..shape.len()).rev() {
        s[d] = acc;
        acc *= shape[d] as isize;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fortran_order_is_walked_as_stored() {
        // A 3 × 5 float64 array in Fortran order (operand 1) and its C-ordered output.
        let s = Space {
            dims: smallvec![3, 5],
            strides: vec![smallvec![40, 8], smallvec![8, 24]],
        };
        assert_eq!(s.storage_order(1), Some(vec![1, 0]));
        assert_eq!(s.storage_order(0), None, "C order stays as it is");
        let walked = s.select(&[1, 0]).collapse();
        assert_eq!(walked.dims.as_slice(), &[5, 3]);
        assert_eq!(walked.strides[1].as_slice(), &[24, 8]);
    }

    #[test]
    fn contiguous_collapses_to_one_dimension() {
        let s = Space {
            dims: smallvec![4, 5, 6],
            strides: vec![c_strides(&[4, 5, 6], 8), c_strides(&[4, 5, 6], 4)],
        };
        let c = s.collapse();
        assert_eq!(&c.dims[..], [120]);
        assert_eq!(c.strides, [smallvec![8], smallvec![4]] as [Strides; 2]);
    }

    #[test]
    fn broadcast_operand_blocks_merging() {
        let target = [3, 4];
        let row = broadcast_strides(&[4], &[8], &target);
        assert_eq!(&row[..], [0, 8]);
        let s = Space {
            dims: target[..].into(),
            strides: vec![c_strides(&target, 8), row],
        };
        assert_eq!(&s.collapse().dims[..], [3, 4]);
    }

    #[test]
    fn size_one_dimensions_vanish_and_padding_restores_rank() {
        let s = Space {
            dims: smallvec![1, 7, 1],
            strides: vec![smallvec![56, 8, 8]],
        };
        let c = s.collapse().pad_to(2);
        assert_eq!(&c.dims[..], [1, 7]);
        assert_eq!(c.strides, [smallvec![0, 8]] as [Strides; 1]);
    }
}
