//! The generators `arange` and `linspace`: iota nodes whose lengths bind with the inputs, with
//! NumPy's dtypes and fill formulas, and their argument checks.

use crate::core::dtype::{DType, Scalar, Ty};
use crate::core::error::{Error, ErrorKind, Result, Span};
use crate::core::shape::iota_len;
use crate::ir::eval::scalar_value;
use crate::ir::{Extent, NodeId, NodeKind};
use crate::ops::{Generator, Op};
use crate::parse::ast::{Expr, Kwarg};

use super::*;

impl Lowerer {
    /// `arange(...)`, `linspace(...)`: an iota along a new axis, and the arithmetic that gives
    /// its values exactly as NumPy computes them. Only the length waits for the inputs.
    pub(super) fn generator(
        &mut self,
        generator: Generator,
        args: &[Expr],
        kwargs: &[Kwarg],
        span: Span,
    ) -> Result<(NodeId, Ty)> {
        let name = generator.name();
        if let Some(kw) = kwargs.first() {
            return Err(Error::at(
                ErrorKind::Arity,
                kw.name_span,
                format!("`{name}` takes no keyword arguments, got `{}`", kw.name),
            ));
        }
        let (fewest, most) = generator.arity();
        if args.len() < fewest || args.len() > most {
            return Err(Error::at(
                ErrorKind::Arity,
                span,
                format!(
                    "`{name}` takes {fewest} to {most} arguments, got {}",
                    args.len()
                ),
            ));
        }
        let mut lowered = Vec::with_capacity(args.len());
        for a in args {
            lowered.push(self.generator_arg(name, a)?);
        }
        match generator {
            Generator::Arange => self.arange(&lowered, args, span),
            Generator::Linspace => self.linspace(&lowered, args, span),
        }
    }

    /// A generator argument: a 0-d expression of constants and 0-d variables, whose value is
    /// known when the inputs are bound.
    pub(super) fn generator_arg(&mut self, name: &str, e: &Expr) -> Result<(NodeId, Ty)> {
        let (id, ty) = self.expr(e)?;
        let rank = self.rank(id);
        if rank > 0 {
            return Err(Error::at(
                ErrorKind::Type,
                e.span,
                format!(
                    "`{name}` takes scalars known when the inputs are bound, but this has {rank} dimension{}",
                    plural(rank)
                ),
            ));
        }
        let mut stack = vec![id];
        while let Some(n) = stack.pop() {
            if matches!(self.g.node(n).kind, NodeKind::Reduce { .. }) {
                return Err(Error::at(
                    ErrorKind::Type,
                    e.span,
                    format!(
                        "`{name}` takes scalars known when the inputs are bound, not a reduction"
                    ),
                ));
            }
            stack.extend(self.g.args(n));
        }
        Ok((id, ty))
    }

    /// A strong binary op of the generator's arithmetic (operands of one dtype).
    pub(super) fn op2(&mut self, op: Op, a: NodeId, b: NodeId, span: Span) -> Result<NodeId> {
        let ta = Ty::strong(self.g.node(a).dtype);
        let tb = Ty::strong(self.g.node(b).dtype);
        Ok(self.apply(op, &[(a, ta), (b, tb)], span)?.0)
    }

    /// True when `id` is a constant expression equal to `v` (`+0.0` for 0, not `-0.0`).
    pub(super) fn is_const(&self, id: NodeId, v: f64) -> bool {
        scalar_value(&self.g, id, None).is_some_and(|s| s.as_f64().to_bits() == v.to_bits())
    }

    /// `arange([start,] stop[, step])`: element `i` is `start + i*step` for integers; for floats
    /// NumPy's `start + i*delta` with `delta = (start + step) - start` (its `fill` loop).
    pub(super) fn arange(
        &mut self,
        a: &[(NodeId, Ty)],
        exprs: &[Expr],
        span: Span,
    ) -> Result<(NodeId, Ty)> {
        let int = a.iter().all(|(_, t)| !t.dtype.is_float());
        let dtype = if int { DType::Int64 } else { DType::Float64 };
        let mut v = Vec::with_capacity(3);
        for &(id, ty) in a {
            v.push(self.cast(id, ty, dtype)?);
        }
        let zero = self.constant(Scalar::I64(0).cast(dtype), span);
        let one = self.constant(Scalar::I64(1).cast(dtype), span);
        let (start, stop, step) = match v[..] {
            [stop] => (zero, stop, one),
            [start, stop] => (start, stop, one),
            [start, stop, step] => (start, stop, step),
            _ => unreachable!("arity was checked"),
        };
        let zero_step = scalar_value(&self.g, step, None).is_some_and(|s| s.as_f64() == 0.0);
        if a.len() == 3 && zero_step {
            return Err(Error::at(
                ErrorKind::Value,
                exprs[2].span,
                "arange step cannot be zero",
            ));
        }
        let len = Extent::Range { start, stop, step };
        self.check_len(len, span)?;
        let iota = self.push(NodeKind::Iota { axis: 0, len }, dtype, 1, span);
        let value = if int {
            let scaled = if self.is_const(step, 1.0) {
                iota
            } else {
                self.op2(Op::Mul, iota, step, span)?
            };
            if self.is_const(start, 0.0) {
                scaled
            } else {
                self.op2(Op::Add, start, scaled, span)?
            }
        } else {
            let next = self.op2(Op::Add, start, step, span)?;
            let delta = self.op2(Op::Sub, next, start, span)?;
            let scaled = if self.is_const(delta, 1.0) {
                iota
            } else {
                self.op2(Op::Mul, iota, delta, span)?
            };
            // `+0.0 + x` is `x` unless x is -0.0, which `i*delta` is not when delta > 0.
            let positive = scalar_value(&self.g, delta, None).is_some_and(|d| d.as_f64() > 0.0);
            if positive && self.is_const(start, 0.0) {
                scaled
            } else {
                self.op2(Op::Add, start, scaled, span)?
            }
        };
        Ok((value, Ty::strong(dtype)))
    }

