//! The element loop of a row: the 128-bit vector body, unrolled, and the scalar tail, with
//! operands that are invariant along a row splatted once per row.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use cranelift_frontend::Variable;

use crate::core::error::Result;

use super::*;

impl Translator<'_, '_> {
    /// A loop over `n ≥ 1` elements (from `start` if given, else from the current pointers),
    /// with the element index in `self.index`, running `body` per element. With a vector plan
    /// and every operand contiguous in this call, whole groups of `lanes × unroll` elements run
    /// as vectors first (`body` then sees `self.lanes` set and one `lane_offset` per vector),
    /// and the scalar loop finishes the tail.
    pub(super) fn element_loop(
        &mut self,
        n: Value,
        start: Option<&[Variable]>,
        mut body: impl FnMut(&mut Self) -> Result<()>,
    ) -> Result<()> {
        if let Some(start) = start {
            for (k, bs) in start.iter().enumerate() {
                let v = self.b.use_var(*bs);
                self.b.def_var(self.ptr[k], v);
            }
        }
        let (scalar, done) = (self.b.create_block(), self.b.create_block());
        let j = self.counter();
        self.index = Some(j);
        if let (Some(plan), Some(contiguous)) = (self.vector, self.contiguous) {
            let (vloop, tail) = (self.b.create_block(), self.b.create_block());
            let step = (plan.lanes * plan.unroll) as i64;
            let enough = self
                .b
                .ins()
                .icmp_imm_s(IntCC::SignedGreaterThanOrEqual, n, step);
            let go = self.b.ins().band(enough, contiguous);
            self.redirect_invariant(go);
            // Iotas compute their lanes from their own pointers: they keep the general loop. So
            // do the loops of a staged row, whose time goes to the vector-math calls between them:
            // a second loop there would only add compile time (a third of a staged kernel's code).
            if self.iotas.is_empty() && self.staging.is_none() && !self.calls_kernel {
                let (dispatch, fast, fast_exit) = (
                    self.b.create_block(),
                    self.b.create_block(),
                    self.b.create_block(),
                );
                self.b.ins().brif(go, dispatch, &[], tail, &[]);
                self.b.switch_to_block(dispatch);
                self.b.seal_block(dispatch);
                let any_invariant = self
                    .any_invariant
                    .unwrap_or_else(|| unreachable!("set with `contiguous`"));
                self.b.ins().brif(any_invariant, vloop, &[], fast, &[]);

                // Every operand contiguous: one byte offset addresses them all, so a trip advances
                // one register instead of one pointer per operand (which would spill).
                self.b.switch_to_block(fast);
                let jv = self.b.use_var(j);
                self.fast_offset = Some(self.b.ins().imul_imm_s(jv, plan.elem_size as i64));
                self.vector_mode = true;
                for u in 0..plan.unroll {
                    self.lane_offset = (u * 16) as i32;
                    body(self)?;
                }
                self.vector_mode = false;
                self.lane_offset = 0;
                self.fast_offset = None;
                self.next_group(j, step, n, fast, fast_exit);
                self.b.seal_block(fast);
                self.b.switch_to_block(fast_exit);
                self.b.seal_block(fast_exit);
                let jv = self.b.use_var(j);
                let done_bytes = self.b.ins().imul_imm_s(jv, plan.elem_size as i64);
                for k in 0..self.ptr.len() {
                    if self.vector_step.contains_key(&k) {
                        let p = self.b.use_var(self.ptr[k]);
                        let next = self.b.ins().iadd(p, done_bytes);
                        self.b.def_var(self.ptr[k], next);
                    }
                }
                self.b.ins().jump(tail, &[]);
            } else {
                self.b.ins().brif(go, vloop, &[], tail, &[]);
            }

            self.b.switch_to_block(vloop);
            self.vector_mode = true;
            self.iota_group.clear();
            for u in 0..plan.unroll {
                self.lane_offset = (u * 16) as i32;
                body(self)?;
            }
            self.vector_mode = false;
            self.lane_offset = 0;
            for k in 0..self.ptr.len() {
                // s1 × (lanes × unroll): contiguous operands move on, invariant ones stay put.
                if let Some(&advance) = self.vector_step.get(&k) {
                    let p = self.b.use_var(self.ptr[k]);
                    let next = self.b.ins().iadd(p, advance);
                    self.b.def_var(self.ptr[k], next);
                }
            }
            self.next_group(j, step, n, vloop, tail);
            self.b.seal_block(vloop);

            self.b.switch_to_block(tail);
            self.b.seal_block(tail);
            let jv = self.b.use_var(j);
            let rest = self.b.ins().icmp(IntCC::SignedLessThan, jv, n);
            self.b.ins().brif(rest, scalar, &[], done, &[]);
        } else {
            self.b.ins().jump(scalar, &[]);
        }
        self.b.switch_to_block(scalar);
        body(self)?;
        self.advance_inner();
        self.count_and_branch(j, 1, n, scalar, done);
        self.b.seal_block(scalar);
        self.b.switch_to_block(done);
        self.b.seal_block(done);
        self.index = None;
        Ok(())
    }

