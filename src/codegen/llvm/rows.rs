//! The loop nest and its rows: maps, block-staged maps, reduction rows, column rows.
//!
//! Addresses are `i64`s, as in the Cranelift tier: operand `k`'s element `j` of the current row
//! is at `row_k + j·s1_k`. A row runs a vector body of `lanes` elements per trip, then a scalar
//! tail; the body reads contiguous operands as vectors when every operand is contiguous or
//! invariant along rows in this call (an invariant one from its splat region in scratch, refreshed
//! per row), and gathers lane by lane otherwise. A map's streaming entry stores its outputs'
//! vectors non-temporally on aligned rows (`map_row`).

use std::collections::HashMap;

use inkwell::types::BasicTypeEnum;
use inkwell::values::{BasicValueEnum, IntValue, PointerValue};
use inkwell::IntPredicate;

use super::emit::Check;
use super::*;
use crate::core::dtype::DType;
use crate::ir::NodeKind;
use crate::ops::ReduceOp;

/// Lanes of a map's vector body: 64 bytes of the stage's widest dtype (8 float64: two AVX2
/// vectors or one AVX-512 vector; two vectors on a host with SSE alone), or four of the host's
/// widest vectors in a stage that applies a `def` kernel; between 4 and 32.
///
/// Two AVX-512 vectors a trip were slower on an Intel Xeon (Emerald Rapids, one thread, same
/// run): P2 18.0 against 13.1 ms, P6 28 against 22 ms, P13 37 against 30 ms, P5 650 against
/// 566 ms; P4, P10 and P14's triad 2–4 % faster (`benches/course/RESULTS-session18-lanes.md`).
pub(super) fn map_lanes(g: &Graph, stage: &Stage, vector_bytes: u32) -> u32 {
    let mut widest = (stage.nodes(g).into_iter())
        .map(|id| g.node(id).dtype.size() as u32)
        .fold(1, u32::max);
    if let StageKind::Reduce { acc, .. } = stage.kind {
        widest = widest.max(acc.size() as u32);
    }
    let bytes = if applies_kernel(g, stage) {
        4 * vector_bytes
    } else {
        (2 * vector_bytes).min(64)
    };
    (bytes / widest).clamp(4, 32)
}

/// Whether a stage applies a `def` kernel. A masked kernel's loops (`masked.rs`) are chains of
/// dependent ops, one trip after the other; four independent vectors in flight keep the core
/// busy where one waits (P8's digit loop: 1.2x the scalar time on one 8-lane vector; on the
/// Xeon above, 617 against 495 ms with 16 lanes instead of 32).
pub(super) fn applies_kernel(g: &Graph, stage: &Stage) -> bool {
    (stage.nodes(g).into_iter()).any(|id| matches!(g.node(id).kind, NodeKind::Call(..)))
}

/// Lanes of each accumulator vector of a reduction row that reads its values straight from
/// memory (see [`Translator::reduce_row`]).
const STREAM_PART_LANES: u32 = 4;

/// Groups of [`ACCUMULATORS`] elements per trip of a reduction row that reads its values
/// straight from memory (see [`Translator::reduce_row`]).
const STREAM_GROUPS: u32 = 4;

/// The row being computed.
struct Rows<'ctx> {
    /// The current row's start, per operand.
    row: Vec<IntValue<'ctx>>,
}

