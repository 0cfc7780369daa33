//! Subscripts and new axes: views of variables (`u[1:-1, ::2]`), and `None`/`...` on any
//! expression, pushed down to its leaves.

use crate::core::dtype::Ty;
use crate::core::error::{Error, ErrorKind, Result, Span};
use crate::ir::{InputDecl, InputView, NodeId, NodeKind};
use crate::parse::ast::{Expr, ExprKind, IndexItem, IndexKind};
use std::collections::HashMap;

use super::*;

impl Lowerer {
    /// `u[items]` on a variable becomes a derived input (a view made at bind time); the same
    /// subscript of the same variable written twice is one input. On any other expression the
    /// subscript may only add axes (see [`Lowerer::expand`]).
    pub(super) fn index(
        &mut self,
        base: &Expr,
        items: &[IndexItem],
        span: Span,
    ) -> Result<(NodeId, Ty)> {
        if let Some(k) = self.kernels.inside() {
            return Err(Error::at(
                ErrorKind::Type,
                span,
                format!("kernel `{k}` computes one element at a time: it cannot subscript arrays"),
            ));
        }
        let found = match &base.kind {
            ExprKind::Name(n) => self
                .g
                .inputs
                .iter()
                .position(|d| d.name == *n && d.view.is_none()),
            _ => None,
        };
        let Some(b) = found else {
            let (id, ty) = self.expr(base)?;
            return Ok((self.expand(id, items, span)?, ty));
        };
        check_one_ellipsis(items)?;
        if let Some(zero) = items
            .iter()
            .find(|i| matches!(i.kind, IndexKind::Slice { step: Some(0), .. }))
        {
            return Err(Error::at(
                ErrorKind::Value,
                zero.span,
                "slice step cannot be zero",
            ));
        }
        let (dtype, rank) = (self.g.inputs[b].dtype, self.g.inputs[b].rank);
        let count = |f: fn(&IndexKind) -> bool| items.iter().filter(|i| f(&i.kind)).count();
        let consumed = count(|k| matches!(k, IndexKind::Index(_) | IndexKind::Slice { .. }));
        if consumed > rank {
            return Err(Error::at(
                ErrorKind::Axis,
                span,
                format!(
                    "too many indices: `{}` has {rank} dimensions, but {consumed} were indexed",
                    self.g.inputs[b].name
                ),
            ));
        }
        let out_rank = rank - count(|k| matches!(k, IndexKind::Index(_)))
            + count(|k| *k == IndexKind::NewAxis);
        check_rank(out_rank, span)?;
        let i = self.view_input(b, items, out_rank, span);
        Ok((
            self.push(NodeKind::Input(i), dtype, out_rank, span),
            Ty::strong(dtype),
        ))
    }

