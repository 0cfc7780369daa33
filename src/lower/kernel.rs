//! Kernels (`def`) → [`KernelIr`], typed for the dtypes of each call.
//!
//! Types are static and NumPy's: a parameter takes its argument's dtype; a local's dtype is the
//! promotion of everything assigned to it (found by re-typing the body until no local widens —
//! dtypes only widen and there are five, so this ends); mixing bool and numbers in one local is
//! a type error naming both assignments. The result dtype is the promotion of the `return`
//! values (Python literals stay weak, NEP 50). A kernel sees only its parameters and locals,
//! may call the kernels defined before it (so no recursion), and holds no reductions,
//! generators or subscripts.

use std::sync::Arc;

use super::Lowerer;
use crate::core::dtype::{DType, Ty};
use crate::core::error::{Error, ErrorKind, Result, Span};
use crate::ir::kernel::{KStep, KernelIr};
use crate::ir::{Graph, InputDecl, NodeId, NodeKind};
use crate::ops::{Generator, Op, ReduceOp};
use crate::opt;
use crate::parse::ast::{Expr, ExprKind, KStmt, KStmtKind, KernelDef, Kwarg};
use crate::parse::names::expr_names;

/// The kernels a call can reach from where it stands.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    defs: Arc<[KernelDef]>,
    /// Calls reach `defs[..visible]`: all of them from the program's statements, the ones
    /// defined earlier from inside a kernel.
    visible: usize,
    /// The kernel being lowered, if any.
    inside: Option<usize>,
}

impl Scope {
    /// Every kernel of a program, as its statements see them. Checks the definitions' names.
    pub fn of_program(defs: &[KernelDef]) -> Result<Scope> {
        for (i, def) in defs.iter().enumerate() {
            let taken = Op::function(&def.name).is_some()
                || ReduceOp::from_name(&def.name).is_some()
                || Generator::from_name(&def.name).is_some()
                || matches!(def.name.as_str(), "range" | "swap");
            if taken {
                return Err(Error::at(
                    ErrorKind::Type,
                    def.name_span,
                    format!(
                        "`{}` is a function of numjit: give the kernel another name",
                        def.name
                    ),
                ));
            }
            if defs[..i].iter().any(|d| d.name == def.name) {
                return Err(Error::at(
                    ErrorKind::Type,
                    def.name_span,
                    format!("kernel `{}` is defined twice", def.name),
                ));
            }
        }
        Ok(Scope {
            visible: defs.len(),
            defs: defs.into(),
            inside: None,
        })
    }

    /// The index of the kernel `name` (whether a call here may reach it is `call_kernel`'s
    /// check, which names the reason).
    pub fn find(&self, name: &str) -> Option<usize> {
        self.defs.iter().position(|d| d.name == name)
    }

    /// The name of the kernel being lowered, if any.
    pub fn inside(&self) -> Option<&str> {
        self.inside.map(|i| self.defs[i].name.as_str())
    }

    fn within(&self, index: usize) -> Scope {
        Scope {
            defs: self.defs.clone(),
            visible: index,
            inside: Some(index),
        }
    }
}

impl Lowerer {
    /// `name(args)` for a kernel: types the kernel for the arguments' dtypes and applies it
    /// elementwise (the arguments broadcast like any function's).
    pub(super) fn call_kernel(
        &mut self,
        index: usize,
        func_span: Span,
        args: &[Expr],
        kwargs: &[Kwarg],
        span: Span,
    ) -> Result<(NodeId, Ty)> {
        let defs = self.kernels.defs.clone();
        let def = &defs[index];
        if index >= self.kernels.visible {
            let caller = self.kernels.inside().unwrap_or_default();
            let message = if Some(index) == self.kernels.inside {
                format!("kernel `{caller}` calls itself: kernels cannot be recursive")
            } else {
                format!(
                    "kernel `{caller}` calls `{}`, which is defined after it: a kernel may call only the kernels defined before it (so none is recursive)",
                    def.name
                )
            };
            return Err(Error::at(ErrorKind::Type, func_span, message));
        }
        if let Some(kw) = kwargs.first() {
            return Err(Error::at(
                ErrorKind::Arity,
                kw.name_span,
                format!("kernel `{}` takes no keyword arguments", def.name),
            ));
        }
        if args.len() != def.params.len() {
            return Err(Error::at(
                ErrorKind::Arity,
                span,
                format!(
                    "kernel `{}` takes {} argument{}, got {}",
                    def.name,
                    def.params.len(),
                    if def.params.len() == 1 { "" } else { "s" },
                    args.len()
                ),
            ));
        }
        let lowered = args
            .iter()
            .map(|a| self.expr(a))
            .collect::<Result<Vec<_>>>()?;
        let dtypes: Vec<DType> = lowered.iter().map(|a| a.1.dtype).collect();
        if let Some(k) = dtypes.iter().position(|d| d.is_bytes()) {
            return Err(Error::at(
                ErrorKind::Type,
                args[k].span,
                format!(
                    "kernel `{}` cannot take {}: kernels compute with numbers and bools",
                    def.name, dtypes[k]
                ),
            ));
        }
        let typed = instantiate(&self.kernels.within(index), &dtypes);
        let kernel = Arc::new(match &def.source {
            // A kernel defined elsewhere: its errors point into its own text.
            Some(text) => typed.map_err(|e| e.with_source(text))?,
            None => typed?,
        });
        if let Some((name, d)) = kernel
            .locals
            .iter()
            .map(|(n, d)| (n.as_str(), *d))
            .chain([("its result", kernel.result)])
            .find(|(_, d)| d.is_complex())
        {
            return Err(Error::at(
                ErrorKind::Type,
                span,
                format!(
                    "kernel `{}`: `{name}` would be {d}, and kernels do not compute with complex numbers yet",
                    def.name
                ),
            ));
        }
        let rank = lowered.iter().map(|a| self.rank(a.0)).max().unwrap_or(0);
        let dtype = kernel.result;
        let args = lowered.into_iter().map(|a| a.0).collect();
        let id = self.push(NodeKind::Call(kernel, args), dtype, rank, span);
        Ok((id, Ty::strong(dtype)))
    }
}