impl<'ctx> Translator<'_, 'ctx> {
    pub(super) fn i64c(&self, v: i64) -> IntValue<'ctx> {
        self.ctx.i64_type().const_int(v as u64, true)
    }

    /// A stack slot for a loop variable (promoted to a register by the pipeline).
    pub(super) fn var(&self, ty: BasicTypeEnum<'ctx>) -> Result<PointerValue<'ctx>> {
        let b = self.ctx.create_builder();
        match self.allocas.get_first_instruction() {
            Some(first) => b.position_before(&first),
            None => b.position_at_end(self.allocas),
        }
        b.build_alloca(ty, "v").or_err()
    }

    pub(super) fn get(
        &self,
        v: PointerValue<'ctx>,
        ty: BasicTypeEnum<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>> {
        self.b.build_load(ty, v, "").or_err()
    }

    pub(super) fn get_int(&self, v: PointerValue<'ctx>) -> Result<IntValue<'ctx>> {
        Ok(self.get(v, self.ctx.i64_type().into())?.into_int_value())
    }

    pub(super) fn set(
        &self,
        v: PointerValue<'ctx>,
        x: impl inkwell::values::BasicValue<'ctx>,
    ) -> Result<()> {
        self.b.build_store(v, x).or_err().map(|_| ())
    }

    /// `for j in (start..end).step_by(step)` while a whole step fits (`j + step ≤ end`); the
    /// builder is left after the loop, and the `j` the loop stopped at is returned.
    pub(super) fn for_loop(
        &mut self,
        start: IntValue<'ctx>,
        end: IntValue<'ctx>,
        step: u32,
        mut body: impl FnMut(&mut Self, IntValue<'ctx>) -> Result<()>,
    ) -> Result<IntValue<'ctx>> {
        let jv = self.var(self.ctx.i64_type().into())?;
        self.set(jv, start)?;
        let (head, inner, exit) = (
            self.ctx.append_basic_block(self.f, "head"),
            self.ctx.append_basic_block(self.f, "body"),
            self.ctx.append_basic_block(self.f, "exit"),
        );
        self.b.build_unconditional_branch(head).or_err()?;
        self.b.position_at_end(head);
        let j = self.get_int(jv)?;
        let next = self
            .b
            .build_int_add(j, self.i64c(step as i64), "")
            .or_err()?;
        let fits = self
            .b
            .build_int_compare(IntPredicate::SLE, next, end, "")
            .or_err()?;
        self.b
            .build_conditional_branch(fits, inner, exit)
            .or_err()?;
        self.b.position_at_end(inner);
        body(self, j)?;
        self.set(jv, next)?;
        self.b.build_unconditional_branch(head).or_err()?;
        self.b.position_at_end(exit);
        self.get_int(jv)
    }

    /// `if cond { then }`, the builder left after it.
    pub(super) fn when(
        &mut self,
        cond: IntValue<'ctx>,
        then: impl FnOnce(&mut Self) -> Result<()>,
    ) -> Result<()> {
        let (yes, after) = (
            self.ctx.append_basic_block(self.f, "then"),
            self.ctx.append_basic_block(self.f, "after"),
        );
        self.b.build_conditional_branch(cond, yes, after).or_err()?;
        self.b.position_at_end(yes);
        then(self)?;
        self.b.build_unconditional_branch(after).or_err()?;
        self.b.position_at_end(after);
        Ok(())
    }

    /// entry → outer loop over rows (the row of the stage's kind) → return.
    pub(super) fn body(&mut self) -> Result<()> {
        let start = self.ctx.append_basic_block(self.f, "start");
        self.b.position_at_end(start);
        let p = |i: u32| -> Result<BasicValueEnum<'ctx>> {
            self.f
                .get_nth_param(i)
                .ok_or_else(|| super::super::jit::internal("llvm", "missing parameter"))
        };
        let (n0, n1) = (p(0)?.into_int_value(), p(1)?.into_int_value());
        let (ptrs, strides) = (p(2)?.into_pointer_value(), p(3)?.into_pointer_value());
        self.scratch = Some(p(4)?.into_pointer_value());
        self.cancel = Some(p(5)?.into_pointer_value());
        if let Some(flag) = self.f.get_nth_param(6) {
            let on = self
                .b
                .build_int_compare(IntPredicate::NE, flag.into_int_value(), self.i64c(0), "")
                .or_err()?;
            self.stream = Some(on);
        }
        let i64t = self.ctx.i64_type();
        let operands = self.stage.leaves.len() + self.stage.heads();
        // Entry `i` of the caller's arrays of `operands` (pointers, or pairs of strides).
        let at = |t: &Self, base: PointerValue<'ctx>, i: usize| -> Result<IntValue<'ctx>> {
            let base = t.b.build_ptr_to_int(base, i64t, "").or_err()?;
            let p = t.b.build_int_add(base, t.i64c(8 * i as i64), "").or_err()?;
            t.load(DType::Int64, p).map(|v| v.into_int_value())
        };
        let mut base = Vec::with_capacity(operands);
        let mut s0 = Vec::with_capacity(operands);
        for k in 0..operands {
            base.push(at(self, ptrs, k)?);
            s0.push(at(self, strides, 2 * k)?);
            let s1 = at(self, strides, 2 * k + 1)?;
            self.s1.push(s1);
        }
        self.addr = base.clone();
        self.hoist_constants()?;
        let has0 = self
            .b
            .build_int_compare(IntPredicate::SGT, n0, self.i64c(0), "")
            .or_err()?;
        let has1 = self
            .b
            .build_int_compare(IntPredicate::SGT, n1, self.i64c(0), "")
            .or_err()?;
        let nonempty = self.b.build_and(has0, has1, "").or_err()?;
        let fast = self.fast_condition()?;
        self.when(nonempty, |t| {
            let row_at = |t: &mut Self, i: IntValue<'ctx>| {
                (0..operands)
                    .map(|k| {
                        let off = t.b.build_int_mul(i, s0[k], "").or_err()?;
                        t.b.build_int_add(base[k], off, "").or_err()
                    })
                    .collect::<Result<Vec<_>>>()
            };
            let mut first = t.i64c(0);
            if let StageKind::Reduce { op, acc, .. } = t.stage.kind {
                if t.blocks_column_rows() {
                    let end = t.column_blocks_end(n0)?;
                    // Per block row, per operand, its byte offset from the block's first row.
                    let shifts = (0..COLUMN_ROWS as i64)
                        .map(|r| {
                            (s0.iter())
                                .map(|&s| t.b.build_int_mul(s, t.i64c(r), "").or_err())
                                .collect::<Result<Vec<_>>>()
                        })
                        .collect::<Result<Vec<_>>>()?;
                    first = t.for_loop(first, end, COLUMN_ROWS as u32, |t, i| {
                        let row = row_at(t, i)?;
                        t.column_rows(n1, &row, &shifts, op, acc, fast)
                    })?;
                }
            }
            t.for_loop(first, n0, 1, |t, i| {
                let rows = Rows { row: row_at(t, i)? };
                match t.stage.kind {
                    StageKind::Map => match t.staging {
                        Some(staging) => t.staged_map_row(n1, &rows, staging, fast),
                        None => t.map_row(n1, &rows.row, fast),
                    },
                    StageKind::Reduce { op, acc, .. } if t.columns => {
                        t.column_row(n1, &rows, op, acc, fast)
                    }
                    StageKind::Reduce { op, acc, .. } => t.reduce_row(n1, &rows, op, acc, fast),
                }
            })?;
            Ok(())
        })?;
        if let Some(stream) = self.stream {
            // Streaming stores are weakly ordered: fence them before the caller (or the thread
            // that joins this work item) reads the output.
            self.when(stream, |t| {
                let sfence = inkwell::intrinsics::Intrinsic::find("llvm.x86.sse.sfence")
                    .and_then(|i| i.get_declaration(t.module, &[]))
                    .ok_or_else(|| super::super::jit::internal("llvm", "no sfence"))?;
                t.b.build_call(sfence, &[], "").or_err().map(|_| ())
            })?;
        }
        self.b.build_return(None).or_err()?;
        self.b.position_at_end(self.allocas);
        self.b.build_unconditional_branch(start).or_err()?;
        Ok(())
    }

    /// True (`i1`) when, in this call, every operand a row reads or writes along the row is
    /// contiguous, or a leaf invariant along rows: then vector bodies load and store whole
    /// vectors. (A reduction row's partial does not move; 0-d leaves are read once; iotas
    /// compute their lanes from any stride.)
    fn fast_condition(&mut self) -> Result<IntValue<'ctx>> {
        let heads = self.stage.heads();
        let mut all = self.ctx.bool_type().const_int(1, false);
        let mut dense = all;
        let reduce_row = matches!(self.stage.kind, StageKind::Reduce { .. }) && !self.columns;
        for k in usize::from(reduce_row)..self.s1.len() {
            let (size, leaf) = if k < heads {
                let size = match self.stage.kind {
                    StageKind::Reduce { acc, .. } => acc.size(),
                    StageKind::Map => self.g.node(self.stage.stores[k]).dtype.size(),
                };
                (size, false)
            } else {
                let node = self.g.node(self.stage.leaves[k - heads]);
                if node.rank == 0 || matches!(node.kind, NodeKind::Iota { .. }) {
                    continue;
                }
                (node.dtype.size(), true)
            };
            let s1 = self.s1[k];
            let mut ok = self
                .b
                .build_int_compare(IntPredicate::EQ, s1, self.i64c(size as i64), "")
                .or_err()?;
            if leaf {
                dense = self.b.build_and(dense, ok, "").or_err()?;
                let zero = self
                    .b
                    .build_int_compare(IntPredicate::EQ, s1, self.i64c(0), "")
                    .or_err()?;
                ok = self.b.build_or(ok, zero, "").or_err()?;
            }
            all = self.b.build_and(all, ok, "").or_err()?;
        }
        self.dense = Some(dense);
        Ok(all)
    }

    /// True for leaf operand `k` when it is read from memory along rows (not 0-d, not an iota).
    fn is_moving_leaf(&self, k: usize) -> bool {
        let heads = self.stage.heads();
        k >= heads && {
            let node = self.g.node(self.stage.leaves[k - heads]);
            node.rank > 0 && !matches!(node.kind, NodeKind::Iota { .. })
        }
    }

    /// For a node that is an operand read from memory along the row: whether it is contiguous
    /// in this call (an `i1`), so that a staged call can read its block in place; `None` for
    /// every other node.
    fn in_place(&self, node: NodeId) -> Result<Option<IntValue<'ctx>>> {
        let Some(&k) = self.operand_of.get(&node) else {
            return Ok(None);
        };
        if !self.is_moving_leaf(k) || self.block_start.is_empty() {
            return Ok(None);
        }
        let size = self.i64c(self.g.node(node).dtype.size() as i64);
        let contiguous = self
            .b
            .build_int_compare(IntPredicate::EQ, self.s1[k], size, "")
            .or_err()?;
        Ok(Some(contiguous))
    }

    /// The address of leaf `k`'s splat region in scratch.
    fn region(&self, k: usize) -> Result<IntValue<'ctx>> {
        let scratch = self.scratch_int()?;
        let off = self.regions[k - self.stage.heads()] as i64;
        self.b.build_int_add(scratch, self.i64c(off), "").or_err()
    }

    pub(super) fn scratch_int(&self) -> Result<IntValue<'ctx>> {
        let s = self
            .scratch
            .ok_or_else(|| super::super::jit::internal("llvm", "scratch before the entry"))?;
        self.b.build_ptr_to_int(s, self.ctx.i64_type(), "").or_err()
    }

    /// A loop over the `n ≥ 1` elements from `row`: vector bodies of `lanes` elements (whole
    /// vectors when `fast`, gathered otherwise), then the scalar tail; `body` runs per element
    /// or vector with `self.addr` at its operands and `self.index` at its index in the row.
    pub(super) fn element_loop(
        &mut self,
        n: IntValue<'ctx>,
        row: &[IntValue<'ctx>],
        lanes: u32,
        fast: IntValue<'ctx>,
        body: impl FnMut(&mut Self) -> Result<()>,
    ) -> Result<()> {
        self.element_loop_from(self.i64c(0), n, row, lanes, fast, body)
    }

    /// [`Self::element_loop`] over the elements `start..n` of the rows.
    fn element_loop_from(
        &mut self,
        start: IntValue<'ctx>,
        n: IntValue<'ctx>,
        row: &[IntValue<'ctx>],
        lanes: u32,
        fast: IntValue<'ctx>,
        mut body: impl FnMut(&mut Self) -> Result<()>,
    ) -> Result<()> {
        let jend = self.var(self.ctx.i64_type().into())?;
        self.set(jend, start)?;
        let left = self.b.build_int_sub(n, start, "").or_err()?;
        let enough = self
            .b
            .build_int_compare(IntPredicate::SGE, left, self.i64c(lanes as i64), "")
            .or_err()?;
        self.when(enough, |t| {
            t.element_loop_groups(start, n, row, lanes, fast, &mut body, jend)
        })?;
        // A row's last few groups run on vectors of a quarter of the width (one register of
        // float64 with AVX2, or of float32 with AVX-512), so the scalar tail is at most a few
        // elements: rows of a few hundred (P5's 299) would otherwise spend a good part of their
        // time there.
        let quarter = lanes / 4;
        if quarter >= 2 {
            let start = self.get_int(jend)?;
            let rest = self.b.build_int_sub(n, start, "").or_err()?;
            let enough = self
                .b
                .build_int_compare(IntPredicate::SGE, rest, self.i64c(quarter as i64), "")
                .or_err()?;
            self.when(enough, |t| {
                t.element_loop_groups(start, n, row, quarter, fast, &mut body, jend)
            })?;
        }
        let start = self.get_int(jend)?;
        self.for_loop(start, n, 1, |t, j| {
            t.at(row, j)?;
            body(t)
        })?;
        Ok(())
    }

    /// A map row of `n ≥ 1` elements from `row`, storing the stage's values: with the streaming
    /// flag set, a contiguous row whose outputs can all be aligned to 64 bytes together runs
    /// its first elements (up to that alignment) one by one, then whole vectors stored
    /// non-temporally (no read of the output's lines, which the write would otherwise fetch),
    /// then the usual quarter-width groups and scalar tail. The same operations on the same
    /// elements: only the store kind differs.
    fn map_row(
        &mut self,
        n: IntValue<'ctx>,
        row: &[IntValue<'ctx>],
        fast: IntValue<'ctx>,
    ) -> Result<()> {
        let lanes = self.vector_lanes;
        let Some(stream) = self.stream else {
            return self.aligned_map_row(n, row, lanes, fast);
        };
        let (peel, ok) = self.to_boundary(row)?;
        let mut go = self.b.build_and(stream, fast, "").or_err()?;
        go = self.b.build_and(go, ok, "").or_err()?;
        // Every other output on a boundary after the same elements.
        let heads = self.stage.heads();
        for (&store, &start) in self.stage.stores.iter().zip(row).take(heads).skip(1) {
            let size = self.g.node(store).dtype.size() as i64;
            let off = self.b.build_int_mul(peel, self.i64c(size), "").or_err()?;
            let at = self.b.build_int_add(start, off, "").or_err()?;
            let low = self.b.build_and(at, self.i64c(63), "").or_err()?;
            let ok = self
                .b
                .build_int_compare(IntPredicate::EQ, low, self.i64c(0), "")
                .or_err()?;
            go = self.b.build_and(go, ok, "").or_err()?;
        }
        let rest = self.b.build_int_sub(n, peel, "").or_err()?;
        let room = self
            .b
            .build_int_compare(IntPredicate::SGE, rest, self.i64c(lanes as i64), "")
            .or_err()?;
        go = self.b.build_and(go, room, "").or_err()?;
        let plain = self.b.build_not(go, "").or_err()?;
        self.when(go, |t| {
            t.for_loop(t.i64c(0), peel, 1, |t, j| {
                t.at(row, j)?;
                t.store_result()
            })?;
            let jend = t.var(t.ctx.i64_type().into())?;
            let always = t.ctx.bool_type().const_int(1, false);
            t.nontemporal = true;
            let groups =
                t.element_loop_groups(peel, n, row, lanes, always, Self::store_result, jend);
            t.nontemporal = false;
            groups?;
            let end = t.get_int(jend)?;
            t.element_loop_from(end, n, row, lanes, always, Self::store_result)
        })?;
        self.when(plain, |t| t.aligned_map_row(n, row, lanes, fast))
    }

    /// A map row of `n ≥ 1` elements from `row` whose vector stores land on 64-byte boundaries
    /// of output 0: when at least four vectors' worth of elements follow that boundary, the
    /// elements before it run one by one first (none when output 0's address is not a multiple
    /// of its element size: no count of elements reaches a boundary then). A vector store that
    /// spans two cache lines costs about two: P5's rows of 299 elements, whose starts move
    /// through every alignment, ran 7–15 % faster so in C (`benches/course/c/
    /// p5_alignment_probe.c`, modes 0 and 1), and P5's whole run 4–6 % at one thread. The same
    /// operations on the same elements; only which ones run in the vector loop changes.
    fn aligned_map_row(
        &mut self,
        n: IntValue<'ctx>,
        row: &[IntValue<'ctx>],
        lanes: u32,
        fast: IntValue<'ctx>,
    ) -> Result<()> {
        let (peel, whole) = self.to_boundary(row)?;
        // Up to 63 elements of a one-byte output: what is left must still be long.
        let rest = self.b.build_int_sub(n, peel, "").or_err()?;
        let long = self
            .b
            .build_int_compare(IntPredicate::SGE, rest, self.i64c(4 * lanes as i64), "")
            .or_err()?;
        let go = self.b.build_and(whole, long, "").or_err()?;
        let peel = self
            .b
            .build_select(go, peel, self.i64c(0), "")
            .or_err()?
            .into_int_value();
        self.for_loop(self.i64c(0), peel, 1, |t, j| {
            t.at(row, j)?;
            t.store_result()
        })?;
        self.element_loop_from(peel, n, row, lanes, fast, Self::store_result)
    }

    /// The elements of a map row from `row` before output 0's next 64-byte boundary, and
    /// whether they reach it (`i1`): only when output 0's address is a multiple of its element
    /// size.
    fn to_boundary(&self, row: &[IntValue<'ctx>]) -> Result<(IntValue<'ctx>, IntValue<'ctx>)> {
        let size0 = self.g.node(self.stage.stores[0]).dtype.size() as i64;
        let neg = self.b.build_int_neg(row[0], "").or_err()?;
        let gap = self.b.build_and(neg, self.i64c(63), "").or_err()?;
        let peel = self
            .b
            .build_int_unsigned_div(gap, self.i64c(size0), "")
            .or_err()?;
        let misaligned = self
            .b
            .build_and(row[0], self.i64c(size0 - 1), "")
            .or_err()?;
        let whole = self
            .b
            .build_int_compare(IntPredicate::EQ, misaligned, self.i64c(0), "")
            .or_err()?;
        Ok((peel, whole))
    }

    /// Points `self.addr` at element `j` of rows starting at `from`, and `self.index` at `j`.
    pub(super) fn at(&mut self, from: &[IntValue<'ctx>], j: IntValue<'ctx>) -> Result<()> {
        self.index = Some(j);
        self.addr = from
            .iter()
            .zip(&self.s1)
            .map(|(&r, &s1)| {
                let off = self.b.build_int_mul(j, s1, "").or_err()?;
                self.b.build_int_add(r, off, "").or_err()
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(())
    }

    /// Stores every value of the element into its output, after computing all of them (an
    /// output may be the memory an operand reads).
    pub(super) fn store_result(&mut self) -> Result<()> {
        let mut memo = HashMap::new();
        let values = self
            .stage
            .stores
            .iter()
            .map(|&s| self.value(s, &mut memo))
            .collect::<Result<Vec<_>>>()?;
        for (k, v) in values.into_iter().enumerate() {
            if self.nontemporal && self.lanes > 1 {
                self.store_nontemporal(v, self.addr[k])?;
            } else {
                self.store(v, self.addr[k], self.s1[k])?;
            }
        }
        Ok(())
    }

    /// A map row in blocks of `staging.block`: per phase, a loop computing the arguments of
    /// that phase's vector functions into scratch and one call per function; then the loop
    /// storing the result (as `translate/staged.rs`, without its in-place shortcuts).
    fn staged_map_row(
        &mut self,
        n: IntValue<'ctx>,
        rows: &Rows<'ctx>,
        staging: &Staging,
        fast: IntValue<'ctx>,
    ) -> Result<()> {
        let j0v = self.var(self.ctx.i64_type().into())?;
        self.set(j0v, self.i64c(0))?;
        let (head, inner, exit) = (
            self.ctx.append_basic_block(self.f, "block_head"),
            self.ctx.append_basic_block(self.f, "block"),
            self.ctx.append_basic_block(self.f, "blocks_done"),
        );
        self.b.build_unconditional_branch(head).or_err()?;
        self.b.position_at_end(head);
        let j0 = self.get_int(j0v)?;
        let more = self
            .b
            .build_int_compare(IntPredicate::SLT, j0, n, "")
            .or_err()?;
        self.b
            .build_conditional_branch(more, inner, exit)
            .or_err()?;
        self.b.position_at_end(inner);
        let rest = self.b.build_int_sub(n, j0, "").or_err()?;
        let full = self.i64c(staging.block as i64);
        let short = self
            .b
            .build_int_compare(IntPredicate::SLT, rest, full, "")
            .or_err()?;
        let nb = self
            .b
            .build_select(short, rest, full, "")
            .or_err()?
            .into_int_value();
        let start: Vec<IntValue<'ctx>> = rows
            .row
            .iter()
            .zip(self.s1.clone())
            .map(|(&r, s1)| {
                let off = self.b.build_int_mul(j0, s1, "").or_err()?;
                self.b.build_int_add(r, off, "").or_err()
            })
            .collect::<Result<_>>()?;
        let lanes = self.vector_lanes;
        self.block_start = start.clone();
        for phase in &staging.phases {
            self.element_loop(nb, &start, lanes, fast, |t| {
                let mut memo = HashMap::new();
                let mut copied = std::collections::HashSet::new();
                for &s in phase {
                    for a in t.g.args(s) {
                        let Some(slot) = staging.slots.get(&a) else {
                            continue;
                        };
                        if t.loaded.contains_key(&a) || !copied.insert(a) {
                            continue;
                        }
                        let at = t.slot_address(*slot)?;
                        // A contiguous operand is read in place by the call (see
                        // `call_vector`): the contiguous vector body skips its copy (the
                        // condition is the loop's invariant, unswitched by LLVM); the tails
                        // copy it anyway, unread. The copy's load stays in its branch (no memo:
                        // a value made there does not dominate what follows).
                        match t.in_place(a)? {
                            Some(in_place) if t.lanes > 1 && !t.gather => {
                                let elsewhere = t.b.build_not(in_place, "").or_err()?;
                                t.when(elsewhere, |t| {
                                    let v = t.value(a, &mut HashMap::new())?;
                                    t.store_contiguous(v, at)
                                })?;
                            }
                            _ => {
                                let v = t.value(a, &mut memo)?;
                                t.store_contiguous(v, at)?;
                            }
                        }
                    }
                }
                Ok(())
            })?;
            for &s in phase {
                if !staging.computed_with_sin(s) {
                    self.call_vector(s, nb, staging)?;
                }
                self.loaded.insert(s, staging.slots[&s]);
            }
        }
        self.map_row(nb, &start, fast)?;
        self.block_start.clear();
        self.loaded.clear();
        let next = self.b.build_int_add(j0, nb, "").or_err()?;
        self.set(j0v, next)?;
        self.b.build_unconditional_branch(head).or_err()?;
        self.b.position_at_end(exit);
        Ok(())
    }

    /// The address of the current element(s) of `slot` in scratch.
    pub(super) fn slot_address(&self, slot: staging::Slot) -> Result<IntValue<'ctx>> {
        let j = self.index.ok_or_else(|| {
            super::super::jit::internal("llvm", "scratch outside an element loop")
        })?;
        let bytes = self
            .b
            .build_int_mul(j, self.i64c(slot.size as i64), "")
            .or_err()?;
        let base = self.scratch_int()?;
        let base = self
            .b
            .build_int_add(base, self.i64c(slot.offset as i64), "")
            .or_err()?;
        self.b.build_int_add(base, bytes, "").or_err()
    }

    /// `f(nb, arguments' blocks…, result's block[, cos's block])` for staged node `node`.
    fn call_vector(&mut self, node: NodeId, nb: IntValue<'ctx>, staging: &Staging) -> Result<()> {
        let NodeKind::Apply(op, args) = &self.g.node(node).kind else {
            return Err(super::super::jit::internal(
                "llvm",
                "a staged node is not an apply",
            ));
        };
        let f = staging::VectorFn::of(*op).ok_or_else(|| {
            super::super::jit::internal("llvm", "staged op without a vector kernel")
        })?;
        let dtype = self.g.node(node).dtype;
        let partner = staging.sincos.get(&node);
        let scratch = self.scratch_int()?;
        let mut call_args = vec![nb.into()];
        for (i, a) in args.iter().chain([&node]).chain(partner).enumerate() {
            let off = self.i64c(staging.slots[a].offset as i64);
            let mut at = self.b.build_int_add(scratch, off, "").or_err()?;
            // An argument that is a contiguous operand: its block in place, no copy (the
            // Cranelift tier's `direct_arguments` does the same).
            let direct = if i < args.len() {
                self.in_place(*a)?
            } else {
                None
            };
            if let Some(in_place) = direct {
                let k = self.operand_of[a];
                at = (self.b.build_select(in_place, self.block_start[k], at, ""))
                    .or_err()?
                    .into_int_value();
            }
            call_args.push(at.into());
        }
        let name = match partner {
            Some(_) => staging::sincos_symbol(dtype).to_string(),
            None => f.symbol(dtype),
        };
        let i64t = self.ctx.i64_type();
        let params = vec![i64t.into(); call_args.len()];
        let callee = self.external(&name, self.ctx.void_type().fn_type(&params, false));
        self.b.build_call(callee, &call_args, "").or_err()?;
        Ok(())
    }

    /// `partial = partial ⊕ fold(row)`: elements `8g + u` into accumulator `u` (lane `u` of one
    /// 8-lane vector), merged `((a0⊕a1)⊕(a2⊕a3))⊕((a4⊕a5)⊕(a6⊕a7))`, then the tail in order.
    fn reduce_row(
        &mut self,
        n: IntValue<'ctx>,
        rows: &Rows<'ctx>,
        op: ReduceOp,
        acc: DType,
        fast: IntValue<'ctx>,
    ) -> Result<()> {
        let combine = op.combiner();
        let lanes = ACCUMULATORS as u32;
        let identity = self.scalar_const(op.identity(acc))?;
        // Element `j` goes to lane `j % ACCUMULATORS`, as in the Cranelift tier. A row whose
        // values come straight from memory keeps those lanes in independent vectors of
        // `STREAM_PART_LANES`: with one full-width register, each of a block's adds waits for
        // the one before and P11's row sums ran 1.2x slower (38 against 33 ms, AMD EPYC Zen 4);
        // a row that computes its values keeps them at full width (P9 took 1.15x as long split).
        let width = if self.streams_its_values() {
            STREAM_PART_LANES.min(lanes)
        } else {
            lanes
        };
        let parts = lanes / width;
        let init = self.splat(identity, width)?;
        let vty = init.get_type();
        let accs = (0..parts)
            .map(|_| {
                let v = self.var(vty)?;
                self.set(v, init)?;
                Ok(v)
            })
            .collect::<Result<Vec<_>>>()?;
        let jend = self.var(self.ctx.i64_type().into())?;
        self.set(jend, self.i64c(0))?;
        let enough = self
            .b
            .build_int_compare(IntPredicate::SGE, n, self.i64c(lanes as i64), "")
            .or_err()?;
        // The row's partial does not move along the row: its lanes are not read per element.
        let mut row = rows.row.clone();
        let partial = row[0];
        row[0] = self.i64c(0);
        // A stage applying a kernel computes `wide` elements at a time (several groups of
        // `lanes` in flight, see `applies_kernel`), folded group after group into the same
        // accumulators: the order, and so the bits, of one group at a time. The groups left
        // over then go one at a time. A row read straight from memory takes `STREAM_GROUPS`
        // groups a trip: fewer instructions per byte let the core keep more loads in flight
        // (P11's row sums, one thread, AMD EPYC Zen 5, five runs alternated: 21.6–21.8 against
        // 22.9–24.8 ms; software prefetch on top gained nothing).
        let wide = if applies_kernel(self.g, self.stage) {
            self.vector_lanes.max(lanes)
        } else if self.streams_its_values() {
            STREAM_GROUPS * lanes
        } else {
            lanes
        };
        let fold = |t: &mut Self, group: u32| -> Result<()> {
            let x = t.element_as(acc)?.into_vector_value();
            for first in (0..group).step_by(lanes as usize) {
                for (p, &a) in accs.iter().enumerate() {
                    let part = t.lanes_of(x, first + p as u32 * width, width)?;
                    let cur = t.get(a, vty)?;
                    t.lanes = width;
                    let next = t.apply(combine, &[cur, part], acc);
                    t.lanes = group;
                    t.set(a, next?)?;
                }
            }
            Ok(())
        };
        self.when(enough, |t| {
            let mut start = t.i64c(0);
            if wide > lanes {
                t.element_loop_groups(start, n, &row, wide, fast, |t| fold(t, wide), jend)?;
                start = t.get_int(jend)?;
            }
            t.element_loop_groups(start, n, &row, lanes, fast, |t| fold(t, lanes), jend)
        })?;
        let mut level = Vec::with_capacity(lanes as usize);
        for &a in &accs {
            let v = self.get(a, vty)?.into_vector_value();
            for u in 0..width {
                let lane = self.ctx.i32_type().const_int(u as u64, false);
                level.push(self.b.build_extract_element(v, lane, "").or_err()?);
            }
        }
        while level.len() > 1 {
            level = level
                .chunks(2)
                .map(|p| self.apply(combine, &[p[0], p[1]], acc))
                .collect::<Result<_>>()?;
        }
        let res = self.var(level[0].get_type())?;
        self.set(res, level[0])?;
        let start = self.get_int(jend)?;
        self.for_loop(start, n, 1, |t, j| {
            t.at(&row, j)?;
            let x = t.element_as(acc)?;
            let cur = t.get(res, x.get_type())?;
            let next = t.apply(combine, &[cur, x], acc)?;
            t.set(res, next)
        })?;
        self.lanes = 1;
        let old = self.load(acc, partial)?;
        let r = self.get(res, old.get_type())?;
        let new = self.apply(combine, &[old, r], acc)?;
        self.store(new, partial, self.i64c(0))
    }

    /// True when the stage's value is an operand read from memory, or one operation on such
    /// operands (a cast, a product): its row loop is bound by loads, not arithmetic.
    fn streams_its_values(&self) -> bool {
        let read = |id: NodeId| {
            self.operand_of.contains_key(&id)
                && !matches!(self.g.node(id).kind, NodeKind::Iota { .. })
        };
        let value = self.stage.value;
        let one_op = matches!(
            self.g.node(value).kind,
            NodeKind::Cast(_) | NodeKind::Apply(..)
        );
        read(value)
            || one_op
                && (self.g.args(value).into_iter()).all(|a| read(a) || self.g.node(a).rank == 0)
    }

    /// Lanes `first..first + count` of vector `v`, as a vector.
    fn lanes_of(
        &self,
        v: inkwell::values::VectorValue<'ctx>,
        first: u32,
        count: u32,
    ) -> Result<BasicValueEnum<'ctx>> {
        let i32t = self.ctx.i32_type();
        let mask: Vec<IntValue<'ctx>> = (first..first + count)
            .map(|l| i32t.const_int(l as u64, false))
            .collect();
        let mask = inkwell::types::VectorType::const_vector(&mask);
        let poison = v.get_type().get_poison();
        Ok(self
            .b
            .build_shuffle_vector(v, poison, mask, "")
            .or_err()?
            .into())
    }

    /// The vector part of [`Self::element_loop`] alone: whole groups of `lanes` elements from
    /// `start` (the caller has checked there is one), contiguous or gathered; the index after
    /// the last whole group goes to `jend`.
    #[allow(clippy::too_many_arguments)]
    fn element_loop_groups(
        &mut self,
        start: IntValue<'ctx>,
        n: IntValue<'ctx>,
        row: &[IntValue<'ctx>],
        lanes: u32,
        fast: IntValue<'ctx>,
        mut body: impl FnMut(&mut Self) -> Result<()>,
        jend: PointerValue<'ctx>,
    ) -> Result<()> {
        let (contiguous, gathered, after) = (
            self.ctx.append_basic_block(self.f, "contiguous"),
            self.ctx.append_basic_block(self.f, "gathered"),
            self.ctx.append_basic_block(self.f, "groups_done"),
        );
        self.b
            .build_conditional_branch(fast, contiguous, gathered)
            .or_err()?;
        let mut versions = vec![(contiguous, true, false), (gathered, false, false)];
        // A map reading several leaves, all contiguous in this call (P5's five), gets a version
        // of its own: LLVM then knows every stride from the branch and steps the operands by
        // constants, where the version below steps each by its runtime stride (stride 0 for a
        // leaf invariant along the row). P5's step: 2–4 % faster at one thread, 5 % at two;
        // the extra loop costs 15–25 % more LLVM compile time, so maps of one leaf, maps that
        // apply a `def` kernel (its body copied per lane) and reductions go without it.
        let moving = (0..row.len()).filter(|&k| self.is_moving_leaf(k)).count();
        let several = moving >= 2
            && matches!(self.stage.kind, StageKind::Map)
            && !applies_kernel(self.g, self.stage);
        if let (true, Some(dense)) = (several, self.dense) {
            let (all, some) = (
                self.ctx.append_basic_block(self.f, "dense"),
                self.ctx.append_basic_block(self.f, "invariant_leaves"),
            );
            self.b.position_at_end(contiguous);
            self.b.build_conditional_branch(dense, all, some).or_err()?;
            versions = vec![
                (all, true, true),
                (some, true, false),
                (gathered, false, false),
            ];
        }
        for (block, fast, dense) in versions {
            self.b.position_at_end(block);
            let mut from = row.to_vec();
            if fast && !dense {
                for k in 0..row.len() {
                    if !self.is_moving_leaf(k) {
                        continue;
                    }
                    let dtype = self.g.node(self.stage.leaves[k - self.stage.heads()]).dtype;
                    let invariant = self
                        .b
                        .build_int_compare(IntPredicate::EQ, self.s1[k], self.i64c(0), "")
                        .or_err()?;
                    let region = self.region(k)?;
                    // Filled only for a leaf invariant along the row: a row of P5's stencil
                    // (299 elements, five moving leaves) spent ~30 instructions on the rest.
                    self.when(invariant, |t| {
                        t.lanes = 1;
                        let v = t.load(dtype, row[k])?;
                        let splat = t.splat(v, lanes)?;
                        t.lanes = lanes;
                        t.store_contiguous(splat, region)
                    })?;
                    from[k] = self
                        .b
                        .build_select(invariant, region, row[k], "")
                        .or_err()?
                        .into_int_value();
                }
            }
            // Operands that are views of one row at nearby offsets: first the trips that read
            // them through shared aligned loads (`carried.rs`), the plain loop for the rest.
            let mut first = start;
            if dense && lanes == self.vector_lanes && !self.carried.is_empty() {
                first = self.carried_trips(start, n, row, lanes, &mut body)?;
            }
            let end = self.for_loop(first, n, lanes, |t, j| {
                t.lanes = lanes;
                t.gather = !fast;
                t.at(&from, j)?;
                let r = body(t);
                t.lanes = 1;
                t.gather = false;
                r
            })?;
            self.set(jend, end)?;
            self.b.build_unconditional_branch(after).or_err()?;
        }
        self.b.position_at_end(after);
        self.lanes = 1;
        Ok(())
    }

    /// True when this column kernel folds its rows [`COLUMN_ROWS`] at a time
    /// ([`Self::column_rows`]), as the Cranelift tier's does: its operands are all read from
    /// memory (no iotas) and it inlines no `def` kernel (four copies of its loops).
    fn blocks_column_rows(&self) -> bool {
        self.columns
            && self.stage.nodes(self.g).into_iter().all(|id| {
                !matches!(
                    self.g.node(id).kind,
                    NodeKind::Iota { .. } | NodeKind::Call(..)
                )
            })
    }

    /// The end of a column kernel's blocks of rows: `n0` rounded down to a multiple of
    /// [`COLUMN_ROWS`], or 0 when a leaf is constant along a row in this call (inner stride 0:
    /// its splat region in scratch holds one row's value).
    fn column_blocks_end(&mut self, n0: IntValue<'ctx>) -> Result<IntValue<'ctx>> {
        let mask = self.i64c(!(COLUMN_ROWS as i64 - 1));
        let mut end = self.b.build_and(n0, mask, "").or_err()?;
        for k in 0..self.s1.len() {
            if !self.is_moving_leaf(k) {
                continue;
            }
            let invariant = self
                .b
                .build_int_compare(IntPredicate::EQ, self.s1[k], self.i64c(0), "")
                .or_err()?;
            end = self
                .b
                .build_select(invariant, self.i64c(0), end, "")
                .or_err()?
                .into_int_value();
        }
        Ok(end)
    }

    /// `partial[j] = (…(partial[j] ⊕ value₀(j)) ⊕ value₁(j) …) ⊕ value_R(j)` for `j < n`, over
    /// the rows at byte offsets `shifts` (per row, per operand) from `row`: each element meets
    /// the same operations in the same order as [`Self::column_row`] row after row, with the
    /// partial loaded and stored once.
    fn column_rows(
        &mut self,
        n: IntValue<'ctx>,
        row: &[IntValue<'ctx>],
        shifts: &[Vec<IntValue<'ctx>>],
        op: ReduceOp,
        acc: DType,
        fast: IntValue<'ctx>,
    ) -> Result<()> {
        let combine = op.combiner();
        self.element_loop(n, row, self.vector_lanes, fast, |t| {
            let p = t.addr[0];
            let mut partial = t.load(acc, p)?;
            for shift in shifts {
                t.row_shift = shift.clone();
                let v = t.element_as(acc);
                t.row_shift.clear();
                partial = t.apply(combine, &[partial, v?], acc)?;
            }
            t.store(partial, p, t.s1[0])
        })
    }

    /// A column-kernel row: `partial[j] = partial[j] ⊕ value(j)` for `j < n`.
    fn column_row(
        &mut self,
        n: IntValue<'ctx>,
        rows: &Rows<'ctx>,
        op: ReduceOp,
        acc: DType,
        fast: IntValue<'ctx>,
    ) -> Result<()> {
        let combine = op.combiner();
        let lanes = self.vector_lanes;
        self.element_loop(n, &rows.row, lanes, fast, |t| {
            let v = t.element_as(acc)?;
            let p = t.addr[0];
            let old = t.load(acc, p)?;
            let new = t.apply(combine, &[old, v], acc)?;
            t.store(new, p, t.s1[0])
        })
    }

    /// The stage's value at the current element(s), converted to the accumulator dtype.
    fn element_as(&mut self, acc: DType) -> Result<BasicValueEnum<'ctx>> {
        let mut memo = HashMap::new();
        let v = self.value(self.stage.value, &mut memo)?;
        self.convert(v, self.g.node(self.stage.value).dtype, acc)
    }
}