    /// The input `base[items]` (of rank `rank`), made when the inputs are bound; an existing one
    /// with the same subscript is reused.
    pub(super) fn view_input(
        &mut self,
        base: usize,
        items: &[IndexItem],
        rank: usize,
        span: Span,
    ) -> usize {
        let same = |d: &InputDecl| {
            d.view.as_ref().is_some_and(|v| {
                v.base == base
                    && v.items
                        .iter()
                        .map(|i| i.kind)
                        .eq(items.iter().map(|i| i.kind))
            })
        };
        if let Some(i) = self.g.inputs.iter().position(same) {
            return i;
        }
        let name = format!(
            "{}[{}]",
            self.g.inputs[base].name,
            items
                .iter()
                .map(|i| fmt_item(&i.kind))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let dtype = self.g.inputs[base].dtype;
        self.g.inputs.push(InputDecl {
            name,
            dtype,
            rank,
            view: Some(InputView {
                base,
                items: items.to_vec(),
                span,
            }),
            literal: None,
        });
        self.g.inputs.len() - 1
    }

    /// `node[items]` where `items` are only `None`, `...` and full slices `:`: the value of
    /// `node` with new axes of size 1. Nothing is reshaped at run time: the axes are pushed down
    /// to the leaves, since an elementwise op commutes with adding axes once its operands are
    /// aligned as broadcasting aligns them. Variables become views (`a[None, :]`), iotas move
    /// their axis, 0-d nodes stay as they are.
    pub(crate) fn expand(
        &mut self,
        node: NodeId,
        items: &[IndexItem],
        span: Span,
    ) -> Result<NodeId> {
        check_one_ellipsis(items)?;
        let full_slice = |k: IndexKind| {
            matches!(
                k,
                IndexKind::Slice {
                    start: None,
                    stop: None,
                    step: None | Some(1)
                }
            )
        };
        if let Some(bad) = items.iter().find(|i| {
            !matches!(i.kind, IndexKind::NewAxis | IndexKind::Ellipsis) && !full_slice(i.kind)
        }) {
            return Err(Error::at(
                ErrorKind::Type,
                bad.span,
                "only a variable can take integer indices or slices (for now); index the variables instead",
            ));
        }
        let rank = self.rank(node);
        let kept = items.iter().filter(|i| full_slice(i.kind)).count();
        if kept > rank {
            return Err(Error::at(
                ErrorKind::Axis,
                span,
                format!("too many indices: the expression has {rank} dimensions, but {kept} were indexed"),
            ));
        }
        // Output axis j shows axis `placement[j]` of `node`, or is new (`None`).
        let mut placement: Vec<Option<usize>> = Vec::new();
        let mut axis = 0;
        for item in items {
            let take = match item.kind {
                IndexKind::NewAxis => {
                    placement.push(None);
                    0
                }
                IndexKind::Ellipsis => rank - kept,
                _ => 1,
            };
            for _ in 0..take {
                placement.push(Some(axis));
                axis += 1;
            }
        }
        placement.extend((axis..rank).map(Some));
        check_rank(placement.len(), span)?;
        if placement.len() == rank {
            return Ok(node); // `x[:]`, `x[...]`
        }
        if rank == 0 {
            let what = if matches!(self.g.node(node).kind, NodeKind::Reduce { .. }) {
                "a reduction result"
            } else {
                "a 0-d expression"
            };
            return Err(Error::at(
                ErrorKind::Type,
                span,
                format!("cannot add axes to {what} yet"),
            ));
        }
        self.push_axes(node, &placement, span, &mut HashMap::new())
    }

    /// [`Lowerer::expand`] of one node, after the subscript was checked.
    pub(super) fn push_axes(
        &mut self,
        id: NodeId,
        placement: &[Option<usize>],
        span: Span,
        memo: &mut HashMap<(NodeId, Vec<Option<usize>>), NodeId>,
    ) -> Result<NodeId> {
        let node = self.g.node(id).clone();
        if node.rank == 0 {
            return Ok(id); // broadcasts to any shape as it is
        }
        if let Some(&done) = memo.get(&(id, placement.to_vec())) {
            return Ok(done);
        }
        let kind = match node.kind {
            NodeKind::Input(i) => {
                let items: Vec<IndexItem> = placement
                    .iter()
                    .map(|p| IndexItem {
                        kind: match p {
                            Some(_) => IndexKind::Slice {
                                start: None,
                                stop: None,
                                step: None,
                            },
                            None => IndexKind::NewAxis,
                        },
                        span,
                    })
                    .collect();
                NodeKind::Input(self.view_input(i, &items, placement.len(), span))
            }
            NodeKind::Iota { axis, len } => NodeKind::Iota {
                axis: placement
                    .iter()
                    .position(|p| *p == Some(axis))
                    .unwrap_or_else(|| unreachable!("adding axes keeps every axis")),
                len,
            },
            NodeKind::Cast(a) => NodeKind::Cast(self.push_axes(a, placement, span, memo)?),
            NodeKind::Apply(_, ref args) | NodeKind::Call(_, ref args) => {
                let mut moved = Vec::with_capacity(args.len());
                for &a in args {
                    // Broadcasting aligns an operand of lower rank to the right: its axis
                    // `k - offset` is the node's axis `k`, and the node's first axes are new.
                    let offset = node.rank - self.rank(a);
                    let inner: Vec<Option<usize>> = placement
                        .iter()
                        .map(|p| p.and_then(|k| k.checked_sub(offset)))
                        .collect();
                    moved.push(self.push_axes(a, &inner, span, memo)?);
                }
                match node.kind {
                    NodeKind::Apply(op, _) => NodeKind::Apply(op, moved),
                    NodeKind::Call(ref k, _) => NodeKind::Call(k.clone(), moved),
                    _ => unreachable!("matched above"),
                }
            }
            NodeKind::Reduce { .. } => {
                return Err(Error::at(
                    ErrorKind::Type,
                    node.span,
                    "cannot add axes to a reduction result yet",
                ))
            }
            NodeKind::Const(_) => unreachable!("constants are 0-d"),
        };
        let out = self.push(kind, node.dtype, placement.len(), node.span);
        memo.insert((id, placement.to_vec()), out);
        Ok(out)
    }
}

/// At most one `...` in a subscript.
pub(super) fn check_one_ellipsis(items: &[IndexItem]) -> Result<()> {
    match items
        .iter()
        .filter(|i| i.kind == IndexKind::Ellipsis)
        .nth(1)
    {
        Some(second) => Err(Error::at(
            ErrorKind::Syntax,
            second.span,
            "an index can only have a single ellipsis (`...`)",
        )),
        None => Ok(()),
    }
}

pub(super) fn check_rank(rank: usize, span: Span) -> Result<()> {
    if rank > MAX_RANK {
        return Err(Error::at(
            ErrorKind::Limit,
            span,
            format!("the view has {rank} dimensions; at most {MAX_RANK} are supported"),
        ));
    }
    Ok(())
}

/// A subscript item as written: `1`, `1:-1`, `::2`, `None`, `...`.
pub(super) fn fmt_item(k: &IndexKind) -> String {
    let opt = |v: Option<i64>| v.map_or(String::new(), |v| v.to_string());
    match *k {
        IndexKind::Index(i) => i.to_string(),
        IndexKind::Slice {
            start,
            stop,
            step: None,
        } => format!("{}:{}", opt(start), opt(stop)),
        IndexKind::Slice { start, stop, step } => {
            format!("{}:{}:{}", opt(start), opt(stop), opt(step))
        }
        IndexKind::NewAxis => "None".into(),
        IndexKind::Ellipsis => "...".into(),
    }
}
