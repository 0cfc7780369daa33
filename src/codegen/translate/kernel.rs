//! A kernel call, inlined into the element loop: its locals become Cranelift variables, its
//! structured control flow becomes blocks, and every `return` jumps to one exit block whose
//! parameter is the call's value. The same scalar ops as everywhere else compute each
//! expression, so compiled kernels round exactly as the interpreter does.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, Block, InstBuilder, Value};
use cranelift_frontend::Variable;

use super::{clif_type, Translator};
use crate::core::dtype::{DType, Scalar};
use crate::core::error::Result;
use crate::ir::kernel::{KStep, KernelIr};
use crate::ir::{Graph, NodeKind};

/// Where control goes from inside one inlined kernel.
struct Frame {
    locals: Vec<Variable>,
    /// The block every `return` jumps to, with the value.
    exit: Block,
    /// Per open loop, innermost last: where `continue` and `break` go.
    loops: Vec<(Block, Block)>,
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
                    for ((local, _), v) in sets.iter().zip(values) {
                        self.b.def_var(frame.locals[*local], v);
                    }
                }
                KStep::If { cond, then, orelse } => {
                    let c = self.kernel_expr(cond, frame)?;
                    let (then_block, else_block) = (self.b.create_block(), self.b.create_block());
                    self.b.ins().brif(c, then_block, &[], else_block, &[]);
                    // Made now, used only when a branch falls through to it.
                    let merge = self.b.create_block();
                    let mut merged = false;
                    for (block, body) in [(then_block, then), (else_block, orelse)] {
                        self.b.switch_to_block(block);
                        self.b.seal_block(block);
                        if self.kernel_steps(body, frame)? == Open::Yes {
                            self.b.ins().jump(merge, &[]);
                            merged = true;
                        }
                    }
                    self.b.seal_block(merge);
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
                    let c = self.kernel_expr(cond, frame)?;
                    self.b.ins().brif(c, body_block, &[], after, &[]);
                    self.b.switch_to_block(body_block);
                    self.b.seal_block(body_block);
                    self.loop_body(body, frame, head, after)?;
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
        let k = self.b.use_var(counter);
        let more = self.b.ins().icmp(IntCC::UnsignedLessThan, k, n);
        self.b.ins().brif(more, body_block, &[], after, &[]);
        self.b.switch_to_block(body_block);
        self.b.seal_block(body_block);
        let offset = self.b.ins().imul(k, step);
        let value = self.b.ins().iadd(start, offset);
        self.b.def_var(frame.locals[var], value);
        self.loop_body(body, frame, latch, after)?;
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
        let mut values: Vec<Value> = Vec::with_capacity(g.nodes.len());
        for node in &g.nodes {
            let v = match &node.kind {
                NodeKind::Input(i) => self.b.use_var(frame.locals[*i]),
                NodeKind::Const(s) => self.scalar_const(*s),
                NodeKind::Cast(a) => {
                    let from = g.node(*a).dtype;
                    self.convert(values[*a], from, node.dtype)
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
