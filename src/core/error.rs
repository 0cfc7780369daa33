//! The one error type of numjit: a kind, a message, and where in the expression it happened.
//!
//! Errors are opaque ([`Error`]) with a public, field-less [`ErrorKind`] so that front ends can map
//! them to status codes (C ABI) or exception classes (Python) without matching on messages.
//! `Display` draws the expression with a caret under the offending span.

use std::fmt;

/// A half-open byte range `[start, end)` into the expression source.
///
/// ```
/// let s = numjit::Span::new(2, 5);
/// assert_eq!((s.start, s.end), (2, 5));
/// # Ok::<(), numjit::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// First byte of the span.
    pub start: usize,
    /// One past the last byte of the span.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` (byte offsets).
    ///
    /// ```
    /// assert!(numjit::Span::new(0, 0).is_empty());
    /// ```
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// True when the span covers no bytes.
    ///
    /// ```
    /// assert!(!numjit::Span::new(0, 1).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// The smallest span covering both.
    ///
    /// ```
    /// let s = numjit::Span::new(1, 2).to(numjit::Span::new(4, 6));
    /// assert_eq!(s, numjit::Span::new(1, 6));
    /// ```
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// What went wrong, for programs that react to errors (status codes, exception classes).
///
/// Each kind lists an input that triggers it.
///
/// ```
/// let err = numjit::evaluate("1 +", &numjit::Vars::new()).unwrap_err();
/// assert_eq!(err.kind(), numjit::ErrorKind::Syntax);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The text is not an expression: `1 +`, `a < b < c`, `if`.
    Syntax,
    /// A name that is neither a variable nor a constant: `b + 1` without `b`.
    UnknownName,
    /// A call of a function numjit does not have: `foo(a)`.
    UnknownFunction,
    /// A call with the wrong number of arguments or an unknown keyword: `sin(a, b)`, `sum(a, axes=0)`.
    Arity,
    /// An operation that is not defined for the operand types: `~a` on float64, `a << 1.5`,
    /// `linspace(0, a, 5)` with an array `a`, `(a + 1)[0]` (index the variable instead).
    Type,
    /// Operand shapes that do not broadcast: `(3,)` with `(4,)`.
    Broadcast,
    /// A reduction axis outside the operand's rank: `sum(a, axis=2)` for a 2-d `a`.
    Axis,
    /// An integer raised to a negative integer literal: `a ** -1` for an int64 `a`.
    NegativePower,
    /// An output array of the wrong shape or dtype given to `eval_into`, or two outputs of a
    /// program that share memory.
    Output,
    /// Variables that do not match the signature a kernel was compiled for.
    Signature,
    /// A value that makes the operation undefined: `min(a)` of an empty `a`, `arange(0, 1, 0)`,
    /// `linspace(0, 1, n)` with `n = -1`.
    Value,
    /// A limit of the engine was exceeded: more than 8 dimensions, nesting too deep,
    /// `arange(0, inf)`.
    Limit,
    /// A bug in numjit (code generation failed); please report it with the expression.
    Internal,
    /// The evaluation was stopped by [`CancelToken::cancel`](crate::CancelToken::cancel) (or
    /// `numjit_cancel` in C). Its result is discarded; a program's outputs (and an `eval_into` output) may be
    /// partly written.
    Cancelled,
    /// A file that cannot be opened, mapped or created, or is no `.npy` numjit reads
    /// ([`numjit::npy`](crate::npy)): a missing path, a truncated file, a header whose shape
    /// needs more bytes than the file has, a dtype numjit does not compute with (`complex128`).
    File,
}

