//! Operands that read one array at nearby offsets along a row, read by shared aligned loads.
//!
//! P5's `u[1:-1, 2:]`, `u[1:-1, :-2]` and `u[1:-1, 1:-1]` are three views of one row of `u`,
//! one element apart. The plain vector loop loads each at its own address, and a 64-byte vector
//! at an address that is not a multiple of 64 touches two cache lines and costs about two
//! loads; P5's rows (301 float64) start at every alignment, so nearly every load splits. Here
//! the operands of a group (leaves that are views of one input) are made from the group's
//! aligned 64-byte vectors instead: one aligned load a trip per group, carried to the next trip,
//! and per operand one two-source permute (`vpermt2pd`) of the vector before and the vector
//! after. `benches/course/c/p5_alignment_probe.c` ("mode 2") measured that loop 30–35 % faster
//! than the plain one on an Intel Xeon (Emerald Rapids). The operands hold the same values, so
//! the bits do not change.
//!
//! AVX-512 only: the permute's index is known per row alone (where the row starts within its
//! line), and a two-source permute by a vector of indices exists for 512-bit vectors alone.
//!
//! Every line loaded holds at least one element the row reads, so no load touches a page the row
//! does not: the loop stops before a trip whose next line would lie past the row's last element
//! (the plain loop takes the rest).

use inkwell::types::BasicTypeEnum;
use inkwell::values::{BasicValue, BasicValueEnum, IntValue};
use inkwell::IntPredicate;

use super::*;
use crate::core::index::IndexKind;

/// The groups of operands read through shared aligned loads in a map's contiguous vector body
/// of `lanes` elements: per input with two or more views among the stage's leaves, their
/// operand indices; every other leaf of the same element size its own group (it gets the
/// aligned loads too, as in the probe). Empty, and the plain loop alone, unless the host has
/// 64-byte vectors, the stage is a map that applies no `def` kernel, and some input has two
/// views of 4- or 8-byte elements filling one vector.
///
/// Which leaves share is a guess from their subscripts (see [`row_of`]), checked per row at run
/// time: a row whose group spreads over more than a vector runs the plain loop.
///
/// ```text
/// u[1:-1, 2:] + u[1:-1, :-2] + u[2:, 1:-1] + u[:-2, 1:-1] - 4*u[1:-1, 1:-1]
///   groups: {u[1:-1, 2:], u[1:-1, :-2], u[1:-1, 1:-1]}, {u[2:, 1:-1]}, {u[:-2, 1:-1]}
/// ```
pub(super) fn carried_groups(
    g: &Graph,
    stage: &Stage,
    vector_bytes: u32,
    lanes: u32,
) -> Vec<Vec<usize>> {
    let plain = vector_bytes != 64
        || !matches!(stage.kind, StageKind::Map)
        || super::rows::applies_kernel(g, stage);
    if plain {
        return Vec::new();
    }
    let heads = stage.heads();
    // (the row the leaf reads, see `row_of`; its operand indices)
    let mut groups: Vec<(Option<Row>, Vec<usize>)> = Vec::new();
    for (i, &leaf) in stage.leaves.iter().enumerate() {
        let node = g.node(leaf);
        let size = node.dtype.size() as u32;
        let moving = node.rank > 0 && !matches!(node.kind, NodeKind::Iota { .. });
        if !moving || !matches!(size, 4 | 8) || size * lanes != 64 {
            continue;
        }
        let base = match node.kind {
            NodeKind::Input(input) => Some(row_of(g, input)),
            _ => None,
        };
        match groups
            .iter_mut()
            .find(|(b, _)| base.is_some() && b == &base)
        {
            Some((_, ks)) => ks.push(heads + i),
            None => groups.push((base, vec![heads + i])),
        }
    }
    if !groups.iter().any(|(_, ks)| ks.len() >= 2) {
        return Vec::new();
    }
    groups.into_iter().map(|(_, ks)| ks).collect()
}

/// The input a view reads and its subscript's items but the last slice: views with the same
/// one read the same rows, at offsets along them that only the last slice's start sets.
type Row = (usize, Vec<IndexKind>);

/// Input `input`'s [`Row`] (an input that is not a view: itself, no items).
fn row_of(g: &Graph, input: usize) -> Row {
    match &g.inputs[input].view {
        Some(view) => {
            let mut kinds: Vec<IndexKind> = view.items.iter().map(|item| item.kind).collect();
            if let Some(IndexKind::Slice { .. }) = kinds.last() {
                kinds.pop();
            }
            (view.base, kinds)
        }
        None => (input, Vec::new()),
    }
}

