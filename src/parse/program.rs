//! Source text → [`Program`]: statements, lines, indentation. Each expression inside a statement
//! is read by `expr` on its own byte range, so spans always count from the start of the program.
//!
//! The layout rules are Python's: a newline ends a statement unless it stands inside `(` or `[`;
//! `;` separates statements on one line; `#` starts a comment; a `for` header ending in `:` is
//! followed by its body, either on the same line or as the following lines indented deeper.

use std::ops::Range;

use super::ast::{BinOp, Expr, ExprKind, Program, Stmt, StmtKind, Target};
use super::expr::parse_range;
use super::kernel;
use super::MAX_BLOCK_DEPTH;
use crate::core::error::{Error, ErrorKind, Result, Span};

/// Parses a whole program.
pub(super) fn parse(src: &str) -> Result<Program> {
    let lines = logical_lines(src);
    if lines.is_empty() {
        return Err(syntax(src, Span::new(0, src.len()), "empty expression"));
    }
    check_nesting(src, &lines)?;
    let mut pos = 0;
    let top = lines[0].indent;
    // Kernels first: a `def` block at the top level, before the statements.
    let mut kernels = Vec::new();
    while lines
        .get(pos)
        .is_some_and(|l| l.indent == top && kernel::is_def(src, l.stmts[0].clone()))
    {
        kernels.push(kernel::definition(src, &lines, &mut pos, top)?);
    }
    let stmts = block(src, &lines, &mut pos, top)?;
    if let Some(line) = lines.get(pos) {
        return Err(indentation(
            src,
            line,
            "unindent does not match any outer indentation level",
        ));
    }
    Ok(Program { kernels, stmts })
}

/// A `limit` error at the first line indented more than [`MAX_BLOCK_DEPTH`] levels deep. A
/// block is never nested deeper than its indentation levels (an inline body holds simple
/// statements only), so counting the levels, as Python's tokenizer does, bounds the nesting.
fn check_nesting(src: &str, lines: &[Line]) -> Result<()> {
    let mut levels = vec![lines[0].indent];
    for line in lines {
        while levels.last().is_some_and(|&top| line.indent < top) {
            levels.pop();
        }
        if levels.last().is_none_or(|&top| line.indent > top) {
            levels.push(line.indent);
        }
        if levels.len() > MAX_BLOCK_DEPTH {
            return Err(Error::at(
                ErrorKind::Limit,
                Span::new(line.start - line.indent, line.start),
                format!("blocks nested too deeply; the limit is {MAX_BLOCK_DEPTH} levels"),
            )
            .with_source(src));
        }
    }
    Ok(())
}

/// One line of statements (newlines inside brackets do not end it).
pub(super) struct Line {
    /// Bytes of leading blanks.
    pub indent: usize,
    /// Where its text starts (after the indentation).
    pub start: usize,
    /// The statements, split at `;` outside brackets; never empty.
    pub stmts: Vec<Range<usize>>,
}

/// Splits `src` into lines of statements, dropping comments and blank lines.
fn logical_lines(src: &str) -> Vec<Line> {
    let bytes = src.as_bytes();
    let mut lines = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let line_start = i;
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t') {
            i += 1;
        }
        let (indent, start) = (i - line_start, i);
        let mut depth = 0usize;
        let mut stmts = Vec::new();
        let mut stmt_start = i;
        let mut end_of_code = None;
        while i < bytes.len() {
            match bytes[i] {
                b'(' | b'[' => depth += 1,
                b')' | b']' => depth = depth.saturating_sub(1),
                // Comments may not stand inside brackets: the expression parser would see them.
                b'#' => {
                    if depth == 0 {
                        end_of_code.get_or_insert(i);
                    }
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                    continue;
                }
                b';' if depth == 0 => {
                    stmts.push(stmt_start..i);
                    stmt_start = i + 1;
                }
                b'\n' if depth == 0 => break,
                _ => {}
            }
            i += 1;
        }
        let end = end_of_code.unwrap_or(i);
        stmts.push(stmt_start..end.max(stmt_start));
        i += 1; // the newline
        stmts.retain(|r| !src[r.clone()].trim().is_empty());
        if !stmts.is_empty() {
            lines.push(Line {
                indent,
                start,
                stmts,
            });
        }
    }
    lines
}

