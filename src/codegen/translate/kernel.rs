//! A kernel call, inlined into the element loop: its locals become Cranelift variables, its
//! structured control flow becomes blocks, and every `return` jumps to one exit block whose
//! parameter is the call's value. The same scalar ops as everywhere else compute each
//! expression, so compiled kernels round exactly as the interpreter does.
//!
//! The facts about locals known to be ≥ 0 (`nonneg_nodes`, `implied_by`, …) are shared with
//! the LLVM tier's inliner (`llvm/kernel.rs`), which gives `//` and `%` the same shortcut.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, Block, InstBuilder, Value};
use cranelift_frontend::Variable;

use super::{clif_type, Translator};
use crate::core::dtype::{DType, Scalar};
use crate::core::error::Result;
use crate::ir::kernel::{all_steps, ends_within_64_trips, KStep, KernelIr};
use crate::ir::{Graph, NodeKind};
use crate::ops::Op;

/// Where control goes from inside one inlined kernel.
struct Frame {
    locals: Vec<Variable>,
    /// The block every `return` jumps to, with the value.
    exit: Block,
    /// Per open loop, innermost last: where `continue` and `break` go.
    loops: Vec<(Block, Block)>,
    /// Per local: known to be ≥ 0 here (inside `while m > 0:`, after `m //= 10`), so that
    /// Python's `//` and `%` by a positive constant need no sign fix-ups.
    nonneg: Vec<bool>,
}

/// Whether emission can go on in the current block, or the block has ended (a `return`,
/// `break` or `continue` jumped away), so what follows in the source is dead.
#[derive(PartialEq)]
enum Open {
    Yes,
    No,
}

impl Translator<'_, '_> {
    /// Emits `kernel` on `args` (of its parameters' dtypes) for the current element and returns
    /// its value; the current block is then the kernel's exit.
    pub(super) fn inline_kernel(&mut self, kernel: &KernelIr, args: &[Value]) -> Result<Value> {
        let mut locals = Vec::with_capacity(kernel.locals.len());
        for (i, (_, dtype)) in kernel.locals.iter().enumerate() {
            let var = self.b.declare_var(clif_type(*dtype));
            // Locals start as zero, as in the interpreter (lowering rejects early reads).
            let init = match args.get(i) {
                Some(&v) => v,
                None => self.scalar_const(Scalar::I64(0).cast(*dtype)),
            };
            self.b.def_var(var, init);
            locals.push(var);
        }
        let exit = self.b.create_block();
        let result = self.b.append_block_param(exit, clif_type(kernel.result));
        let mut frame = Frame {
            nonneg: vec![false; locals.len()],
            locals,
            exit,
            loops: Vec::new(),
        };
        if self.kernel_steps(&kernel.body, &mut frame)? == Open::Yes {
            // Lowering proves every path returns; this keeps the function well formed.
            let zero = self.scalar_const(Scalar::I64(0).cast(kernel.result));
            self.b.ins().jump(exit, &[zero.into()]);
        }
        self.b.switch_to_block(exit);
        self.b.seal_block(exit);
        Ok(result)
    }

