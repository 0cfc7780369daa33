//! Source text → [`ast::Expr`], with nom. The grammar in `grammar/numjit.ebnf` is the definition.
//!
//! Layout: `lexeme` reads tokens (numbers, names, operators) with nom combinators and words the
//! errors about single tokens; `expr` assembles the tree with an operator-precedence parser on
//! explicit stacks, so no input, however deeply nested, can exhaust the native stack.
//!
//! What later stages can rely on, for every tree [`parse_expr`] returns:
//! - Spans are byte offsets into the source, on `char` boundaries. A binary node spans its lhs
//!   through its rhs and `op_span` is the operator token; a unary node spans the operator through
//!   the operand; a call spans the name through the `)`, and `func_span` is the name alone.
//! - Parentheses leave no node: `(a + b)` is the `+` node with its span widened over the
//!   parentheses (so `(a)` is a `Name` spanning three bytes). Errors about it underline the
//!   parentheses too; an operator's own position is always `op_span`.
//! - The tree is at most [`MAX_DEPTH`] operator and call nodes deep on any path, so recursive
//!   passes (and `Drop`) are safe. `a+a+…+a` with more than 256 operators is a `Limit` error even
//!   though its nesting is flat: the tree of a left-associative chain is as deep as it is long.
//! - Integer literals fit in `i64`. `-9223372036854775808` is `-` applied to a literal that does
//!   not fit, so it is a syntax error ("integer literal too large"). Float literals that overflow
//!   are `inf`, as in Python (`1e999`).
//! - `True`/`False` are `Bool`; `pi`, `e`, `inf`, `nan` and every other name are `Name`s.
//! - No comparison chains: a comparison's operands are never unparenthesized comparisons.
//!
//! Errors are `Syntax` (with a hint for Python-isms: `and`, `&&`, `!`, `=`, chained comparisons)
//! or `Limit`, point at the offending token (or the end of input), and carry the source text.

pub mod ast;
mod diagnose;
mod expr;
mod kernel;
mod lexeme;
pub(crate) mod names;
mod precedence;
mod program;
mod subscript;

use crate::core::error::Result;

/// The deepest nesting the parser accepts, and the deepest tree it returns.
///
/// Nesting counts open parentheses, open calls, prefix operators and `**` operators whose right
/// operand is being read (`**` is right-associative, so `a**b**c` nests); the tree's depth counts
/// operator and call nodes from the root to a leaf. Past either, parsing fails with
/// [`ErrorKind::Limit`](crate::core::error::ErrorKind::Limit).
pub const MAX_DEPTH: usize = 256;

/// The most levels of indentation a program may have, the top level included: it bounds how
/// deeply blocks nest (`for` loops, and a kernel's `if`, `while` and `for`), as Python's tokenizer
/// does. Every later stage walks blocks recursively, and 10⁴ nested loops overflowed the
/// parser's stack. Past it, parsing fails with [`ErrorKind::Limit`](crate::core::error::ErrorKind::Limit).
pub(crate) const MAX_BLOCK_DEPTH: usize = 64;

/// Parses a whole expression; trailing input, reserved keywords and chained comparisons are errors.
pub fn parse_expr(src: &str) -> Result<ast::Expr> {
    expr::parse(src)
}

/// Parses a program: statements separated by newlines or `;`, `for` loops with indented bodies
/// (see `program.rs` for the layout rules). A single expression is a program of one statement.
pub fn parse_program(src: &str) -> Result<ast::Program> {
    program::parse(src)
}

