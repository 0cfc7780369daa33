//! The lexical level of the grammar ("Tokens" in `grammar/numjit.ebnf`): whitespace, numbers,
//! names, operators, and the error plumbing shared with `expr`.
//!
//! Every lexeme parser skips the whitespace in front of its token and returns the token text as a
//! sub-slice of the source. Slices, not spans, travel through the parser (errors included): the
//! caller turns one into byte offsets with `nom::Offset`, so this module never needs the source.

use nom::branch::alt;
use nom::bytes::complete::take_while;
use nom::character::complete::{anychar, char, digit1, one_of, satisfy};
use nom::combinator::{consumed, opt, recognize, verify};
use nom::error::ParseError;
use nom::multi::many0;
use nom::sequence::{pair, preceded};
use nom::{Err, IResult, Offset, Parser};

use crate::core::error::ErrorKind;

/// Why a parser stopped.
#[derive(Debug)]
pub(super) enum Stop<'a> {
    /// Nothing matched (`Err::Error`): an alternative may still match, or the caller reports
    /// what it expected where it started.
    NoMatch,
    /// A final diagnosis (`Err::Failure`): parsing ends with this error.
    Fatal(Diag<'a>),
}

impl<'a> ParseError<&'a str> for Stop<'a> {
    fn from_error_kind(_: &'a str, _: nom::error::ErrorKind) -> Self {
        Stop::NoMatch
    }

    fn append(_: &'a str, _: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

/// The result of every parser here and in `expr`.
pub(super) type PResult<'a, O> = IResult<&'a str, O, Stop<'a>>;

/// An error located by a slice of the source (empty at the end of input).
#[derive(Debug)]
pub(super) struct Diag<'a> {
    pub kind: ErrorKind,
    pub at: &'a str,
    pub message: String,
}

impl<'a> Diag<'a> {
    pub fn syntax(at: &'a str, message: impl Into<String>) -> Diag<'a> {
        Diag {
            kind: ErrorKind::Syntax,
            at,
            message: message.into(),
        }
    }
}

/// A diagnosis is final: `?` turns it into a nom failure so no `alt` tries another branch.
impl<'a> From<Diag<'a>> for Err<Stop<'a>> {
    fn from(diag: Diag<'a>) -> Self {
        Err::Failure(Stop::Fatal(diag))
    }
}

/// Words kept for later versions of the language; they are errors wherever they appear.
const RESERVED: [&str; 14] = [
    "if", "else", "for", "in", "while", "def", "return", "let", "lambda", "and", "or", "not",
    "None", "is",
];

/// Operator and delimiter tokens, two-character ones first so the longest match wins: `**` is
/// never read as two `*`, nor `<=` as `<` then `=`. `&&`, `||`, `!` and a lone `=` are not part of
/// the language; they are tokens only so that errors can name them and suggest the right operator.
const PUNCTS: [&str; 26] = [
    "**", "//", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "*", "/", "%", "+", "-", "<", ">",
    "|", "^", "&", "~", "(", ")", ",", "=", "!",
];

/// `WS*`: spaces, tabs, carriage returns, line feeds. Not nom's `multispace0`: in nom 8.0.0,
/// whitespace running to the end of input leaves a remainder that points back at its start
/// (rust-bakery/nom#1808), which would misplace every error reported at the end of input.
fn whitespace(i: &str) -> PResult<'_, &str> {
    take_while(|c| matches!(c, ' ' | '\t' | '\r' | '\n')).parse(i)
}

/// Runs `p` after the whitespace that may precede any token.
pub(super) fn lexeme<'a, O>(
    p: impl Parser<&'a str, Output = O, Error = Stop<'a>>,
) -> impl Parser<&'a str, Output = O, Error = Stop<'a>> {
    preceded(whitespace, p)
}

/// The input after leading whitespace.
pub(super) fn skip_ws(i: &str) -> &str {
    whitespace(i).map_or(i, |(rest, _)| rest)
}

/// `Identifier ::= [A-Za-z_] [A-Za-z0-9_]*`, reserved words and booleans included.
fn identifier(i: &str) -> PResult<'_, &str> {
    recognize(pair(
        satisfy(|c| c.is_ascii_alphabetic() || c == '_'),
        take_while(|c: char| c.is_ascii_alphanumeric() || c == '_'),
    ))
    .parse(i)
}

/// Any identifier, reserved words included (`None` in `axis=None`).
pub(super) fn name_or_word(i: &str) -> PResult<'_, &str> {
    identifier(i)
}

fn is_reserved(word: &str) -> bool {
    RESERVED.contains(&word)
}

/// `Name ::= Identifier - (Reserved | Boolean)`.
pub(super) fn name(i: &str) -> PResult<'_, &str> {
    lexeme(verify(identifier, |w: &str| {
        !is_reserved(w) && w != "True" && w != "False"
    }))
    .parse(i)
}