    fn kernel_steps(&mut self, steps: &[KStep], frame: &mut Frame) -> Result<Open> {
        for step in steps {
            match step {
                KStep::Set(sets) => {
                    let values = sets
                        .iter()
                        .map(|(_, g)| self.kernel_expr(g, frame))
                        .collect::<Result<Vec<_>>>()?;
                    let facts: Vec<bool> = sets
                        .iter()
                        .map(|(_, g)| nonneg_nodes(g, &frame.nonneg)[g.root])
                        .collect();
                    for (((local, _), v), fact) in sets.iter().zip(values).zip(facts) {
                        self.b.def_var(frame.locals[*local], v);
                        frame.nonneg[*local] = fact;
                    }
                }
                KStep::If { cond, then, orelse } => {
                    let c = self.kernel_expr(cond, frame)?;
                    let before = frame.nonneg.clone();
                    let changed = assigned(then, assigned(orelse, vec![false; before.len()]));
                    let (then_block, else_block) = (self.b.create_block(), self.b.create_block());
                    self.b.ins().brif(c, then_block, &[], else_block, &[]);
                    // Made now, used only when a branch falls through to it.
                    let merge = self.b.create_block();
                    let mut merged = false;
                    for (block, body, holds) in
                        [(then_block, then, true), (else_block, orelse, false)]
                    {
                        self.b.switch_to_block(block);
                        self.b.seal_block(block);
                        frame.nonneg = before.clone();
                        if holds {
                            implied_by(cond, &mut frame.nonneg);
                        }
                        if self.kernel_steps(body, frame)? == Open::Yes {
                            self.b.ins().jump(merge, &[]);
                            merged = true;
                        }
                    }
                    self.b.seal_block(merge);
                    frame.nonneg = facts_kept(&before, &changed);
                    if !merged {
                        return Ok(Open::No);
                    }
                    self.b.switch_to_block(merge);
                }
                KStep::While { cond, body } => {
                    let (head, body_block, after) = (
                        self.b.create_block(),
                        self.b.create_block(),
                        self.b.create_block(),
                    );
                    self.b.ins().jump(head, &[]);
                    self.b.switch_to_block(head);
                    if !ends_within_64_trips(cond, body) {
                        self.cancel_point();
                    }
                    // What holds at the head holds on entry and after every trip.
                    let changed = assigned(body, vec![false; frame.nonneg.len()]);
                    frame.nonneg = facts_kept(&frame.nonneg, &changed);
                    let at_head = frame.nonneg.clone();
                    let c = self.kernel_expr(cond, frame)?;
                    self.b.ins().brif(c, body_block, &[], after, &[]);
                    self.b.switch_to_block(body_block);
                    self.b.seal_block(body_block);
                    implied_by(cond, &mut frame.nonneg);
                    self.loop_body(body, frame, head, after)?;
                    frame.nonneg = at_head;
                    self.b.seal_block(head);
                    self.b.switch_to_block(after);
                    self.b.seal_block(after);
                }
                KStep::For {
                    var,
                    start,
                    stop,
                    step,
                    body,
                } => self.kernel_for(*var, [start, stop, step], body, frame)?,
                KStep::Break => {
                    let (_, after) = *frame.loops.last().expect("lowering checks `break`");
                    self.b.ins().jump(after, &[]);
                    return Ok(Open::No);
                }
                KStep::Continue => {
                    let (next, _) = *frame.loops.last().expect("lowering checks `continue`");
                    self.b.ins().jump(next, &[]);
                    return Ok(Open::No);
                }
                KStep::Return(g) => {
                    let v = self.kernel_expr(g, frame)?;
                    self.b.ins().jump(frame.exit, &[v.into()]);
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
        frame: &mut Frame,
        next: Block,
        after: Block,
    ) -> Result<()> {
        frame.loops.push((next, after));
        let open = self.kernel_steps(body, frame);
        frame.loops.pop();
        if open? == Open::Yes {
            self.b.ins().jump(next, &[]);
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
        frame: &mut Frame,
    ) -> Result<()> {
        let [start, stop, step] = bounds.map(|g| self.kernel_expr(g, frame));
        let (start, stop, step) = (start?, stop?, step?);
        let mut changed = assigned(body, vec![false; frame.nonneg.len()]);
        changed[var] = true;
        frame.nonneg = facts_kept(&frame.nonneg, &changed);
        let at_head = frame.nonneg.clone();
        let n = self.trip_count(start, stop, step);
        let counter = self.b.declare_var(types::I64);
        let zero = self.b.ins().iconst(types::I64, 0);
        self.b.def_var(counter, zero);
        let (head, body_block, latch, after) = (
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
        );
        self.b.ins().jump(head, &[]);
        self.b.switch_to_block(head);
        self.cancel_point();
        let k = self.b.use_var(counter);
        let more = self.b.ins().icmp(IntCC::UnsignedLessThan, k, n);
        self.b.ins().brif(more, body_block, &[], after, &[]);
        self.b.switch_to_block(body_block);
        self.b.seal_block(body_block);
        let offset = self.b.ins().imul(k, step);
        let value = self.b.ins().iadd(start, offset);
        self.b.def_var(frame.locals[var], value);
        self.loop_body(body, frame, latch, after)?;
        frame.nonneg = at_head;
        self.b.switch_to_block(latch);
        self.b.seal_block(latch);
        let k = self.b.use_var(counter);
        let k1 = self.b.ins().iadd_imm_s(k, 1);
        self.b.def_var(counter, k1);
        self.b.ins().jump(head, &[]);
        self.b.seal_block(head);
        self.b.switch_to_block(after);
        self.b.seal_block(after);
        Ok(())
    }

    /// How many values `range(start, stop, step)` has, unsigned: `⌈span / |step|⌉` when the
    /// step goes from `start` towards `stop`, else 0 (a zero step included).
    fn trip_count(&mut self, start: Value, stop: Value, step: Value) -> Value {
        let b = &mut self.b;
        let up = b.ins().icmp_imm_s(IntCC::SignedGreaterThan, step, 0);
        let down = b.ins().icmp_imm_s(IntCC::SignedLessThan, step, 0);
        let below = b.ins().icmp(IntCC::SignedLessThan, start, stop);
        let above = b.ins().icmp(IntCC::SignedGreaterThan, start, stop);
        let go_up = b.ins().band(up, below);
        let go_down = b.ins().band(down, above);
        let valid = b.ins().bor(go_up, go_down);
        let rise = b.ins().isub(stop, start);
        let fall = b.ins().isub(start, stop);
        let span = b.ins().select(up, rise, fall);
        let minus = b.ins().ineg(step);
        let by = b.ins().select(up, step, minus);
        let one = b.ins().iconst(types::I64, 1);
        let by = b.ins().select(valid, by, one);
        let q = b.ins().udiv(span, by);
        let r = b.ins().urem(span, by);
        let partial = b.ins().icmp_imm_s(IntCC::NotEqual, r, 0);
        let partial = b.ins().uextend(types::I64, partial);
        let n = b.ins().iadd(q, partial);
        let none = b.ins().iconst(types::I64, 0);
        b.ins().select(valid, n, none)
    }

    /// The value of a kernel expression (a 0-d graph over the locals).
    fn kernel_expr(&mut self, g: &Graph, frame: &mut Frame) -> Result<Value> {
        let nonneg = nonneg_nodes(g, &frame.nonneg);
        let mut values: Vec<Value> = Vec::with_capacity(g.nodes.len());
        for node in &g.nodes {
            let v = match &node.kind {
                NodeKind::Input(i) => self.b.use_var(frame.locals[*i]),
                NodeKind::Const(s) => self.scalar_const(*s),
                NodeKind::Cast(a) => {
                    let from = g.node(*a).dtype;
                    self.convert(values[*a], from, node.dtype)
                }
                NodeKind::Apply(op @ (Op::FloorDiv | Op::Mod), args)
                    if nonneg[args[0]] && positive_int(g, args[1]).is_some() =>
                {
                    // A dividend known ≥ 0 by a positive constant: Python's rounding is the
                    // hardware's, and the unsigned division multiplies out shorter.
                    let (a, b) = (values[args[0]], values[args[1]]);
                    let q = self.b.ins().udiv(a, b);
                    if *op == Op::FloorDiv {
                        q
                    } else {
                        let qb = self.b.ins().imul(q, b);
                        self.b.ins().isub(a, qb)
                    }
                }
                NodeKind::Apply(op, args) => {
                    let operand: DType = g.node(args[args.len() - 1]).dtype;
                    let vals: Vec<Value> = args.iter().map(|a| values[*a]).collect();
                    self.apply(*op, &vals, operand)?
                }
                NodeKind::Call(kernel, args) => {
                    let vals: Vec<Value> = args.iter().map(|a| values[*a]).collect();
                    self.inline_kernel(kernel, &vals)?
                }
                NodeKind::Reduce { .. } | NodeKind::Iota { .. } => {
                    unreachable!("lowering keeps reductions and generators out of kernels")
                }
            };
            values.push(v);
        }
        Ok(values[g.root])
    }
}

/// The constant `id` of `g` when it is an integer > 0.
pub(in crate::codegen) fn positive_int(g: &Graph, id: usize) -> Option<i64> {
    match g.node(id).kind {
        NodeKind::Const(s @ (Scalar::I64(_) | Scalar::I32(_))) => {
            Some(s.as_i64()).filter(|v| *v > 0)
        }
        _ => None,
    }
}

/// Per node of `g`: its value is known to be ≥ 0, given the locals' facts.
pub(in crate::codegen) fn nonneg_nodes(g: &Graph, locals: &[bool]) -> Vec<bool> {
    let mut out: Vec<bool> = Vec::with_capacity(g.nodes.len());
    for node in &g.nodes {
        let fact = match &node.kind {
            NodeKind::Input(i) => locals[*i],
            NodeKind::Const(s) => s.dtype().is_int() && s.as_i64() >= 0,
            // Python's `%` by a positive number is never negative; `//` keeps a sign ≥ 0.
            NodeKind::Apply(Op::Mod, args) => positive_int(g, args[1]).is_some(),
            NodeKind::Apply(Op::FloorDiv, args) => {
                out[args[0]] && positive_int(g, args[1]).is_some()
            }
            _ => false,
        };
        out.push(fact);
    }
    out
}

/// Adds what a condition that holds says of a local: `m > c` (c ≥ -1) or `m >= c` (c ≥ 0).
pub(in crate::codegen) fn implied_by(cond: &Graph, locals: &mut [bool]) {
    if let NodeKind::Apply(op @ (Op::Gt | Op::Ge), args) = &cond.node(cond.root).kind {
        if let (NodeKind::Input(i), NodeKind::Const(c)) =
            (&cond.node(args[0]).kind, &cond.node(args[1]).kind)
        {
            let least = if *op == Op::Gt { -1 } else { 0 };
            if c.dtype().is_int() && c.as_i64() >= least {
                locals[*i] = true;
            }
        }
    }
}

/// `before`, without the facts about the locals in `changed`.
pub(in crate::codegen) fn facts_kept(before: &[bool], changed: &[bool]) -> Vec<bool> {
    before.iter().zip(changed).map(|(f, c)| *f && !c).collect()
}

/// `out`, with the locals `steps` assign marked.
pub(in crate::codegen) fn assigned(steps: &[KStep], mut out: Vec<bool>) -> Vec<bool> {
    for l in all_steps(steps).iter().flat_map(|s| s.sets()) {
        out[l] = true;
    }
    out
}
