//! A kernel call (`def`) in a vector body, on whole vectors: every lane is one element's call,
//! and control flow becomes masks (as ISPC and GPU compilers run SPMD code), so a `while` or a
//! `for` runs once for all lanes, until the last lane leaves it, instead of once per lane.
//!
//! State, in stack slots (promoted to registers by the pipeline): `active`, the lanes executing
//! the current step; `returned`, the lanes that have returned (never active again in this
//! call); per open loop, `live`, the lanes still in it. A step assigns only its active lanes
//! (`select(active, new, old)`), so every lane sees exactly the assignments, in the order, of
//! its own scalar run: the bits are those of `kernel.rs`'s scalar code, lane by lane. Lanes
//! that are not active still compute (on their own values), which is safe because no op traps:
//! integer `//` and `%` are branch-free with a safe divisor (`emit.rs`), float ops raise no
//! exceptions, casts saturate, and helpers are pure.
//!
//! - `if c`: the then-steps run on `active & c`, the else-steps on `active & !c` (each skipped
//!   when no lane takes it); afterwards `active` is the union of the lanes still active at the
//!   end of either.
//! - `while c` / `for`: `live` starts as `active`; at the head, `live &= c` (or the lane's
//!   counter below its trip count) and `live &= !returned`; the loop ends when no lane is live;
//!   each trip runs the body with `active = live`. `break` removes the active lanes from `live`,
//!   `continue` only ends the trip for them, and both leave `active` empty for the rest of
//!   the body. After the loop, `active` is the lanes that entered it and have not returned.
//! - `return v`: `result = select(active, v, result)`, `returned |= active`, `active = 0`.

use inkwell::types::{BasicTypeEnum, VectorType};
use inkwell::values::{BasicValueEnum, PointerValue, VectorValue};
use inkwell::IntPredicate;

use super::super::jit::internal;
use super::super::translate::kernel::{assigned, facts_kept, implied_by, nonneg_nodes};
use super::emit::Check;
use super::*;
use crate::core::dtype::Scalar;
use crate::ir::kernel::{ends_within_64_trips, KStep, KernelIr};

/// Where one masked kernel call keeps its state (see the module's documentation).
struct Masked<'ctx> {
    /// Per local, its stack slot (a vector) and type.
    locals: Vec<(PointerValue<'ctx>, BasicTypeEnum<'ctx>)>,
    /// The result's slot and type (a vector of the kernel's result dtype).
    result: (PointerValue<'ctx>, BasicTypeEnum<'ctx>),
    active: PointerValue<'ctx>,
    returned: PointerValue<'ctx>,
    /// Per open loop, innermost last: its `live` mask.
    live: Vec<PointerValue<'ctx>>,
    /// Per local: known to be ≥ 0 in every active lane here (as in `kernel.rs`).
    nonneg: Vec<bool>,
}

/// Whether emission can go on, or every lane has left the current steps (a `return`, `break`
/// or `continue` ended them), so what follows in the source is dead.
#[derive(PartialEq)]
enum Open {
    Yes,
    No,
}

