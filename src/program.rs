//! The compiled program: statements, intermediates, outputs, loops and swaps as fused groups
//! with their native code.
//!
//! Every source is a program: a lone expression is a program whose one group computes its
//! result. `lower/program.rs` turns the parsed program into steps (which statements fuse into one
//! pass, which intermediates must be kept in memory); this file compiles every group's graph
//! into native code and binds the caller's arrays to the program's slots (the one binder);
//! `exec/program.rs` executes the steps against them (the one executor).

use std::sync::{Arc, Mutex};

use crate::api::array::Array;
use crate::api::vars::{Signature, Vars};
use crate::codegen;
use crate::core::dtype::DType;
use crate::core::error::Result;
use crate::core::error::{Error, ErrorKind};
use crate::core::view::RawView;
use crate::ir::Graph;
use crate::ir::NodeKind;
pub(crate) use crate::lower::program::SlotKind;
use crate::lower::program::{Slot, StepSpec, TargetKind, TargetSpec};
use crate::parse::ast;
use crate::plan::hoist::Kernels;

/// A compiled program.
pub(crate) struct Program {
    pub slots: Vec<Slot>,
    pub steps: Vec<Step>,
    result: Option<DType>,
    /// `used[i]`: the program reads or writes caller slot `i` (the others need not be bound).
    used: Vec<bool>,
}

/// Native code for one graph.
pub(crate) struct Unit {
    pub graph: Graph,
    pub kernels: Kernels,
}

impl Unit {
    pub(crate) fn compile(graph: Graph) -> Result<Unit> {
        Ok(Unit {
            kernels: Kernels::compile(&graph)?,
            graph,
        })
    }
}

impl Group {
    /// The unit computing the targets `part` (indices into `targets`) in one pass.
    pub fn part(&self, part: &[usize]) -> Result<Arc<Unit>> {
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
pub(crate) struct Group {
    pub unit: Unit,
    pub targets: Vec<TargetSpec>,
    /// When the targets' shapes differ at run time: one unit per set of targets of one shape
    /// (by target indices), compiled on first need.
    parts: Mutex<Vec<(Vec<usize>, Arc<Unit>)>>,
}

pub(crate) enum Step {
    Group(Box<Group>),
    Loop {
        var: usize,
        /// The `range(...)` arguments, each a 0-d integer graph over the slots, with code when
        /// constant evaluation cannot give its value (it reduces an array: `range(sum(m))`).
        range: Vec<(Graph, Option<Unit>)>,
        body: Vec<Step>,
        span: crate::core::error::Span,
    },
    Swap {
        a: usize,
        b: usize,
        span: crate::core::error::Span,
    },
}

impl Program {
    /// Compiles `program` for the caller arrays in `sig`.
    pub fn compile(program: &ast::Program, sig: &Signature) -> Result<Program> {
        crate::lower::check_ranks(&sig.decls())?;
        let built = crate::lower::program::build(program, sig)?;
        let callers = sig.inputs().len();
        let mut used = vec![false; built.slots.len()];
        mark_used(&built.steps, &mut used);
        used.truncate(callers);
        Ok(Program {
            steps: compile_steps(built.steps)?,
            slots: built.slots,
            result: built.result,
            used,
        })
    }

    /// The caller's views, one per caller slot in slot order, checked against the signature.
    /// A variable the program never touches need not be bound (it gets an empty view).
    pub fn bind(&self, vars: &Vars) -> Result<Vec<RawView>> {
        // An explicit loop into a vector of the right size: this runs on every call.
        let mut views = Vec::with_capacity(self.used.len());
        for ((name, dtype, rank, kind), &used) in self.caller_slots().zip(&self.used) {
            let view = match vars.view(name) {
                Some(v) => v,
                None if !used => {
                    views.push(RawView::empty(dtype, rank));
                    continue;
                }
                None => {
                    return Err(Error::new(
                        ErrorKind::Signature,
                        format!("variable `{name}` is not bound"),
                    ))
                }
            };
            if used && (view.dtype != dtype || view.shape.len() != rank) {
                return Err(Error::new(
                    ErrorKind::Signature,
                    format!(
                        "`{name}` is {} with {} dimensions, but the kernel was compiled for {dtype} with {rank}",
                        view.dtype,
                        view.shape.len()
                    ),
                ));
            }
            if used && kind == (SlotKind::Caller { writable: true }) && !vars.is_writable(name) {
                return Err(Error::new(
                    ErrorKind::Signature,
                    format!("`{name}` was compiled as an output: bind it with Vars::with_out"),
                ));
            }
            views.push(view.clone());
        }
        Ok(views)
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

    /// Runs the program with the caller's arrays (one view per caller slot, in order, from
    /// [`Program::bind`]): checks every shape first, then runs. The result, if the program has
    /// one, goes into `out` when given (which must have exactly its shape and dtype) and is
    /// returned otherwise. `reference`: the interpreter computes every value.
    pub fn run(
        &self,
        caller: Vec<RawView>,
        reference: bool,
        out: Option<&RawView>,
    ) -> Result<Option<Array>> {
        crate::exec::program::run(self, caller, reference, out)
    }

    /// The group of a program that is one expression: nothing to check before writing but
    /// the result's shape, which the executor checks itself.
    pub fn lone_expression(&self) -> Option<&Group> {
        match &self.steps[..] {
            [Step::Group(g)] if matches!(&g.targets[..], [t] if matches!(t.kind, TargetKind::Result)) => {
                Some(g)
            }
            _ => None,
        }
    }

    /// The optimized IR of every group (of a lone expression: its graph).
    pub fn ir(&self) -> String {
        if let Some(g) = self.lone_expression() {
            return g.unit.graph.to_string();
        }
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

/// Marks the slots that `steps` read or write.
fn mark_used(steps: &[StepSpec], used: &mut [bool]) {
    let graph = |g: &Graph, used: &mut [bool]| {
        let mut read: Vec<bool> = (0..g.inputs.len())
            .map(|i| g.nodes.iter().any(|n| n.kind == NodeKind::Input(i)))
            .collect();
        // Derived inputs (`u[1:-1]`) come after their base: a read of the view reads the base.
        for i in (0..g.inputs.len()).rev() {
            if let (true, Some(v)) = (read[i], &g.inputs[i].view) {
                read[v.base] = true;
            }
        }
        for (u, r) in used.iter_mut().zip(read) {
            *u |= r;
        }
    };
    for step in steps {
        match step {
            StepSpec::Group(g) => {
                graph(&g.graph, used);
                for t in &g.targets {
                    if let TargetKind::Whole(s) | TargetKind::Slice(s, _) = &t.kind {
                        used[*s] = true;
                    }
                }
            }
            StepSpec::Loop { range, body, .. } => {
                range.iter().for_each(|g| graph(g, used));
                mark_used(body, used);
            }
            StepSpec::Swap { a, b, .. } => {
                used[*a] = true;
                used[*b] = true;
            }
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
                    range: range
                        .into_iter()
                        .map(|g| {
                            let reduces = g
                                .nodes
                                .iter()
                                .any(|n| n.rank > 0 || matches!(n.kind, NodeKind::Reduce { .. }));
                            let code = if reduces {
                                Some(Unit::compile(g.clone())?)
                            } else {
                                None
                            };
                            Ok((g, code))
                        })
                        .collect::<Result<_>>()?,
                    body: compile_steps(body)?,
                    span,
                },
                StepSpec::Swap { a, b, span } => Step::Swap { a, b, span },
            })
        })
        .collect()
}
