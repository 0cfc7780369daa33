//! The deterministic pairwise reduction tree: how partials combine (`Acc`), the tree over
//! one output element's leaves, and the midpoint split that fixes the order for any thread count.

use super::super::layout::Space;
use super::super::per_operand::PerOperand;
use crate::core::shape::Strides;

use crate::core::dtype::Element;
use crate::ops::{scalar::float, ReduceOp};

use super::*;

/// Accumulator element types and how partials combine (the same semantics as the kernels').
pub(crate) trait Acc: Element {
    fn combine(op: ReduceOp, a: Self, b: Self) -> Self;
}

macro_rules! acc_float {
    ($t:ty) => {
        impl Acc for $t {
            #[inline]
            fn combine(op: ReduceOp, a: $t, b: $t) -> $t {
                match op {
                    ReduceOp::Sum | ReduceOp::Mean => a + b,
                    ReduceOp::Prod => a * b,
                    ReduceOp::Min => float::minimum(a, b),
                    ReduceOp::Max => float::maximum(a, b),
                    ReduceOp::Any | ReduceOp::All => {
                        unreachable!("logical reductions accumulate bools")
                    }
                }
            }
        }
    };
}
acc_float!(f32);
acc_float!(f64);

macro_rules! acc_int {
    ($t:ty) => {
        impl Acc for $t {
            #[inline]
            fn combine(op: ReduceOp, a: $t, b: $t) -> $t {
                match op {
                    ReduceOp::Sum | ReduceOp::Mean => a.wrapping_add(b),
                    ReduceOp::Prod => a.wrapping_mul(b),
                    ReduceOp::Min => a.min(b),
                    ReduceOp::Max => a.max(b),
                    ReduceOp::Any | ReduceOp::All => {
                        unreachable!("logical reductions accumulate bools")
                    }
                }
            }
        }
    };
}
acc_int!(i32);
acc_int!(i64);

macro_rules! acc_complex {
    ($t:ty) => {
        impl Acc for $t {
            #[inline]
            fn combine(op: ReduceOp, a: $t, b: $t) -> $t {
                match op {
                    ReduceOp::Sum | ReduceOp::Mean => a + b,
                    // The kernels' product (`codegen::translate::emit`, NumPy's loop).
                    ReduceOp::Prod => crate::ops::complex::mul(a, b),
                    _ => unreachable!("complex numbers have no order (lowering rejects it)"),
                }
            }
        }
    };
}
acc_complex!(crate::Complex32);
acc_complex!(crate::Complex64);

impl Acc for bool {
    fn combine(op: ReduceOp, a: bool, b: bool) -> bool {
        match op {
            ReduceOp::Any | ReduceOp::Max | ReduceOp::Sum => a | b,
            _ => a & b,
        }
    }
}

/// The pairwise tree over the leaves of one output element.
///
/// What is the same for every batch of leaves is computed once here: a row of 10⁴ elements
/// is only three batches, so per-batch set-up shows (P11's `sum(c, axis=1)`).
pub(super) struct Tree<'a, T> {
    pub(super) r: &'a Reduction<'a>,
    pub(super) red: &'a Space,
    pub(super) m: usize,
    /// Per operand, the byte stride along the innermost reduced dimension.
    pub(super) s_inner: Vec<isize>,
    /// Per operand, the strides of the reduced dimensions before it (whose index is a row).
    pub(super) outer_strides: Vec<Strides>,
    /// Kernel strides for a call on whole blocks: leaves by block, elements by element.
    pub(super) block_strides: Vec<i64>,
    /// Kernel strides for a call on a row's short last block.
    pub(super) tail_strides: Vec<i64>,
    pub(super) _t: std::marker::PhantomData<T>,
}

impl<'a, T: Acc> Tree<'a, T> {
    pub(super) fn new(r: &'a Reduction<'a>, red: &'a Space, m: usize) -> Self {
        let s_inner: Vec<isize> = red.strides.iter().map(|s| s[s.len() - 1]).collect();
        let outer_strides = red
            .strides
            .iter()
            .map(|s| s[..s.len() - 1].into())
            .collect();
        let mut block_strides = vec![std::mem::size_of::<T>() as i64, 0];
        let mut tail_strides = vec![0, 0];
        for s in &s_inner[1..] {
            block_strides.extend([(*s * BLOCK as isize) as i64, *s as i64]);
            tail_strides.extend([0, *s as i64]);
        }
        Tree {
            r,
            red,
            m,
            s_inner,
            outer_strides,
            block_strides,
            tail_strides,
            _t: std::marker::PhantomData,
        }
    }

    pub(super) fn blocks_per_row(&self) -> usize {
        self.m.div_ceil(BLOCK)
    }

    /// Reduces leaves `lo..hi`, splitting at the midpoint: the tree's shape depends on `leaves` only.
    pub(super) fn reduce(&self, bases: &[usize], lo: usize, hi: usize, parallel: bool) -> T {
        if hi - lo <= LEAF_BATCH {
            return self.batch(bases, lo, hi);
        }
        let mid = lo + (hi - lo) / 2;
        let (a, b) = if parallel && (hi - lo) * BLOCK >= 2 * SERIAL_CUTOFF {
            let flag = crate::exec::cancel::carried();
            rayon::join(
                || self.reduce(bases, lo, mid, true),
                || flag.enter(|| self.reduce(bases, mid, hi, true)),
            )
        } else {
            (
                self.reduce(bases, lo, mid, false),
                self.reduce(bases, mid, hi, false),
            )
        };
        T::combine(self.r.op, a, b)
    }

