//! A typed kernel: the body of a `def`, lowered for one call's argument dtypes.
//!
//! Its values live in numbered locals (the parameters first). Every expression is a small 0-d
//! [`Graph`] whose inputs are the locals (input `i` reads local `i`), already cast to the dtype
//! of what it sets; control flow is structured (blocks, `if`, loops), so the interpreter walks it
//! directly and codegen turns it into Cranelift blocks inside the element loop.

use std::fmt;

use crate::core::dtype::DType;
use crate::ir::Graph;

/// One kernel, typed for one call signature.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KernelIr {
    /// The `def`'s name.
    pub name: String,
    /// Every local's name and dtype; locals `0..params` are the parameters.
    pub locals: Vec<(String, DType)>,
    /// How many parameters it takes.
    pub params: usize,
    /// The dtype it returns.
    pub result: DType,
    /// Its body.
    pub body: Vec<KStep>,
}

/// A step of a kernel body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum KStep {
    /// Sets locals to values all computed first (`a, b = b, a` swaps).
    Set(Vec<(usize, Graph)>),
    /// Runs `then` when `cond` (a bool graph) holds, else `orelse`.
    If {
        cond: Graph,
        then: Vec<KStep>,
        orelse: Vec<KStep>,
    },
    /// Runs `body` while `cond` holds (tested first).
    While { cond: Graph, body: Vec<KStep> },
    /// `var` from `start` while below `stop` (above it for a negative `step`), by `step`; all
    /// int64, computed once before the first iteration (Python's `range`). A zero step runs
    /// no iteration.
    For {
        var: usize,
        start: Graph,
        stop: Graph,
        step: Graph,
        body: Vec<KStep>,
    },
    /// Leaves the innermost loop.
    Break,
    /// Goes on with the innermost loop's next iteration.
    Continue,
    /// Returns the value (of the kernel's result dtype).
    Return(Graph),
}

impl KStep {
    /// The graphs this step evaluates itself (its blocks' steps have their own).
    pub fn graphs(&self) -> Vec<&Graph> {
        match self {
            KStep::Set(sets) => sets.iter().map(|(_, g)| g).collect(),
            KStep::If { cond, .. } | KStep::While { cond, .. } => vec![cond],
            KStep::For {
                start, stop, step, ..
            } => vec![start, stop, step],
            KStep::Return(g) => vec![g],
            KStep::Break | KStep::Continue => Vec::new(),
        }
    }

    /// The locals this step sets itself: a `Set`'s targets, a `for`'s variable.
    pub fn sets(&self) -> Vec<usize> {
        match self {
            KStep::Set(sets) => sets.iter().map(|(l, _)| *l).collect(),
            KStep::For { var, .. } => vec![*var],
            _ => Vec::new(),
        }
    }

    /// The blocks this step holds, in order.
    pub fn blocks(&self) -> Vec<&[KStep]> {
        match self {
            KStep::If { then, orelse, .. } => vec![then, orelse],
            KStep::While { body, .. } | KStep::For { body, .. } => vec![body],
            _ => Vec::new(),
        }
    }
}

/// Every step of `steps`, those of nested blocks included, in source order.
pub(crate) fn all_steps(steps: &[KStep]) -> Vec<&KStep> {
    let mut out = Vec::new();
    let mut stack: Vec<&KStep> = steps.iter().rev().collect();
    while let Some(s) = stack.pop() {
        out.push(s);
        for block in s.blocks().into_iter().rev() {
            stack.extend(block.iter().rev());
        }
    }
    out
}