/// Parses a text of kernel definitions only (`def` blocks); each keeps the text for its errors.
pub fn parse_kernels(src: &str) -> Result<Vec<ast::KernelDef>> {
    let program = program::parse(src)?;
    if let Some(stmt) = program.stmts.first() {
        return Err(crate::core::error::Error::at(
            crate::core::error::ErrorKind::Syntax,
            stmt.span,
            "only kernel definitions (`def` blocks) can be defined here",
        )
        .with_source(src));
    }
    let text: std::sync::Arc<str> = src.into();
    Ok(program
        .kernels
        .into_iter()
        .map(|k| ast::KernelDef {
            source: Some(text.clone()),
            ..k
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::ast::{Expr, ExprKind};
    use super::{parse_expr, MAX_DEPTH};
    use crate::core::error::{Error, ErrorKind, Span};

    /// The tree as an S-expression: `(op lhs rhs)`, `(op operand)`, `(f args... :key value...)`.
    fn sexp(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Int(v) => v.to_string(),
            ExprKind::Float(v) => format!("{v:?}"),
            ExprKind::Imag(v) => format!("{v:?}j"),
            ExprKind::Bool(b) => if *b { "True" } else { "False" }.to_string(),
            ExprKind::Str(s) => format!("b{:?}", String::from_utf8_lossy(s)),
            ExprKind::Name(n) => n.clone(),
            ExprKind::Unary { op, arg } => format!("({} {})", op.symbol(), sexp(arg)),
            ExprKind::Binary { op, lhs, rhs, .. } => {
                format!("({} {} {})", op.symbol(), sexp(lhs), sexp(rhs))
            }
            ExprKind::Index { base, items } => format!("(index {} {})", sexp(base), items.len()),
            ExprKind::Call {
                func, args, kwargs, ..
            } => {
                let args = args.iter().map(sexp);
                let kwargs = kwargs
                    .iter()
                    .map(|k| format!(":{} {}", k.name, sexp(&k.value)));
                let parts: Vec<String> = std::iter::once(func.clone())
                    .chain(args)
                    .chain(kwargs)
                    .collect();
                format!("({})", parts.join(" "))
            }
        }
    }

    fn parses_to(src: &str) -> String {
        match parse_expr(src) {
            Ok(e) => sexp(&e),
            Err(e) => panic!("{src:?} failed: {e}"),
        }
    }

    fn fails(src: &str) -> Error {
        match parse_expr(src) {
            Ok(e) => panic!("{src:?} parsed as {}", sexp(&e)),
            Err(e) => e,
        }
    }

    /// Asserts a syntax error at `start..end` whose message contains `message`.
    #[track_caller]
    fn syntax_error(src: &str, (start, end): (usize, usize), message: &str) {
        let err = fails(src);
        assert_eq!(err.kind(), ErrorKind::Syntax, "{src:?}: {err}");
        assert_eq!(err.span(), Some(Span::new(start, end)), "{src:?}: {err}");
        assert!(
            err.message().contains(message),
            "{src:?}: {:?} lacks {message:?}",
            err.message()
        );
    }

    #[track_caller]
    fn limit_error(src: &str, (start, end): (usize, usize)) {
        let err = fails(src);
        assert_eq!(err.kind(), ErrorKind::Limit, "{err}");
        assert_eq!(err.span(), Some(Span::new(start, end)), "{err}");
        assert!(err.message().contains("nested too deeply"), "{err}");
    }

    /// Operator and call nodes on the longest path from `e` to a leaf.
    fn depth(e: &Expr) -> usize {
        match &e.kind {
            ExprKind::Unary { arg, .. } => 1 + depth(arg),
            ExprKind::Index { base, .. } => 1 + depth(base),
            ExprKind::Binary { lhs, rhs, .. } => 1 + depth(lhs).max(depth(rhs)),
            ExprKind::Call { args, kwargs, .. } => {
                1 + args
                    .iter()
                    .chain(kwargs.iter().map(|k| &k.value))
                    .map(depth)
                    .max()
                    .unwrap_or(0)
            }
            _ => 0,
        }
    }

    /// The examples in the header of `grammar/numjit.ebnf`, which must stay in step with it.
    const GRAMMAR_EXAMPLES: &[(&str, &str)] = &[
        ("a + b * c", "(+ a (* b c))"),
        ("a - b - c", "(- (- a b) c)"),
        ("a // b % c", "(% (// a b) c)"),
        ("a ** b ** c", "(** a (** b c))"),
        ("-a ** 2", "(- (** a 2))"),
        ("2 ** -1", "(** 2 (- 1))"),
        ("a ** -b ** 2", "(** a (- (** b 2)))"),
        ("--a", "(- (- a))"),
        ("-a * b", "(* (- a) b)"),
        ("~a & b | c ^ d", "(| (& (~ a) b) (^ c d))"),
        ("a << 2 + b", "(<< a (+ 2 b))"),
        ("a < b | c", "(< a (| b c))"),
        ("(a < b) & (c >= d)", "(& (< a b) (>= c d))"),
        ("(a + b) * c", "(* (+ a b) c)"),
        ("a != b", "(!= a b)"),
        ("where(a > 0, a, -a)", "(where (> a 0) a (- a))"),
        ("sum(a ** 2, axis=1)", "(sum (** a 2) :axis 1)"),
        ("f()", "(f)"),
        ("f(a, b,)", "(f a b)"),
        ("2 * pi * r", "(* (* 2 pi) r)"),
        (
            "1_000_000 + 2.5 + .25 + 1. + 1e-3",
            "(+ (+ (+ (+ 1000000 2.5) 0.25) 1.0) 0.001)",
        ),
        ("1E+5 * 1_0.5e1_0", "(* 100000.0 105000000000.0)"),
        ("True & ~False", "(& True (~ False))"),
        (
            "u[1:-1, ::2] + X[:, None, ...]",
            "(+ (index u 2) (index X 3))",
        ),
        (
            r#"(s >= 'ab') & contains(s, b"\x00")"#,
            r#"(& (>= s b"ab") (contains s b"\0"))"#,
        ),
        ("sum(a, axis=None)", "(sum a :axis None)"),
    ];

    #[test]
    fn string_literals_are_bytes_with_escapes_and_their_errors_point_at_them() {
        assert_eq!(parses_to(r"b'a\'b' == 'é'"), r#"(== b"a'b" b"é")"#);
        assert_eq!(parses_to(r#"B"\t\x41""#), r#"b"\tA""#);
        for (src, at) in [
            ("a == 'abc", 5),
            (r"'a\qb'", 2),
            (r"'\x4g'", 1),
            ("'a\nb'", 0),
        ] {
            let e = parse_expr(src).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Syntax, "{src}");
            assert_eq!(e.span().map(|s| s.start), Some(at), "{src}: {e}");
        }
    }

    #[test]
    fn grammar_examples() {
        for (src, tree) in GRAMMAR_EXAMPLES {
            assert_eq!(parses_to(src), *tree, "{src}");
        }
    }

    #[test]
    fn precedence_table() {
        let cases = [
            // Each row of the table against the next one, both ways round.
            ("a < b | c", "(< a (| b c))"),
            ("a | b < c", "(< (| a b) c)"),
            ("a | b ^ c", "(| a (^ b c))"),
            ("a ^ b | c", "(| (^ a b) c)"),
            ("a ^ b & c", "(^ a (& b c))"),
            ("a & b ^ c", "(^ (& a b) c)"),
            ("a & b << c", "(& a (<< b c))"),
            ("a >> b & c", "(& (>> a b) c)"),
            ("a << b + c", "(<< a (+ b c))"),
            ("a - b >> c", "(>> (- a b) c)"),
            ("a + b * c", "(+ a (* b c))"),
            ("a / b - c", "(- (/ a b) c)"),
            ("-a * b", "(* (- a) b)"),
            ("a % -b", "(% a (- b))"),
            ("-a ** b", "(- (** a b))"),
            ("~a ** b", "(~ (** a b))"),
            ("a ** b * c", "(* (** a b) c)"),
            ("a * b ** c", "(* a (** b c))"),
            // Associativity.
            ("a - b + c", "(+ (- a b) c)"),
            ("a / b * c", "(* (/ a b) c)"),
            ("a // b // c", "(// (// a b) c)"),
            ("a << b >> c", "(>> (<< a b) c)"),
            ("a | b | c", "(| (| a b) c)"),
            ("a ** b ** c ** d", "(** a (** b (** c d)))"),
            // Prefix operators and `**`.
            ("-+~a", "(- (+ (~ a)))"),
            ("- - a", "(- (- a))"),
            ("a--b", "(- a (- b))"),
            ("a<-b", "(< a (- b))"),
            ("a**-b", "(** a (- b))"),
            ("a**-b*c", "(* (** a (- b)) c)"),
            ("2**-1**2", "(** 2 (- (** 1 2)))"),
            ("-2**2", "(- (** 2 2))"),
            ("(-2)**2", "(** (- 2) 2)"),
            ("a * -b ** c", "(* a (- (** b c)))"),
            ("a ** (b ** c)", "(** a (** b c))"),
            ("(a ** b) ** c", "(** (** a b) c)"),
            // Every comparison operator.
            ("a < b", "(< a b)"),
            ("a <= b", "(<= a b)"),
            ("a == b", "(== a b)"),
            ("a != b", "(!= a b)"),
            ("a >= b", "(>= a b)"),
            ("a > b", "(> a b)"),
            ("(a < b) < c", "(< (< a b) c)"),
            ("a < (b < c)", "(< a (< b c))"),
            // Parentheses and calls.
            ("((a))", "a"),
            ("(a + b) * (c - d)", "(* (+ a b) (- c d))"),
            ("f (x)", "(f x)"),
            ("f(g(x), h(y, z=1))", "(f (g x) (h y :z 1))"),
            ("f(a == b)", "(f (== a b))"),
            ("f(x = 1, y = -2, )", "(f :x 1 :y (- 2))"),
            ("f(a < b, c)", "(f (< a b) c)"),
            ("-f(x) ** 2", "(- (** (f x) 2))"),
        ];
        for (src, tree) in cases {
            assert_eq!(parses_to(src), tree, "{src}");
        }
    }

    #[test]
    fn literals() {
        let cases = [
            ("0", "0"),
            ("00", "0"),
            ("0_0", "0"),
            ("1_000_000", "1000000"),
            ("9223372036854775807", "9223372036854775807"),
            ("2.5", "2.5"),
            (".25", "0.25"),
            ("1.", "1.0"),
            ("1.e5", "100000.0"),
            ("007.5", "7.5"),
            ("1e-3", "0.001"),
            ("1E+5", "100000.0"),
            ("1_0.5e1_0", "105000000000.0"),
            (".5e1", "5.0"),
            ("1e999", "inf"),
            ("True", "True"),
            ("False", "False"),
            ("e+1", "(+ e 1)"),
            ("1e+1", "10.0"),
        ];
        for (src, tree) in cases {
            assert_eq!(parses_to(src), tree, "{src}");
        }
    }

    #[test]
    fn names() {
        for name in [
            "a", "pi", "e", "inf", "nan", "_", "_x1", "True_", "iffy", "android", "notable",
            "Nonesuch", "IF",
        ] {
            assert_eq!(
                parse_expr(name).unwrap().kind,
                ExprKind::Name(name.to_string())
            );
        }
    }

    #[test]
    fn whitespace_between_tokens() {
        assert_eq!(
            parses_to(" \t a\n+\r\n b *\n\tf( x ,\n k =\n1 ) \n"),
            "(+ a (* b (f x :k 1)))"
        );
    }

    #[test]
    fn spans_of_nodes() {
        let e = parse_expr("a + b").unwrap();
        let ExprKind::Binary {
            op_span, lhs, rhs, ..
        } = &e.kind
        else {
            panic!()
        };
        assert_eq!(
            (e.span, *op_span, lhs.span, rhs.span),
            (
                Span::new(0, 5),
                Span::new(2, 3),
                Span::new(0, 1),
                Span::new(4, 5)
            )
        );

        let e = parse_expr(" - x ").unwrap();
        assert_eq!(e.span, Span::new(1, 4));

        let e = parse_expr("a ** b").unwrap();
        let ExprKind::Binary { op_span, .. } = &e.kind else {
            panic!()
        };
        assert_eq!(*op_span, Span::new(2, 4));

        let e = parse_expr("(a+b)").unwrap();
        let ExprKind::Binary { op_span, lhs, .. } = &e.kind else {
            panic!()
        };
        assert_eq!(
            (e.span, *op_span, lhs.span),
            (Span::new(0, 5), Span::new(2, 3), Span::new(1, 2))
        );

        assert_eq!(parse_expr("( (a) )").unwrap().span, Span::new(0, 7));

        // A parenthesized operand widens its parent too.
        let e = parse_expr("2 * (a)").unwrap();
        let ExprKind::Binary { rhs, .. } = &e.kind else {
            panic!()
        };
        assert_eq!((e.span, rhs.span), (Span::new(0, 7), Span::new(4, 7)));

        let e = parse_expr("sin( x ) + 1").unwrap();
        let ExprKind::Binary { lhs: call, .. } = &e.kind else {
            panic!()
        };
        let ExprKind::Call {
            func_span, args, ..
        } = &call.kind
        else {
            panic!()
        };
        assert_eq!(
            (call.span, *func_span, args[0].span),
            (Span::new(0, 8), Span::new(0, 3), Span::new(5, 6))
        );

        let e = parse_expr("f (axis = 1)").unwrap();
        let ExprKind::Call { kwargs, .. } = &e.kind else {
            panic!()
        };
        assert_eq!(
            (e.span, kwargs[0].name_span, kwargs[0].value.span),
            (Span::new(0, 12), Span::new(3, 7), Span::new(10, 11))
        );
        assert_eq!(kwargs[0].name, "axis");
    }

    #[test]
    fn empty_and_trailing_input() {
        syntax_error("", (0, 0), "empty expression");
        syntax_error(" \n\t", (0, 3), "empty expression");
        syntax_error(
            "a b",
            (2, 3),
            "unexpected `b`; expected an operator or the end of the expression",
        );
        syntax_error("1 2", (2, 3), "unexpected `2`");
        syntax_error("a 1.5", (2, 5), "unexpected `1.5`");
        syntax_error("a $", (2, 3), "unexpected `$`");
        syntax_error("a é", (2, 4), "unexpected `é`");
        syntax_error("é", (0, 2), "unexpected `é`; expected an expression");
        syntax_error("a\u{0}", (1, 2), "unexpected `\\0`");
        syntax_error("a .b", (2, 3), "unexpected `.`");
        syntax_error("True(1)", (4, 5), "unexpected `(`");
        syntax_error(
            "a, b",
            (1, 2),
            "unexpected `,`; expected an operator or the end of the expression",
        );
    }

    #[test]
    fn missing_operands() {
        syntax_error("1 +", (3, 3), "expected an expression after `+`");
        syntax_error("a\n*\n", (4, 4), "expected an expression after `*`");
        syntax_error("a ** ", (5, 5), "expected an expression after `**`");
        syntax_error("-", (1, 1), "expected an expression after `-`");
        syntax_error(
            "1 + * 2",
            (4, 5),
            "unexpected `*`; expected an expression after `+`",
        );
        syntax_error("a * / b", (4, 5), "expected an expression after `*`");
        syntax_error(
            "a < )",
            (4, 5),
            "unexpected `)`; expected an expression after `<`",
        );
    }

    #[test]
    fn unbalanced_parentheses() {
        let unclosed = "expected `)` to close `(` opened here";
        syntax_error("(a + b", (0, 1), unclosed);
        syntax_error("((a + b)", (0, 1), unclosed);
        syntax_error("(a + (b", (5, 6), unclosed);
        syntax_error("(", (0, 1), unclosed);
        syntax_error("( \n", (0, 1), unclosed);
        syntax_error("f(", (1, 2), unclosed);
        syntax_error("f(a, b", (1, 2), unclosed);
        syntax_error("f(a,", (1, 2), unclosed);
        syntax_error("f(g(a)", (1, 2), unclosed);
        syntax_error("a + b)", (5, 6), "unmatched `)`");
        syntax_error(")", (0, 1), "unmatched `)`");
        syntax_error("(a))", (3, 4), "unmatched `)`");
        syntax_error(
            "()",
            (1, 2),
            "unexpected `)`; expected an expression after `(`",
        );
        syntax_error(
            "(a b)",
            (3, 4),
            "unexpected `b`; expected an operator or `)`",
        );
        syntax_error(
            "(a, b)",
            (2, 3),
            "unexpected `,`; expected an operator or `)`",
        );
    }

    #[test]
    fn call_arguments() {
        syntax_error(
            "f(a b)",
            (4, 5),
            "unexpected `b`; expected an operator, `,` or `)`",
        );
        syntax_error(
            "f(,)",
            (2, 3),
            "unexpected `,`; expected an argument or `)` after `(`",
        );
        syntax_error("f(a,,b)", (4, 5), "expected an argument or `)` after `,`");
        syntax_error(
            "f(x=1, 2)",
            (7, 8),
            "positional argument follows keyword argument",
        );
        syntax_error(
            "f(x=1, a + b)",
            (7, 12),
            "positional argument follows keyword argument",
        );
        syntax_error("f(x=1, x=2)", (7, 8), "keyword argument `x` repeated");
        syntax_error(
            "f(x=)",
            (4, 5),
            "unexpected `)`; expected an expression after `=`",
        );
        syntax_error("f(a+b=1)", (5, 6), "assignment is not supported");
        syntax_error("f(x=y=1)", (5, 6), "assignment is not supported");
    }

    #[test]
    fn chained_comparisons() {
        let chained = "chained comparisons are not supported";
        syntax_error(
            "a < b < c",
            (0, 9),
            "chained comparisons are not supported; write (a < b) & (b < c)",
        );
        syntax_error("a == b != c", (0, 11), "write (a == b) & (b != c)");
        syntax_error("a<b<c<d", (0, 7), chained);
        syntax_error("(a < b < c) + 1", (1, 10), chained);
        syntax_error("f(a < b < c)", (2, 11), chained);
        syntax_error("f(k=a < b < c)", (4, 13), chained);
        syntax_error(
            "x < (1 & y) > 2",
            (0, 15),
            "write (x < (1 & y)) & ((1 & y) > 2)",
        );
        // The precedence trap: `&` binds tighter than `<`.
        syntax_error(
            "x < 1 & y > 2",
            (0, 13),
            "`&` binds tighter than `<`: write (x < 1) & (y > 2)",
        );
        syntax_error("x<1|y>=2", (0, 8), "write (x < 1) | (y >= 2)");
        // Operands too long to quote.
        let long = "a_very_long_variable_name < b < c";
        syntax_error(long, (0, long.len()), "write (a < b) & (b < c)");
    }

    #[test]
    fn python_isms() {
        syntax_error("a && b", (2, 4), "use `&`");
        syntax_error("a || b", (2, 4), "use `|`");
        syntax_error("!a", (0, 1), "use `~`");
        syntax_error("a ! b", (2, 3), "use `~`");
        syntax_error(
            "a = 1",
            (2, 3),
            "assignment is not supported in an expression",
        );
        syntax_error(
            "a += 1",
            (3, 4),
            "assignment is not supported in an expression",
        );
        assert_eq!(parses_to("a != b"), "(!= a b)");
    }

    #[test]
    fn reserved_keywords() {
        let reserved = [
            "if", "else", "for", "in", "while", "def", "return", "let", "lambda", "and", "or",
            "not", "is",
        ];
        // `None` is an operand for `axis=None`; lowering rejects it anywhere else.
        assert_eq!(parses_to("a + None"), "(+ a None)");
        syntax_error("None(1)", (4, 5), "unexpected `(`");
        for kw in reserved {
            let n = kw.len();
            syntax_error(kw, (0, n), &format!("`{kw}`"));
            syntax_error(&format!("a + {kw}"), (4, 4 + n), "reserved keyword");
            syntax_error(&format!("{kw}(1)"), (0, n), "reserved keyword");
            syntax_error(&format!("f({kw}=1)"), (2, 2 + n), "reserved keyword");
            syntax_error(&format!("f(x={kw})"), (4, 4 + n), "reserved keyword");
            syntax_error(&format!("a {kw} b"), (2, 2 + n), "reserved keyword");
        }
        syntax_error("a and b", (2, 5), "use `&`");
        syntax_error("a or b", (2, 4), "use `|`");
        syntax_error("not a", (0, 3), "use `~`");
        syntax_error("a if b else c", (2, 4), "`if` is a reserved keyword");
        syntax_error("x is None", (2, 4), "`is` is a reserved keyword");
    }

    #[test]
    fn imaginary_literals_are_pythons() {
        for (src, want) in [
            ("3j", "3.0j"),
            ("2.5e3J", "2500.0j"),
            ("09j", "9.0j"),
            ("1+2j", "(+ 1 2.0j)"),
            (".5j*a", "(* 0.5j a)"),
        ] {
            let e = parse_expr(src).unwrap_or_else(|e| panic!("{src}: {e}"));
            assert_eq!(sexp(&e), want, "{src}");
        }
    }

    #[test]
    fn real_and_imag_attributes_are_calls() {
        for (src, want) in [
            ("a.real", "(real a)"),
            ("sin(a).imag + z.real", "(+ (imag (sin a)) (real z))"),
            ("a[0].real * 2", "(* (real (index a 1)) 2)"),
        ] {
            let e = parse_expr(src).unwrap_or_else(|e| panic!("{src}: {e}"));
            assert_eq!(sexp(&e), want, "{src}");
        }
        assert!(parse_expr("a.realx").is_err());
        assert!(parse_expr("a.conj").is_err());
    }

    #[test]
    fn bad_number_literals() {
        syntax_error("9223372036854775808", (0, 19), "integer literal too large");
        syntax_error("-9223372036854775808", (1, 20), "integer literal too large");
        syntax_error(
            "1 + 99999999999999999999",
            (4, 24),
            "integer literal too large",
        );
        syntax_error("2x", (0, 2), "invalid number literal `2x`");
        syntax_error("1__0", (0, 4), "invalid number literal");
        syntax_error("1_", (0, 2), "invalid number literal");
        syntax_error("1e", (0, 2), "invalid number literal `1e`");
        syntax_error("1e+", (0, 2), "invalid number literal `1e`");
        syntax_error("1.e", (0, 3), "invalid number literal");
        syntax_error("0x1F", (0, 4), "invalid number literal");
        syntax_error("1.2.3", (0, 5), "invalid number literal");
        syntax_error("1._5", (0, 4), "invalid number literal");
        syntax_error("a * 3jx", (4, 7), "invalid number literal `3jx`");
        syntax_error("a * 3j.5", (4, 8), "invalid number literal `3j.5`");
        syntax_error(
            "01",
            (0, 2),
            "leading zeros in integer literals are not permitted; write `1`",
        );
        syntax_error("0_7", (0, 3), "leading zeros");
    }

    #[test]
    fn errors_carry_the_source() {
        let err = fails("1 +");
        assert_eq!(
            err.to_string(),
            "syntax error: expected an expression after `+`\n  1 +\n     ^"
        );
        let err = fails("(a + b");
        assert!(err.to_string().ends_with("\n  (a + b\n  ^"), "{err}");
    }

    /// `n` nested levels of `open`, around `a`, closed with `close`.
    fn nested(open: &str, n: usize, close: &str) -> String {
        format!("{}a{}", open.repeat(n), close.repeat(n))
    }

    #[test]
    fn nesting_limit() {
        assert_eq!(MAX_DEPTH, 256);
        let n = MAX_DEPTH;
        // Up to the limit everything parses; one more level fails at the opener that crosses it.
        for (open, close, levels) in [
            ("(", ")", 1),
            ("-", "", 1),
            ("~", "", 1),
            ("f(", ")", 1),
            ("f(k=", ")", 1),
            ("(-", ")", 2),
        ] {
            let deepest = nested(open, n / levels, close);
            assert!(
                parse_expr(&deepest).is_ok(),
                "{open}: {:?}",
                parse_expr(&deepest).err()
            );
        }
        limit_error(&nested("(", n + 1, ")"), (n, n + 1));
        limit_error(&nested("-", n + 1, ""), (n, n + 1));
        limit_error(&nested("f(", n + 1, ")"), (2 * n + 1, 2 * n + 2));
        limit_error(&nested("f(k=", n + 1, ")"), (4 * n + 1, 4 * n + 2));
        // `(-` is two levels.
        limit_error(&nested("(-", n / 2 + 1, ")"), (n, n + 1));
        // `**` is right-associative: every exponent nests.
        assert!(parse_expr(&format!("a{}", "**a".repeat(n))).is_ok());
        limit_error(&format!("a{}", "**a".repeat(n + 1)), (1 + 3 * n, 3 + 3 * n));
        assert!(parse_expr(&format!("a{}", "**-a".repeat(n / 2))).is_ok());
    }

    #[test]
    fn very_deep_input_is_an_error_not_a_crash() {
        let n = 100_000;
        limit_error(&nested("(", n, ")"), (256, 257));
        limit_error(&"(".repeat(n), (256, 257));
        limit_error(&nested("-", n, ""), (256, 257));
        limit_error(&nested("f(", n, ")"), (513, 514));
        limit_error(&format!("a{}", "**a".repeat(n)), (769, 771));
        limit_error(
            &format!("{}a{}", "(a+".repeat(n), ")".repeat(n)),
            (768, 769),
        );
    }

    #[test]
    fn tree_depth_limit_on_flat_chains() {
        // 256 `+` make a tree 256 deep: fine. The 257th `+` would go deeper.
        let ok = format!("a{}", "+a".repeat(MAX_DEPTH));
        assert_eq!(depth(&parse_expr(&ok).unwrap()), MAX_DEPTH);
        limit_error(&format!("a{}", "+a".repeat(MAX_DEPTH + 1)), (513, 514));
        // A chain long enough to overflow the stack when its tree was dropped, were it built.
        limit_error(&format!("a{}", "+a".repeat(100_000)), (513, 514));
        limit_error(
            &format!("a{}", " * 2".repeat(100_000)),
            (1 + 4 * 256 + 1, 1 + 4 * 256 + 2),
        );
        // Parentheses add no depth, but the operators around them do: here the 157th `-` from
        // the inside, at byte 43, would be the 257th level.
        assert_eq!(
            depth(
                &parse_expr(&format!(
                    "{}a{}{}",
                    "(".repeat(200),
                    "+a".repeat(100),
                    ")".repeat(200)
                ))
                .unwrap()
            ),
            100
        );
        limit_error(
            &format!("{}(a{})", "-".repeat(200), "+a".repeat(100)),
            (43, 44),
        );
        let deep = format!("{}a{}", "-".repeat(200), "+a".repeat(56));
        assert_eq!(depth(&parse_expr(&deep).unwrap()), 256);
        // Balanced trees stay shallow however many operators they hold.
        let mut balanced = "a".to_string();
        for _ in 0..12 {
            balanced = format!("({balanced}) + ({balanced})");
        }
        assert_eq!(depth(&parse_expr(&balanced).unwrap()), 12);
    }

    #[test]
    fn deepest_inputs_need_little_stack() {
        // The parser keeps its own stacks on the heap: the deepest accepted inputs parse (and
        // their trees drop) on a thread with a small stack, even in an unoptimized build.
        let inputs = [
            nested("(", MAX_DEPTH, ")"),
            nested("f(k=", MAX_DEPTH, ")"),
            format!("a{}", "**a".repeat(MAX_DEPTH)),
            format!("a{}", "+a".repeat(MAX_DEPTH)),
            nested("(", 1_000_000, ")"),
        ];
        let handle = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                inputs
                    .iter()
                    .map(|src| parse_expr(src).map(|e| depth(&e)).ok())
                    .collect::<Vec<_>>()
            })
            .unwrap();
        assert_eq!(
            handle.join().unwrap(),
            [
                Some(0),
                Some(MAX_DEPTH),
                Some(MAX_DEPTH),
                Some(MAX_DEPTH),
                None
            ]
        );
    }

    /// A small deterministic generator (xorshift), so the fuzz test needs no dependency.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    /// Checks what holds for every result: spans inside the source on char boundaries, children
    /// inside parents, the depth limit, and error messages in the house style.
    fn check_invariants(src: &str) {
        let in_bounds = |s: Span| {
            s.start <= s.end
                && s.end <= src.len()
                && src.is_char_boundary(s.start)
                && src.is_char_boundary(s.end)
        };
        match parse_expr(src) {
            Ok(e) => {
                assert!(depth(&e) <= MAX_DEPTH);
                let mut todo = vec![&e];
                while let Some(e) = todo.pop() {
                    assert!(in_bounds(e.span), "{src:?}: {:?}", e.span);
                    let children: Vec<&Expr> = match &e.kind {
                        ExprKind::Unary { arg, .. } => vec![arg],
                        ExprKind::Binary {
                            lhs, rhs, op_span, ..
                        } => {
                            assert!(e.span.start <= op_span.start && op_span.end <= e.span.end);
                            vec![lhs, rhs]
                        }
                        ExprKind::Call {
                            args,
                            kwargs,
                            func_span,
                            ..
                        } => {
                            assert!(e.span.start == func_span.start);
                            args.iter().chain(kwargs.iter().map(|k| &k.value)).collect()
                        }
                        _ => vec![],
                    };
                    for child in children {
                        assert!(
                            e.span.start <= child.span.start && child.span.end <= e.span.end,
                            "{src:?}"
                        );
                        todo.push(child);
                    }
                }
            }
            Err(err) => {
                assert!(
                    matches!(err.kind(), ErrorKind::Syntax | ErrorKind::Limit),
                    "{src:?}: {err}"
                );
                assert!(in_bounds(err.span().unwrap()), "{src:?}: {err}");
                let message = err.message();
                assert!(
                    message.starts_with(|c: char| c.is_lowercase() || c == '`'),
                    "{src:?}: {message}"
                );
                assert!(!message.ends_with('.'), "{src:?}: {message}");
                let _ = err.to_string();
            }
        }
    }

    #[test]
    fn never_panics() {
        let pieces = [
            "a",
            "b1",
            "f(",
            "g(",
            "k=",
            "1",
            "2.5",
            ".5",
            "1e",
            "1_",
            "_",
            "True",
            "if",
            "and",
            "(",
            ")",
            ")",
            ",",
            "+",
            "-",
            "*",
            "**",
            "/",
            "//",
            "%",
            "<",
            "<=",
            "==",
            "!=",
            ">",
            ">>",
            "<<",
            "&",
            "|",
            "^",
            "~",
            "=",
            "!",
            "&&",
            "é",
            "€",
            "😀",
            " ",
            "\n",
            "\t",
            ".",
            "0",
            "9223372036854775808",
            "\u{0}",
            "\r",
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..30_000 {
            let len = rng.below(12);
            let src: String = (0..len).map(|_| pieces[rng.below(pieces.len())]).collect();
            check_invariants(&src);
        }
        // Arbitrary bytes, made UTF-8.
        for _ in 0..5_000 {
            let bytes: Vec<u8> = (0..rng.below(16)).map(|_| rng.below(256) as u8).collect();
            check_invariants(&String::from_utf8_lossy(&bytes));
        }
        // Every prefix and suffix of valid expressions.
        for (src, _) in GRAMMAR_EXAMPLES {
            for cut in (0..=src.len()).filter(|&i| src.is_char_boundary(i)) {
                check_invariants(&src[..cut]);
                check_invariants(&src[cut..]);
            }
        }
    }
}
