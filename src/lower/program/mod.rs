//! A parsed program → steps: fused statement groups, loops and swaps.
//!
//! The model (documented for users in `grammar/numjit.ebnf`, "Programs"):
//! - Memory is a set of slots: the caller's arrays (read-only inputs and writable outputs), one
//!   0-d slot per loop variable, and hidden temporaries.
//! - `name = expr` with a fresh name binds an intermediate: an expression, not an array. Each
//!   kernel that uses it computes it inline (fusion), so it costs no memory.
//! - Consecutive assignments to outputs form one group, computed in one pass that reads memory
//!   as it was before the group and writes every target at the end of each element. Inside a
//!   group, reading a name written whole earlier in the group uses the value just computed
//!   (no memory read). A statement that reads, or subscripts, what the group wrote in part
//!   (`u[1:-1] = ...` then `u`), or writes a target again, starts a new group.
//! - An intermediate must mean the value it had when it was bound. When memory it reads is
//!   written before a later use (e.g. inside a loop), it is materialized once, at its binding,
//!   into a hidden temporary: found by a first build that records such intermediates and a
//!   second build that materializes them.

mod groups;

use std::collections::{HashMap, HashSet};

use crate::api::vars::Signature;
use crate::core::dtype::{DType, Ty};
use crate::core::error::{Error, ErrorKind, Result, Span};
use crate::ir::{Graph, NodeId};
use crate::lower::Lowerer;
use crate::opt;
use crate::parse::ast::{Expr, IndexItem, Program, Stmt, StmtKind, Target};

/// What a memory slot is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotKind {
    /// A caller's array; writable when bound as an output.
    Caller { writable: bool },
    /// A loop variable (0-d int64), set by the runtime per iteration.
    LoopVar,
    /// A materialized intermediate, allocated by the runtime.
    Temp,
}

#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub name: String,
    pub dtype: DType,
    pub rank: usize,
    pub kind: SlotKind,
}

/// Where a group stores one of its values.
#[derive(Debug, Clone)]
pub(crate) enum TargetKind {
    /// The whole slot (`u = ...` for an output `u`).
    Whole(usize),
    /// Part of the slot (`u[1:-1] = ...`).
    Slice(usize, Vec<IndexItem>),
    /// A temporary slot, (re)allocated with the value's shape.
    Temp(usize),
    /// The program's result, a new array.
    Result,
}

#[derive(Debug, Clone)]
pub(crate) struct TargetSpec {
    pub kind: TargetKind,
    /// The assignment target (or the result expression), for errors.
    pub span: Span,
}

/// Statements computed in one fused pass. Graph input `i < slots` is slot `i`; later inputs
/// are views of earlier ones.
#[derive(Debug, Clone)]
pub(crate) struct GroupSpec {
    pub graph: Graph,
    pub targets: Vec<TargetSpec>,
}

#[derive(Debug, Clone)]
pub(crate) enum StepSpec {
    Group(GroupSpec),
    Loop {
        var: usize,
        /// `range(...)` arguments: 0-d integer graphs over the slots.
        range: Vec<Graph>,
        body: Vec<StepSpec>,
        span: Span,
    },
    Swap {
        a: usize,
        b: usize,
        span: Span,
    },
}

/// The result of building: slots and steps.
pub(crate) struct Built {
    pub slots: Vec<Slot>,
    pub steps: Vec<StepSpec>,
    /// The dtype of the result expression, if the program ends with one.
    pub result: Option<DType>,
}

/// Builds `program` for the caller arrays in `sig`.
pub(crate) fn build(program: &Program, sig: &Signature) -> Result<Built> {
    let mut materialize = HashSet::new();
    let kernels = crate::lower::kernel::Scope::of_program(&program.kernels)?;
    // Each round can only add intermediates to materialize, and there are finitely many.
    loop {
        let mut b = Builder::new(sig, &materialize, kernels.clone());
        match b.block(&program.stmts, true) {
            Ok(steps) => {
                return Ok(Built {
                    slots: b.slots,
                    steps,
                    result: b.result,
                })
            }
            Err(e) if !is_restart(&e) => return Err(e),
            Err(_) => {}
        }
        let before = materialize.len();
        materialize.extend(b.need);
        if materialize.len() == before {
            return Err(Error::new(
                ErrorKind::Internal,
                "materializing intermediates did not converge",
            ));
        }
    }
}

/// The caller's arrays as the first slots, in signature order.
fn caller_slots(sig: &Signature) -> Vec<Slot> {
    sig.inputs()
        .iter()
        .map(|i| Slot {
            name: i.name.clone(),
            dtype: i.dtype,
            rank: i.rank,
            kind: SlotKind::Caller {
                writable: i.writable,
            },
        })
        .collect()
}