    /// True (nonzero) when some operand is invariant along the rows of this call.
    pub(super) fn any_invariant(&mut self) -> Value {
        let mut any = self.b.ins().iconst(types::I8, 0);
        let mut flags: Vec<(usize, Value)> =
            self.invariant.iter().map(|(k, (f, _))| (*k, *f)).collect();
        flags.sort_unstable_by_key(|(k, _)| *k);
        for (_, f) in flags {
            any = self.b.ins().bor(any, f);
        }
        any
    }

    /// The address of operand `k`'s current element (vector loops on the fast path add the
    /// common byte offset).
    pub(super) fn operand_address(&mut self, k: usize) -> Value {
        let p = self.row_address(k);
        match self.fast_offset {
            Some(off) if self.vector_mode => self.b.ins().iadd(p, off),
            _ => p,
        }
    }

    /// Operand `k`'s current element pointer, moved to the row of a column kernel's block that
    /// [`Translator::row_shift`] selects.
    pub(super) fn row_address(&mut self, k: usize) -> Value {
        let p = self.b.use_var(self.ptr[k]);
        match self.row_shift.get(k) {
            Some(&shift) => self.b.ins().iadd(p, shift),
            None => p,
        }
    }

    /// Before a row's vector loop (taken when `go`): an operand invariant along the row reads
    /// its current element splatted from its region instead (its inner stride is 0, so the
    /// pointer stays there, and the scalar tail reads the same value from the region's first
    /// element).
    pub(super) fn redirect_invariant(&mut self, go: Value) {
        let mut invariant: Vec<(usize, (Value, Value))> =
            self.invariant.iter().map(|(k, v)| (*k, *v)).collect();
        if invariant.is_empty() {
            return;
        }
        invariant.sort_unstable_by_key(|(k, _)| *k);
        let Some(plan) = self.vector else {
            unreachable!("invariant operands are tracked for vector loops only")
        };
        let any = self
            .any_invariant
            .unwrap_or_else(|| unreachable!("set with `invariant`"));
        let refresh_needed = self.b.ins().band(any, go);
        let (refresh, redirect) = (self.b.create_block(), self.b.create_block());
        self.b
            .ins()
            .brif(refresh_needed, refresh, &[], redirect, &[]);
        self.b.switch_to_block(refresh);
        self.b.seal_block(refresh);
        // The row has elements (`go`), so every operand's pointer is at a readable one; regions
        // of operands that do move along the row are written but never read.
        for &(k, (_, region)) in &invariant {
            let p = self.b.use_var(self.ptr[k]);
            let value = self.b.ins().load(clif_type(plan.dtype), FLAGS, p, 0);
            let splat = self.b.ins().splat(plan.ty, value);
            for u in 0..4 {
                self.b.ins().store(FLAGS, splat, region, 16 * u);
            }
        }
        self.b.ins().jump(redirect, &[]);
        self.b.switch_to_block(redirect);
        self.b.seal_block(redirect);
        for (k, (is_invariant, region)) in invariant {
            let p = self.b.use_var(self.ptr[k]);
            let here = self.b.ins().band(is_invariant, go);
            let redirected = self.b.ins().select(here, region, p);
            self.b.def_var(self.ptr[k], redirected);
        }
    }
}