    /// `linspace(start, stop[, num])`: NumPy's `i*step + start` with `step = (stop - start) /
    /// (num - 1)`, and the last of `num > 1` elements exactly `stop` (a select, left out when the
    /// arguments are constants whose last element comes out as `stop` anyway).
    pub(super) fn linspace(
        &mut self,
        a: &[(NodeId, Ty)],
        exprs: &[Expr],
        span: Span,
    ) -> Result<(NodeId, Ty)> {
        let f64_ = DType::Float64;
        let start = self.cast(a[0].0, a[0].1, f64_)?;
        let stop = self.cast(a[1].0, a[1].1, f64_)?;
        let num = match a.get(2) {
            Some(&(_, ty)) if ty.dtype.is_float() => {
                return Err(Error::at(
                    ErrorKind::Type,
                    exprs[2].span,
                    format!(
                        "`linspace` takes an integer number of samples, not {}",
                        ty.dtype
                    ),
                ))
            }
            Some(&(id, ty)) => self.cast(id, ty, DType::Int64)?,
            None => self.constant(Scalar::I64(50), span),
        };
        if let Some(n) = scalar_value(&self.g, num, None).filter(|n| n.as_i64() < 0) {
            return Err(Error::at(
                ErrorKind::Value,
                exprs[2].span,
                format!("number of samples, {}, must be non-negative", n.as_i64()),
            ));
        }
        let len = Extent::Count(num);
        self.check_len(len, span)?;
        let iota = self.push(NodeKind::Iota { axis: 0, len }, f64_, 1, span);
        let n = self.cast(num, Ty::strong(DType::Int64), f64_)?;
        let one = self.constant(Scalar::F64(1.0), span);
        // With one sample NumPy multiplies by `stop - start` itself: divide by 1, not 0.
        let n1 = self.op2(Op::Sub, n, one, span)?;
        let div = self.op2(Op::Maximum, n1, one, span)?;
        let delta = self.op2(Op::Sub, stop, start, span)?;
        let step = self.op2(Op::Div, delta, div, span)?;
        let scaled = self.op2(Op::Mul, iota, step, span)?;
        // `x + 0.0` is `x` unless x is -0.0, which `i*step` is not when stop >= start = +0.0.
        let rising = scalar_value(&self.g, delta, None).is_some_and(|d| d.as_f64() >= 0.0);
        let value = if rising && self.is_const(start, 0.0) {
            scaled
        } else {
            self.op2(Op::Add, scaled, start, span)?
        };
        let constants = [num, n1, step, start, stop].map(|id| scalar_value(&self.g, id, None));
        let exact_end = match constants {
            [Some(num), Some(n1), Some(step), Some(start), Some(stop)] => {
                num.as_i64() <= 1 || n1.as_f64() * step.as_f64() + start.as_f64() == stop.as_f64()
            }
            _ => false,
        };
        if exact_end {
            return Ok((value, Ty::strong(f64_)));
        }
        // The last index, or -1 (no index) when there are fewer than two samples.
        let two = self.constant(Scalar::F64(2.0), span);
        let several = self.op2(Op::Ge, n, two, span)?;
        let none = self.constant(Scalar::F64(-1.0), span);
        let b = Ty::strong(DType::Bool);
        let f = Ty::strong(f64_);
        let last = self
            .apply(Op::Where, &[(several, b), (n1, f), (none, f)], span)?
            .0;
        let at_end = self.op2(Op::Eq, iota, last, span)?;
        let value = self
            .apply(Op::Where, &[(at_end, b), (stop, f), (value, f)], span)?
            .0;
        Ok((value, Ty::strong(f64_)))
    }

    /// Checks a generator length that is already known (constant arguments) now, not at bind.
    pub(super) fn check_len(&self, len: Extent, span: Span) -> Result<()> {
        let values: Option<Vec<Scalar>> = len
            .nodes()
            .into_iter()
            .map(|n| scalar_value(&self.g, n, None))
            .collect();
        match values {
            Some(v) => iota_len(len, &v)
                .map(|_| ())
                .map_err(|(kind, msg)| Error::at(kind, span, msg)),
            None => Ok(()),
        }
    }
}