/// What a name means at a point of the program.
#[derive(Debug, Clone, Copy)]
enum Binding {
    Memory(usize),
    Local(usize),
    /// Bound inside a loop that has ended.
    LoopLocal,
}

/// An intermediate: an expression and what its names meant when it was bound.
struct Local {
    expr: Expr,
    /// Names in `expr` bound to intermediates then.
    env: HashMap<String, usize>,
    /// The memory it reads directly, with each slot's version when it was bound.
    reads: Vec<(usize, u32)>,
    /// A slot holding exactly its value, at that slot's version.
    stored_in: Option<(usize, u32)>,
    /// The binding statement (by span start): identifies it across builds.
    key: usize,
    /// Whether a later build can store it in a temporary of its own (`t = ...`). An output's
    /// new value (`o = ...`, `o *= a`) cannot: when it goes stale, the intermediates that read
    /// it are stored instead.
    materializable: bool,
}

struct Group {
    lw: Lowerer,
    memo: HashMap<usize, (NodeId, Ty)>,
    targets: Vec<TargetSpec>,
    roots: Vec<NodeId>,
    written: HashSet<usize>,
    partial: HashSet<usize>,
    /// Outputs written whole in this group: name → slot (their name means the new value).
    ssa: Vec<(String, usize, usize)>,
}

struct Builder<'m> {
    slots: Vec<Slot>,
    scope: HashMap<String, Binding>,
    locals: Vec<Local>,
    version: Vec<u32>,
    materialize: &'m HashSet<usize>,
    need: HashSet<usize>,
    /// Temp slot per materialized intermediate (by key).
    temps: HashMap<usize, usize>,
    group: Option<Group>,
    out: Vec<StepSpec>,
    result: Option<DType>,
    /// The program's kernels, which its statements may call.
    kernels: crate::lower::kernel::Scope,
}

/// Raised while lowering an intermediate that must be materialized: the build restarts.
fn restart() -> Error {
    Error::new(ErrorKind::Internal, RESTART)
}

const RESTART: &str = "restart the build materializing more intermediates";

/// Raised by a stale intermediate that cannot be stored itself: the intermediate that reads
/// it (the caller's lowering) is to be stored instead.
fn restart_outer() -> Error {
    Error::new(ErrorKind::Internal, RESTART_OUTER)
}

const RESTART_OUTER: &str =
    "materializing intermediates did not converge (an output's stale value read directly)";

fn is_restart(e: &Error) -> bool {
    e.kind() == ErrorKind::Internal && e.message() == RESTART
}

fn is_restart_outer(e: &Error) -> bool {
    e.kind() == ErrorKind::Internal && e.message() == RESTART_OUTER
}

