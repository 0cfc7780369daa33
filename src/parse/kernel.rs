//! `def` blocks → [`KernelDef`]: a kernel's header, parameters and body, in Python's layout.
//!
//! The program parser (`program.rs`) splits the text into logical lines; this file reads the
//! lines of one `def` block. A compound statement (`if`/`elif`/`else`, `while`, `for`) ends its
//! header with `:` and is followed by its block: the rest of the line, or the following lines
//! indented deeper. Every expression is read by `expr` on its own byte range, so spans count
//! from the start of the program.

use std::ops::Range;

use super::ast::{BinOp, Expr, ExprKind, KStmt, KStmtKind, KernelDef};
use super::expr::parse_range;
use super::program::{
    assignment, blanks, for_header, indentation, syntax, top_level_colon, trimmed, Line,
};
use crate::core::error::{Result, Span};

/// True when the statement at `range` is a kernel definition.
pub(super) fn is_def(src: &str, range: Range<usize>) -> bool {
    keyword(trimmed(src, range).1, "def").is_some()
}

/// The `def` block starting at line `*pos` (indented `indent`), which `is_def`; moves `*pos`
/// past its body.
pub(super) fn definition(
    src: &str,
    lines: &[Line],
    pos: &mut usize,
    indent: usize,
) -> Result<KernelDef> {
    let line = &lines[*pos];
    *pos += 1;
    let header = line.stmts[0].clone();
    let (start, text) = trimmed(src, header.clone());
    let colon = top_level_colon(src, header.clone()).ok_or_else(|| {
        syntax(
            src,
            Span::new(header.end, header.end),
            "expected `:` after `def name(params)`",
        )
    })?;
    let after_def = start + 3 + blanks(&text[3..]);
    let name_len = identifier_len(&src[after_def..colon]);
    if name_len == 0 {
        return Err(syntax(
            src,
            Span::new(after_def, after_def),
            "expected the kernel's name in `def name(params):`",
        ));
    }
    let name_span = Span::new(after_def, after_def + name_len);
    let open = name_span.end + blanks(&src[name_span.end..colon]);
    let close = src[..colon].rfind(')').filter(|&c| c > open);
    let (Some(close), true) = (close, src[open..].starts_with('(')) else {
        return Err(syntax(
            src,
            Span::new(open, colon),
            "expected the parameters in parentheses: `def name(a, b):`",
        ));
    };
    if !src[close + 1..colon].trim().is_empty() {
        return Err(syntax(
            src,
            Span::new(close + 1, colon),
            "expected `:` after the parameters",
        ));
    }
    let mut params: Vec<(String, Span)> = Vec::new();
    if !src[open + 1..close].trim().is_empty() {
        for r in split_commas(src, open + 1..close) {
            let (at, p) = trimmed(src, r);
            let span = Span::new(at, at + p.len());
            if identifier_len(p) != p.len() || p.is_empty() {
                return Err(syntax(src, span, "a parameter is a name"));
            }
            if params.iter().any(|(q, _)| q == p) {
                return Err(syntax(src, span, format!("duplicate parameter `{p}`")));
            }
            params.push((p.to_string(), span));
        }
    }
    let span = Span::new(start, colon + 1);
    let inline = colon + 1..header.end;
    let body = suite(src, lines, pos, indent, line, 1, inline, span)?;
    Ok(KernelDef {
        name: src[name_span.start..name_span.end].to_string(),
        name_span,
        params,
        body,
        span,
        source: None,
    })
}

/// The block of a compound statement whose header is statement `first - 1` of `line`: the rest
/// of the header's line (`inline`, then the line's later statements), or the lines after it
/// indented deeper than `indent`.
#[allow(clippy::too_many_arguments)]
fn suite(
    src: &str,
    lines: &[Line],
    pos: &mut usize,
    indent: usize,
    line: &Line,
    first: usize,
    inline: Range<usize>,
    header: Span,
) -> Result<Vec<KStmt>> {
    if !src[inline.clone()].trim().is_empty() {
        let mut ranges = vec![inline];
        ranges.extend(line.stmts[first..].iter().cloned());
        return ranges.into_iter().map(|r| simple(src, r)).collect();
    }
    if first < line.stmts.len() {
        let r = line.stmts[first].clone();
        return Err(syntax(
            src,
            Span::new(r.start, r.start),
            "a block after `:` either stays on its line or starts on the next, indented",
        ));
    }
    match lines.get(*pos) {
        Some(next) if next.indent > indent => block(src, lines, pos, next.indent),
        _ => Err(syntax(
            src,
            Span::new(header.end, header.end),
            "expected an indented block after `:`",
        )),
    }
}

