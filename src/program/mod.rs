//! Programs: statements, intermediates, outputs, loops and swaps, compiled into fused groups.
//!
//! `build.rs` turns the parsed program into steps (which statements fuse into one pass, which
//! intermediates must be kept in memory); this file compiles every group's graph into native
//! code; `run.rs` executes the steps against the caller's arrays.

mod build;
mod run;

use std::sync::{Arc, Mutex};

use crate::array::Array;
use crate::codegen;
use crate::dtype::DType;
use crate::error::Result;
use crate::hoist::Kernels;
use crate::ir::Graph;
use crate::parse::ast;
use crate::vars::{RawView, Signature};
pub(crate) use build::SlotKind;
use build::{Slot, StepSpec, TargetSpec};

/// A compiled program.
pub(crate) struct Program {
    slots: Vec<Slot>,
    steps: Vec<Step>,
    result: Option<DType>,
}

/// Native code for one graph.
struct Unit {
    graph: Graph,
    kernels: Kernels,
}

impl Unit {
    fn compile(graph: Graph) -> Result<Unit> {
        Ok(Unit {
            kernels: Kernels::compile(&graph)?,
            graph,
        })
    }
}

impl Group {
    /// The unit computing the targets `part` (indices into `targets`) in one pass.
    fn part(&self, part: &[usize]) -> Result<Arc<Unit>> {
        let mut parts = self.parts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, u)) = parts.iter().find(|(p, _)| p == part) {
            return Ok(u.clone());
        }
        let mut g = self.unit.graph.clone();
        g.roots = part.iter().map(|&i| g.roots[i]).collect();
        g.root = g.roots[0];
        let u = Arc::new(Unit::compile(crate::opt::optimize(&g))?);
        parts.push((part.to_vec(), u.clone()));
        Ok(u)
    }
}

/// A fused group of statements.
struct Group {
    unit: Unit,
    targets: Vec<TargetSpec>,
    /// When the targets' shapes differ at run time: one unit per set of targets of one shape
    /// (by target indices), compiled on first need.
    parts: Mutex<Vec<(Vec<usize>, Arc<Unit>)>>,
}

enum Step {
    Group(Box<Group>),
    Loop {
        var: usize,
        range: Vec<Graph>,
        body: Vec<Step>,
        span: crate::error::Span,
    },
    Swap {
        a: usize,
        b: usize,
        span: crate::error::Span,
    },
}

impl Program {
    /// Compiles `program` for the caller arrays in `sig`.
    pub fn compile(program: &ast::Program, sig: &Signature) -> Result<Program> {
        let built = build::build(program, sig)?;
        Ok(Program {
            steps: compile_steps(built.steps)?,
            slots: built.slots,
            result: built.result,
        })
    }

    /// The result's dtype, when the program ends with an expression.
    pub fn result_dtype(&self) -> Option<DType> {
        self.result
    }

    /// The caller's variables (name, dtype, rank, kind), in slot order: they are slots `0..n`.
    pub fn caller_slots(&self) -> impl Iterator<Item = (&str, DType, usize, SlotKind)> {
        self.slots
            .iter()
            .filter(|s| matches!(s.kind, SlotKind::Caller { .. }))
            .map(|s| (s.name.as_str(), s.dtype, s.rank, s.kind))
    }

    /// Runs the program with the caller's arrays (one view per caller slot, in order): checks
    /// every shape first, then runs. Returns the result, if the program has one.
    pub fn run(&self, caller: Vec<RawView>, reference: bool) -> Result<Option<Array>> {
        run::run(self, caller, reference)
    }

    /// The optimized IR of every group.
    pub fn ir(&self) -> String {
        let mut out = String::new();
        describe(&self.steps, 0, &mut out);
        out
    }

    /// The Cranelift IR of every group.
    pub fn clif(&self) -> Result<String> {
        let mut out = String::new();
        let mut stack: Vec<&Step> = self.steps.iter().rev().collect();
        while let Some(step) = stack.pop() {
            match step {
                Step::Group(g) => {
                    out.push_str(&codegen::clif_text(&g.unit.graph, &g.unit.kernels.stages)?)
                }
                Step::Loop { body, .. } => stack.extend(body.iter().rev()),
                Step::Swap { .. } => {}
            }
        }
        Ok(out)
    }
}

fn describe(steps: &[Step], depth: usize, out: &mut String) {
    let pad = "    ".repeat(depth);
    for step in steps {
        match step {
            Step::Group(g) => {
                out.push_str(&format!(
                    "{pad}group ({} target{}):\n",
                    g.targets.len(),
                    if g.targets.len() == 1 { "" } else { "s" }
                ));
                for line in g.unit.graph.to_string().lines() {
                    out.push_str(&format!("{pad}  {line}\n"));
                }
            }
            Step::Loop { body, .. } => {
                out.push_str(&format!("{pad}loop:\n"));
                describe(body, depth + 1, out);
            }
            Step::Swap { a, b, .. } => out.push_str(&format!("{pad}swap slots {a} {b}\n")),
        }
    }
}

fn compile_steps(specs: Vec<StepSpec>) -> Result<Vec<Step>> {
    specs
        .into_iter()
        .map(|s| {
            Ok(match s {
                StepSpec::Group(g) => Step::Group(Box::new(Group {
                    unit: Unit::compile(g.graph)?,
                    targets: g.targets,
                    parts: Mutex::new(Vec::new()),
                })),
                StepSpec::Loop {
                    var,
                    range,
                    body,
                    span,
                } => Step::Loop {
                    var,
                    range,
                    body: compile_steps(body)?,
                    span,
                },
                StepSpec::Swap { a, b, span } => Step::Swap { a, b, span },
            })
        })
        .collect()
}
