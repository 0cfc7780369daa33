//! One stage of the IR → one Cranelift function: a 2-d loop nest around the fused expression.
//!
//! Every kernel has the same C signature ([`KernelFn`]): it walks an `n0 × n1` box; operand `k`
//! starts at `ptrs[k]` and advances by `strides[2k]` bytes per outer step and `strides[2k+1]` per
//! inner step (0 for a broadcast operand). The runtime maps any rank and layout onto calls of such
//! boxes. Operand 0 is the output of a map stage, or the row of partials of a reduction stage.
//!
//! This file holds the loop nest (the outer and inner loops, their counters and pointer
//! advances) and a plain map row; `elements.rs` the element loop (vector body, scalar tail),
//! `staged.rs` block-staged rows calling vector-math kernels, `reduce.rs` reduction rows, and
//! `emit.rs` the per-node emitter.

mod elements;
mod emit;
pub(super) mod kernel;
pub(crate) mod lanes;
mod reduce;
mod staged;

use std::collections::HashMap;

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    types, AbiParam, Block, FuncRef, InstBuilder, MemFlagsData, Signature, Type, Value,
};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_jit::JITModule;
use cranelift_module::Module;

use super::staging::{Slot, Staging};
use super::vector::VectorPlan;
use crate::core::dtype::DType;
use crate::core::error::Result;
use crate::ir::{Graph, NodeId, NodeKind};
use crate::plan::{Stage, StageKind};

/// Scratch bytes a stage needs beyond block staging: one 64-byte region per leaf operand for
/// the splatted value of an operand that is invariant along a row.
pub(crate) fn invariant_scratch(leaves: usize) -> usize {
    64 * leaves
}

/// Byte offset of leaf `leaf`'s invariant region in scratch (after the staging blocks).
fn invariant_region(staging: Option<&Staging>, leaf: usize) -> usize {
    staging.map_or(0, |s| s.scratch_bytes.next_multiple_of(64)) + 64 * leaf
}

/// The machine signature of every kernel. `scratch` is per-thread memory of at least the
/// stage's `scratch_bytes`, 64-byte aligned (used by block staging).
pub(crate) type KernelFn = unsafe extern "C" fn(
    n0: i64,
    n1: i64,
    ptrs: *const *mut u8,
    strides: *const i64,
    scratch: *mut u8,
    cancel: *const std::sync::atomic::AtomicU32,
);

/// Independent accumulators per reduction row. Eight, combined as
/// `((a0+a1)+(a2+a3))+((a4+a5)+(a6+a7))` with the tail added after, is NumPy's pairwise-sum
/// base case, so a 128-element block sums exactly as NumPy sums it.
pub(crate) const ACCUMULATORS: usize = 8;

/// Rows a column kernel folds per pass over its row of partials: each partial is loaded once,
/// combined with this many rows' elements in row order (the same operations, in the same
/// order, as one row at a time), and stored once. One row per pass loads and stores the
/// partials once per element; P11's `sum(c, axis=0)` on 10⁴ × 10⁴ took 57 ms that way, the
/// loads and stores of the partials bounding it (a C loop with 128-bit vectors: 58 ms one row
/// at a time, 34 ms four rows at a time).
pub(crate) const COLUMN_ROWS: usize = 4;

pub(crate) fn clif_type(d: DType) -> Type {
    match d {
        DType::Bool => types::I8,
        DType::Int32 => types::I32,
        DType::Int64 => types::I64,
        DType::Float32 => types::F32,
        DType::Float64 => types::F64,
        // A complex value is a pair of values of its parts' type (see `Translator::imag`).
        DType::Complex64 => types::F32,
        DType::Complex128 => types::F64,
        // A string is its address: the string ops pass it to their helpers (`emit.rs`).
        DType::Bytes(_) => types::I64,
    }
}

