//! IR → IR: constant folding, common-subexpression elimination, integer-power strength
//! reduction, float iotas for converted integer iotas, and removal of nodes the result does not
//! use.
//!
//! One forward pass rebuilds the graph through a hash-consing table: a node whose key (kind,
//! dtype, arguments after rewriting) was seen before is the earlier node. `sin(2*pi*a)` written
//! twice becomes one node, and `2*pi` becomes one constant.

use std::collections::HashMap;

use crate::core::dtype::{DType, Scalar};
use crate::ir::{Extent, Graph, Node, NodeId, NodeKind};
use crate::ops::{scalar, Op, ReduceOp};

/// What makes two nodes the same computation (spans do not count; constants compare by bits).
#[derive(Hash, PartialEq, Eq)]
enum Key {
    Input(usize),
    Const(DType, u128),
    Cast(NodeId, DType),
    Apply(Op, DType, Vec<NodeId>),
    /// A kernel by identity (each call site types its own) and its arguments.
    Call(usize, Vec<NodeId>),
    Reduce(ReduceOp, NodeId, Option<usize>),
    Iota(DType, usize, usize, Extent),
}

/// Returns the optimized graph.
pub(crate) fn optimize(g: &Graph) -> Graph {
    let live = live_nodes(g);
    let mut b = Builder {
        out: Graph::new(g.inputs.clone()),
        seen: HashMap::new(),
    };
    let mut map: Vec<NodeId> = vec![usize::MAX; g.nodes.len()];
    for (id, node) in g.nodes.iter().enumerate() {
        if !live[id] {
            continue;
        }
        let kind = node.kind.map_args(|a| map[a]);
        map[id] = b.add(Node {
            kind,
            ..node.clone()
        });
    }
    b.out.root = map[g.root];
    b.out.roots = g.roots.iter().map(|r| map[*r]).collect();
    compact(&b.out)
}

/// Drops nodes the root no longer uses (folding leaves its constant operands behind).
fn compact(g: &Graph) -> Graph {
    let live = live_nodes(g);
    let mut out = Graph::new(g.inputs.clone());
    let mut map = vec![usize::MAX; g.nodes.len()];
    for (id, node) in g.nodes.iter().enumerate().filter(|(id, _)| live[*id]) {
        let kind = node.kind.map_args(|a| map[a]);
        map[id] = out.push(Node {
            kind,
            ..node.clone()
        });
    }
    out.root = map[g.root];
    out.roots = g.roots.iter().map(|r| map[*r]).collect();
    out
}

/// Marks the nodes reachable from the root (and the roots of a statement group).
fn live_nodes(g: &Graph) -> Vec<bool> {
    let mut live = vec![false; g.nodes.len()];
    live[g.root] = true;
    for r in &g.roots {
        live[*r] = true;
    }
    for id in (0..g.nodes.len()).rev() {
        if live[id] {
            for a in g.args(id) {
                live[a] = true;
            }
        }
    }
    live
}

struct Builder {
    out: Graph,
    seen: HashMap<Key, NodeId>,
}

impl Builder {
    /// Adds a node after folding and strength reduction, reusing an identical earlier node.
    fn add(&mut self, node: Node) -> NodeId {
        let node = self.fold(node);
        let node = self.float_iota(node);
        let node = match self.strength_reduce(&node) {
            Some(rewritten) => return rewritten,
            None => node,
        };
        let key = match &node.kind {
            NodeKind::Input(i) => Key::Input(*i),
            NodeKind::Const(s) => {
                let (d, bits) = s.bits();
                Key::Const(d, bits)
            }
            NodeKind::Cast(a) => Key::Cast(*a, node.dtype),
            NodeKind::Apply(op, args) => Key::Apply(*op, node.dtype, args.clone()),
            NodeKind::Call(k, args) => Key::Call(std::sync::Arc::as_ptr(k) as usize, args.clone()),
            NodeKind::Reduce { op, arg, axis } => Key::Reduce(*op, *arg, *axis),
            NodeKind::Iota { axis, len } => Key::Iota(node.dtype, node.rank, *axis, *len),
        };
        if let Some(&id) = self.seen.get(&key) {
            return id;
        }
        let id = self.out.push(node);
        self.seen.insert(key, id);
        id
    }

    fn constant_of(&self, id: NodeId) -> Option<Scalar> {
        match self.out.node(id).kind {
            NodeKind::Const(s) => Some(s),
            _ => None,
        }
    }

