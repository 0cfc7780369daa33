//! The reference interpreter: evaluates the IR one element at a time with the op table's scalar
//! semantics. Slow and obviously correct; the test oracle for the JIT.
//!
//! Reductions here are computed differently from the runtime on purpose: float sums are
//! compensated (Neumaier) in float64, so the oracle is at least as accurate as the JIT's pairwise
//! sums and agreement is checked within a tolerance, not bit for bit.

use ndarray::{ArrayD, Axis, IxDyn};

use crate::api::array::Array;
use crate::core::dtype::{DType, Scalar};
use crate::core::error::{Error, ErrorKind, Result};
use crate::core::shape;
use crate::core::view::RawView;
use crate::ir::eval::element;
use crate::ir::{Graph, NodeKind};
use crate::ops::{scalar, ReduceOp};

pub(crate) mod kernel;

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
        // The interpreter holds every node's value (16-byte scalars): reserve first, so that a
        // value too large for memory is a `limit` error, as in the executor, not an abort.
        let mut reserved = reserve(&shapes[id], node.dtype)?;
        let v = match &node.kind {
            NodeKind::Input(i) => read(&inputs[*i], reserved),
            NodeKind::Const(s) => ArrayD::from_elem(IxDyn(&[]), *s),
            NodeKind::Cast(a) => {
                reserved.extend(values[*a].iter().map(|s| s.cast(node.dtype)));
                ArrayD::from_shape_vec(shape, reserved)
                    .unwrap_or_else(|_| unreachable!("a cast keeps its operand's shape"))
            }
            NodeKind::Apply(_, args) | NodeKind::Call(_, args) => {
                let views: Vec<_> = args
                    .iter()
                    .map(|a| {
                        values[*a]
                            .broadcast(shape.clone())
                            .unwrap_or_else(|| unreachable!("shapes were checked"))
                    })
                    .collect();
                fill(reserved, shape, |idx| {
                    let xs: Vec<Scalar> = views.iter().map(|v| v[&idx]).collect();
                    match &node.kind {
                        NodeKind::Apply(op, _) => scalar::eval(*op, &xs),
                        NodeKind::Call(k, _) => kernel::call(k, &xs),
                        _ => unreachable!("matched above"),
                    }
                })
            }
            NodeKind::Reduce { op, arg, axis } => {
                let x = &values[*arg];
                let lanes: Vec<Vec<Scalar>> = match axis {
                    Some(ax) => x.lanes(Axis(*ax)).into_iter().map(|l| l.to_vec()).collect(),
                    None => vec![x.iter().copied().collect()],
                };
                reserved.extend(lanes.iter().map(|l| reduce(*op, l, node.dtype)));
                ArrayD::from_shape_vec(shape, reserved)
                    .unwrap_or_else(|_| unreachable!("lane count is the output size"))
            }
            NodeKind::Iota { axis, .. } => fill(reserved, shape, |idx| {
                Scalar::I64(idx[*axis] as i64).cast(node.dtype)
            }),
        };
        values.push(v);
    }
    Ok(values)
}

/// An empty vector with room for the value of a node of `shape`, or a `limit` error.
fn reserve(shape: &[usize], dtype: DType) -> Result<Vec<Scalar>> {
    let mut v = Vec::new();
    shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| v.try_reserve_exact(n).is_ok())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Limit,
                format!(
                    "the interpreter cannot allocate a value of shape {} and dtype {dtype}",
                    shape::fmt_shape(shape)
                ),
            )
        })?;
    Ok(v)
}

/// `f(index)` for every index of `shape` in C order, into `buf` (which has room for them).
fn fill(mut buf: Vec<Scalar>, shape: IxDyn, mut f: impl FnMut(IxDyn) -> Scalar) -> ArrayD<Scalar> {
    buf.extend(ndarray::indices(shape.clone()).into_iter().map(&mut f));
    ArrayD::from_shape_vec(shape, buf).unwrap_or_else(|_| unreachable!("one value per index"))
}

/// Reads a view element by element (into `buf`, with room for them).
fn read(v: &RawView, buf: Vec<Scalar>) -> ArrayD<Scalar> {
    fill(buf, IxDyn(&v.shape), |idx| {
        let offset: isize = (0..v.shape.len())
            .map(|d| idx[d] as isize * v.strides[d])
            .sum();
        element(v, offset)
    })
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
        DType::Complex64 => Array::Complex64(v.mapv(|s| match s.cast(DType::Complex64) {
            Scalar::C64(z) => z,
            _ => unreachable!("cast to complex64 gives complex64"),
        })),
        DType::Complex128 => Array::Complex128(v.mapv(|s| match s.cast(DType::Complex128) {
            Scalar::C128(z) => z,
            _ => unreachable!("cast to complex128 gives complex128"),
        })),
    }
}
