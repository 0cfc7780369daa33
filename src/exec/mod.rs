//! Executes a compiled expression: binds shapes, checks the output, runs the stages in order on
//! numjit's thread pool and returns (or writes) the result.
//!
//! Every check happens before the first kernel runs, so a failed evaluation leaves `out` untouched.

mod buffers;
pub(crate) mod cancel;
pub(crate) mod drive;
mod layout;
mod maps;
mod memo;
mod per_operand;
mod pool;
pub(crate) mod program;
pub(crate) mod stream;

pub(crate) use buffers::{alloc, copy_broadcast, view_of};
use buffers::{copy_into, filled};
// For `numjit::dist`, which combines the ranks' partials as the tree does.
#[cfg_attr(not(feature = "mpi"), allow(unused_imports))]
pub(crate) use drive::{walk as reduction_walk, Acc, Walk, BLOCK};
pub(crate) use layout::{broadcast_strides, c_strides, overlaps};
pub(crate) use pool::on_pool;
pub use pool::{num_threads, set_num_threads};

use ndarray::ArrayD;

use crate::api::array::Array;
use crate::codegen::StageKernel;
use crate::core::dtype::DType;
use crate::core::error::{Error, ErrorKind, Result};
use crate::core::shape::{self, fmt_shape, Shape};
use crate::core::view::RawView;
use crate::ir::{Graph, NodeId, NodeKind};
use crate::plan::hoist::Kernels;
use crate::plan::{Stage, StageKind};
use drive::{Bases, Epilogue, Reduction, SERIAL_CUTOFF};
pub(crate) use layout::Space;

/// Evaluates `g` with `inputs` (indexed like `g.inputs`). With `out`, writes the result there and
/// returns `None`; otherwise returns a new array.
pub(crate) fn execute(
    g: &Graph,
    kernels: &Kernels,
    inputs: &[RawView],
    out: Option<&RawView>,
) -> Result<Option<Array>> {
    let shapes = shape::infer(g, inputs)?;
    let root = g.node(g.root);
    if let Some(out) = out {
        if out.shape != shapes[g.root] || out.dtype != root.dtype {
            return Err(Error::new(
                ErrorKind::Output,
                format!(
                    "output has shape {} and dtype {}, but the expression gives shape {} and dtype {}",
                    fmt_shape(&out.shape),
                    out.dtype,
                    fmt_shape(&shapes[g.root]),
                    root.dtype
                ),
            ));
        }
    }
    let variant = kernels.variant(g, &shapes)?;
    let (stages, code) = match &variant {
        Some(v) => (&v.stages, &v.code),
        None => (&kernels.stages, kernels.plain_code()),
    };
    // An `auto` kernel's plain plan counts its run time towards tiering up.
    let started = variant.is_none().then(std::time::Instant::now);
    let _record = Record(kernels, started);
    let fused = fusable_reduction(g, stages, &shapes);
    let mut ctx = Ctx {
        g,
        inputs,
        shapes: &shapes,
        buffers: Vec::new(),
    };
    for (i, (stage, kernel)) in stages.iter().zip(&code.kernels).enumerate() {
        match stage.kind {
            // Deferred: it runs with the result's stage, which nothing else waits for.
            StageKind::Reduce { .. } if fused == Some(i) => {}
            StageKind::Reduce { node, op, acc } => ctx.materialize(stage, kernel, node, op, acc)?,
            StageKind::Map if stage.hoisted => ctx.hoist(stage, kernel)?,
            StageKind::Map => {
                let fused = fused.map(|i| (&stages[i], &code.kernels[i]));
                return match out {
                    Some(out) => {
                        ctx.finish(stage, kernel, fused, out)?;
                        Ok(None)
                    }
                    None => ctx
                        .new_result(root.dtype, &shapes[g.root], |ctx, view| {
                            ctx.finish(stage, kernel, fused, view)
                        })
                        .map(Some),
                };
            }
        }
    }
    // The root is a reduction: its buffer is the result.
    let result = ctx
        .buffers
        .iter()
        .position(|(n, _)| *n == g.root)
        .map(|i| ctx.buffers.swap_remove(i).1)
        .ok_or_else(|| Error::new(ErrorKind::Internal, "no stage produced the result"))?;
    match out {
        Some(out) => {
            copy_into(&result, out);
            Ok(None)
        }
        None => Ok(Some(result)),
    }
}

