//! One stage of the IR → one Cranelift function: a 2-d loop nest around the fused expression.
//!
//! Every kernel has the same C signature ([`KernelFn`]): it walks an `n0 × n1` box; operand `k`
//! starts at `ptrs[k]` and advances by `strides[2k]` bytes per outer step and `strides[2k+1]` per
//! inner step (0 for a broadcast operand). The runtime maps any rank and layout onto calls of such
//! boxes. Operand 0 is the output of a map stage, or the row of partials of a reduction stage.

use std::collections::HashMap;

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    types, AbiParam, Block, FuncRef, InstBuilder, MemFlagsData, Signature, StackSlotData,
    StackSlotKind, Type, Value,
};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_jit::JITModule;
use cranelift_module::{Linkage, Module};

use super::jit::internal;
use super::staging::{Slot, Staging, VectorFn};
use super::vector::VectorPlan;
use crate::core::dtype::{DType, Scalar};
use crate::core::error::Result;
use crate::ir::{Graph, NodeId, NodeKind};
use crate::ops::{scalar, Op, ReduceOp};
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
);

/// Independent accumulators per reduction row. Eight, combined as
/// `((a0+a1)+(a2+a3))+((a4+a5)+(a6+a7))` with the tail added after, is NumPy's pairwise-sum
/// base case, so a 128-element block sums exactly as NumPy sums it.
pub(crate) const ACCUMULATORS: usize = 8;

pub(crate) fn clif_type(d: DType) -> Type {
    match d {
        DType::Bool => types::I8,
        DType::Int32 => types::I32,
        DType::Int64 => types::I64,
        DType::Float32 => types::F32,
        DType::Float64 => types::F64,
    }
}

