//! The syntax tree the parser produces: what the user wrote, with a span on every node.
//!
//! Nothing here knows about types or shapes; `lower` gives names and operators their meaning.

use crate::core::error::Span;

/// An expression node with the byte span of its source text.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What the node is.
    pub kind: ExprKind,
    /// Where it stands in the source (the whole construct, e.g. `sin(a)` for a call).
    pub span: Span,
}

/// The name `None` stands for where the parser reads it as an operand: only a reduction's
/// `axis=None` means something (all axes); lowering rejects it anywhere else.
pub const NONE: &str = "None";

/// The kinds of expression nodes.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// An integer literal (`1`, `1_000_000`); always fits in an `i64` (the parser rejects larger ones).
    Int(i64),
    /// A float literal (`2.5`, `.25`, `1e-3`).
    Float(f64),
    /// An imaginary literal (`1j`, `2.5e3j`): the value of its imaginary part, a complex128
    /// with real part +0 (Python's).
    Imag(f64),
    /// `True` or `False`.
    Bool(bool),
    /// A string literal (`'abc'`, `b"abc"`): bytes, as numexpr reads both spellings (a plain
    /// string is its UTF-8 encoding).
    Str(Vec<u8>),
    /// A bare name: a variable or a constant (`pi`, `e`, `inf`, `nan`), resolved by `lower`.
    Name(String),
    /// A prefix operator applied to an operand.
    Unary {
        /// The operator.
        op: UnOp,
        /// Its operand.
        arg: Box<Expr>,
    },
    /// An infix operator.
    Binary {
        /// The operator.
        op: BinOp,
        /// The span of the operator token itself (for "operator not defined for ..." errors).
        op_span: Span,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// Basic indexing `base[items]` (NumPy's view-producing subset).
    Index {
        /// What is indexed (lowering accepts a variable name).
        base: Box<Expr>,
        /// The items between the brackets, in order.
        items: Vec<IndexItem>,
    },
    /// A function call `name(args, key=value)`.
    Call {
        /// The function's name as written.
        func: String,
        /// Span of the function name.
        func_span: Span,
        /// Positional arguments in order.
        args: Vec<Expr>,
        /// Keyword arguments in order.
        kwargs: Vec<Kwarg>,
    },
}

/// A keyword argument `name=value` of a call.
#[derive(Debug, Clone, PartialEq)]
pub struct Kwarg {
    /// The keyword.
    pub name: String,
    /// Span of the keyword.
    pub name_span: Span,
    /// The value.
    pub value: Expr,
}

/// Prefix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// `-x`
    Neg,
    /// `+x`
    Pos,
    /// `~x` (logical not on bool, bitwise not on integers)
    Invert,
}