/// True when `while cond: body` provably ends within 64 trips, so its head needs no cancel
/// poll (the element loop around the kernel polls anyway): `cond` is `m > c` (c ≥ 0) or
/// `m >= c` (c ≥ 1) on an integer local `m`, and every trip sets `m` once, at the top level
/// of the body, to `m // d` (d ≥ 2) or `m >> d` (d ≥ 1), with no `continue` that could skip
/// it. A trip starts with `m ≥ 1`, and each at least halves it: an i64 is below 1 within 63.
/// This is the digit loop of P8's term (`while m > 0: … m //= 10`), where a poll per trip
/// cost 18 % more instructions (callgrind).
pub(crate) fn ends_within_64_trips(cond: &Graph, body: &[KStep]) -> bool {
    use crate::ir::NodeKind::{Apply, Const, Input};
    use crate::ops::Op;
    let int_const = |g: &Graph, id: usize| match g.node(id).kind {
        Const(c) if c.dtype().is_int() => Some(c.as_i64()),
        _ => None,
    };
    let Apply(op, args) = &cond.node(cond.root).kind else {
        return false;
    };
    let least = match op {
        Op::Gt => 0,
        Op::Ge => 1,
        _ => return false,
    };
    let (Input(m), Some(c)) = (&cond.node(args[0]).kind, int_const(cond, args[1])) else {
        return false;
    };
    let m = *m;
    if !cond.node(args[0]).dtype.is_int() || c < least {
        return false;
    }
    let halves = |g: &Graph| match &g.node(g.root).kind {
        Apply(op @ (Op::FloorDiv | Op::Shr), a) => {
            let least = if *op == Op::FloorDiv { 2 } else { 1 };
            matches!(g.node(a[0]).kind, Input(i) if i == m)
                && int_const(g, a[1]).is_some_and(|d| d >= least)
        }
        _ => false,
    };
    let steps = all_steps(body);
    let sets_of_m = steps.iter().flat_map(|s| s.sets()).filter(|l| *l == m);
    let top_level_halving = body.iter().any(|s| match s {
        KStep::Set(sets) => sets.iter().any(|(l, g)| *l == m && halves(g)),
        _ => false,
    });
    top_level_halving
        && sets_of_m.count() == 1
        && !steps.iter().any(|s| matches!(s, KStep::Continue))
}

impl fmt::Display for KernelIr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params: Vec<String> = self.locals[..self.params]
            .iter()
            .map(|(n, d)| format!("{n}: {d}"))
            .collect();
        writeln!(
            f,
            "def {}({}) -> {}:",
            self.name,
            params.join(", "),
            self.result
        )?;
        write_steps(f, &self.body, 1, &self.locals)
    }
}

