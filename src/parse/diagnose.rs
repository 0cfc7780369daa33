//! Building nodes within the limits, and diagnostics: what was expected where the input went
//! wrong, unclosed groups, chained comparisons with a hint, spans of tokens.

use nom::{Offset, Parser};

use super::ast::{BinOp, Expr, ExprKind};
use super::lexeme::{skip_ws, symbol, unexpected, Diag};
use super::MAX_DEPTH;
use crate::core::error::{ErrorKind, Result, Span};

use super::expr::*;

/// A node over children of depth `child_depth`, within the depth limit. Bounding the tree, not
/// only the nesting, matters for left-associative chains: `a+a+…+a` waits on no stack but builds
/// a tree as deep as it is long, which `Drop` and every later pass walk recursively.
pub(super) fn node<'a>(
    kind: ExprKind,
    span: Span,
    child_depth: usize,
    comparisons: usize,
    token: &'a str,
) -> Result<Sub, Diag<'a>> {
    if child_depth >= MAX_DEPTH {
        return Err(too_deep(token));
    }
    Ok(Sub {
        expr: Expr { kind, span },
        depth: child_depth + 1,
        comparisons,
    })
}

pub(super) fn too_deep(token: &str) -> Diag<'_> {
    Diag {
        kind: ErrorKind::Limit,
        at: token,
        message: format!("expression nested too deeply; the limit is {MAX_DEPTH} levels"),
    }
}

/// An error that means the parser itself is wrong; reported rather than panicking.
pub(super) fn internal<'a>(at: &'a str, what: &str) -> Diag<'a> {
    Diag {
        kind: ErrorKind::Internal,
        at: &at[..0],
        message: format!("parser bug: {what}"),
    }
}

/// Diagnostics: what was expected where the input went wrong.
impl<'a> Stacks<'a> {
    pub(super) fn span(&self, token: &str) -> Span {
        span_of(self.src, token)
    }

    pub(super) fn text(&self, span: Span) -> &'a str {
        text_of(self.src, span)
    }

    pub(super) fn expected_operand(&self, at: &'a str, prev: Prev<'a>) -> Diag<'a> {
        let at_end = skip_ws(at).is_empty();
        match prev {
            Prev::Start => stray_paren(at, "expected an expression"),
            Prev::Open(_) | Prev::ArgStart(_) if at_end => self.unclosed(),
            Prev::Open(token) | Prev::Operator(token) => {
                unexpected(at, &format!("expected an expression after `{token}`"))
            }
            Prev::ArgStart(token) => {
                unexpected(at, &format!("expected an argument or `)` after `{token}`"))
            }
        }
    }

    pub(super) fn expected_operator(&self, at: &'a str) -> Diag<'a> {
        match self.groups.last() {
            None => stray_paren(at, "expected an operator or the end of the expression"),
            Some(_) if skip_ws(at).is_empty() => self.unclosed(),
            Some(Group { call: Some(_), .. }) => unexpected(at, "expected an operator, `,` or `)`"),
            Some(Group { call: None, .. }) => unexpected(at, "expected an operator or `)`"),
        }
    }

    /// At the end of input inside a group, the culprit is the innermost unclosed `(`.
    pub(super) fn unclosed(&self) -> Diag<'a> {
        match self.groups.last() {
            Some(group) => Diag::syntax(group.open, "expected `)` to close `(` opened here"),
            None => internal(self.src, "no group to close"),
        }
    }

    /// `a < b < c`, parsed as `(a < b) < c`: the chain underlined whole, and how to write it
    /// element-wise (spelled out for two links, sketched for longer chains).
    pub(super) fn chained_comparison(&self, sub: &Sub) -> Diag<'a> {
        let links = binary_parts(&sub.expr)
            .filter(|_| sub.comparisons == 2)
            .and_then(|(first, op2, c)| Some((binary_parts(first)?, op2, c)));
        let hint = match links {
            Some(((a, op1, b), op2, c)) => self.chain_hint([a, b, c], [op1, op2]),
            None => LONG_CHAIN_HINT.to_string(),
        };
        Diag::syntax(
            self.text(sub.expr.span),
            format!("chained comparisons are not supported; {hint}"),
        )
    }

    /// How to write `a < b < c` element-wise, quoting the user's operands when they are short.
    /// When the middle operand is `y & z` (or `|`, `^`), the user most likely met NumExpr's
    /// precedence trap: `x < 1 & y > 2` is `x < (1 & y) > 2`, and they meant `(x < 1) & (y > 2)`.
    pub(super) fn chain_hint(&self, [a, b, c]: [&Expr; 3], [op1, op2]: [BinOp; 2]) -> String {
        let quote =
            |e: &Expr| Some(self.text(e.span)).filter(|t| t.len() <= 20 && !t.contains('\n'));
        let (op1, op2) = (op1.symbol(), op2.symbol());
        if let ExprKind::Binary {
            op: logic @ (BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor),
            lhs,
            rhs,
            ..
        } = &b.kind
        {
            // Only when unparenthesized: `x < (1 & y) > 2` is a plain chain.
            if b.span == lhs.span.to(rhs.span) {
                let (l, r) = (quote(lhs).unwrap_or("y"), quote(rhs).unwrap_or("z"));
                let (a, c) = (quote(a).unwrap_or("x"), quote(c).unwrap_or("w"));
                let logic = logic.symbol();
                return format!("`{logic}` binds tighter than `{op1}`: write ({a} {op1} {l}) {logic} ({r} {op2} {c})");
            }
        }
        let (a, b, c) = match (quote(a), quote(b), quote(c)) {
            (Some(a), Some(b), Some(c)) => (a, b, c),
            _ => ("a", "b", "c"),
        };
        format!("write ({a} {op1} {b}) & ({b} {op2} {c})")
    }
}

pub(super) const LONG_CHAIN_HINT: &str =
    "compare two operands at a time and combine the results with `&`, e.g. (a < b) & (b < c)";

/// The operands and operator of a binary node.
pub(super) fn binary_parts(e: &Expr) -> Option<(&Expr, BinOp, &Expr)> {
    match &e.kind {
        ExprKind::Binary { op, lhs, rhs, .. } => Some((lhs, *op, rhs)),
        _ => None,
    }
}

/// The byte span of `token`, a slice of `src`.
pub(super) fn span_of(src: &str, token: &str) -> Span {
    let start = src.offset(token);
    Span::new(start, start + token.len())
}

/// The source text of `span`, for messages that quote the user's code.
pub(super) fn text_of(src: &str, span: Span) -> &str {
    &src[span.start..span.end]
}

/// Outside all parentheses a `)` has nothing to close; anything else is reported as unexpected.
pub(super) fn stray_paren<'a>(at: &'a str, expected: &str) -> Diag<'a> {
    match symbol(")").parse(at) {
        Ok((_, paren)) => Diag::syntax(paren, "unmatched `)`; there is no `(` for it to close"),
        Err(_) => unexpected(at, expected),
    }
}
