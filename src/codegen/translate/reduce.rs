//! Reduction rows: row partials accumulated in vector lanes in a fixed order (bit-identical
//! at any thread count), strided groups, and column reductions.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, Block, InstBuilder, StackSlotData, StackSlotKind, Value};
use cranelift_frontend::Variable;

use super::super::vector::VectorPlan;
use crate::core::dtype::DType;
use crate::core::error::Result;
use crate::ops::{Op, ReduceOp};

use super::*;

/// An accumulator in variables: one for a real dtype, two (the parts) for a complex one.
#[derive(Clone, Copy)]
pub(super) struct AccVar {
    re: Variable,
    im: Option<Variable>,
}

impl Translator<'_, '_> {
    /// `partial[row] = partial[row] ⊕ fold(value(j) for j < n1)`, with [`ACCUMULATORS`]
    /// interleaved accumulators over the unrolled part and the tail folded in after them.
    pub(super) fn reduce_row(
        &mut self,
        n1: Value,
        op: ReduceOp,
        acc: DType,
        row0: Variable,
    ) -> Result<()> {
        let combine = op.combiner();
        let identity = op.identity(acc);
        let accs = (0..ACCUMULATORS)
            .map(|_| {
                let init = self.scalar_const(identity);
                self.declare_acc(acc, init)
            })
            .collect::<Result<Vec<AccVar>>>()?;
        let j = self.counter();
        let (unrolled, merge, tail_head, tail, done) = (
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
        );
        let enough =
            self.b
                .ins()
                .icmp_imm_s(IntCC::SignedGreaterThanOrEqual, n1, ACCUMULATORS as i64);
        if let (Some(plan), Some(contiguous)) = (self.vector, self.contiguous) {
            // Vector accumulators: accumulator `u` is lane `u % lanes` of vector `u / lanes`, so
            // every element meets the same accumulator as in the scalar loop below and the
            // merged result is bit-identical whichever loop ran.
            let init = self.scalar_const(identity);
            let init = self.b.ins().splat(plan.ty, init);
            let vaccs: Vec<Variable> = (0..ACCUMULATORS / plan.lanes)
                .map(|_| {
                    let v = self.b.declare_var(plan.ty);
                    self.b.def_var(v, init);
                    v
                })
                .collect();
            let (vloop, vexit, scalar_entry) = (
                self.b.create_block(),
                self.b.create_block(),
                self.b.create_block(),
            );
            let go = self.b.ins().band(enough, contiguous);
            self.redirect_invariant(go);
            self.b.ins().brif(go, vloop, &[], scalar_entry, &[]);

            self.b.switch_to_block(vloop);
            self.vector_mode = true;
            self.iota_group.clear();
            for (v, vacc) in vaccs.iter().enumerate() {
                self.lane_offset = (v * 16) as i32;
                let x = self.element()?;
                let cur = self.b.use_var(*vacc);
                let next = self.vector_combine(combine, plan, cur, x);
                self.b.def_var(*vacc, next);
            }
            self.vector_mode = false;
            self.lane_offset = 0;
            // Operand 0 (the partial) does not move along the row.
            for k in 1..self.ptr.len() {
                if self.vector_step.contains_key(&k) {
                    // Eight elements per trip, whatever the lanes: s1 × 8 (0 for invariant ones).
                    let p = self.b.use_var(self.ptr[k]);
                    let group = self.b.ins().imul_imm_s(self.s1[k], ACCUMULATORS as i64);
                    let next = self.b.ins().iadd(p, group);
                    self.b.def_var(self.ptr[k], next);
                }
            }
            self.next_group(j, ACCUMULATORS as i64, n1, vloop, vexit);
            self.b.seal_block(vloop);

            self.b.switch_to_block(vexit);
            self.b.seal_block(vexit);
            for (u, a) in accs.iter().enumerate() {
                let vacc = self.b.use_var(vaccs[u / plan.lanes]);
                let lane = self.b.ins().extractlane(vacc, (u % plan.lanes) as u8);
                self.def_acc(*a, lane)?;
            }
            self.b.ins().jump(merge, &[]);

            self.b.switch_to_block(scalar_entry);
            self.b.seal_block(scalar_entry);
        }
        self.b.ins().brif(enough, unrolled, &[], merge, &[]);

        // Element u of each group of eight goes to accumulator u.
        self.b.switch_to_block(unrolled);
        if self.vector.is_some() {
            // The vector loop takes contiguous rows; this loop only runs for strided ones, whose
            // loads dominate: the accumulators live in a stack array, indexed `j % 8`, so the
            // element is compiled once instead of eight times (same sums, bit for bit).
            self.strided_groups(j, n1, op, acc, &accs, merge)?;
        } else {
            for a in &accs {
                let v = self.element_as(acc)?;
                let cur = self.use_acc(*a, acc);
                let next = self.apply(combine, &[cur, v], acc)?;
                self.def_acc(*a, next)?;
                self.advance_inner();
            }
            self.next_group(j, ACCUMULATORS as i64, n1, unrolled, merge);
        }
        self.b.seal_block(unrolled);

        // Merge the accumulators pairwise, in a fixed order.
        self.b.switch_to_block(merge);
        self.b.seal_block(merge);
        let mut level: Vec<Value> = accs.iter().map(|a| self.use_acc(*a, acc)).collect();
        while level.len() > 1 {
            let mut next = Vec::with_capacity(level.len() / 2);
            for pair in level.chunks(2) {
                next.push(self.apply(combine, &[pair[0], pair[1]], acc)?);
            }
            level = next;
        }
        let res = self.declare_acc(acc, level[0])?;
        self.b.ins().jump(tail_head, &[]);

        self.b.switch_to_block(tail_head);
        self.b.seal_block(tail_head);
        let jv = self.b.use_var(j);
        let rest = self.b.ins().icmp(IntCC::SignedLessThan, jv, n1);
        self.b.ins().brif(rest, tail, &[], done, &[]);

        self.b.switch_to_block(tail);
        let v = self.element_as(acc)?;
        let cur = self.use_acc(res, acc);
        let next = self.apply(combine, &[cur, v], acc)?;
        self.def_acc(res, next)?;
        self.advance_inner();
        self.count_and_branch(j, 1, n1, tail, done);
        self.b.seal_block(tail);

        // Fold the row's result into its partial.
        self.b.switch_to_block(done);
        self.b.seal_block(done);
        let at = self.b.use_var(row0);
        let old = self.load_element(acc, at, 0);
        let r = self.use_acc(res, acc);
        let new = self.apply(combine, &[old, r], acc)?;
        self.store_element(acc, new, at, 0)
    }