fn write_steps(
    f: &mut fmt::Formatter<'_>,
    steps: &[KStep],
    depth: usize,
    locals: &[(String, DType)],
) -> fmt::Result {
    let pad = "    ".repeat(depth);
    for s in steps {
        match s {
            KStep::Set(sets) => {
                let names: Vec<&str> = sets.iter().map(|(l, _)| locals[*l].0.as_str()).collect();
                let values: Vec<String> = sets.iter().map(|(_, g)| g.expression()).collect();
                writeln!(f, "{pad}{} = {}", names.join(", "), values.join(", "))?;
            }
            KStep::If { cond, then, orelse } => {
                writeln!(f, "{pad}if {}:", cond.expression())?;
                write_steps(f, then, depth + 1, locals)?;
                if !orelse.is_empty() {
                    writeln!(f, "{pad}else:")?;
                    write_steps(f, orelse, depth + 1, locals)?;
                }
            }
            KStep::While { cond, body } => {
                writeln!(f, "{pad}while {}:", cond.expression())?;
                write_steps(f, body, depth + 1, locals)?;
            }
            KStep::For {
                var,
                start,
                stop,
                step,
                body,
            } => {
                writeln!(
                    f,
                    "{pad}for {} in range({}, {}, {}):",
                    locals[*var].0,
                    start.expression(),
                    stop.expression(),
                    step.expression()
                )?;
                write_steps(f, body, depth + 1, locals)?;
            }
            KStep::Break => writeln!(f, "{pad}break")?,
            KStep::Continue => writeln!(f, "{pad}continue")?,
            KStep::Return(g) => writeln!(f, "{pad}return {}", g.expression())?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_ir_shows_each_kernel_typed_as_called() {
        let x = ndarray::arr1(&[1.0, 2.0]);
        let vars = crate::Vars::new().with("x", &x);
        let src = "def f(a, n):\n    t = 0.0\n    for i in range(n):\n        if t > a:\n            break\n        t += a / 2\n    return t\nf(x, 3) + f(x, 4)";
        let ir = crate::Engine::default()
            .compile(src, &vars.signature())
            .unwrap()
            .ir();
        let expected = "def f(a: float64, n: int64) -> float64:\n    t = 0.0\n    for i in range(0, n, 1):\n        if (t > a):\n            break\n        t = (t + (a / 2.0))\n    return t\n";
        assert!(ir.contains(expected), "{ir}");
        assert_eq!(
            ir.matches("def f(").count(),
            2,
            "each call site's instance: {ir}"
        );
    }

    #[test]
    fn all_steps_visits_nested_blocks_in_source_order() {
        use super::{all_steps, KStep};
        let g = crate::ir::Graph::new(Vec::new());
        let set = |l: usize| KStep::Set(vec![(l, g.clone())]);
        let steps = vec![
            set(0),
            KStep::If {
                cond: g.clone(),
                then: vec![set(1), KStep::Break],
                orelse: vec![KStep::While {
                    cond: g.clone(),
                    body: vec![set(2)],
                }],
            },
            set(3),
        ];
        let order: Vec<Vec<usize>> = all_steps(&steps).iter().map(|s| s.sets()).collect();
        let want: Vec<Vec<usize>> =
            vec![vec![0], vec![], vec![1], vec![], vec![], vec![2], vec![3]];
        assert_eq!(order, want);
    }

    use crate::core::dtype::DType;

    /// `Input(0) op c` as a graph whose root is the last node; `op` None: `Input(0)` alone.
    fn on_m(op: Option<crate::ops::Op>, c: i64, dtype: DType) -> crate::ir::Graph {
        use crate::core::dtype::Scalar;
        use crate::ir::{Node, NodeKind};
        let node = |kind, dtype| Node {
            kind,
            dtype,
            rank: 0,
            span: Default::default(),
        };
        let mut g = crate::ir::Graph::new(Vec::new());
        let m = g.push(node(NodeKind::Input(0), dtype));
        if let Some(op) = op {
            let c = g.push(node(NodeKind::Const(Scalar::I64(c)), DType::Int64));
            g.root = g.push(node(NodeKind::Apply(op, vec![m, c]), DType::Int64));
        }
        g
    }

    #[test]
    fn only_loops_that_halve_a_positive_counter_every_trip_skip_the_cancel_poll() {
        use super::{ends_within_64_trips, KStep};
        use crate::ops::Op::{FloorDiv, Ge, Gt, Ne, Shr, Sub};
        let i64 = DType::Int64;
        let set = |op, d| KStep::Set(vec![(0, on_m(Some(op), d, i64))]);
        let other = KStep::Set(vec![(1, on_m(None, 0, i64))]);
        let short = |cond, body: Vec<KStep>| ends_within_64_trips(&on_m(Some(cond), 0, i64), &body);
        // P8's digit loop, and `>>`.
        assert!(short(Gt, vec![other.clone(), set(FloorDiv, 10)]));
        assert!(short(Gt, vec![set(Shr, 1), KStep::Break]));
        // Not halving, or not every trip, or twice, or skippable: the poll stays.
        assert!(!short(Gt, vec![set(FloorDiv, 1)]));
        assert!(!short(Gt, vec![set(Sub, 1)]));
        assert!(!short(Gt, vec![other.clone()]));
        let maybe = KStep::If {
            cond: on_m(None, 0, DType::Bool),
            then: vec![set(FloorDiv, 10)],
            orelse: vec![],
        };
        assert!(!short(Gt, vec![maybe]));
        assert!(!short(Gt, vec![set(FloorDiv, 10), set(FloorDiv, 10)]));
        assert!(!short(Gt, vec![KStep::Continue, set(FloorDiv, 10)]));
        // `m != 0` never ends for a negative m (`-1 // 10 == -1`); `m >= 0` never for m = 0.
        assert!(!short(Ne, vec![set(FloorDiv, 10)]));
        assert!(!short(Ge, vec![set(FloorDiv, 10)]));
        let float = ends_within_64_trips(&on_m(Some(Gt), 0, DType::Float64), &[set(FloorDiv, 10)]);
        assert!(!float, "a float m // 10 approaches 0 without reaching it");
    }
}
