//! AST → typed IR: resolves names, applies NumPy 2 type promotion (with NEP 50 weak literals),
//! inserts casts, checks arity, axes and integer powers, and fixes the rank of every node.
//!
//! Shapes are not known here (they bind per evaluation in `shape.rs`); everything that depends only
//! on dtypes and ranks is checked now, so a compiled kernel fails early and with a span.

mod generators;
mod index;
pub(crate) mod kernel;
pub(crate) mod program;

use crate::core::dtype::{Complex64, DType, Scalar, Ty};
use crate::core::error::{Error, ErrorKind, Result, Span};
use crate::ir::{Graph, InputDecl, Node, NodeId, NodeKind};
use crate::ops::{self, Generator, Op, ReduceOp};
use crate::parse::ast::{BinOp, Expr, ExprKind, Kwarg, UnOp};

/// The most dimensions an array may have (NumPy's historical limit is 32; ours is 8).
pub(crate) const MAX_RANK: usize = 8;

/// Lowers a parsed expression against the declared inputs.
#[cfg(test)]
pub(crate) fn lower(expr: &Expr, inputs: &[InputDecl]) -> Result<Graph> {
    check_ranks(inputs)?;
    let mut l = Lowerer::new(inputs.to_vec());
    // A result made only of literals keeps its Python-scalar default dtype (int64, float64, bool).
    l.g.root = l.expr(expr)?.0;
    Ok(l.g)
}

/// The op of a binary operator: the parser's operators are lowered here, so the op table
/// (and the IR) need not know the syntax tree.
fn op_of_binop(b: BinOp) -> Op {
    match b {
        BinOp::Pow => Op::Pow,
        BinOp::Mul => Op::Mul,
        BinOp::Div => Op::Div,
        BinOp::FloorDiv => Op::FloorDiv,
        BinOp::Mod => Op::Mod,
        BinOp::Add => Op::Add,
        BinOp::Sub => Op::Sub,
        BinOp::Shl => Op::Shl,
        BinOp::Shr => Op::Shr,
        BinOp::BitAnd => Op::BitAnd,
        BinOp::BitXor => Op::BitXor,
        BinOp::BitOr => Op::BitOr,
        BinOp::Lt => Op::Lt,
        BinOp::Le => Op::Le,
        BinOp::Eq => Op::Eq,
        BinOp::Ne => Op::Ne,
        BinOp::Ge => Op::Ge,
        BinOp::Gt => Op::Gt,
    }
}

/// `None` for unary plus, which is the identity (but still rejects nothing: NumPy allows `+bool`).
fn op_of_unop(u: UnOp) -> Option<Op> {
    match u {
        UnOp::Neg => Some(Op::Neg),
        UnOp::Invert => Some(Op::Invert),
        UnOp::Pos => None,
    }
}

/// Every input must have at most [`MAX_RANK`] dimensions.
pub(crate) fn check_ranks(inputs: &[InputDecl]) -> Result<()> {
    match inputs.iter().find(|i| i.rank > MAX_RANK) {
        Some(bad) => Err(Error::new(
            ErrorKind::Limit,
            format!(
                "`{}` has {} dimensions; at most {MAX_RANK} are supported",
                bad.name, bad.rank
            ),
        )),
        None => Ok(()),
    }
}

/// Lowers expressions into one graph. Programs lower several statements into one graph per
/// fused group, with `locals` naming values computed earlier in the same graph.
pub(crate) struct Lowerer {
    pub g: Graph,
    /// Names bound to nodes of `g` (a program's intermediates); they shadow inputs and constants.
    pub locals: std::collections::HashMap<String, (NodeId, Ty)>,
    /// The program's kernels that calls here may reach.
    pub kernels: kernel::Scope,
}

/// Constants available by name, unless a variable of the same name shadows them.
/// The names [`constant`] knows.
#[cfg_attr(not(feature = "internals"), allow(dead_code))]
pub(crate) const CONSTANTS: [&str; 4] = ["pi", "e", "inf", "nan"];

