//! The one op table: every operator and function numjit knows, defined once.
//!
//! For each elementwise op the table gives its source name, its arity and its type rule. The
//! scalar semantics (used by the interpreter, constant folding and — through `extern "C"`
//! helpers — by the JIT for ops it does not emit inline) live in [`scalar`]. Parser lookup,
//! type checking, codegen and the interpreter all read from here.

pub(crate) mod complex;
pub(crate) mod scalar;

use crate::core::dtype::{DType, Ty};
use crate::vmath::{CUnary, VBinary, VUnary};

/// Defines [`Op`] and [`Op::ALL`] from one list, so that a test can walk every variant (not
/// only the table's rows) and none can be left out of it.
macro_rules! define_ops {
    ($($(#[$doc:meta])* $v:ident),* $(,)?) => {
        /// An elementwise operation of the IR.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Op {
            $($(#[$doc])* $v),*
        }

        impl Op {
            /// Every variant, in declaration order.
            #[cfg_attr(not(test), allow(dead_code))]
            pub(crate) const ALL: &'static [Op] = &[$(Op::$v),*];
        }

        scalar::helper_table! { $($v),* }
    };
}

define_ops! {
    // --- operators
    Neg, Invert, Add, Sub, Mul, Div, FloorDiv, Mod, Pow, Shl, Shr, BitAnd, BitOr, BitXor,
    Lt, Le, Eq, Ne, Ge, Gt,
    // --- functions
    Where, Sqrt, Sin, Cos, Tan, Arcsin, Arccos, Arctan, Arctan2, Sinh, Cosh, Tanh, Arcsinh,
    Arccosh, Arctanh, Exp, Expm1, Log, Log10, Log2, Log1p, Abs, Ceil, Floor, Round, Trunc, Sign,
    Fmod, Hypot, Copysign, Nextafter, Maximum, Minimum, IsNan, IsFinite, IsInf, SignBit, Radians,
    Degrees, Copy, Conj, Real, Imag, OnesLike, Complex, Contains,
}

/// How an op's operand and result dtypes follow from its argument types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// Promote; on bool `+` is or, `*` and, maximum/minimum or/and (NumPy).
    Arith,
    /// Promote; bool is a type error (`-` and `sign` on bool are undefined in NumPy).
    Signed,
    /// Promote, then compute in float (`/`).
    TrueDiv,
    /// Promote; bool with bool computes in int64 (NumPy: int8) — `//`, `%`, `**`, `fmod`.
    IntArith,
    /// Bool or integer only: logical on bool, bitwise on ints.
    Bitwise,
    /// Integers only (bool with bool computes in int64).
    Shift,
    /// Promote, compare, give bool.
    Compare,
    /// Compute in the float dtype of the promoted arguments (`sin`, `arctan2`).
    Float,
    /// Keep the dtype (`abs`, `ceil`, `round`): identity on integers where it applies.
    Keep,
    /// Test a float property, give bool (`isnan`): constant on integers.
    Predicate,
    /// `where(cond, x, y)`: cond to bool, x and y promoted.
    Select,
    /// `complex(re, im)`: real arguments promoted to a float dtype, a complex result.
    MakeComplex,
    /// Two byte strings (of any lengths) in, bool out: `contains`. (The comparisons also take
    /// two strings; lowering types every op with a string operand, see `type_bytes`.)
    Strings,
}

/// One row of the op table.
pub(crate) struct OpDef {
    pub op: Op,
    /// The source spelling: a function name, or an operator symbol.
    pub name: &'static str,
    pub arity: usize,
    pub rule: Rule,
    /// True when callable as `name(...)`; operators are reached through syntax.
    pub is_function: bool,
    /// The precompiled vector kernel float operands of this op are block-staged to (`vmath`),
    /// if it has one: codegen emits anything else inline or as a scalar helper call.
    pub vector: Option<Vector>,
    /// The block function complex operands of this op are staged to (`vmath::complex`), if it
    /// has one; other complex functions call the scalar helper per element.
    pub complex: Option<CUnary>,
}

/// A vector-math kernel of `vmath`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Vector {
    Unary(VUnary),
    Binary(VBinary),
}

impl OpDef {
    /// This row, with float operands staged to the vector kernel `v`.
    const fn staged(self, v: Vector) -> OpDef {
        OpDef {
            vector: Some(v),
            ..self
        }
    }

    /// This row, with complex operands staged to the block function `c`.
    const fn complex_staged(self, c: CUnary) -> OpDef {
        OpDef {
            complex: Some(c),
            ..self
        }
    }
}

const fn op(op: Op, name: &'static str, arity: usize, rule: Rule) -> OpDef {
    OpDef {
        op,
        name,
        arity,
        rule,
        is_function: false,
        vector: None,
        complex: None,
    }
}

const fn func(op: Op, name: &'static str, arity: usize, rule: Rule) -> OpDef {
    OpDef {
        op,
        name,
        arity,
        rule,
        is_function: true,
        vector: None,
        complex: None,
    }
}

/// The table. Order is the order `:help` and the README list functions in.
pub(crate) static OPS: &[OpDef] = &[
    op(Op::Neg, "-", 1, Rule::Signed),
    op(Op::Invert, "~", 1, Rule::Bitwise),
    op(Op::Add, "+", 2, Rule::Arith),
    op(Op::Sub, "-", 2, Rule::Signed),
    op(Op::Mul, "*", 2, Rule::Arith),
    op(Op::Div, "/", 2, Rule::TrueDiv),
    op(Op::FloorDiv, "//", 2, Rule::IntArith),
    op(Op::Mod, "%", 2, Rule::IntArith),
    op(Op::Pow, "**", 2, Rule::IntArith).staged(Vector::Binary(VBinary::Pow)),
    op(Op::Shl, "<<", 2, Rule::Shift),
    op(Op::Shr, ">>", 2, Rule::Shift),
    op(Op::BitAnd, "&", 2, Rule::Bitwise),
    op(Op::BitOr, "|", 2, Rule::Bitwise),
    op(Op::BitXor, "^", 2, Rule::Bitwise),
    op(Op::Lt, "<", 2, Rule::Compare),
    op(Op::Le, "<=", 2, Rule::Compare),
    op(Op::Eq, "==", 2, Rule::Compare),
    op(Op::Ne, "!=", 2, Rule::Compare),
    op(Op::Ge, ">=", 2, Rule::Compare),
    op(Op::Gt, ">", 2, Rule::Compare),
    func(Op::Where, "where", 3, Rule::Select),
    func(Op::Sqrt, "sqrt", 1, Rule::Float).complex_staged(CUnary::Sqrt),
    func(Op::Sin, "sin", 1, Rule::Float)
        .staged(Vector::Unary(VUnary::Sin))
        .complex_staged(CUnary::Sin),
    func(Op::Cos, "cos", 1, Rule::Float)
        .staged(Vector::Unary(VUnary::Cos))
        .complex_staged(CUnary::Cos),
    func(Op::Tan, "tan", 1, Rule::Float)
        .staged(Vector::Unary(VUnary::Tan))
        .complex_staged(CUnary::Tan),
    func(Op::Arcsin, "arcsin", 1, Rule::Float).staged(Vector::Unary(VUnary::Arcsin)),
    func(Op::Arccos, "arccos", 1, Rule::Float).staged(Vector::Unary(VUnary::Arccos)),
    func(Op::Arctan, "arctan", 1, Rule::Float).staged(Vector::Unary(VUnary::Arctan)),
    func(Op::Arctan2, "arctan2", 2, Rule::Float).staged(Vector::Binary(VBinary::Arctan2)),
    func(Op::Sinh, "sinh", 1, Rule::Float)
        .staged(Vector::Unary(VUnary::Sinh))
        .complex_staged(CUnary::Sinh),
    func(Op::Cosh, "cosh", 1, Rule::Float)
        .staged(Vector::Unary(VUnary::Cosh))
        .complex_staged(CUnary::Cosh),
    func(Op::Tanh, "tanh", 1, Rule::Float)
        .staged(Vector::Unary(VUnary::Tanh))
        .complex_staged(CUnary::Tanh),
    func(Op::Arcsinh, "arcsinh", 1, Rule::Float).staged(Vector::Unary(VUnary::Arcsinh)),
    func(Op::Arccosh, "arccosh", 1, Rule::Float).staged(Vector::Unary(VUnary::Arccosh)),
    func(Op::Arctanh, "arctanh", 1, Rule::Float).staged(Vector::Unary(VUnary::Arctanh)),
    func(Op::Exp, "exp", 1, Rule::Float)
        .staged(Vector::Unary(VUnary::Exp))
        .complex_staged(CUnary::Exp),
    func(Op::Expm1, "expm1", 1, Rule::Float).staged(Vector::Unary(VUnary::Expm1)),
    func(Op::Log, "log", 1, Rule::Float)
        .staged(Vector::Unary(VUnary::Log))
        .complex_staged(CUnary::Log),
    func(Op::Log10, "log10", 1, Rule::Float)
        .staged(Vector::Unary(VUnary::Log10))
        .complex_staged(CUnary::Log10),
    func(Op::Log2, "log2", 1, Rule::Float)
        .staged(Vector::Unary(VUnary::Log2))
        .complex_staged(CUnary::Log2),
    func(Op::Log1p, "log1p", 1, Rule::Float).staged(Vector::Unary(VUnary::Log1p)),
    func(Op::Abs, "abs", 1, Rule::Keep),
    func(Op::Ceil, "ceil", 1, Rule::Keep),
    func(Op::Floor, "floor", 1, Rule::Keep),
    func(Op::Round, "round", 1, Rule::Keep),
    func(Op::Trunc, "trunc", 1, Rule::Keep),
    func(Op::Sign, "sign", 1, Rule::Signed),
    func(Op::Fmod, "fmod", 2, Rule::IntArith),
    func(Op::Hypot, "hypot", 2, Rule::Float).staged(Vector::Binary(VBinary::Hypot)),
    func(Op::Copysign, "copysign", 2, Rule::Float),
    func(Op::Nextafter, "nextafter", 2, Rule::Float),
    func(Op::Maximum, "maximum", 2, Rule::Arith),
    func(Op::Minimum, "minimum", 2, Rule::Arith),
    func(Op::IsNan, "isnan", 1, Rule::Predicate),
    func(Op::IsFinite, "isfinite", 1, Rule::Predicate),
    func(Op::IsInf, "isinf", 1, Rule::Predicate),
    func(Op::SignBit, "signbit", 1, Rule::Predicate),
    func(Op::Radians, "radians", 1, Rule::Float),
    func(Op::Degrees, "degrees", 1, Rule::Float),
    // numexpr's functions for complex numbers. On real arrays `copy`, `conj` and `real` are
    // the identity (lowering drops them) and `imag` is zeros; on complex arrays `real`, `imag`
    // (and `abs`) give the parts' float dtype.
    func(Op::Copy, "copy", 1, Rule::Keep),
    func(Op::Conj, "conj", 1, Rule::Keep),
    func(Op::Real, "real", 1, Rule::Keep),
    func(Op::Imag, "imag", 1, Rule::Keep),
    func(Op::OnesLike, "ones_like", 1, Rule::Keep),
    func(Op::Complex, "complex", 2, Rule::MakeComplex),
    // numexpr's one function on strings.
    func(Op::Contains, "contains", 2, Rule::Strings),
];

impl Op {
    pub(crate) fn def(self) -> &'static OpDef {
        OPS.iter()
            .find(|d| d.op == self)
            .expect("every Op has a row in OPS")
    }

    /// The function named `name`, if there is one.
    pub(crate) fn function(name: &str) -> Option<&'static OpDef> {
        OPS.iter().find(|d| d.is_function && d.name == name)
    }
}

