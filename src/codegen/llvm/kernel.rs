//! A kernel call (`def`), inlined into the element loop as `translate/kernel.rs` inlines it
//! into Cranelift code: its locals become stack slots (promoted to registers by the pipeline's
//! `mem2reg`), its structured control flow becomes basic blocks, and every `return` stores the
//! value and jumps to one exit block. Every expression is emitted on scalars by the same arms
//! as the rest of the stage (`emit.rs`), so a kernel rounds exactly as the Cranelift tier's and
//! the interpreter's.
//!
//! In a vector body a kernel runs on whole vectors, its control flow as masks (`masked.rs`).

use inkwell::basic_block::BasicBlock;
use inkwell::types::BasicTypeEnum;
use inkwell::values::{BasicValue, BasicValueEnum, IntValue, PointerValue};
use inkwell::{AtomicOrdering, IntPredicate};

use super::super::jit::internal;
use super::super::translate::kernel::{
    assigned, facts_kept, implied_by, nonneg_nodes, positive_int,
};
use super::emit::Check;
use super::*;
use crate::core::dtype::{DType, Scalar};
use crate::ir::kernel::{all_steps, ends_within_64_trips, KStep, KernelIr};
use crate::ops::Op;

/// True when every value `kernel` (and every kernel it calls) computes is real: complex values
/// and byte strings keep their Cranelift code.
pub(super) fn real_kernel(kernel: &KernelIr) -> bool {
    let real = |d: DType| !(d.is_complex() || d.is_bytes());
    real(kernel.result)
        && kernel.locals.iter().all(|(_, d)| real(*d))
        && all_steps(&kernel.body).iter().all(|s| {
            s.graphs().into_iter().all(|g| {
                g.nodes.iter().all(|n| {
                    real(n.dtype)
                        && match &n.kind {
                            NodeKind::Call(k, _) => real_kernel(k),
                            _ => true,
                        }
                })
            })
        })
}

/// Where control goes from inside one inlined kernel.
struct Frame<'ctx> {
    /// Per local, its stack slot and type.
    locals: Vec<(PointerValue<'ctx>, BasicTypeEnum<'ctx>)>,
    /// The slot every `return` stores its value in, before jumping to `exit`.
    result: PointerValue<'ctx>,
    exit: BasicBlock<'ctx>,
    /// Per open loop, innermost last: where `continue` and `break` go.
    loops: Vec<(BasicBlock<'ctx>, BasicBlock<'ctx>)>,
    /// Per local: known to be ≥ 0 here (see `translate/kernel.rs`), so that `//` and `%` by a
    /// positive constant are unsigned divisions, as in the Cranelift tier.
    nonneg: Vec<bool>,
}

/// Whether emission can go on in the current block, or the block has ended (a `return`,
/// `break` or `continue` jumped away), so what follows in the source is dead.
#[derive(PartialEq)]
enum Open {
    Yes,
    No,
}

