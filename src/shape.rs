//! Broadcasting: binds concrete shapes to every IR node for one evaluation.
//!
//! Lowering fixes ranks; the sizes arrive with the arrays. Every mismatch is reported against the
//! span of the node that combines the operands, naming both shapes, before anything is computed.

use crate::error::{Error, ErrorKind, Result};
use crate::ir::{Graph, NodeKind};

/// A concrete shape.
pub(crate) type Shape = Vec<usize>;

/// NumPy broadcasting of two shapes (right-aligned; 1 stretches), or `None` when they conflict.
pub(crate) fn broadcast(a: &[usize], b: &[usize]) -> Option<Shape> {
    let rank = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| {
        if i + s.len() >= rank {
            s[i + s.len() - rank]
        } else {
            1
        }
    };
    (0..rank)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// Formats a shape like NumPy: `(3,)`, `(2, 4)`, `()`.
pub(crate) fn fmt_shape(s: &[usize]) -> String {
    match s {
        [] => "()".into(),
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            s.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Number of elements of a shape.
pub(crate) fn size(s: &[usize]) -> usize {
    s.iter().product()
}

/// Binds the shape of every node given the input shapes (indexed like `graph.inputs`).
pub(crate) fn infer(graph: &Graph, inputs: &[Shape]) -> Result<Vec<Shape>> {
    let mut shapes: Vec<Shape> = Vec::with_capacity(graph.nodes.len());
    for node in &graph.nodes {
        let shape = match &node.kind {
            NodeKind::Input(i) => inputs[*i].clone(),
            NodeKind::Const(_) => vec![],
            NodeKind::Cast(a) => shapes[*a].clone(),
            NodeKind::Apply(_, args) => {
                let mut acc: Shape = vec![];
                for a in args {
                    acc = broadcast(&acc, &shapes[*a]).ok_or_else(|| {
                        let all: Vec<String> =
                            args.iter().map(|x| fmt_shape(&shapes[*x])).collect();
                        Error::at(
                            ErrorKind::Broadcast,
                            node.span,
                            format!(
                                "operands could not be broadcast together with shapes {}",
                                all.join(" ")
                            ),
                        )
                    })?;
                }
                acc
            }
            NodeKind::Reduce { op, arg, axis } => {
                let arg_shape = &shapes[*arg];
                let out: Shape = match axis {
                    Some(ax) => arg_shape
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| i != ax)
                        .map(|(_, d)| *d)
                        .collect(),
                    None => vec![],
                };
                let reduced = match axis {
                    Some(ax) => arg_shape[*ax],
                    None => size(arg_shape),
                };
                if op.needs_elements() && reduced == 0 && size(&out) > 0 {
                    return Err(Error::at(
                        ErrorKind::Value,
                        node.span,
                        format!(
                            "zero-size array to reduction `{}`, which has no identity",
                            op.name()
                        ),
                    ));
                }
                out
            }
        };
        shapes.push(shape);
    }
    Ok(shapes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast(&[3, 1], &[1, 4]), Some(vec![3, 4]));
        assert_eq!(broadcast(&[2, 1, 3], &[4, 3]), Some(vec![2, 4, 3]));
        assert_eq!(broadcast(&[], &[5]), Some(vec![5]));
        assert_eq!(broadcast(&[0], &[1]), Some(vec![0]));
        assert_eq!(broadcast(&[3], &[4]), None);
        assert_eq!(broadcast(&[0], &[2]), None);
    }

    #[test]
    fn shapes_print_like_numpy() {
        assert_eq!(fmt_shape(&[3]), "(3,)");
        assert_eq!(fmt_shape(&[2, 4]), "(2, 4)");
        assert_eq!(fmt_shape(&[]), "()");
    }
}
