//! Splits an optimized graph into stages: one fused loop nest per reduction, and one for the result.
//!
//! A reduction's value feeds other elements, so it is materialized (its output is small next to its
//! input); everything else is fused into the loop nest of the stage that uses it. Stages run in
//! order; a later stage reads an earlier stage's buffer exactly like an input.

pub(crate) mod hoist;

use crate::core::dtype::DType;
use crate::ir::{Graph, NodeId, NodeKind};
use crate::ops::ReduceOp;

/// What a stage's loop nest does with the value it computes per element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StageKind {
    /// Stores the value into the output array.
    Map,
    /// Folds the value into a partial of dtype `acc` with `op`.
    Reduce {
        node: NodeId,
        op: ReduceOp,
        acc: DType,
    },
}

/// One loop nest.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stage {
    pub kind: StageKind,
    /// The node computed per element (for a map, the first of `stores`).
    pub value: NodeId,
    /// A map's values, each stored into its own output: operand `i` of the kernel is the
    /// output of `stores[i]` (one for an expression, one per target for a statement group).
    /// Empty for a reduction, whose operand 0 is its row of partials.
    pub stores: Vec<NodeId>,
    /// A map stage computing an interior node into a buffer of its own shape, read by the stages
    /// after it like a reduction's result: a subexpression of few elements broadcast over many
    /// (`sin(radians(lat))` with `lat` of shape (nlat, 1, 1)), computed once instead of per
    /// element (chosen at run time, see `hoist.rs`).
    pub hoisted: bool,
    /// The arrays read: inputs, earlier reductions and iotas (which read no memory but move
    /// like inputs), in node order. Operand `self.heads() + k` of the kernel is `leaves[k]`.
    pub leaves: Vec<NodeId>,
}

impl Stage {
    /// How many operands come before the leaves: the outputs of a map, the partials of a
    /// reduction.
    pub fn heads(&self) -> usize {
        self.stores.len().max(1)
    }

    /// Every node the loop nest reaches from its [`Stage::values`], each once: what it computes
    /// and the leaves it reads (not what lies behind them), in no particular order.
    pub fn nodes(&self, g: &Graph) -> Vec<NodeId> {
        let mut stack = self.values().to_vec();
        let mut seen = vec![false; g.nodes.len()];
        let mut out = Vec::new();
        while let Some(id) = stack.pop() {
            if std::mem::replace(&mut seen[id], true) {
                continue;
            }
            out.push(id);
            if !self.leaves.contains(&id) {
                stack.extend(g.args(id));
            }
        }
        out
    }

    /// The values the loop nest computes per element: the stores, or the reduced value.
    pub fn values(&self) -> &[NodeId] {
        if self.stores.is_empty() {
            std::slice::from_ref(&self.value)
        } else {
            &self.stores
        }
    }
}

/// The stages of a graph, in execution order. The last stage produces the root, unless the root is
/// itself a reduction (then the last reduction stage does).
pub(crate) fn plan(g: &Graph) -> Vec<Stage> {
    plan_hoisting(g, &[])
}

/// [`plan`], with the nodes `hoisted` computed into buffers of their own by stages of their own
/// (in node order with the reductions, so every buffer exists before a stage reads it).
pub(crate) fn plan_hoisting(g: &Graph, hoisted: &[NodeId]) -> Vec<Stage> {
    let mut buffered: Vec<NodeId> = g.reductions();
    buffered.extend(hoisted);
    buffered.sort_unstable();
    buffered.dedup();
    let leaves = |values: &[NodeId]| leaves(g, values, hoisted);
    let mut stages: Vec<Stage> = buffered
        .into_iter()
        .map(|node| match g.node(node).kind {
            NodeKind::Reduce { op, arg, .. } => {
                let acc = op.acc_dtype(g.node(arg).dtype);
                Stage {
                    kind: StageKind::Reduce { node, op, acc },
                    value: arg,
                    stores: Vec::new(),
                    hoisted: false,
                    leaves: leaves(&[arg]),
                }
            }
            _ => Stage {
                kind: StageKind::Map,
                value: node,
                stores: vec![node],
                hoisted: true,
                leaves: leaves(&[node]),
            },
        })
        .collect();
    if !g.roots.is_empty() {
        // A statement group stores every root, reductions and plain inputs included.
        stages.push(Stage {
            kind: StageKind::Map,
            value: g.roots[0],
            stores: g.roots.clone(),
            hoisted: false,
            leaves: leaves(&g.roots),
        });
    } else if !matches!(g.node(g.root).kind, NodeKind::Reduce { .. }) {
        stages.push(Stage {
            kind: StageKind::Map,
            value: g.root,
            stores: vec![g.root],
            hoisted: false,
            leaves: leaves(&[g.root]),
        });
    }
    stages
}

/// The nodes a stage computing `values` reads as operands: inputs, reductions and hoisted nodes
/// (materialized), and iotas (whose lengths were computed when the inputs were bound).
fn leaves(g: &Graph, values: &[NodeId], hoisted: &[NodeId]) -> Vec<NodeId> {
    let mut seen = vec![false; g.nodes.len()];
    let mut out = Vec::new();
    let mut stack = values.to_vec();
    while let Some(id) = stack.pop() {
        if std::mem::replace(&mut seen[id], true) {
            continue;
        }
        match g.node(id).kind {
            // A reduction reached from here was materialized by an earlier stage.
            NodeKind::Input(_) | NodeKind::Reduce { .. } | NodeKind::Iota { .. } => out.push(id),
            // A hoisted node is a leaf of every stage but its own.
            _ if hoisted.contains(&id) && !values.contains(&id) => out.push(id),
            _ => stack.extend(g.args(id)),
        }
    }
    out.sort_unstable();
    out
}