impl<'ctx> Translator<'_, 'ctx> {
    /// The value of kernel call `kernel` on `args` for the current element(s): inline on
    /// scalars, on whole vectors with masks in a vector body (`masked.rs`).
    pub(super) fn call_kernel(
        &mut self,
        kernel: &KernelIr,
        args: &[BasicValueEnum<'ctx>],
    ) -> Result<BasicValueEnum<'ctx>> {
        if self.lanes == 1 {
            self.inline_kernel(kernel, args)
        } else {
            self.masked_kernel(kernel, args, None)
        }
    }

    /// Emits `kernel` on `args` (scalars of its parameters' dtypes) and returns its value; the
    /// builder is then in the kernel's exit block.
    fn inline_kernel(
        &mut self,
        kernel: &KernelIr,
        args: &[BasicValueEnum<'ctx>],
    ) -> Result<BasicValueEnum<'ctx>> {
        let mut locals = Vec::with_capacity(kernel.locals.len());
        for (i, (_, dtype)) in kernel.locals.iter().enumerate() {
            let ty = self.elem_type(*dtype);
            let slot = self.var(ty)?;
            // Locals start as zero, as in the interpreter (lowering rejects early reads).
            let init = match args.get(i) {
                Some(&v) => v,
                None => self.scalar_const(Scalar::I64(0).cast(*dtype))?,
            };
            self.set(slot, init)?;
            locals.push((slot, ty));
        }
        let result_ty = self.elem_type(kernel.result);
        let result = self.var(result_ty)?;
        let exit = self.ctx.append_basic_block(self.f, "kernel_exit");
        let mut frame = Frame {
            nonneg: vec![false; locals.len()],
            locals,
            result,
            exit,
            loops: Vec::new(),
        };
        if self.kernel_steps(&kernel.body, &mut frame)? == Open::Yes {
            // Lowering proves every path returns; this keeps the function well formed.
            let zero = self.scalar_const(Scalar::I64(0).cast(kernel.result))?;
            self.set(result, zero)?;
            self.b.build_unconditional_branch(exit).or_err()?;
        }
        self.b.position_at_end(exit);
        self.get(result, result_ty)
    }

    fn kernel_steps(&mut self, steps: &[KStep], frame: &mut Frame<'ctx>) -> Result<Open> {
        for step in steps {
            match step {
                KStep::Set(sets) => {
                    let values = sets
                        .iter()
                        .map(|(_, g)| self.kernel_expr(g, &frame.locals, &frame.nonneg, None))
                        .collect::<Result<Vec<_>>>()?;
                    let facts: Vec<bool> = sets
                        .iter()
                        .map(|(_, g)| nonneg_nodes(g, &frame.nonneg)[g.root])
                        .collect();
                    for (((local, _), v), fact) in sets.iter().zip(values).zip(facts) {
                        self.set(frame.locals[*local].0, v)?;
                        frame.nonneg[*local] = fact;
                    }
                }
                KStep::If { cond, then, orelse } => {
                    let c = self.kernel_cond(cond, frame)?;
                    let before = frame.nonneg.clone();
                    let changed = assigned(then, assigned(orelse, vec![false; before.len()]));
                    let (then_block, else_block, merge) = (
                        self.ctx.append_basic_block(self.f, "kernel_then"),
                        self.ctx.append_basic_block(self.f, "kernel_else"),
                        self.ctx.append_basic_block(self.f, "kernel_merge"),
                    );
                    self.b
                        .build_conditional_branch(c, then_block, else_block)
                        .or_err()?;
                    let mut merged = false;
                    for (block, body, holds) in
                        [(then_block, then, true), (else_block, orelse, false)]
                    {
                        self.b.position_at_end(block);
                        frame.nonneg = before.clone();
                        if holds {
                            implied_by(cond, &mut frame.nonneg);
                        }
                        if self.kernel_steps(body, frame)? == Open::Yes {
                            self.b.build_unconditional_branch(merge).or_err()?;
                            merged = true;
                        }
                    }
                    frame.nonneg = facts_kept(&before, &changed);
                    self.b.position_at_end(merge);
                    if !merged {
                        // No branch falls through: the merge block has no predecessor.
                        self.b.build_unreachable().or_err()?;
                        return Ok(Open::No);
                    }
                }
                KStep::While { cond, body } => {
                    let (head, body_block, after) = (
                        self.ctx.append_basic_block(self.f, "while_head"),
                        self.ctx.append_basic_block(self.f, "while_body"),
                        self.ctx.append_basic_block(self.f, "while_done"),
                    );
                    self.b.build_unconditional_branch(head).or_err()?;
                    self.b.position_at_end(head);
                    if !ends_within_64_trips(cond, body) {
                        self.cancel_point()?;
                    }
                    // What holds at the head holds on entry and after every trip.
                    let changed = assigned(body, vec![false; frame.nonneg.len()]);
                    frame.nonneg = facts_kept(&frame.nonneg, &changed);
                    let at_head = frame.nonneg.clone();
                    let c = self.kernel_cond(cond, frame)?;
                    self.b
                        .build_conditional_branch(c, body_block, after)
                        .or_err()?;
                    self.b.position_at_end(body_block);
                    implied_by(cond, &mut frame.nonneg);
                    self.loop_body(body, frame, head, after)?;
                    frame.nonneg = at_head;
                    self.b.position_at_end(after);
                }
                KStep::For {
                    var,
                    start,
                    stop,
                    step,
                    body,
                } => self.kernel_for(*var, [start, stop, step], body, frame)?,
                KStep::Break | KStep::Continue => {
                    let &(next, after) = frame
                        .loops
                        .last()
                        .ok_or_else(|| internal("llvm kernel", "a jump outside a loop"))?;
                    let to = if matches!(step, KStep::Break) {
                        after
                    } else {
                        next
                    };
                    self.b.build_unconditional_branch(to).or_err()?;
                    return Ok(Open::No);
                }
                KStep::Return(g) => {
                    let v = self.kernel_expr(g, &frame.locals, &frame.nonneg, None)?;
                    self.set(frame.result, v)?;
                    self.b.build_unconditional_branch(frame.exit).or_err()?;
                    return Ok(Open::No);
                }
            }
        }
        Ok(Open::Yes)
    }

    /// A loop's body, from its first block: `continue` goes to `next`, `break` to `after`, and
    /// falling off the end to `next`.
    fn loop_body(
        &mut self,
        body: &[KStep],
        frame: &mut Frame<'ctx>,
        next: BasicBlock<'ctx>,
        after: BasicBlock<'ctx>,
    ) -> Result<()> {
        frame.loops.push((next, after));
        let open = self.kernel_steps(body, frame);
        frame.loops.pop();
        if open? == Open::Yes {
            self.b.build_unconditional_branch(next).or_err()?;
        }
        Ok(())
    }

    /// `for var in range(start, stop, step)`: the trip count is computed first, as the
    /// interpreter does (`interp::kernel::trip_count`), then a counter runs up to it.
    fn kernel_for(
        &mut self,
        var: usize,
        bounds: [&Graph; 3],
        body: &[KStep],
        frame: &mut Frame<'ctx>,
    ) -> Result<()> {
        let [start, stop, step] =
            bounds.map(|g| self.kernel_expr(g, &frame.locals, &frame.nonneg, None));
        let (start, stop, step) = (
            start?.into_int_value(),
            stop?.into_int_value(),
            step?.into_int_value(),
        );
        let mut changed = assigned(body, vec![false; frame.nonneg.len()]);
        changed[var] = true;
        frame.nonneg = facts_kept(&frame.nonneg, &changed);
        let at_head = frame.nonneg.clone();
        let n = self.trip_count(start, stop, step)?;
        let counter = self.var(self.ctx.i64_type().into())?;
        self.set(counter, self.i64c(0))?;
        let (head, body_block, latch, after) = (
            self.ctx.append_basic_block(self.f, "for_head"),
            self.ctx.append_basic_block(self.f, "for_body"),
            self.ctx.append_basic_block(self.f, "for_next"),
            self.ctx.append_basic_block(self.f, "for_done"),
        );
        self.b.build_unconditional_branch(head).or_err()?;
        self.b.position_at_end(head);
        self.cancel_point()?;
        let k = self.get_int(counter)?;
        let more = self
            .b
            .build_int_compare(IntPredicate::ULT, k, n, "")
            .or_err()?;
        self.b
            .build_conditional_branch(more, body_block, after)
            .or_err()?;
        self.b.position_at_end(body_block);
        let offset = self.b.build_int_mul(k, step, "").or_err()?;
        let value = self.b.build_int_add(start, offset, "").or_err()?;
        self.set(frame.locals[var].0, value)?;
        self.loop_body(body, frame, latch, after)?;
        frame.nonneg = at_head;
        self.b.position_at_end(latch);
        let k = self.get_int(counter)?;
        let k1 = self.b.build_int_add(k, self.i64c(1), "").or_err()?;
        self.set(counter, k1)?;
        self.b.build_unconditional_branch(head).or_err()?;
        self.b.position_at_end(after);
        Ok(())
    }

    /// How many values `range(start, stop, step)` has, unsigned: `⌈span / |step|⌉` when the
    /// step goes from `start` towards `stop`, else 0 (a zero step included).
    fn trip_count(
        &self,
        start: IntValue<'ctx>,
        stop: IntValue<'ctx>,
        step: IntValue<'ctx>,
    ) -> Result<IntValue<'ctx>> {
        let b = &self.b;
        let zero = self.i64c(0);
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
        let select = |c: IntValue<'ctx>, x: IntValue<'ctx>, y: IntValue<'ctx>| {
            b.build_select(c, x, y, "")
                .or_err()
                .map(|v| v.into_int_value())
        };
        let span = select(up, rise, fall)?;
        let minus = b.build_int_sub(zero, step, "").or_err()?;
        let by = select(up, step, minus)?;
        let by = select(valid, by, self.i64c(1))?;
        let q = b.build_int_unsigned_div(span, by, "").or_err()?;
        let r = b.build_int_unsigned_rem(span, by, "").or_err()?;
        let partial = cmp(IntPredicate::NE, r, zero)?;
        let partial = b
            .build_int_z_extend(partial, self.ctx.i64_type(), "")
            .or_err()?;
        let n = b.build_int_add(q, partial, "").or_err()?;
        select(valid, n, zero)
    }

    /// Returns from the kernel function when the evaluation's cancel flag is set (at the head
    /// of every kernel loop that may run long, as the Cranelift tier polls).
    pub(super) fn cancel_point(&mut self) -> Result<()> {
        let flag = self
            .cancel
            .ok_or_else(|| internal("llvm kernel", "cancel flag before the entry"))?;
        // An atomic load: another thread sets the flag, so it must be read every trip (a plain
        // load could be hoisted out of the loop).
        let load = self.b.build_load(self.ctx.i32_type(), flag, "").or_err()?;
        let inst = load
            .as_instruction_value()
            .ok_or_else(|| internal("llvm kernel", "a load is not an instruction"))?;
        inst.set_alignment(4)
            .and_then(|_| inst.set_atomic_ordering(AtomicOrdering::Monotonic))
            .map_err(|e| internal("llvm kernel", format!("{e:?}")))?;
        let cancelled = self
            .b
            .build_int_compare(
                IntPredicate::NE,
                load.into_int_value(),
                self.ctx.i32_type().const_zero(),
                "",
            )
            .or_err()?;
        let (stop, go) = (
            self.ctx.append_basic_block(self.f, "cancelled"),
            self.ctx.append_basic_block(self.f, "go_on"),
        );
        self.b
            .build_conditional_branch(cancelled, stop, go)
            .or_err()?;
        self.b.position_at_end(stop);
        self.b.build_return(None).or_err()?;
        self.b.position_at_end(go);
        Ok(())
    }

    /// `a // b` (with `floor`) or `a % b` on integers or integer vectors known ≥ 0, by a
    /// positive `b`: the hardware's unsigned division.
    fn unsigned_division<V: inkwell::values::IntMathValue<'ctx> + Copy>(
        &self,
        floor: bool,
        a: V,
        b: V,
    ) -> Result<V> {
        let q = self.b.build_int_unsigned_div(a, b, "").or_err()?;
        if floor {
            return Ok(q);
        }
        let qb = self.b.build_int_mul(q, b, "").or_err()?;
        self.b.build_int_sub(a, qb, "").or_err()
    }

    /// A kernel condition (a bool graph) as an `i1`.
    fn kernel_cond(&mut self, g: &Graph, frame: &mut Frame<'ctx>) -> Result<IntValue<'ctx>> {
        let v = self.kernel_expr(g, &frame.locals, &frame.nonneg, None)?;
        Ok(self.truth(v)?.into_int_value())
    }

    /// The value of a kernel expression (a 0-d graph over the locals in `locals`, those known
    /// ≥ 0 in `nonneg`): on scalars, or on `self.lanes`-wide vectors in a masked kernel
    /// (`masked.rs`), where a nested kernel call runs on the lanes `active`.
    pub(super) fn kernel_expr(
        &mut self,
        g: &Graph,
        locals: &[(PointerValue<'ctx>, BasicTypeEnum<'ctx>)],
        nonneg: &[bool],
        active: Option<inkwell::values::VectorValue<'ctx>>,
    ) -> Result<BasicValueEnum<'ctx>> {
        let nonneg = nonneg_nodes(g, nonneg);
        let mut values: Vec<BasicValueEnum<'ctx>> = Vec::with_capacity(g.nodes.len());
        for node in &g.nodes {
            let v = match &node.kind {
                NodeKind::Input(i) => {
                    let (slot, ty) = locals[*i];
                    self.get(slot, ty)?
                }
                NodeKind::Const(s) => self.constant(*s)?,
                NodeKind::Cast(a) => {
                    let from = g.node(*a).dtype;
                    self.convert(values[*a], from, node.dtype)?
                }
                NodeKind::Apply(op @ (Op::FloorDiv | Op::Mod), args)
                    if nonneg[args[0]] && positive_int(g, args[1]).is_some() =>
                {
                    // A dividend known ≥ 0 by a positive constant: Python's rounding is the
                    // hardware's (the Cranelift tier's shortcut, the same values).
                    let floor = *op == Op::FloorDiv;
                    let d = positive_int(g, args[1]).unwrap_or(1) as u64;
                    match (values[args[0]], values[args[1]]) {
                        (BasicValueEnum::IntValue(a), BasicValueEnum::IntValue(b)) => {
                            self.unsigned_division(floor, a, b)?.into()
                        }
                        (BasicValueEnum::VectorValue(a), BasicValueEnum::VectorValue(b))
                            if g.node(args[0]).dtype == DType::Int64 =>
                        {
                            // x86 has no 64-bit vector multiply-high: `divide.rs`.
                            let q = self.divide_u64_vector(a, d)?;
                            if floor {
                                q.into()
                            } else {
                                let qb = self.b.build_int_mul(q, b, "").or_err()?;
                                self.b.build_int_sub(a, qb, "").or_err()?.into()
                            }
                        }
                        (BasicValueEnum::VectorValue(a), BasicValueEnum::VectorValue(b)) => {
                            self.unsigned_division(floor, a, b)?.into()
                        }
                        _ => return Err(internal("llvm kernel", "operands of // differ")),
                    }
                }
                NodeKind::Apply(op, args) => {
                    let operand: DType = g.node(args[args.len() - 1]).dtype;
                    let vals: Vec<_> = args.iter().map(|a| values[*a]).collect();
                    self.apply(*op, &vals, operand)?
                }
                NodeKind::Call(kernel, args) => {
                    let vals: Vec<_> = args.iter().map(|a| values[*a]).collect();
                    if self.lanes == 1 {
                        self.inline_kernel(kernel, &vals)?
                    } else {
                        self.masked_kernel(kernel, &vals, active)?
                    }
                }
                NodeKind::Reduce { .. } | NodeKind::Iota { .. } => {
                    return Err(internal(
                        "llvm kernel",
                        "lowering keeps reductions and generators out of kernels",
                    ))
                }
            };
            values.push(v);
        }
        Ok(values[g.root])
    }
}
