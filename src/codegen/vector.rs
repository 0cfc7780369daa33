//! Which map stages run as 128-bit vectors, and how wide and how unrolled.
//!
//! Cranelift's x86-64 backend has 128-bit vectors only (F64X2, F32X4, I64X2, I32X4) and never
//! vectorizes or unrolls by itself, so the translator emits the vector loop. A stage qualifies
//! when every value it computes per element has one dtype (no casts; the one bool allowed is a
//! comparison that is the condition of a `where`, a lane mask) and every op has a vector
//! instruction; block-staged functions qualify too, since their results are read back from
//! scratch as vectors. 0-d subexpressions are computed once per call and splatted, so they may
//! have any dtype. Lane-wise, the vector code computes exactly what the scalar code does.

use cranelift_codegen::ir::{types, Type};

use super::staging::Staging;
use crate::core::dtype::DType;
use crate::ir::{Graph, NodeId, NodeKind};
use crate::ops::{Op, ReduceOp};
use crate::plan::Stage;

/// How a stage's elements run as vectors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VectorPlan {
    /// The vector type (e.g. F64X2).
    pub ty: Type,
    /// The element dtype.
    pub dtype: DType,
    /// Elements per vector.
    pub lanes: usize,
    /// Vectors per loop trip.
    pub unroll: usize,
    /// Bytes per element: an operand is contiguous when its inner stride equals this.
    pub elem_size: usize,
    /// Float (true) or integer (false) lanes.
    pub float: bool,
}

impl VectorPlan {
    /// The plan for a map stage, or `None` when some value cannot be a vector.
    pub fn of(g: &Graph, stage: &Stage, staging: Option<&Staging>) -> Option<VectorPlan> {
        // A stage over a 0-d shape (the epilogue of `sum(a*b) - mean(a)`) has one element: a
        // vector loop would never run and would only add compile time.
        if stage.values().iter().all(|&v| g.node(v).rank == 0) {
            return None;
        }
        // A kernel's result may be an int64 count of float64 lanes (P12): its arrays set the
        // lanes' dtype then, and the result is stored as it comes (both are 8 bytes).
        let dtype = match &g.node(stage.value).kind {
            NodeKind::Call(_, args) => args
                .iter()
                .map(|&a| g.node(a))
                .find(|a| a.rank > 0)
                .map_or(g.node(stage.value).dtype, |a| a.dtype),
            _ => g.node(stage.value).dtype,
        };
        let ty = match dtype {
            DType::Float64 => types::F64X2,
            DType::Float32 => types::F32X4,
            DType::Int64 => types::I64X2,
            DType::Int32 => types::I32X4,
            DType::Bool | DType::Complex64 | DType::Complex128 | DType::Bytes(_) => return None,
        };
        let staged =
            |id: NodeId| staging.is_some_and(|s| s.phases.iter().flatten().any(|&n| n == id));
        let mut stack = stage.values().to_vec();
        let mut seen = vec![false; g.nodes.len()];
        let mut computed = 0usize;
        let mut has_kernel = false;
        while let Some(id) = stack.pop() {
            if std::mem::replace(&mut seen[id], true) {
                continue;
            }
            let node = g.node(id);
            let stored_lanes = matches!(node.kind, NodeKind::Call(..))
                && stage.stores.contains(&id)
                && matches!(node.dtype, DType::Float64 | DType::Int64)
                && matches!(dtype, DType::Float64 | DType::Int64);
            if node.dtype != dtype && !stored_lanes {
                return None;
            }
            // Leaves are loaded (or computed, for iotas) per vector; 0-d nodes are computed once
            // per call and splatted, whatever their arguments.
            if stage.leaves.contains(&id) || node.rank == 0 {
                continue;
            }
            match &node.kind {
                NodeKind::Apply(Op::Where, args) => {
                    // A comparison of two vectors of the dtype is a lane mask: `bitselect`.
                    let NodeKind::Apply(cmp, operands) = &g.node(args[0]).kind else {
                        return None;
                    };
                    if !is_comparison(*cmp)
                        || g.node(args[0]).rank == 0
                        || stage.leaves.contains(&args[0])
                        || operands.iter().any(|&x| g.node(x).dtype != dtype)
                    {
                        return None;
                    }
                    computed += 2;
                    stack.extend(operands);
                    stack.extend(&args[1..]);
                }
                NodeKind::Apply(op, args) => {
                    if !staged(id) && !has_vector_instruction(*op, dtype.is_float()) {
                        return None;
                    }
                    computed += 1;
                    stack.extend(args);
                }
                // A kernel on lanes (`translate::lanes`); its 0-d arguments are splatted there.
                NodeKind::Call(kernel, args) => {
                    if !matches!(dtype, DType::Float64 | DType::Int64)
                        || !crate::codegen::translate::lanes::vectorizable(kernel)
                        || args.iter().any(|&a| {
                            let a = g.node(a);
                            a.rank == 0
                                && !matches!(a.dtype, DType::Float64 | DType::Int64 | DType::Bool)
                        })
                    {
                        return None;
                    }
                    has_kernel = true;
                    stack.extend(args.iter().filter(|&&a| g.node(a).rank > 0));
                }
                _ => return None,
            }
        }
        // Enough independent vectors per trip to hide latency, few enough that the values of
        // `unroll` copies of the expression stay within 16 XMM registers.
        let unroll = match computed {
            // A kernel runs its groups in lock step (`translate::lanes`).
            _ if has_kernel => crate::codegen::translate::lanes::GROUPS,
            0..=8 => 4,
            9..=20 => 2,
            _ => 1,
        };
        let elem_size = dtype.size();
        Some(VectorPlan {
            ty,
            dtype,
            lanes: 16 / elem_size,
            unroll,
            elem_size,
            float: dtype.is_float(),
        })
    }
}

impl VectorPlan {
    /// The plan for a reduction stage: as for a map, and the accumulator has the element dtype
    /// and combines with a vector instruction (sums of float64 or int64, products of float64).
    pub fn of_reduction(g: &Graph, stage: &Stage, op: ReduceOp, acc: DType) -> Option<VectorPlan> {
        let plan = VectorPlan::of(g, stage, None)?;
        let combines = match op {
            ReduceOp::Sum | ReduceOp::Mean => true,
            ReduceOp::Prod => plan.float,
            _ => false,
        };
        (plan.dtype == acc && !acc.is_complex() && combines).then_some(plan)
    }
}

fn is_comparison(op: Op) -> bool {
    matches!(op, Op::Lt | Op::Le | Op::Eq | Op::Ne | Op::Ge | Op::Gt)
}

/// Ops the translator can emit on vectors of the given kind.
fn has_vector_instruction(op: Op, float: bool) -> bool {
    if float {
        matches!(
            op,
            Op::Neg
                | Op::Add
                | Op::Sub
                | Op::Mul
                | Op::Div
                | Op::Sqrt
                | Op::Abs
                | Op::Ceil
                | Op::Floor
                | Op::Trunc
                | Op::Round
                | Op::Radians
                | Op::Degrees
        )
    } else {
        matches!(
            op,
            Op::Neg | Op::Add | Op::Sub | Op::BitAnd | Op::BitOr | Op::BitXor | Op::Invert
        )
    }
}
