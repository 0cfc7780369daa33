//! Row reductions: every output element reduces a contiguous run (or a strided one) of its
//! values through the pairwise tree, outputs split across threads.

use rayon::prelude::*;

use super::super::layout::Space;
use super::super::per_operand::PerOperand;

use crate::codegen::StageKernel;
use crate::core::dtype::DType;
use crate::ops::ReduceOp;

use super::*;

/// A reduction over `space`: operand 0 is the accumulator buffer (stride 0 along reduced
/// dimensions, pre-filled with the identity); `reduced[d]` marks the reduced dimensions.
///
/// With an [`Epilogue`] ([`Reduction::run_fused`]), operand 0 is instead the final result of the
/// map stage after the reduction (same shape as the reduction's, stride 0 along reduced
/// dimensions), written through the epilogue's kernel.
pub(crate) struct Reduction<'a> {
    pub kernel: &'a StageKernel,
    pub op: ReduceOp,
    pub acc: DType,
    pub space: &'a Space,
    pub reduced: &'a [bool],
    pub bases: &'a Bases,
    pub parallel: bool,
    pub epilogue: Option<&'a Epilogue<'a>>,
    /// Per operand, the element size of one that reads memory (None for the partials and for
    /// iotas): what a column reduction may pack (see [`Packed`]).
    pub element_sizes: &'a [Option<usize>],
}

/// The elementwise stage after a reduction (P10's `sqrt` of `sum((xi - xj)**2, axis=-1)`), run
/// on every finished tile of partials straight into the final result: the reduction's own
/// buffer (P10's 4000² distances) is never allocated, filled, nor read back.
///
/// The runtime only asks for it when the partials are the reduction's values (no finalizing:
/// not a mean, not a float32 sum accumulated in float64) and the map stage reads nothing else
/// but 0-d operands.
pub(crate) struct Epilogue<'a> {
    /// The map stage's kernel: operand 0 its output, operand `partial` the reduction's value.
    pub kernel: &'a StageKernel,
    /// The map kernel's operand addresses. Operands 0 and `partial` are set per tile; the others
    /// are 0-d (stride 0).
    pub ptrs: Vec<usize>,
    pub partial: usize,
}