/// The statements of lines `pos..` indented exactly `indent`, up to the first line indented less.
fn block(src: &str, lines: &[Line], pos: &mut usize, indent: usize) -> Result<Vec<Stmt>> {
    let mut out = Vec::new();
    while let Some(line) = lines.get(*pos) {
        if line.indent < indent {
            break;
        }
        if line.indent > indent {
            return Err(indentation(src, line, "unexpected indent"));
        }
        *pos += 1;
        let mut stmts = line.stmts.iter();
        while let Some(range) = stmts.next() {
            match for_header(src, range.clone())? {
                Some((var, var_span, args, header, inline)) => {
                    let mut body = Vec::new();
                    if let Some(first) = inline {
                        body.push(statement(src, first)?);
                        for r in stmts.by_ref() {
                            body.push(statement(src, r.clone())?);
                        }
                    } else {
                        match lines.get(*pos) {
                            Some(next) if next.indent > indent => {
                                body = block(src, lines, pos, next.indent)?;
                            }
                            _ => {
                                return Err(syntax(
                                    src,
                                    Span::new(header.end, header.end),
                                    "expected an indented block after `for ...:`",
                                ))
                            }
                        }
                    }
                    out.push(Stmt {
                        kind: StmtKind::For {
                            var,
                            var_span,
                            range: args,
                            body,
                        },
                        span: header,
                    });
                }
                None => out.push(statement(src, range.clone())?),
            }
        }
    }
    Ok(out)
}

/// The parts of a `for` statement.
type ForHeader = (String, Span, Vec<Expr>, Span, Option<Range<usize>>);

