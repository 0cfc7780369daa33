//! The grammar's operator table as the parser needs it: which tokens are operators, their
//! precedence and associativity, and when a pending operator is reduced.

use super::ast::{BinOp, UnOp};

use super::expr::*;

pub(super) const BINARY_OPERATORS: [BinOp; 18] = [
    BinOp::Pow,
    BinOp::Mul,
    BinOp::Div,
    BinOp::FloorDiv,
    BinOp::Mod,
    BinOp::Add,
    BinOp::Sub,
    BinOp::Shl,
    BinOp::Shr,
    BinOp::BitAnd,
    BinOp::BitXor,
    BinOp::BitOr,
    BinOp::Lt,
    BinOp::Le,
    BinOp::Eq,
    BinOp::Ne,
    BinOp::Ge,
    BinOp::Gt,
];

pub(super) fn binary_operator(token: &str) -> Option<BinOp> {
    BINARY_OPERATORS.into_iter().find(|op| op.symbol() == token)
}

pub(super) fn prefix_operator(token: &str) -> Option<UnOp> {
    [UnOp::Neg, UnOp::Pos, UnOp::Invert]
        .into_iter()
        .find(|op| op.symbol() == token)
}

pub(super) fn is_comparison(op: BinOp) -> bool {
    precedence(op) == 1
}

/// Binding strength, higher binds tighter: the precedence table in the grammar's header.
pub(super) fn precedence(op: BinOp) -> u8 {
    match op {
        BinOp::Lt | BinOp::Le | BinOp::Eq | BinOp::Ne | BinOp::Ge | BinOp::Gt => 1,
        BinOp::BitOr => 2,
        BinOp::BitXor => 3,
        BinOp::BitAnd => 4,
        BinOp::Shl | BinOp::Shr => 5,
        BinOp::Add | BinOp::Sub => 6,
        BinOp::Mul | BinOp::Div | BinOp::FloorDiv | BinOp::Mod => 7,
        BinOp::Pow => 9,
    }
}

/// Prefix operators bind tighter than `*` and looser than `**`: `-a*b` is `(-a)*b` but `-a**b`
/// is `-(a**b)`. (`a**-b` needs no rule: the `-` stands where an operand is expected.)
pub(super) const PREFIX_PRECEDENCE: u8 = 8;

/// Whether the pending `top` takes its operands before `incoming` is pushed: when it binds more
/// tightly, or equally and `incoming` is left-associative (everything but `**`). Comparisons are
/// left-associative here and the chain is rejected once complete, so the error can show it all.
pub(super) fn reduces_before(top: &Pending<'_>, incoming: BinOp) -> bool {
    let strength = match top {
        Pending::Group => return false,
        Pending::Prefix(..) => PREFIX_PRECEDENCE,
        Pending::Infix(op, _) => precedence(*op),
    };
    strength > precedence(incoming) || (strength == precedence(incoming) && incoming != BinOp::Pow)
}