fn constant(name: &str) -> Option<f64> {
    match name {
        "pi" => Some(std::f64::consts::PI),
        "e" => Some(std::f64::consts::E),
        "inf" => Some(f64::INFINITY),
        "nan" => Some(f64::NAN),
        _ => None,
    }
}

impl Lowerer {
    pub fn new(inputs: Vec<InputDecl>) -> Lowerer {
        Lowerer {
            g: Graph::new(inputs),
            locals: Default::default(),
            kernels: kernel::Scope::default(),
        }
    }

    fn push(&mut self, kind: NodeKind, dtype: DType, rank: usize, span: Span) -> NodeId {
        self.g.push(Node {
            kind,
            dtype,
            rank,
            span,
        })
    }

    fn rank(&self, id: NodeId) -> usize {
        self.g.node(id).rank
    }

    fn constant(&mut self, s: Scalar, span: Span) -> NodeId {
        self.push(NodeKind::Const(s), s.dtype(), 0, span)
    }

    pub fn expr(&mut self, e: &Expr) -> Result<(NodeId, Ty)> {
        match &e.kind {
            ExprKind::Int(v) => Ok((
                self.constant(Scalar::I64(*v), e.span),
                Ty::weak(DType::Int64),
            )),
            ExprKind::Float(v) => Ok((
                self.constant(Scalar::F64(*v), e.span),
                Ty::weak(DType::Float64),
            )),
            ExprKind::Imag(v) => Ok((
                self.constant(Scalar::C128(Complex64::new(0.0, *v)), e.span),
                Ty::weak(DType::Complex128),
            )),
            ExprKind::Bool(b) => Ok((
                self.constant(Scalar::Bool(*b), e.span),
                Ty::weak(DType::Bool),
            )),
            ExprKind::Str(bytes) => Ok(self.literal(bytes, e.span)),
            ExprKind::Name(name) => self.name(name, e.span),
            ExprKind::Unary { op, arg } => self.unary(*op, arg, e.span),
            ExprKind::Binary { op, lhs, rhs, .. } => {
                let l = self.expr(lhs)?;
                let r = self.expr(rhs)?;
                let op = op_of_binop(*op);
                if op == Op::Pow {
                    self.check_int_power(l.1, rhs, e.span)?;
                }
                self.apply(op, &[l, r], e.span)
            }
            ExprKind::Call {
                func,
                func_span,
                args,
                kwargs,
            } => self.call(func, *func_span, args, kwargs, e.span),
            ExprKind::Index { base, items } => self.index(base, items, e.span),
        }
    }

    /// A string literal: a 0-d input of its bytes (one per distinct literal), bound when the
    /// inputs are (`exec::program::graph_inputs`). A kernel has no inputs of its own, so a
    /// literal there is a type error.
    fn literal(&mut self, bytes: &[u8], span: Span) -> (NodeId, Ty) {
        let i = match self
            .g
            .inputs
            .iter()
            .position(|d| d.literal.as_deref() == Some(bytes))
        {
            Some(i) => i,
            None => {
                self.g.inputs.push(InputDecl {
                    name: format!("b{:?}", String::from_utf8_lossy(bytes)),
                    dtype: DType::Bytes(bytes.len() as u32),
                    rank: 0,
                    view: None,
                    literal: Some(bytes.into()),
                });
                self.g.inputs.len() - 1
            }
        };
        let dtype = self.g.inputs[i].dtype;
        (
            self.push(NodeKind::Input(i), dtype, 0, span),
            Ty::strong(dtype),
        )
    }