/// True when a value `stage` computes applies a kernel (`def`).
fn calls_kernel(g: &Graph, stage: &Stage) -> bool {
    let mut stack = stage.values().to_vec();
    let mut seen = vec![false; g.nodes.len()];
    while let Some(id) = stack.pop() {
        if std::mem::replace(&mut seen[id], true) || stage.leaves.contains(&id) {
            continue;
        }
        if matches!(g.node(id).kind, NodeKind::Call(..)) {
            return true;
        }
        stack.extend(g.args(id));
    }
    false
}

pub(crate) fn kernel_signature(module: &JITModule) -> Signature {
    let mut sig = module.make_signature();
    for _ in 0..6 {
        sig.params.push(AbiParam::new(types::I64));
    }
    sig
}

/// Builds the body of `func` for `stage`.
pub(crate) fn translate(
    g: &Graph,
    stage: &Stage,
    module: &mut JITModule,
    func: &mut cranelift_codegen::ir::Function,
    fctx: &mut FunctionBuilderContext,
    staging: Option<&Staging>,
    columns: bool,
) -> Result<()> {
    let vector = match stage.kind {
        StageKind::Map => VectorPlan::of(g, stage, staging),
        StageKind::Reduce { op, acc, .. } => VectorPlan::of_reduction(g, stage, op, acc),
    };
    let b = FunctionBuilder::new(func, fctx);
    let mut t = Translator {
        g,
        stage,
        b,
        module,
        helpers: HashMap::new(),
        consts: HashMap::new(),
        operand_of: stage
            .leaves
            .iter()
            .enumerate()
            .map(|(k, &leaf)| (leaf, k + stage.heads()))
            .collect(),
        ptr: Vec::new(),
        s0: Vec::new(),
        s1: Vec::new(),
        staging,
        loaded: HashMap::new(),
        scratch: None,
        cancel: None,
        index: None,
        vector,
        contiguous: None,
        any_invariant: None,
        vector_mode: false,
        lane_offset: 0,
        vconsts: HashMap::new(),
        pending_lanes: HashMap::new(),
        calls_kernel: calls_kernel(g, stage),
        columns,
        invariant: HashMap::new(),
        vector_step: HashMap::new(),
        fast_offset: None,
        row_shift: Vec::new(),
        iotas: HashMap::new(),
        iota_group: HashMap::new(),
        imag: HashMap::new(),
        complex_out: None,
    };
    t.body()?;
    let config = t.module.target_config();
    t.b.finalize(config);
    Ok(())
}