impl ErrorKind {
    /// A short lower-case name of the kind, stable for use in tests and front ends.
    ///
    /// ```
    /// assert_eq!(numjit::ErrorKind::Broadcast.name(), "broadcast");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Syntax => "syntax",
            ErrorKind::UnknownName => "unknown_name",
            ErrorKind::UnknownFunction => "unknown_function",
            ErrorKind::Arity => "arity",
            ErrorKind::Type => "type",
            ErrorKind::Broadcast => "broadcast",
            ErrorKind::Axis => "axis",
            ErrorKind::NegativePower => "negative_power",
            ErrorKind::Output => "output",
            ErrorKind::Signature => "signature",
            ErrorKind::Value => "value",
            ErrorKind::Limit => "limit",
            ErrorKind::Internal => "internal",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::File => "file",
        }
    }
}

/// The error returned by every fallible numjit operation.
///
/// ```
/// let vars = numjit::Vars::new();
/// let err = numjit::evaluate("2 * nope", &vars).unwrap_err();
/// assert_eq!(err.kind(), numjit::ErrorKind::UnknownName);
/// assert_eq!(err.span(), Some(numjit::Span::new(4, 8)));
/// assert!(err.to_string().contains("^^^^"));
/// ```
#[derive(Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    span: Option<Span>,
    source: Option<String>,
}

