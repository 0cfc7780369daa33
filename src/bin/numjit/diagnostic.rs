//! The REPL's error: a headline and, when known, the byte range of the statement it is about.
//!
//! numjit's own errors are converted into this type rather than printed with their `Display`,
//! because their spans count from the start of the *expression*, while the user typed a whole
//! statement (`x = 1 + nope`) whose generator calls the REPL may have rewritten. Rendering keeps
//! numjit's layout: `kind error: message`, then the line, then carets under the span.

use std::ops::Range;

/// An error in one statement; the session reports it and goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub headline: String,
    pub span: Option<Range<usize>>,
}

impl Diagnostic {
    /// An error pointing at `span` of the statement.
    pub fn at(span: Range<usize>, headline: impl Into<String>) -> Diagnostic {
        Diagnostic {
            headline: headline.into(),
            span: Some(span),
        }
    }

    /// A message that points at no part of the statement (it shows its own place, if any).
    pub fn unplaced(headline: impl Into<String>) -> Diagnostic {
        Diagnostic {
            headline: headline.into(),
            span: None,
        }
    }

    /// A numjit error, with its span moved by `place` from expression to statement offsets.
    pub fn from_numjit(err: &numjit::Error, place: impl Fn(Range<usize>) -> Range<usize>) -> Self {
        Diagnostic {
            headline: format!(
                "{} error: {}",
                err.kind().name().replace('_', " "),
                err.message()
            ),
            span: err.span().map(|s| place(s.start..s.end)),
        }
    }

    /// The headline, then the statement line holding the span with carets under it.
    pub fn render(&self, statement: &str) -> String {
        match &self.span {
            Some(span) => format!("{}\n{}", self.headline, caret(statement, span.clone())),
            None => self.headline.clone(),
        }
    }
}

/// Draws the line of `src` containing `span` and a caret line under it. Columns count
/// characters, so carets line up under non-ASCII text; an empty span gets one caret.
fn caret(src: &str, span: Range<usize>) -> String {
    let start = floor_char_boundary(src, span.start.min(src.len()));
    let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = src[start..].find('\n').map_or(src.len(), |i| start + i);
    let end = floor_char_boundary(src, span.end.clamp(start, line_end));
    let column = src[line_start..start].chars().count();
    let width = src[start..end].chars().count().max(1);
    format!(
        "  {}\n  {}{}",
        &src[line_start..line_end],
        " ".repeat(column),
        "^".repeat(width)
    )
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_under_span_of_the_right_line() {
        let d = Diagnostic::at(10..14, "unknown name error: unknown name `nope`");
        assert_eq!(
            d.render("x = (1 +\n nope)"),
            "unknown name error: unknown name `nope`\n   nope)\n   ^^^^"
        );
    }

    #[test]
    fn numjit_spans_are_moved_into_the_statement() {
        let vars = numjit::Vars::new();
        let err = numjit::evaluate("1 + nope", &vars).unwrap_err();
        let d = Diagnostic::from_numjit(&err, |r| r.start + 4..r.end + 4);
        assert!(d
            .render("x = 1 + nope")
            .ends_with("  x = 1 + nope\n          ^^^^"));
    }
}