/// The dtypes an op computes in and returns, for given argument types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Typing {
    /// What the (non-condition) arguments are cast to before the op.
    pub operand: DType,
    /// The result type.
    pub result: Ty,
}

/// Types an op application, or says why it is not defined (a lower-case message).
pub(crate) fn type_op(op: Op, args: &[Ty]) -> Result<Typing, String> {
    let def = op.def();
    let all_weak = args.iter().all(|t| t.weak);
    let mk = |operand: DType, result: DType| Typing {
        operand,
        result: Ty {
            dtype: result,
            weak: all_weak,
        },
    };
    // `where`'s condition does not take part in promotion.
    let promoted = match def.rule {
        Rule::Select => args[1].promote(args[2]),
        _ => args.iter().skip(1).fold(args[0], |acc, t| acc.promote(*t)),
    };
    let p = promoted.dtype;
    let not_defined = || -> Result<Typing, String> {
        let types: Vec<&str> = args.iter().map(|t| t.dtype.name()).collect();
        let what = if def.is_function {
            format!("`{}`", def.name)
        } else {
            format!("operator `{}`", def.name)
        };
        Err(format!("{what} is not defined for {}", types.join(" and ")))
    };
    if def.rule == Rule::Strings {
        return not_defined();
    }
    if p.is_complex() && def.rule != Rule::MakeComplex {
        return match op {
            Op::Neg
            | Op::Add
            | Op::Sub
            | Op::Mul
            | Op::Div
            | Op::Pow
            | Op::Where
            | Op::Copy
            | Op::Conj
            | Op::OnesLike => Ok(mk(p, p)),
            Op::Sqrt
            | Op::Exp
            | Op::Expm1
            | Op::Log
            | Op::Log1p
            | Op::Log10
            | Op::Log2
            | Op::Sign
            | Op::Round
            | Op::Sin
            | Op::Cos
            | Op::Tan
            | Op::Arcsin
            | Op::Arccos
            | Op::Arctan
            | Op::Sinh
            | Op::Cosh
            | Op::Tanh
            | Op::Arcsinh
            | Op::Arccosh
            | Op::Arctanh => Ok(mk(p, p)),
            Op::Eq | Op::Ne | Op::IsNan | Op::IsInf | Op::IsFinite => Ok(mk(p, DType::Bool)),
            Op::Abs | Op::Real | Op::Imag => Ok(mk(p, p.part())),
            _ => not_defined(),
        };
    }
    Ok(match def.rule {
        Rule::MakeComplex if p.is_complex() => return not_defined(),
        Rule::MakeComplex => mk(p.float_of(), p.float_of().complex_of()),
        Rule::Arith | Rule::Keep => mk(p, p),
        Rule::Signed if p == DType::Bool => return not_defined(),
        Rule::Signed => mk(p, p),
        Rule::TrueDiv | Rule::Float => mk(p.float_of(), p.float_of()),
        Rule::IntArith if p == DType::Bool => mk(DType::Int64, DType::Int64),
        Rule::IntArith => mk(p, p),
        Rule::Bitwise if p.is_float() => return not_defined(),
        Rule::Bitwise => mk(p, p),
        Rule::Shift if p.is_float() => return not_defined(),
        Rule::Shift if p == DType::Bool => mk(DType::Int64, DType::Int64),
        Rule::Shift => mk(p, p),
        Rule::Compare => mk(p, DType::Bool),
        Rule::Predicate => mk(p, DType::Bool),
        Rule::Select => mk(p, p),
        Rule::Strings => unreachable!("handled above"),
    })
}