    /// Computes leaves `lo..hi` (at most [`LEAF_BATCH`]) with as few kernel calls as possible and
    /// combines them with the same midpoint rule.
    pub(super) fn batch(&self, bases: &[usize], lo: usize, hi: usize) -> T {
        let identity =
            T::from_scalar(self.r.op.identity(self.r.acc)).unwrap_or_else(|| unreachable!());
        let mut vals = [identity; LEAF_BATCH];
        let nb = self.blocks_per_row();
        let outer_dims = &self.red.dims[..self.red.dims.len() - 1];
        let mut off = PerOperand::<isize>::zeroed(bases.len());
        let mut ptrs = PerOperand::<usize>::zeroed(bases.len());
        let mut leaf = lo;
        while leaf < hi {
            let (row, b0) = (leaf / nb, leaf % nb);
            // Full blocks of this row within the batch, then (maybe) the row's short last block.
            let row_end = hi.min((row + 1) * nb);
            let full_end = if self.m.is_multiple_of(BLOCK) {
                row_end
            } else {
                row_end.min(row * nb + nb - 1)
            };
            offsets(row, outer_dims, &self.outer_strides, &mut off);
            for (k, p) in ptrs.iter_mut().enumerate() {
                *p =
                    (bases[k] as isize + off[k] + (b0 * BLOCK) as isize * self.s_inner[k]) as usize;
            }
            ptrs[0] = vals.as_mut_ptr() as usize + (leaf - lo) * std::mem::size_of::<T>();
            if full_end > leaf {
                call(
                    self.r.kernel,
                    full_end - leaf,
                    BLOCK,
                    &ptrs,
                    &self.block_strides,
                );
                leaf = full_end;
            } else {
                call(
                    self.r.kernel,
                    1,
                    self.m - b0 * BLOCK,
                    &ptrs,
                    &self.tail_strides,
                );
                leaf += 1;
            }
        }
        pairwise(self.r.op, &vals[..hi - lo])
    }
}

/// Combines `v` by splitting at the midpoint, recursively (the tree depends on `v.len()` only).
pub(super) fn pairwise<T: Acc>(op: ReduceOp, v: &[T]) -> T {
    // One monomorphic tree per op, so the combine inlines instead of matching `op` per node
    // (this ran for every batch of leaves: 7 % of `sum(c, axis=1)` on 10 000²).
    match op {
        ReduceOp::Sum | ReduceOp::Mean => midpoint_tree(v, &|a, b| T::combine(ReduceOp::Sum, a, b)),
        ReduceOp::Prod => midpoint_tree(v, &|a, b| T::combine(ReduceOp::Prod, a, b)),
        ReduceOp::Min => midpoint_tree(v, &|a, b| T::combine(ReduceOp::Min, a, b)),
        ReduceOp::Max => midpoint_tree(v, &|a, b| T::combine(ReduceOp::Max, a, b)),
        ReduceOp::Any => midpoint_tree(v, &|a, b| T::combine(ReduceOp::Any, a, b)),
        ReduceOp::All => midpoint_tree(v, &|a, b| T::combine(ReduceOp::All, a, b)),
    }
}

/// `v` (not empty) combined by `f`, split at the midpoint at every level.
fn midpoint_tree<T: Copy>(v: &[T], f: &impl Fn(T, T) -> T) -> T {
    // The smallest subtrees spelled out: most of the tree's nodes, without a call each.
    match *v {
        [a] => a,
        [a, b] => f(a, b),
        [a, b, c] => f(a, f(b, c)),
        [a, b, c, d] => f(f(a, b), f(c, d)),
        _ => {
            let mid = v.len() / 2;
            f(midpoint_tree(&v[..mid], f), midpoint_tree(&v[mid..], f))
        }
    }
}

#[cfg(test)]
mod tests {
    /// The midpoint tree, written plainly: the shape `pairwise` must keep.
    fn midpoint(v: &[u64], f: &impl Fn(u64, u64) -> u64) -> u64 {
        if v.len() == 1 {
            return v[0];
        }
        let mid = v.len() / 2;
        f(midpoint(&v[..mid], f), midpoint(&v[mid..], f))
    }

    #[test]
    fn spelled_out_subtrees_keep_the_midpoint_shape() {
        // Neither associative nor commutative: any other shape or order gives another value.
        let f = |a: u64, b: u64| (a.wrapping_mul(1_000_003) ^ b.rotate_left(17)).wrapping_add(7);
        for n in 1..=300 {
            let v: Vec<u64> = (0..n as u64).map(|i| i * 2_654_435_761 + 1).collect();
            assert_eq!(super::midpoint_tree(&v, &f), midpoint(&v, &f), "{n} leaves");
        }
    }
}
