//! The per-node emitter: one arm per IR node, scalar and vector, constants, conversions, the
//! ops Cranelift has, and calls of the `extern "C"` helpers for the ones it has not.

use std::collections::HashMap;

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    types, AbiParam, InstBuilder, InstructionData, MemFlagsData, Opcode, StackSlotData,
    StackSlotKind, Type, Value,
};
use cranelift_module::{Linkage, Module};

use super::super::jit::internal;
use super::super::vector::VectorPlan;
use crate::core::dtype::{DType, Scalar};
use crate::core::error::Result;
use crate::ir::{NodeId, NodeKind};
use crate::ops::{scalar, Op};

use super::*;

impl Translator<'_, '_> {
    pub(super) fn scalar_const(&mut self, s: Scalar) -> Value {
        let ins = self.b.ins();
        match s {
            Scalar::Bool(v) => ins.iconst(types::I8, v as i64),
            Scalar::I32(v) => ins.iconst(types::I32, v as i64),
            Scalar::I64(v) => ins.iconst(types::I64, v),
            Scalar::F32(v) => ins.f32const(v),
            Scalar::F64(v) => ins.f64const(v),
            Scalar::C64(z) => {
                let (re, im) = (ins.f32const(z.re), self.b.ins().f32const(z.im));
                self.complex(re, im, DType::Complex64)
            }
            Scalar::C128(z) => {
                let (re, im) = (ins.f64const(z.re), self.b.ins().f64const(z.im));
                self.complex(re, im, DType::Complex128)
            }
        }
    }

    /// The complex value with parts `re` and `im` (of `d`'s part type).
    pub(super) fn complex(&mut self, re: Value, im: Value, d: DType) -> Value {
        // A real part that is already some complex value's (or may become one's: a load is
        // reused by `conj`) is copied, so each complex value has its own key in `imag`.
        let re = if self.imag.contains_key(&re) {
            let int = if d.part() == DType::Float32 {
                types::I32
            } else {
                types::I64
            };
            let bits = self.b.ins().bitcast(int, MemFlagsData::new(), re);
            self.b
                .ins()
                .bitcast(clif_type(d.part()), MemFlagsData::new(), bits)
        } else {
            re
        };
        self.imag.insert(re, im);
        re
    }

    /// The imaginary part of the complex value `v`.
    pub(super) fn imag_of(&self, v: Value) -> Result<Value> {
        self.imag
            .get(&v)
            .copied()
            .ok_or_else(|| internal("codegen", format!("{v} is not a complex value")))
    }

    /// Loads an element of `dtype` at `base + offset` (both parts of a complex one).
    /// A string is not loaded: its value is its address, which the string ops pass on.
    pub(super) fn load_element(&mut self, dtype: DType, base: Value, offset: i32) -> Value {
        if dtype.is_bytes() {
            return self.b.ins().iadd_imm_s(base, offset as i64);
        }
        let v = self.b.ins().load(clif_type(dtype), FLAGS, base, offset);
        if !dtype.is_complex() {
            return v;
        }
        let part = dtype.part().size() as i32;
        let im = self
            .b
            .ins()
            .load(clif_type(dtype), FLAGS, base, offset + part);
        self.complex(v, im, dtype)
    }

    /// Stores `v`, an element of `dtype`, at `base + offset` (both parts of a complex one, as
    /// [`Self::load_element`] reads them).
    pub(super) fn store_element(
        &mut self,
        dtype: DType,
        v: Value,
        base: Value,
        offset: i32,
    ) -> Result<()> {
        self.b.ins().store(FLAGS, v, base, offset);
        if dtype.is_complex() {
            let im = self.imag_of(v)?;
            let part = dtype.part().size() as i32;
            self.b.ins().store(FLAGS, im, base, offset + part);
        }
        Ok(())
    }

    /// Emits node `id` for the current element; each node is emitted once per element (`memo`).
    pub(super) fn value(&mut self, id: NodeId, memo: &mut HashMap<NodeId, Value>) -> Result<Value> {
        if let Some(v) = memo.get(&id) {
            return Ok(*v);
        }
        // The recursion is as deep as the graph: a program of 2 500 `t = t + 1` statements is a
        // chain of 2 500 nodes, which overflowed a 2 MiB thread.
        crate::core::stack::deep(|| self.emit_value(id, memo))
    }