impl<'ctx> Translator<'_, 'ctx> {
    /// `kernel` on `args` (vectors of `self.lanes` elements of its parameters' dtypes), each
    /// lane a call of its own, with the lanes `active` running (all when `None`).
    pub(super) fn masked_kernel(
        &mut self,
        kernel: &KernelIr,
        args: &[BasicValueEnum<'ctx>],
        active: Option<VectorValue<'ctx>>,
    ) -> Result<BasicValueEnum<'ctx>> {
        let mut locals = Vec::with_capacity(kernel.locals.len());
        for (i, (_, dtype)) in kernel.locals.iter().enumerate() {
            let ty = self.widen(self.elem_type(*dtype), self.lanes);
            let slot = self.var(ty)?;
            // Locals start as zero, as in the interpreter (lowering rejects early reads).
            let init = match args.get(i) {
                Some(&v) => v,
                None => self.constant(Scalar::I64(0).cast(*dtype))?,
            };
            self.set(slot, init)?;
            locals.push((slot, ty));
        }
        let result_ty = self.widen(self.elem_type(kernel.result), self.lanes);
        let result = self.var(result_ty)?;
        let zero = self.constant(Scalar::I64(0).cast(kernel.result))?;
        self.set(result, zero)?;
        let mask = self.mask_type();
        let (active_slot, returned) = (self.var(mask.into())?, self.var(mask.into())?);
        self.set(active_slot, active.unwrap_or(self.lanes_all(true)))?;
        self.set(returned, self.lanes_all(false))?;
        let mut m = Masked {
            nonneg: vec![false; locals.len()],
            locals,
            result: (result, result_ty),
            active: active_slot,
            returned,
            live: Vec::new(),
        };
        self.masked_steps(&kernel.body, &mut m)?;
        self.get(result, result_ty)
    }

    fn mask_type(&self) -> VectorType<'ctx> {
        self.ctx.bool_type().vec_type(self.lanes)
    }

    /// A mask with every lane `on`, or none.
    fn lanes_all(&self, on: bool) -> VectorValue<'ctx> {
        let bit = self.ctx.bool_type().const_int(on as u64, false);
        VectorType::const_vector(&vec![bit; self.lanes as usize])
    }

    fn mask(&self, slot: PointerValue<'ctx>) -> Result<VectorValue<'ctx>> {
        Ok(self.get(slot, self.mask_type().into())?.into_vector_value())
    }

    fn and_not(&self, a: VectorValue<'ctx>, b: VectorValue<'ctx>) -> Result<VectorValue<'ctx>> {
        let not_b = self.b.build_not(b, "").or_err()?;
        self.b.build_and(a, not_b, "").or_err()
    }

    /// Jumps to a new block when `mask` has a lane set, else to `otherwise`; the builder is
    /// left in the new block.
    fn when_any(
        &self,
        mask: VectorValue<'ctx>,
        otherwise: inkwell::basic_block::BasicBlock<'ctx>,
    ) -> Result<()> {
        let go = self.ctx.append_basic_block(self.f, "some_lanes");
        let any = self.any_lane(mask)?;
        self.b
            .build_conditional_branch(any, go, otherwise)
            .or_err()?;
        self.b.position_at_end(go);
        Ok(())
    }

    fn masked_steps(&mut self, steps: &[KStep], m: &mut Masked<'ctx>) -> Result<Open> {
        for step in steps {
            match step {
                KStep::Set(sets) => {
                    let values = sets
                        .iter()
                        .map(|(_, g)| self.masked_expr(g, m))
                        .collect::<Result<Vec<_>>>()?;
                    let facts: Vec<bool> = sets
                        .iter()
                        .map(|(_, g)| nonneg_nodes(g, &m.nonneg)[g.root])
                        .collect();
                    let active = self.mask(m.active)?;
                    for (((local, _), v), fact) in sets.iter().zip(values).zip(facts) {
                        let (slot, ty) = m.locals[*local];
                        let old = self.get(slot, ty)?;
                        let new = self.b.build_select(active, v, old, "").or_err()?;
                        self.set(slot, new)?;
                        m.nonneg[*local] = fact;
                    }
                }
                KStep::If { cond, then, orelse } => {
                    if self.masked_if(cond, then, orelse, m)? == Open::No {
                        return Ok(Open::No);
                    }
                }
                KStep::While { cond, body } => self.masked_while(cond, body, m)?,
                KStep::For {
                    var,
                    start,
                    stop,
                    step,
                    body,
                } => self.masked_for(*var, [start, stop, step], body, m)?,
                KStep::Break | KStep::Continue => {
                    let &live = m
                        .live
                        .last()
                        .ok_or_else(|| internal("llvm kernel", "a jump outside a loop"))?;
                    if matches!(step, KStep::Break) {
                        let left = self.and_not(self.mask(live)?, self.mask(m.active)?)?;
                        self.set(live, left)?;
                    }
                    self.set(m.active, self.lanes_all(false))?;
                    return Ok(Open::No);
                }
                KStep::Return(g) => {
                    let v = self.masked_expr(g, m)?;
                    let active = self.mask(m.active)?;
                    let (slot, ty) = m.result;
                    let old = self.get(slot, ty)?;
                    let new = self.b.build_select(active, v, old, "").or_err()?;
                    self.set(slot, new)?;
                    let returned = self.mask(m.returned)?;
                    let returned = self.b.build_or(returned, active, "").or_err()?;
                    self.set(m.returned, returned)?;
                    self.set(m.active, self.lanes_all(false))?;
                    return Ok(Open::No);
                }
            }
        }
        Ok(Open::Yes)
    }

    fn masked_if(
        &mut self,
        cond: &Graph,
        then: &[KStep],
        orelse: &[KStep],
        m: &mut Masked<'ctx>,
    ) -> Result<Open> {
        let c = self.masked_cond(cond, m)?;
        let before = m.nonneg.clone();
        let changed = assigned(then, assigned(orelse, vec![false; before.len()]));
        let entry = self.mask(m.active)?;
        // The lanes still active at the end of either branch.
        let after = self.var(self.mask_type().into())?;
        self.set(after, self.lanes_all(false))?;
        let mut open = false;
        for (body, holds) in [(then, true), (orelse, false)] {
            if body.is_empty() {
                // No steps: every lane that takes this branch is still active after it.
                let taken = if holds {
                    self.b.build_and(entry, c, "").or_err()?
                } else {
                    self.and_not(entry, c)?
                };
                let union = self.b.build_or(self.mask(after)?, taken, "").or_err()?;
                self.set(after, union)?;
                open = true;
                continue;
            }
            let taken = if holds {
                self.b.build_and(entry, c, "").or_err()?
            } else {
                self.and_not(entry, c)?
            };
            let skip = self.ctx.append_basic_block(self.f, "kernel_branch_done");
            self.when_any(taken, skip)?;
            self.set(m.active, taken)?;
            m.nonneg = before.clone();
            if holds {
                implied_by(cond, &mut m.nonneg);
            }
            if self.masked_steps(body, m)? == Open::Yes {
                let union = self
                    .b
                    .build_or(self.mask(after)?, self.mask(m.active)?, "")
                    .or_err()?;
                self.set(after, union)?;
                open = true;
            }
            self.b.build_unconditional_branch(skip).or_err()?;
            self.b.position_at_end(skip);
        }
        m.nonneg = facts_kept(&before, &changed);
        self.set(m.active, self.mask(after)?)?;
        Ok(if open { Open::Yes } else { Open::No })
    }

    fn masked_while(&mut self, cond: &Graph, body: &[KStep], m: &mut Masked<'ctx>) -> Result<()> {
        let entry = self.mask(m.active)?;
        let live = self.var(self.mask_type().into())?;
        self.set(live, entry)?;
        let (head, after) = (
            self.ctx.append_basic_block(self.f, "while_head"),
            self.ctx.append_basic_block(self.f, "while_done"),
        );
        self.b.build_unconditional_branch(head).or_err()?;
        self.b.position_at_end(head);
        if !ends_within_64_trips(cond, body) {
            self.cancel_point()?;
        }
        // What holds at the head holds on entry and after every trip.
        let changed = assigned(body, vec![false; m.nonneg.len()]);
        m.nonneg = facts_kept(&m.nonneg, &changed);
        let at_head = m.nonneg.clone();
        let staying = self.and_not(self.mask(live)?, self.mask(m.returned)?)?;
        self.set(m.active, staying)?;
        let c = self.masked_cond(cond, m)?;
        let staying = self.b.build_and(staying, c, "").or_err()?;
        self.set(live, staying)?;
        self.when_any(staying, after)?;
        self.set(m.active, staying)?;
        implied_by(cond, &mut m.nonneg);
        m.live.push(live);
        let open = self.masked_steps(body, m);
        m.live.pop();
        open?;
        self.b.build_unconditional_branch(head).or_err()?;
        m.nonneg = at_head;
        self.b.position_at_end(after);
        let out = self.and_not(entry, self.mask(m.returned)?)?;
        self.set(m.active, out)
    }

    /// `for var in range(start, stop, step)`, each lane with its own trip count (computed
    /// first, as the interpreter does) and counter.
    fn masked_for(
        &mut self,
        var: usize,
        bounds: [&Graph; 3],
        body: &[KStep],
        m: &mut Masked<'ctx>,
    ) -> Result<()> {
        let [start, stop, step] = bounds.map(|g| self.masked_expr(g, m));
        let (start, stop, step) = (
            start?.into_vector_value(),
            stop?.into_vector_value(),
            step?.into_vector_value(),
        );
        let mut changed = assigned(body, vec![false; m.nonneg.len()]);
        changed[var] = true;
        m.nonneg = facts_kept(&m.nonneg, &changed);
        let at_head = m.nonneg.clone();
        let n = self.lane_trip_count(start, stop, step)?;
        let i64s: BasicTypeEnum<'ctx> = self.ctx.i64_type().vec_type(self.lanes).into();
        let counter = self.var(i64s)?;
        self.set(counter, self.constant(Scalar::I64(0))?)?;
        let entry = self.mask(m.active)?;
        let live = self.var(self.mask_type().into())?;
        self.set(live, entry)?;
        let (head, latch, after) = (
            self.ctx.append_basic_block(self.f, "for_head"),
            self.ctx.append_basic_block(self.f, "for_next"),
            self.ctx.append_basic_block(self.f, "for_done"),
        );
        self.b.build_unconditional_branch(head).or_err()?;
        self.b.position_at_end(head);
        self.cancel_point()?;
        let k = self.get(counter, i64s)?.into_vector_value();
        let more = self
            .b
            .build_int_compare(IntPredicate::ULT, k, n, "")
            .or_err()?;
        let staying = self.and_not(self.mask(live)?, self.mask(m.returned)?)?;
        let staying = self.b.build_and(staying, more, "").or_err()?;
        self.set(live, staying)?;
        self.when_any(staying, after)?;
        self.set(m.active, staying)?;
        let offset = self.b.build_int_mul(k, step, "").or_err()?;
        let value = self.b.build_int_add(start, offset, "").or_err()?;
        let (slot, ty) = m.locals[var];
        let old = self.get(slot, ty)?;
        let new = self
            .b
            .build_select(staying, BasicValueEnum::from(value), old, "")
            .or_err()?;
        self.set(slot, new)?;
        m.live.push(live);
        let open = self.masked_steps(body, m);
        m.live.pop();
        open?;
        self.b.build_unconditional_branch(latch).or_err()?;
        m.nonneg = at_head;
        self.b.position_at_end(latch);
        let k = self.get(counter, i64s)?.into_vector_value();
        let one = self.constant(Scalar::I64(1))?.into_vector_value();
        let k1 = self.b.build_int_add(k, one, "").or_err()?;
        self.set(counter, k1)?;
        self.b.build_unconditional_branch(head).or_err()?;
        self.b.position_at_end(after);
        let out = self.and_not(entry, self.mask(m.returned)?)?;
        self.set(m.active, out)
    }

    /// Per lane, how many values `range(start, stop, step)` has, unsigned: `⌈span / |step|⌉`
    /// when the step goes from `start` towards `stop`, else 0 (`kernel.rs`'s `trip_count` on
    /// vectors).
    fn lane_trip_count(
        &self,
        start: VectorValue<'ctx>,
        stop: VectorValue<'ctx>,
        step: VectorValue<'ctx>,
    ) -> Result<VectorValue<'ctx>> {
        let b = &self.b;
        let c = |v: i64| -> Result<VectorValue<'ctx>> {
            Ok(self.constant(Scalar::I64(v))?.into_vector_value())
        };
        let zero = c(0)?;
        let cmp = |p, x, y| b.build_int_compare(p, x, y, "").or_err();
        let up = cmp(IntPredicate::SGT, step, zero)?;
        let down = cmp(IntPredicate::SLT, step, zero)?;
        let below = cmp(IntPredicate::SLT, start, stop)?;
        let above = cmp(IntPredicate::SGT, start, stop)?;
        let go_up = b.build_and(up, below, "").or_err()?;
        let go_down = b.build_and(down, above, "").or_err()?;
        let valid = b.build_or(go_up, go_down, "").or_err()?;
        let rise = b.build_int_sub(stop, start, "").or_err()?;
        let fall = b.build_int_sub(start, stop, "").or_err()?;
        let select = |m: VectorValue<'ctx>, x: VectorValue<'ctx>, y: VectorValue<'ctx>| {
            b.build_select(m, x, y, "")
                .or_err()
                .map(|v| v.into_vector_value())
        };
        let span = select(up, rise, fall)?;
        let minus = b.build_int_sub(zero, step, "").or_err()?;
        let by = select(up, step, minus)?;
        let by = select(valid, by, c(1)?)?;
        let q = b.build_int_unsigned_div(span, by, "").or_err()?;
        let r = b.build_int_unsigned_rem(span, by, "").or_err()?;
        let partial = cmp(IntPredicate::NE, r, zero)?;
        let partial = b
            .build_int_z_extend(partial, zero.get_type(), "")
            .or_err()?;
        let n = b.build_int_add(q, partial, "").or_err()?;
        select(valid, n, zero)
    }

    /// A kernel condition (a bool graph) as a mask.
    fn masked_cond(&mut self, g: &Graph, m: &mut Masked<'ctx>) -> Result<VectorValue<'ctx>> {
        let v = self.masked_expr(g, m)?;
        Ok(self.truth(v)?.into_vector_value())
    }

    /// The value of a kernel expression on every lane (a nested kernel call runs on the
    /// active lanes).
    fn masked_expr(&mut self, g: &Graph, m: &mut Masked<'ctx>) -> Result<BasicValueEnum<'ctx>> {
        let active = self.mask(m.active)?;
        self.kernel_expr(g, &m.locals, &m.nonneg, Some(active))
    }
}