/// The 64-byte vectors a row's groups are loaded as, from the vector body's lanes (8 of 8
/// bytes or 16 of 4): doubles or floats, whatever the operands' dtype (integers are bitcast),
/// with the permute that picks lanes from two of them by a vector of indices.
struct Line<'ctx> {
    lanes: u32,
    /// Bytes an element.
    size: i64,
    vector: BasicTypeEnum<'ctx>,
    /// The indices' lane type: `i64` for doubles, `i32` for floats.
    index: inkwell::types::IntType<'ctx>,
    permute: &'static str,
}

impl<'ctx> Line<'ctx> {
    fn of(ctx: &'ctx inkwell::context::Context, lanes: u32) -> Line<'ctx> {
        let doubles = lanes == 8;
        let float = if doubles {
            ctx.f64_type()
        } else {
            ctx.f32_type()
        };
        Line {
            lanes,
            size: (64 / lanes) as i64,
            vector: float.vec_type(lanes).into(),
            index: if doubles {
                ctx.i64_type()
            } else {
                ctx.i32_type()
            },
            permute: if doubles {
                "llvm.x86.avx512.vpermi2var.pd.512"
            } else {
                "llvm.x86.avx512.vpermi2var.ps.512"
            },
        }
    }
}

/// One group's state in a row.
struct Group<'ctx> {
    /// The 64-byte boundary at or below the group's first operand element.
    line: IntValue<'ctx>,
    /// Per operand (index into the kernel's operands), its first element's offset from `line`
    /// in elements, splatted and plus the lane numbers: the permute's indices.
    index: Vec<(usize, BasicValueEnum<'ctx>)>,
    /// The vector at the current trip's line, carried to the next trip.
    carried: inkwell::values::PointerValue<'ctx>,
}

impl<'ctx> Translator<'_, 'ctx> {
    /// The vector trips of a dense map row from element `start` (at least one whole vector
    /// before `n`) with the operands of [`Self::carried`] made from shared aligned loads; the
    /// index after the last trip run is returned (`start` when the row's operands do not allow
    /// them: a group spread over more than a vector, or an element not aligned to its size).
    pub(super) fn carried_trips(
        &mut self,
        start: IntValue<'ctx>,
        n: IntValue<'ctx>,
        row: &[IntValue<'ctx>],
        lanes: u32,
        body: &mut impl FnMut(&mut Self) -> Result<()>,
    ) -> Result<IntValue<'ctx>> {
        let lines = Line::of(self.ctx, lanes);
        let size = lines.size;
        let shift = self.i64c(size.trailing_zeros() as i64);
        let left = self.b.build_int_sub(n, start, "").or_err()?;
        // The bytes the row reads from `start` on, per operand.
        let bytes = self.b.build_int_mul(left, self.i64c(size), "").or_err()?;
        let mut trips = self
            .b
            .build_int_unsigned_div(left, self.i64c(lanes as i64), "")
            .or_err()?;
        let mut ok = self.ctx.bool_type().const_int(1, false);
        let mut groups = Vec::new();
        let skip = self.b.build_int_mul(start, self.i64c(size), "").or_err()?;
        for ks in self.carried.clone() {
            let at = (ks.iter())
                .map(|&k| self.b.build_int_add(row[k], skip, "").or_err())
                .collect::<Result<Vec<_>>>()?;
            let (mut lo, mut hi) = (at[0], at[0]);
            for &a in &at[1..] {
                lo = self.pick(IntPredicate::ULT, a, lo)?;
                hi = self.pick(IntPredicate::UGT, a, hi)?;
            }
            let line = self.b.build_and(lo, self.i64c(!63), "").or_err()?;
            // Every operand within the two vectors from `line`: a permute reaches it.
            let spread = self.b.build_int_sub(hi, line, "").or_err()?;
            let near = self.cmp(IntPredicate::ULE, spread, self.i64c(64))?;
            ok = self.b.build_and(ok, near, "").or_err()?;
            for &a in &at {
                let low = self.b.build_and(a, self.i64c(size - 1), "").or_err()?;
                let whole = self.cmp(IntPredicate::EQ, low, self.i64c(0))?;
                ok = self.b.build_and(ok, whole, "").or_err()?;
            }
            // Trip `t` loads the line at `line + 64(t + 1)`: it must start before the last
            // byte the row reads of this group.
            let end = self.b.build_int_add(hi, bytes, "").or_err()?;
            let room = self.b.build_int_sub(end, line, "").or_err()?;
            let room = self.b.build_int_sub(room, self.i64c(1), "").or_err()?;
            let safe = self
                .b
                .build_right_shift(room, self.i64c(6), false, "")
                .or_err()?;
            trips = self.pick(IntPredicate::ULT, safe, trips)?;
            let mut index = Vec::with_capacity(ks.len());
            for (&k, &a) in ks.iter().zip(&at) {
                let from = self.b.build_int_sub(a, line, "").or_err()?;
                let first = self.b.build_right_shift(from, shift, false, "").or_err()?;
                index.push((k, self.lane_indices(first, &lines)?));
            }
            let carried = self.var(lines.vector)?;
            groups.push(Group {
                line,
                index,
                carried,
            });
        }
        let trips = self
            .b
            .build_select(ok, trips, self.i64c(0), "")
            .or_err()?
            .into_int_value();
        let span = self
            .b
            .build_int_mul(trips, self.i64c(lanes as i64), "")
            .or_err()?;
        let stop = self.b.build_int_add(start, span, "").or_err()?;
        let any = self.cmp(IntPredicate::SGT, trips, self.i64c(0))?;
        self.when(any, |t| {
            for group in &groups {
                let first = t.load_line(group.line, &lines)?;
                t.set(group.carried, first)?;
            }
            t.for_loop(start, stop, lanes, |t, j| {
                let done = t.b.build_int_sub(j, start, "").or_err()?;
                let done = t.b.build_int_mul(done, t.i64c(size), "").or_err()?;
                t.carried_values = vec![None; row.len()];
                for group in &groups {
                    let at = t.b.build_int_add(group.line, done, "").or_err()?;
                    let at = t.b.build_int_add(at, t.i64c(64), "").or_err()?;
                    let next = t.load_line(at, &lines)?;
                    let here = t.get(group.carried, lines.vector)?;
                    for &(k, index) in &group.index {
                        let dtype = t.g.node(t.stage.leaves[k - t.stage.heads()]).dtype;
                        let v = t.permute(&lines, [here, index, next], dtype)?;
                        t.carried_values[k] = Some(v);
                    }
                    t.set(group.carried, next)?;
                }
                t.lanes = lanes;
                t.at(row, j)?;
                let r = body(t);
                t.lanes = 1;
                t.carried_values.clear();
                r
            })?;
            Ok(())
        })?;
        Ok(stop)
    }