/// Infix operators, in the order of the grammar's precedence table (loosest last).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `**` (right-associative)
    Pow,
    /// `*`
    Mul,
    /// `/` (true division)
    Div,
    /// `//` (floor division)
    FloorDiv,
    /// `%` (Python modulo: sign of the divisor)
    Mod,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `<<`
    Shl,
    /// `>>`
    Shr,
    /// `&`
    BitAnd,
    /// `^`
    BitXor,
    /// `|`
    BitOr,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>=`
    Ge,
    /// `>`
    Gt,
}

impl BinOp {
    /// The operator as written in source.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Pow => "**",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::FloorDiv => "//",
            BinOp::Mod => "%",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
            BinOp::BitAnd => "&",
            BinOp::BitXor => "^",
            BinOp::BitOr => "|",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Ge => ">=",
            BinOp::Gt => ">",
        }
    }
}

impl UnOp {
    /// The operator as written in source.
    pub fn symbol(self) -> &'static str {
        match self {
            UnOp::Neg => "-",
            UnOp::Pos => "+",
            UnOp::Invert => "~",
        }
    }
}

// Subscript items belong to the view layer (`index.rs`, which applies them to bound arrays): the
// parser builds them and the IR keeps them without either importing the other.
pub use crate::core::index::{IndexItem, IndexKind};

/// A program: kernel definitions, then statements run in order (see `grammar/numjit.ebnf`,
/// `Program`).
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    /// The kernels (`def name(params): ...`), in source order.
    pub kernels: Vec<KernelDef>,
    /// The top-level statements.
    pub stmts: Vec<Stmt>,
}

/// `def name(params): body`: a scalar function with loops and branches, applied elementwise
/// where it is called.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelDef {
    /// Its name.
    pub name: String,
    /// The name's span.
    pub name_span: Span,
    /// The parameters and their spans.
    pub params: Vec<(String, Span)>,
    /// The body (at least one statement).
    pub body: Vec<KStmt>,
    /// The `def ...:` header.
    pub span: Span,
    /// The text its spans point into, when that is not the program's own (a kernel defined
    /// once with [`crate::Kernels`] and called from other programs).
    pub source: Option<std::sync::Arc<str>>,
}

/// A statement of a kernel body.
#[derive(Debug, Clone, PartialEq)]
pub struct KStmt {
    /// What it does.
    pub kind: KStmtKind,
    /// Its text (a compound statement: its header).
    pub span: Span,
}

/// The statements a kernel body may hold.
#[derive(Debug, Clone, PartialEq)]
pub enum KStmtKind {
    /// `a = x`, `a, b = x, y` (every value is computed before any name is set), or `a op= x`
    /// (arriving as `a = a op (x)`).
    Assign {
        /// The names set, with their spans.
        targets: Vec<(String, Span)>,
        /// One value per name.
        values: Vec<Expr>,
    },
    /// `if c: … elif d: … else: …`.
    If {
        /// Each condition with its block, in order.
        branches: Vec<(Expr, Vec<KStmt>)>,
        /// The `else` block (empty when there is none).
        orelse: Vec<KStmt>,
    },
    /// `while c: …`.
    While {
        /// The condition, tested before each iteration.
        cond: Expr,
        /// The body.
        body: Vec<KStmt>,
    },
    /// `for v in range(…): …`.
    For {
        /// The loop variable.
        var: String,
        /// Its span.
        var_span: Span,
        /// The `range(...)` arguments: `stop`, `start, stop` or `start, stop, step`.
        range: Vec<Expr>,
        /// The body.
        body: Vec<KStmt>,
    },
    /// `break`.
    Break,
    /// `continue`.
    Continue,
    /// `pass`.
    Pass,
    /// `return value`.
    Return(Expr),
}

/// One statement with the span of its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    /// What the statement does.
    pub kind: StmtKind,
    /// Where it stands (a `for` spans its header only).
    pub span: Span,
}

/// The kinds of statements.
#[derive(Debug, Clone, PartialEq)]
pub enum StmtKind {
    /// `target = value`; `target op= value` arrives here as `target = target op (value)`.
    Assign {
        /// What is written.
        target: Target,
        /// The value.
        value: Expr,
    },
    /// An expression: the program's result when it is the last statement.
    Expr(Expr),
    /// `for var in range(args): body`.
    For {
        /// The loop variable.
        var: String,
        /// Its span.
        var_span: Span,
        /// The `range(...)` arguments: `stop`, `start, stop` or `start, stop, step`.
        range: Vec<Expr>,
        /// The body (at least one statement).
        body: Vec<Stmt>,
    },
    /// `swap(a, b)`: exchanges what two array names refer to.
    Swap {
        /// The first name and its span.
        a: (String, Span),
        /// The second name and its span.
        b: (String, Span),
    },
}

/// The left side of an assignment: a name, optionally subscripted.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The variable written.
    pub name: String,
    /// The name's span.
    pub name_span: Span,
    /// `Some` for `name[items] = ...` (writes part of the array).
    pub items: Option<Vec<IndexItem>>,
    /// The whole target's span.
    pub span: Span,
}
