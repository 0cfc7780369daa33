//! Constant evaluation on the IR: the value of a 0-d node from constants and 0-d inputs. Lowering
//! uses it to check generator arguments, shape inference to compute generator lengths, the
//! executor for `range` arguments, and the interpreter to read elements: an IR utility, not the
//! oracle.

use crate::core::dtype::{Complex32, Complex64, DType, Scalar};
use crate::core::view::RawView;
use crate::ir::{Graph, NodeId, NodeKind};
use crate::ops::scalar;

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
        // A string op reads its strings (0-d inputs: literals and 0-d variables) in place.
        NodeKind::Apply(op, args) if g.node(args[0]).dtype.is_bytes() => {
            let views = inputs?;
            let string = |a: NodeId| match g.node(a).kind {
                // SAFETY: a 0-d view's one element is `size()` bytes at its pointer, which the
                // caller keeps borrowed for the evaluation.
                NodeKind::Input(i) => {
                    Some(unsafe { std::slice::from_raw_parts(views[i].ptr, views[i].dtype.size()) })
                }
                _ => None,
            };
            Some(Scalar::Bool(scalar::bytes_op(
                *op,
                string(args[0])?,
                string(args[1])?,
            )))
        }
        NodeKind::Apply(op, args) => {
            let xs = args
                .iter()
                .map(|a| scalar_value(g, *a, inputs))
                .collect::<Option<Vec<_>>>()?;
            Some(scalar::eval(*op, &xs))
        }
        // A kernel's value is for the interpreter or the compiled code to compute.
        NodeKind::Reduce { .. } | NodeKind::Iota { .. } | NodeKind::Call(..) => None,
    }
}

/// The element at byte `offset` of a view.
/// The element `offset` bytes from the view's first element, which must lie inside the view.
pub(crate) fn element(v: &RawView, offset: isize) -> Scalar {
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
            DType::Complex64 => Scalar::C64((p as *const Complex32).read_unaligned()),
            DType::Complex128 => Scalar::C128((p as *const Complex64).read_unaligned()),
            // A string has no scalar value: its element is its byte offset in the view, which
            // the string ops of the interpreter read the bytes at (`interp::bytes_at`).
            DType::Bytes(_) => Scalar::I64(offset as i64),
        }
    }
}