    fn name(&mut self, name: &str, span: Span) -> Result<(NodeId, Ty)> {
        if let Some(&local) = self.locals.get(name) {
            return Ok(local);
        }
        if let Some(i) = self.g.inputs.iter().position(|d| d.name == name) {
            let d = &self.g.inputs[i];
            let (dtype, rank) = (d.dtype, d.rank);
            return Ok((
                self.push(NodeKind::Input(i), dtype, rank, span),
                Ty::strong(dtype),
            ));
        }
        if name == crate::parse::ast::NONE {
            return Err(Error::at(
                ErrorKind::Syntax,
                span,
                "`None` is a reserved keyword; it stands only for all axes, in `axis=None` of a reduction",
            ));
        }
        if let Some(v) = constant(name) {
            return Ok((
                self.constant(Scalar::F64(v), span),
                Ty::weak(DType::Float64),
            ));
        }
        let hint = if Op::function(name).is_some()
            || ReduceOp::from_name(name).is_some()
            || self.kernels.find(name).is_some()
        {
            format!("; `{name}` is a function: call it as `{name}(...)`")
        } else if let Some(k) = self.kernels.inside() {
            format!("; kernel `{k}` sees only its parameters and the names it assigns")
        } else {
            String::new()
        };
        Err(Error::at(
            ErrorKind::UnknownName,
            span,
            format!("unknown name `{name}`{hint}"),
        ))
    }

    fn unary(&mut self, op: UnOp, arg: &Expr, span: Span) -> Result<(NodeId, Ty)> {
        let a = self.expr(arg)?;
        match op_of_unop(op) {
            Some(op) => self.apply(op, &[a], span),
            // Unary plus is the identity on numbers; NumPy rejects it on bool.
            None if a.1.dtype == DType::Bool => Err(Error::at(
                ErrorKind::Type,
                span,
                "operator `+` is not defined for bool",
            )),
            None => Ok(a),
        }
    }

    /// `int ** negative literal` has no integer result: reject it now rather than return 0s.
    fn check_int_power(&self, base: Ty, exponent: &Expr, span: Span) -> Result<()> {
        let negative_literal = match &exponent.kind {
            ExprKind::Unary { op: UnOp::Neg, arg } => matches!(arg.kind, ExprKind::Int(v) if v > 0),
            ExprKind::Int(v) => *v < 0,
            _ => false,
        };
        if negative_literal && !base.dtype.is_float() && !base.dtype.is_complex() {
            return Err(Error::at(
                ErrorKind::NegativePower,
                span,
                "integers to negative integer powers are not allowed; write a float exponent, e.g. `x ** -1.0`",
            ));
        }
        Ok(())
    }

    /// Applies an elementwise op: types it, casts the arguments, and fixes the rank.
    fn apply(&mut self, op: Op, args: &[(NodeId, Ty)], span: Span) -> Result<(NodeId, Ty)> {
        let tys: Vec<Ty> = args.iter().map(|a| a.1).collect();
        if tys.iter().any(|t| t.dtype.is_bytes()) || op == Op::Contains {
            // Strings are compared or searched as they are: no casts, lengths may differ.
            let typing =
                ops::type_bytes(op, &tys).map_err(|msg| Error::at(ErrorKind::Type, span, msg))?;
            let ids: Vec<NodeId> = args.iter().map(|a| a.0).collect();
            let rank = ids.iter().map(|&a| self.rank(a)).max().unwrap_or(0);
            let id = self.push(NodeKind::Apply(op, ids), DType::Bool, rank, span);
            return Ok((id, typing.result));
        }
        let typing = ops::type_op(op, &tys).map_err(|msg| Error::at(ErrorKind::Type, span, msg))?;
        let mut cast_args = Vec::with_capacity(args.len());
        for (i, &(id, ty)) in args.iter().enumerate() {
            let to = if op == Op::Where && i == 0 {
                DType::Bool
            } else {
                typing.operand
            };
            cast_args.push(self.cast(id, ty, to)?);
        }
        let rank = cast_args.iter().map(|a| self.rank(*a)).max().unwrap_or(0);
        let id = self.push(
            NodeKind::Apply(op, cast_args),
            typing.result.dtype,
            rank,
            span,
        );
        Ok((id, typing.result))
    }