struct Translator<'a, 'f> {
    g: &'a Graph,
    stage: &'a Stage,
    b: FunctionBuilder<'f>,
    module: &'a mut JITModule,
    helpers: HashMap<String, FuncRef>,
    /// Constants, materialized once in the entry block (which dominates every use).
    consts: HashMap<NodeId, Value>,
    /// Leaf node → operand index.
    operand_of: HashMap<NodeId, usize>,
    /// The current element address of each operand.
    ptr: Vec<Variable>,
    /// Per-operand outer and inner strides in bytes.
    s0: Vec<Value>,
    s1: Vec<Value>,
    staging: Option<&'a Staging>,
    /// Staged nodes whose block of values is already in scratch (read them from there).
    loaded: HashMap<NodeId, Slot>,
    /// The scratch base address.
    scratch: Option<Value>,
    /// The address of the evaluation's cancel flag (a `u32`, nonzero once cancelled), which
    /// kernel loops read at every trip (see [`Translator::cancel_point`]).
    cancel: Option<Value>,
    /// The element index within the current block (addresses scratch).
    index: Option<Variable>,
    /// How this stage's elements run as vectors, when they can.
    vector: Option<VectorPlan>,
    /// True (nonzero) when every operand's inner stride is its element size, in this call.
    contiguous: Option<Value>,
    /// True (nonzero) when some operand is invariant along the rows of this call (computed
    /// once, at entry).
    any_invariant: Option<Value>,
    /// Emitting the vector body: values are vectors of `vector.lanes` elements.
    vector_mode: bool,
    /// Byte offset of the current vector within an unrolled group (0 in scalar code).
    lane_offset: i32,
    /// Splatted constants, materialized in the entry block.
    vconsts: HashMap<NodeId, Value>,
    /// Results of a kernel on lanes for the unrolled copies after the first, which computed
    /// them (by node and byte offset of the copy's vector).
    pending_lanes: HashMap<(NodeId, i32), Value>,
    /// The stage applies a kernel: its time is the kernel's loops, so a map compiles no second,
    /// all-contiguous vector loop (a kernel's code is long to compile). Reductions keep their
    /// eight accumulators in registers, which measured 10 % faster on P8 than compiling the
    /// element once (`benches/course/RESULTS-session7-final.md`, closing note of session 7).
    calls_kernel: bool,
    /// A reduction compiled as a column kernel: `partial[j] ⊕= value(j)` along the row.
    columns: bool,
    /// Per leaf operand: "constant along each row of this call" (inner stride 0), and a scratch
    /// region holding the row's value splatted over a whole unrolled group (see
    /// [`invariant_region`]).
    invariant: HashMap<usize, (Value, Value)>,
    /// Per operand: bytes to advance per vector-loop trip (`s1 × lanes × unroll`).
    vector_step: HashMap<usize, Value>,
    /// In the fast vector loop (every operand contiguous): the byte offset of the current
    /// group from the operands' pointers.
    fast_offset: Option<Value>,
    /// In a column kernel's block of rows ([`COLUMN_ROWS`]): per operand, the byte offset of
    /// the row being read from the block's first row (empty: the first row itself).
    row_shift: Vec<Value>,
    /// Iota operands, which read no memory: their address is `index << shift`.
    iotas: HashMap<usize, IotaOperand>,
    /// Per iota operand, the first index of the current vector group, splatted (emitted in the
    /// group's block by its first vector; cleared when a group starts).
    iota_group: HashMap<usize, Value>,
    /// A complex value is its real part's SSA value, and this maps it to its imaginary part's.
    /// Every complex value gets a real part of its own ([`Translator::complex`] copies one that
    /// is already taken), so the map is a function of the complex values emitted.
    imag: HashMap<Value, Value>,
    /// Two floats of stack the complex helpers write their result to (made on first use).
    complex_out: Option<cranelift_codegen::ir::StackSlot>,
}

/// An iota operand of a kernel.
struct IotaOperand {
    /// log2 of the element size: `address >> shift` is the index.
    shift: i64,
    /// With a vector plan: per vector `v` of an unrolled group, the lane offsets
    /// `[(v·lanes + l) · d]` (`d` the inner stride in elements), in the vector type.
    offsets: Vec<Value>,
}

const FLAGS: MemFlagsData = MemFlagsData::trusted();

impl Translator<'_, '_> {
    /// Returns from the kernel when the evaluation was cancelled: emitted at the head of every
    /// kernel loop, so that `while True:` stops too. One load and a branch that is never taken
    /// until then (the runtime discards what a cancelled call computed).
    fn cancel_point(&mut self) {
        let flag = self.cancel.expect("set in the entry block");
        // Not `trusted`: another thread writes the flag, so the load must not be hoisted out
        // of the loop (Cranelift does not hoist loads; `readonly` would allow it).
        let cancelled = self
            .b
            .ins()
            .load(types::I32, MemFlagsData::new().with_notrap(), flag, 0);
        let (stop, go) = (self.b.create_block(), self.b.create_block());
        self.b.ins().brif(cancelled, stop, &[], go, &[]);
        self.b.switch_to_block(stop);
        self.b.seal_block(stop);
        self.b.ins().return_(&[]);
        self.b.switch_to_block(go);
        self.b.seal_block(go);
    }

