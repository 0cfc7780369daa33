//! Turns typed or scripted text into statements, the same way for the terminal, `-c`, `run FILE`
//! and piped input: `;` and newlines separate statements at the top level, an unclosed bracket
//! or a trailing `\` continues a statement on the next line, `#` starts a comment, and a `for`
//! line with the indented lines after it is one statement (a block, run as a program).

use crate::syntax::{scan, Kind};

/// One statement and the line of the input it starts on (1-based, for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub text: String,
    pub line: usize,
}

/// True when typed input cannot end here: a bracket is still open, the last line ends with `\`,
/// or a `for` block is open and the last line is not empty (an empty line ends a block, as in
/// Python's REPL).
pub fn is_incomplete(src: &str) -> bool {
    if open_continuation(src) {
        return true;
    }
    let last_line = src.rsplit('\n').next().unwrap_or("");
    in_block(src) && !last_line.trim().is_empty()
}

/// True when the last top-level statement of `src` is a `for` block: the last line that is
/// neither indented nor blank starts with `for`.
pub fn in_block(src: &str) -> bool {
    src.lines()
        .rev()
        .find(|l| !l.trim().is_empty() && !is_indented(l))
        .is_some_and(starts_block)
}

/// True when `line` belongs to an open block: indented, or blank.
pub fn continues_block(line: &str) -> bool {
    line.trim().is_empty() || is_indented(line)
}

fn is_indented(line: &str) -> bool {
    line.starts_with([' ', '\t'])
}

/// True when a statement starts with the keyword `for` or `def` (also after a command:
/// `:ir for …`): its block follows on indented lines.
pub fn starts_block(text: &str) -> bool {
    let mut text = text.trim_start();
    if text.starts_with(':') {
        text = text
            .split_once(char::is_whitespace)
            .map_or("", |(_, rest)| rest.trim_start());
    }
    starts_with_keyword(text, "for") || starts_with_keyword(text, "def")
}

/// True when a statement is a kernel definition (`def name(...):` and its block).
pub fn is_definition(text: &str) -> bool {
    starts_with_keyword(text.trim_start(), "def")
}

fn starts_with_keyword(text: &str, kw: &str) -> bool {
    text.strip_prefix(kw)
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_whitespace()))
}

/// True when a bracket is still open or the last line ends with `\`.
pub fn open_continuation(src: &str) -> bool {
    let tokens = scan(src);
    let mut depth = 0usize;
    for t in &tokens {
        match t.kind {
            Kind::Open => depth += 1,
            // An extra `)` is an error numjit reports; it must not hide a later `(`.
            Kind::Close => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    depth > 0 || tokens.last().is_some_and(|t| t.kind == Kind::Backslash)
}

/// Splits complete input into statements; `first_line` is the line number of `src`'s first line.
///
/// Comments and line-continuing backslashes become spaces, so byte offsets in a statement still
/// match what the user typed on that line (the caret of an error lands under the right column).
pub fn split(src: &str, first_line: usize) -> Vec<Statement> {
    let tokens = scan(src);
    let mut cleaned = src.as_bytes().to_vec();
    let mut continued_newlines = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        let next_is_newline = tokens.get(i + 1).is_some_and(|n| n.kind == Kind::Newline);
        let blank = match t.kind {
            Kind::Comment => true,
            Kind::Backslash if next_is_newline => {
                continued_newlines.push(i + 1);
                true
            }
            _ => false,
        };
        if blank {
            cleaned[t.span.clone()].fill(b' ');
        }
    }
    // The engine reads a newline outside brackets as the end of a statement: a continued
    // line's newline becomes a space too (same byte offsets).
    for &i in &continued_newlines {
        if let Some(t) = tokens.get(i) {
            cleaned[t.span.clone()].fill(b' ');
        }
    }
    // Whole tokens were replaced by spaces, never part of a character: still UTF-8.
    let cleaned = String::from_utf8_lossy(&cleaned).into_owned();

    let mut statements = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, t) in tokens.iter().enumerate() {
        let separates = match t.kind {
            Kind::Open => {
                depth += 1;
                false
            }
            Kind::Close => {
                depth = depth.saturating_sub(1);
                false
            }
            // Inside a block, the block's own lines are the library's to split.
            Kind::Semicolon => depth == 0 && !starts_block(&cleaned[start..t.span.start]),
            Kind::Newline => {
                depth == 0
                    && !continued_newlines.contains(&i)
                    && !(starts_block(&cleaned[start..t.span.start])
                        && next_line_indented(&cleaned[t.span.end..]))
            }
            _ => false,
        };
        if separates {
            push_statement(&mut statements, &cleaned, start..t.span.start, first_line);
            start = t.span.end;
        }
    }
    push_statement(&mut statements, &cleaned, start..cleaned.len(), first_line);
    statements
}

/// True when the first non-blank line of `rest` is indented (a block goes on).
fn next_line_indented(rest: &str) -> bool {
    rest.lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(is_indented)
}

fn push_statement(
    out: &mut Vec<Statement>,
    cleaned: &str,
    range: std::ops::Range<usize>,
    first_line: usize,
) {
    let range = crate::syntax::trim_range(cleaned, range);
    if range.is_empty() {
        return;
    }
    let line = first_line + cleaned[..range.start].matches('\n').count();
    out.push(Statement {
        text: cleaned[range].to_string(),
        line,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<String> {
        split(src, 1).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn semicolons_and_newlines_separate() {
        assert_eq!(texts("a = 1; b = 2\nsum(a)"), ["a = 1", "b = 2", "sum(a)"]);
    }

    #[test]
    fn brackets_join_lines() {
        assert!(is_incomplete("sum(a,"));
        assert!(!is_incomplete("sum(a,\n b)"));
        assert_eq!(texts("sum(a,\n b); 1"), ["sum(a,\n b)", "1"]);
    }

    #[test]
    fn backslash_continues() {
        assert!(is_incomplete("a + \\"));
        let s = split("x = 1\na + \\\n b", 1);
        assert_eq!(s[1].text, "a +    b");
        assert_eq!(s[1].line, 2);
    }

    #[test]
    fn comments_are_blanked() {
        assert_eq!(texts("# setup\na = 1  # one (\n"), ["a = 1"]);
        assert!(!is_incomplete("a = 1 # ("));
    }

    #[test]
    fn a_for_block_is_one_statement() {
        let src =
            "u = zeros(5)\nfor i in range(3):\n    u[1:-1] += 1; v = u\n\n    swap(u, v)\nsum(u)";
        assert_eq!(
            texts(src),
            [
                "u = zeros(5)",
                "for i in range(3):\n    u[1:-1] += 1; v = u\n\n    swap(u, v)",
                "sum(u)"
            ]
        );
        assert_eq!(split(src, 1)[2].line, 6);
        // Typed input: a block goes on until an empty line.
        assert!(is_incomplete("for i in range(3):"));
        assert!(is_incomplete("for i in range(3):\n    u = u + 1"));
        assert!(!is_incomplete("for i in range(3):\n    u = u + 1\n"));
        assert!(
            !is_incomplete("format = 1"),
            "a name that starts with `for`"
        );
        assert!(in_block("for i in range(3):\n    u = u + 1"));
        assert!(!in_block("for i in range(3):\n    u = u + 1\nsum(u)"));
    }

    #[test]
    fn separators_inside_strings_are_text() {
        assert_eq!(texts("save(\"a;b.npy\", x)"), ["save(\"a;b.npy\", x)"]);
    }
}