impl<'m> Builder<'m> {
    fn new(
        sig: &Signature,
        materialize: &'m HashSet<usize>,
        kernels: crate::lower::kernel::Scope,
    ) -> Builder<'m> {
        let slots = caller_slots(sig);
        let scope = slots
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), Binding::Memory(i)))
            .collect();
        Builder {
            version: vec![0; slots.len()],
            slots,
            scope,
            locals: Vec::new(),
            materialize,
            need: HashSet::new(),
            temps: HashMap::new(),
            group: None,
            out: Vec::new(),
            result: None,
            kernels,
        }
    }

    fn add_slot(&mut self, slot: Slot) -> usize {
        self.slots.push(slot);
        self.version.push(0);
        self.slots.len() - 1
    }

    /// Builds a block; returns its steps.
    fn block(&mut self, stmts: &[Stmt], top: bool) -> Result<Vec<StepSpec>> {
        let saved = std::mem::take(&mut self.out);
        for (i, stmt) in stmts.iter().enumerate() {
            self.statement(stmt, top && i + 1 == stmts.len())?;
        }
        self.close_group()?;
        Ok(std::mem::replace(&mut self.out, saved))
    }

    fn statement(&mut self, stmt: &Stmt, last: bool) -> Result<()> {
        match &stmt.kind {
            StmtKind::Assign { target, value } => self.assign(target, value, stmt.span),
            StmtKind::Expr(e) => {
                if !last {
                    return Err(Error::at(
                        ErrorKind::Syntax,
                        stmt.span,
                        "an expression statement must be the program's last statement (its value is the result); assign it to a name",
                    ));
                }
                self.check_barrier(e, None)?;
                let (node, ty) = self.lower_in_group(e)?;
                let g = self
                    .group
                    .as_mut()
                    .unwrap_or_else(|| unreachable!("opened"));
                self.result = Some(ty.dtype);
                g.roots.push(node);
                g.targets.push(TargetSpec {
                    kind: TargetKind::Result,
                    span: stmt.span,
                });
                Ok(())
            }
            StmtKind::Swap { a, b } => {
                self.close_group()?;
                let sa = self.writable_slot(&a.0, a.1, "swap")?;
                let sb = self.writable_slot(&b.0, b.1, "swap")?;
                let (da, db) = (&self.slots[sa], &self.slots[sb]);
                if da.dtype != db.dtype || da.rank != db.rank {
                    return Err(Error::at(
                        ErrorKind::Type,
                        stmt.span,
                        format!(
                            "cannot swap `{}` ({} with {} dimensions) and `{}` ({} with {})",
                            da.name, da.dtype, da.rank, db.name, db.dtype, db.rank
                        ),
                    ));
                }
                self.version[sa] += 1;
                self.version[sb] += 1;
                self.out.push(StepSpec::Swap {
                    a: sa,
                    b: sb,
                    span: stmt.span,
                });
                Ok(())
            }
            StmtKind::For {
                var,
                var_span,
                range,
                body,
            } => self.for_loop(var, *var_span, range, body, stmt.span),
        }
    }

    fn for_loop(
        &mut self,
        var: &str,
        var_span: Span,
        range: &[Expr],
        body: &[Stmt],
        span: Span,
    ) -> Result<()> {
        self.close_group()?;
        if let Some(Binding::Memory(s)) = self.scope.get(var) {
            if matches!(self.slots[*s].kind, SlotKind::Caller { .. }) {
                return Err(Error::at(
                    ErrorKind::Type,
                    var_span,
                    format!("the loop variable `{var}` would hide the variable `{var}`"),
                ));
            }
        }
        let range = range
            .iter()
            .map(|e| self.scalar_graph(e))
            .collect::<Result<Vec<_>>>()?;
        let slot = self.add_slot(Slot {
            name: var.to_string(),
            dtype: DType::Int64,
            rank: 0,
            kind: SlotKind::LoopVar,
        });
        // Memory written anywhere in the body changes between iterations: what was bound
        // before the loop and reads it is stale inside the loop.
        let mut written = Vec::new();
        self.written_in(body, &mut written);
        written.push(slot);
        for &s in &written {
            self.version[s] += 1;
        }
        let outer_scope = self.scope.clone();
        self.scope.insert(var.to_string(), Binding::Memory(slot));
        let steps = self.block(body, false)?;
        for &s in &written {
            self.version[s] += 1;
        }
        // Names bound in the body do not survive it (their last value is not kept).
        let inner: Vec<String> = self
            .scope
            .keys()
            .filter(|n| match (self.scope.get(*n), outer_scope.get(*n)) {
                (Some(Binding::Memory(a)), Some(Binding::Memory(b))) => a != b,
                (Some(Binding::Local(a)), Some(Binding::Local(b))) => a != b,
                (Some(_), None) => true,
                _ => false,
            })
            .cloned()
            .collect();
        self.scope = outer_scope;
        for n in inner {
            self.scope.insert(n, Binding::LoopLocal);
        }
        self.out.push(StepSpec::Loop {
            var: slot,
            range,
            body: steps,
            span,
        });
        Ok(())
    }

    /// Slots a block writes or swaps (caller outputs named in it).
    fn written_in(&self, stmts: &[Stmt], out: &mut Vec<usize>) {
        for s in stmts {
            let names: Vec<&str> = match &s.kind {
                StmtKind::Assign { target, .. } => vec![&target.name],
                StmtKind::Swap { a, b } => vec![&a.0, &b.0],
                StmtKind::For { body, .. } => {
                    self.written_in(body, out);
                    vec![]
                }
                StmtKind::Expr(_) => vec![],
            };
            for n in names {
                if let Some(Binding::Memory(slot)) = self.scope.get(n) {
                    out.push(*slot);
                }
            }
        }
    }

    /// A 0-d integer graph for a `range` argument, over the current slots.
    fn scalar_graph(&mut self, e: &Expr) -> Result<Graph> {
        let mut lw = Lowerer::new(self.decls());
        lw.kernels = self.kernels.clone();
        let mut memo = HashMap::new();
        lw.locals = self.locals_for(e, &mut lw, &mut memo)?;
        let (node, ty) = lw.expr(e)?;
        let n = lw.g.node(node);
        if n.rank != 0 || !ty.dtype.is_int() {
            return Err(Error::at(
                ErrorKind::Type,
                e.span,
                format!(
                    "a `range` argument must be an integer scalar, not {} with {} dimensions",
                    ty.dtype, n.rank
                ),
            ));
        }
        let node = lw.cast(node, ty, DType::Int64)?;
        lw.g.root = node;
        Ok(opt::optimize(&lw.g))
    }

    /// The slot named `name` (a caller array or a loop variable in scope), if any.
    fn named_slot(&self, name: &str) -> Option<usize> {
        self.slots.iter().rposition(|s| {
            s.name == name
                && match s.kind {
                    SlotKind::Caller { .. } => true,
                    SlotKind::LoopVar => matches!(self.scope.get(name), Some(Binding::Memory(_))),
                    SlotKind::Temp => false,
                }
        })
    }

    fn writable_slot(&self, name: &str, span: Span, what: &str) -> Result<usize> {
        match self.named_slot(name) {
            Some(s) => match self.slots[s].kind {
                SlotKind::Caller { writable: true } => Ok(s),
                SlotKind::Caller { writable: false } => Err(Error::at(
                    ErrorKind::Type,
                    span,
                    format!(
                        "cannot {what} `{name}`: it is an input; bind it as an output to write it (Vars::with_out)"
                    ),
                )),
                SlotKind::LoopVar => Err(Error::at(
                    ErrorKind::Type,
                    span,
                    format!("cannot {what} the loop variable `{name}`"),
                )),
                SlotKind::Temp => unreachable!("temporaries have no names in scope"),
            },
            None => Err(Error::at(
                ErrorKind::UnknownName,
                span,
                format!("cannot {what} `{name}`: only arrays bound as outputs can be swapped"),
            )),
        }
    }

    fn assign(&mut self, target: &Target, value: &Expr, span: Span) -> Result<()> {
        let slot = match self.named_slot(&target.name) {
            Some(_) => Some(self.writable_slot(&target.name, target.name_span, "assign to")?),
            None => None,
        };
        match (slot, &target.items) {
            (Some(slot), items) => {
                self.check_barrier(value, Some(slot))?;
                let key = span.start;
                let (whole, (node, ty)) = match items {
                    None => {
                        let local = self.new_local(value, key)?;
                        self.locals[local].materializable = false;
                        (Some(local), self.lower_local(local)?)
                    }
                    Some(_) => (None, self.lower_in_group(value)?),
                };
                let dtype = self.slots[slot].dtype;
                let g = self
                    .group
                    .as_mut()
                    .unwrap_or_else(|| unreachable!("opened"));
                let node = g.lw.cast(node, ty, dtype)?;
                g.roots.push(node);
                let kind = match (items, whole) {
                    (None, Some(local)) => {
                        g.written.insert(slot);
                        g.ssa.push((target.name.clone(), slot, local));
                        self.scope
                            .insert(target.name.clone(), Binding::Local(local));
                        TargetKind::Whole(slot)
                    }
                    (items, _) => {
                        let items = items.as_ref().unwrap_or_else(|| unreachable!("a slice"));
                        g.partial.insert(slot);
                        TargetKind::Slice(slot, items.clone())
                    }
                };
                let g = self
                    .group
                    .as_mut()
                    .unwrap_or_else(|| unreachable!("opened"));
                g.targets.push(TargetSpec {
                    kind,
                    span: target.span,
                });
                Ok(())
            }
            (None, Some(_)) => Err(Error::at(
                ErrorKind::UnknownName,
                target.name_span,
                format!(
                    "cannot assign to part of `{}`: it is not an array bound as an output",
                    target.name
                ),
            )),
            (None, None) => {
                let key = span.start;
                let materialize = self.materialize.contains(&key);
                if materialize {
                    // Before binding: a barrier here closes the group and moves the versions
                    // of what it wrote, which the intermediate must read as of after it
                    // (`o[...] = 1` then `t = o + 1` went stale at once, and never converged).
                    self.check_barrier(value, None)?;
                }
                let local = self.new_local(value, key)?;
                if materialize {
                    let (node, ty) = self.lower_local(local)?;
                    let rank = self.group_graph().node(node).rank;
                    let temp = match self.temps.get(&key) {
                        Some(&t) => t,
                        None => {
                            let t = self.add_slot(Slot {
                                name: format!("{}#{key}", target.name),
                                dtype: ty.dtype,
                                rank,
                                kind: SlotKind::Temp,
                            });
                            self.temps.insert(key, t);
                            t
                        }
                    };
                    let g = self
                        .group
                        .as_mut()
                        .unwrap_or_else(|| unreachable!("opened"));
                    g.roots.push(node);
                    g.written.insert(temp);
                    g.ssa.push((String::new(), temp, local));
                    g.targets.push(TargetSpec {
                        kind: TargetKind::Temp(temp),
                        span: target.span,
                    });
                }
                self.scope
                    .insert(target.name.clone(), Binding::Local(local));
                Ok(())
            }
        }
    }
}
