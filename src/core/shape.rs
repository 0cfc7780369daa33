//! Broadcasting: binds concrete shapes to every IR node for one evaluation.
//!
//! Lowering fixes ranks; the sizes arrive with the arrays, and generator lengths with the 0-d
//! inputs they depend on. Every mismatch is reported against the span of the node that combines
//! the operands, naming both shapes, before anything is computed.

use crate::core::dtype::{DType, Scalar};
use crate::core::error::{Error, ErrorKind, Result};
use crate::core::view::RawView;
use crate::ir::eval::scalar_value;
use crate::ir::{Extent, Graph, Node, NodeKind};

/// A concrete shape.
/// Dimensions of an array (inline up to rank 4: no allocation per node and call).
pub(crate) type Shape = smallvec::SmallVec<[usize; 4]>;
/// Byte strides of an array or operand, one per dimension (inline up to rank 4).
pub(crate) type Strides = smallvec::SmallVec<[isize; 4]>;

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

/// The most elements a generator may have: its indices stay exact in float64.
pub(crate) const MAX_GENERATED: u64 = 1 << 53;

/// The number of elements of an iota whose extent nodes have the values `v` (in
/// [`Extent::nodes`] order), with NumPy's rules; or the error kind and message.
pub(crate) fn iota_len(
    len: Extent,
    v: &[Scalar],
) -> std::result::Result<usize, (ErrorKind, String)> {
    let too_big = |n: &dyn std::fmt::Display| {
        (
            ErrorKind::Limit,
            format!("maximum allowed size exceeded: {n} elements (at most 2**53)"),
        )
    };
    let count: u64 = match (len, v) {
        (Extent::Count(_), [n]) => {
            let n = n.as_i64();
            if n < 0 {
                return Err((
                    ErrorKind::Value,
                    format!("number of samples, {n}, must be non-negative"),
                ));
            }
            n as u64
        }
        (Extent::Range { .. }, [start, stop, step]) if !step.dtype().is_float() => {
            // Exact in i128: `stop - start` of two extreme int64 values does not overflow.
            let (span, step) = (
                stop.as_i64() as i128 - start.as_i64() as i128,
                step.as_i64() as i128,
            );
            if step == 0 {
                return Err((ErrorKind::Value, "arange step cannot be zero".into()));
            }
            if span == 0 || (span > 0) != (step > 0) {
                0
            } else {
                let n = (span.abs() + step.abs() - 1) / step.abs();
                u64::try_from(n).map_err(|_| too_big(&n))?
            }
        }
        (Extent::Range { .. }, [start, stop, step]) => {
            let step = step.as_f64();
            if step == 0.0 {
                return Err((ErrorKind::Value, "arange step cannot be zero".into()));
            }
            let n = ((stop.as_f64() - start.as_f64()) / step).ceil();
            if n.is_nan() {
                return Err((
                    ErrorKind::Value,
                    "arange: cannot compute length (NaN bounds or step)".into(),
                ));
            }
            if n > MAX_GENERATED as f64 {
                return Err(too_big(&n));
            }
            n.max(0.0) as u64
        }
        _ => unreachable!("one value per extent node"),
    };
    if count > MAX_GENERATED {
        return Err(too_big(&count));
    }
    Ok(count as usize)
}