    /// Evaluates casts and elementwise ops whose arguments are all constants.
    fn fold(&self, node: Node) -> Node {
        let folded = match &node.kind {
            NodeKind::Cast(a) => self.constant_of(*a).map(|s| s.cast(node.dtype)),
            NodeKind::Apply(op, args) => {
                let consts: Option<Vec<Scalar>> =
                    args.iter().map(|a| self.constant_of(*a)).collect();
                consts.map(|c| scalar::eval(*op, &c))
            }
            _ => None,
        };
        match folded {
            Some(s) => Node {
                kind: NodeKind::Const(s),
                dtype: s.dtype(),
                rank: 0,
                ..node
            },
            None => node,
        }
    }

    /// `float64(iota)` of an integer iota is the float64 iota, exactly: lengths are at most
    /// 2**53 (`shape::MAX_GENERATED`). So `arange(n) * dx` computes in one dtype and vectorizes.
    fn float_iota(&self, node: Node) -> Node {
        if let NodeKind::Cast(a) = node.kind {
            let arg = self.out.node(a);
            if let (NodeKind::Iota { .. }, DType::Float64) = (&arg.kind, node.dtype) {
                return Node {
                    kind: arg.kind.clone(),
                    ..node
                };
            }
        }
        node
    }

    /// `x**2 → x*x`, `x**3 → x*x*x`, `x**1 → x`, `x**0.5 → sqrt(x)`, `x**-1.0 → 1/x` (floats).
    /// Exact for `**2`, `**1` and `**-1`; `**3` and `**0.5` may differ from `pow` by ≤ 1 ulp,
    /// as in NumPy, which performs the same rewrites.
    fn strength_reduce(&mut self, node: &Node) -> Option<NodeId> {
        let NodeKind::Apply(Op::Pow, args) = &node.kind else {
            return None;
        };
        let (base, exp) = (args[0], args[1]);
        let (e, e_im) = self.constant_of(exp)?.parts();
        if e_im != 0.0 {
            return None;
        }
        let apply = |b: &mut Builder, op: Op, args: Vec<NodeId>| {
            b.add(Node {
                kind: NodeKind::Apply(op, args),
                ..node.clone()
            })
        };
        match e {
            1.0 => Some(base),
            2.0 => Some(apply(self, Op::Mul, vec![base, base])),
            3.0 => {
                let sq = apply(self, Op::Mul, vec![base, base]);
                Some(apply(self, Op::Mul, vec![sq, base]))
            }
            // NumPy's `a ** 0.5` is `sqrt(a)` for complex arrays too (`fast_scalar_power`).
            0.5 if node.dtype.is_float() || node.dtype.is_complex() => {
                Some(apply(self, Op::Sqrt, vec![base]))
            }
            -1.0 if node.dtype.is_float() => {
                let one = self.add(Node {
                    kind: NodeKind::Const(Scalar::F64(1.0).cast(node.dtype)),
                    rank: 0,
                    ..node.clone()
                });
                Some(apply(self, Op::Div, vec![one, base]))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::InputDecl;
    use crate::parse::parse_expr;

    fn opt(src: &str) -> Graph {
        let inputs = vec![InputDecl {
            name: "a".into(),
            dtype: DType::Float64,
            rank: 1,
            view: None,
            literal: None,
        }];
        optimize(&crate::lower::lower(&parse_expr(src).unwrap(), &inputs).unwrap())
    }

    fn count(g: &Graph, pred: impl Fn(&NodeKind) -> bool) -> usize {
        g.nodes.iter().filter(|n| pred(&n.kind)).count()
    }

    #[test]
    fn common_subexpressions_are_shared() {
        let g = opt("sin(2*pi*a)**2 + cos(2*pi*a)**2");
        assert_eq!(
            count(&g, |k| matches!(k, NodeKind::Apply(Op::Mul, _))),
            3,
            "{g}"
        ); // 2πa, sin², cos²
        assert_eq!(count(&g, |k| matches!(k, NodeKind::Input(_))), 1);
        assert_eq!(count(&g, |k| matches!(k, NodeKind::Apply(Op::Pow, _))), 0);
    }

    #[test]
    fn integer_iotas_convert_for_free() {
        // `arange(8) * a`: the int64 iota cast to float64 is the float64 iota.
        let g = opt("arange(8) * a");
        assert_eq!(count(&g, |k| matches!(k, NodeKind::Cast(_))), 0, "{g}");
        let iota = g
            .nodes
            .iter()
            .find(|n| matches!(n.kind, NodeKind::Iota { .. }))
            .unwrap();
        assert_eq!(iota.dtype, DType::Float64);
    }

    #[test]
    fn constants_fold() {
        let g = opt("a * (2 * 3 + 1)");
        assert!(
            g.nodes
                .iter()
                .any(|n| n.kind == NodeKind::Const(Scalar::F64(7.0))),
            "{g}"
        );
        assert_eq!(g.nodes.len(), 3);
    }
}