    /// `a` when `a pred b`, else `b`.
    fn pick(
        &self,
        pred: IntPredicate,
        a: IntValue<'ctx>,
        b: IntValue<'ctx>,
    ) -> Result<IntValue<'ctx>> {
        let c = self.cmp(pred, a, b)?;
        Ok(self.b.build_select(c, a, b, "").or_err()?.into_int_value())
    }

    fn cmp(
        &self,
        pred: IntPredicate,
        a: IntValue<'ctx>,
        b: IntValue<'ctx>,
    ) -> Result<IntValue<'ctx>> {
        self.b.build_int_compare(pred, a, b, "").or_err()
    }

    /// `first + l` in lane `l`, as the permute's index vector.
    fn lane_indices(
        &self,
        first: IntValue<'ctx>,
        line: &Line<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>> {
        let first = (self.b)
            .build_int_truncate_or_bit_cast(first, line.index, "")
            .or_err()?;
        let splat = self.splat(first.into(), line.lanes)?.into_vector_value();
        let steps = (0..line.lanes)
            .map(|l| line.index.const_int(l as u64, false))
            .collect::<Vec<_>>();
        let steps = inkwell::types::VectorType::const_vector(&steps);
        Ok(self.b.build_int_add(splat, steps, "").or_err()?.into())
    }

    /// The 64-byte vector at the aligned address `at`.
    fn load_line(&self, at: IntValue<'ctx>, line: &Line<'ctx>) -> Result<BasicValueEnum<'ctx>> {
        let v = (self.b)
            .build_load(line.vector, self.pointer(at)?, "")
            .or_err()?;
        Self::align(v.as_instruction_value(), 64)?;
        Ok(v)
    }

    /// Lanes `index[l]` of the 16 (or 32) elements of `lo` then `hi`, as a vector of `dtype`.
    fn permute(
        &self,
        line: &Line<'ctx>,
        [lo, index, hi]: [BasicValueEnum<'ctx>; 3],
        dtype: crate::core::dtype::DType,
    ) -> Result<BasicValueEnum<'ctx>> {
        let v = self.intrinsic(line.permute, &[], &[lo, index, hi])?;
        let want = self.widen(self.elem_type(dtype), line.lanes);
        if want == v.get_type() {
            return Ok(v);
        }
        self.b.build_bit_cast(v, want, "").or_err()
    }
}