/// Binds the shape of every node given the inputs (indexed like `graph.inputs`).
pub(crate) fn infer(graph: &Graph, inputs: &[RawView]) -> Result<Vec<Shape>> {
    let mut shapes: Vec<Shape> = Vec::with_capacity(graph.nodes.len());
    for node in &graph.nodes {
        let shape = match &node.kind {
            NodeKind::Input(i) => inputs[*i].shape.clone(),
            NodeKind::Iota { axis, len } => {
                let values = len
                    .nodes()
                    .into_iter()
                    .map(|n| {
                        scalar_value(graph, n, Some(inputs)).ok_or_else(|| {
                            Error::new(ErrorKind::Internal, "a generator length is not a scalar")
                        })
                    })
                    .collect::<Result<Vec<Scalar>>>()?;
                let mut n = iota_len(*len, &values)
                    .map_err(|(kind, msg)| Error::at(kind, node.span, msg))?;
                // In a distributed evaluation a generator along axis 0 is the global sequence,
                // of which this evaluation computes its rows (`exec` offsets the indices).
                if let Some(w) = super::window::current() {
                    if super::window::windows_iota(&w, *axis, node.rank) {
                        if n != w.global {
                            return Err(Error::at(
                                ErrorKind::Broadcast,
                                node.span,
                                format!("a generator along the distributed axis has length {n}, but the distributed arrays have {} rows", w.global),
                            ));
                        }
                        n = w.len;
                    }
                }
                let mut shape: Shape = smallvec::smallvec![1; node.rank];
                shape[*axis] = n;
                shape
            }
            NodeKind::Const(_) => Shape::new(),
            NodeKind::Cast(a) => shapes[*a].clone(),
            NodeKind::Apply(_, args) | NodeKind::Call(_, args) => {
                let mut acc = Shape::new();
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
                    None => Shape::new(),
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
        check_size(node, &shape, &shapes)?;
        shapes.push(shape);
    }
    Ok(shapes)
}

/// The number of elements of `shape` when it and its bytes of `dtype` fit in `isize` (NumPy's
/// limit, and what pointer offsets can address), else `None`.
pub(crate) fn checked_bytes(shape: &[usize], dtype: DType) -> Option<usize> {
    shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|n| {
            n.checked_mul(dtype.size())
                .is_some_and(|b| b <= isize::MAX as usize)
        })
}

/// A `limit` error for a node whose value would have more bytes than `isize::MAX` (say
/// `sum(a + b)` with `a` of shape `(2**32, 1)` and `b` of shape `(1, 2**32)`, whose element
/// count does not even fit in 64 bits): every later product of extents, byte sizes and strides
/// can then be computed without overflow.
fn check_size(node: &Node, shape: &[usize], shapes: &[Shape]) -> Result<()> {
    if checked_bytes(shape, node.dtype).is_some() {
        return Ok(());
    }
    let operands = match &node.kind {
        NodeKind::Apply(_, args) | NodeKind::Call(_, args) => {
            let all: Vec<String> = args.iter().map(|a| fmt_shape(&shapes[*a])).collect();
            format!(" (operands of shapes {})", all.join(" "))
        }
        NodeKind::Cast(a) | NodeKind::Reduce { arg: a, .. } => {
            format!(" (operand of shape {})", fmt_shape(&shapes[*a]))
        }
        _ => String::new(),
    };
    Err(Error::at(
        ErrorKind::Limit,
        node.span,
        format!(
            "maximum allowed size exceeded: shape {} of dtype {} is more than {} bytes{operands}",
            fmt_shape(shape),
            node.dtype,
            isize::MAX
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        let some = |s: &[usize]| Some(Shape::from_slice(s));
        assert_eq!(broadcast(&[3, 1], &[1, 4]), some(&[3, 4]));
        assert_eq!(broadcast(&[2, 1, 3], &[4, 3]), some(&[2, 4, 3]));
        assert_eq!(broadcast(&[], &[5]), some(&[5]));
        assert_eq!(broadcast(&[0], &[1]), some(&[0]));
        assert_eq!(broadcast(&[3], &[4]), None);
        assert_eq!(broadcast(&[0], &[2]), None);
    }

    #[test]
    fn generator_lengths_follow_numpy() {
        let range = Extent::Range {
            start: 0,
            stop: 1,
            step: 2,
        };
        let i = |v: [i64; 3]| iota_len(range, &v.map(Scalar::I64));
        let f = |v: [f64; 3]| iota_len(range, &v.map(Scalar::F64));
        assert_eq!(i([0, 10, 3]), Ok(4)); // 0 3 6 9
        assert_eq!(i([10, 0, -3]), Ok(4)); // 10 7 4 1
        assert_eq!(i([5, 1, 1]), Ok(0));
        assert_eq!(i([i64::MIN, i64::MAX, i64::MAX]), Ok(3)); // no overflow
        assert_eq!(i([0, 1, 0]).unwrap_err().0, ErrorKind::Value);
        assert_eq!(f([0.5, 3.0, 0.5]), Ok(5));
        assert_eq!(f([0.0, -1.0, 0.5]), Ok(0));
        assert_eq!(f([0.0, 1.0, -0.0]).unwrap_err().0, ErrorKind::Value);
        assert_eq!(f([0.0, f64::NAN, 1.0]).unwrap_err().0, ErrorKind::Value);
        assert_eq!(
            f([0.0, f64::INFINITY, 1.0]).unwrap_err().0,
            ErrorKind::Limit
        );
        assert_eq!(f([0.0, 1e300, 1.0]).unwrap_err().0, ErrorKind::Limit);
        let count = |n: i64| iota_len(Extent::Count(0), &[Scalar::I64(n)]);
        assert_eq!(count(0), Ok(0));
        assert_eq!(count(7), Ok(7));
        assert_eq!(count(-1).unwrap_err().0, ErrorKind::Value);
    }

    #[test]
    fn shapes_print_like_numpy() {
        assert_eq!(fmt_shape(&[3]), "(3,)");
        assert_eq!(fmt_shape(&[2, 4]), "(2, 4)");
        assert_eq!(fmt_shape(&[]), "()");
    }
}
