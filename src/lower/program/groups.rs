//! The open group and the program's intermediates: lowering a statement into the group's
//! graph, binding intermediates and deciding which must be materialized, the barriers that
//! start a new group, and closing a group into a step.

use std::collections::{HashMap, HashSet};

use crate::core::dtype::Ty;
use crate::core::error::{Error, ErrorKind, Result, Span};
use crate::ir::{Graph, InputDecl, NodeId};
use crate::lower::Lowerer;
use crate::opt;
use crate::parse::ast::{Expr, ExprKind};

use super::*;

impl Builder<'_> {
    pub(super) fn group_graph(&self) -> &Graph {
        &self
            .group
            .as_ref()
            .unwrap_or_else(|| unreachable!("opened"))
            .lw
            .g
    }

    /// Binds `expr` as a new intermediate (not lowered until used).
    pub(super) fn new_local(&mut self, expr: &Expr, key: usize) -> Result<usize> {
        let mut env = HashMap::new();
        let mut reads = Vec::new();
        for (name, span, indexed) in free_names(expr) {
            match self.scope.get(&name) {
                // An intermediate it names checks its own reads when lowered.
                Some(Binding::Local(l)) => {
                    // But a subscript of an output's new value reads the output's memory, once
                    // the group that writes it has run: a read to check too (else a later
                    // rewrite of the output changed what `t = o[None] + 1` saw).
                    if indexed {
                        let in_group = self
                            .group
                            .as_ref()
                            .and_then(|g| g.ssa.iter().find(|(n, ..)| *n == name))
                            .map(|(_, s, _)| (*s, self.version[*s] + 1));
                        if let Some(read) = in_group.or(self.locals[*l].stored_in) {
                            reads.push(read);
                        }
                    }
                    env.insert(name, *l);
                }
                Some(Binding::Memory(s)) => reads.push((*s, self.version[*s])),
                Some(Binding::LoopLocal) => return Err(loop_local(&name, span)),
                None => {}
            }
        }
        reads.sort_unstable();
        reads.dedup();
        self.locals.push(Local {
            expr: expr.clone(),
            env,
            reads,
            stored_in: None,
            key,
            materializable: true,
        });
        Ok(self.locals.len() - 1)
    }

    /// Starts a new group before a statement that reads (whole or by subscript) what the
    /// current group wrote in part, or subscripts what it wrote at all, or writes `target`
    /// again.
    pub(super) fn check_barrier(&mut self, value: &Expr, target: Option<usize>) -> Result<()> {
        let conflict = match &self.group {
            None => false,
            Some(g) => {
                target.is_some_and(|t| g.written.contains(&t) || g.partial.contains(&t))
                    || self.memory_reads(value).into_iter().any(|(slot, indexed)| {
                        g.partial.contains(&slot) || (indexed && g.written.contains(&slot))
                    })
            }
        };
        if conflict {
            self.close_group()?;
        }
        if self.group.is_none() {
            let mut lw = Lowerer::new(self.decls());
            lw.kernels = self.kernels.clone();
            self.group = Some(Group {
                lw,
                memo: HashMap::new(),
                targets: Vec::new(),
                roots: Vec::new(),
                written: HashSet::new(),
                partial: HashSet::new(),
                ssa: Vec::new(),
            });
        }
        Ok(())
    }

    /// The slots `expr` reads (through intermediates too), and whether it subscripts them.
    pub(super) fn memory_reads(&self, expr: &Expr) -> Vec<(usize, bool)> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        self.collect_reads(expr, None, &mut out, &mut seen);
        out
    }

    /// The reads of `expr`: its names mean what the current scope says, or, for an
    /// intermediate's expression (`env` its environment), its intermediates or else memory.
    pub(super) fn collect_reads(
        &self,
        expr: &Expr,
        env: Option<&HashMap<String, usize>>,
        out: &mut Vec<(usize, bool)>,
        seen: &mut HashSet<usize>,
    ) {
        for (name, _, indexed) in free_names(expr) {
            let binding = match env {
                None => self.scope.get(&name).copied(),
                Some(env) => env.get(&name).map(|&l| Binding::Local(l)).or_else(|| {
                    self.slots
                        .iter()
                        .rposition(|s| s.name == name && s.kind != SlotKind::Temp)
                        .map(Binding::Memory)
                }),
            };
            match binding {
                Some(Binding::Memory(s)) => out.push((s, indexed)),
                Some(Binding::Local(l)) => {
                    // A name written whole in this group means its new value: when subscripted,
                    // the subscript reads memory, which the group has not written yet.
                    if indexed {
                        if let Some(g) = &self.group {
                            if let Some((_, slot, _)) = g.ssa.iter().find(|(n, ..)| *n == name) {
                                out.push((*slot, true));
                            }
                        }
                    }
                    if seen.insert(l) {
                        let local = &self.locals[l];
                        self.collect_reads(&local.expr, Some(&local.env), out, seen);
                    }
                }
                _ => {}
            }
        }
    }

    pub(super) fn decls(&self) -> Vec<InputDecl> {
        self.slots
            .iter()
            .map(|s| InputDecl {
                name: s.name.clone(),
                dtype: s.dtype,
                rank: s.rank,
                view: None,
                literal: None,
            })
            .collect()
    }

    /// Lowers `e` into the current group with the current scope.
    pub(super) fn lower_in_group(&mut self, e: &Expr) -> Result<(NodeId, Ty)> {
        let mut g = self.group.take().unwrap_or_else(|| unreachable!("opened"));
        let r = (|| {
            let locals = self.locals_for(e, &mut g.lw, &mut g.memo)?;
            g.lw.locals = locals;
            let (id, ty) = g.lw.expr(e)?;
            if ty.dtype.is_bytes() {
                return Err(Error::at(
                    ErrorKind::Type,
                    e.span,
                    format!(
                        "a value of {} cannot be a result: byte strings are only compared \
                         (`s == b'x'`) or searched (`contains(s, b'x')`), which gives bool",
                        ty.dtype
                    ),
                ));
            }
            Ok((id, ty))
        })();
        self.group = Some(g);
        r
    }

    /// Lowers intermediate `l` into the current group.
    pub(super) fn lower_local(&mut self, l: usize) -> Result<(NodeId, Ty)> {
        let mut g = self.group.take().unwrap_or_else(|| unreachable!("opened"));
        let r = self.lower_local_in(l, &mut g.lw, &mut g.memo);
        self.group = Some(g);
        r
    }

    /// The nodes of the intermediates `e` names (by the current scope), lowered into `lw`.
    pub(super) fn locals_for(
        &mut self,
        e: &Expr,
        lw: &mut Lowerer,
        memo: &mut HashMap<usize, (NodeId, Ty)>,
    ) -> Result<HashMap<String, (NodeId, Ty)>> {
        let mut out = HashMap::new();
        for (name, span, _) in free_names(e) {
            match self.scope.get(&name).copied() {
                Some(Binding::Local(l)) => {
                    let n = self.lower_local_in(l, lw, memo)?;
                    out.insert(name, n);
                }
                Some(Binding::LoopLocal) => return Err(loop_local(&name, span)),
                _ => {}
            }
        }
        Ok(out)
    }

    pub(super) fn lower_local_in(
        &mut self,
        l: usize,
        lw: &mut Lowerer,
        memo: &mut HashMap<usize, (NodeId, Ty)>,
    ) -> Result<(NodeId, Ty)> {
        if let Some(&n) = memo.get(&l) {
            return Ok(n);
        }
        // As deep as the chain of locals: 10⁴ chained `u = u + 1` overflowed a 2 MiB thread.
        crate::core::stack::deep(|| self.lower_new_local(l, lw, memo))
    }

    /// [`Builder::lower_local_in`] for a local not lowered yet.
    fn lower_new_local(
        &mut self,
        l: usize,
        lw: &mut Lowerer,
        memo: &mut HashMap<usize, (NodeId, Ty)>,
    ) -> Result<(NodeId, Ty)> {
        let stale = self.locals[l]
            .reads
            .iter()
            .any(|&(s, v)| self.version[s] != v);
        // A value stored in its own temporary, still there, is read back whatever became of
        // what it read: `o *= a; t = o + 1; o[...] = 3; t` reads `t`'s temporary, since `o`'s
        // old value is gone.
        let in_temp = self.locals[l]
            .stored_in
            .is_some_and(|(s, v)| self.version[s] == v && self.slots[s].kind == SlotKind::Temp);
        let r = if stale || in_temp {
            match self.locals[l].stored_in {
                Some((s, v)) if self.version[s] == v => {
                    let name = self.slots[s].name.clone();
                    let saved = std::mem::take(&mut lw.locals);
                    let r = lw.expr(&Expr {
                        kind: ExprKind::Name(name),
                        span: self.locals[l].expr.span,
                    });
                    lw.locals = saved;
                    r?
                }
                _ if !self.locals[l].materializable => return Err(restart_outer()),
                _ => {
                    self.need.insert(self.locals[l].key);
                    return Err(restart());
                }
            }
        } else {
            let mut env = HashMap::new();
            let pairs: Vec<(String, usize)> = self.locals[l]
                .env
                .iter()
                .map(|(n, i)| (n.clone(), *i))
                .collect();
            for (name, i) in pairs {
                match self.lower_local_in(i, lw, memo) {
                    Err(e) if is_restart_outer(&e) && self.locals[l].materializable => {
                        self.need.insert(self.locals[l].key);
                        return Err(restart());
                    }
                    r => env.insert(name, r?),
                };
            }
            let saved = std::mem::replace(&mut lw.locals, env);
            let expr = self.locals[l].expr.clone();
            let r = lw.expr(&expr);
            lw.locals = saved;
            r?
        };
        memo.insert(l, r);
        Ok(r)
    }

    /// Ends the current group: its statements become one step.
    pub(super) fn close_group(&mut self) -> Result<()> {
        let Some(g) = self.group.take() else {
            return Ok(());
        };
        for &s in g.written.iter().chain(&g.partial) {
            self.version[s] += 1;
        }
        for (name, slot, local) in &g.ssa {
            self.locals[*local].stored_in = Some((*slot, self.version[*slot]));
            if !name.is_empty() {
                self.scope.insert(name.clone(), Binding::Memory(*slot));
            }
        }
        if g.roots.is_empty() {
            return Ok(());
        }
        let mut graph = g.lw.g;
        graph.root = g.roots[0];
        graph.roots = g.roots;
        self.out.push(StepSpec::Group(GroupSpec {
            graph: opt::optimize(&graph),
            targets: g.targets,
        }));
        Ok(())
    }
}

pub(super) fn loop_local(name: &str, span: Span) -> Error {
    Error::at(
        ErrorKind::UnknownName,
        span,
        format!(
            "`{name}` was bound inside a loop that has ended; assign it to an output array to keep its value"
        ),
    )
}

/// The names an expression reads: (name, span, subscripted). Function names are not names.
pub(super) fn free_names(e: &Expr) -> Vec<(String, Span, bool)> {
    let mut out = Vec::new();
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        match &e.kind {
            ExprKind::Name(n) => out.push((n.clone(), e.span, false)),
            ExprKind::Index { base, .. } => match &base.kind {
                ExprKind::Name(n) => out.push((n.clone(), base.span, true)),
                _ => stack.push(base),
            },
            ExprKind::Unary { arg, .. } => stack.push(arg),
            ExprKind::Binary { lhs, rhs, .. } => {
                stack.push(lhs);
                stack.push(rhs);
            }
            ExprKind::Call { args, kwargs, .. } => {
                stack.extend(args);
                stack.extend(kwargs.iter().map(|k| &k.value));
            }
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Imag(_)
            | ExprKind::Bool(_)
            | ExprKind::Str(_) => {}
        }
    }
    out
}