/// What typing learned about a local.
#[derive(Debug, Clone, Copy)]
struct Local {
    dtype: DType,
    /// Where it got the dtype it has (its first assignment, or its latest widening).
    span: Span,
}

/// Types and lowers one kernel body.
struct Typer<'s> {
    scope: &'s Scope,
    def: &'s KernelDef,
    /// Locals by name, in order of first assignment (parameters first).
    names: Vec<String>,
    types: Vec<Option<Local>>,
    result: Option<Ty>,
    /// The result dtype once typing has converged (the last pass casts every `return` to it).
    final_result: Option<DType>,
    /// Every name the body assigns somewhere (to tell a read too early from an unknown name).
    assigned: Vec<String>,
    /// A local widened in this pass: type the body again.
    widened: bool,
    /// Loops open around the statement being typed.
    loops: usize,
}

/// The kernel `scope.inside`, typed for arguments of `dtypes`.
fn instantiate(scope: &Scope, dtypes: &[DType]) -> Result<KernelIr> {
    let index = scope
        .inside
        .unwrap_or_else(|| unreachable!("within a kernel"));
    let def = &scope.defs[index];
    let mut t = Typer {
        scope,
        def,
        names: def.params.iter().map(|p| p.0.clone()).collect(),
        types: def
            .params
            .iter()
            .zip(dtypes)
            .map(|(p, &dtype)| Some(Local { dtype, span: p.1 }))
            .collect(),
        result: None,
        final_result: None,
        assigned: assigned_names(&def.body),
        widened: false,
        loops: 0,
    };
    // Type until nothing widens, then lower once more with the final dtypes.
    loop {
        t.widened = false;
        t.result = None;
        t.block(&def.body)?;
        if !t.widened {
            break;
        }
    }
    t.final_result = t.result.map(|r| r.dtype);
    let body = t.block(&def.body)?;
    if !always_returns(&def.body) {
        return Err(Error::at(
            ErrorKind::Type,
            def.span,
            format!(
                "kernel `{}` can reach its end without `return`: every path must return a value",
                def.name
            ),
        ));
    }
    let result = t
        .result
        .unwrap_or_else(|| unreachable!("a kernel that returns"));
    Ok(KernelIr {
        name: def.name.clone(),
        locals: t
            .names
            .iter()
            .zip(&t.types)
            .map(|(n, ty)| (n.clone(), ty.map_or(DType::Int64, |l| l.dtype)))
            .collect(),
        params: def.params.len(),
        result: result.dtype,
        body,
    })
}