impl Reduction<'_> {
    pub fn run(&self) {
        debug_assert!(
            self.epilogue.is_none(),
            "an epilogue runs through run_fused"
        );
        match self.acc {
            DType::Bool => self.run_typed::<bool>(),
            DType::Int32 => self.run_typed::<i32>(),
            DType::Int64 => self.run_typed::<i64>(),
            DType::Float32 => self.run_typed::<f32>(),
            DType::Float64 => self.run_typed::<f64>(),
            DType::Complex64 => self.run_typed::<crate::Complex32>(),
            DType::Complex128 => self.run_typed::<crate::Complex64>(),
            DType::Bytes(_) => unreachable!("lowering rejects reductions of bytes"),
        }
    }

    /// Runs the reduction and its epilogue into the final result when the reduction runs as a
    /// column reduction of one row block per tile (every short last axis, and a non-innermost
    /// axis of at most [`BLOCK`] elements), and returns true. Otherwise does nothing and
    /// returns false (the caller materializes the reduction and runs the map stage after it).
    ///
    /// The values are bit-identical to the unfused path's: the layout is the one the
    /// accumulator buffer would get (operand 0 takes part in collapsing the columns, and a
    /// C-ordered buffer never stops dimensions from merging that the result lets merge), the
    /// partials of a tile are folded by the same kernel calls, and the map kernel computes each
    /// element from its value alone.
    pub fn run_fused(&self) -> bool {
        match self.acc {
            DType::Bool => self.run_fused_typed::<bool>(),
            DType::Int32 => self.run_fused_typed::<i32>(),
            DType::Int64 => self.run_fused_typed::<i64>(),
            DType::Float32 => self.run_fused_typed::<f32>(),
            DType::Float64 => self.run_fused_typed::<f64>(),
            DType::Complex64 => self.run_fused_typed::<crate::Complex32>(),
            DType::Complex128 => self.run_fused_typed::<crate::Complex64>(),
            DType::Bytes(_) => unreachable!("lowering rejects reductions of bytes"),
        }
    }

    pub(super) fn run_fused_typed<T: Acc>(&self) -> bool {
        debug_assert!(self.epilogue.is_some());
        let (Some(columns), Some(layout)) = (self.kernel.columns, self.column_layout()) else {
            return false;
        };
        // An empty reduced axis leaves identities, which the map stage must still see.
        if layout.rows == 0 || layout.rows > BLOCK {
            return false;
        }
        self.run_columns::<T>(columns, &layout);
        true
    }

    pub(super) fn column_layout(&self) -> Option<ColumnLayout> {
        column_layout(self.space, self.reduced)
    }

    pub(super) fn run_typed<T: Acc>(&self) {
        if let Some(columns) = self.kernel.columns {
            if let Some(layout) = self.column_layout() {
                return self.run_columns::<T>(columns, &layout);
            }
        }
        let n = self.space.dims.len();
        let kept_dims: Vec<usize> = (0..n).filter(|&d| !self.reduced[d]).collect();
        let red_dims: Vec<usize> = (0..n).filter(|&d| self.reduced[d]).collect();
        let kept = self.space.select(&kept_dims).collapse();
        let red = self.space.select(&red_dims).collapse().pad_to(1);
        if kept.size() == 0 || red.size() == 0 {
            return; // nothing to reduce, or only identities
        }
        let m = *red.dims.last().unwrap_or(&1);
        let leaves = red.size() / m * m.div_ceil(BLOCK);
        if leaves == 1 {
            // One block per output element: a map over the kept dimensions whose rows each
            // reduce `m` elements straight into their accumulator.
            let mut dims = kept.dims.clone();
            dims.push(m);
            let strides = kept
                .strides
                .iter()
                .zip(&red.strides)
                .map(|(k, r)| k.iter().chain(r.last()).copied().collect());
            let space = Space {
                dims,
                strides: strides.collect(),
            };
            run_map(self.kernel, &space, self.bases, false, self.parallel, false);
            return;
        }
        let tree = Tree::<T>::new(self, &red, m);
        let outputs = kept.size();
        let per_output = |i: usize, parallel: bool| {
            let mut off = PerOperand::zeroed(self.bases.0.len());
            offsets(i, &kept.dims, &kept.strides, &mut off);
            let bases = shifted(&self.bases.0, &off);
            let v = tree.reduce(&bases, 0, leaves, parallel);
            // SAFETY: operand 0 at this offset is this output's accumulator (f64-aligned buffer
            // owned by the runtime); each output index is written by exactly one task.
            unsafe { *(bases[0] as *mut T) = v };
        };
        let threads = super::super::pool::threads_for(self.parallel);
        let flag = crate::exec::cancel::carried();
        if self.parallel && outputs >= 4 * threads {
            super::super::pool::pool().install(|| {
                (0..outputs)
                    .into_par_iter()
                    .for_each(|i| flag.enter(|| per_output(i, false)))
            });
        } else if self.parallel {
            super::super::pool::pool()
                .install(|| flag.enter(|| (0..outputs).for_each(|i| per_output(i, true))));
        } else {
            (0..outputs).for_each(|i| per_output(i, false));
        }
    }
}

fn column_layout(space: &Space, reduced: &[bool]) -> Option<ColumnLayout> {
    ColumnLayout::of(space, reduced).or_else(|| ColumnLayout::short_last(space, reduced))
}

/// How a reduction walks its elements, which fixes the order it combines them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Walk {
    /// A column kernel: each output's elements folded one after the other per block of rows.
    Columns,
    /// Rows of `m` elements (the innermost reduced dimension once the reduced dimensions
    /// collapse), each cut into blocks of [`BLOCK`]: the leaves of the pairwise tree.
    Rows { m: usize },
}

/// The walk [`Reduction::run`] takes over `space` (every operand's strides, before collapsing)
/// with the dimensions `reduced`, when the stage has a column kernel or not; the reference
/// interpreter calls it to combine in the same order.
pub(crate) fn walk(space: &Space, reduced: &[bool], has_columns: bool) -> Walk {
    if has_columns && column_layout(space, reduced).is_some() {
        return Walk::Columns;
    }
    let red_dims: Vec<usize> = (0..space.dims.len()).filter(|&d| reduced[d]).collect();
    let red = space.select(&red_dims).collapse().pad_to(1);
    Walk::Rows {
        m: *red.dims.last().unwrap_or(&1),
    }
}