/// Types an op with a byte-string argument: a comparison of two strings or `contains`, a bool
/// (strong: a 0-d comparison of literals is still an array, as numexpr gives); anything else,
/// or a string with a number, is not defined (a lower-case message).
pub(crate) fn type_bytes(op: Op, args: &[Ty]) -> Result<Typing, String> {
    let def = op.def();
    let all_bytes = args.iter().all(|t| t.dtype.is_bytes());
    let is_string_op = matches!(
        op,
        Op::Lt | Op::Le | Op::Eq | Op::Ne | Op::Ge | Op::Gt | Op::Contains
    );
    if all_bytes && is_string_op {
        return Ok(Typing {
            operand: args[0].dtype,
            result: Ty::strong(DType::Bool),
        });
    }
    let types: Vec<String> = args.iter().map(|t| t.dtype.to_string()).collect();
    let what = if def.is_function {
        format!("`{}`", def.name)
    } else {
        format!("operator `{}`", def.name)
    };
    Err(format!(
        "{what} is not defined for {}: byte strings are only compared with each other \
         (== != < <= > >=) or searched (`contains`)",
        types.join(" and ")
    ))
}

/// A reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReduceOp {
    Sum,
    Prod,
    Min,
    Max,
    Mean,
    Any,
    All,
}