/// Records the run time of a plain plan when dropped (every return path of an execution).
struct Record<'a>(&'a Kernels, Option<std::time::Instant>);

impl Drop for Record<'_> {
    fn drop(&mut self) {
        if let Some(started) = self.1 {
            self.0.record(started.elapsed());
        }
    }
}

/// The reduction stage (its index in `stages`) that runs fused with the result's map stage,
/// straight into the result (see `drive::Epilogue`): the map stage is the last and stores the
/// root; it reads the reduction's value, of the result's shape, and otherwise only 0-d
/// operands; no other stage reads the reduction; and its partials are its values (a sum,
/// product, minimum or maximum accumulated in its own dtype: no mean, no float32 sum).
fn fusable_reduction(g: &Graph, stages: &[Stage], shapes: &[Shape]) -> Option<usize> {
    use crate::ops::ReduceOp;
    let (last, before) = stages.split_last()?;
    if last.kind != StageKind::Map || last.hoisted || last.stores != [g.root] {
        return None;
    }
    let mut arrays = last.leaves.iter().filter(|&&l| g.node(l).rank > 0);
    let node = *arrays.next()?;
    if arrays.next().is_some() || shapes[node] != shapes[g.root] {
        return None;
    }
    let i = before
        .iter()
        .position(|s| matches!(s.kind, StageKind::Reduce { node: n, .. } if n == node))?;
    let StageKind::Reduce { op, acc, .. } = before[i].kind else {
        unreachable!("found as a reduce stage")
    };
    let identity_finalize = matches!(
        op,
        ReduceOp::Sum | ReduceOp::Prod | ReduceOp::Min | ReduceOp::Max
    ) && acc == g.node(node).dtype;
    if !identity_finalize || before.iter().any(|s| s.leaves.contains(&node)) {
        return None;
    }
    Some(i)
}

/// Runs the stages of a statement group (`g.roots` non-empty), storing root `i` into `outs[i]`.
/// The caller has inferred `shapes` and checked that the outputs share one shape to which every
/// root broadcasts, and that no output overlaps what the stages read.
pub(crate) fn execute_stores(
    g: &Graph,
    kernels: &Kernels,
    inputs: &[RawView],
    shapes: &[Shape],
    outs: &[RawView],
) -> Result<()> {
    let variant = kernels.variant(g, shapes)?;
    let (stages, code) = match &variant {
        Some(v) => (&v.stages, &v.code),
        None => (&kernels.stages, kernels.plain_code()),
    };
    let started = variant.is_none().then(std::time::Instant::now);
    let _record = Record(kernels, started);
    let mut ctx = Ctx {
        g,
        inputs,
        shapes,
        buffers: Vec::new(),
    };
    for (stage, kernel) in stages.iter().zip(&code.kernels) {
        match stage.kind {
            StageKind::Reduce { node, op, acc } => ctx.materialize(stage, kernel, node, op, acc)?,
            StageKind::Map if stage.hoisted => ctx.hoist(stage, kernel)?,
            StageKind::Map => ctx.map(stage, kernel, outs),
        }
    }
    Ok(())
}

#[cfg(test)]
thread_local! {
    /// Reductions this thread ran fused with the result's map stage (what the tests check).
    static FUSED_RUNS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

struct Ctx<'a> {
    g: &'a Graph,
    inputs: &'a [RawView],
    shapes: &'a [Shape],
    /// Materialized reductions and hoisted subexpressions (a few per evaluation at most, so a
    /// list: a slot per graph node would cost an allocation per call for nothing).
    buffers: Vec<(NodeId, Array)>,
}