    /// Converts `id` to dtype `to`. A weak integer literal must fit the integer dtype it joins.
    pub fn cast(&mut self, id: NodeId, ty: Ty, to: DType) -> Result<NodeId> {
        let node = self.g.node(id).clone();
        if node.dtype == to {
            return Ok(id);
        }
        if node.dtype.is_bytes() || to.is_bytes() {
            return Err(Error::at(
                ErrorKind::Type,
                node.span,
                format!(
                    "cannot use {} as {to}: byte strings are only compared with each other \
                     (== != < <= > >=) or searched (`contains`)",
                    node.dtype
                ),
            ));
        }
        if let NodeKind::Const(s) = node.kind {
            if ty.weak && to.is_int() && matches!(s, Scalar::I64(_)) {
                let v = s.as_i64();
                let fits = to != DType::Int32 || i32::try_from(v).is_ok();
                if !fits {
                    return Err(Error::at(
                        ErrorKind::Type,
                        node.span,
                        format!("python integer {v} out of bounds for {to}"),
                    ));
                }
            }
        }
        if to == DType::Bool && node.dtype != DType::Bool {
            // Truthiness, as NumPy's `astype(bool)`: x != 0 (NaN is true).
            let zero = self.constant(Scalar::I64(0).cast(node.dtype), node.span);
            return Ok(self.push(
                NodeKind::Apply(Op::Ne, vec![id, zero]),
                DType::Bool,
                node.rank,
                node.span,
            ));
        }
        Ok(self.push(NodeKind::Cast(id), to, node.rank, node.span))
    }

    fn call(
        &mut self,
        func: &str,
        func_span: Span,
        args: &[Expr],
        kwargs: &[Kwarg],
        span: Span,
    ) -> Result<(NodeId, Ty)> {
        if let Some(k) = self.kernels.inside() {
            if ReduceOp::from_name(func).is_some() || Generator::from_name(func).is_some() {
                return Err(Error::at(
                    ErrorKind::Type,
                    func_span,
                    format!("`{func}` makes or reduces arrays: kernel `{k}` computes one element at a time, so call `{func}` outside it"),
                ));
            }
        }
        if let Some(rop) = ReduceOp::from_name(func) {
            return self.reduce(rop, args, kwargs, span);
        }
        if let Some(generator) = Generator::from_name(func) {
            return self.generator(generator, args, kwargs, span);
        }
        if let Some(index) = self.kernels.find(func) {
            return self.call_kernel(index, func_span, args, kwargs, span);
        }
        let Some(def) = Op::function(func) else {
            return Err(Error::at(
                ErrorKind::UnknownFunction,
                func_span,
                unknown_function_message(func),
            ));
        };
        if let Some(kw) = kwargs.first() {
            return Err(Error::at(
                ErrorKind::Arity,
                kw.name_span,
                format!("`{func}` takes no keyword arguments, got `{}`", kw.name),
            ));
        }
        if args.len() != def.arity {
            return Err(Error::at(
                ErrorKind::Arity,
                span,
                format!(
                    "`{func}` takes {} argument{}, got {}",
                    def.arity,
                    plural(def.arity),
                    args.len()
                ),
            ));
        }
        let lowered = args
            .iter()
            .map(|a| self.expr(a))
            .collect::<Result<Vec<_>>>()?;
        if matches!(def.op, Op::Copy | Op::Conj | Op::Real) && !lowered[0].1.dtype.is_complex() {
            // The identity on real dtypes; every result is a new array anyway.
            return Ok(lowered[0]);
        }
        self.apply(def.op, &lowered, span)
    }