impl ReduceOp {
    pub(crate) const ALL: [ReduceOp; 7] = [
        ReduceOp::Sum,
        ReduceOp::Prod,
        ReduceOp::Min,
        ReduceOp::Max,
        ReduceOp::Mean,
        ReduceOp::Any,
        ReduceOp::All,
    ];

    /// The function name.
    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Prod => "prod",
            ReduceOp::Min => "min",
            ReduceOp::Max => "max",
            ReduceOp::Mean => "mean",
            ReduceOp::Any => "any",
            ReduceOp::All => "all",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<ReduceOp> {
        ReduceOp::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The dtype the partial results are accumulated in. Float32 sums accumulate in float64.
    pub(crate) fn acc_dtype(self, input: DType) -> DType {
        match self {
            ReduceOp::Sum | ReduceOp::Prod | ReduceOp::Mean if input.is_complex() => {
                DType::Complex128
            }
            ReduceOp::Sum | ReduceOp::Prod | ReduceOp::Mean if input.is_float() => DType::Float64,
            ReduceOp::Sum | ReduceOp::Prod => DType::Int64,
            ReduceOp::Mean => DType::Float64,
            ReduceOp::Min | ReduceOp::Max => input,
            ReduceOp::Any | ReduceOp::All => DType::Bool,
        }
    }

    /// The dtype of the result (NumPy's).
    pub(crate) fn result_dtype(self, input: DType) -> DType {
        match self {
            ReduceOp::Sum | ReduceOp::Prod if input.is_float() || input.is_complex() => input,
            ReduceOp::Sum | ReduceOp::Prod => DType::Int64,
            ReduceOp::Mean => input.float_of(),
            ReduceOp::Min | ReduceOp::Max => input,
            ReduceOp::Any | ReduceOp::All => DType::Bool,
        }
    }

    /// The combining step on partials: what `acc ⊕ x` means. Mean accumulates a sum.
    pub(crate) fn combiner(self) -> Op {
        match self {
            ReduceOp::Sum | ReduceOp::Mean => Op::Add,
            ReduceOp::Prod => Op::Mul,
            ReduceOp::Min => Op::Minimum,
            ReduceOp::Max => Op::Maximum,
            ReduceOp::Any => Op::BitOr,
            ReduceOp::All => Op::BitAnd,
        }
    }

    /// The starting value of an accumulator of dtype `acc`.
    pub(crate) fn identity(self, acc: DType) -> crate::core::dtype::Scalar {
        use crate::core::dtype::Scalar;
        match (self, acc) {
            (ReduceOp::Sum | ReduceOp::Mean, d) => Scalar::I64(0).cast(d),
            (ReduceOp::Prod, d) => Scalar::I64(1).cast(d),
            (ReduceOp::Any, _) => Scalar::Bool(false),
            (ReduceOp::All, _) => Scalar::Bool(true),
            (ReduceOp::Min, DType::Bool) => Scalar::Bool(true),
            (ReduceOp::Min, DType::Int32) => Scalar::I32(i32::MAX),
            (ReduceOp::Min, DType::Int64) => Scalar::I64(i64::MAX),
            (ReduceOp::Min, DType::Float32) => Scalar::F32(f32::INFINITY),
            (ReduceOp::Min, DType::Float64) => Scalar::F64(f64::INFINITY),
            (ReduceOp::Max, DType::Bool) => Scalar::Bool(false),
            (ReduceOp::Max, DType::Int32) => Scalar::I32(i32::MIN),
            (ReduceOp::Max, DType::Int64) => Scalar::I64(i64::MIN),
            (ReduceOp::Max, DType::Float32) => Scalar::F32(f32::NEG_INFINITY),
            (ReduceOp::Max, DType::Float64) => Scalar::F64(f64::NEG_INFINITY),
            // NumPy 2 has no order on complex numbers: lowering rejects `min`/`max` of them.
            (ReduceOp::Min | ReduceOp::Max, d) => Scalar::F64(f64::NAN).cast(d),
        }
    }

    /// True when an empty reduction has no value (NumPy raises for `min`/`max`).
    pub(crate) fn needs_elements(self) -> bool {
        matches!(self, ReduceOp::Min | ReduceOp::Max)
    }
}

/// An index generator: an array of evenly spaced values that is computed where it is used,
/// never stored (`lower` builds it from an iota; its arguments are scalars known when the
/// inputs are bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Generator {
    /// `arange([start,] stop[, step])`: int64 when every argument is an integer, else float64.
    Arange,
    /// `linspace(start, stop[, num])`: `num` (default 50) float64 values, both ends included.
    Linspace,
}