    /// entry → (outer loop (inner loop)) → exit, all loops bottom-tested behind one guard.
    fn body(&mut self) -> Result<()> {
        let entry = self.b.create_block();
        self.b.append_block_params_for_function_params(entry);
        self.b.switch_to_block(entry);
        self.b.seal_block(entry);
        let params = self.b.block_params(entry).to_vec();
        let (n0, n1, ptrs, strides) = (params[0], params[1], params[2], params[3]);
        self.scratch = Some(params[4]);
        self.cancel = Some(params[5]);

        let heads = self.stage.heads();
        let operands = self.stage.leaves.len() + heads;
        let mut row = Vec::with_capacity(operands);
        for k in 0..operands {
            let base = self.b.ins().load(types::I64, FLAGS, ptrs, (8 * k) as i32);
            let s0 = self
                .b
                .ins()
                .load(types::I64, FLAGS, strides, (16 * k) as i32);
            let s1 = self
                .b
                .ins()
                .load(types::I64, FLAGS, strides, (16 * k + 8) as i32);
            self.s0.push(s0);
            self.s1.push(s1);
            let rv = self.b.declare_var(types::I64);
            self.b.def_var(rv, base);
            row.push(rv);
            let pv = self.b.declare_var(types::I64);
            self.b.def_var(pv, base);
            self.ptr.push(pv);
        }
        self.hoist_constants()?;
        for (k, &leaf) in self.stage.leaves.iter().enumerate() {
            let node = self.g.node(leaf);
            if matches!(node.kind, NodeKind::Iota { .. }) {
                let shift = node.dtype.size().trailing_zeros() as i64;
                let offsets = match self.vector {
                    Some(plan) => self.iota_offsets(plan, self.s1[k + heads], shift),
                    None => Vec::new(),
                };
                self.iotas.insert(k + heads, IotaOperand { shift, offsets });
            }
        }
        if let Some(plan) = self.vector {
            let mut all = self.b.ins().iconst(types::I8, 1);
            // A reduction's partial (operand 0) stays put along the row: only its inputs count.
            let first =
                usize::from(matches!(self.stage.kind, StageKind::Reduce { .. }) && !self.columns);
            for k in first..operands {
                if k >= heads && self.g.node(self.stage.leaves[k - heads]).rank == 0 {
                    continue; // loaded once in the entry block
                }
                if self.iotas.contains_key(&k) {
                    // Computed, never loaded: any stride runs as vectors.
                    let step = self
                        .b
                        .ins()
                        .imul_imm_s(self.s1[k], (plan.lanes * plan.unroll) as i64);
                    self.vector_step.insert(k, step);
                    continue;
                }
                let contiguous =
                    self.b
                        .ins()
                        .icmp_imm_s(IntCC::Equal, self.s1[k], plan.elem_size as i64);
                let ok = if k >= heads {
                    // A leaf the row does not move along (`b[:, None]` in `a * b[:, None]`, or a
                    // broadcast like `lat[:, None, None]` that neither loop moves) is one value
                    // per row: vector loops read it splatted, from this operand's region of
                    // scratch (no per-load select), refreshed at the start of every row.
                    let invariant = self.b.ins().icmp_imm_s(IntCC::Equal, self.s1[k], 0);
                    let region = self
                        .b
                        .ins()
                        .iadd_imm_s(params[4], invariant_region(self.staging, k - heads) as i64);
                    self.invariant.insert(k, (invariant, region));
                    self.b.ins().bor(contiguous, invariant)
                } else {
                    contiguous
                };
                all = self.b.ins().band(all, ok);
                let step = self
                    .b
                    .ins()
                    .imul_imm_s(self.s1[k], (plan.lanes * plan.unroll) as i64);
                self.vector_step.insert(k, step);
            }
            self.contiguous = Some(all);
            self.any_invariant = Some(self.any_invariant());
        }

        let outer = self.b.create_block();
        let exit = self.b.create_block();
        let i = self.b.declare_var(types::I64);
        let zero = self.b.ins().iconst(types::I64, 0);
        self.b.def_var(i, zero);
        let has0 = self.b.ins().icmp_imm_s(IntCC::SignedGreaterThan, n0, 0);
        let has1 = self.b.ins().icmp_imm_s(IntCC::SignedGreaterThan, n1, 0);
        let nonempty = self.b.ins().band(has0, has1);
        match self.stage.kind {
            StageKind::Reduce { op, acc, .. } if self.blocks_column_rows() => {
                let start = self.b.create_block();
                self.b.ins().brif(nonempty, start, &[], exit, &[]);
                self.b.switch_to_block(start);
                self.b.seal_block(start);
                self.column_row_blocks(n0, n1, op, acc, &row, i, outer, exit)?;
            }
            _ => {
                self.b.ins().brif(nonempty, outer, &[], exit, &[]);
            }
        }

        // Outer loop: reset element pointers to the row start, run the row, step the rows.
        self.b.switch_to_block(outer);
        self.start_row(&row);
        match self.stage.kind {
            StageKind::Map => match self.staging {
                Some(staging) => self.staged_map_row(n1, staging)?,
                None => self.map_row(n1)?,
            },
            StageKind::Reduce { op, acc, .. } if self.columns => self.column_row(n1, op, acc)?,
            StageKind::Reduce { op, acc, .. } => self.reduce_row(n1, op, acc, row[0])?,
        }
        self.step_rows(&row, &self.s0.clone());
        self.count_and_branch(i, 1, n0, outer, exit);
        self.b.seal_block(outer);

        self.b.switch_to_block(exit);
        self.b.seal_block(exit);
        self.b.ins().return_(&[]);
        Ok(())
    }

