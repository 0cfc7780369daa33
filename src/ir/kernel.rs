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
                writeln!(f, "{pad}{} = ...", names.join(", "))?;
            }
            KStep::If { then, orelse, .. } => {
                writeln!(f, "{pad}if ...:")?;
                write_steps(f, then, depth + 1, locals)?;
                if !orelse.is_empty() {
                    writeln!(f, "{pad}else:")?;
                    write_steps(f, orelse, depth + 1, locals)?;
                }
            }
            KStep::While { body, .. } => {
                writeln!(f, "{pad}while ...:")?;
                write_steps(f, body, depth + 1, locals)?;
            }
            KStep::For { var, body, .. } => {
                writeln!(f, "{pad}for {} in range(...):", locals[*var].0)?;
                write_steps(f, body, depth + 1, locals)?;
            }
            KStep::Break => writeln!(f, "{pad}break")?,
            KStep::Continue => writeln!(f, "{pad}continue")?,
            KStep::Return(_) => writeln!(f, "{pad}return ...")?,
        }
    }
    Ok(())
}
