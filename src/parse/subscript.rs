//! Subscripts: `[` items `]` after an operand, each an index, a slice, `None` or `...`, with
//! integer literals only.

use nom::Offset;

use super::ast::{Expr, ExprKind, IndexItem, IndexKind};
use super::lexeme::{next_token, number, skip_ws, unexpected, Diag, Number};
use super::MAX_DEPTH;
use crate::core::error::{Result, Span};

use super::diagnose::*;
use super::expr::*;

impl<'a> Stacks<'a> {
    /// `[item, ...]` after an operand (at `open`): wraps the top operand in an index node and
    /// returns the input after `]`. Items are integer literals only (`-1` included), so they are
    /// read here directly rather than as expressions.
    pub(super) fn subscript(&mut self, open: &'a str) -> Result<&'a str, Diag<'a>> {
        let mut items = Vec::new();
        let mut i = &open[1..];
        loop {
            i = skip_ws(i);
            if let Some(rest) = i.strip_prefix(']') {
                if items.is_empty() {
                    return Err(Diag::syntax(
                        &i[..1],
                        "expected an index, a slice, `None` or `...` in `[]`",
                    ));
                }
                let base = self.pop_operand()?;
                let close = &i[..1];
                let span = base.expr.span.to(self.span(close));
                let depth = base.depth + 1;
                if depth > MAX_DEPTH {
                    return Err(too_deep(close));
                }
                let expr = Expr {
                    kind: ExprKind::Index {
                        base: Box::new(base.expr),
                        items,
                    },
                    span,
                };
                self.operands.push(Sub {
                    expr,
                    depth,
                    comparisons: 0,
                });
                return Ok(rest);
            }
            let (rest, item) = self.index_item(i)?;
            items.push(item);
            i = skip_ws(rest);
            if let Some(rest) = i.strip_prefix(',') {
                i = rest;
            } else if !i.starts_with(']') {
                return Err(if i.is_empty() {
                    Diag::syntax(&open[..1], "expected `]` to close `[` opened here")
                } else {
                    unexpected(next_token(i), "`,` or `]`")
                });
            }
        }
    }

    /// One subscript item: `...`, `None`, an integer, or `start:stop:step` with optional parts.
    pub(super) fn index_item(&self, i: &'a str) -> Result<(&'a str, IndexItem), Diag<'a>> {
        let item = |kind, from: &'a str, rest: &'a str| {
            let start = self.span(from).start;
            let end = self.src.offset(rest);
            (
                rest,
                IndexItem {
                    kind,
                    span: Span::new(start, end),
                },
            )
        };
        if let Some(rest) = i.strip_prefix("...") {
            return Ok(item(IndexKind::Ellipsis, i, rest));
        }
        if let Some(rest) = i
            .strip_prefix("None")
            .filter(|r| !r.starts_with(|c: char| c.is_alphanumeric() || c == '_'))
        {
            return Ok(item(IndexKind::NewAxis, i, rest));
        }
        let mut parts: Vec<Option<i64>> = Vec::new();
        let mut rest = i;
        loop {
            let (after, value) = self.index_int(skip_ws(rest))?;
            parts.push(value);
            rest = skip_ws(after);
            match rest.strip_prefix(':') {
                Some(after_colon) if parts.len() < 3 => rest = after_colon,
                Some(_) => {
                    return Err(unexpected(
                        &rest[..1],
                        "`,` or `]` (a slice has at most two `:`)",
                    ))
                }
                None => break,
            }
        }
        let rest_trimmed = rest;
        let kind = match parts.as_slice() {
            [Some(v)] => IndexKind::Index(*v),
            [None] => {
                return Err(Diag::syntax(
                    next_token(skip_ws(i)),
                    "expected an index, a slice, `None` or `...`",
                ))
            }
            [start, stop] => IndexKind::Slice {
                start: *start,
                stop: *stop,
                step: None,
            },
            [start, stop, step] => IndexKind::Slice {
                start: *start,
                stop: *stop,
                step: *step,
            },
            _ => return Err(internal(i, "subscript item")),
        };
        // The item's span ends at its last character, not after trailing blanks.
        let end_trim = self.src.offset(rest_trimmed);
        let used = &i[..end_trim - self.span(i).start];
        let (r, mut it) = item(kind, i, rest_trimmed);
        it.span.end = self.span(i).start + used.trim_end().len();
        Ok((r, it))
    }

    /// An optional integer literal with an optional `-`, as an index or slice bound.
    pub(super) fn index_int(&self, i: &'a str) -> Result<(&'a str, Option<i64>), Diag<'a>> {
        let (negative, digits) = match i.strip_prefix('-') {
            Some(rest) => (true, skip_ws(rest)),
            None => (false, i),
        };
        if !digits.starts_with(|c: char| c.is_ascii_digit()) {
            if negative {
                return Err(unexpected(next_token(digits), "an integer after `-`"));
            }
            return Ok((i, None));
        }
        match number(digits) {
            Ok((rest, (Number::Int(v), _))) => Ok((rest, Some(if negative { -v } else { v }))),
            Ok((_, (_, token))) => Err(Diag::syntax(token, "indices must be integers")),
            Err(_) => Err(Diag::syntax(
                next_token(digits),
                "integer literal too large",
            )),
        }
    }
}