    /// `out[j] = value(j)` for `j < n1` (n1 ≥ 1 is guaranteed by the guard).
    fn map_row(&mut self, n1: Value) -> Result<()> {
        self.element_loop(n1, None, Self::store_result)
    }

    /// Stores every value of the element into its output, after computing all of them: an
    /// output may be the memory an operand reads (`u = u + 1`), which must not change before
    /// the element's last read.
    fn store_result(&mut self) -> Result<()> {
        let mut memo = HashMap::new();
        let values = self
            .stage
            .stores
            .iter()
            .map(|&s| self.value(s, &mut memo))
            .collect::<Result<Vec<_>>>()?;
        for (k, v) in values.into_iter().enumerate() {
            let out = self.operand_address(k);
            let dtype = self.g.node(self.stage.stores[k]).dtype;
            self.store_element(dtype, v, out, self.lane_offset)?;
        }
        Ok(())
    }

    /// True (nonzero) when each operand `k` of `(k, element size)` has that inner stride.
    fn all_contiguous(&mut self, operands: impl Iterator<Item = (usize, usize)>) -> Value {
        let mut all = self.b.ins().iconst(types::I8, 1);
        for (k, size) in operands {
            let c = self
                .b
                .ins()
                .icmp_imm_s(IntCC::Equal, self.s1[k], size as i64);
            all = self.b.ins().band(all, c);
        }
        all
    }

    /// Points every operand's element pointer at the start of its current row.
    fn start_row(&mut self, row: &[Variable]) {
        for (r, p) in row.iter().zip(self.ptr.clone()) {
            let start = self.b.use_var(*r);
            self.b.def_var(p, start);
        }
    }

    /// `row[k] += step[k]` for every operand: moves the rows on.
    fn step_rows(&mut self, row: &[Variable], step: &[Value]) {
        for (r, &s) in row.iter().zip(step) {
            let start = self.b.use_var(*r);
            let next = self.b.ins().iadd(start, s);
            self.b.def_var(*r, next);
        }
    }

    fn counter(&mut self) -> Variable {
        let j = self.b.declare_var(types::I64);
        let zero = self.b.ins().iconst(types::I64, 0);
        self.b.def_var(j, zero);
        j
    }