    fn reduce(
        &mut self,
        op: ReduceOp,
        args: &[Expr],
        kwargs: &[Kwarg],
        span: Span,
    ) -> Result<(NodeId, Ty)> {
        let name = op.name();
        let mut axis_expr: Option<&Expr> = None;
        for kw in kwargs {
            if kw.name != "axis" || axis_expr.is_some() {
                return Err(Error::at(
                    ErrorKind::Arity,
                    kw.name_span,
                    format!(
                        "`{name}` takes one keyword argument, `axis`; got `{}`",
                        kw.name
                    ),
                ));
            }
            axis_expr = Some(&kw.value);
        }
        match (args.len(), axis_expr) {
            (1, _) => {}
            (2, None) => axis_expr = Some(&args[1]),
            _ => {
                return Err(Error::at(
                    ErrorKind::Arity,
                    span,
                    format!(
                        "`{name}` takes an array and an optional `axis`, got {} arguments",
                        args.len() + kwargs.len()
                    ),
                ))
            }
        }
        // `axis=None`: all axes, as without `axis`.
        if axis_expr
            .is_some_and(|e| matches!(&e.kind, ExprKind::Name(n) if n == crate::parse::ast::NONE))
        {
            axis_expr = None;
        }
        let (arg, ty) = self.expr(&args[0])?;
        let rank = self.rank(arg);
        let axis = axis_expr.map(|e| normalize_axis(e, rank)).transpose()?;
        let input = ty.dtype;
        if input.is_bytes() {
            return Err(Error::at(
                ErrorKind::Type,
                span,
                format!("`{name}` of {input} is not defined: byte strings are only compared (== != < <= > >=) or searched (`contains`)"),
            ));
        }
        if input.is_complex() {
            return self.reduce_complex(op, (arg, ty), axis, span);
        }
        let arg = self.cast(
            arg,
            ty,
            if matches!(op, ReduceOp::Any | ReduceOp::All) {
                DType::Bool
            } else {
                input
            },
        )?;
        let result = op.result_dtype(input);
        let out_rank = if axis.is_some() { rank - 1 } else { 0 };
        let id = self.push(NodeKind::Reduce { op, arg, axis }, result, out_rank, span);
        Ok((
            id,
            Ty {
                dtype: result,
                weak: ty.weak,
            },
        ))
    }
}

/// Reads an `axis=` value (an integer literal, possibly negative) and checks it against `rank`.
impl Lowerer {
    /// A reduction of complex numbers. NumPy 2 has no order on them (`min`, `max` are type
    /// errors); a sum is the sums of the parts, each summed pairwise as a real array (so in
    /// the same order as NumPy's real sums), and a mean the means of the parts. A product mixes
    /// the parts: it folds complex values.
    fn reduce_complex(
        &mut self,
        op: ReduceOp,
        arg: (NodeId, Ty),
        axis: Option<usize>,
        span: Span,
    ) -> Result<(NodeId, Ty)> {
        let dtype = arg.1.dtype;
        match op {
            ReduceOp::Sum | ReduceOp::Mean => {
                let mut parts = Vec::with_capacity(2);
                for part in [Op::Real, Op::Imag] {
                    let (p, pty) = self.apply(part, &[arg], span)?;
                    let result = op.result_dtype(pty.dtype);
                    let rank = if axis.is_some() { self.rank(p) - 1 } else { 0 };
                    let id = self.push(NodeKind::Reduce { op, arg: p, axis }, result, rank, span);
                    parts.push((
                        id,
                        Ty {
                            dtype: result,
                            weak: arg.1.weak,
                        },
                    ));
                }
                self.apply(Op::Complex, &parts, span)
            }
            ReduceOp::Any | ReduceOp::All => {
                let b = self.cast(arg.0, arg.1, DType::Bool)?;
                let rank = if axis.is_some() { self.rank(b) - 1 } else { 0 };
                let id = self.push(
                    NodeKind::Reduce { op, arg: b, axis },
                    DType::Bool,
                    rank,
                    span,
                );
                Ok((
                    id,
                    Ty {
                        dtype: DType::Bool,
                        weak: arg.1.weak,
                    },
                ))
            }
            ReduceOp::Prod => {
                // A product mixes the parts, so it accumulates complex128 values (like
                // numexpr's `prod` and NumPy's `multiply.reduce`, one complex multiply each).
                let rank = if axis.is_some() {
                    self.rank(arg.0) - 1
                } else {
                    0
                };
                let result = op.result_dtype(dtype);
                let id = self.push(
                    NodeKind::Reduce {
                        op,
                        arg: arg.0,
                        axis,
                    },
                    result,
                    rank,
                    span,
                );
                Ok((
                    id,
                    Ty {
                        dtype: result,
                        weak: arg.1.weak,
                    },
                ))
            }
            ReduceOp::Min | ReduceOp::Max => Err(Error::at(
                ErrorKind::Type,
                span,
                format!(
                    "`{}` is not defined for {dtype}: complex numbers have no order",
                    op.name()
                ),
            )),
        }
    }
}

