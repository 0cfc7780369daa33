//! Block-staged rows: a map row whose expression calls vector-math kernels computes its
//! arguments into L1 scratch blocks, calls each kernel once per block, then finishes the row.

use std::collections::HashMap;

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, AbiParam, InstBuilder, Value};
use cranelift_frontend::Variable;
use cranelift_module::Module;

use super::super::jit::internal;
use super::super::staging::{Slot, Staging, VectorFn};
use crate::core::dtype::DType;
use crate::core::error::Result;
use crate::ir::{NodeId, NodeKind};

use super::*;

impl Translator<'_, '_> {
    /// The vector function computing staged node `node`.
    pub(super) fn vector_fn(&self, node: NodeId) -> Result<VectorFn> {
        let NodeKind::Apply(op, _) = &self.g.node(node).kind else {
            unreachable!("staged nodes are applies")
        };
        VectorFn::for_dtype(*op, self.g.node(node).dtype)
            .ok_or_else(|| internal("codegen", "staged op without a vector kernel"))
    }

    /// A map row in blocks: per phase, one loop computing the arguments of that phase's vector
    /// functions into scratch and one vector call per function; then the loop storing the result.
    /// Contiguous operands skip the copies: a call reads its operand arguments in place, and
    /// when the stage's one value is a call's result it is written straight into the output
    /// (`sqrt(partial)`, `exp(x)` then make no copies at all; vector functions accept an output
    /// that is exactly an input).
    pub(super) fn staged_map_row(&mut self, n1: Value, staging: &Staging) -> Result<()> {
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
                            let dtype = t.g.node(a).dtype;
                            t.store_element(dtype, v, at, slot.offset + t.lane_offset)?;
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
    pub(super) fn direct_output(&mut self, staging: &Staging) -> Option<(NodeId, Value)> {
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
    pub(super) fn scratch_slot(&mut self, staging: &Staging, node: NodeId) -> Value {
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
    pub(super) fn direct_arguments(
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

    /// Address of the current element's row in scratch (add `slot.offset` when accessing).
    pub(super) fn scratch_address(&mut self, slot: Slot) -> Value {
        let (Some(j), Some(scratch)) = (self.index, self.scratch) else {
            unreachable!("inside an element loop")
        };
        let jv = self.b.use_var(j);
        let bytes = self.b.ins().imul_imm_s(jv, slot.size as i64);
        self.b.ins().iadd(scratch, bytes)
    }

    /// `fn(nb, args..., out)` on the block's scratch slots.
    pub(super) fn call_vector(
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
}
