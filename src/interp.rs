//! The reference interpreter: evaluates the IR one element at a time with the op table's scalar
//! semantics. Slow and obviously correct; the test oracle for the JIT.
//!
//! Reductions here are computed differently from the runtime on purpose: float sums are
//! compensated (Neumaier) in float64, so the oracle is at least as accurate as the JIT's pairwise
//! sums and agreement is checked within a tolerance, not bit for bit.

use ndarray::{ArrayD, Axis, IxDyn};

use crate::array::Array;
use crate::dtype::{DType, Scalar};
use crate::error::Result;
use crate::ir::{Graph, NodeId, NodeKind};
use crate::ops::{scalar, ReduceOp};
use crate::shape;
use crate::vars::RawView;

/// Evaluates `g` with `inputs` (indexed like `g.inputs`).
pub(crate) fn interpret(g: &Graph, inputs: &[RawView]) -> Result<Array> {
    let values = values(g, inputs)?;
    Ok(to_array(&values[g.root], g.node(g.root).dtype))
}

/// Evaluates the roots of a statement group (`g.roots`), in order.
pub(crate) fn interpret_roots(g: &Graph, inputs: &[RawView]) -> Result<Vec<Array>> {
    let values = values(g, inputs)?;
    Ok(g.roots
        .iter()
        .map(|&r| to_array(&values[r], g.node(r).dtype))
        .collect())
}

/// The value of every node.
fn values(g: &Graph, inputs: &[RawView]) -> Result<Vec<ArrayD<Scalar>>> {
    let shapes = shape::infer(g, inputs)?;
    let mut values: Vec<ArrayD<Scalar>> = Vec::with_capacity(g.nodes.len());
    for (id, node) in g.nodes.iter().enumerate() {
        let shape = IxDyn(&shapes[id]);
        let v = match &node.kind {
            NodeKind::Input(i) => read(&inputs[*i]),
            NodeKind::Const(s) => ArrayD::from_elem(IxDyn(&[]), *s),
            NodeKind::Cast(a) => values[*a].mapv(|s| s.cast(node.dtype)),
            NodeKind::Apply(op, args) => {
                let views: Vec<_> = args
                    .iter()
                    .map(|a| {
                        values[*a]
                            .broadcast(shape.clone())
                            .unwrap_or_else(|| unreachable!("shapes were checked"))
                    })
                    .collect();
                ArrayD::from_shape_fn(shape, |idx| {
                    let xs: Vec<Scalar> = views.iter().map(|v| v[&idx]).collect();
                    scalar::eval(*op, &xs)
                })
            }
            NodeKind::Reduce { op, arg, axis } => {
                let x = &values[*arg];
                let lanes: Vec<Vec<Scalar>> = match axis {
                    Some(ax) => x.lanes(Axis(*ax)).into_iter().map(|l| l.to_vec()).collect(),
                    None => vec![x.iter().copied().collect()],
                };
                let out: Vec<Scalar> = lanes.iter().map(|l| reduce(*op, l, node.dtype)).collect();
                ArrayD::from_shape_vec(shape, out)
                    .unwrap_or_else(|_| unreachable!("lane count is the output size"))
            }
            NodeKind::Iota { axis, .. } => {
                ArrayD::from_shape_fn(shape, |idx| Scalar::I64(idx[*axis] as i64).cast(node.dtype))
            }
        };
        values.push(v);
    }
    Ok(values)
}

/// The value of the 0-d node `id` when it depends only on constants and, given `inputs`, on
/// 0-d inputs; `None` otherwise. Generator lengths are computed with this when the inputs are
/// bound (and, from constants alone, checked when the expression is lowered).
pub(crate) fn scalar_value(g: &Graph, id: NodeId, inputs: Option<&[RawView]>) -> Option<Scalar> {
    let node = g.node(id);
    if node.rank != 0 {
        return None;
    }
    match &node.kind {
        NodeKind::Const(s) => Some(*s),
        NodeKind::Input(i) => inputs.map(|views| element(&views[*i], 0)),
        NodeKind::Cast(a) => scalar_value(g, *a, inputs).map(|s| s.cast(node.dtype)),
        NodeKind::Apply(op, args) => {
            let xs = args
                .iter()
                .map(|a| scalar_value(g, *a, inputs))
                .collect::<Option<Vec<_>>>()?;
            Some(scalar::eval(*op, &xs))
        }
        NodeKind::Reduce { .. } | NodeKind::Iota { .. } => None,
    }
}

/// Reads a view element by element.
fn read(v: &RawView) -> ArrayD<Scalar> {
    ArrayD::from_shape_fn(IxDyn(&v.shape), |idx| {
        let offset: isize = (0..v.shape.len())
            .map(|d| idx[d] as isize * v.strides[d])
            .sum();
        element(v, offset)
    })
}

/// The element `offset` bytes from the view's first element, which must lie inside the view.
fn element(v: &RawView, offset: isize) -> Scalar {
    // SAFETY: callers pass the offset of an element inside the view (index < shape on every
    // axis; 0 for a 0-d view), whose array the caller keeps borrowed for the evaluation.
    unsafe {
        let p = v.ptr.offset(offset);
        match v.dtype {
            DType::Bool => Scalar::Bool(*p != 0),
            DType::Int32 => Scalar::I32((p as *const i32).read_unaligned()),
            DType::Int64 => Scalar::I64((p as *const i64).read_unaligned()),
            DType::Float32 => Scalar::F32((p as *const f32).read_unaligned()),
            DType::Float64 => Scalar::F64((p as *const f64).read_unaligned()),
        }
    }
}

/// One reduction lane, with NumPy's result dtype `out`.
fn reduce(op: ReduceOp, lane: &[Scalar], out: DType) -> Scalar {
    let acc = op.acc_dtype(lane.first().map_or(out, |s| s.dtype()));
    let vals = lane.iter().map(|s| s.cast(acc));
    let r = match op {
        ReduceOp::Sum | ReduceOp::Mean if acc == DType::Float64 => {
            let (mut sum, mut comp) = (0.0f64, 0.0f64);
            for v in vals {
                let x = v.as_f64();
                let t = sum + x;
                comp += if sum.abs() >= x.abs() {
                    (sum - t) + x
                } else {
                    (x - t) + sum
                };
                sum = t;
            }
            // Infinite or NaN sums make the compensation NaN; the plain sum is then the answer.
            let total = if (sum + comp).is_finite() {
                sum + comp
            } else {
                sum
            };
            if op == ReduceOp::Mean {
                Scalar::F64(total / lane.len() as f64)
            } else {
                Scalar::F64(total)
            }
        }
        _ => vals.fold(op.identity(acc), |a, b| {
            scalar::eval(op.combiner(), &[a, b])
        }),
    };
    r.cast(out)
}

fn to_array(v: &ArrayD<Scalar>, dtype: DType) -> Array {
    match dtype {
        DType::Bool => Array::Bool(v.mapv(|s| matches!(s, Scalar::Bool(true)))),
        DType::Int32 => Array::Int32(v.mapv(|s| s.as_i64() as i32)),
        DType::Int64 => Array::Int64(v.mapv(|s| s.as_i64())),
        DType::Float32 => Array::Float32(v.mapv(|s| s.cast(DType::Float32).as_f64() as f32)),
        DType::Float64 => Array::Float64(v.mapv(|s| s.as_f64())),
    }
}