/// `Boolean ::= "True" | "False"`, with the token for its span.
pub(super) fn boolean(i: &str) -> PResult<'_, (bool, &str)> {
    let (rest, word) =
        lexeme(verify(identifier, |w: &str| w == "True" || w == "False")).parse(i)?;
    Ok((rest, (word == "True", word)))
}

/// The next operator or delimiter token (longest match).
pub(super) fn punct(i: &str) -> PResult<'_, &str> {
    lexeme(raw_punct).parse(i)
}

fn raw_punct(i: &str) -> PResult<'_, &str> {
    match PUNCTS.iter().find(|p| i.starts_with(**p)) {
        Some(p) => Ok((&i[p.len()..], &i[..p.len()])),
        None => Err(Err::Error(Stop::NoMatch)),
    }
}

/// Exactly the token `s`; thanks to the longest match, `symbol("=")` does not match `==`.
pub(super) fn symbol<'a>(
    s: &'static str,
) -> impl Parser<&'a str, Output = &'a str, Error = Stop<'a>> {
    verify(punct, move |t: &str| t == s)
}

/// `String ::= [bB]? ("'" Char* "'" | '"' Char* '"')`: a string literal's bytes, with the token
/// for its span. Escapes: `\\ \' \" \n \r \t \0 \xHH`; a plain string is its UTF-8 encoding.
/// An opening quote commits: an unterminated literal or an unknown escape is an error here.
pub(super) fn string(i: &str) -> PResult<'_, (Vec<u8>, &str)> {
    let start = skip_ws(i);
    let body = start.strip_prefix(['b', 'B']).unwrap_or(start);
    let Some(quote) = body.chars().next().filter(|&c| c == '\'' || c == '"') else {
        return Err(Err::Error(Stop::NoMatch));
    };
    let prefix = start.len() - body.len();
    let mut bytes = Vec::new();
    let mut chars = body[1..].char_indices();
    while let Some((k, c)) = chars.next() {
        let at = prefix + 1 + k;
        match c {
            c if c == quote => {
                let end = at + 1;
                return Ok((&start[end..], (bytes, &start[..end])));
            }
            '\n' | '\r' => break,
            '\\' => {
                let escape = chars.next().map(|(_, e)| e);
                let byte = match escape {
                    Some('\\') => b'\\',
                    Some('\'') => b'\'',
                    Some('"') => b'"',
                    Some('n') => b'\n',
                    Some('r') => b'\r',
                    Some('t') => b'\t',
                    Some('0') => 0,
                    Some('x') => {
                        let hex: String = chars.by_ref().take(2).map(|(_, h)| h).collect();
                        match u8::from_str_radix(&hex, 16) {
                            Ok(b) if hex.len() == 2 => b,
                            _ => {
                                let bad = &start[at..(at + 2 + hex.len()).min(start.len())];
                                return Err(Diag::syntax(
                                    bad,
                                    format!("invalid escape `{bad}`: `\\x` takes two hex digits"),
                                )
                                .into());
                            }
                        }
                    }
                    _ => {
                        let len = 1 + escape.map_or(0, char::len_utf8);
                        let bad = &start[at..at + len];
                        return Err(Diag::syntax(
                            bad,
                            format!(
                                "unknown escape `{bad}` in a string literal (known: \\\\ \\' \\\" \\n \\r \\t \\0 \\xHH)"
                            ),
                        )
                        .into());
                    }
                };
                bytes.push(byte);
            }
            c => {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    let open = &start[..prefix + 1];
    Err(Diag::syntax(
        open,
        "unterminated string literal: close it with the same quote on this line",
    )
    .into())
}

/// A number literal's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Number {
    Int(i64),
    Float(f64),
    /// An imaginary literal (`1j`, `2.5e3J`): the value of its imaginary part.
    Imag(f64),
}

/// `Number ::= (Integer | Float) [jJ]?`, with the token for its span. A digit commits: a malformed or
/// too-large literal is an error here, not a mismatch.
pub(super) fn number(i: &str) -> PResult<'_, (Number, &str)> {
    let (rest, (text, is_float)) = lexeme(consumed(literal)).parse(i)?;
    // Python's imaginary suffix: `1j`, `2.5e3j` (any digits, as `09j` is valid Python).
    if let Some(after) = rest.strip_prefix(['j', 'J']) {
        let glued_more =
            after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if !glued_more {
            let value = match float_value(text) {
                Number::Float(v) => v,
                _ => unreachable!("float_value gives a float"),
            };
            let token = &i[i.offset(text)..i.offset(text) + text.len() + 1];
            return Ok((after, (Number::Imag(value), token)));
        }
    }
    // A literal glued to more word characters (`2x`, `1__0`, `1e`, `0x1F`, `1.2.3`) is one bad
    // token, reported whole rather than as a number followed by garbage.
    let glued = rest.len()
        - rest
            .trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            .len();
    if glued > 0 {
        let start = i.offset(text);
        let bad = &i[start..start + text.len() + glued];
        return Err(Diag::syntax(bad, format!("invalid number literal `{bad}`")).into());
    }
    let value = if is_float {
        float_value(text)
    } else {
        int_value(text)?
    };
    Ok((rest, (value, text)))
}