impl Typer<'_> {
    fn block(&mut self, stmts: &[KStmt]) -> Result<Vec<KStep>> {
        stmts
            .iter()
            .filter_map(|s| self.statement(s).transpose())
            .collect()
    }

    fn statement(&mut self, stmt: &KStmt) -> Result<Option<KStep>> {
        Ok(Some(match &stmt.kind {
            KStmtKind::Assign { targets, values } => {
                // Every value is computed before any name is set.
                let lowered = values
                    .iter()
                    .map(|v| self.expr(v))
                    .collect::<Result<Vec<_>>>()?;
                let mut sets = Vec::with_capacity(targets.len());
                for ((name, span), (g, ty)) in targets.iter().zip(lowered) {
                    let local = self.assign(name, *span, ty, stmt.span)?;
                    let dtype = self.types[local].map_or(ty.dtype, |l| l.dtype);
                    sets.push((local, self.cast_root(g, ty, dtype)?));
                }
                KStep::Set(sets)
            }
            KStmtKind::If { branches, orelse } => {
                // `if a: … elif b: … else: …` is `if a: … else: (if b: … else: …)`.
                let mut tail = self.block(orelse)?;
                let mut lowered = Vec::with_capacity(branches.len());
                for (cond, body) in branches {
                    lowered.push((self.condition(cond)?, self.block(body)?));
                }
                for (cond, then) in lowered.into_iter().rev() {
                    tail = vec![KStep::If {
                        cond,
                        then,
                        orelse: tail,
                    }];
                }
                return Ok(tail.pop());
            }
            KStmtKind::While { cond, body } => {
                let cond = self.condition(cond)?;
                self.loops += 1;
                let body = self.block(body);
                self.loops -= 1;
                KStep::While { cond, body: body? }
            }
            KStmtKind::For {
                var,
                var_span,
                range,
                body,
            } => {
                let mut bounds = Vec::with_capacity(3);
                for e in range {
                    let (g, ty) = self.expr(e)?;
                    if !ty.dtype.is_int() {
                        return Err(Error::at(
                            ErrorKind::Type,
                            e.span,
                            format!("a `range` argument must be an integer, not {}", ty.dtype),
                        ));
                    }
                    bounds.push(self.cast_root(g, ty, DType::Int64)?);
                }
                let one = |t: &mut Self| t.constant_graph(1);
                let (start, stop, step) = match bounds.len() {
                    1 => (self.constant_graph(0), bounds.remove(0), one(self)),
                    2 => {
                        let stop = bounds.remove(1);
                        (bounds.remove(0), stop, one(self))
                    }
                    _ => {
                        let step = bounds.remove(2);
                        let stop = bounds.remove(1);
                        (bounds.remove(0), stop, step)
                    }
                };
                let var = self.assign(var, *var_span, Ty::strong(DType::Int64), stmt.span)?;
                self.loops += 1;
                let body = self.block(body);
                self.loops -= 1;
                KStep::For {
                    var,
                    start,
                    stop,
                    step,
                    body: body?,
                }
            }
            KStmtKind::Break | KStmtKind::Continue if self.loops == 0 => {
                let word = if matches!(stmt.kind, KStmtKind::Break) {
                    "break"
                } else {
                    "continue"
                };
                return Err(Error::at(
                    ErrorKind::Syntax,
                    stmt.span,
                    format!("`{word}` outside a loop"),
                ));
            }
            KStmtKind::Break => KStep::Break,
            KStmtKind::Continue => KStep::Continue,
            KStmtKind::Pass => return Ok(None),
            KStmtKind::Return(e) => {
                let (g, ty) = self.expr(e)?;
                let result = self.result.map_or(ty, |r| r.promote(ty));
                self.result = Some(result);
                // Earlier passes only type; the last casts to the result's final dtype.
                let dtype = self.final_result.unwrap_or(result.dtype);
                return Ok(Some(KStep::Return(self.cast_root(g, ty, dtype)?)));
            }
        }))
    }

    /// Records an assignment of a value of type `ty` to `name`; its local's index.
    fn assign(&mut self, name: &str, span: Span, ty: Ty, stmt: Span) -> Result<usize> {
        let index = match self.names.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                self.names.push(name.to_string());
                self.types.push(None);
                self.names.len() - 1
            }
        };
        match self.types[index] {
            None => {
                self.types[index] = Some(Local {
                    dtype: ty.dtype,
                    span,
                });
                self.widened = true;
            }
            Some(old) => {
                if (old.dtype == DType::Bool) != (ty.dtype == DType::Bool) {
                    return Err(mixed_bool(
                        &format!("`{name}`"),
                        old.span,
                        stmt,
                        old.dtype,
                        ty.dtype,
                    ));
                }
                let dtype = Ty::strong(old.dtype).promote(ty).dtype;
                if dtype != old.dtype {
                    self.types[index] = Some(Local { dtype, span: stmt });
                    self.widened = true;
                }
            }
        }
        Ok(index)
    }

    /// Lowers an expression over the locals assigned so far (in source order).
    fn expr(&self, e: &Expr) -> Result<(Graph, Ty)> {
        for name in expr_names(e) {
            let known = self.names.iter().position(|n| *n == name);
            if known.is_none() && self.assigned.contains(&name) {
                return Err(Error::at(
                    ErrorKind::UnknownName,
                    name_span(e, &name).unwrap_or(e.span),
                    format!("`{name}` is read before it is assigned"),
                ));
            }
        }
        let inputs = self
            .names
            .iter()
            .zip(&self.types)
            .map(|(name, ty)| InputDecl {
                // A local not assigned yet reads as no name at all.
                name: if ty.is_some() {
                    name.clone()
                } else {
                    String::new()
                },
                dtype: ty.map_or(DType::Int64, |l| l.dtype),
                rank: 0,
                view: None,
                literal: None,
            })
            .collect();
        let mut lw = Lowerer::new(inputs);
        lw.kernels = self.scope.clone();
        let (root, ty) = lw.expr(e)?;
        lw.g.root = root;
        if lw.g.node(root).rank != 0 {
            // Its inputs are 0-d and arrays cannot be made inside it: a bug if reached.
            return Err(Error::at(
                ErrorKind::Internal,
                e.span,
                "a kernel expression has dimensions",
            ));
        }
        Ok((lw.g, ty))
    }

    /// `g`'s value as `dtype` (a weak literal must fit an integer dtype), optimized.
    fn cast_root(&self, g: Graph, ty: Ty, dtype: DType) -> Result<Graph> {
        let mut lw = Lowerer::new(g.inputs.clone());
        lw.g = g;
        lw.g.root = lw.cast(lw.g.root, ty, dtype)?;
        Ok(opt::optimize(&lw.g))
    }

    /// A condition: the expression's truth (`x != 0` for numbers, as Python's `if x:`).
    fn condition(&self, e: &Expr) -> Result<Graph> {
        let (g, ty) = self.expr(e)?;
        self.cast_root(g, ty, DType::Bool)
    }

    fn constant_graph(&self, v: i64) -> Graph {
        let mut lw = Lowerer::new(Vec::new());
        lw.g.root = lw.constant(crate::core::dtype::Scalar::I64(v), self.def.span);
        lw.g
    }
}

