//! A kernel call on SIMD lanes (ISPC-style): two elements per 128-bit vector run one copy of
//! the kernel's code, each local a vector, each condition a lane mask. A statement runs for the
//! lanes that are *active*; an `if` runs each branch (when some lane takes it) under its part
//! of the mask; a loop goes round while any lane is active; `return`, `break` and `continue`
//! take lanes out until the kernel, loop or iteration ends. Every value a lane computes is the
//! one the scalar code computes for that element (the same IEEE operations, in the same order),
//! so the planner may pick either.
//!
//! Only kernels whose every value is a float64, an int64 or a bool (a mask), using operations
//! with a vector instruction, run this way ([`vectorizable`]); the rest stay scalar.

// A group index `w` addresses several parallel vectors at once (masks, locals, values).
#![allow(clippy::needless_range_loop)]

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, ConstantData, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::Variable;

use super::super::jit::internal;
use super::Translator;
use crate::core::dtype::{DType, Scalar};
use crate::core::error::Result;
use crate::ir::kernel::{all_steps, KStep, KernelIr};
use crate::ir::{Graph, NodeKind};
use crate::ops::Op;

/// Whether kernels may run on lanes at all (on by default; the tests compare both ways).
static ENABLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Lets kernels run on SIMD lanes (`true`, the default) or only as scalar code, for kernels
/// compiled after the call (a fresh [`crate::Engine`] does not reuse earlier code).
#[cfg(any(test, feature = "internals"))]
pub(crate) fn set_enabled(on: bool) {
    ENABLED.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// How many two-lane vectors run one copy of a kernel's code in lock step: independent
/// dependency chains that overlap (a kernel's loop is one long chain per element).
pub(crate) const GROUPS: usize = 2;

/// The vector type of a kernel value on two lanes: masks are all-ones or zero int64 lanes.
fn lane_type(d: DType) -> Type {
    match d {
        DType::Float64 => types::F64X2,
        _ => types::I64X2,
    }
}

/// True when every value of `k` (and of the kernels it calls) can live in a two-lane vector
/// and every operation on it has a vector instruction.
pub(crate) fn vectorizable(k: &KernelIr) -> bool {
    if !ENABLED.load(std::sync::atomic::Ordering::Relaxed) {
        return false;
    }
    let lane_dtype = |d: DType| matches!(d, DType::Float64 | DType::Int64 | DType::Bool);
    lane_dtype(k.result)
        && k.result != DType::Bool
        && k.locals.iter().all(|(_, d)| lane_dtype(*d))
        && steps_vectorizable(&k.body)
}

fn steps_vectorizable(steps: &[KStep]) -> bool {
    all_steps(steps)
        .iter()
        .all(|s| s.graphs().into_iter().all(graph_vectorizable))
}

fn graph_vectorizable(g: &Graph) -> bool {
    g.nodes.iter().all(|n| {
        let operand = |args: &[usize]| g.node(args[args.len() - 1]).dtype;
        match &n.kind {
            NodeKind::Input(_) => true,
            NodeKind::Const(s) => matches!(s.dtype(), DType::Float64 | DType::Int64 | DType::Bool),
            // Casts need conversions the 128-bit integer lanes do not have everywhere.
            NodeKind::Cast(_)
            | NodeKind::Call(..)
            | NodeKind::Reduce { .. }
            | NodeKind::Iota { .. } => false,
            NodeKind::Apply(op, args) => {
                let d = operand(args);
                match op {
                    Op::Add | Op::Sub | Op::Neg => matches!(d, DType::Float64 | DType::Int64),
                    Op::Mul | Op::Div | Op::Sqrt | Op::Abs => d == DType::Float64,
                    Op::Lt | Op::Le | Op::Eq | Op::Ne | Op::Ge | Op::Gt => {
                        matches!(d, DType::Float64 | DType::Int64)
                    }
                    Op::BitAnd | Op::BitOr | Op::BitXor | Op::Invert => d == DType::Bool,
                    Op::Where => true,
                    _ => false,
                }
            }
        }
    })
}

/// The place of a loop body: what it reads is live across trips, on top of what is read after
/// the loop; without `continue`, its top level may drop masks (see [`Place::unmask`]).
fn loop_place(after: &[bool], conds: &[Graph], body: &[KStep]) -> Place {
    let mut live = after.to_vec();
    reads(body, &mut live);
    conds.iter().for_each(|g| reads_of(g, &mut live));
    Place {
        live_after: live,
        unmask: (!continues(body)).then(|| after.to_vec()),
    }
}

/// True for a few statements without loops or branches: cheaper to run masked than to test.
fn straight(steps: &[KStep]) -> bool {
    steps.len() <= 2
        && steps.iter().all(|s| {
            matches!(
                s,
                KStep::Set(_) | KStep::Return(_) | KStep::Break | KStep::Continue
            )
        })
}

/// True when `steps` end by leaving: no lane runs on after them.
fn leaves(steps: &[KStep]) -> bool {
    matches!(
        steps.last(),
        Some(KStep::Return(_) | KStep::Break | KStep::Continue)
    )
}

/// The sign of a loop's step when it is a constant (`range(n)`, `range(a, b, -2)`).
fn constant_sign(g: &Graph) -> Option<i64> {
    match g.node(g.root).kind {
        NodeKind::Const(s) => Some(s.as_i64().signum()),
        _ => None,
    }
}

/// The locals a graph reads.
fn reads_of(g: &Graph, out: &mut [bool]) {
    for n in &g.nodes {
        if let NodeKind::Input(i) = n.kind {
            out[i] = true;
        }
    }
}

/// The locals `steps` read anywhere (conditions and loop bounds included).
fn reads(steps: &[KStep], out: &mut [bool]) {
    for s in all_steps(steps) {
        s.graphs().into_iter().for_each(|g| reads_of(g, out));
    }
}

/// True when `steps` hold a `continue` of the loop around them.
fn continues(steps: &[KStep]) -> bool {
    steps.iter().any(|s| match s {
        KStep::Continue => true,
        KStep::If { then, orelse, .. } => continues(then) || continues(orelse),
        _ => false,
    })
}

/// Where a list of statements stands, for dropping masks that cannot matter.
#[derive(Clone)]
struct Place {
    /// The locals read after these statements end (loops: in later trips too).
    live_after: Vec<bool>,
    /// At the top level of a loop body without `continue`: the lanes not running here have
    /// left the loop or returned, so a local the rest of the kernel does not read after the
    /// loop may be set in every lane.
    unmask: Option<Vec<bool>>,
}

/// One inlined kernel on `W` groups of two lanes: its locals, the lanes still running, and
/// where control goes.
struct Frame {
    locals: Vec<Vec<Variable>>,
    /// Lanes running the current statement.
    active: Vec<Variable>,
    /// Lanes that have returned, and the values they returned.
    returned: Vec<Variable>,
    result: Vec<Variable>,
    /// Per open loop, innermost last: the lanes that hit `continue` in this iteration.
    continued: Vec<Vec<Variable>>,
}

impl Frame {
    fn width(&self) -> usize {
        self.active.len()
    }
}

impl Translator<'_, '_> {
    /// Emits `kernel` on `args[w][p]` (group `w`'s vector of parameter `p`) and returns the
    /// vector of its values for each group. The groups run in lock step, so their
    /// dependency chains overlap.
    pub(super) fn lanes_kernel(
        &mut self,
        kernel: &KernelIr,
        args: &[Vec<Value>],
    ) -> Result<Vec<Value>> {
        let width = args.len();
        let mask_ty = types::I64X2;
        let zero_of = |t: &mut Self, d: DType| t.lane_const(Scalar::I64(0).cast(d));
        let mut locals = Vec::with_capacity(kernel.locals.len());
        for (i, (_, dtype)) in kernel.locals.iter().enumerate() {
            let mut per = Vec::with_capacity(width);
            for group in args {
                let var = self.b.declare_var(lane_type(*dtype));
                let init = match group.get(i) {
                    Some(&v) => v,
                    None => zero_of(self, *dtype),
                };
                self.b.def_var(var, init);
                per.push(var);
            }
            locals.push(per);
        }
        let all = self.lane_const(Scalar::Bool(true));
        let none = self.lane_const(Scalar::Bool(false));
        let zero = zero_of(self, kernel.result);
        let mut frame = Frame {
            locals,
            active: Vec::new(),
            returned: Vec::new(),
            result: Vec::new(),
            continued: Vec::new(),
        };
        for _ in 0..width {
            let (a, r, v) = (
                self.b.declare_var(mask_ty),
                self.b.declare_var(mask_ty),
                self.b.declare_var(lane_type(kernel.result)),
            );
            self.b.def_var(a, all);
            self.b.def_var(r, none);
            self.b.def_var(v, zero);
            frame.active.push(a);
            frame.returned.push(r);
            frame.result.push(v);
        }
        let place = Place {
            live_after: vec![false; kernel.locals.len()],
            unmask: None,
        };
        self.lane_steps(&kernel.body, &mut frame, &place)?;
        Ok(frame.result.iter().map(|v| self.b.use_var(*v)).collect())
    }

    fn lane_steps(&mut self, steps: &[KStep], f: &mut Frame, place: &Place) -> Result<()> {
        for (k, step) in steps.iter().enumerate() {
            // What is read after this statement: the rest of the list, then what follows it.
            let mut after = place.live_after.clone();
            reads(&steps[k + 1..], &mut after);
            match step {
                KStep::Set(sets) => {
                    let values = sets
                        .iter()
                        .map(|(_, g)| self.lane_expr(g, f))
                        .collect::<Result<Vec<_>>>()?;
                    for ((local, _), v) in sets.iter().zip(values) {
                        let free = place.unmask.as_ref().is_some_and(|live| !live[*local]);
                        for w in 0..f.width() {
                            let new = if free {
                                v[w]
                            } else {
                                let active = self.b.use_var(f.active[w]);
                                let old = self.b.use_var(f.locals[*local][w]);
                                self.masked(active, v[w], old)
                            };
                            self.b.def_var(f.locals[*local][w], new);
                        }
                    }
                }
                KStep::If { cond, then, orelse } => {
                    let c = self.lane_expr(cond, f)?;
                    let inner = Place {
                        live_after: after.clone(),
                        unmask: None,
                    };
                    let saved = self.get(&f.active);
                    let taken: Vec<Value> = (0..f.width())
                        .map(|w| self.b.ins().band(saved[w], c[w]))
                        .collect();
                    self.set(&f.active, &taken);
                    self.branch(&taken, then, f, &inner)?;
                    let then_end = self.get(&f.active);
                    let rest: Vec<Value> = (0..f.width())
                        .map(|w| self.b.ins().band_not(saved[w], c[w]))
                        .collect();
                    self.set(&f.active, &rest);
                    self.branch(&rest, orelse, f, &inner)?;
                    // A branch that ends by leaving (`return`, `break`, `continue`) has no lane
                    // left: the other one's lanes are the ones that go on.
                    let joined = match (leaves(then), leaves(orelse)) {
                        (true, true) => vec![self.lane_const(Scalar::Bool(false)); f.width()],
                        (true, false) => self.get(&f.active),
                        (false, true) => then_end,
                        (false, false) => {
                            let else_end = self.get(&f.active);
                            (0..f.width())
                                .map(|w| self.b.ins().bor(then_end[w], else_end[w]))
                                .collect()
                        }
                    };
                    self.set(&f.active, &joined);
                }
                KStep::While { cond, body } => {
                    let inner = loop_place(&after, std::slice::from_ref(cond), body);
                    self.lane_loop(
                        f,
                        continues(body),
                        |t, f| t.lane_expr(cond, f),
                        |t, f| t.lane_steps(body, f, &inner),
                    )?
                }
                KStep::For {
                    var,
                    start,
                    stop,
                    step,
                    body,
                } => {
                    let inner = loop_place(&after, &[], body);
                    let var_free = inner.unmask.as_ref().is_some_and(|live| !live[*var]);
                    let sign = constant_sign(step);
                    // Per lane: `i` from `start` by `step` while on the near side of `stop`.
                    let start = self.lane_expr(start, f)?;
                    let stop = self.lane_expr(stop, f)?;
                    let step = self.lane_expr(step, f)?;
                    let zero = self.lane_const(Scalar::I64(0));
                    let mut i = Vec::with_capacity(f.width());
                    let (mut up, mut down) = (Vec::new(), Vec::new());
                    for w in 0..f.width() {
                        let v = self.b.declare_var(types::I64X2);
                        self.b.def_var(v, start[w]);
                        i.push(v);
                        up.push(self.b.ins().icmp(IntCC::SignedGreaterThan, step[w], zero));
                        down.push(self.b.ins().icmp(IntCC::SignedLessThan, step[w], zero));
                    }
                    let var = f.locals[*var].clone();
                    self.lane_loop(
                        f,
                        continues(body),
                        |t, f| {
                            let mut c = Vec::with_capacity(f.width());
                            for w in 0..f.width() {
                                let iv = t.b.use_var(i[w]);
                                let below = |t: &mut Self| {
                                    t.b.ins().icmp(IntCC::SignedLessThan, iv, stop[w])
                                };
                                let above = |t: &mut Self| {
                                    t.b.ins().icmp(IntCC::SignedGreaterThan, iv, stop[w])
                                };
                                // A constant step has one direction (a zero step: no iteration).
                                c.push(match sign {
                                    Some(1) => below(t),
                                    Some(-1) => above(t),
                                    Some(_) => zero,
                                    None => {
                                        let (b, a) = (below(t), above(t));
                                        let go_up = t.b.ins().band(up[w], b);
                                        let go_down = t.b.ins().band(down[w], a);
                                        t.b.ins().bor(go_up, go_down)
                                    }
                                });
                            }
                            Ok(c)
                        },
                        |t, f| {
                            for w in 0..f.width() {
                                let iv = t.b.use_var(i[w]);
                                let set = if var_free {
                                    iv
                                } else {
                                    let active = t.b.use_var(f.active[w]);
                                    let old = t.b.use_var(var[w]);
                                    t.masked(active, iv, old)
                                };
                                t.b.def_var(var[w], set);
                            }
                            t.lane_steps(body, f, &inner)?;
                            for w in 0..f.width() {
                                let iv = t.b.use_var(i[w]);
                                let next = t.b.ins().iadd(iv, step[w]);
                                t.b.def_var(i[w], next);
                            }
                            Ok(())
                        },
                    )?;
                }
                KStep::Break => {
                    // The loop ends for these lanes: clear them (`lane_loop` restores the rest).
                    let none = self.lane_const(Scalar::Bool(false));
                    self.set(&f.active.clone(), &vec![none; f.width()]);
                }
                KStep::Continue => {
                    let cont = f
                        .continued
                        .last()
                        .cloned()
                        .ok_or_else(|| internal("codegen", "`continue` outside a loop"))?;
                    let active = self.get(&f.active);
                    let so_far = self.get(&cont);
                    let more: Vec<Value> = (0..f.width())
                        .map(|w| self.b.ins().bor(so_far[w], active[w]))
                        .collect();
                    self.set(&cont, &more);
                    let none = self.lane_const(Scalar::Bool(false));
                    self.set(&f.active.clone(), &vec![none; f.width()]);
                }
                KStep::Return(g) => {
                    let v = self.lane_expr(g, f)?;
                    for w in 0..f.width() {
                        let active = self.b.use_var(f.active[w]);
                        let old = self.b.use_var(f.result[w]);
                        let new = self.masked(active, v[w], old);
                        self.b.def_var(f.result[w], new);
                        let returned = self.b.use_var(f.returned[w]);
                        let returned = self.b.ins().bor(returned, active);
                        self.b.def_var(f.returned[w], returned);
                    }
                    let none = self.lane_const(Scalar::Bool(false));
                    self.set(&f.active.clone(), &vec![none; f.width()]);
                }
            }
        }
        Ok(())
    }

    fn get(&mut self, vars: &[Variable]) -> Vec<Value> {
        vars.iter().map(|v| self.b.use_var(*v)).collect()
    }

    fn set(&mut self, vars: &[Variable], values: &[Value]) {
        for (var, v) in vars.iter().zip(values) {
            self.b.def_var(*var, *v);
        }
    }

    /// True (nonzero) when any lane of any group of `masks` is set.
    fn any_lane(&mut self, masks: &[Value]) -> Value {
        let mut all = masks[0];
        for m in &masks[1..] {
            all = self.b.ins().bor(all, *m);
        }
        self.b.ins().vany_true(all)
    }

    /// A loop on lanes: each trip, `cond` narrows the active lanes; the loop ends when none is
    /// left. Afterwards the lanes that entered it are active again, but for those that
    /// returned inside it (`break` and a false condition leave a lane only the loop).
    fn lane_loop(
        &mut self,
        f: &mut Frame,
        with_continue: bool,
        cond: impl FnOnce(&mut Self, &mut Frame) -> Result<Vec<Value>>,
        body: impl FnOnce(&mut Self, &mut Frame) -> Result<()>,
    ) -> Result<()> {
        let entry = self.get(&f.active);
        let none = self.lane_const(Scalar::Bool(false));
        let cont: Vec<Variable> = (0..f.width())
            .map(|_| {
                let v = self.b.declare_var(types::I64X2);
                self.b.def_var(v, none);
                v
            })
            .collect();
        let (head, run, after) = (
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
        );
        self.b.ins().jump(head, &[]);
        self.b.switch_to_block(head);
        self.cancel_point();
        let c = cond(self, f)?;
        let active = self.get(&f.active);
        let still: Vec<Value> = (0..f.width())
            .map(|w| self.b.ins().band(active[w], c[w]))
            .collect();
        self.set(&f.active.clone(), &still);
        let any = self.any_lane(&still);
        self.b.ins().brif(any, run, &[], after, &[]);
        self.b.switch_to_block(run);
        self.b.seal_block(run);
        f.continued.push(cont.clone());
        let done = body(self, f);
        f.continued.pop();
        done?;
        // Lanes that continued run the next iteration; those that broke or returned do not.
        if with_continue {
            let active = self.get(&f.active);
            let continued = self.get(&cont);
            let next: Vec<Value> = (0..f.width())
                .map(|w| self.b.ins().bor(active[w], continued[w]))
                .collect();
            self.set(&f.active.clone(), &next);
            self.set(&cont, &vec![none; f.width()]);
        }
        self.b.ins().jump(head, &[]);
        self.b.seal_block(head);
        self.b.switch_to_block(after);
        self.b.seal_block(after);
        let returned = self.get(&f.returned);
        let back: Vec<Value> = (0..f.width())
            .map(|w| self.b.ins().band_not(entry[w], returned[w]))
            .collect();
        self.set(&f.active.clone(), &back);
        Ok(())
    }

    /// One branch of an `if`, under its lanes `mask`. A short branch without loops runs
    /// unconditionally (masked, it changes nothing for the other lanes): cheaper than a test
    /// whose outcome changes from element to element, as an escape test's does. A longer one
    /// is skipped when no lane takes it.
    fn branch(
        &mut self,
        mask: &[Value],
        body: &[KStep],
        f: &mut Frame,
        place: &Place,
    ) -> Result<()> {
        if body.is_empty() {
            return Ok(());
        }
        if straight(body) {
            return self.lane_steps(body, f, place);
        }
        let (work, join) = (self.b.create_block(), self.b.create_block());
        let any = self.any_lane(mask);
        self.b.ins().brif(any, work, &[], join, &[]);
        self.b.switch_to_block(work);
        self.b.seal_block(work);
        self.lane_steps(body, f, place)?;
        self.b.ins().jump(join, &[]);
        self.b.switch_to_block(join);
        self.b.seal_block(join);
        Ok(())
    }

    /// `new` in the lanes of `mask`, `old` in the others.
    fn masked(&mut self, mask: Value, new: Value, old: Value) -> Value {
        let ty = self.b.func.dfg.value_type(new);
        let mask = if ty == types::I64X2 {
            mask
        } else {
            self.b.ins().bitcast(ty, MemFlagsData::new(), mask)
        };
        self.b.ins().bitselect(mask, new, old)
    }

    /// A scalar of `dtype` on both lanes of a kernel vector (a bool as an all-ones mask).
    pub(super) fn splat_lanes(&mut self, v: Value, dtype: DType) -> Value {
        match dtype {
            DType::Float64 => self.b.ins().splat(types::F64X2, v),
            DType::Bool => {
                let wide = self.b.ins().uextend(types::I64, v);
                let mask = self.b.ins().ineg(wide);
                self.b.ins().splat(types::I64X2, mask)
            }
            _ => self.b.ins().splat(types::I64X2, v),
        }
    }

    /// A scalar constant on both lanes (true: all ones), from the constant pool: an operation
    /// can read it from memory, so constants take no register in the loop.
    fn lane_const(&mut self, s: Scalar) -> Value {
        let (ty, bits) = match s {
            Scalar::F64(v) => (types::F64X2, v.to_bits()),
            Scalar::Bool(v) => (types::I64X2, (-i64::from(v)) as u64),
            other => (types::I64X2, other.as_i64() as u64),
        };
        let bytes: Vec<u8> = [bits, bits].iter().flat_map(|b| b.to_le_bytes()).collect();
        let c = self.b.func.dfg.constants.insert(ConstantData::from(bytes));
        self.b.ins().vconst(ty, c)
    }

    /// The lanes of a kernel expression (a 0-d graph over the locals), per group.
    fn lane_expr(&mut self, g: &Graph, f: &mut Frame) -> Result<Vec<Value>> {
        let mut values: Vec<Vec<Value>> = Vec::with_capacity(g.nodes.len());
        for node in &g.nodes {
            let v = match &node.kind {
                NodeKind::Input(i) => self.get(&f.locals[*i]),
                NodeKind::Const(s) => vec![self.lane_const(*s); f.width()],
                NodeKind::Apply(op, args) => {
                    let float = g.node(args[args.len() - 1]).dtype == DType::Float64;
                    let mut out = Vec::with_capacity(f.width());
                    for w in 0..f.width() {
                        let a: Vec<Value> = args.iter().map(|x| values[*x][w]).collect();
                        out.push(self.lane_op(*op, &a, float)?);
                    }
                    out
                }
                _ => return Err(internal("codegen", "a kernel node that has no lanes")),
            };
            values.push(v);
        }
        Ok(values.swap_remove(g.root))
    }

    fn lane_op(&mut self, op: Op, a: &[Value], float: bool) -> Result<Value> {
        let ins = self.b.ins();
        Ok(match op {
            Op::Add if float => ins.fadd(a[0], a[1]),
            Op::Add => ins.iadd(a[0], a[1]),
            Op::Sub if float => ins.fsub(a[0], a[1]),
            Op::Sub => ins.isub(a[0], a[1]),
            Op::Neg if float => ins.fneg(a[0]),
            Op::Neg => ins.ineg(a[0]),
            Op::Mul => ins.fmul(a[0], a[1]),
            Op::Div => ins.fdiv(a[0], a[1]),
            Op::Sqrt => ins.sqrt(a[0]),
            Op::Abs => ins.fabs(a[0]),
            Op::BitAnd => ins.band(a[0], a[1]),
            Op::BitOr => ins.bor(a[0], a[1]),
            Op::BitXor => ins.bxor(a[0], a[1]),
            Op::Invert => ins.bnot(a[0]),
            Op::Where => self.masked(a[0], a[1], a[2]),
            // The scalar comparison's condition codes; on vectors they give lane masks (an
            // F64X2 comparison is already an I64X2 mask).
            Op::Lt | Op::Le | Op::Eq | Op::Ne | Op::Ge | Op::Gt => {
                let d = if float { DType::Float64 } else { DType::Int64 };
                self.compare(op, a[0], a[1], d)
            }
            other => return Err(internal("codegen", format!("{other:?} has no lanes"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{Engine, Vars};

    /// Kernels whose lanes diverge: early returns, `break` and `continue` taken by some lanes,
    /// loops of per-lane lengths, nested loops, branches skipped by every lane of a group.
    const KERNELS: [&str; 9] = [
        "def escape(cr, ci):\n    zr = 0.0\n    zi = 0.0\n    for n in range(20):\n        if zr*zr + zi*zi >= 4.0:\n            return n\n        zr, zi = zr*zr - zi*zi + cr, 2.0*zr*zi + ci\n    return 255\nescape(x, y)",
        "def f(a, b):\n    s = 0.0\n    n = 0\n    while s < a * 10:\n        n += 1\n        if n > 50:\n            break\n        if b > 0.3:\n            continue\n        s += b + 0.5\n    return s + n\nf(x, y)",
        "def f(a, b):\n    if a > 0:\n        if b > 0:\n            return a - b\n        t = a * 2\n        for i in range(5):\n            t = t - b\n            if t < 0:\n                break\n        return t\n    return -1.0\nf(x, y)",
        "def f(a, b):\n    s = 0.0\n    for i in range(4):\n        for j in range(i, 6, 2):\n            if j == 3:\n                continue\n            s = s + a * j - b\n    return s\nf(x, y)",
        "def f(a, b):\n    t = a\n    for i in range(10, 0, -3):\n        t = where(t > b, t - b, t + 1.0)\n    return t\nf(x, y)",
        "def f(a, b):\n    if a < -100.0:\n        n = 0\n        while n < 1000:\n            n += 1\n        return n * 1.0\n    return abs(a) + sqrt(abs(b))\nf(x, y)",
        "def f(a, b):\n    n = 0\n    m = 0\n    while n < 30:\n        n += 1\n        if (n > 7) & (a > 0):\n            m = n\n    return m\nf(x, y)",
        "def g(a):\n    return a * a\ndef f(a, b):\n    return g(a) - g(b)\nf(x, y)",
        "def f(a, b):\n    c = a > b\n    if c:\n        return 1\n    return 0\nsum(f(x, y))",
    ];

    #[test]
    fn kernels_on_lanes_compute_what_scalar_code_and_the_interpreter_compute() {
        let n = 53; // two-lane groups, an unrolled pair, and a scalar tail
        let x = ndarray::Array1::from_shape_fn(n, |i| (i as f64 * 0.173).sin() * 2.0 - 0.4);
        let y = ndarray::Array1::from_shape_fn(n, |i| (i as f64 * 0.311).cos() * 1.2);
        let xs = x.slice(ndarray::s![..;2]); // a strided operand: the general vector loop
        let mut on_lanes = 0;
        for (vars, what) in [
            (Vars::new().with("x", &x).with("y", &y), "contiguous"),
            (
                Vars::new()
                    .with("x", xs)
                    .with("y", y.slice(ndarray::s![..;2])),
                "strided",
            ),
        ] {
            for src in KERNELS {
                super::set_enabled(false);
                let scalar = Engine::default().compile(src, &vars.signature()).unwrap();
                let scalar = scalar.eval(&vars).unwrap();
                super::set_enabled(true);
                let lanes = Engine::default().compile(src, &vars.signature()).unwrap();
                on_lanes += usize::from(lanes.clif().unwrap().contains("vany_true"));
                let reference = lanes.eval_reference(&vars).unwrap();
                let lanes = lanes.eval(&vars).unwrap();
                assert_eq!(lanes, scalar, "{what}: {src}");
                assert_eq!(lanes, reference, "{what}: {src}");
            }
        }
        // Int-to-float casts (kernels 2, 4, 6), kernels calling kernels and reductions of
        // another dtype stay scalar: four of the nine run on lanes, with both operand layouts.
        assert_eq!(on_lanes, 2 * 4, "kernels that ran on lanes");
        // (One test: the switch is process-wide.) The planner's choice, seen in the code: the
        // escape kernel runs on lanes, with vector comparisons and lane tests.
        let vars = Vars::new().with("x", &x).with("y", &y);
        let k = Engine::default()
            .compile(KERNELS[0], &vars.signature())
            .unwrap();
        let clif = k.clif().unwrap();
        assert!(
            clif.contains("vany_true") && clif.contains("f64x2"),
            "{clif}"
        );
    }
}