/// The literal's text shape; the output says whether it has a fraction or exponent (a float).
fn literal(i: &str) -> PResult<'_, bool> {
    alt((
        // `.25`, `.5e3`: no digits before the point.
        (fraction, opt(exponent)).map(|_| true),
        // `1`, `1.`, `1.5`, `1e3`, `1.e3`.
        (
            digitpart,
            opt(pair(char('.'), opt(digitpart))),
            opt(exponent),
        )
            .map(|(_, point, exp)| point.is_some() || exp.is_some()),
    ))
    .parse(i)
}

/// `DigitPart ::= Digit ("_"? Digit)*`: an underscore only ever sits between two digits.
fn digitpart(i: &str) -> PResult<'_, &str> {
    recognize(pair(digit1, many0(pair(opt(char('_')), digit1)))).parse(i)
}

/// `Fraction ::= "." DigitPart`.
fn fraction(i: &str) -> PResult<'_, &str> {
    recognize(pair(char('.'), digitpart)).parse(i)
}

/// `Exponent ::= [eE] [+-]? DigitPart`.
fn exponent(i: &str) -> PResult<'_, &str> {
    recognize((one_of("eE"), opt(one_of("+-")), digitpart)).parse(i)
}

fn float_value(text: &str) -> Number {
    // The lexer only accepts shapes Rust's float syntax also accepts, so parsing cannot fail;
    // out-of-range values round to infinity or zero as in Python.
    Number::Float(text.replace('_', "").parse().unwrap_or(f64::NAN))
}

fn int_value(text: &str) -> Result<Number, Diag<'_>> {
    let digits = text.replace('_', "");
    if digits.starts_with('0') && digits.bytes().any(|b| b != b'0') {
        let hint = digits.trim_start_matches('0');
        return Err(Diag::syntax(
            text,
            format!("leading zeros in integer literals are not permitted; write `{hint}`"),
        ));
    }
    // Only overflow can fail: the text is all digits.
    digits.parse().map(Number::Int).map_err(|_| {
        Diag::syntax(
            text,
            format!("integer literal too large; the largest is {}", i64::MAX),
        )
    })
}

/// The token at the start of `i` (after whitespace) for "unexpected `…`" messages: a word, a number
/// with whatever is glued to it, an operator, or a single character. Empty at the end of input.
pub(super) fn next_token(i: &str) -> &str {
    let i = skip_ws(i);
    let glued_number = recognize(pair(
        alt((digit1, recognize(pair(char('.'), digit1)))),
        take_while(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.'),
    ));
    alt((identifier, glued_number, raw_punct, recognize(anychar)))
        .parse(i)
        .map_or(&i[..0], |(_, token)| token)
}

/// The error for a token that cannot stand where it is: hints for Python-isms and reserved words,
/// otherwise "unexpected `x`; {expected}". At the end of input the message is `expected` alone.
pub(super) fn unexpected<'a>(at: &'a str, expected: &str) -> Diag<'a> {
    let token = next_token(at);
    let message = match token {
        "" => expected.to_string(),
        "&&" => "`&&` is not supported; use `&` for element-wise and, e.g. (a > 0) & (b > 0)"
            .to_string(),
        "||" => {
            "`||` is not supported; use `|` for element-wise or, e.g. (a > 0) | (b > 0)".to_string()
        }
        "!" => {
            "`!` is not supported; use `~` for element-wise not, e.g. ~(a > 0), or `!=` to compare"
                .to_string()
        }
        "=" => "assignment is not supported in an expression; use `==` to compare".to_string(),
        word if is_reserved(word) => reserved_message(word),
        _ => format!("unexpected `{}`; {expected}", token.escape_debug()),
    };
    Diag::syntax(token, message)
}

fn reserved_message(word: &str) -> String {
    match word {
        "and" => {
            "`and` is a reserved keyword; use `&` for element-wise and, e.g. (a > 0) & (b > 0)"
                .to_string()
        }
        "or" => "`or` is a reserved keyword; use `|` for element-wise or, e.g. (a > 0) | (b > 0)"
            .to_string(),
        "not" => {
            "`not` is a reserved keyword; use `~` for element-wise not, e.g. ~(a > 0)".to_string()
        }
        _ => format!("`{word}` is a reserved keyword and cannot be used in an expression yet"),
    }
}
