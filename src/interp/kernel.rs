//! The reference interpreter of kernels: walks a [`KernelIr`] one statement at a time, with the
//! op table's scalar semantics — the oracle the compiled kernels are tested against.

use crate::core::dtype::Scalar;
use crate::exec::cancel;
use crate::ir::kernel::{KStep, KernelIr};
use crate::ir::{Graph, NodeKind};
use crate::ops::scalar;

/// What a block did: ran to its end, or left early.
enum Flow {
    Normal,
    Break,
    Continue,
    Return(Scalar),
    /// The evaluation was cancelled inside a loop: the value is discarded.
    Cancelled,
}

/// The kernel's value for one element: `args` are of its parameters' dtypes.
pub(crate) fn call(k: &KernelIr, args: &[Scalar]) -> Scalar {
    // Every local starts as zero of its dtype; lowering rejects reading one before it is set.
    let mut locals: Vec<Scalar> = k
        .locals
        .iter()
        .map(|(_, d)| Scalar::I64(0).cast(*d))
        .collect();
    locals[..args.len()].copy_from_slice(args);
    match steps(&k.body, &mut locals) {
        Flow::Return(v) => v,
        // Any value of the right dtype: the executor reports the cancellation instead.
        Flow::Cancelled => Scalar::I64(0).cast(k.result),
        // Lowering proves that every path returns.
        _ => unreachable!("kernel `{}` ended without returning", k.name),
    }
}

fn steps(body: &[KStep], locals: &mut [Scalar]) -> Flow {
    for step in body {
        match step {
            KStep::Set(sets) => {
                let values: Vec<Scalar> = sets.iter().map(|(_, g)| value(g, locals)).collect();
                for ((local, _), v) in sets.iter().zip(values) {
                    locals[*local] = v;
                }
            }
            KStep::If { cond, then, orelse } => {
                let branch = if truth(cond, locals) { then } else { orelse };
                match steps(branch, locals) {
                    Flow::Normal => {}
                    other => return other,
                }
            }
            KStep::While { cond, body } => {
                while truth(cond, locals) {
                    if cancel::is_cancelled() {
                        return Flow::Cancelled;
                    }
                    match steps(body, locals) {
                        Flow::Normal | Flow::Continue => {}
                        Flow::Break => break,
                        ret @ (Flow::Return(_) | Flow::Cancelled) => return ret,
                    }
                }
            }
            KStep::For {
                var,
                start,
                stop,
                step,
                body,
            } => {
                let (start, stop, step) =
                    (int(start, locals), int(stop, locals), int(step, locals));
                for i in 0..trip_count(start, stop, step) {
                    if cancel::is_cancelled() {
                        return Flow::Cancelled;
                    }
                    locals[*var] = Scalar::I64(start.wrapping_add((i as i64).wrapping_mul(step)));
                    match steps(body, locals) {
                        Flow::Normal | Flow::Continue => {}
                        Flow::Break => break,
                        ret @ (Flow::Return(_) | Flow::Cancelled) => return ret,
                    }
                }
            }
            KStep::Break => return Flow::Break,
            KStep::Continue => return Flow::Continue,
            KStep::Return(g) => return Flow::Return(value(g, locals)),
        }
    }
    Flow::Normal
}

/// How many values `range(start, stop, step)` has (none for a zero step); the compiled loop
/// computes the same count.
pub(crate) fn trip_count(start: i64, stop: i64, step: i64) -> u64 {
    let (span, by) = match step {
        s if s > 0 && stop > start => (stop.wrapping_sub(start) as u64, s as u64),
        s if s < 0 && start > stop => (start.wrapping_sub(stop) as u64, (s as u64).wrapping_neg()),
        _ => return 0,
    };
    span / by + u64::from(span % by != 0)
}

fn truth(g: &Graph, locals: &[Scalar]) -> bool {
    matches!(value(g, locals), Scalar::Bool(true))
}

fn int(g: &Graph, locals: &[Scalar]) -> i64 {
    value(g, locals).as_i64()
}

/// The value of a kernel expression (a 0-d graph over the locals).
fn value(g: &Graph, locals: &[Scalar]) -> Scalar {
    let mut values: Vec<Scalar> = Vec::with_capacity(g.nodes.len());
    for node in &g.nodes {
        let v = match &node.kind {
            NodeKind::Input(i) => locals[*i],
            NodeKind::Const(s) => *s,
            NodeKind::Cast(a) => values[*a].cast(node.dtype),
            NodeKind::Apply(op, args) => {
                let xs: Vec<Scalar> = args.iter().map(|a| values[*a]).collect();
                scalar::eval(*op, &xs)
            }
            NodeKind::Call(k, args) => {
                let xs: Vec<Scalar> = args.iter().map(|a| values[*a]).collect();
                call(k, &xs)
            }
            NodeKind::Reduce { .. } | NodeKind::Iota { .. } => {
                unreachable!("lowering keeps reductions and generators out of kernels")
            }
        };
        values.push(v);
    }
    values[g.root]
}

#[cfg(test)]
mod tests {
    use super::trip_count;

    #[test]
    fn trip_counts_are_pythons_range_lengths() {
        let cases = [
            (0, 10, 1, 10),
            (0, 10, 3, 4),
            (10, 0, -3, 4),
            (5, 5, 1, 0),
            (5, 0, 1, 0),
            (0, 5, -1, 0),
            (0, 5, 0, 0),
            (i64::MIN, i64::MAX, 1, u64::MAX),
            (i64::MAX, i64::MIN, i64::MIN, 2),
        ];
        for (start, stop, step, n) in cases {
            assert_eq!(
                trip_count(start, stop, step),
                n,
                "range({start}, {stop}, {step})"
            );
        }
    }
}