impl Ctx<'_> {
    /// Runs a hoisted stage: its node into a buffer of its own shape, read by later stages.
    fn hoist(&mut self, stage: &Stage, kernel: &StageKernel) -> Result<()> {
        let node = stage.value;
        let a = alloc(self.g.node(node).dtype, &self.shapes[node])?;
        self.map(stage, kernel, &[view_of(&a)]);
        self.buffers.push((node, a));
        Ok(())
    }

    /// Runs a reduction stage and keeps its result for the stages after it.
    fn materialize(
        &mut self,
        stage: &Stage,
        kernel: &StageKernel,
        node: NodeId,
        op: crate::ops::ReduceOp,
        acc: DType,
    ) -> Result<()> {
        let buffer = self.reduce(stage, kernel, node, op, acc)?;
        self.buffers.push((node, buffer));
        Ok(())
    }

    /// The memory a leaf node reads.
    fn leaf_view(&self, leaf: NodeId) -> RawView {
        let node = self.g.node(leaf);
        match node.kind {
            NodeKind::Input(i) => self.inputs[i].clone(),
            // An iota reads no memory: its "address" is `index × element size` (from a null
            // base), which the kernel turns back into the index. Chunking, collapsing and
            // broadcasting then move it exactly like an input.
            NodeKind::Iota { axis, .. } => {
                let mut strides: crate::core::shape::Strides = smallvec::smallvec![0; node.rank];
                strides[axis] = node.dtype.size() as isize;
                // A distributed evaluation's rows start at a global index (`core::window`).
                let first = crate::core::window::current()
                    .filter(|w| crate::core::window::windows_iota(w, axis, node.rank))
                    .map_or(0, |w| w.offset);
                RawView {
                    dtype: node.dtype,
                    ptr: std::ptr::null::<u8>().wrapping_add(first * node.dtype.size()),
                    shape: self.shapes[leaf].clone(),
                    strides,
                }
            }
            _ => view_of(
                self.buffers
                    .iter()
                    .find_map(|(n, a)| (*n == leaf).then_some(a))
                    .unwrap_or_else(|| unreachable!("reductions run before their users")),
            ),
        }
    }

    /// The iteration space of a stage over `shape`, the first operands being its outputs.
    fn space(
        &self,
        stage: &Stage,
        shape: &[usize],
        out_strides: Vec<crate::core::shape::Strides>,
    ) -> (Space, Vec<RawView>) {
        let leaves: Vec<RawView> = stage.leaves.iter().map(|&l| self.leaf_view(l)).collect();
        let mut strides = out_strides;
        strides.extend(
            leaves
                .iter()
                .map(|v| broadcast_strides(&v.shape, &v.strides, shape)),
        );
        (
            Space {
                dims: shape.into(),
                strides,
            },
            leaves,
        )
    }

    /// Runs a map stage into `outs` (one per store, all of one shape, to which every stored
    /// value broadcasts).
    fn map(&self, stage: &Stage, kernel: &StageKernel, outs: &[RawView]) {
        let shape = &outs[0].shape;
        let out_strides = outs.iter().map(|o| o.strides.clone()).collect();
        let (space, leaves) = self.space(stage, shape, out_strides);
        let mut bases: Vec<usize> = outs.iter().map(|o| o.ptr as usize).collect();
        bases.extend(leaves.iter().map(|v| v.ptr as usize));
        let space = in_storage_order(space, &bases, &mut []).collapse();
        let parallel = worth_parallel(space.size());
        if let Some(bytes) = self.plain_copy(stage, &space, &outs[0]) {
            // SAFETY: `plain_copy` checked that both operands are `bytes` contiguous bytes.
            unsafe { drive::run_copy(bases[0], bases[1], bytes, parallel) };
            return;
        }
        // Outputs written once (no leaf reads their memory) and larger than the last-level
        // cache go around it.
        let stream = kernel.streaming.is_some()
            && drive::streams(
                outs.iter()
                    .map(|o| o.shape.iter().product::<usize>() * o.dtype.size())
                    .sum(),
            )
            && !outs.iter().any(|o| leaves.iter().any(|l| overlaps(o, l)));
        drive::run_map(kernel, &space, &Bases(bases), true, parallel, stream);
    }

    /// The bytes to copy when a map stage only copies one contiguous array of `out`'s dtype
    /// into `out`, also contiguous (`out[...] = a`, `evaluate("a")`): `memcpy` does that faster
    /// than a kernel, since for large copies it stores without reading the destination first.
    fn plain_copy(&self, stage: &Stage, space: &Space, out: &RawView) -> Option<usize> {
        let size = out.dtype.size() as isize;
        let copies = stage.stores.len() == 1
            && matches!(self.g.node(stage.value).kind, NodeKind::Input(_))
            && self.g.node(stage.value).dtype == out.dtype
            && space.dims.len() == 1
            && space.strides.iter().all(|s| s[0] == size);
        copies.then(|| space.dims[0] * size as usize)
    }

    /// Runs the result's map stage into `out`. With `fused`, the reduction stage deferred for
    /// it first tries to run with the map stage as its epilogue, straight into `out`; when its
    /// layout does not allow that, or `out` overlaps an input, it runs the usual way, into a
    /// buffer the map stage reads.
    fn finish(
        &mut self,
        stage: &Stage,
        kernel: &StageKernel,
        fused: Option<(&Stage, &StageKernel)>,
        out: &RawView,
    ) -> Result<()> {
        if let Some((reduction, reduction_kernel)) = fused {
            // An output that is an input's memory (an in-place update through the C API) is
            // written only after the reduction has read all of it.
            let apart = !self.inputs.iter().any(|input| overlaps(input, out));
            if apart && self.reduce_into(reduction, reduction_kernel, stage, kernel, out) {
                #[cfg(test)]
                FUSED_RUNS.with(|n| n.set(n.get() + 1));
                return Ok(());
            }
            let StageKind::Reduce { node, op, acc } = reduction.kind else {
                unreachable!("a fused stage is a reduction")
            };
            self.materialize(reduction, reduction_kernel, node, op, acc)?;
        }
        self.map(stage, kernel, std::slice::from_ref(out));
        Ok(())
    }

    /// Allocates the result and has `fill` write every element of it. A result too large to
    /// allocate is a `limit` error, not an abort: `arange(2**52)` is one short expression.
    fn new_result(
        &mut self,
        dtype: DType,
        shape: &[usize],
        fill: impl FnOnce(&mut Self, &RawView) -> Result<()>,
    ) -> Result<Array> {
        let too_big = || {
            Error::new(
                ErrorKind::Limit,
                format!(
                    "cannot allocate a result of shape {} and dtype {dtype}",
                    fmt_shape(shape)
                ),
            )
        };
        let n = shape::checked_bytes(shape, dtype).ok_or_else(too_big)?;
        macro_rules! alloc_run {
            ($t:ty, $v:ident) => {{
                let mut buf: Vec<std::mem::MaybeUninit<$t>> = Vec::new();
                buf.try_reserve_exact(n).map_err(|_| too_big())?;
                // SAFETY: the capacity is `n`, and `MaybeUninit` elements need no initialization.
                unsafe { buf.set_len(n) };
                let mut a = ArrayD::from_shape_vec(shape, buf)
                    .map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?;
                crate::core::alloc::advise_huge_pages(a.as_mut_ptr() as *mut u8, n * dtype.size());
                let view = RawView {
                    dtype,
                    ptr: a.as_mut_ptr() as *const u8,
                    shape: shape.into(),
                    strides: c_strides(shape, dtype.size()),
                };
                fill(self, &view)?;
                // A cancelled evaluation skips work: its elements need not all be written.
                cancel::check()?;
                // SAFETY: `fill` wrote every element of `a` (the result's stage, whose space is
                // exactly `shape`, or a reduction whose epilogue is that stage).
                Array::$v(unsafe { a.assume_init() })
            }};
        }
        Ok(match dtype {
            DType::Bool => alloc_run!(bool, Bool),
            DType::Int32 => alloc_run!(i32, Int32),
            DType::Int64 => alloc_run!(i64, Int64),
            DType::Float32 => alloc_run!(f32, Float32),
            DType::Float64 => alloc_run!(f64, Float64),
            DType::Complex64 => alloc_run!(crate::Complex32, Complex64),
            DType::Complex128 => alloc_run!(crate::Complex64, Complex128),
            DType::Bytes(_) => {
                return Err(Error::new(
                    ErrorKind::Internal,
                    "an expression's result is never bytes (lowering rejects it)",
                ))
            }
        })
    }

    /// Runs the reduction stage `stage` into `out`, of the reduction's shape (operand 0, stepping
    /// along kept dimensions only): into accumulators pre-filled with the identity, or, with an
    /// epilogue, through the result's map stage when the layout allows (`Reduction::run_fused`;
    /// false, having done nothing, when it does not).
    fn run_reduction(
        &self,
        stage: &Stage,
        kernel: &StageKernel,
        out: &RawView,
        epilogue: Option<&Epilogue>,
    ) -> bool {
        let StageKind::Reduce { node, op, acc } = stage.kind else {
            unreachable!("a reduction stage")
        };
        let NodeKind::Reduce { axis, .. } = self.g.node(node).kind else {
            unreachable!("reduce stage of a Reduce node")
        };
        let in_shape = &self.shapes[stage.value];
        let reduced: Vec<bool> = (0..in_shape.len())
            .map(|d| axis.is_none_or(|a| a == d))
            .collect();
        let mut out_strides = crate::core::shape::Strides::new();
        let mut kept = out.strides.iter();
        for r in &reduced {
            out_strides.push(if *r { 0 } else { *kept.next().unwrap_or(&0) });
        }
        let (space, leaves) = self.space(stage, in_shape, vec![out_strides]);
        let mut bases = vec![out.ptr as usize];
        bases.extend(leaves.iter().map(|v| v.ptr as usize));
        let mut reduced = reduced;
        let space = in_storage_order(space, &bases, &mut reduced);
        // On the stack, like the drivers' other per-operand values: small reductions pay no
        // allocation for a table only column reductions read.
        let mut element_sizes = per_operand::PerOperand::<Option<usize>>::zeroed(bases.len());
        for ((size, &l), v) in element_sizes[1..]
            .iter_mut()
            .zip(&stage.leaves)
            .zip(&leaves)
        {
            let reads_memory = !matches!(self.g.node(l).kind, NodeKind::Iota { .. });
            *size = reads_memory.then(|| v.dtype.size());
        }
        let reduction = Reduction {
            kernel,
            op,
            acc,
            space: &space,
            reduced: &reduced,
            bases: &Bases(bases),
            parallel: worth_parallel(shape::size(in_shape)),
            epilogue,
            element_sizes: &element_sizes,
        };
        match epilogue {
            Some(_) => reduction.run_fused(),
            None => {
                reduction.run();
                true
            }
        }
    }

    /// Runs the reduction stage `stage` with the result's map stage `map` as its epilogue,
    /// straight into `out` (the map's operands other than the reduction are 0-d), when the
    /// reduction's layout allows: see `Reduction::run_fused`. Returns false, having done
    /// nothing, otherwise.
    fn reduce_into(
        &self,
        stage: &Stage,
        kernel: &StageKernel,
        map: &Stage,
        map_kernel: &StageKernel,
        out: &RawView,
    ) -> bool {
        let StageKind::Reduce { node, .. } = stage.kind else {
            unreachable!("a fused stage is a reduction")
        };
        let heads = map.heads();
        let mut ptrs = vec![0; heads + map.leaves.len()];
        let mut partial = 0;
        for (k, &leaf) in map.leaves.iter().enumerate() {
            if leaf == node {
                partial = heads + k;
            } else {
                ptrs[heads + k] = self.leaf_view(leaf).ptr as usize;
            }
        }
        let epilogue = Epilogue {
            kernel: map_kernel,
            ptrs,
            partial,
        };
        self.run_reduction(stage, kernel, out, Some(&epilogue))
    }

    /// Runs a reduction stage and returns its finalized result (the node's dtype and shape).
    fn reduce(
        &self,
        stage: &Stage,
        kernel: &StageKernel,
        node: NodeId,
        op: crate::ops::ReduceOp,
        acc: DType,
    ) -> Result<Array> {
        let accs = filled(acc, &self.shapes[node], op.identity(acc))?;
        self.run_reduction(stage, kernel, &view_of(&accs), None);
        // `numjit::dist` combines the ranks' accumulators and finalizes once (its graph gives
        // the root the accumulator's dtype, so the result stage reads these as they are).
        if node == self.g.root && crate::core::window::current().is_some_and(|w| w.raw_root) {
            return Ok(accs);
        }
        let in_shape = &self.shapes[stage.value];
        let count = match self.g.node(node).kind {
            NodeKind::Reduce { axis: Some(a), .. } => in_shape[a],
            _ => shape::size(in_shape),
        };
        Ok(finalize(accs, op, self.g.node(node).dtype, count))
    }
}

