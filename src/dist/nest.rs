//! Reductions along the distributed axis inside a larger expression (`a - mean(a)`,
//! `sqrt(sum(x**2)) / n`, `a - mean(a - mean(a))`), as phases.
//!
//! A rank can reduce its own rows, but the value an enclosing expression reads is the global
//! one, which needs every rank's partials first. So [`split`] cuts the expression's graph at
//! its inner reductions along the distributed axis: each becomes a graph of its own (rooted at
//! the reduction), and every reader sees, instead of the reduction, a new input that will hold
//! its value (0-d, or for `axis=0` of a 2-d array a 1-d row that broadcasts back along axis 0,
//! as NumPy's `u - mean(u, axis=0)` does). A reduction whose argument reads other such
//! reductions goes in a later phase than all of them, so a phase only reads values of earlier
//! phases: `dist::evaluate` reduces and combines each phase's reductions across ranks, binds
//! their values, and goes on with the next phase, then the outer graph.
//!
//! Every graph keeps the original's inputs in their slots (so the caller's views bind as
//! before) followed by one input per inner reduction, the same list for all of them.

use crate::ir::{Graph, InputDecl, Node, NodeId, NodeKind};

/// An inner reduction: the input its value is bound to, and the graph computing it.
pub(super) struct Inner {
    pub input: usize,
    pub graph: Graph,
}

/// An expression cut at its inner reductions along the distributed axis.
pub(super) struct Phases {
    /// `phases[k]`: the reductions whose arguments read values of phases before `k` only.
    pub phases: Vec<Vec<Inner>>,
    /// The expression with every inner reduction an input (its root may itself be a
    /// reduction along the distributed axis, which `dist::evaluate` combines as before).
    pub outer: Graph,
}

/// Cuts `g` at every reduction `inner(g, id)` says crosses ranks, except the root (see the
/// module docs). Without such reductions the one phase is the outer graph, `g` unchanged but
/// for optimization.
pub(super) fn split(g: &Graph, inner: impl Fn(&Graph, NodeId) -> bool) -> Phases {
    split_at(g, |g, id| id != g.root && inner(g, id), g.inputs.len())
}

