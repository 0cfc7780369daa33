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
}