    /// A new accumulator of dtype `acc` holding `init`.
    fn declare_acc(&mut self, acc: DType, init: Value) -> Result<AccVar> {
        let a = AccVar {
            re: self.b.declare_var(clif_type(acc)),
            im: acc.is_complex().then(|| self.b.declare_var(clif_type(acc))),
        };
        self.def_acc(a, init)?;
        Ok(a)
    }

    /// The accumulator's current value (a complex value when it holds one).
    fn use_acc(&mut self, a: AccVar, acc: DType) -> Value {
        let re = self.b.use_var(a.re);
        match a.im {
            Some(im) => {
                let im = self.b.use_var(im);
                self.complex(re, im, acc)
            }
            None => re,
        }
    }

    /// Sets the accumulator to `v`.
    fn def_acc(&mut self, a: AccVar, v: Value) -> Result<()> {
        self.b.def_var(a.re, v);
        if let Some(im) = a.im {
            let vi = self.imag_of(v)?;
            self.b.def_var(im, vi);
        }
        Ok(())
    }

    /// From the current block (entered with `j = 0` and `n1 ≥ 8`): the whole groups of eight
    /// elements of the row, element `j` into accumulator `j % 8`, the accumulators in a stack
    /// array; then `accs` hold them and control goes to `merge` with `j` at the last whole group.
    pub(super) fn strided_groups(
        &mut self,
        j: Variable,
        n1: Value,
        op: ReduceOp,
        acc: DType,
        accs: &[AccVar],
        merge: Block,
    ) -> Result<()> {
        let size = acc.size() as u32;
        let slot = self.b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            size * ACCUMULATORS as u32,
            4,
        ));
        let base = self.b.ins().stack_addr(types::I64, slot, 0);
        let init = self.scalar_const(op.identity(acc));
        for u in 0..ACCUMULATORS {
            self.store_element(acc, init, base, (u as u32 * size) as i32)?;
        }
        let groups_end = self.b.ins().band_imm_s(n1, !(ACCUMULATORS as i64 - 1));
        let (body, exit) = (self.b.create_block(), self.b.create_block());
        self.b.ins().jump(body, &[]);

        self.b.switch_to_block(body);
        let v = self.element_as(acc)?;
        let jv = self.b.use_var(j);
        let lane = self.b.ins().band_imm_s(jv, ACCUMULATORS as i64 - 1);
        let offset = self.b.ins().imul_imm_s(lane, size as i64);
        let at = self.b.ins().iadd(base, offset);
        let cur = self.load_element(acc, at, 0);
        let next = self.apply(op.combiner(), &[cur, v], acc)?;
        self.store_element(acc, next, at, 0)?;
        self.advance_inner();
        self.count_and_branch(j, 1, groups_end, body, exit);
        self.b.seal_block(body);

        self.b.switch_to_block(exit);
        self.b.seal_block(exit);
        for (u, a) in accs.iter().enumerate() {
            let v = self.load_element(acc, base, (u as u32 * size) as i32);
            self.def_acc(*a, v)?;
        }
        self.b.ins().jump(merge, &[]);
        Ok(())
    }

    /// `acc ⊕ x` on vectors, for the combiners a [`VectorPlan`] of a reduction admits.
    pub(super) fn vector_combine(
        &mut self,
        combine: Op,
        plan: VectorPlan,
        acc: Value,
        x: Value,
    ) -> Value {
        match (combine, plan.float) {
            (Op::Add, true) => self.b.ins().fadd(acc, x),
            (Op::Add, false) => self.b.ins().iadd(acc, x),
            _ => self.b.ins().fmul(acc, x),
        }
    }

    /// True when this column kernel folds its rows [`COLUMN_ROWS`] at a time
    /// ([`Translator::column_row_blocks`]): its operands are all read from memory (no iotas), and
    /// its rows have no staged values nor kernel calls, whose scratch holds one row.
    pub(super) fn blocks_column_rows(&self) -> bool {
        self.columns && self.iotas.is_empty() && self.staging.is_none() && !self.calls_kernel
    }

    /// The rows of a column kernel in blocks of [`COLUMN_ROWS`] (each one pass over the
    /// partials), then jumps to `single` for the rows left (`i < n0`), or to `exit`. Taken only
    /// when no operand is constant along a row (inner stride 0) in this call: its splatted
    /// region holds one row's value.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn column_row_blocks(
        &mut self,
        n0: Value,
        n1: Value,
        op: ReduceOp,
        acc: DType,
        row: &[Variable],
        i: Variable,
        single: Block,
        exit: Block,
    ) -> Result<()> {
        let rows = COLUMN_ROWS as i64;
        let (blocks, rest) = (self.b.create_block(), self.b.create_block());
        let mut go = self
            .b
            .ins()
            .icmp_imm_s(IntCC::SignedGreaterThanOrEqual, n0, rows);
        if let Some(any) = self.any_invariant {
            let none = self.b.ins().icmp_imm_s(IntCC::Equal, any, 0);
            go = self.b.ins().band(go, none);
        }
        // Per operand, the byte offsets of the block's rows after the first, and of the next
        // block: the same for every block.
        let s0 = self.s0.clone();
        let times = |t: &mut Self, r: i64| -> Vec<Value> {
            (s0.iter()).map(|&s| t.b.ins().imul_imm_s(s, r)).collect()
        };
        let shifts: Vec<Vec<Value>> = (1..rows).map(|r| times(self, r)).collect();
        let step = times(self, rows);
        self.b.ins().brif(go, blocks, &[], rest, &[]);

        self.b.switch_to_block(blocks);
        self.start_row(row);
        self.column_rows(n1, op, acc, &shifts)?;
        self.step_rows(row, &step);
        self.next_group(i, rows, n0, blocks, rest);
        self.b.seal_block(blocks);

        self.b.switch_to_block(rest);
        self.b.seal_block(rest);
        let iv = self.b.use_var(i);
        let left = self.b.ins().icmp(IntCC::SignedLessThan, iv, n0);
        self.b.ins().brif(left, single, &[], exit, &[]);
        Ok(())
    }

    /// `partial[j] = (…(partial[j] ⊕ value₀(j)) ⊕ value₁(j) …) ⊕ value_R(j)` for `j < n1`, over
    /// the block's first row and the rows `shifts` (per operand byte offsets) select: each
    /// element meets the same operations in the same order as [`Translator::column_row`] row
    /// after row, with the partial kept in a register between them.
    fn column_rows(
        &mut self,
        n1: Value,
        op: ReduceOp,
        acc: DType,
        shifts: &[Vec<Value>],
    ) -> Result<()> {
        let combine = op.combiner();
        self.element_loop(n1, None, |t| {
            let p = t.operand_address(0);
            let vector = t.vector.filter(|_| t.vector_mode);
            let mut partial = match vector {
                Some(plan) => t.b.ins().load(plan.ty, FLAGS, p, t.lane_offset),
                None => t.load_element(acc, p, 0),
            };
            for shift in std::iter::once(None).chain(shifts.iter().map(Some)) {
                t.row_shift = shift.cloned().unwrap_or_default();
                let v = t.element_as(acc);
                t.row_shift.clear();
                let v = v?;
                partial = match vector {
                    Some(plan) => t.vector_combine(combine, plan, partial, v),
                    None => t.apply(combine, &[partial, v], acc)?,
                };
            }
            t.store_element(acc, partial, p, t.lane_offset)
        })
    }

    /// A column-kernel row: `partial[j] = partial[j] ⊕ value(j)` for `j < n1`. Rows of a
    /// reduction over a non-innermost axis (`sum(c, axis=0)`) are contiguous in memory; folding
    /// each into a row of partials reads them at full bandwidth.
    pub(super) fn column_row(&mut self, n1: Value, op: ReduceOp, acc: DType) -> Result<()> {
        let combine = op.combiner();
        self.element_loop(n1, None, |t| {
            let v = t.element_as(acc)?;
            let p = t.operand_address(0);
            let new = match t.vector.filter(|_| t.vector_mode) {
                Some(plan) => {
                    let old = t.b.ins().load(plan.ty, FLAGS, p, t.lane_offset);
                    t.vector_combine(combine, plan, old, v)
                }
                None => {
                    let old = t.load_element(acc, p, 0);
                    t.apply(combine, &[old, v], acc)?
                }
            };
            t.store_element(acc, new, p, t.lane_offset)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::core::dtype::{Complex32, Complex64};
    use crate::{Engine, Vars};
    use ndarray::{s, Array1, Array2, Array3};

    /// The JIT's result printed as the interpreter's: the same bits, NaN, sign of zero and all.
    fn agree(engine: &Engine, expr: &str, vars: &Vars, what: &str) {
        let k = engine.compile(expr, &vars.signature()).unwrap();
        let (got, want) = (k.eval(vars).unwrap(), k.eval_reference(vars).unwrap());
        assert_eq!(format!("{got:?}"), format!("{want:?}"), "{expr} ({what})");
    }

    #[test]
    fn row_blocks_fold_like_one_row_at_a_time() {
        // Row counts around the block size (blocks, a remainder, both), every combine, NaN and
        // signed zeros, operands constant down the columns (`b`) and along each row
        // (`c[:, :1]`, no blocks), strided and reversed views, and a middle axis.
        let engine = Engine::default();
        let value = |i: usize, j: usize| match (i * 7 + j * 3) % 11 {
            0 => f64::NAN,
            1 => -0.0,
            k => (k as f64 - 5.5) * 0.37,
        };
        for rows in 1..=2 * super::COLUMN_ROWS + 1 {
            for cols in [1, 3, 8, 13] {
                let c = Array2::from_shape_fn((rows, cols), |(i, j)| value(i, j));
                let f = c.mapv(|v| v as f32);
                let n = Array2::from_shape_fn((rows, cols), |(i, j)| (i * 5 + j) as i64 % 9 - 4);
                let z = c.mapv(|v| Complex64::new(v, 1.0 - v));
                let w = z.mapv(|v| Complex32::new(v.re as f32, v.im as f32));
                let b = Array1::from_shape_fn(cols, |j| j as f64 - 1.5);
                let wide = Array2::from_shape_fn((2 * rows, 2 * cols), |(i, j)| value(i, j));
                let views = [
                    ("C order", c.view()),
                    ("strided", wide.slice(s![..;2, ..;2])),
                    ("reversed", wide.slice(s![..rows;-1, ..cols;-1])),
                ];
                for (layout, view) in views {
                    let vars = Vars::new()
                        .with("c", view)
                        .with("f", &f)
                        .with("n", &n)
                        .with("z", &z)
                        .with("w", &w)
                        .with("b", &b);
                    for expr in [
                        "sum(c, axis=0)",
                        "prod(c * 0.5 + 1, axis=0)",
                        "max(c, axis=0)",
                        "min(c * b, axis=0)",
                        "sum(c * c[:, :1], axis=0)",
                        "sum(c * b + f, axis=0)",
                        "sum(f, axis=0)",
                        "sum(n, axis=0)",
                        "max(n, axis=0)",
                        "sum(c > 0, axis=0)",
                        "any(c > 1, axis=0)",
                        "all(n < 4, axis=0)",
                        "sum(z, axis=0)",
                        "prod(w, axis=0)",
                    ] {
                        agree(&engine, expr, &vars, &format!("{layout} {rows}x{cols}"));
                    }
                }
            }
        }
        let t = Array3::from_shape_fn((3, 9, 5), |(i, j, k)| value(i + k, j));
        let vars = Vars::new().with("t", &t);
        for expr in ["sum(t, axis=1)", "min(t, axis=0)", "sum(t * 2, axis=-2)"] {
            agree(&engine, expr, &vars, "3-d");
        }
    }
}