/// Cuts `g` at every node `cut(g, id)` (reductions; the roots too, for a program's group,
/// whose every reduction across ranks is computed outside it); the values' inputs are
/// numbered from `first` (inputs that read nothing fill the gap after `g`'s own: a program's
/// graphs read slot `i` as input `i`, so the values go where their slots are).
pub(super) fn split_at(g: &Graph, cut: impl Fn(&Graph, NodeId) -> bool, first: usize) -> Phases {
    let cut: Vec<bool> = (0..g.nodes.len()).map(|id| cut(g, id)).collect();
    // `level[id]`: how many cut reductions deep node `id` is (0: it reads none).
    let mut level = vec![0usize; g.nodes.len()];
    let mut inputs = g.inputs.clone();
    while inputs.len() < first {
        inputs.push(InputDecl {
            name: String::new(),
            dtype: crate::core::dtype::DType::Float64,
            rank: 0,
            view: None,
            literal: None,
        });
    }
    let mut input_of = vec![usize::MAX; g.nodes.len()];
    for id in 0..g.nodes.len() {
        let below = g.args(id).iter().map(|&a| level[a]).max().unwrap_or(0);
        level[id] = below + usize::from(cut[id]);
        if cut[id] {
            let node = g.node(id);
            let op = match node.kind {
                NodeKind::Reduce { op, .. } => op.name(),
                _ => "value",
            };
            input_of[id] = inputs.len();
            inputs.push(InputDecl {
                // Not a name the parser accepts: it cannot meet a caller's variable.
                name: format!("{op}@{id}"),
                dtype: node.dtype,
                rank: node.rank,
                view: None,
                literal: None,
            });
        }
    }
    // The graph rooted at `root` (and `roots`) with every cut node but `keep` read as its
    // input.
    let rooted = |root: NodeId, roots: Vec<NodeId>, keep: Option<NodeId>| {
        let mut out = Graph::new(inputs.clone());
        out.nodes = g
            .nodes
            .iter()
            .enumerate()
            .map(|(id, node)| {
                if cut[id] && Some(id) != keep {
                    Node {
                        kind: NodeKind::Input(input_of[id]),
                        ..node.clone()
                    }
                } else {
                    node.clone()
                }
            })
            .collect();
        out.root = root;
        out.roots = roots;
        // Dead-node removal drops what only the replaced reductions read.
        crate::opt::optimize(&out)
    };
    let depth = level.iter().copied().max().unwrap_or(0);
    let mut phases: Vec<Vec<Inner>> = (0..depth).map(|_| Vec::new()).collect();
    for id in (0..g.nodes.len()).filter(|&id| cut[id]) {
        let roots = if g.roots.is_empty() {
            Vec::new()
        } else {
            vec![id]
        };
        phases[level[id] - 1].push(Inner {
            input: input_of[id],
            graph: rooted(id, roots, Some(id)),
        });
    }
    Phases {
        phases,
        outer: rooted(g.root, g.roots.clone(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::array::Array;
    use crate::api::vars::Vars;
    use crate::program::{Program, Unit};

    /// `src` compiled for `vars` and split at its reductions along axis 0 of arrays of `rank`
    /// dimensions, as `dist::evaluate` splits it.
    fn phases(src: &str, vars: &Vars, rank: usize) -> (Program, Phases) {
        let p = Program::compile(
            &crate::parse::parse_program(src).unwrap(),
            &vars.signature(),
        )
        .unwrap();
        let g = p.lone_expression().unwrap().unit.graph.clone();
        let split = split(&g, |g, id| super::super::crosses(g, id, rank));
        (p, split)
    }

    /// Runs the phases in one process (each inner reduction finalized on the whole array, its
    /// value bound as its input), then the outer graph.
    fn run_phases(p: &Program, split: &Phases, vars: &Vars) -> Array {
        let caller = p.bind(vars).unwrap();
        let mut values: Vec<(usize, Array)> = Vec::new();
        let run = |g: &Graph, values: &[(usize, Array)]| {
            let slots: Vec<_> = g
                .inputs
                .iter()
                .enumerate()
                .map(|(i, d)| match caller.get(i) {
                    Some(v) => v.clone(),
                    None => values
                        .iter()
                        .find(|(j, _)| *j == i)
                        .map(|(_, a)| crate::exec::view_of(a))
                        .unwrap_or_else(|| crate::core::view::RawView::empty(d.dtype, d.rank)),
                })
                .collect();
            let inputs = crate::exec::program::graph_inputs(g, &slots).unwrap();
            let unit = Unit::compile(g.clone()).unwrap();
            crate::exec::execute(&unit.graph, &unit.kernels, &inputs, None)
                .unwrap()
                .unwrap()
        };
        for phase in &split.phases {
            for inner in phase {
                let v = run(&inner.graph, &values);
                values.push((inner.input, v));
            }
        }
        run(&split.outer, &values)
    }

    fn bits(a: &Array) -> Vec<u64> {
        a.to_f64().iter().map(|v| v.to_bits()).collect()
    }

    /// The rewriting changes no value: every phase run on the whole array and bound into the
    /// next gives the single-process result bit for bit.
    #[test]
    fn phases_compute_the_expression() {
        let a = ndarray::Array1::from_shape_fn(1000, |i| ((i * 7919) % 1013) as f64 / 7.0 - 50.0);
        let b = a.mapv(|v| v as f32);
        let u = ndarray::Array2::from_shape_fn((300, 7), |(i, j)| {
            ((i * 7919 + j * 104_729) % 1013) as f64 / 7.0 - 50.0
        });
        let vars = Vars::new().with("a", &a).with("b", &b);
        for (src, depth) in [
            ("a - mean(a)", 1),
            ("sqrt(sum(a**2)) / 1000", 1),
            ("a / max(abs(a))", 1),
            ("(a - mean(a)) / sqrt(mean((a - mean(a))**2))", 2),
            ("a - mean(a - mean(a))", 2),
            ("sum(a - mean(a - mean(a)))", 2),
            ("b - mean(b) + sum(b) * min(b)", 1),
            ("mean(a) + max(a)", 1),
            ("a * 2", 0),
        ] {
            let (p, split) = phases(src, &vars, 1);
            assert_eq!(split.phases.len(), depth, "{src}");
            let got = run_phases(&p, &split, &vars);
            let want = crate::evaluate(src, &vars).unwrap();
            assert_eq!(got.dtype(), want.dtype(), "{src}");
            assert_eq!(bits(&got), bits(&want), "{src}");
        }
        let vars = Vars::new().with("u", &u);
        for (src, depth) in [
            ("u - mean(u, axis=0)", 1),
            ("u - mean(u)", 1),
            ("(u - mean(u, axis=0)) / max(abs(u), axis=0)", 1),
            ("sum(u - mean(u, axis=0), axis=0)", 1),
            ("sum(u, axis=1) * 2", 0),
            ("sum(u, axis=1) - mean(u)", 1),
        ] {
            let (p, split) = phases(src, &vars, 2);
            assert_eq!(split.phases.len(), depth, "{src}");
            let got = run_phases(&p, &split, &vars);
            let want = crate::evaluate(src, &vars).unwrap();
            assert_eq!(bits(&got), bits(&want), "{src}");
        }
    }

    /// Every graph keeps the caller's inputs where they were and reads the values of earlier
    /// phases only; no reduction across ranks is left inside any of them.
    #[test]
    fn phases_read_earlier_values_only() {
        let a = ndarray::Array1::<f64>::zeros(10);
        let vars = Vars::new().with("a", &a);
        let (p, split) = phases("a - mean(a - mean(a)) + max(a)", &vars, 1);
        let callers = p.caller_slots().count();
        let reads = |g: &Graph| -> Vec<usize> {
            g.nodes
                .iter()
                .filter_map(|n| match n.kind {
                    NodeKind::Input(i) if i >= callers => Some(i),
                    _ => None,
                })
                .collect()
        };
        let mut known = Vec::new();
        for phase in &split.phases {
            for inner in phase {
                let g = &inner.graph;
                assert!(reads(g).iter().all(|i| known.contains(i)), "{g}");
                assert!(super::super::crosses(g, g.root, 1));
                assert!(
                    !(0..g.nodes.len()).any(|id| id != g.root && super::super::crosses(g, id, 1))
                );
                assert_eq!(g.inputs[inner.input].rank, 0);
                assert_eq!(g.inputs[..callers], split.outer.inputs[..callers]);
            }
            known.extend(phase.iter().map(|i| i.input));
        }
        assert_eq!(
            split.phases.iter().map(Vec::len).collect::<Vec<_>>(),
            [2, 1]
        );
        let outer = &split.outer;
        assert!(!(0..outer.nodes.len()).any(|id| super::super::crosses(outer, id, 1)));
        assert_eq!(reads(outer).len(), 2, "{outer}");
        assert!(outer.inputs[callers].name.starts_with("mean@"));
    }
}