impl Error {
    /// An error of `kind` with a lower-case message, not yet tied to a place in the source.
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: shorten_quotes(message.into()),
            span: None,
            source: None,
        }
    }

    /// An error of `kind` pointing at `span`.
    pub(crate) fn at(kind: ErrorKind, span: Span, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: shorten_quotes(message.into()),
            span: Some(span),
            source: None,
        }
    }

    /// Attaches the expression text so `Display` can draw the caret (idempotent).
    pub(crate) fn with_source(mut self, source: &str) -> Error {
        if self.source.is_none() {
            self.source = Some(source.to_string());
        }
        self
    }

    /// The text [`Error::span`] points into, when known: the expression or program compiled,
    /// or the definition of the kernel the error is in ([`crate::Kernels`]).
    ///
    /// ```
    /// let err = numjit::evaluate("1 +", &numjit::Vars::new()).unwrap_err();
    /// assert_eq!(err.source_text(), Some("1 +"));
    /// ```
    pub fn source_text(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// What kind of error this is.
    ///
    /// ```
    /// let err = numjit::evaluate("foo(1)", &numjit::Vars::new()).unwrap_err();
    /// assert_eq!(err.kind(), numjit::ErrorKind::UnknownFunction);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message alone, without the source line and caret.
    ///
    /// ```
    /// let err = numjit::evaluate("foo(1)", &numjit::Vars::new()).unwrap_err();
    /// assert!(err.message().contains("foo"));
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The byte range of the expression the error points at, when there is one.
    ///
    /// ```
    /// let err = numjit::evaluate("1 + nope", &numjit::Vars::new()).unwrap_err();
    /// assert_eq!(err.span(), Some(numjit::Span::new(4, 8)));
    /// ```
    pub fn span(&self) -> Option<Span> {
        self.span
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Debug shows the rendered form: it is what a user sees from `?` in main or a failed unwrap.
        write!(f, "Error({:?}): {}", self.kind, self)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} error: {}",
            self.kind.name().replace('_', " "),
            self.message
        )?;
        if let (Some(span), Some(src)) = (self.span, self.source.as_deref()) {
            write!(f, "\n{}", render_caret(src, span))?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// The most characters a quoted name or token (`` `…` ``) keeps in a message.
const MAX_QUOTED: usize = 40;

/// Shortens every backquoted text of `message` longer than [`MAX_QUOTED`] characters to its
/// start and an ellipsis: messages quote user text (names, tokens), and an unknown name of
/// 1 MB made a message of 1 MB.
fn shorten_quotes(message: String) -> String {
    let long = message
        .split('`')
        .skip(1)
        .step_by(2)
        .any(|q| q.chars().nth(MAX_QUOTED).is_some());
    if !long {
        return message;
    }
    message
        .split('`')
        .enumerate()
        .map(|(k, part)| match part.char_indices().nth(MAX_QUOTED) {
            Some((cut, _)) if k % 2 == 1 => format!("{}…", &part[..cut]),
            _ => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join("`")
}

/// The most characters of a source line drawn around a span, and of the caret under it.
const MAX_SHOWN: usize = 80;

/// Draws the source line containing `span` and a caret line under it; of a long line (a
/// 1 MB expression), only up to [`MAX_SHOWN`] characters around the start of the span, with
/// ellipses where it is cut.
///
/// Columns count characters, not bytes, so carets line up under non-ASCII text.
fn render_caret(src: &str, span: Span) -> String {
    let start = span.start.min(src.len());
    let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = src[start..].find('\n').map_or(src.len(), |i| start + i);
    let line = &src[line_start..line_end];
    let end = span.end.clamp(start, line_end);
    let col = src[line_start..start].chars().count();
    let width = src[start..end].chars().count().max(1);
    if line.chars().nth(MAX_SHOWN).is_none() {
        return format!("  {}\n  {}{}", line, " ".repeat(col), "^".repeat(width));
    }
    // A window from up to a quarter of it before the span's start.
    let skip = col.saturating_sub(MAX_SHOWN / 4);
    let shown: String = line.chars().skip(skip).take(MAX_SHOWN).collect();
    let (before, after) = (
        if skip > 0 { "…" } else { "" },
        if line.chars().nth(skip + MAX_SHOWN).is_some() {
            "…"
        } else {
            ""
        },
    );
    let at = col - skip + before.chars().count();
    let width = width.min(MAX_SHOWN - (col - skip));
    format!(
        "  {before}{shown}{after}\n  {}{}",
        " ".repeat(at),
        "^".repeat(width.max(1))
    )
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_under_span() {
        let e = Error::at(
            ErrorKind::UnknownName,
            Span::new(4, 7),
            "unknown name `foo`",
        )
        .with_source("1 + foo * 2");
        let s = e.to_string();
        assert_eq!(
            s,
            "unknown name error: unknown name `foo`\n  1 + foo * 2\n      ^^^"
        );
    }

    #[test]
    fn caret_on_second_line_and_empty_span() {
        let e = Error::at(ErrorKind::Syntax, Span::new(6, 6), "unexpected end")
            .with_source("a = 1\nb = ");
        assert!(e.to_string().ends_with("  b = \n  ^"), "{}", e);
    }

    #[test]
    fn huge_names_and_lines_are_shortened() {
        // A 1 MB unknown name made a 3 MB message: the name, its line and a caret under all of it.
        let name = "n".repeat(1 << 20);
        let src = format!("1 + {name} * 2");
        let e = Error::at(
            ErrorKind::UnknownName,
            Span::new(4, 4 + name.len()),
            format!("unknown name `{name}`"),
        )
        .with_source(&src);
        let shown = e.to_string();
        assert!(shown.len() < 400, "{} bytes", shown.len());
        let want_name = format!("unknown name `{}…`", "n".repeat(MAX_QUOTED));
        assert!(shown.contains(&want_name), "{shown}");
        // The caret still starts under the name.
        assert!(
            shown.ends_with(&format!(
                "\n  1 + {}…\n      {}",
                "n".repeat(76),
                "^".repeat(76)
            )),
            "{shown}"
        );
        // Far into a long line: the window starts shortly before the span.
        let src = format!("{}nope", "a + ".repeat(100));
        let e = Error::at(
            ErrorKind::UnknownName,
            Span::new(400, 404),
            "unknown name `nope`",
        )
        .with_source(&src);
        assert!(
            e.to_string()
                .ends_with("a + nope\n                       ^^^^"),
            "{e}"
        );
    }

    #[test]
    fn caret_counts_chars() {
        // `é` is two bytes but one column: the caret under `?` (byte 5) sits at column 4.
        let e = Error::at(ErrorKind::Syntax, Span::new(5, 6), "x").with_source("é + ?");
        assert!(e.to_string().ends_with("\n  é + ?\n      ^"), "{}", e);
    }
}