    /// `j += step`, then another group of `step` elements if one fits before `n`, else `done`.
    fn next_group(&mut self, j: Variable, step: i64, n: Value, again: Block, done: Block) {
        let jv = self.b.use_var(j);
        let jn = self.b.ins().iadd_imm_s(jv, step);
        self.b.def_var(j, jn);
        let last = self.b.ins().iadd_imm_s(jn, step);
        let fits = self.b.ins().icmp(IntCC::SignedLessThanOrEqual, last, n);
        self.b.ins().brif(fits, again, &[], done, &[]);
    }

    fn count_and_branch(&mut self, j: Variable, step: i64, n: Value, again: Block, done: Block) {
        let jv = self.b.use_var(j);
        let jn = self.b.ins().iadd_imm_s(jv, step);
        self.b.def_var(j, jn);
        let more = self.b.ins().icmp(IntCC::SignedLessThan, jn, n);
        self.b.ins().brif(more, again, &[], done, &[]);
    }

    fn advance_inner(&mut self) {
        for k in 0..self.ptr.len() {
            let p = self.b.use_var(self.ptr[k]);
            let next = self.b.ins().iadd(p, self.s1[k]);
            self.b.def_var(self.ptr[k], next);
        }
    }

    /// The stage's value at the current element.
    fn element(&mut self) -> Result<Value> {
        let mut memo = HashMap::new();
        self.value(self.stage.value, &mut memo)
    }

    /// The stage's value at the current element, converted to the accumulator dtype.
    fn element_as(&mut self, acc: DType) -> Result<Value> {
        let v = self.element()?;
        Ok(self.convert(v, self.g.node(self.stage.value).dtype, acc))
    }

    /// The lane offsets of an iota operand with inner stride `s1` bytes, one vector for each
    /// vector of an unrolled group (map loops unroll `plan.unroll` vectors, vector reductions
    /// use [`ACCUMULATORS`] lanes).
    fn iota_offsets(&mut self, plan: VectorPlan, s1: Value, shift: i64) -> Vec<Value> {
        let vectors = plan.unroll.max(ACCUMULATORS / plan.lanes);
        let d = self.b.ins().sshr_imm_s(s1, shift);
        (0..vectors)
            .map(|v| {
                let lane = |t: &mut Self, l: usize| {
                    let off = t.b.ins().imul_imm_s(d, (v * plan.lanes + l) as i64);
                    t.convert(off, DType::Int64, plan.dtype)
                };
                let first = lane(self, 0);
                let mut vec = self.b.ins().splat(plan.ty, first);
                for l in 1..plan.lanes {
                    let x = lane(self, l);
                    vec = self.b.ins().insertlane(vec, x, l as u8);
                }
                vec
            })
            .collect()
    }

    /// Computes every 0-d node of the stage once, here in the entry block: constants, 0-d
    /// operands (a scalar variable, a full reduction) and expressions of them (`(stop - start) /
    /// (n - 1)`). They are the same for every element, so they neither cost work per element nor
    /// keep the loop from running as vectors (those of the vector dtype are splatted too).
    fn hoist_constants(&mut self) -> Result<()> {
        let mut invariant: Vec<NodeId> = (self.stage.nodes(self.g).into_iter())
            .filter(|&id| self.g.node(id).rank == 0)
            .collect();
        // Node order puts arguments first, so each value below finds its arguments hoisted.
        invariant.sort_unstable();
        for id in invariant {
            let dtype = self.g.node(id).dtype;
            let v = match self.operand_of.get(&id) {
                Some(&k) => {
                    let base = self.b.use_var(self.ptr[k]);
                    self.load_element(dtype, base, 0)
                }
                None => self.value(id, &mut HashMap::new())?,
            };
            self.consts.insert(id, v);
            if let Some(plan) = self.vector.filter(|p| p.dtype == dtype) {
                let splat = self.b.ins().splat(plan.ty, v);
                self.vconsts.insert(id, splat);
            }
        }
        Ok(())
    }
}