/// `space` with its dimensions (and `marks`, one per dimension, when given) reordered so that
/// a file among the operands at `bases` is walked in the order it is stored (`stream::leading`,
/// `Space::storage_order`): a Fortran-ordered file is read once, front to back. Arrays in
/// memory keep the C-order walk, so their results are unchanged; over a file, a reduction's
/// pairwise tree follows the file's order (as NumPy's does), still the same at any thread
/// count.
fn in_storage_order(space: Space, bases: &[usize], marks: &mut [bool]) -> Space {
    let Some(lead) = stream::leading(bases) else {
        return space;
    };
    let Some(order) = space.storage_order(lead) else {
        return space;
    };
    if !marks.is_empty() {
        let old = marks.to_vec();
        for (m, &d) in marks.iter_mut().zip(&order) {
            *m = old[d];
        }
    }
    space.select(&order)
}

/// True when `elements` are enough to share among threads, and there is more than one thread:
/// a one-thread pool would only add a hand-off to its worker per call.
fn worth_parallel(elements: usize) -> bool {
    elements >= SERIAL_CUTOFF && pool::num_threads() > 1
}

/// Turns accumulators into results: means divide by the count, float32 sums and complex64
/// products round back to their dtype.
pub(crate) fn finalize(accs: Array, op: crate::ops::ReduceOp, dtype: DType, count: usize) -> Array {
    use crate::ops::ReduceOp;
    match (op, accs) {
        (ReduceOp::Mean, Array::Float64(a)) => {
            let mean = a.mapv(|s| s / count as f64);
            if dtype == DType::Float32 {
                Array::Float32(mean.mapv(|v| v as f32))
            } else {
                Array::Float64(mean)
            }
        }
        (_, Array::Float64(a)) if dtype == DType::Float32 => Array::Float32(a.mapv(|v| v as f32)),
        (_, Array::Complex128(a)) if dtype == DType::Complex64 => {
            Array::Complex64(a.mapv(|z| crate::Complex32::new(z.re as f32, z.im as f32)))
        }
        (_, a) => a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Engine, Vars};
    use ndarray::{s, Array2, NewAxis};

    /// Evaluates `expr` (allocating, and into an output when it is float64), checks the
    /// result against the interpreter, and returns whether the reduction ran fused (both times).
    fn fused(expr: &str, vars: &Vars) -> bool {
        let runs = || FUSED_RUNS.with(|n| n.get());
        let before = runs();
        let k = Engine::default().compile(expr, &vars.signature()).unwrap();
        let a = k.eval(vars).unwrap();
        let mut evals = 1;
        if let Array::Float64(a) = &a {
            let mut out = ndarray::ArrayD::<f64>::zeros(a.shape());
            k.eval_into(vars, &mut out).unwrap();
            assert_eq!(&out, a, "{expr}: eval_into and eval differ");
            evals += 1;
        }
        let (jit, reference) = (a.to_f64(), k.eval_reference(vars).unwrap().to_f64());
        for (x, y) in jit.iter().zip(&reference) {
            assert!(
                (x - y).abs() <= 1e-12 * x.abs().max(1.0),
                "{expr}: {x} vs {y}"
            );
        }
        let n = runs() - before;
        assert!(n == 0 || n == evals, "{expr}: fused {n} of {evals} times");
        n > 0
    }

    /// P10's operands: `X[:, None, :]` and `X[None, :, :]`.
    fn pair<T: crate::Element>(x: &Array2<T>) -> Vars<'_> {
        Vars::new()
            .with("xi", x.slice(s![.., NewAxis, ..]))
            .with("xj", x.slice(s![NewAxis, .., ..]))
    }

    fn points(m: usize, k: usize) -> Array2<f64> {
        Array2::from_shape_fn((m, k), |(i, j)| ((i * 3 + j) as f64 * 0.618).fract() - 0.5)
    }

    #[test]
    fn a_reduction_read_by_the_result_alone_runs_fused() {
        let x = points(40, 3);
        let vars = pair(&x).with("s", 2.0);
        for expr in [
            "sqrt(sum((xi - xj)**2, axis=-1))",
            "sqrt(sum((xi - xj)**2, axis=-1)) * s + 1",
            "max(abs(xi - xj), axis=-1) - s",
            "prod(xi - xj + 1, axis=-1) * 2",
            "-min(xi * xj, axis=2)",
        ] {
            assert!(fused(expr, &vars), "{expr}");
        }
        // A non-innermost axis of at most one block of rows: one row block per tile.
        let c = points(100, 50);
        assert!(fused(
            "sqrt(sum(c * c, axis=0))",
            &Vars::new().with("c", &c)
        ));
        // 0-d operands may be reductions of their own, computed before.
        let c = points(20, 40);
        assert!(fused(
            "sum(c, axis=0) / sum(abs(c))",
            &Vars::new().with("c", &c)
        ));
    }

    #[test]
    fn reductions_needing_a_buffer_are_materialized() {
        let x = points(40, 3);
        let d = points(40, 40);
        let x32 = x.mapv(|v| v as f32);
        let vars = pair(&x).with("d", &d);
        for expr in [
            // Finalized after the reduction: the mean's division.
            "sqrt(mean((xi - xj)**2, axis=-1))",
            // The map stage reads another array.
            "sqrt(sum((xi - xj)**2, axis=-1)) + d",
            // Another stage reads the reduction.
            "sum((xi - xj)**2, axis=-1) / sum(sum((xi - xj)**2, axis=-1))",
            // A generator is an array too.
            "sum((xi - xj)**2, axis=-1) * arange(40)",
        ] {
            assert!(!fused(expr, &vars), "{expr}");
        }
        // A float32 sum accumulates in float64 and rounds after.
        assert!(!fused("sqrt(sum((xi - xj)**2, axis=-1))", &pair(&x32)));
        // Fusable, but the layouts are not column reductions of one block: the usual path.
        let small = points(9, 3);
        assert!(!fused("sqrt(sum((xi - xj)**2, axis=-1))", &pair(&small)));
        let c = points(200, 50);
        assert!(!fused(
            "sqrt(sum(c * c, axis=0))",
            &Vars::new().with("c", &c)
        ));
        let empty = points(40, 0);
        assert!(!fused(
            "sqrt(sum((xi - xj)**2, axis=-1)) + 1",
            &pair(&empty)
        ));
    }
}