impl Generator {
    pub(crate) const ALL: [Generator; 2] = [Generator::Arange, Generator::Linspace];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Generator::Arange => "arange",
            Generator::Linspace => "linspace",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Generator> {
        Generator::ALL.into_iter().find(|g| g.name() == name)
    }

    /// The fewest and most positional arguments.
    pub(crate) fn arity(self) -> (usize, usize) {
        match self {
            Generator::Arange => (1, 3),
            Generator::Linspace => (2, 3),
        }
    }
}

/// Names that are functions, reductions or generators: for tab completion and "did you mean"
/// hints.
pub(crate) fn all_function_names() -> impl Iterator<Item = &'static str> {
    OPS.iter()
        .filter(|d| d.is_function)
        .map(|d| d.name)
        .chain(ReduceOp::ALL.iter().map(|r| r.name()))
        .chain(Generator::ALL.iter().map(|g| g.name()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::dtype::DType::*;

    #[test]
    fn every_op_has_one_row() {
        // Walks the enum's variants, so an op without a row fails here, not at first use.
        for &op in Op::ALL {
            let rows: Vec<_> = OPS.iter().filter(|d| d.op == op).collect();
            assert_eq!(rows.len(), 1, "{op:?} has {} rows in OPS", rows.len());
            assert_eq!(op.def().name, rows[0].name);
        }
        assert_eq!(
            OPS.len(),
            Op::ALL.len(),
            "OPS has rows for ops that do not exist"
        );
    }

    #[test]
    fn every_vector_kernel_serves_exactly_one_op() {
        // Which op a kernel serves is checked by `vmath`'s tests: they test each kernel against
        // the reference values of the op this table stages to it.
        let staged: Vec<(Op, Vector)> =
            OPS.iter().filter_map(|d| Some((d.op, d.vector?))).collect();
        for u in VUnary::ALL {
            let ops: Vec<_> = staged
                .iter()
                .filter(|(_, v)| *v == Vector::Unary(u))
                .collect();
            assert_eq!(ops.len(), 1, "{u:?} serves {ops:?}");
        }
        for b in VBinary::ALL {
            let ops: Vec<_> = staged
                .iter()
                .filter(|(_, v)| *v == Vector::Binary(b))
                .collect();
            assert_eq!(ops.len(), 1, "{b:?} serves {ops:?}");
        }
        assert_eq!(staged.len(), VUnary::ALL.len() + VBinary::ALL.len());
    }

    #[test]
    fn every_complex_block_function_serves_exactly_its_op() {
        // The scalar fallback of a block function computes `CUnary::op`: the row staging
        // complex operands to it must be that op's, or special values would be another op's.
        for c in CUnary::ALL {
            let rows: Vec<Op> = OPS
                .iter()
                .filter(|d| d.complex == Some(c))
                .map(|d| d.op)
                .collect();
            assert_eq!(rows, [c.op()], "{c:?}");
        }
    }

    #[test]
    fn the_readme_lists_exactly_the_tables_functions() {
        // The language table's `functions` row: every element function of OPS, nothing else.
        let readme = include_str!("../../README.md");
        let row = readme
            .lines()
            .find(|l| l.starts_with("| functions |"))
            .expect("README.md has a `| functions |` row");
        let mut listed: Vec<&str> = row
            .split('`')
            .nth(1)
            .expect("the row lists the functions in backticks")
            .split_whitespace()
            .collect();
        let mut table: Vec<&str> = OPS
            .iter()
            .filter(|d| d.is_function)
            .map(|d| d.name)
            .collect();
        listed.sort_unstable();
        table.sort_unstable();
        assert_eq!(listed, table);
    }

    #[test]
    fn typing_follows_numpy() {
        let s = Ty::strong;
        let t = |op, args: &[Ty]| type_op(op, args).map(|t| t.result.dtype);
        assert_eq!(t(Op::Div, &[s(Int32), s(Int32)]), Ok(Float64));
        assert_eq!(t(Op::Sqrt, &[s(Float32)]), Ok(Float32));
        assert_eq!(t(Op::Lt, &[s(Int32), s(Float64)]), Ok(Bool));
        assert_eq!(t(Op::FloorDiv, &[s(Bool), s(Bool)]), Ok(Int64));
        assert_eq!(t(Op::Where, &[s(Bool), s(Int32), s(Float32)]), Ok(Float64));
        assert!(t(Op::Sub, &[s(Bool), s(Bool)]).is_err());
        assert!(t(Op::BitAnd, &[s(Float64), s(Int64)])
            .unwrap_err()
            .contains("operator `&`"));
        assert_eq!(t(Op::Add, &[s(Int32), Ty::weak(Int64)]), Ok(Int32));
    }

    #[test]
    fn reduction_dtypes_follow_numpy() {
        assert_eq!(ReduceOp::Sum.result_dtype(Int32), Int64);
        assert_eq!(ReduceOp::Sum.result_dtype(Float32), Float32);
        assert_eq!(ReduceOp::Sum.acc_dtype(Float32), Float64);
        assert_eq!(ReduceOp::Mean.result_dtype(Int64), Float64);
        assert_eq!(ReduceOp::Max.result_dtype(Bool), Bool);
    }
}