/// The statements of lines `*pos..` indented exactly `indent`, up to the first line indented less.
fn block(src: &str, lines: &[Line], pos: &mut usize, indent: usize) -> Result<Vec<KStmt>> {
    let mut out: Vec<KStmt> = Vec::new();
    while let Some(line) = lines.get(*pos) {
        if line.indent < indent {
            break;
        }
        if line.indent > indent {
            return Err(indentation(src, line, "unexpected indent"));
        }
        *pos += 1;
        let (start, text) = trimmed(src, line.stmts[0].clone());
        let first = line.stmts[0].clone();
        if let Some((cond, inline, span)) = header(src, first.clone(), "if")? {
            let cond = cond.expect("`if` has a condition");
            let body = suite(src, lines, pos, indent, line, 1, inline, span)?;
            let mut branches = vec![(cond, body)];
            let mut orelse = Vec::new();
            // `elif` and `else` lines continue the chain.
            while let Some(next) = lines.get(*pos).filter(|l| l.indent == indent) {
                let r = next.stmts[0].clone();
                if let Some((cond, inline, span)) = header(src, r.clone(), "elif")? {
                    *pos += 1;
                    let body = suite(src, lines, pos, indent, next, 1, inline, span)?;
                    branches.push((cond.expect("`elif` has a condition"), body));
                } else if let Some((_, inline, span)) = header(src, r, "else")? {
                    *pos += 1;
                    orelse = suite(src, lines, pos, indent, next, 1, inline, span)?;
                    break;
                } else {
                    break;
                }
            }
            out.push(KStmt {
                kind: KStmtKind::If { branches, orelse },
                span,
            });
        } else if let Some((cond, inline, span)) = header(src, first.clone(), "while")? {
            let cond = cond.expect("`while` has a condition");
            let body = suite(src, lines, pos, indent, line, 1, inline, span)?;
            out.push(KStmt {
                kind: KStmtKind::While { cond, body },
                span,
            });
        } else if let Some((var, var_span, range, span, inline)) = for_header(src, first)? {
            let inline = inline.unwrap_or(span.end..span.end);
            let body = suite(src, lines, pos, indent, line, 1, inline, span)?;
            out.push(KStmt {
                kind: KStmtKind::For {
                    var,
                    var_span,
                    range,
                    body,
                },
                span,
            });
        } else if let Some(kw) = ["elif", "else"]
            .into_iter()
            .find(|kw| keyword(text, kw).is_some())
        {
            return Err(syntax(
                src,
                Span::new(start, start + kw.len()),
                format!("`{kw}` without an `if` before it"),
            ));
        } else if keyword(text, "def").is_some() {
            return Err(syntax(
                src,
                Span::new(start, start + 3),
                "kernels cannot be defined inside kernels",
            ));
        } else {
            for r in &line.stmts {
                out.push(simple(src, r.clone())?);
            }
        }
    }
    Ok(out)
}

/// A compound statement's header (`if`, `elif`, `else`, `while`): its condition (absent for
/// `else`), the range of its inline block and its span.
type Header = (Option<Expr>, Range<usize>, Span);

/// `kw [cond]: [inline]`, or `None` when `src[range]` does not start with the keyword `kw`.
fn header(src: &str, range: Range<usize>, kw: &str) -> Result<Option<Header>> {
    let (start, text) = trimmed(src, range.clone());
    if keyword(text, kw).is_none() {
        return Ok(None);
    }
    let colon = top_level_colon(src, start + kw.len()..range.end).ok_or_else(|| {
        syntax(
            src,
            Span::new(range.end, range.end),
            format!("expected `:` to end the `{kw}` header"),
        )
    })?;
    let span = Span::new(start, colon + 1);
    let inline = colon + 1..range.end;
    let expr_range = start + kw.len()..colon;
    let expr = match kw {
        "else" => {
            if !src[expr_range.clone()].trim().is_empty() {
                return Err(syntax(
                    src,
                    Span::new(expr_range.start, expr_range.end),
                    "`else` takes no condition (write `elif cond:`)",
                ));
            }
            None
        }
        _ => {
            if src[expr_range.clone()].trim().is_empty() {
                return Err(syntax(
                    src,
                    Span::new(colon, colon),
                    format!("expected a condition after `{kw}`"),
                ));
            }
            Some(parse_range(src, expr_range)?)
        }
    };
    Ok(Some((expr, inline, span)))
}

/// One simple statement of a kernel: an assignment (plain, augmented or of a tuple), `return`,
/// `break`, `continue` or `pass`.
fn simple(src: &str, range: Range<usize>) -> Result<KStmt> {
    let (start, text) = trimmed(src, range);
    let span = Span::new(start, start + text.len());
    let kind = match text {
        "pass" => KStmtKind::Pass,
        "break" => KStmtKind::Break,
        "continue" => KStmtKind::Continue,
        "return" => return Err(syntax(src, span, "a kernel returns a value: `return expr`")),
        _ if keyword(text, "return").is_some() => {
            KStmtKind::Return(parse_range(src, start + 6..span.end)?)
        }
        _ => match assignment(src, span.start..span.end) {
            Some((eq, op)) => assign(src, span, eq, op)?,
            None => {
                let hint = ["if", "elif", "else", "while", "for", "def"]
                    .into_iter()
                    .find(|kw| keyword(text, kw).is_some())
                    .map_or(String::new(), |kw| {
                        format!("; `{kw}` must start its own line")
                    });
                return Err(syntax(
                    src,
                    span,
                    format!("a kernel statement is an assignment, `if`, `while`, `for`, `break`, `continue`, `pass` or `return`{hint}"),
                ));
            }
        },
    };
    Ok(KStmt { kind, span })
}

