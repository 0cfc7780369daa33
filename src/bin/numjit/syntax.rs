//! A tiny scanner for the REPL's surface syntax: the statements, comments, string literals and
//! generator calls that surround numjit expressions.
//!
//! It never parses an expression (numjit does that, with proper errors); it only needs to know
//! where brackets, quotes, identifiers and separators are, so that `(` inside a comment or `;`
//! inside a file name do not confuse the REPL.

use std::ops::Range;

/// What a token is; only the distinctions the REPL acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ident,
    Number,
    /// A `"…"` or `'…'` literal; `closed` is false when the line ended first.
    Str {
        closed: bool,
    },
    Open,
    Close,
    Comma,
    Semicolon,
    Newline,
    /// A lone `=` (not part of `==`, `<=`, `>=`, `!=`).
    Assign,
    /// `\` — at the end of a line it continues the statement on the next one.
    Backslash,
    /// `# …` up to the end of the line.
    Comment,
    /// Any other operator or character.
    Other,
}

/// A token: its kind and its byte range in the scanned text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub span: Range<usize>,
}

impl Token {
    /// The token's text in `src` (the text it was scanned from).
    pub fn text<'s>(&self, src: &'s str) -> &'s str {
        &src[self.span.clone()]
    }
}

/// Operators of two characters, so that `==` or `<=` are not read as containing an assignment.
const TWO_CHAR_OPERATORS: [&str; 8] = ["==", "<=", ">=", "!=", "**", "//", "<<", ">>"];

/// Splits `src` into tokens, skipping spaces and tabs. Never fails: unknown characters are
/// `Other` tokens that numjit will report with a caret.
pub fn scan(src: &str) -> Vec<Token> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < src.len() {
        let c = src[i..].chars().next().unwrap_or(' ');
        let start = i;
        let kind = match c {
            ' ' | '\t' | '\r' => {
                i += 1;
                continue;
            }
            '\n' => {
                i += 1;
                Kind::Newline
            }
            '#' => {
                i = line_end(src, i);
                Kind::Comment
            }
            '"' | '\'' => {
                let end = src[i + 1..line_end(src, i)].find(c).map(|j| i + 1 + j);
                i = end.map_or(line_end(src, i), |e| e + 1);
                Kind::Str {
                    closed: end.is_some(),
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                i = skip_while(bytes, i, |b| b.is_ascii_alphanumeric() || b == b'_');
                Kind::Ident
            }
            c if c.is_ascii_digit()
                || (c == '.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                i = number_end(bytes, i);
                Kind::Number
            }
            '(' | '[' | '{' => {
                i += 1;
                Kind::Open
            }
            ')' | ']' | '}' => {
                i += 1;
                Kind::Close
            }
            ',' => {
                i += 1;
                Kind::Comma
            }
            ';' => {
                i += 1;
                Kind::Semicolon
            }
            '\\' => {
                i += 1;
                Kind::Backslash
            }
            _ if TWO_CHAR_OPERATORS.iter().any(|op| src[i..].starts_with(op)) => {
                i += 2;
                Kind::Other
            }
            '=' => {
                i += 1;
                Kind::Assign
            }
            c => {
                i += c.len_utf8();
                Kind::Other
            }
        };
        tokens.push(Token {
            kind,
            span: start..i,
        });
    }
    tokens
}

fn line_end(src: &str, from: usize) -> usize {
    src[from..].find('\n').map_or(src.len(), |j| from + j)
}

fn skip_while(bytes: &[u8], mut i: usize, keep: impl Fn(u8) -> bool) -> usize {
    while i < bytes.len() && keep(bytes[i]) {
        i += 1;
    }
    i
}

/// The end of a numeric literal such as `10_000`, `1.5e-3` or `.5`: letters are included so that
/// the `e5` of `1e5` is never mistaken for a name.
fn number_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start;
    while i < bytes.len() {
        let b = bytes[i];
        let exponent_sign =
            matches!(b, b'+' | b'-') && i > start && matches!(bytes[i - 1], b'e' | b'E');
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || exponent_sign {
            i += 1;
        } else {
            break;
        }
    }
    i
}

/// The index of the token closing the bracket opened at `tokens[open]`, if it is closed.
pub fn matching_close(tokens: &[Token], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t.kind {
            Kind::Open => depth += 1,
            Kind::Close => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The byte ranges of the comma-separated arguments between `tokens[open]` and `tokens[close]`
/// (empty for `f()`), split only at top-level commas.
pub fn arguments(tokens: &[Token], open: usize, close: usize) -> Vec<Range<usize>> {
    let inner = &tokens[open + 1..close];
    if inner.is_empty() {
        return Vec::new();
    }
    let mut args = Vec::new();
    let mut depth = 0usize;
    let mut start = tokens[open].span.end;
    for t in inner {
        match t.kind {
            Kind::Open => depth += 1,
            Kind::Close => depth = depth.saturating_sub(1),
            Kind::Comma if depth == 0 => {
                args.push(start..t.span.start);
                start = t.span.end;
            }
            _ => {}
        }
    }
    args.push(start..tokens[close].span.start);
    args
}

/// `range` without its leading and trailing whitespace in `src`.
pub fn trim_range(src: &str, range: Range<usize>) -> Range<usize> {
    let text = &src[range.clone()];
    let start = range.start + (text.len() - text.trim_start().len());
    let end = range.end - (text.len() - text.trim_end().len());
    start..end.max(start)
}

/// True when `word` can name a variable: an identifier that is not a keyword of the language.
pub fn is_variable_name(word: &str) -> bool {
    const NOT_NAMES: [&str; 16] = [
        "if", "else", "for", "in", "while", "def", "return", "let", "lambda", "and", "or", "not",
        "None", "is", "True", "False",
    ];
    let mut chars = word.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !NOT_NAMES.contains(&word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Kind> {
        scan(src).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn assignment_is_not_comparison() {
        assert_eq!(
            kinds("a = b == c"),
            [
                Kind::Ident,
                Kind::Assign,
                Kind::Ident,
                Kind::Other,
                Kind::Ident
            ]
        );
        assert_eq!(kinds("a <= b")[1], Kind::Other);
    }

    #[test]
    fn exponents_are_part_of_numbers() {
        let src = "1e-5 + e";
        let tokens = scan(src);
        assert_eq!(tokens[0].text(src), "1e-5");
        assert_eq!(tokens[2].text(src), "e");
    }

    #[test]
    fn strings_hide_separators_and_comments_hide_brackets() {
        let src = "save('a;b.npy', x) # (";
        let k = kinds(src);
        assert_eq!(k[2], Kind::Str { closed: true });
        assert!(!k.contains(&Kind::Semicolon));
        assert_eq!(k.last(), Some(&Kind::Comment));
    }

    #[test]
    fn arguments_split_at_top_level_commas() {
        let src = "f(1, g(2, 3), 4)";
        let tokens = scan(src);
        let close = matching_close(&tokens, 1).unwrap();
        let args: Vec<&str> = arguments(&tokens, 1, close)
            .into_iter()
            .map(|r| src[r].trim())
            .collect();
        assert_eq!(args, ["1", "g(2, 3)", "4"]);
    }
}