/// `for NAME in range(ARGS): [inline body]`, or `None` when the statement is not a `for`.
pub(super) fn for_header(src: &str, range: Range<usize>) -> Result<Option<ForHeader>> {
    let (start, text) = trimmed(src, range.clone());
    let Some(after_for) = text.strip_prefix("for") else {
        return Ok(None);
    };
    if !after_for.starts_with([' ', '\t']) {
        return Ok(None);
    }
    let expected = |at: usize, what: &str| {
        syntax(
            src,
            Span::new(at, at),
            format!("expected {what} in `for NAME in range(N):`"),
        )
    };
    let mut at = start + 3;
    at += blanks(&src[at..]);
    let name_len = src[at..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(src.len() - at);
    if name_len == 0
        || src[at..].starts_with(|c: char| c.is_ascii_digit())
        || &src[at..at + name_len] == "in"
    {
        return Err(expected(at, "a loop variable"));
    }
    let var_span = Span::new(at, at + name_len);
    at += name_len;
    at += blanks(&src[at..]);
    if !src[at..].starts_with("in") || !src[at + 2..].starts_with([' ', '\t']) {
        return Err(expected(at, "`in`"));
    }
    at += 2;
    at += blanks(&src[at..]);
    let colon = top_level_colon(src, at..range.end).ok_or_else(|| expected(range.end, "`:`"))?;
    let call = parse_range(src, at..colon)?;
    let args = match call.kind {
        ExprKind::Call {
            func, args, kwargs, ..
        } if func == "range" && kwargs.is_empty() && (1..=3).contains(&args.len()) => args,
        _ => return Err(syntax(
            src,
            call.span,
            "a loop runs over `range(stop)`, `range(start, stop)` or `range(start, stop, step)`",
        )),
    };
    let inline = colon + 1..range.end;
    let inline = (!src[inline.clone()].trim().is_empty()).then_some(inline);
    Ok(Some((
        src[var_span.start..var_span.end].to_string(),
        var_span,
        args,
        Span::new(start, colon + 1),
        inline,
    )))
}

/// One simple statement: an assignment, `swap(a, b)`, or an expression.
fn statement(src: &str, range: Range<usize>) -> Result<Stmt> {
    let (start, text) = trimmed(src, range.clone());
    let span = Span::new(start, start + text.len());
    if kernel::is_def(src, range.clone()) {
        return Err(syntax(
            src,
            Span::new(start, start + 3),
            "kernels are defined at the top of a program, before its statements",
        ));
    }
    if text.starts_with("for") && text[3..].starts_with([' ', '\t']) {
        return Err(syntax(
            src,
            Span::new(start, start + 3),
            "a `for` loop must start its own statement (a body cannot hold another loop on the same line)",
        ));
    }
    if let Some((eq, op)) = assignment(src, span.start..span.end) {
        let op_len = op.map_or(0, |o| o.symbol().len());
        let target_expr = parse_range(src, span.start..eq - op_len)?;
        let target = target_of(src, &target_expr)?;
        let mut value = parse_range(src, eq + 1..span.end)?;
        if let Some(op) = op {
            value = Expr {
                span: target_expr.span.to(value.span),
                kind: ExprKind::Binary {
                    op,
                    op_span: Span::new(eq - op_len, eq + 1),
                    lhs: Box::new(target_expr),
                    rhs: Box::new(value),
                },
            };
        }
        return Ok(Stmt {
            kind: StmtKind::Assign { target, value },
            span,
        });
    }
    let e = parse_range(src, range)?;
    if let ExprKind::Call {
        func, args, kwargs, ..
    } = &e.kind
    {
        if func == "swap" {
            let names: Vec<(String, Span)> = args
                .iter()
                .filter_map(|a| match &a.kind {
                    ExprKind::Name(n) => Some((n.clone(), a.span)),
                    _ => None,
                })
                .collect();
            if names.len() != 2 || args.len() != 2 || !kwargs.is_empty() {
                return Err(syntax(
                    src,
                    e.span,
                    "`swap` takes two array names: swap(a, b)",
                ));
            }
            let mut names = names.into_iter();
            let (a, b) = (names.next(), names.next());
            if let (Some(a), Some(b)) = (a, b) {
                return Ok(Stmt {
                    kind: StmtKind::Swap { a, b },
                    span: e.span,
                });
            }
        }
    }
    Ok(Stmt {
        span: e.span,
        kind: StmtKind::Expr(e),
    })
}

/// The position of the `=` of an assignment in `src[range]` (outside brackets, not part of
/// `==`, `<=`, `>=`, `!=`), and the operator of an augmented assignment (`+=`, `**=`, ...).
pub(super) fn assignment(src: &str, range: Range<usize>) -> Option<(usize, Option<BinOp>)> {
    let bytes = src.as_bytes();
    let mut depth = 0usize;
    for i in range.clone() {
        match bytes[i] {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth = depth.saturating_sub(1),
            b'=' if depth == 0 => {
                let next = bytes.get(i + 1).copied();
                let prev = (i > range.start).then(|| bytes[i - 1]);
                if next == Some(b'=') || matches!(prev, Some(b'=' | b'<' | b'>' | b'!')) {
                    continue;
                }
                let before = &src[range.start..i];
                let op = [
                    ("**", BinOp::Pow),
                    ("//", BinOp::FloorDiv),
                    ("+", BinOp::Add),
                    ("-", BinOp::Sub),
                    ("*", BinOp::Mul),
                    ("/", BinOp::Div),
                    ("%", BinOp::Mod),
                ]
                .into_iter()
                .find(|(s, _)| before.ends_with(s))
                .map(|(_, op)| op);
                return Some((i, op));
            }
            _ => {}
        }
    }
    None
}

/// An assignment target: `name` or `name[items]`.
fn target_of(src: &str, e: &Expr) -> Result<Target> {
    let (base, items) = match &e.kind {
        ExprKind::Index { base, items } => (base.as_ref(), Some(items.clone())),
        _ => (e, None),
    };
    match &base.kind {
        ExprKind::Name(name) => Ok(Target {
            name: name.clone(),
            name_span: base.span,
            items,
            span: e.span,
        }),
        _ => Err(syntax(
            src,
            e.span,
            "cannot assign to this: the left of `=` must be a name or a subscripted name (`u[1:-1] = ...`)",
        )),
    }
}

/// The first `:` outside brackets in `src[range]`.
pub(super) fn top_level_colon(src: &str, range: Range<usize>) -> Option<usize> {
    let mut depth = 0usize;
    for i in range {
        match src.as_bytes()[i] {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth = depth.saturating_sub(1),
            b':' if depth == 0 => return Some(i),
            _ => {}
        }
    }
    None
}

pub(super) fn trimmed(src: &str, range: Range<usize>) -> (usize, &str) {
    let text = &src[range.clone()];
    let lead = text.len() - text.trim_start().len();
    (range.start + lead, text.trim())
}

pub(super) fn blanks(s: &str) -> usize {
    s.len() - s.trim_start_matches([' ', '\t']).len()
}

pub(super) fn syntax(src: &str, span: Span, message: impl Into<String>) -> Error {
    Error::at(ErrorKind::Syntax, span, message).with_source(src)
}

pub(super) fn indentation(src: &str, line: &Line, message: &str) -> Error {
    syntax(
        src,
        Span::new(line.start - line.indent, line.start),
        message,
    )
}

#[cfg(test)]
mod tests {
    use super::super::ast::{StmtKind, Target};
    use super::parse;
    use crate::core::error::{ErrorKind, Span};

    /// One letter per statement: a(ssign), e(xpr), s(wap), f(or) with its body in brackets.
    fn shape(src: &str) -> String {
        fn walk(stmts: &[super::super::ast::Stmt]) -> String {
            stmts
                .iter()
                .map(|s| match &s.kind {
                    StmtKind::Assign { .. } => "a".to_string(),
                    StmtKind::Expr(_) => "e".to_string(),
                    StmtKind::Swap { .. } => "s".to_string(),
                    StmtKind::For { body, .. } => format!("f[{}]", walk(body)),
                })
                .collect()
        }
        walk(&parse(src).unwrap_or_else(|e| panic!("{src:?}: {e}")).stmts)
    }

    #[test]
    fn statements_lines_and_blocks() {
        assert_eq!(shape("a + 1"), "e");
        assert_eq!(shape("  a + 1  "), "e");
        assert_eq!(shape("x = 1; y = 2\nx + y"), "aae");
        assert_eq!(shape("x = (1 +\n  2)  # a comment\n\n# another\nx"), "ae");
        assert_eq!(shape("for i in range(3): a = 1; swap(a, b)\nc"), "f[as]e");
        assert_eq!(
            shape("for i in range(n):\n    a = 1\n    for j in range(2, 5):\n        b[1:] = 2\n    swap(a, b)\nz = 1"),
            "f[af[a]s]a"
        );
        assert_eq!(shape("u[1:-1, ::2] += 0.5 * u[2:, ::2]"), "a");
        assert_eq!(shape("a == b"), "e");
        assert_eq!(shape("f(a, axis=0) <= 1"), "e");
    }

    #[test]
    fn targets_and_augmented_assignment() {
        let p = parse("u[1:-1] **= 2").unwrap();
        let StmtKind::Assign { target, value } = &p.stmts[0].kind else {
            panic!("{p:?}")
        };
        let Target { name, items, .. } = target;
        assert_eq!(
            (name.as_str(), items.as_ref().map(Vec::len)),
            ("u", Some(1))
        );
        assert_eq!(value.span, Span::new(0, 13));
    }

    #[test]
    fn errors_carry_program_positions() {
        let cases = [
            ("x = 1\ny = (2 +", (14, 14), "expected an expression"),
            ("x = 1\n  y = 2", (6, 8), "unexpected indent"),
            (
                "for i in range(3):\nx = 1",
                (18, 18),
                "expected an indented block",
            ),
            ("for in range(3): x = 1", (4, 4), "loop variable"),
            ("for i in rng(3): x = 1", (9, 15), "range(stop)"),
            ("1 + 2 = x", (0, 5), "cannot assign"),
            ("swap(a)", (0, 7), "two array names"),
            ("x = 1; y = 2 +", (14, 14), "expected"),
        ];
        for (src, (start, end), msg) in cases {
            let err = parse(src).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Syntax, "{src:?}: {err}");
            assert_eq!(err.span(), Some(Span::new(start, end)), "{src:?}: {err}");
            assert!(err.message().contains(msg), "{src:?}: {err}");
        }
    }
}