/// `a = x`, `a op= x` or `a, b = x, y`.
fn assign(src: &str, span: Span, eq: usize, op: Option<BinOp>) -> Result<KStmtKind> {
    let op_len = op.map_or(0, |o| o.symbol().len());
    let mut targets = Vec::new();
    for r in split_commas(src, span.start..eq - op_len) {
        let (at, name) = trimmed(src, r);
        let name_span = Span::new(at, at + name.len());
        if name.is_empty() || identifier_len(name) != name.len() {
            return Err(syntax(
                src,
                name_span,
                "a kernel assigns to names only (`x = ...`, `a, b = ...`): it cannot write arrays",
            ));
        }
        targets.push((name.to_string(), name_span));
    }
    let mut values: Vec<Expr> = split_commas(src, eq + 1..span.end)
        .into_iter()
        .map(|r| parse_range(src, r))
        .collect::<Result<_>>()?;
    if values.len() != targets.len() {
        return Err(syntax(
            src,
            span,
            format!(
                "{} name{} but {} value{}",
                targets.len(),
                if targets.len() == 1 { "" } else { "s" },
                values.len(),
                if values.len() == 1 { "" } else { "s" }
            ),
        ));
    }
    if let Some(op) = op {
        if targets.len() != 1 {
            return Err(syntax(src, span, "an augmented assignment sets one name"));
        }
        let (name, name_span) = targets[0].clone();
        let rhs = values.pop().expect("one value");
        values.push(Expr {
            span: name_span.to(rhs.span),
            kind: ExprKind::Binary {
                op,
                op_span: Span::new(eq - op_len, eq + 1),
                lhs: Box::new(Expr {
                    kind: ExprKind::Name(name),
                    span: name_span,
                }),
                rhs: Box::new(rhs),
            },
        });
    }
    Ok(KStmtKind::Assign { targets, values })
}

/// `text` after the keyword `kw`, when `text` starts with it as a whole word.
fn keyword<'t>(text: &'t str, kw: &str) -> Option<&'t str> {
    let rest = text.strip_prefix(kw)?;
    let whole = rest
        .chars()
        .next()
        .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
    whole.then_some(rest)
}

/// The length of the identifier at the start of `s` (0 when none starts there).
fn identifier_len(s: &str) -> usize {
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        return 0;
    }
    s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len())
}

/// `src[range]` split at the commas outside brackets.
fn split_commas(src: &str, range: Range<usize>) -> Vec<Range<usize>> {
    let (mut out, mut depth, mut from) = (Vec::new(), 0usize, range.start);
    for i in range.clone() {
        match src.as_bytes()[i] {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                out.push(from..i);
                from = i + 1;
            }
            _ => {}
        }
    }
    out.push(from..range.end);
    out
}

#[cfg(test)]
mod tests {
    use super::super::ast::{KStmt, KStmtKind};
    use super::super::program::parse;

    /// One letter per statement: a(ssign, with its name count), i(f: its branches in brackets,
    /// `|` before the else block), w(hile), f(or), b(reak), c(ontinue), p(ass), r(eturn).
    fn shape(src: &str) -> String {
        fn walk(stmts: &[KStmt]) -> String {
            stmts
                .iter()
                .map(|s| match &s.kind {
                    KStmtKind::Assign { targets, .. } => format!("a{}", targets.len()),
                    KStmtKind::If { branches, orelse } => {
                        let arms: Vec<String> = branches.iter().map(|(_, b)| walk(b)).collect();
                        format!("i[{}|{}]", arms.join(","), walk(orelse))
                    }
                    KStmtKind::While { body, .. } => format!("w[{}]", walk(body)),
                    KStmtKind::For { body, .. } => format!("f[{}]", walk(body)),
                    KStmtKind::Break => "b".into(),
                    KStmtKind::Continue => "c".into(),
                    KStmtKind::Pass => "p".into(),
                    KStmtKind::Return(_) => "r".into(),
                })
                .collect()
        }
        let p = parse(src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
        p.kernels
            .iter()
            .map(|k| walk(&k.body))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn blocks_chains_and_inline_bodies() {
        assert_eq!(shape("def f(a): return a\nf(1)"), "r");
        assert_eq!(
            shape("def f(a):\n    x, y = a, 2; x += 1\n    return x"),
            "a2a1r"
        );
        assert_eq!(
            shape("def f(a):\n    if a: return 1\n    elif a > 2:\n        pass\n    else: b = 1; c = 2\n    return 0"),
            "i[r,p|a1a1]r"
        );
        assert_eq!(
            shape("def f(a):\n    while a > 0:\n        for i in range(3):\n            if i: break\n            continue\n        a -= 1\n    return a"),
            "w[f[i[b|]c]a1]r"
        );
        assert_eq!(
            shape("def f():\n    return 1\ndef g(x):\n    return f()"),
            "r r"
        );
        let p = parse("def f(a, b):\n    return a\nf(1, 2)").unwrap();
        assert_eq!(p.kernels[0].params.len(), 2);
        assert_eq!(p.stmts.len(), 1);
    }
}