fn mixed_bool(what: &str, first: Span, then: Span, a: DType, b: DType) -> Error {
    Error::at(
        ErrorKind::Type,
        then,
        format!(
            "{what} is {a} (from byte {}) but is given {b} here: a kernel does not mix bool and numbers in one name",
            first.start
        ),
    )
}

/// The names `stmts` assign, loops' variables included.
fn assigned_names(stmts: &[KStmt]) -> Vec<String> {
    let mut out = Vec::new();
    for s in stmts {
        match &s.kind {
            KStmtKind::Assign { targets, .. } => out.extend(targets.iter().map(|t| t.0.clone())),
            KStmtKind::If { branches, orelse } => {
                for (_, b) in branches {
                    out.extend(assigned_names(b));
                }
                out.extend(assigned_names(orelse));
            }
            KStmtKind::While { body, .. } => out.extend(assigned_names(body)),
            KStmtKind::For { var, body, .. } => {
                out.push(var.clone());
                out.extend(assigned_names(body));
            }
            _ => {}
        }
    }
    out
}

/// The span of the first occurrence of the bare name `name` in `e`.
fn name_span(e: &Expr, name: &str) -> Option<Span> {
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        match &e.kind {
            ExprKind::Name(n) if n == name => return Some(e.span),
            ExprKind::Unary { arg, .. } => stack.push(arg),
            ExprKind::Index { base, .. } => stack.push(base),
            ExprKind::Binary { lhs, rhs, .. } => stack.extend([&**rhs, &**lhs]),
            ExprKind::Call { args, kwargs, .. } => {
                stack.extend(kwargs.iter().rev().map(|k| &k.value));
                stack.extend(args.iter().rev());
            }
            _ => {}
        }
    }
    None
}

/// True when every path through `stmts` ends in a `return` (or in `while True:` without a
/// `break`).
fn always_returns(stmts: &[KStmt]) -> bool {
    stmts.iter().any(|s| match &s.kind {
        KStmtKind::Return(_) => true,
        KStmtKind::If { branches, orelse } => {
            !orelse.is_empty()
                && always_returns(orelse)
                && branches.iter().all(|(_, b)| always_returns(b))
        }
        KStmtKind::While { cond, body } => {
            matches!(cond.kind, ExprKind::Bool(true)) && !breaks(body)
        }
        _ => false,
    })
}

/// True when `stmts` hold a `break` of the loop around them (not of a loop inside).
fn breaks(stmts: &[KStmt]) -> bool {
    stmts.iter().any(|s| match &s.kind {
        KStmtKind::Break => true,
        KStmtKind::If { branches, orelse } => {
            breaks(orelse) || branches.iter().any(|(_, b)| breaks(b))
        }
        _ => false,
    })
}