    /// [`Translator::value`] for a node not yet emitted.
    fn emit_value(&mut self, id: NodeId, memo: &mut HashMap<NodeId, Value>) -> Result<Value> {
        if self.vector_mode {
            return self.vector_value(id, memo);
        }
        if let Some(v) = self.consts.get(&id) {
            return Ok(*v);
        }
        let node = self.g.node(id);
        let v = if let Some(&slot) = self.loaded.get(&id) {
            let at = self.scratch_address(slot);
            self.load_element(node.dtype, at, slot.offset)
        } else if let Some(&k) = self.operand_of.get(&id) {
            let p = self.row_address(k);
            match self.iotas.get(&k) {
                Some(iota) => {
                    let index = self.b.ins().sshr_imm_s(p, iota.shift);
                    self.convert(index, DType::Int64, node.dtype)
                }
                None => self.load_element(node.dtype, p, 0),
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
                    if operand.is_bytes() {
                        let first = self.g.node(args[0]).dtype;
                        self.apply_bytes(*op, &vals, [first.size(), operand.size()])?
                    } else {
                        self.apply(*op, &vals, operand)?
                    }
                }
                NodeKind::Call(kernel, args) => {
                    let vals = args
                        .iter()
                        .map(|a| self.value(*a, memo))
                        .collect::<Result<Vec<_>>>()?;
                    self.inline_kernel(kernel, &vals)?
                }
            }
        };
        memo.insert(id, v);
        Ok(v)
    }

    /// Emits node `id` for the current vector of elements (see [`VectorPlan`] for what qualifies).
    pub(super) fn vector_value(
        &mut self,
        id: NodeId,
        memo: &mut HashMap<NodeId, Value>,
    ) -> Result<Value> {
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
        } else if let NodeKind::Call(kernel, args) = &self.g.node(id).kind {
            // The first unrolled copy runs the kernel for every copy's vectors at once; the
            // others take their results.
            if let Some(v) = self.pending_lanes.remove(&(id, self.lane_offset)) {
                memo.insert(id, v);
                return Ok(v);
            }
            let own = self.lane_offset;
            let mut groups = Vec::with_capacity(plan.unroll);
            for u in 0..plan.unroll {
                self.lane_offset = own + (u * 16) as i32;
                let mut fresh = HashMap::new();
                let memo_u = if u == 0 { &mut *memo } else { &mut fresh };
                let mut lanes = Vec::with_capacity(args.len());
                for &a in args {
                    let arg = self.g.node(a);
                    lanes.push(if arg.rank == 0 {
                        let (dtype, scalar) = (arg.dtype, self.value_scalar(a)?);
                        self.splat_lanes(scalar, dtype)
                    } else {
                        self.value(a, memo_u)?
                    });
                }
                groups.push(lanes);
            }
            self.lane_offset = own;
            let results = self.lanes_kernel(kernel, &groups)?;
            for (u, v) in results.iter().enumerate().skip(1) {
                self.pending_lanes.insert((id, own + (u * 16) as i32), *v);
            }
            results[0]
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

    /// The scalar value of a 0-d node (hoisted into the entry block).
    fn value_scalar(&mut self, id: NodeId) -> Result<Value> {
        self.consts
            .get(&id)
            .copied()
            .ok_or_else(|| internal("codegen", format!("0-d node %{id} was not hoisted")))
    }

    /// `where(x ⋈ y, a, b)` on vectors: the comparison gives a lane mask (all ones or zeros),
    /// which selects bits from `a` or `b` (`VectorPlan` admits only this form).
    pub(super) fn vector_where(
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
    pub(super) fn convert(&mut self, x: Value, from: DType, to: DType) -> Value {
        use DType::*;
        if from != to && (from.is_complex() || to.is_complex()) {
            return self.convert_complex(x, from, to);
        }
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

    /// [`Self::convert`] to or from a complex dtype: parts convert as floats, a real value
    /// gets an imaginary +0, a complex value is true unless both parts are zero and is its real
    /// part as any other real dtype (NumPy's `astype`).
    fn convert_complex(&mut self, x: Value, from: DType, to: DType) -> Value {
        let (re, im) = if from.is_complex() {
            (x, self.imag.get(&x).copied())
        } else {
            (x, None)
        };
        if !to.is_complex() {
            let re_t = self.convert(re, from.part(), to);
            if to != DType::Bool {
                return re_t;
            }
            let im = im.unwrap_or_else(|| unreachable!("a complex value has an imaginary part"));
            let im_t = self.convert(im, from.part(), DType::Bool);
            return self.b.ins().bor(re_t, im_t);
        }
        let part = to.part();
        let re = self.convert(re, from.part(), part);
        let im = match im {
            Some(im) => self.convert(im, from.part(), part),
            None => self.float_const(part, 0.0),
        };
        self.complex(re, im, to)
    }

    /// Emits `op` on complex values of dtype `d`: arithmetic inline as NumPy computes it, the
    /// rest through the complex helpers (`ops::complex`, the interpreter's functions).
    fn apply_complex(&mut self, op: Op, a: &[Value], d: DType) -> Result<Value> {
        let part = d.part();
        if op == Op::Where {
            let (x, y) = (a[1], a[2]);
            let (xi, yi) = (self.imag_of(x)?, self.imag_of(y)?);
            let re = self.b.ins().select(a[0], x, y);
            let im = self.b.ins().select(a[0], xi, yi);
            return Ok(self.complex(re, im, d));
        }
        let parts = a
            .iter()
            .map(|&v| Ok((v, self.imag_of(v)?)))
            .collect::<Result<Vec<_>>>()?;
        let (ar, ai) = parts[0];
        let ins = self.b.ins();
        Ok(match op {
            Op::Copy => {
                let re = ar;
                self.complex(re, ai, d)
            }
            Op::Real => ar,
            Op::Imag => ai,
            Op::Neg | Op::Conj => {
                let im = ins.fneg(ai);
                let re = if op == Op::Neg {
                    self.b.ins().fneg(ar)
                } else {
                    ar
                };
                self.complex(re, im, d)
            }
            Op::Add | Op::Sub => {
                let (br, bi) = parts[1];
                let (re, im) = if op == Op::Add {
                    (ins.fadd(ar, br), self.b.ins().fadd(ai, bi))
                } else {
                    (ins.fsub(ar, br), self.b.ins().fsub(ai, bi))
                };
                self.complex(re, im, d)
            }
            Op::Mul => {
                // NumPy's product (`ops::complex::mul`): one fused multiply-add per part.
                let (br, bi) = parts[1];
                let ii = ins.fmul(ai, bi);
                let ii = self.b.ins().fneg(ii);
                let ir = self.b.ins().fmul(ai, br);
                let re = self.b.ins().fma(ar, br, ii);
                let im = self.b.ins().fma(ar, bi, ir);
                self.complex(re, im, d)
            }
            Op::Eq | Op::Ne => {
                let (br, bi) = parts[1];
                let cc = if op == Op::Eq {
                    FloatCC::Equal
                } else {
                    FloatCC::NotEqual
                };
                let r = ins.fcmp(cc, ar, br);
                let i = self.b.ins().fcmp(cc, ai, bi);
                if op == Op::Eq {
                    self.b.ins().band(r, i)
                } else {
                    self.b.ins().bor(r, i)
                }
            }
            Op::IsNan => {
                let r = ins.fcmp(FloatCC::Unordered, ar, ar);
                let i = self.b.ins().fcmp(FloatCC::Unordered, ai, ai);
                self.b.ins().bor(r, i)
            }
            Op::IsInf | Op::IsFinite => {
                let inf = self.float_const(part, f64::INFINITY);
                let (mr, mi) = (self.b.ins().fabs(ar), self.b.ins().fabs(ai));
                if op == Op::IsInf {
                    let r = self.b.ins().fcmp(FloatCC::Equal, mr, inf);
                    let i = self.b.ins().fcmp(FloatCC::Equal, mi, inf);
                    self.b.ins().bor(r, i)
                } else {
                    let r = self.b.ins().fcmp(FloatCC::LessThan, mr, inf);
                    let i = self.b.ins().fcmp(FloatCC::LessThan, mi, inf);
                    self.b.ins().band(r, i)
                }
            }
            Op::OnesLike => {
                let one = self.float_const(part, 1.0);
                let zero = self.float_const(part, 0.0);
                self.complex(one, zero, d)
            }
            _ => {
                let flat: Vec<Value> = parts.iter().flat_map(|&(r, i)| [r, i]).collect();
                let (re, im) = self.call_complex_helper(op, &flat, d)?;
                if op == Op::Abs {
                    re
                } else {
                    self.complex(re, im, d)
                }
            }
        })
    }

    /// Calls the complex helper of `op` on the parts `args` (re, im, …); its result's parts.
    fn call_complex_helper(&mut self, op: Op, args: &[Value], d: DType) -> Result<(Value, Value)> {
        let arity = args.len() / 2;
        let name = scalar::helper_name(op, arity, d);
        let part_ty = clif_type(d.part());
        let fref = match self.helpers.get(&name) {
            Some(f) => *f,
            None => {
                let mut sig = self.module.make_signature();
                for _ in args {
                    sig.params.push(AbiParam::new(part_ty));
                }
                sig.params.push(AbiParam::new(types::I64));
                let id = self
                    .module
                    .declare_function(&name, Linkage::Import, &sig)
                    .map_err(|e| internal("declare helper", e))?;
                let f = self.module.declare_func_in_func(id, self.b.func);
                self.helpers.insert(name, f);
                f
            }
        };
        let slot = match self.complex_out {
            Some(s) => s,
            None => {
                let s = self.b.create_sized_stack_slot(StackSlotData::new(
                    StackSlotKind::ExplicitSlot,
                    16,
                    3,
                ));
                self.complex_out = Some(s);
                s
            }
        };
        let out = self.b.ins().stack_addr(types::I64, slot, 0);
        let mut call_args = args.to_vec();
        call_args.push(out);
        self.b.ins().call(fref, &call_args);
        let size = d.part().size() as i32;
        let re = self.b.ins().load(part_ty, FLAGS, out, 0);
        let im = self.b.ins().load(part_ty, FLAGS, out, size);
        Ok((re, im))
    }

    /// Emits `op` on values of dtype `d` (after casting): inline where Cranelift has the
    /// instruction, otherwise a call to the scalar helper that the interpreter also uses.
    pub(super) fn apply(&mut self, op: Op, a: &[Value], d: DType) -> Result<Value> {
        if d.is_complex() {
            return self.apply_complex(op, a, d);
        }
        if op == Op::Complex {
            let d = d.complex_of();
            return Ok(self.complex(a[0], a[1], d));
        }
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
            Op::FloorDiv | Op::Mod | Op::Fmod if d.is_int() => self.int_division(op, a[0], a[1], d),
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
            Op::Copy | Op::Conj | Op::Real => a[0],
            Op::Imag | Op::OnesLike => {
                let v = i64::from(op == Op::OnesLike);
                self.scalar_const(Scalar::I64(v).cast(d))
            }
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

    /// Python's `//` and `%` (and C's `fmod`) on integers, inline and branch-free, with
    /// `ops::scalar::int`'s results where the hardware would trap: `x // 0 == x % 0 == 0`,
    /// `MIN // -1 == MIN`. (A helper call per element would cost several times the division.)
    fn int_division(&mut self, op: Op, a: Value, b: Value, d: DType) -> Value {
        let ty = clif_type(d);
        if let Some(c) = self.constant_int(b).filter(|c| *c != 0 && *c != -1) {
            // A constant divisor (`m // 10` in a kernel): Cranelift turns the division into a
            // multiplication, and only Python's rounding is left to fix.
            return self.int_division_by(op, a, b, c, ty);
        }
        let b_ = &mut self.b;
        let by_zero = b_.ins().icmp_imm_s(IntCC::Equal, b, 0);
        let by_minus_one = b_.ins().icmp_imm_s(IntCC::Equal, b, -1);
        let special = b_.ins().bor(by_zero, by_minus_one);
        let one = b_.ins().iconst(ty, 1);
        // Divide by 1 instead where the hardware would trap: q = a, r = 0.
        let safe = b_.ins().select(special, one, b);
        let q = b_.ins().sdiv(a, safe);
        let r = b_.ins().srem(a, safe);
        if op == Op::Fmod {
            return r;
        }
        // Python rounds towards -inf: step back when the remainder's sign is not the divisor's.
        let nonzero = b_.ins().icmp_imm_s(IntCC::NotEqual, r, 0);
        let signs = b_.ins().bxor(r, safe);
        let differ = b_.ins().icmp_imm_s(IntCC::SignedLessThan, signs, 0);
        let adjust = b_.ins().band(nonzero, differ);
        if op == Op::Mod {
            let zero = b_.ins().iconst(ty, 0);
            let add = b_.ins().select(adjust, safe, zero);
            return b_.ins().iadd(r, add);
        }
        let step = b_.ins().uextend(ty, adjust);
        let q = b_.ins().isub(q, step);
        let negated = b_.ins().ineg(a);
        let q = b_.ins().select(by_minus_one, negated, q);
        let zero = b_.ins().iconst(ty, 0);
        b_.ins().select(by_zero, zero, q)
    }

    /// [`Self::int_division`] by the constant `c` (neither 0 nor -1), held in `b`: one
    /// (multiplied-out) division, the remainder from the quotient, and Python's rounding as a
    /// sign mask, so a digit loop (`m % 10`, `m //= 10`) costs a few instructions per digit.
    fn int_division_by(&mut self, op: Op, a: Value, b: Value, c: i64, ty: Type) -> Value {
        let b_ = &mut self.b;
        let q = b_.ins().sdiv(a, b);
        let qc = b_.ins().imul(q, b);
        let r = b_.ins().isub(a, qc);
        if op == Op::Fmod {
            return r;
        }
        // All ones when the remainder's sign is not the divisor's (|r| < |c|, so -r cannot
        // overflow), else zero.
        let bits = i64::from(ty.bits()) - 1;
        let off = if c > 0 { r } else { b_.ins().ineg(r) };
        let mask = b_.ins().sshr_imm_s(off, bits);
        if op == Op::Mod {
            let add = b_.ins().band(mask, b);
            return b_.ins().iadd(r, add);
        }
        b_.ins().iadd(q, mask)
    }

    /// The value of `v` when an `iconst` instruction defines it (sign-extended from its type).
    fn constant_int(&self, v: Value) -> Option<i64> {
        let dfg = &self.b.func.dfg;
        let inst = dfg.value_def(v).inst()?;
        match dfg.insts[inst] {
            InstructionData::UnaryImm {
                opcode: Opcode::Iconst,
                imm,
            } => {
                let bits = dfg.value_type(v).bits();
                Some(imm.bits() << (64 - bits) >> (64 - bits))
            }
            _ => None,
        }
    }

    pub(super) fn float_const(&mut self, d: DType, v: f64) -> Value {
        if d == DType::Float32 {
            self.b.ins().f32const(v as f32)
        } else {
            self.b.ins().f64const(v)
        }
    }

    pub(super) fn compare(&mut self, op: Op, a: Value, b: Value, d: DType) -> Value {
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

    /// A string op on two strings (their addresses, `a`, of `sizes` bytes): a call of the
    /// helper `scalar::nj_bytes_op`, the interpreter's function.
    fn apply_bytes(&mut self, op: Op, a: &[Value], sizes: [usize; 2]) -> Result<Value> {
        let name = scalar::BYTES_HELPER.to_string();
        let fref = match self.helpers.get(&name) {
            Some(f) => *f,
            None => {
                let mut sig = self.module.make_signature();
                sig.params.push(AbiParam::new(types::I32));
                sig.params.extend([AbiParam::new(types::I64); 4]);
                sig.returns.push(AbiParam::new(types::I8));
                let id = self
                    .module
                    .declare_function(&name, Linkage::Import, &sig)
                    .map_err(|e| internal("declare helper", e))?;
                let f = self.module.declare_func_in_func(id, self.b.func);
                self.helpers.insert(name, f);
                f
            }
        };
        let op = self.b.ins().iconst(types::I32, op as i64);
        let na = self.b.ins().iconst(types::I64, sizes[0] as i64);
        let nb = self.b.ins().iconst(types::I64, sizes[1] as i64);
        let call = self.b.ins().call(fref, &[op, a[0], na, a[1], nb]);
        Ok(self.b.inst_results(call)[0])
    }

    pub(super) fn call_helper(&mut self, op: Op, args: &[Value], d: DType) -> Result<Value> {
        let name = scalar::helper_name(op, args.len(), d);
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