pub(crate) fn kernel_signature(module: &JITModule) -> Signature {
    let mut sig = module.make_signature();
    for _ in 0..5 {
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
        index: None,
        vector,
        contiguous: None,
        any_invariant: None,
        vector_mode: false,
        lane_offset: 0,
        vconsts: HashMap::new(),
        columns,
        invariant: HashMap::new(),
        vector_step: HashMap::new(),
        fast_offset: None,
        iotas: HashMap::new(),
        iota_group: HashMap::new(),
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
    /// Iota operands, which read no memory: their address is `index << shift`.
    iotas: HashMap<usize, IotaOperand>,
    /// Per iota operand, the first index of the current vector group, splatted (emitted in the
    /// group's block by its first vector; cleared when a group starts).
    iota_group: HashMap<usize, Value>,
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
    /// entry → (outer loop (inner loop)) → exit, all loops bottom-tested behind one guard.
    fn body(&mut self) -> Result<()> {
        let entry = self.b.create_block();
        self.b.append_block_params_for_function_params(entry);
        self.b.switch_to_block(entry);
        self.b.seal_block(entry);
        let params = self.b.block_params(entry).to_vec();
        let (n0, n1, ptrs, strides) = (params[0], params[1], params[2], params[3]);
        self.scratch = Some(params[4]);

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
        self.b.ins().brif(nonempty, outer, &[], exit, &[]);

        // Outer loop: reset element pointers to the row start, run the row, step the rows.
        self.b.switch_to_block(outer);
        for (r, p) in row.iter().zip(self.ptr.clone()) {
            let start = self.b.use_var(*r);
            self.b.def_var(p, start);
        }
        match self.stage.kind {
            StageKind::Map => match self.staging {
                Some(staging) => self.staged_map_row(n1, staging)?,
                None => self.map_row(n1)?,
            },
            StageKind::Reduce { op, acc, .. } if self.columns => self.column_row(n1, op, acc)?,
            StageKind::Reduce { op, acc, .. } => self.reduce_row(n1, op, acc, row[0])?,
        }
        for (r, s0) in row.iter().zip(self.s0.clone()) {
            let start = self.b.use_var(*r);
            let next = self.b.ins().iadd(start, s0);
            self.b.def_var(*r, next);
        }
        let iv = self.b.use_var(i);
        let inext = self.b.ins().iadd_imm_s(iv, 1);
        self.b.def_var(i, inext);
        let more = self.b.ins().icmp(IntCC::SignedLessThan, inext, n0);
        self.b.ins().brif(more, outer, &[], exit, &[]);
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
            self.b.ins().store(FLAGS, v, out, self.lane_offset);
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

    /// The vector function computing staged node `node`.
    fn vector_fn(&self, node: NodeId) -> Result<VectorFn> {
        let NodeKind::Apply(op, _) = &self.g.node(node).kind else {
            unreachable!("staged nodes are applies")
        };
        VectorFn::of(*op).ok_or_else(|| internal("codegen", "staged op without a vector kernel"))
    }

    /// A map row in blocks: per phase, one loop computing the arguments of that phase's vector
    /// functions into scratch and one vector call per function; then the loop storing the result.
    /// Contiguous operands skip the copies: a call reads its operand arguments in place, and
    /// when the stage's one value is a call's result it is written straight into the output
    /// (`sqrt(partial)`, `exp(x)` then make no copies at all; vector functions accept an output
    /// that is exactly an input).
    fn staged_map_row(&mut self, n1: Value, staging: &Staging) -> Result<()> {
        let block_start: Vec<Variable> = self
            .ptr
            .clone()
            .into_iter()
            .map(|p| {
                let v = self.b.declare_var(types::I64);
                let cur = self.b.use_var(p);
                self.b.def_var(v, cur);
                v
            })
            .collect();
        let (head, done) = (self.b.create_block(), self.b.create_block());
        let j0 = self.counter();
        self.b.ins().jump(head, &[]);
        self.b.switch_to_block(head);
        let j0v = self.b.use_var(j0);
        let rest = self.b.ins().isub(n1, j0v);
        let full = self.b.ins().iconst(types::I64, staging.block as i64);
        let nb = self.b.ins().smin(rest, full);
        let direct_out = self.direct_output(staging);
        for phase in &staging.phases {
            let (mut direct, contiguous, all_direct) =
                self.direct_arguments(phase, staging, &block_start);
            if let Some((node, out_contiguous)) = direct_out.filter(|(n, _)| {
                phase.contains(n) || phase.iter().any(|s| staging.sincos.get(s) == Some(n))
            }) {
                let own = self.b.use_var(block_start[0]);
                let slot = self.scratch_slot(staging, node);
                direct.insert(node, self.b.ins().select(out_contiguous, own, slot));
            }
            let after = self.b.create_block();
            if all_direct {
                // Every argument this phase would copy is an operand, contiguous here: the
                // calls read the operands themselves.
                let copy = self.b.create_block();
                self.b.ins().brif(contiguous, after, &[], copy, &[]);
                self.b.switch_to_block(copy);
                self.b.seal_block(copy);
            }
            self.element_loop(nb, Some(&block_start), |t| {
                let mut memo = HashMap::new();
                for &s in phase {
                    for a in t.g.args(s) {
                        if let Some(slot) =
                            staging.slots.get(&a).filter(|_| !t.loaded.contains_key(&a))
                        {
                            let v = t.value(a, &mut memo)?;
                            let at = t.scratch_address(*slot);
                            t.b.ins().store(FLAGS, v, at, slot.offset + t.lane_offset);
                        }
                    }
                }
                Ok(())
            })?;
            self.b.ins().jump(after, &[]);
            self.b.switch_to_block(after);
            self.b.seal_block(after);
            for &s in phase {
                if !staging.computed_with_sin(s) {
                    self.call_vector(s, nb, staging, &direct)?;
                }
                self.loaded.insert(s, staging.slots[&s]);
            }
        }
        let stored = self.b.create_block();
        if let Some((_, out_contiguous)) = direct_out {
            let store = self.b.create_block();
            self.b.ins().brif(out_contiguous, stored, &[], store, &[]);
            self.b.switch_to_block(store);
            self.b.seal_block(store);
        }
        self.element_loop(nb, Some(&block_start), Self::store_result)?;
        self.b.ins().jump(stored, &[]);
        self.b.switch_to_block(stored);
        self.b.seal_block(stored);
        self.loaded.clear();
        // The next block starts `nb` elements on (derived from the strides: the loops that
        // would have moved the pointers may all have been skipped).
        for (k, bs) in block_start.iter().enumerate() {
            let start = self.b.use_var(*bs);
            let step = self.b.ins().imul(nb, self.s1[k]);
            let next = self.b.ins().iadd(start, step);
            self.b.def_var(*bs, next);
        }
        let j0v = self.b.use_var(j0);
        let jn = self.b.ins().iadd(j0v, nb);
        self.b.def_var(j0, jn);
        let more = self.b.ins().icmp(IntCC::SignedLessThan, jn, n1);
        self.b.ins().brif(more, head, &[], done, &[]);
        self.b.seal_block(head);
        self.b.switch_to_block(done);
        self.b.seal_block(done);
        Ok(())
    }

    /// When the stage's one value is a staged call's result of the output's element size: that
    /// node, and whether the output is contiguous in this call (then the call writes it).
    fn direct_output(&mut self, staging: &Staging) -> Option<(NodeId, Value)> {
        let [node] = *self.stage.values() else {
            return None;
        };
        let staged =
            staging.phases.iter().flatten().any(|&n| n == node) || staging.computed_with_sin(node);
        if !staged {
            return None;
        }
        let size = self.g.node(node).dtype.size();
        Some((node, self.all_contiguous([(0, size)].into_iter())))
    }

    /// Address of staged value `node`'s block in scratch.
    fn scratch_slot(&mut self, staging: &Staging, node: NodeId) -> Value {
        let scratch = self
            .scratch
            .unwrap_or_else(|| unreachable!("scratch is a parameter"));
        self.b
            .ins()
            .iadd_imm_s(scratch, staging.slots[&node].offset as i64)
    }

    /// The arguments of `phase`'s calls that are operands of their call's dtype: each maps to
    /// the address the call reads it from (the operand's block when every such operand is
    /// contiguous in this call, else its scratch slot); that condition; and whether they are
    /// all the arguments the phase would copy into scratch.
    fn direct_arguments(
        &mut self,
        phase: &[NodeId],
        staging: &Staging,
        block_start: &[Variable],
    ) -> (HashMap<NodeId, Value>, Value, bool) {
        let mut leaves: Vec<(NodeId, usize)> = Vec::new();
        let mut copied = 0;
        for &s in phase {
            let dtype = self.g.node(s).dtype;
            for a in self.g.args(s) {
                if !staging.slots.contains_key(&a) || self.loaded.contains_key(&a) {
                    continue;
                }
                copied += 1;
                let node = self.g.node(a);
                match self.operand_of.get(&a) {
                    Some(&k)
                        if node.rank > 0 && node.dtype == dtype && !self.iotas.contains_key(&k) =>
                    {
                        leaves.push((a, k));
                    }
                    _ => {}
                }
            }
        }
        let sizes: Vec<(usize, usize)> = leaves
            .iter()
            .map(|&(a, k)| (k, self.g.node(a).dtype.size()))
            .collect();
        let contiguous = self.all_contiguous(sizes.into_iter());
        let mut direct = HashMap::new();
        for &(a, k) in &leaves {
            let own = self.b.use_var(block_start[k]);
            let slot = self.scratch_slot(staging, a);
            direct.insert(a, self.b.ins().select(contiguous, own, slot));
        }
        let all = !leaves.is_empty() && leaves.len() == copied;
        (direct, contiguous, all)
    }

    /// A loop over `n ≥ 1` elements (from `start` if given, else from the current pointers),
    /// with the element index in `self.index`, running `body` per element. With a vector plan
    /// and every operand contiguous in this call, whole groups of `lanes × unroll` elements run
    /// as vectors first (`body` then sees `self.lanes` set and one `lane_offset` per vector),
    /// and the scalar loop finishes the tail.
    fn element_loop(
        &mut self,
        n: Value,
        start: Option<&[Variable]>,
        mut body: impl FnMut(&mut Self) -> Result<()>,
    ) -> Result<()> {
        if let Some(start) = start {
            for (k, bs) in start.iter().enumerate() {
                let v = self.b.use_var(*bs);
                self.b.def_var(self.ptr[k], v);
            }
        }
        let (scalar, done) = (self.b.create_block(), self.b.create_block());
        let j = self.counter();
        self.index = Some(j);
        if let (Some(plan), Some(contiguous)) = (self.vector, self.contiguous) {
            let (vloop, tail) = (self.b.create_block(), self.b.create_block());
            let step = (plan.lanes * plan.unroll) as i64;
            let enough = self
                .b
                .ins()
                .icmp_imm_s(IntCC::SignedGreaterThanOrEqual, n, step);
            let go = self.b.ins().band(enough, contiguous);
            self.redirect_invariant(go);
            // Iotas compute their lanes from their own pointers: they keep the general loop. So
            // do the loops of a staged row, whose time goes to the vector-math calls between them:
            // a second loop there would only add compile time (a third of a staged kernel's code).
            if self.iotas.is_empty() && self.staging.is_none() {
                let (dispatch, fast, fast_exit) = (
                    self.b.create_block(),
                    self.b.create_block(),
                    self.b.create_block(),
                );
                self.b.ins().brif(go, dispatch, &[], tail, &[]);
                self.b.switch_to_block(dispatch);
                self.b.seal_block(dispatch);
                let any_invariant = self
                    .any_invariant
                    .unwrap_or_else(|| unreachable!("set with `contiguous`"));
                self.b.ins().brif(any_invariant, vloop, &[], fast, &[]);

                // Every operand contiguous: one byte offset addresses them all, so a trip advances
                // one register instead of one pointer per operand (which would spill).
                self.b.switch_to_block(fast);
                let jv = self.b.use_var(j);
                self.fast_offset = Some(self.b.ins().imul_imm_s(jv, plan.elem_size as i64));
                self.vector_mode = true;
                for u in 0..plan.unroll {
                    self.lane_offset = (u * 16) as i32;
                    body(self)?;
                }
                self.vector_mode = false;
                self.lane_offset = 0;
                self.fast_offset = None;
                self.next_group(j, step, n, fast, fast_exit);
                self.b.seal_block(fast);
                self.b.switch_to_block(fast_exit);
                self.b.seal_block(fast_exit);
                let jv = self.b.use_var(j);
                let done_bytes = self.b.ins().imul_imm_s(jv, plan.elem_size as i64);
                for k in 0..self.ptr.len() {
                    if self.vector_step.contains_key(&k) {
                        let p = self.b.use_var(self.ptr[k]);
                        let next = self.b.ins().iadd(p, done_bytes);
                        self.b.def_var(self.ptr[k], next);
                    }
                }
                self.b.ins().jump(tail, &[]);
            } else {
                self.b.ins().brif(go, vloop, &[], tail, &[]);
            }

            self.b.switch_to_block(vloop);
            self.vector_mode = true;
            self.iota_group.clear();
            for u in 0..plan.unroll {
                self.lane_offset = (u * 16) as i32;
                body(self)?;
            }
            self.vector_mode = false;
            self.lane_offset = 0;
            for k in 0..self.ptr.len() {
                // s1 × (lanes × unroll): contiguous operands move on, invariant ones stay put.
                if let Some(&advance) = self.vector_step.get(&k) {
                    let p = self.b.use_var(self.ptr[k]);
                    let next = self.b.ins().iadd(p, advance);
                    self.b.def_var(self.ptr[k], next);
                }
            }
            self.next_group(j, step, n, vloop, tail);
            self.b.seal_block(vloop);

            self.b.switch_to_block(tail);
            self.b.seal_block(tail);
            let jv = self.b.use_var(j);
            let rest = self.b.ins().icmp(IntCC::SignedLessThan, jv, n);
            self.b.ins().brif(rest, scalar, &[], done, &[]);
        } else {
            self.b.ins().jump(scalar, &[]);
        }
        self.b.switch_to_block(scalar);
        body(self)?;
        self.advance_inner();
        self.count_and_branch(j, 1, n, scalar, done);
        self.b.seal_block(scalar);
        self.b.switch_to_block(done);
        self.b.seal_block(done);
        self.index = None;
        Ok(())
    }

    /// True (nonzero) when some operand is invariant along the rows of this call.
    fn any_invariant(&mut self) -> Value {
        let mut any = self.b.ins().iconst(types::I8, 0);
        let mut flags: Vec<(usize, Value)> =
            self.invariant.iter().map(|(k, (f, _))| (*k, *f)).collect();
        flags.sort_unstable_by_key(|(k, _)| *k);
        for (_, f) in flags {
            any = self.b.ins().bor(any, f);
        }
        any
    }

    /// The address of operand `k`'s current element (vector loops on the fast path add the
    /// common byte offset).
    fn operand_address(&mut self, k: usize) -> Value {
        let p = self.b.use_var(self.ptr[k]);
        match self.fast_offset {
            Some(off) if self.vector_mode => self.b.ins().iadd(p, off),
            _ => p,
        }
    }

    /// Before a row's vector loop (taken when `go`): an operand invariant along the row reads
    /// its current element splatted from its region instead (its inner stride is 0, so the
    /// pointer stays there, and the scalar tail reads the same value from the region's first
    /// element).
    fn redirect_invariant(&mut self, go: Value) {
        let mut invariant: Vec<(usize, (Value, Value))> =
            self.invariant.iter().map(|(k, v)| (*k, *v)).collect();
        if invariant.is_empty() {
            return;
        }
        invariant.sort_unstable_by_key(|(k, _)| *k);
        let Some(plan) = self.vector else {
            unreachable!("invariant operands are tracked for vector loops only")
        };
        let any = self
            .any_invariant
            .unwrap_or_else(|| unreachable!("set with `invariant`"));
        let refresh_needed = self.b.ins().band(any, go);
        let (refresh, redirect) = (self.b.create_block(), self.b.create_block());
        self.b
            .ins()
            .brif(refresh_needed, refresh, &[], redirect, &[]);
        self.b.switch_to_block(refresh);
        self.b.seal_block(refresh);
        // The row has elements (`go`), so every operand's pointer is at a readable one; regions
        // of operands that do move along the row are written but never read.
        for &(k, (_, region)) in &invariant {
            let p = self.b.use_var(self.ptr[k]);
            let value = self.b.ins().load(clif_type(plan.dtype), FLAGS, p, 0);
            let splat = self.b.ins().splat(plan.ty, value);
            for u in 0..4 {
                self.b.ins().store(FLAGS, splat, region, 16 * u);
            }
        }
        self.b.ins().jump(redirect, &[]);
        self.b.switch_to_block(redirect);
        self.b.seal_block(redirect);
        for (k, (is_invariant, region)) in invariant {
            let p = self.b.use_var(self.ptr[k]);
            let here = self.b.ins().band(is_invariant, go);
            let redirected = self.b.ins().select(here, region, p);
            self.b.def_var(self.ptr[k], redirected);
        }
    }

    /// Address of the current element's row in scratch (add `slot.offset` when accessing).
    fn scratch_address(&mut self, slot: Slot) -> Value {
        let (Some(j), Some(scratch)) = (self.index, self.scratch) else {
            unreachable!("inside an element loop")
        };
        let jv = self.b.use_var(j);
        let bytes = self.b.ins().imul_imm_s(jv, slot.size as i64);
        self.b.ins().iadd(scratch, bytes)
    }

    /// `fn(nb, args..., out)` on the block's scratch slots.
    fn call_vector(
        &mut self,
        node: NodeId,
        nb: Value,
        staging: &Staging,
        direct: &HashMap<NodeId, Value>,
    ) -> Result<()> {
        let NodeKind::Apply(_, args) = &self.g.node(node).kind else {
            unreachable!("staged nodes are applies")
        };
        let f = self.vector_fn(node)?;
        let dtype = self.g.node(node).dtype;
        // `sin` with a `cos` partner: `sincos(nb, x, sin_out, cos_out)`.
        let partner = staging.sincos.get(&node);
        let mut sig = self.module.make_signature();
        for _ in 0..args.len() + 2 + usize::from(partner.is_some()) {
            sig.params.push(AbiParam::new(types::I64));
        }
        let sigref = self.b.import_signature(sig);
        let mut call_args = vec![nb];
        for a in args.iter().chain([&node]).chain(partner) {
            let at = match direct.get(a) {
                Some(&at) => at,
                None => self.scratch_slot(staging, *a),
            };
            call_args.push(at);
        }
        let address = match partner {
            Some(_) => crate::vmath::sincos_fn_ptr(dtype == DType::Float32),
            None => f.address(dtype),
        };
        let callee = self.b.ins().iconst(types::I64, address as i64);
        self.b.ins().call_indirect(sigref, callee, &call_args);
        Ok(())
    }

    /// `partial[row] = partial[row] ⊕ fold(value(j) for j < n1)`, with [`ACCUMULATORS`]
    /// interleaved accumulators over the unrolled part and the tail folded in after them.
    fn reduce_row(&mut self, n1: Value, op: ReduceOp, acc: DType, row0: Variable) -> Result<()> {
        let combine = op.combiner();
        let identity = op.identity(acc);
        let accs: Vec<Variable> = (0..ACCUMULATORS)
            .map(|_| {
                let v = self.b.declare_var(clif_type(acc));
                let init = self.scalar_const(identity);
                self.b.def_var(v, init);
                v
            })
            .collect();
        let j = self.counter();
        let (unrolled, merge, tail_head, tail, done) = (
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
        );
        let enough =
            self.b
                .ins()
                .icmp_imm_s(IntCC::SignedGreaterThanOrEqual, n1, ACCUMULATORS as i64);
        if let (Some(plan), Some(contiguous)) = (self.vector, self.contiguous) {
            // Vector accumulators: accumulator `u` is lane `u % lanes` of vector `u / lanes`, so
            // every element meets the same accumulator as in the scalar loop below and the
            // merged result is bit-identical whichever loop ran.
            let init = self.scalar_const(identity);
            let init = self.b.ins().splat(plan.ty, init);
            let vaccs: Vec<Variable> = (0..ACCUMULATORS / plan.lanes)
                .map(|_| {
                    let v = self.b.declare_var(plan.ty);
                    self.b.def_var(v, init);
                    v
                })
                .collect();
            let (vloop, vexit, scalar_entry) = (
                self.b.create_block(),
                self.b.create_block(),
                self.b.create_block(),
            );
            let go = self.b.ins().band(enough, contiguous);
            self.redirect_invariant(go);
            self.b.ins().brif(go, vloop, &[], scalar_entry, &[]);

            self.b.switch_to_block(vloop);
            self.vector_mode = true;
            self.iota_group.clear();
            for (v, vacc) in vaccs.iter().enumerate() {
                self.lane_offset = (v * 16) as i32;
                let x = self.element()?;
                let cur = self.b.use_var(*vacc);
                let next = self.vector_combine(combine, plan, cur, x);
                self.b.def_var(*vacc, next);
            }
            self.vector_mode = false;
            self.lane_offset = 0;
            // Operand 0 (the partial) does not move along the row.
            for k in 1..self.ptr.len() {
                if self.vector_step.contains_key(&k) {
                    // Eight elements per trip, whatever the lanes: s1 × 8 (0 for invariant ones).
                    let p = self.b.use_var(self.ptr[k]);
                    let group = self.b.ins().imul_imm_s(self.s1[k], ACCUMULATORS as i64);
                    let next = self.b.ins().iadd(p, group);
                    self.b.def_var(self.ptr[k], next);
                }
            }
            self.next_group(j, ACCUMULATORS as i64, n1, vloop, vexit);
            self.b.seal_block(vloop);

            self.b.switch_to_block(vexit);
            self.b.seal_block(vexit);
            for (u, a) in accs.iter().enumerate() {
                let vacc = self.b.use_var(vaccs[u / plan.lanes]);
                let lane = self.b.ins().extractlane(vacc, (u % plan.lanes) as u8);
                self.b.def_var(*a, lane);
            }
            self.b.ins().jump(merge, &[]);

            self.b.switch_to_block(scalar_entry);
            self.b.seal_block(scalar_entry);
        }
        self.b.ins().brif(enough, unrolled, &[], merge, &[]);

        // Element u of each group of eight goes to accumulator u.
        self.b.switch_to_block(unrolled);
        if self.vector.is_some() {
            // The vector loop takes contiguous rows; this loop only runs for strided ones, whose
            // loads dominate: the accumulators live in a stack array, indexed `j % 8`, so the
            // element is compiled once instead of eight times (same sums, bit for bit).
            self.strided_groups(j, n1, op, acc, &accs, merge)?;
        } else {
            for a in &accs {
                let v = self.element_as(acc)?;
                let cur = self.b.use_var(*a);
                let next = self.apply(combine, &[cur, v], acc)?;
                self.b.def_var(*a, next);
                self.advance_inner();
            }
            self.next_group(j, ACCUMULATORS as i64, n1, unrolled, merge);
        }
        self.b.seal_block(unrolled);

        // Merge the accumulators pairwise, in a fixed order.
        self.b.switch_to_block(merge);
        self.b.seal_block(merge);
        let mut level: Vec<Value> = accs.iter().map(|a| self.b.use_var(*a)).collect();
        while level.len() > 1 {
            let mut next = Vec::with_capacity(level.len() / 2);
            for pair in level.chunks(2) {
                next.push(self.apply(combine, &[pair[0], pair[1]], acc)?);
            }
            level = next;
        }
        let res = self.b.declare_var(clif_type(acc));
        self.b.def_var(res, level[0]);
        self.b.ins().jump(tail_head, &[]);

        self.b.switch_to_block(tail_head);
        self.b.seal_block(tail_head);
        let jv = self.b.use_var(j);
        let rest = self.b.ins().icmp(IntCC::SignedLessThan, jv, n1);
        self.b.ins().brif(rest, tail, &[], done, &[]);

        self.b.switch_to_block(tail);
        let v = self.element_as(acc)?;
        let cur = self.b.use_var(res);
        let next = self.apply(combine, &[cur, v], acc)?;
        self.b.def_var(res, next);
        self.advance_inner();
        self.count_and_branch(j, 1, n1, tail, done);
        self.b.seal_block(tail);

        // Fold the row's result into its partial.
        self.b.switch_to_block(done);
        self.b.seal_block(done);
        let at = self.b.use_var(row0);
        let old = self.b.ins().load(clif_type(acc), FLAGS, at, 0);
        let r = self.b.use_var(res);
        let new = self.apply(combine, &[old, r], acc)?;
        self.b.ins().store(FLAGS, new, at, 0);
        Ok(())
    }

    /// From the current block (entered with `j = 0` and `n1 ≥ 8`): the whole groups of eight
    /// elements of the row, element `j` into accumulator `j % 8`, the accumulators in a stack
    /// array; then `accs` hold them and control goes to `merge` with `j` at the last whole group.
    fn strided_groups(
        &mut self,
        j: Variable,
        n1: Value,
        op: ReduceOp,
        acc: DType,
        accs: &[Variable],
        merge: Block,
    ) -> Result<()> {
        let size = acc.size() as u32;
        let slot = self.b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            size * ACCUMULATORS as u32,
            4,
        ));
        let base = self.b.ins().stack_addr(types::I64, slot, 0);
        let init = self.scalar_const(op.identity(acc));
        for u in 0..ACCUMULATORS {
            self.b
                .ins()
                .store(FLAGS, init, base, (u as u32 * size) as i32);
        }
        let groups_end = self.b.ins().band_imm_s(n1, !(ACCUMULATORS as i64 - 1));
        let (body, exit) = (self.b.create_block(), self.b.create_block());
        self.b.ins().jump(body, &[]);

        self.b.switch_to_block(body);
        let v = self.element_as(acc)?;
        let jv = self.b.use_var(j);
        let lane = self.b.ins().band_imm_s(jv, ACCUMULATORS as i64 - 1);
        let offset = self.b.ins().imul_imm_s(lane, size as i64);
        let at = self.b.ins().iadd(base, offset);
        let cur = self.b.ins().load(clif_type(acc), FLAGS, at, 0);
        let next = self.apply(op.combiner(), &[cur, v], acc)?;
        self.b.ins().store(FLAGS, next, at, 0);
        self.advance_inner();
        self.count_and_branch(j, 1, groups_end, body, exit);
        self.b.seal_block(body);

        self.b.switch_to_block(exit);
        self.b.seal_block(exit);
        for (u, a) in accs.iter().enumerate() {
            let v = self
                .b
                .ins()
                .load(clif_type(acc), FLAGS, base, (u as u32 * size) as i32);
            self.b.def_var(*a, v);
        }
        self.b.ins().jump(merge, &[]);
        Ok(())
    }

    /// `acc ⊕ x` on vectors, for the combiners a [`VectorPlan`] of a reduction admits.
    fn vector_combine(&mut self, combine: Op, plan: VectorPlan, acc: Value, x: Value) -> Value {
        match (combine, plan.float) {
            (Op::Add, true) => self.b.ins().fadd(acc, x),
            (Op::Add, false) => self.b.ins().iadd(acc, x),
            _ => self.b.ins().fmul(acc, x),
        }
    }

    /// A column-kernel row: `partial[j] = partial[j] ⊕ value(j)` for `j < n1`. Rows of a
    /// reduction over a non-innermost axis (`sum(c, axis=0)`) are contiguous in memory; folding
    /// each into a row of partials reads them at full bandwidth.
    fn column_row(&mut self, n1: Value, op: ReduceOp, acc: DType) -> Result<()> {
        let combine = op.combiner();
        self.element_loop(n1, None, |t| {
            let v = t.element_as(acc)?;
            let p = t.operand_address(0);
            let new = match t.vector.filter(|_| t.vector_mode) {
                Some(plan) => {
                    let old = t.b.ins().load(plan.ty, FLAGS, p, t.lane_offset);
                    t.vector_combine(combine, plan, old, v)
                }
                None => {
                    let old = t.b.ins().load(clif_type(acc), FLAGS, p, 0);
                    t.apply(combine, &[old, v], acc)?
                }
            };
            t.b.ins().store(FLAGS, new, p, t.lane_offset);
            Ok(())
        })
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
        let mut stack = self.stage.values().to_vec();
        let mut seen = vec![false; self.g.nodes.len()];
        let mut invariant = Vec::new();
        while let Some(id) = stack.pop() {
            if std::mem::replace(&mut seen[id], true) {
                continue;
            }
            let leaf = self.operand_of.contains_key(&id);
            if self.g.node(id).rank == 0 {
                invariant.push(id);
            }
            if !leaf {
                stack.extend(self.g.args(id));
            }
        }
        // Node order puts arguments first, so each value below finds its arguments hoisted.
        invariant.sort_unstable();
        for id in invariant {
            let dtype = self.g.node(id).dtype;
            let v = match self.operand_of.get(&id) {
                Some(&k) => {
                    let base = self.b.use_var(self.ptr[k]);
                    self.b.ins().load(clif_type(dtype), FLAGS, base, 0)
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

    fn scalar_const(&mut self, s: Scalar) -> Value {
        let ins = self.b.ins();
        match s {
            Scalar::Bool(v) => ins.iconst(types::I8, v as i64),
            Scalar::I32(v) => ins.iconst(types::I32, v as i64),
            Scalar::I64(v) => ins.iconst(types::I64, v),
            Scalar::F32(v) => ins.f32const(v),
            Scalar::F64(v) => ins.f64const(v),
        }
    }

    /// Emits node `id` for the current element; each node is emitted once per element (`memo`).
    fn value(&mut self, id: NodeId, memo: &mut HashMap<NodeId, Value>) -> Result<Value> {
        if let Some(v) = memo.get(&id) {
            return Ok(*v);
        }
        if self.vector_mode {
            return self.vector_value(id, memo);
        }
        if let Some(v) = self.consts.get(&id) {
            return Ok(*v);
        }
        let node = self.g.node(id);
        let v = if let Some(&slot) = self.loaded.get(&id) {
            let at = self.scratch_address(slot);
            self.b
                .ins()
                .load(clif_type(node.dtype), FLAGS, at, slot.offset)
        } else if let Some(&k) = self.operand_of.get(&id) {
            let p = self.b.use_var(self.ptr[k]);
            match self.iotas.get(&k) {
                Some(iota) => {
                    let index = self.b.ins().sshr_imm_s(p, iota.shift);
                    self.convert(index, DType::Int64, node.dtype)
                }
                None => self.b.ins().load(clif_type(node.dtype), FLAGS, p, 0),
            }
        } else {
            match &node.kind {
                NodeKind::Input(_) | NodeKind::Reduce { .. } | NodeKind::Iota { .. } => {
                    return Err(internal(
                        "codegen",
                        format!("node %{id} is read but is not an operand"),
                    ))
                }
                NodeKind::Const(s) => self.scalar_const(*s),
                NodeKind::Cast(a) => {
                    let from = self.g.node(*a).dtype;
                    let x = self.value(*a, memo)?;
                    self.convert(x, from, node.dtype)
                }
                NodeKind::Apply(op, args) => {
                    let operand = self.g.node(args[args.len() - 1]).dtype;
                    let vals = args
                        .iter()
                        .map(|a| self.value(*a, memo))
                        .collect::<Result<Vec<_>>>()?;
                    self.apply(*op, &vals, operand)?
                }
            }
        };
        memo.insert(id, v);
        Ok(v)
    }

    /// Emits node `id` for the current vector of elements (see [`VectorPlan`] for what qualifies).
    fn vector_value(&mut self, id: NodeId, memo: &mut HashMap<NodeId, Value>) -> Result<Value> {
        let plan = self
            .vector
            .unwrap_or_else(|| unreachable!("vector mode has a plan"));
        if let Some(v) = self.vconsts.get(&id) {
            return Ok(*v);
        }
        let v = if let Some(&slot) = self.loaded.get(&id) {
            let at = self.scratch_address(slot);
            self.b
                .ins()
                .load(plan.ty, FLAGS, at, slot.offset + self.lane_offset)
        } else if let Some(iota) = self.operand_of.get(&id).and_then(|k| self.iotas.get(k)) {
            // Lanes `[i, i+d, …]` of the vector `lane_offset / 16` of the group: the group's
            // first index (from the address, converted once per group), splatted, plus that
            // vector's offsets.
            let (shift, offsets) = (iota.shift, iota.offsets[self.lane_offset as usize / 16]);
            let k = self.operand_of[&id];
            let lanes = match self.iota_group.get(&k) {
                Some(&lanes) => lanes,
                None => {
                    let p = self.b.use_var(self.ptr[k]);
                    let index = self.b.ins().sshr_imm_s(p, shift);
                    let first = self.convert(index, DType::Int64, plan.dtype);
                    let lanes = self.b.ins().splat(plan.ty, first);
                    self.iota_group.insert(k, lanes);
                    lanes
                }
            };
            if plan.float {
                self.b.ins().fadd(lanes, offsets)
            } else {
                self.b.ins().iadd(lanes, offsets)
            }
        } else if let Some(&k) = self.operand_of.get(&id) {
            // An invariant operand's pointer is its splatted region here (`redirect_invariant`).
            let p = self.operand_address(k);
            self.b.ins().load(plan.ty, FLAGS, p, self.lane_offset)
        } else {
            let NodeKind::Apply(op, args) = &self.g.node(id).kind else {
                return Err(internal(
                    "codegen",
                    format!("node %{id} cannot be vectorized"),
                ));
            };
            if *op == Op::Where {
                return self.vector_where(id, args, plan, memo);
            }
            let a = args
                .iter()
                .map(|x| self.value(*x, memo))
                .collect::<Result<Vec<_>>>()?;
            let ins = self.b.ins();
            match op {
                Op::Neg if plan.float => ins.fneg(a[0]),
                Op::Neg => ins.ineg(a[0]),
                Op::Add if plan.float => ins.fadd(a[0], a[1]),
                Op::Add => ins.iadd(a[0], a[1]),
                Op::Sub if plan.float => ins.fsub(a[0], a[1]),
                Op::Sub => ins.isub(a[0], a[1]),
                Op::Mul => ins.fmul(a[0], a[1]),
                Op::Div => ins.fdiv(a[0], a[1]),
                Op::Sqrt => ins.sqrt(a[0]),
                Op::Abs => ins.fabs(a[0]),
                Op::Ceil => ins.ceil(a[0]),
                Op::Floor => ins.floor(a[0]),
                Op::Trunc => ins.trunc(a[0]),
                Op::Round => ins.nearest(a[0]),
                Op::BitAnd => ins.band(a[0], a[1]),
                Op::BitOr => ins.bor(a[0], a[1]),
                Op::BitXor => ins.bxor(a[0], a[1]),
                Op::Invert => ins.bnot(a[0]),
                Op::Radians | Op::Degrees => {
                    let k = scalar::angle_factor(*op);
                    let c = self.float_const(plan.dtype, k);
                    let c = self.b.ins().splat(plan.ty, c);
                    self.b.ins().fmul(a[0], c)
                }
                other => {
                    return Err(internal(
                        "codegen",
                        format!("{other:?} is not vectorizable"),
                    ))
                }
            }
        };
        memo.insert(id, v);
        Ok(v)
    }

    /// `where(x ⋈ y, a, b)` on vectors: the comparison gives a lane mask (all ones or zeros),
    /// which selects bits from `a` or `b` (`VectorPlan` admits only this form).
    fn vector_where(
        &mut self,
        id: NodeId,
        args: &[NodeId],
        plan: VectorPlan,
        memo: &mut HashMap<NodeId, Value>,
    ) -> Result<Value> {
        let NodeKind::Apply(cmp, operands) = &self.g.node(args[0]).kind else {
            return Err(internal("codegen", "vector where without a comparison"));
        };
        let x = self.value(operands[0], memo)?;
        let y = self.value(operands[1], memo)?;
        let a = self.value(args[1], memo)?;
        let b = self.value(args[2], memo)?;
        // The scalar `compare` picks the condition codes; on vectors they give lane masks.
        let mask = self.compare(*cmp, x, y, plan.dtype);
        let mask = if plan.float {
            self.b.ins().bitcast(plan.ty, MemFlagsData::new(), mask)
        } else {
            mask
        };
        let v = self.b.ins().bitselect(mask, a, b);
        memo.insert(id, v);
        Ok(v)
    }

    /// C conversion between dtypes (floats to ints saturate; NumPy leaves that undefined).
    fn convert(&mut self, x: Value, from: DType, to: DType) -> Value {
        use DType::*;
        let ty = clif_type(to);
        let ins = self.b.ins();
        match (from, to) {
            _ if from == to => x,
            (_, Bool) if from.is_float() => {
                let zero = if from == Float32 {
                    ins.f32const(0.0)
                } else {
                    ins.f64const(0.0)
                };
                self.b.ins().fcmp(FloatCC::NotEqual, x, zero)
            }
            (_, Bool) => ins.icmp_imm_s(IntCC::NotEqual, x, 0),
            (Bool, Int32 | Int64) => ins.uextend(ty, x),
            (Bool, _) => {
                let wide = ins.uextend(types::I32, x);
                self.b.ins().fcvt_from_sint(ty, wide)
            }
            (Int32, Int64) => ins.sextend(ty, x),
            (Int64, Int32) => ins.ireduce(ty, x),
            (Int32 | Int64, _) => ins.fcvt_from_sint(ty, x),
            (Float32, Float64) => ins.fpromote(ty, x),
            (Float64, Float32) => ins.fdemote(ty, x),
            (_, _) => ins.fcvt_to_sint_sat(ty, x),
        }
    }

    /// Emits `op` on values of dtype `d` (after casting): inline where Cranelift has the
    /// instruction, otherwise a call to the scalar helper that the interpreter also uses.
    fn apply(&mut self, op: Op, a: &[Value], d: DType) -> Result<Value> {
        let float = d.is_float();
        let is_bool = d == DType::Bool;
        let ins = self.b.ins();
        Ok(match op {
            Op::Neg if float => ins.fneg(a[0]),
            Op::Neg => ins.ineg(a[0]),
            Op::Invert if is_bool => ins.bxor_imm_s(a[0], 1),
            Op::Invert => ins.bnot(a[0]),
            Op::Add if is_bool => ins.bor(a[0], a[1]),
            Op::Add if float => ins.fadd(a[0], a[1]),
            Op::Add => ins.iadd(a[0], a[1]),
            Op::Sub if float => ins.fsub(a[0], a[1]),
            Op::Sub => ins.isub(a[0], a[1]),
            Op::Mul if is_bool => ins.band(a[0], a[1]),
            Op::Mul if float => ins.fmul(a[0], a[1]),
            Op::Mul => ins.imul(a[0], a[1]),
            Op::Div => ins.fdiv(a[0], a[1]),
            Op::BitAnd => ins.band(a[0], a[1]),
            Op::BitOr => ins.bor(a[0], a[1]),
            Op::BitXor => ins.bxor(a[0], a[1]),
            Op::Lt | Op::Le | Op::Eq | Op::Ne | Op::Ge | Op::Gt => self.compare(op, a[0], a[1], d),
            Op::Where => ins.select(a[0], a[1], a[2]),
            Op::Sqrt => ins.sqrt(a[0]),
            Op::Abs if float => ins.fabs(a[0]),
            Op::Abs if is_bool => a[0],
            Op::Abs => ins.iabs(a[0]),
            Op::Ceil | Op::Floor | Op::Round | Op::Trunc if !float => a[0],
            Op::Ceil => ins.ceil(a[0]),
            Op::Floor => ins.floor(a[0]),
            Op::Round => ins.nearest(a[0]),
            Op::Trunc => ins.trunc(a[0]),
            Op::Sign if !float => {
                let pos = ins.icmp_imm_s(IntCC::SignedGreaterThan, a[0], 0);
                let neg = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, a[0], 0);
                let diff = self.b.ins().isub(pos, neg);
                self.b.ins().sextend(clif_type(d), diff)
            }
            Op::Copysign => ins.fcopysign(a[0], a[1]),
            Op::Maximum | Op::Minimum if is_bool => {
                if op == Op::Maximum {
                    ins.bor(a[0], a[1])
                } else {
                    ins.band(a[0], a[1])
                }
            }
            Op::Maximum if !float => ins.smax(a[0], a[1]),
            Op::Minimum if !float => ins.smin(a[0], a[1]),
            Op::Maximum | Op::Minimum => {
                // NumPy: NaN in `a` wins; otherwise `a` if strictly better, else `b` (NaN in b, ties).
                let cc = if op == Op::Maximum {
                    FloatCC::GreaterThan
                } else {
                    FloatCC::LessThan
                };
                let nan = ins.fcmp(FloatCC::Unordered, a[0], a[0]);
                let better = self.b.ins().fcmp(cc, a[0], a[1]);
                let take_a = self.b.ins().bor(nan, better);
                self.b.ins().select(take_a, a[0], a[1])
            }
            Op::IsNan | Op::IsInf if !float => ins.iconst(types::I8, 0),
            Op::IsFinite if !float => ins.iconst(types::I8, 1),
            Op::SignBit if is_bool => ins.iconst(types::I8, 0),
            Op::SignBit if !float => ins.icmp_imm_s(IntCC::SignedLessThan, a[0], 0),
            Op::IsNan => ins.fcmp(FloatCC::Unordered, a[0], a[0]),
            Op::IsInf | Op::IsFinite => {
                let mag = ins.fabs(a[0]);
                let inf = self.float_const(d, f64::INFINITY);
                let cc = if op == Op::IsInf {
                    FloatCC::Equal
                } else {
                    FloatCC::LessThan
                };
                self.b.ins().fcmp(cc, mag, inf)
            }
            Op::SignBit => {
                let int_ty = if d == DType::Float32 {
                    types::I32
                } else {
                    types::I64
                };
                let bits = ins.bitcast(int_ty, MemFlagsData::new(), a[0]);
                self.b.ins().icmp_imm_s(IntCC::SignedLessThan, bits, 0)
            }
            Op::Radians | Op::Degrees => {
                let k = scalar::angle_factor(op);
                let c = self.float_const(d, k);
                self.b.ins().fmul(a[0], c)
            }
            _ => self.call_helper(op, a, d)?,
        })
    }

    fn float_const(&mut self, d: DType, v: f64) -> Value {
        if d == DType::Float32 {
            self.b.ins().f32const(v as f32)
        } else {
            self.b.ins().f64const(v)
        }
    }

    fn compare(&mut self, op: Op, a: Value, b: Value, d: DType) -> Value {
        if d.is_float() {
            // `!=` is true when either side is NaN (unordered or not equal), the rest are false.
            let cc = match op {
                Op::Lt => FloatCC::LessThan,
                Op::Le => FloatCC::LessThanOrEqual,
                Op::Eq => FloatCC::Equal,
                Op::Ne => FloatCC::NotEqual,
                Op::Ge => FloatCC::GreaterThanOrEqual,
                _ => FloatCC::GreaterThan,
            };
            return self.b.ins().fcmp(cc, a, b);
        }
        let unsigned = d == DType::Bool;
        let cc = match (op, unsigned) {
            (Op::Lt, false) => IntCC::SignedLessThan,
            (Op::Le, false) => IntCC::SignedLessThanOrEqual,
            (Op::Ge, false) => IntCC::SignedGreaterThanOrEqual,
            (Op::Gt, false) => IntCC::SignedGreaterThan,
            (Op::Lt, true) => IntCC::UnsignedLessThan,
            (Op::Le, true) => IntCC::UnsignedLessThanOrEqual,
            (Op::Ge, true) => IntCC::UnsignedGreaterThanOrEqual,
            (Op::Gt, true) => IntCC::UnsignedGreaterThan,
            (Op::Eq, _) => IntCC::Equal,
            _ => IntCC::NotEqual,
        };
        self.b.ins().icmp(cc, a, b)
    }

    fn call_helper(&mut self, op: Op, args: &[Value], d: DType) -> Result<Value> {
        let name = scalar::helper_name(op, d);
        let fref = match self.helpers.get(&name) {
            Some(f) => *f,
            None => {
                let ty = clif_type(d);
                let mut sig = self.module.make_signature();
                for _ in args {
                    sig.params.push(AbiParam::new(ty));
                }
                sig.returns.push(AbiParam::new(ty));
                let id = self
                    .module
                    .declare_function(&name, Linkage::Import, &sig)
                    .map_err(|e| internal("declare helper", e))?;
                let f = self.module.declare_func_in_func(id, self.b.func);
                self.helpers.insert(name, f);
                f
            }
        };
        let call = self.b.ins().call(fref, args);
        Ok(self.b.inst_results(call)[0])
    }
}
