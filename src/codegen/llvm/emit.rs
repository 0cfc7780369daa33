//! The per-node emitter: one arm per IR node, on scalars (`lanes == 1`) and on vectors of
//! `lanes` elements alike, each op with the operation `translate/emit.rs` gives it (so the bits
//! are the Cranelift tier's), and calls of the same `extern "C"` helpers for the rest.

use std::collections::HashMap;

use inkwell::builder::BuilderError;
use inkwell::intrinsics::Intrinsic;
use inkwell::types::{BasicType, BasicTypeEnum};
use inkwell::values::InstructionOpcode;
use inkwell::values::{BasicValue, BasicValueEnum, IntValue, PointerValue};
use inkwell::{FloatPredicate, IntPredicate};

use super::super::jit::internal;
use super::*;
use crate::core::dtype::{DType, Scalar};
use crate::ops::{scalar, Op};

/// LLVM builder errors as numjit's internal errors.
pub(super) trait Check<T> {
    fn or_err(self) -> Result<T>;
}

impl<T> Check<T> for std::result::Result<T, BuilderError> {
    fn or_err(self) -> Result<T> {
        self.map_err(|e| internal("llvm builder", e))
    }
}

fn mismatch(what: &str) -> crate::Error {
    internal("llvm emitter", format!("operands of {what} differ in kind"))
}

/// `a ∘ b` with the builder method `$m`, on two floats or two float vectors.
macro_rules! fop {
    ($t:expr, $m:ident, $a:expr, $b:expr) => {
        match ($a, $b) {
            (BasicValueEnum::FloatValue(x), BasicValueEnum::FloatValue(y)) => {
                BasicValueEnum::from($t.b.$m(x, y, "").or_err()?)
            }
            (BasicValueEnum::VectorValue(x), BasicValueEnum::VectorValue(y)) => {
                BasicValueEnum::from($t.b.$m(x, y, "").or_err()?)
            }
            _ => return Err(mismatch(stringify!($m))),
        }
    };
}

/// `a ∘ b` with the builder method `$m`, on two integers or two integer vectors.
macro_rules! iop {
    ($t:expr, $m:ident, $a:expr, $b:expr) => {
        match ($a, $b) {
            (BasicValueEnum::IntValue(x), BasicValueEnum::IntValue(y)) => {
                BasicValueEnum::from($t.b.$m(x, y, "").or_err()?)
            }
            (BasicValueEnum::VectorValue(x), BasicValueEnum::VectorValue(y)) => {
                BasicValueEnum::from($t.b.$m(x, y, "").or_err()?)
            }
            _ => return Err(mismatch(stringify!($m))),
        }
    };
}