fn normalize_axis(e: &Expr, rank: usize) -> Result<usize> {
    let value = match &e.kind {
        ExprKind::Int(v) => Some(*v),
        ExprKind::Unary { op: UnOp::Neg, arg } => match arg.kind {
            ExprKind::Int(v) => Some(-v),
            _ => None,
        },
        _ => None,
    };
    let Some(v) = value else {
        return Err(Error::at(
            ErrorKind::Type,
            e.span,
            "`axis` must be an integer literal",
        ));
    };
    let r = rank as i64;
    if v >= r || v < -r {
        return Err(Error::at(
            ErrorKind::Axis,
            e.span,
            format!("axis {v} is out of bounds for an array of dimension {rank}"),
        ));
    }
    Ok(if v < 0 { (v + r) as usize } else { v as usize })
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// "unknown function" with the closest known name, when one is close enough to be a typo.
fn unknown_function_message(name: &str) -> String {
    // Names whose lengths differ by more than 2 are more than 2 edits apart: skipping them keeps
    // a 1 MB name from costing a distance (and an allocation per character) per function.
    let len = name.chars().count();
    let best = ops::all_function_names()
        .filter(|c| c.chars().count().abs_diff(len) <= 2)
        .min_by_key(|c| edit_distance(name, c));
    match best {
        Some(c) if edit_distance(name, c) <= 2 => {
            format!("unknown function `{name}`; did you mean `{c}`?")
        }
        _ => format!("unknown function `{name}`"),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_expr;

    fn decl(name: &str, dtype: DType, rank: usize) -> InputDecl {
        InputDecl {
            name: name.into(),
            dtype,
            rank,
            view: None,
            literal: None,
        }
    }

    fn lower_src(src: &str, inputs: &[InputDecl]) -> Result<Graph> {
        lower(&parse_expr(src)?, inputs)
    }

    #[test]
    fn axis_none_is_all_axes_and_none_is_an_error_elsewhere() {
        let inputs = [decl("a", DType::Float64, 2)];
        let g = lower_src("sum(a, axis=None) + max(a, None)", &inputs).unwrap();
        assert!(g
            .nodes
            .iter()
            .all(|n| !matches!(n.kind, NodeKind::Reduce { axis: Some(_), .. })));
        assert_eq!(g.node(g.root).rank, 0);
        let e = lower_src("a + None", &inputs).unwrap_err();
        assert_eq!(
            (e.kind(), e.span()),
            (ErrorKind::Syntax, Some(Span::new(4, 8)))
        );
    }

    #[test]
    fn strings_compare_and_search_but_nothing_else() {
        let inputs = [decl("s", DType::Bytes(3), 1), decl("x", DType::Int32, 1)];
        let g = lower_src("(s < b'ab') & contains(s, 'b')", &inputs).unwrap();
        assert_eq!(g.node(g.root).dtype, DType::Bool);
        // One input per distinct literal, of its own length.
        let literals: Vec<_> = g.inputs.iter().filter_map(|d| d.literal.clone()).collect();
        assert_eq!(literals.len(), 2);
        assert_eq!(g.inputs[2].dtype, DType::Bytes(2));
        for (src, span) in [
            ("s + s", (0, 5)),
            ("s < x", (0, 5)),
            ("contains(x, s)", (0, 14)),
            ("sum(s)", (0, 6)),
            ("where(s, x, x)", (0, 14)),
        ] {
            let e = lower_src(src, &inputs).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Type, "{src}: {e}");
            assert_eq!(e.span(), Some(Span::new(span.0, span.1)), "{src}");
        }
    }

    #[test]
    fn weak_literals_keep_array_dtype() {
        let g = lower_src("a * 2.5 + 1", &[decl("a", DType::Float32, 1)]).unwrap();
        assert_eq!(g.node(g.root).dtype, DType::Float32);
        let g = lower_src("a + 2.5", &[decl("a", DType::Int32, 1)]).unwrap();
        assert_eq!(g.node(g.root).dtype, DType::Float64);
    }

    #[test]
    fn errors_carry_kind_and_span() {
        let a = [decl("a", DType::Int32, 2)];
        let err = |src: &str| lower_src(src, &a).unwrap_err();
        assert_eq!(err("a + 3000000000").kind(), ErrorKind::Type);
        assert_eq!(err("a + 3000000000").span(), Some(Span::new(4, 14)));
        assert_eq!(err("sum(a, axis=2)").kind(), ErrorKind::Axis);
        assert_eq!(err("sum(a, axis=2)").span(), Some(Span::new(12, 13)));
        assert_eq!(err("a ** -1").kind(), ErrorKind::NegativePower);
        assert_eq!(
            err("sinn(a)").message(),
            "unknown function `sinn`; did you mean `sin`?"
        );
        assert_eq!(err("sin(a, a)").kind(), ErrorKind::Arity);
        assert_eq!(err("sum(a, axes=0)").span(), Some(Span::new(7, 11)));
        assert_eq!(err("a << 1.5").kind(), ErrorKind::Type);
        assert!(err("sin + 1").message().contains("is a function"));
    }

    #[test]
    fn generators_have_numpy_dtypes() {
        let n = [decl("n", DType::Int32, 0), decl("x", DType::Float32, 0)];
        let dtype = |src: &str| {
            let g = lower_src(src, &n).unwrap();
            (g.node(g.root).dtype, g.node(g.root).rank)
        };
        assert_eq!(dtype("arange(5)"), (DType::Int64, 1));
        assert_eq!(dtype("arange(n, 2*n, True)"), (DType::Int64, 1));
        assert_eq!(dtype("arange(0.5, n)"), (DType::Float64, 1));
        assert_eq!(dtype("arange(x)"), (DType::Float64, 1));
        assert_eq!(dtype("linspace(0, 1, n)"), (DType::Float64, 1));
        assert_eq!(dtype("linspace(x, 1)"), (DType::Float64, 1));
        // A generator is a strong array: a float32 variable meets float64.
        let g = lower_src("arange(3) * x", &n).unwrap();
        assert_eq!(g.node(g.root).dtype, DType::Float64);
    }

    #[test]
    fn generator_errors_point_at_the_argument() {
        let vars = [decl("a", DType::Float64, 1), decl("n", DType::Int64, 0)];
        let err = |src: &str| {
            let e = lower_src(src, &vars).unwrap_err();
            (e.kind(), e.span().map(|s| (s.start, s.end)))
        };
        assert_eq!(err("arange(0, 5, 0)"), (ErrorKind::Value, Some((13, 14))));
        assert_eq!(
            err("linspace(0, 1, -3)"),
            (ErrorKind::Value, Some((15, 17)))
        );
        assert_eq!(
            err("linspace(0, 1, 2.5)"),
            (ErrorKind::Type, Some((15, 18)))
        );
        assert_eq!(err("1 + arange(a)"), (ErrorKind::Type, Some((11, 12))));
        assert_eq!(err("arange(sum(a))"), (ErrorKind::Type, Some((7, 13))));
        assert_eq!(err("arange()"), (ErrorKind::Arity, Some((0, 8))));
        assert_eq!(
            err("linspace(0, 1, 2, 3)"),
            (ErrorKind::Arity, Some((0, 20)))
        );
        assert_eq!(
            err("linspace(0, 1, num=3)"),
            (ErrorKind::Arity, Some((15, 18)))
        );
        assert_eq!(err("arange(0, inf)"), (ErrorKind::Limit, Some((0, 14))));
        assert_eq!(err("arange(nan)"), (ErrorKind::Value, Some((0, 11))));
        assert_eq!(
            lower_src("linspce(0, 1)", &vars).unwrap_err().message(),
            "unknown function `linspce`; did you mean `linspace`?"
        );
    }

    #[test]
    fn linspace_pins_its_end_only_when_needed() {
        let n = [decl("n", DType::Int64, 0)];
        let selects = |src: &str| {
            let g = crate::opt::optimize(&lower_src(src, &n).unwrap());
            g.nodes
                .iter()
                .filter(|x| matches!(x.kind, NodeKind::Apply(Op::Where, _)) && x.rank == 1)
                .count()
        };
        assert_eq!(selects("linspace(0, 1, 5)"), 0); // 4 * 0.25 + 0 == 1 exactly
        assert_eq!(selects("linspace(0, 3, 48)"), 1); // 47 * (3/47) == 2.9999999999999996
        assert_eq!(selects("linspace(0, 3, n)"), 1);
        assert_eq!(selects("linspace(0, 3, 1)"), 0);
    }

    #[test]
    fn new_axes_are_pushed_to_the_leaves() {
        let vars = [decl("a", DType::Float64, 1), decl("m", DType::Float64, 2)];
        let g = crate::opt::optimize(
            &lower_src("(a + m)[:, None, :] * linspace(0, 1, 4)", &vars).unwrap(),
        );
        assert_eq!(g.node(g.root).rank, 3);
        // Variables became views, the rank-1 `a` first aligned as `[None, :]`.
        let views: Vec<&str> = g.inputs.iter().skip(2).map(|d| d.name.as_str()).collect();
        assert_eq!(views, ["a[None, None, :]", "m[:, None, :]"], "{g}");
        let g = crate::opt::optimize(&lower_src("linspace(0, 1, 4)[:, None]", &vars).unwrap());
        assert!(
            g.nodes
                .iter()
                .any(|n| matches!(n.kind, NodeKind::Iota { axis: 0, .. }) && n.rank == 2),
            "{g}"
        );
        let g = crate::opt::optimize(&lower_src("arange(4)[None, :, None]", &vars).unwrap());
        assert!(
            g.nodes
                .iter()
                .any(|n| matches!(n.kind, NodeKind::Iota { axis: 1, .. }) && n.rank == 3),
            "{g}"
        );
    }

    #[test]
    fn new_axes_stop_at_reductions() {
        let vars = [decl("m", DType::Float64, 2)];
        let e = lower_src("(m - mean(m, axis=0))[None]", &vars).unwrap_err();
        assert_eq!(
            (e.kind(), e.span()),
            (ErrorKind::Type, Some(Span::new(5, 20)))
        );
        assert_eq!(e.message(), "cannot add axes to a reduction result yet");
        // A 0-d reduction broadcasts as it is.
        let g = lower_src("(m - mean(m))[None]", &vars).unwrap();
        assert_eq!(g.node(g.root).rank, 3);
        let e = lower_src(
            "(m[0] + 1)[None, None, None, None, None, None, None, None]",
            &vars,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Limit);
    }

    #[test]
    fn reductions_drop_rank() {
        let g = lower_src("a - mean(a, axis=-1)", &[decl("a", DType::Float64, 3)]).unwrap();
        let reduce = g.reductions()[0];
        assert_eq!(g.node(reduce).rank, 2);
        assert!(matches!(
            g.node(reduce).kind,
            NodeKind::Reduce { axis: Some(2), .. }
        ));
    }
}
