//! The reference interpreter: evaluates the IR one element at a time with the op table's scalar
//! semantics. Slow and obviously correct; the test oracle for the JIT.
//!
//! Reductions combine their elements in the runtime's order (`exec/drive`): the rows the
//! runtime's walk over the operands' strides gives (`Order::of`), cut into blocks of [`BLOCK`]
//! elements, each folded the way the kernel folds a row, joined by the midpoint pairwise tree,
//! so a reduction compares bit for bit with the JIT's, over views as over contiguous arrays.

use ndarray::{ArrayD, Axis, IxDyn};

use crate::api::array::Array;
use crate::core::dtype::{DType, Scalar};
use crate::core::error::{Error, ErrorKind, Result};
use crate::core::shape::{self, Shape, Strides};
use crate::core::view::RawView;
use crate::ir::eval::element;
use crate::ir::{Graph, NodeId, NodeKind};
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
                // A string's value is its byte offset in its input's view (`ir::eval::element`).
                let strings: Vec<Option<&RawView>> = args
                    .iter()
                    .map(|&a| match g.node(a).kind {
                        NodeKind::Input(i) if g.node(a).dtype.is_bytes() => Some(&inputs[i]),
                        _ => None,
                    })
                    .collect();
                fill(reserved, shape, |idx| {
                    let xs: Vec<Scalar> = views.iter().map(|v| v[&idx]).collect();
                    if let (NodeKind::Apply(op, _), [Some(a), Some(b)]) = (&node.kind, &strings[..])
                    {
                        let (a, b) = (bytes_at(a, xs[0]), bytes_at(b, xs[1]));
                        return Scalar::Bool(scalar::bytes_op(*op, a, b));
                    }
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
                let order = Order::of(g, *arg, *axis, &shapes, inputs);
                reserved.extend(lanes.iter().map(|l| reduce(*op, l, node.dtype, order)));
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

/// Elements per leaf of the runtime's reduction tree (`exec::BLOCK`).
const BLOCK: usize = crate::exec::BLOCK;

/// Accumulators a kernel row interleaves (`codegen::translate::reduce::reduce_row`).
const ACCUMULATORS: usize = 8;

/// How the runtime folds the elements of a reduction (`exec/drive`).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Order {
    /// Kernel rows of `m` elements (the lane in C order, cut into rows), each cut into leaves
    /// of [`BLOCK`]: per leaf, element `j` of each whole group of eight into accumulator
    /// `j % 8`, the accumulators merged pairwise, the rest of the leaf folded in after them.
    Row { m: usize },
    /// A column kernel: the block's elements folded one after the other.
    Column,
}

impl Order {
    /// The order of a reduction of `arg` over `axis`: the runtime's walk
    /// (`exec::reduction_walk`) over the space its stage's operands make, so a row of a
    /// strided view that does not collapse with the next is a row of its own here too.
    /// Mirrored as for arrays in memory with nothing hoisted (`plan::hoist` buffers a small
    /// broadcast subexpression, which can let dimensions collapse that its inputs would not).
    fn of(
        g: &Graph,
        arg: NodeId,
        axis: Option<usize>,
        shapes: &[Shape],
        inputs: &[RawView],
    ) -> Order {
        let shape = &shapes[arg];
        let reduced: Vec<bool> = (0..shape.len())
            .map(|d| axis.is_none_or(|a| a == d))
            .collect();
        // Operand 0 is the C-ordered buffer of accumulators, still along the reduced axes.
        let kept: Vec<usize> = (0..shape.len())
            .filter(|&d| !reduced[d])
            .map(|d| shape[d])
            .collect();
        let mut kept_strides = crate::exec::c_strides(&kept, 8).into_iter();
        let mut strides = vec![reduced
            .iter()
            .map(|&r| {
                if r {
                    0
                } else {
                    kept_strides.next().unwrap_or(0)
                }
            })
            .collect()];
        strides.extend(leaf_strides(g, arg, shapes, inputs));
        let space = crate::exec::Space {
            dims: shape.clone(),
            strides,
        };
        let has_columns = axis.is_some() && shape.len() >= 2;
        match crate::exec::reduction_walk(&space, &reduced, has_columns) {
            crate::exec::Walk::Columns => Order::Column,
            crate::exec::Walk::Rows { m } => Order::Row { m },
        }
    }
}

/// The byte strides over `shapes[arg]` of every array a stage computing `arg` reads, as the
/// runtime lays them out (`exec::Context::leaf_view`): inputs as bound, reductions in their
/// C-ordered buffers, iotas one element per index.
fn leaf_strides(g: &Graph, arg: NodeId, shapes: &[Shape], inputs: &[RawView]) -> Vec<Strides> {
    let target = &shapes[arg];
    let mut seen = vec![false; g.nodes.len()];
    let (mut stack, mut out) = (vec![arg], Vec::new());
    while let Some(id) = stack.pop() {
        if std::mem::replace(&mut seen[id], true) {
            continue;
        }
        let node = g.node(id);
        let (shape, strides) = match node.kind {
            NodeKind::Input(i) => (&inputs[i].shape, inputs[i].strides.clone()),
            NodeKind::Reduce { .. } => (
                &shapes[id],
                crate::exec::c_strides(&shapes[id], node.dtype.size()),
            ),
            NodeKind::Iota { axis, .. } => {
                let mut s: Strides = smallvec::smallvec![0; node.rank];
                s[axis] = node.dtype.size() as isize;
                (&shapes[id], s)
            }
            _ => {
                stack.extend(g.args(id));
                continue;
            }
        };
        out.push(crate::exec::broadcast_strides(shape, &strides, target));
    }
    out
}

/// One reduction lane, with NumPy's result dtype `out`, combined in the runtime's order: the
/// identity folded with each leaf of [`BLOCK`] elements, the leaves joined pairwise at their
/// midpoint.
fn reduce(op: ReduceOp, lane: &[Scalar], out: DType, order: Order) -> Scalar {
    let acc = op.acc_dtype(lane.first().map_or(out, |s| s.dtype()));
    let identity = op.identity(acc);
    let combine = |a: Scalar, b: Scalar| scalar::eval(op.combiner(), &[a, b]);
    let vals: Vec<Scalar> = lane.iter().map(|s| s.cast(acc)).collect();
    let leaf = |block: &[Scalar]| -> Scalar {
        let folded = match order {
            Order::Column => return block.iter().fold(identity, |a, &x| combine(a, x)),
            Order::Row { .. } => {
                let groups = if block.len() >= ACCUMULATORS {
                    block.len() & !(ACCUMULATORS - 1)
                } else {
                    0
                };
                let mut level = vec![identity; ACCUMULATORS];
                for (j, &x) in block[..groups].iter().enumerate() {
                    level[j % ACCUMULATORS] = combine(level[j % ACCUMULATORS], x);
                }
                while level.len() > 1 {
                    level = level.chunks(2).map(|p| combine(p[0], p[1])).collect();
                }
                block[groups..].iter().fold(level[0], |a, &x| combine(a, x))
            }
        };
        // The kernel folds a row's result into its partial, which starts as the identity.
        combine(identity, folded)
    };
    let leaves: Vec<Scalar> = match order {
        Order::Row { m } => vals
            .chunks(m.max(1))
            .flat_map(|row| row.chunks(BLOCK))
            .map(leaf)
            .collect(),
        Order::Column => vals.chunks(BLOCK).map(leaf).collect(),
    };
    fn tree(v: &[Scalar], f: &impl Fn(Scalar, Scalar) -> Scalar) -> Scalar {
        if v.len() == 1 {
            return v[0];
        }
        let mid = v.len() / 2;
        f(tree(&v[..mid], f), tree(&v[mid..], f))
    }
    let r = if leaves.is_empty() {
        identity
    } else {
        tree(&leaves, &combine)
    };
    let r = match op {
        ReduceOp::Mean => Scalar::F64(r.as_f64() / lane.len() as f64),
        _ => r,
    };
    r.cast(out)
}

/// The string at byte offset `at` (an `I64`) of a bytes view.
fn bytes_at(v: &RawView, at: Scalar) -> &[u8] {
    // SAFETY: `at` is the offset of an element inside the view (`read` made it), and a string
    // element is `size()` bytes the caller keeps borrowed for the evaluation.
    unsafe { std::slice::from_raw_parts(v.ptr.offset(at.as_i64() as isize), v.dtype.size()) }
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
        DType::Bytes(_) => unreachable!("lowering rejects bytes results"),
    }
}