impl<'ctx> Translator<'_, 'ctx> {
    /// The scalar type of `d`'s elements (bool is a byte, 0 or 1).
    pub(super) fn elem_type(&self, d: DType) -> BasicTypeEnum<'ctx> {
        match d {
            DType::Bool => self.ctx.i8_type().into(),
            DType::Int32 => self.ctx.i32_type().into(),
            DType::Int64 => self.ctx.i64_type().into(),
            DType::Float32 | DType::Complex64 => self.ctx.f32_type().into(),
            DType::Float64 | DType::Complex128 => self.ctx.f64_type().into(),
            DType::Bytes(_) => unreachable!("stages reading strings keep their Cranelift code"),
        }
    }

    /// `t` as `lanes` elements (a vector when `lanes > 1`).
    pub(super) fn widen(&self, t: BasicTypeEnum<'ctx>, lanes: u32) -> BasicTypeEnum<'ctx> {
        match (t, lanes) {
            (_, 1) => t,
            (BasicTypeEnum::IntType(i), _) => i.vec_type(lanes).into(),
            (BasicTypeEnum::FloatType(f), _) => f.vec_type(lanes).into(),
            _ => t,
        }
    }

    /// The type of a value of `d` now (scalar or `self.lanes` lanes).
    fn ty(&self, d: DType) -> BasicTypeEnum<'ctx> {
        self.widen(self.elem_type(d), self.lanes)
    }

    /// `v` in every one of `lanes` lanes.
    pub(super) fn splat(
        &self,
        v: BasicValueEnum<'ctx>,
        lanes: u32,
    ) -> Result<BasicValueEnum<'ctx>> {
        if lanes == 1 {
            return Ok(v);
        }
        let vt = match self.widen(v.get_type(), lanes) {
            BasicTypeEnum::VectorType(vt) => vt,
            _ => return Err(internal("llvm emitter", "splat of a non-scalar")),
        };
        let zero = self.ctx.i32_type().const_zero();
        let one = self
            .b
            .build_insert_element(vt.get_poison(), v, zero, "")
            .or_err()?;
        let mask = self.ctx.i32_type().vec_type(lanes).const_zero();
        Ok(self
            .b
            .build_shuffle_vector(one, vt.get_poison(), mask, "")
            .or_err()?
            .into())
    }

    /// A constant of `d`'s type now (splatted in vector code).
    pub(super) fn constant(&self, s: Scalar) -> Result<BasicValueEnum<'ctx>> {
        let v = self.scalar_const(s)?;
        self.splat(v, self.lanes)
    }

    /// The scalar constant `s` (real dtypes).
    pub(super) fn scalar_const(&self, s: Scalar) -> Result<BasicValueEnum<'ctx>> {
        Ok(match s {
            Scalar::Bool(v) => self.ctx.i8_type().const_int(v as u64, false).into(),
            Scalar::I32(v) => self.ctx.i32_type().const_int(v as i64 as u64, true).into(),
            Scalar::I64(v) => self.ctx.i64_type().const_int(v as u64, true).into(),
            // Exact: every float32 is a float64.
            Scalar::F32(v) => self.ctx.f32_type().const_float(v as f64).into(),
            Scalar::F64(v) => self.ctx.f64_type().const_float(v).into(),
            Scalar::C64(_) | Scalar::C128(_) => {
                return Err(internal("llvm emitter", "complex constant"))
            }
        })
    }

    fn float_const(&self, d: DType, v: f64) -> Result<BasicValueEnum<'ctx>> {
        self.constant(if d == DType::Float32 {
            Scalar::F32(v as f32)
        } else {
            Scalar::F64(v)
        })
    }

    pub(super) fn pointer(&self, addr: IntValue<'ctx>) -> Result<PointerValue<'ctx>> {
        let ptr = self.ctx.ptr_type(inkwell::AddressSpace::default());
        self.b.build_int_to_ptr(addr, ptr, "").or_err()
    }

    /// The function of numjit's named `name` (a scalar helper or a vector kernel), declared in
    /// the module by name, never by address: the object file is the same in every process, so
    /// it can be cached on disk, and the loader binds the name (`target::imports`).
    pub(super) fn external(
        &self,
        name: &str,
        fn_type: inkwell::types::FunctionType<'ctx>,
    ) -> FunctionValue<'ctx> {
        self.module
            .get_function(name)
            .unwrap_or_else(|| self.module.add_function(name, fn_type, None))
    }

    /// Sets a load's or store's alignment to its element size (a vector load's default would be
    /// the whole vector's).
    pub(super) fn align(
        inst: Option<inkwell::values::InstructionValue<'ctx>>,
        size: usize,
    ) -> Result<()> {
        inst.ok_or_else(|| internal("llvm alignment", "not an instruction"))?
            .set_alignment(size as u32)
            .map_err(|e| internal("llvm alignment", format!("{e:?}")))
    }

    /// Loads `self.lanes` contiguous elements of `d` (one when scalar) at `addr`.
    pub(super) fn load(&self, d: DType, addr: IntValue<'ctx>) -> Result<BasicValueEnum<'ctx>> {
        let p = self.pointer(addr)?;
        let v = self.b.build_load(self.ty(d), p, "").or_err()?;
        Self::align(v.as_instruction_value(), d.size())?;
        Ok(v)
    }

    /// Loads operand `k`'s current element(s) of `d`: gathered lane by lane in a gathering
    /// vector body.
    pub(super) fn load_operand(&self, d: DType, k: usize) -> Result<BasicValueEnum<'ctx>> {
        if let Some(&Some(v)) = self.carried_values.get(k) {
            return Ok(v);
        }
        let addr = match self.row_shift.get(k) {
            Some(&shift) => self.b.build_int_add(self.addr[k], shift, "").or_err()?,
            None => self.addr[k],
        };
        if !self.gather || self.lanes == 1 {
            return self.load(d, addr);
        }
        let vt = self.ty(d).into_vector_type();
        let mut v = vt.get_poison();
        let elem = self.elem_type(d);
        for l in 0..self.lanes {
            let off = self
                .b
                .build_int_mul(self.s1[k], self.i64c(l as i64), "")
                .or_err()?;
            let at = self.b.build_int_add(addr, off, "").or_err()?;
            let x = self.b.build_load(elem, self.pointer(at)?, "").or_err()?;
            Self::align(x.as_instruction_value(), d.size())?;
            let lane = self.ctx.i32_type().const_int(l as u64, false);
            v = self.b.build_insert_element(v, x, lane, "").or_err()?;
        }
        Ok(v.into())
    }

    /// Stores `v` at `addr`, contiguous lanes.
    pub(super) fn store_contiguous(
        &self,
        v: BasicValueEnum<'ctx>,
        addr: IntValue<'ctx>,
    ) -> Result<()> {
        let bytes = self.element_bytes(v);
        let s = self.b.build_store(self.pointer(addr)?, v).or_err()?;
        Self::align(Some(s), bytes)
    }

    /// The size in bytes of `v`'s elements (of `v` when scalar).
    fn element_bytes(&self, v: BasicValueEnum<'ctx>) -> usize {
        let element = match v.get_type() {
            BasicTypeEnum::VectorType(vt) => vt.get_element_type(),
            t => t,
        };
        match element {
            BasicTypeEnum::IntType(i) => (i.get_bit_width() as usize).div_ceil(8),
            BasicTypeEnum::FloatType(f) if f == self.ctx.f32_type() => 4,
            _ => 8,
        }
    }

    /// Stores the vector `v` at `addr`, which the caller has aligned to the vector's size (up to
    /// 64 bytes), non-temporally: `vmovntpd` and kin, which x86 has for aligned stores only.
    pub(super) fn store_nontemporal(
        &self,
        v: BasicValueEnum<'ctx>,
        addr: IntValue<'ctx>,
    ) -> Result<()> {
        let lanes = match v.get_type() {
            BasicTypeEnum::VectorType(vt) => vt.get_size() as usize,
            _ => 1,
        };
        let bytes = lanes * self.element_bytes(v);
        let s = self.b.build_store(self.pointer(addr)?, v).or_err()?;
        Self::align(Some(s), bytes.min(64))?;
        let one = self.ctx.i32_type().const_int(1, false);
        let node = self.ctx.metadata_node(&[one.into()]);
        s.set_metadata(node, self.ctx.get_kind_id("nontemporal"))
            .map_err(|e| internal("llvm metadata", format!("{e:?}")))
    }

    /// Stores `v` at `addr`: lane `l` at `addr + l·stride` in a gathering vector body.
    pub(super) fn store(
        &self,
        v: BasicValueEnum<'ctx>,
        addr: IntValue<'ctx>,
        stride: IntValue<'ctx>,
    ) -> Result<()> {
        if !self.gather || self.lanes == 1 {
            return self.store_contiguous(v, addr);
        }
        let vv = v.into_vector_value();
        for l in 0..self.lanes {
            let lane = self.ctx.i32_type().const_int(l as u64, false);
            let x = self.b.build_extract_element(vv, lane, "").or_err()?;
            let off = self
                .b
                .build_int_mul(stride, self.i64c(l as i64), "")
                .or_err()?;
            let at = self.b.build_int_add(addr, off, "").or_err()?;
            self.store_contiguous(x, at)?;
        }
        Ok(())
    }

    /// Computes every 0-d node of the stage once, in the entry block (see
    /// `Translator::hoist_constants` in `translate/mod.rs`).
    pub(super) fn hoist_constants(&mut self) -> Result<()> {
        let mut invariant: Vec<NodeId> = (self.stage.nodes(self.g).into_iter())
            .filter(|&id| self.g.node(id).rank == 0)
            .collect();
        invariant.sort_unstable();
        self.lanes = 1;
        for id in invariant {
            let v = self.value(id, &mut HashMap::new())?;
            self.consts.insert(id, v);
        }
        Ok(())
    }

    /// Emits node `id` for the current element(s); each node once per element (`memo`).
    pub(super) fn value(
        &mut self,
        id: NodeId,
        memo: &mut HashMap<NodeId, BasicValueEnum<'ctx>>,
    ) -> Result<BasicValueEnum<'ctx>> {
        if let Some(v) = memo.get(&id) {
            return Ok(*v);
        }
        crate::core::stack::deep(|| self.emit_value(id, memo))
    }

    fn emit_value(
        &mut self,
        id: NodeId,
        memo: &mut HashMap<NodeId, BasicValueEnum<'ctx>>,
    ) -> Result<BasicValueEnum<'ctx>> {
        let node = self.g.node(id);
        let v = if let Some(&c) = self.consts.get(&id) {
            self.splat(c, self.lanes)?
        } else if let Some(&slot) = self.loaded.get(&id) {
            let at = self.slot_address(slot)?;
            self.load(node.dtype, at)?
        } else if let Some(&k) = self.operand_of.get(&id) {
            if matches!(node.kind, NodeKind::Iota { .. }) {
                self.iota(k, node.dtype)?
            } else {
                self.load_operand(node.dtype, k)?
            }
        } else {
            match &node.kind {
                NodeKind::Input(_) | NodeKind::Reduce { .. } | NodeKind::Iota { .. } => {
                    return Err(internal(
                        "llvm emitter",
                        format!("node %{id} is read but is not an operand"),
                    ))
                }
                NodeKind::Call(kernel, args) => {
                    let vals = args
                        .iter()
                        .map(|a| self.value(*a, memo))
                        .collect::<Result<Vec<_>>>()?;
                    self.call_kernel(kernel, &vals)?
                }
                NodeKind::Const(s) => self.constant(*s)?,
                NodeKind::Cast(a) => {
                    let from = self.g.node(*a).dtype;
                    let x = self.value(*a, memo)?;
                    self.convert(x, from, node.dtype)?
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

    /// An iota operand's value: its address is `index << shift`, the index converted to `d`.
    fn iota(&self, k: usize, d: DType) -> Result<BasicValueEnum<'ctx>> {
        let shift = self.i64c(d.size().trailing_zeros() as i64);
        let index: BasicValueEnum<'ctx> = if self.lanes == 1 {
            self.b
                .build_right_shift(self.addr[k], shift, true, "")
                .or_err()?
                .into()
        } else {
            let lanes = self.lanes;
            let first = self.splat(self.addr[k].into(), lanes)?;
            let step = self.splat(self.s1[k].into(), lanes)?;
            let ramp: Vec<IntValue<'ctx>> = (0..lanes).map(|l| self.i64c(l as i64)).collect();
            let ramp = inkwell::types::VectorType::const_vector(&ramp);
            let off = self
                .b
                .build_int_mul(step.into_vector_value(), ramp, "")
                .or_err()?;
            let at = self
                .b
                .build_int_add(first.into_vector_value(), off, "")
                .or_err()?;
            let sh = self.splat(shift.into(), lanes)?.into_vector_value();
            self.b.build_right_shift(at, sh, true, "").or_err()?.into()
        };
        self.convert(index, DType::Int64, d)
    }

    pub(super) fn intrinsic(
        &self,
        name: &str,
        types: &[BasicTypeEnum<'ctx>],
        args: &[BasicValueEnum<'ctx>],
    ) -> Result<BasicValueEnum<'ctx>> {
        let f = Intrinsic::find(name)
            .and_then(|i| i.get_declaration(self.module, types))
            .ok_or_else(|| internal("llvm intrinsic", name))?;
        let args: Vec<_> = args.iter().map(|&a| a.into()).collect();
        self.b
            .build_call(f, &args, "")
            .or_err()?
            .try_as_basic_value()
            .basic()
            .ok_or_else(|| internal("llvm intrinsic", format!("{name} has no value")))
    }

    /// An `i1` (or vector of `i1`) as numjit's bool: 0 or 1 in a byte.
    fn to_bool(&self, c: BasicValueEnum<'ctx>) -> Result<BasicValueEnum<'ctx>> {
        let t = self.ty(DType::Bool);
        Ok(match c {
            BasicValueEnum::IntValue(x) => self
                .b
                .build_int_z_extend(x, t.into_int_type(), "")
                .or_err()?
                .into(),
            BasicValueEnum::VectorValue(x) => self
                .b
                .build_int_z_extend(x, t.into_vector_type(), "")
                .or_err()?
                .into(),
            _ => return Err(mismatch("bool")),
        })
    }

    /// A bool (byte) as an `i1` condition.
    pub(super) fn truth(&self, v: BasicValueEnum<'ctx>) -> Result<BasicValueEnum<'ctx>> {
        let zero = self.constant(Scalar::Bool(false))?;
        iop_cmp(self, IntPredicate::NE, v, zero)
    }

    fn select(
        &self,
        c: BasicValueEnum<'ctx>,
        a: BasicValueEnum<'ctx>,
        b: BasicValueEnum<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>> {
        match c {
            BasicValueEnum::IntValue(c) => self.b.build_select(c, a, b, "").or_err(),
            BasicValueEnum::VectorValue(c) => self.b.build_select(c, a, b, "").or_err(),
            _ => Err(mismatch("select")),
        }
    }

    /// C conversion between real dtypes, as `translate/emit.rs` `convert` (floats to ints
    /// saturate).
    pub(super) fn convert(
        &self,
        x: BasicValueEnum<'ctx>,
        from: DType,
        to: DType,
    ) -> Result<BasicValueEnum<'ctx>> {
        use DType::*;
        if from == to {
            return Ok(x);
        }
        if from.is_complex() || to.is_complex() {
            return Err(internal("llvm emitter", "complex conversion"));
        }
        let ty = self.ty(to);
        Ok(match (from, to) {
            (_, Bool) if from.is_float() => {
                let zero = self.float_const(from, 0.0)?;
                let c = fop_cmp(self, FloatPredicate::UNE, x, zero)?;
                self.to_bool(c)?
            }
            (_, Bool) => {
                let zero = self.constant(Scalar::I64(0).cast(from))?;
                let c = iop_cmp(self, IntPredicate::NE, x, zero)?;
                self.to_bool(c)?
            }
            (Bool, Int32 | Int64) => self.cast(InstructionOpcode::ZExt, x, ty)?,
            (Bool, _) => {
                let wide = self.cast(InstructionOpcode::ZExt, x, self.ty(Int32))?;
                self.cast(InstructionOpcode::SIToFP, wide, ty)?
            }
            (Int32, Int64) => self.cast(InstructionOpcode::SExt, x, ty)?,
            (Int64, Int32) => self.cast(InstructionOpcode::Trunc, x, ty)?,
            (Int32 | Int64, _) => self.cast(InstructionOpcode::SIToFP, x, ty)?,
            (Float32, Float64) => self.cast(InstructionOpcode::FPExt, x, ty)?,
            (Float64, Float32) => self.cast(InstructionOpcode::FPTrunc, x, ty)?,
            (_, _) => self.intrinsic("llvm.fptosi.sat", &[ty, x.get_type()], &[x])?,
        })
    }

    /// The conversion `op` of `x` (a scalar or a vector) to `ty` (of the same shape).
    fn cast(
        &self,
        op: InstructionOpcode,
        x: BasicValueEnum<'ctx>,
        ty: BasicTypeEnum<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>> {
        self.b.build_cast(op, x, ty, "").or_err()
    }

    /// Emits `op` on values of dtype `d` (after casting), as `translate/emit.rs` `apply`.
    pub(super) fn apply(
        &self,
        op: Op,
        a: &[BasicValueEnum<'ctx>],
        d: DType,
    ) -> Result<BasicValueEnum<'ctx>> {
        if d.is_complex() || op == Op::Complex {
            return Err(internal(
                "llvm emitter",
                "complex values run on Cranelift code",
            ));
        }
        let float = d.is_float();
        let is_bool = d == DType::Bool;
        let ty = self.ty(d);
        Ok(match op {
            Op::Neg if float => match a[0] {
                BasicValueEnum::FloatValue(x) => self.b.build_float_neg(x, "").or_err()?.into(),
                BasicValueEnum::VectorValue(x) => self.b.build_float_neg(x, "").or_err()?.into(),
                _ => return Err(mismatch("fneg")),
            },
            Op::Neg => {
                let zero = self.constant(Scalar::I64(0).cast(d))?;
                iop!(self, build_int_sub, zero, a[0])
            }
            Op::Invert if is_bool => {
                let one = self.constant(Scalar::Bool(true))?;
                iop!(self, build_xor, a[0], one)
            }
            Op::Invert => {
                let ones = self.constant(Scalar::I64(-1).cast(d))?;
                iop!(self, build_xor, a[0], ones)
            }
            Op::Add if is_bool => iop!(self, build_or, a[0], a[1]),
            Op::Add if float => fop!(self, build_float_add, a[0], a[1]),
            Op::Add => iop!(self, build_int_add, a[0], a[1]),
            Op::Sub if float => fop!(self, build_float_sub, a[0], a[1]),
            Op::Sub => iop!(self, build_int_sub, a[0], a[1]),
            Op::Mul if is_bool => iop!(self, build_and, a[0], a[1]),
            Op::Mul if float => fop!(self, build_float_mul, a[0], a[1]),
            Op::Mul => iop!(self, build_int_mul, a[0], a[1]),
            Op::Div if float => fop!(self, build_float_div, a[0], a[1]),
            Op::FloorDiv | Op::Mod | Op::Fmod if d.is_int() => {
                self.int_division(op, a[0], a[1], d)?
            }
            Op::BitAnd if !float => iop!(self, build_and, a[0], a[1]),
            Op::BitOr if !float => iop!(self, build_or, a[0], a[1]),
            Op::BitXor if !float => iop!(self, build_xor, a[0], a[1]),
            Op::Lt | Op::Le | Op::Eq | Op::Ne | Op::Ge | Op::Gt => {
                self.compare(op, a[0], a[1], d)?
            }
            Op::Where => {
                let c = self.truth(a[0])?;
                self.select(c, a[1], a[2])?
            }
            Op::Sqrt if float => self.intrinsic("llvm.sqrt", &[ty], &a[..1])?,
            Op::Abs if float => self.intrinsic("llvm.fabs", &[ty], &a[..1])?,
            Op::Abs if is_bool => a[0],
            Op::Abs => {
                let no_poison = self.ctx.bool_type().const_zero().into();
                self.intrinsic("llvm.abs", &[ty], &[a[0], no_poison])?
            }
            Op::Ceil | Op::Floor | Op::Round | Op::Trunc if !float => a[0],
            Op::Ceil => self.intrinsic("llvm.ceil", &[ty], &a[..1])?,
            Op::Floor => self.intrinsic("llvm.floor", &[ty], &a[..1])?,
            // Cranelift's `nearest`: to the nearest, ties to even.
            Op::Round => self.intrinsic("llvm.roundeven", &[ty], &a[..1])?,
            Op::Trunc => self.intrinsic("llvm.trunc", &[ty], &a[..1])?,
            Op::Sign if !float => {
                let zero = self.constant(Scalar::I64(0).cast(d))?;
                let pos = iop_cmp(self, IntPredicate::SGT, a[0], zero)?;
                let neg = iop_cmp(self, IntPredicate::SLT, a[0], zero)?;
                let (pos, neg) = (self.to_bool(pos)?, self.to_bool(neg)?);
                let diff = iop!(self, build_int_sub, pos, neg);
                if is_bool {
                    diff
                } else {
                    match diff {
                        BasicValueEnum::IntValue(v) => self
                            .b
                            .build_int_s_extend(v, ty.into_int_type(), "")
                            .or_err()?
                            .into(),
                        BasicValueEnum::VectorValue(v) => self
                            .b
                            .build_int_s_extend(v, ty.into_vector_type(), "")
                            .or_err()?
                            .into(),
                        _ => return Err(mismatch("sign")),
                    }
                }
            }
            Op::Copysign if float => self.intrinsic("llvm.copysign", &[ty], &a[..2])?,
            Op::Copy | Op::Conj | Op::Real => a[0],
            Op::Imag | Op::OnesLike => {
                let v = i64::from(op == Op::OnesLike);
                self.constant(Scalar::I64(v).cast(d))?
            }
            Op::Maximum if is_bool => iop!(self, build_or, a[0], a[1]),
            Op::Minimum if is_bool => iop!(self, build_and, a[0], a[1]),
            Op::Maximum if !float => self.intrinsic("llvm.smax", &[ty], &a[..2])?,
            Op::Minimum if !float => self.intrinsic("llvm.smin", &[ty], &a[..2])?,
            Op::Maximum | Op::Minimum => {
                // NumPy: NaN in `a` wins; otherwise `a` if strictly better, else `b`.
                let pred = if op == Op::Maximum {
                    FloatPredicate::OGT
                } else {
                    FloatPredicate::OLT
                };
                let nan = fop_cmp(self, FloatPredicate::UNO, a[0], a[0])?;
                let better = fop_cmp(self, pred, a[0], a[1])?;
                let take_a = iop!(self, build_or, nan, better);
                self.select(take_a, a[0], a[1])?
            }
            Op::IsNan | Op::IsInf if !float => self.constant(Scalar::Bool(false))?,
            Op::IsFinite if !float => self.constant(Scalar::Bool(true))?,
            Op::SignBit if is_bool => self.constant(Scalar::Bool(false))?,
            Op::SignBit if !float => {
                let zero = self.constant(Scalar::I64(0).cast(d))?;
                let c = iop_cmp(self, IntPredicate::SLT, a[0], zero)?;
                self.to_bool(c)?
            }
            Op::IsNan => {
                let c = fop_cmp(self, FloatPredicate::UNO, a[0], a[0])?;
                self.to_bool(c)?
            }
            Op::IsInf | Op::IsFinite => {
                let mag = self.intrinsic("llvm.fabs", &[ty], &a[..1])?;
                let inf = self.float_const(d, f64::INFINITY)?;
                let pred = if op == Op::IsInf {
                    FloatPredicate::OEQ
                } else {
                    FloatPredicate::OLT
                };
                let c = fop_cmp(self, pred, mag, inf)?;
                self.to_bool(c)?
            }
            Op::SignBit => {
                let int = if d == DType::Float32 {
                    DType::Int32
                } else {
                    DType::Int64
                };
                let bits = self.b.build_bit_cast(a[0], self.ty(int), "").or_err()?;
                let zero = self.constant(Scalar::I64(0).cast(int))?;
                let c = iop_cmp(self, IntPredicate::SLT, bits, zero)?;
                self.to_bool(c)?
            }
            Op::Radians | Op::Degrees => {
                let k = self.float_const(d, scalar::angle_factor(op))?;
                fop!(self, build_float_mul, a[0], k)
            }
            _ => self.call_helper(op, a, d)?,
        })
    }

    /// Python's `//` and `%` (and C's `fmod`) on integers, branch-free, as
    /// `translate/emit.rs` `int_division`: `x // 0 == x % 0 == 0`, `MIN // -1 == MIN`.
    fn int_division(
        &self,
        op: Op,
        a: BasicValueEnum<'ctx>,
        b: BasicValueEnum<'ctx>,
        d: DType,
    ) -> Result<BasicValueEnum<'ctx>> {
        let c = |v: i64| self.constant(Scalar::I64(v).cast(d));
        let by_zero = iop_cmp(self, IntPredicate::EQ, b, c(0)?)?;
        let by_minus_one = iop_cmp(self, IntPredicate::EQ, b, c(-1)?)?;
        let special = iop!(self, build_or, by_zero, by_minus_one);
        let safe = self.select(special, c(1)?, b)?;
        let q = iop!(self, build_int_signed_div, a, safe);
        let r = iop!(self, build_int_signed_rem, a, safe);
        if op == Op::Fmod {
            return Ok(r);
        }
        let nonzero = iop_cmp(self, IntPredicate::NE, r, c(0)?)?;
        let signs = iop!(self, build_xor, r, safe);
        let differ = iop_cmp(self, IntPredicate::SLT, signs, c(0)?)?;
        let adjust = iop!(self, build_and, nonzero, differ);
        if op == Op::Mod {
            let add = self.select(adjust, safe, c(0)?)?;
            return Ok(iop!(self, build_int_add, r, add));
        }
        let step = self.cast(InstructionOpcode::ZExt, adjust, self.ty(d))?;
        let q = iop!(self, build_int_sub, q, step);
        let negated = iop!(self, build_int_sub, c(0)?, a);
        let q = self.select(by_minus_one, negated, q)?;
        self.select(by_zero, c(0)?, q)
    }

    /// `a ⋈ b` as a bool, as `translate/emit.rs` `compare` (`!=` is true on NaN, the other
    /// float comparisons false; bools compare unsigned).
    fn compare(
        &self,
        op: Op,
        a: BasicValueEnum<'ctx>,
        b: BasicValueEnum<'ctx>,
        d: DType,
    ) -> Result<BasicValueEnum<'ctx>> {
        let c = if d.is_float() {
            let pred = match op {
                Op::Lt => FloatPredicate::OLT,
                Op::Le => FloatPredicate::OLE,
                Op::Eq => FloatPredicate::OEQ,
                Op::Ne => FloatPredicate::UNE,
                Op::Ge => FloatPredicate::OGE,
                _ => FloatPredicate::OGT,
            };
            fop_cmp(self, pred, a, b)?
        } else {
            let unsigned = d == DType::Bool;
            let pred = match (op, unsigned) {
                (Op::Lt, false) => IntPredicate::SLT,
                (Op::Le, false) => IntPredicate::SLE,
                (Op::Ge, false) => IntPredicate::SGE,
                (Op::Gt, false) => IntPredicate::SGT,
                (Op::Lt, true) => IntPredicate::ULT,
                (Op::Le, true) => IntPredicate::ULE,
                (Op::Ge, true) => IntPredicate::UGE,
                (Op::Gt, true) => IntPredicate::UGT,
                (Op::Eq, _) => IntPredicate::EQ,
                _ => IntPredicate::NE,
            };
            iop_cmp(self, pred, a, b)?
        };
        self.to_bool(c)
    }

    /// Calls the scalar helper of `op` (the interpreter's function), lane by lane in vector
    /// code.
    fn call_helper(
        &self,
        op: Op,
        args: &[BasicValueEnum<'ctx>],
        d: DType,
    ) -> Result<BasicValueEnum<'ctx>> {
        let name = scalar::helper_name(op, args.len(), d);
        if scalar::helper_address(&name).is_none() {
            return Err(internal("llvm emitter", format!("no helper {name}")));
        }
        let elem = self.elem_type(d);
        let params: Vec<_> = args.iter().map(|_| elem.into()).collect();
        let callee = self.external(&name, elem.fn_type(&params, false));
        let call = |xs: Vec<BasicValueEnum<'ctx>>| -> Result<BasicValueEnum<'ctx>> {
            let xs: Vec<_> = xs.into_iter().map(|x| x.into()).collect();
            self.b
                .build_call(callee, &xs, "")
                .or_err()?
                .try_as_basic_value()
                .basic()
                .ok_or_else(|| internal("llvm emitter", "a helper without a result"))
        };
        if self.lanes == 1 {
            return call(args.to_vec());
        }
        let mut out = self.ty(d).into_vector_type().get_poison();
        for l in 0..self.lanes {
            let lane = self.ctx.i32_type().const_int(l as u64, false);
            let xs = args
                .iter()
                .map(|a| {
                    self.b
                        .build_extract_element(a.into_vector_value(), lane, "")
                        .or_err()
                })
                .collect::<Result<Vec<_>>>()?;
            let r = call(xs)?;
            out = self.b.build_insert_element(out, r, lane, "").or_err()?;
        }
        Ok(out.into())
    }
}

/// `a ⋈ b` on floats or float vectors: an `i1` or a vector of them.
fn fop_cmp<'ctx>(
    t: &Translator<'_, 'ctx>,
    pred: FloatPredicate,
    a: BasicValueEnum<'ctx>,
    b: BasicValueEnum<'ctx>,
) -> Result<BasicValueEnum<'ctx>> {
    Ok(match (a, b) {
        (BasicValueEnum::FloatValue(x), BasicValueEnum::FloatValue(y)) => {
            t.b.build_float_compare(pred, x, y, "").or_err()?.into()
        }
        (BasicValueEnum::VectorValue(x), BasicValueEnum::VectorValue(y)) => {
            t.b.build_float_compare(pred, x, y, "").or_err()?.into()
        }
        _ => return Err(mismatch("fcmp")),
    })
}

/// `a ⋈ b` on integers or integer vectors: an `i1` or a vector of them.
fn iop_cmp<'ctx>(
    t: &Translator<'_, 'ctx>,
    pred: IntPredicate,
    a: BasicValueEnum<'ctx>,
    b: BasicValueEnum<'ctx>,
) -> Result<BasicValueEnum<'ctx>> {
    Ok(match (a, b) {
        (BasicValueEnum::IntValue(x), BasicValueEnum::IntValue(y)) => {
            t.b.build_int_compare(pred, x, y, "").or_err()?.into()
        }
        (BasicValueEnum::VectorValue(x), BasicValueEnum::VectorValue(y)) => {
            t.b.build_int_compare(pred, x, y, "").or_err()?.into()
        }
        _ => return Err(mismatch("icmp")),
    })
}
