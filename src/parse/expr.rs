//! The syntactic level of the grammar: operator precedence, parentheses, calls, and the limits.
//!
//! Why not recursive descent: written as one nom function per grammar rule, every level of
//! parentheses went through about fifteen stack frames, and 256 levels needed 10 MiB of stack in
//! a debug build (2 MiB in release), more than a thread's default 2 MiB. So the structure is
//! parsed with explicit stacks instead (an operator-precedence parser): native stack use is
//! constant, however deep the input. nom still does all the matching: at each point the parser
//! is either before an operand or after one, and a nom `alt` of what may stand there
//! ([`before_operand`], [`after_operand`]) reads the next step; a mismatch is diagnosed from
//! which of the two positions the parser was in and what came before.

use nom::branch::alt;
use nom::combinator::{eof, map_opt, verify};
use nom::{Err, Parser};

use super::ast::{BinOp, Expr, ExprKind, Kwarg, UnOp, NONE};
use super::lexeme::{
    boolean, lexeme, name, number, punct, skip_ws, string, symbol, Diag, Number, PResult, Stop,
};
use super::MAX_DEPTH;
use crate::core::error::{Error, Result};

use super::diagnose::*;
use super::precedence::*;

/// Parses a whole expression (`Input` in the grammar) into its tree.
pub(super) fn parse(src: &str) -> Result<Expr> {
    parse_range(src, 0..src.len())
}

/// Parses `src[range]` as a whole expression; spans (and errors) count from the start of `src`,
/// so a statement of a program reports positions in the program.
pub(super) fn parse_range(src: &str, range: std::ops::Range<usize>) -> Result<Expr> {
    let mut parser = Stacks {
        src,
        input: &src[range],
        operands: Vec::new(),
        operators: Vec::new(),
        groups: Vec::new(),
    };
    parser
        .run()
        .map_err(|diag| Error::at(diag.kind, parser.span(diag.at), diag.message).with_source(src))
}

/// A parsed subexpression with what the limits and the chained-comparison check need to know.
pub(super) struct Sub {
    pub(super) expr: Expr,
    /// Operator and call nodes on the longest path to a leaf (0 for a literal or name). `Expr`
    /// has no room for it, and recomputing it at every node would make long chains quadratic.
    pub(super) depth: usize,
    /// How many comparisons the unparenthesized chain ending here has: 2 or more is an error.
    pub(super) comparisons: usize,
}

/// An operator waiting for its right operand, or the start of a parenthesized group.
pub(super) enum Pending<'a> {
    Prefix(UnOp, &'a str),
    Infix(BinOp, &'a str),
    /// A `(` of a group or call (the group itself is on `Stacks::groups`): operators below it
    /// belong to an enclosing expression and are not reduced by what happens inside.
    Group,
}

/// An open `(`: a parenthesized expression, or a call's argument list.
pub(super) struct Group<'a> {
    pub(super) open: &'a str,
    pub(super) call: Option<Call<'a>>,
}

/// A call whose `)` has not been reached yet.
pub(super) struct Call<'a> {
    pub(super) func: &'a str,
    pub(super) args: Vec<Expr>,
    pub(super) kwargs: Vec<Kwarg>,
    /// The keyword of the argument being parsed, if it is `name=value`.
    pub(super) keyword: Option<&'a str>,
    /// The deepest argument so far.
    pub(super) depth: usize,
}

/// The token in front of an operand position, for error messages and to know whether an
/// argument starts here.
#[derive(Clone, Copy)]
pub(super) enum Prev<'a> {
    /// The start of the input.
    Start,
    /// A binary or prefix operator, or the `=` of a keyword argument.
    Operator(&'a str),
    /// The `(` of a parenthesized expression.
    Open(&'a str),
    /// The `(` of a call or a `,` between arguments: a keyword argument or `)` may follow.
    ArgStart(&'a str),
}

/// What may stand where an operand is expected.
pub(super) enum Before<'a> {
    /// A literal or name: the operand itself.
    Atom(Sub),
    Prefix(UnOp, &'a str),
    /// The `(` of a parenthesized expression.
    Open(&'a str),
    /// `name (`: the function name and the `(`.
    Call(&'a str, &'a str),
    /// `name =` at the start of an argument: the keyword and the `=`.
    Keyword(&'a str, &'a str),
    /// `)` ending a call with no arguments, or after a trailing comma.
    Close(&'a str),
}

/// What may follow an operand.
pub(super) enum After<'a> {
    Infix(BinOp, &'a str),
    Close(&'a str),
    Comma(&'a str),
    End,
}

/// The explicit stacks of the operator-precedence parser.
pub(super) struct Stacks<'a> {
    /// The whole source text: spans are offsets into it.
    pub(super) src: &'a str,
    /// The part of `src` being parsed.
    pub(super) input: &'a str,
    /// Finished subexpressions, innermost last.
    pub(super) operands: Vec<Sub>,
    /// Operators waiting for operands, and group markers.
    pub(super) operators: Vec<Pending<'a>>,
    /// Open parentheses and calls, innermost last.
    pub(super) groups: Vec<Group<'a>>,
}

impl<'a> Stacks<'a> {
    /// Alternates between the two positions until the end of input.
    pub(super) fn run(&mut self) -> Result<Expr, Diag<'a>> {
        if skip_ws(self.input).is_empty() {
            return Err(Diag::syntax(self.input, "empty expression"));
        }
        let (mut i, mut prev) = (self.input, Prev::Start);
        loop {
            i = self.operand_position(i, prev)?;
            match self.operator_position(i)? {
                Some((rest, operator)) => (i, prev) = (rest, operator),
                None => return self.finish(),
            }
        }
    }

    /// Reads prefix operators, `(`s and call openings up to and including an operand.
    pub(super) fn operand_position(
        &mut self,
        mut i: &'a str,
        mut prev: Prev<'a>,
    ) -> Result<&'a str, Diag<'a>> {
        loop {
            let arg_start = matches!(prev, Prev::ArgStart(_));
            let (rest, before) = step(before_operand(self.src, arg_start).parse(i), || {
                self.expected_operand(i, prev)
            })?;
            i = rest;
            prev = match before {
                Before::Atom(sub) => {
                    self.operands.push(sub);
                    return Ok(rest);
                }
                Before::Close(close) => return self.close(close, false).map(|()| rest),
                Before::Prefix(op, token) => {
                    self.push_nested(Pending::Prefix(op, token), token)?;
                    Prev::Operator(token)
                }
                Before::Open(open) => {
                    self.open(open, None)?;
                    Prev::Open(open)
                }
                Before::Call(func, open) => {
                    let call = Call {
                        func,
                        args: Vec::new(),
                        kwargs: Vec::new(),
                        keyword: None,
                        depth: 0,
                    };
                    self.open(open, Some(call))?;
                    Prev::ArgStart(open)
                }
                Before::Keyword(keyword, equals) => {
                    self.start_keyword(keyword)?;
                    Prev::Operator(equals)
                }
            };
        }
    }

    /// numexpr's `x.real` and `x.imag` (on any operand): the same as `real(x)` and `imag(x)`,
    /// binding like a subscript. Returns the input after the attribute, or `None` when `at` does
    /// not start with one.
    fn part_attribute(&mut self, at: &'a str) -> Result<Option<&'a str>, Diag<'a>> {
        let Some(after_dot) = at.strip_prefix('.') else {
            return Ok(None);
        };
        let Some(attr) = ["real", "imag"].into_iter().find(|a| {
            after_dot.starts_with(a)
                && !after_dot[a.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
        }) else {
            return Ok(None);
        };
        let name = &after_dot[..attr.len()];
        let base = self.pop_operand()?;
        let func_span = self.span(name);
        let depth = base.depth + 1;
        if depth > MAX_DEPTH {
            return Err(too_deep(name));
        }
        let span = base.expr.span.to(func_span);
        self.operands.push(Sub {
            expr: Expr {
                kind: ExprKind::Call {
                    func: attr.to_string(),
                    func_span,
                    args: vec![base.expr],
                    kwargs: Vec::new(),
                },
                span,
            },
            depth,
            comparisons: 0,
        });
        Ok(Some(&after_dot[attr.len()..]))
    }

    /// Reads `)`s up to a binary operator or `,` (returned, with the input after it) or the end.
    pub(super) fn operator_position(
        &mut self,
        mut i: &'a str,
    ) -> Result<Option<(&'a str, Prev<'a>)>, Diag<'a>> {
        loop {
            // A subscript binds tighter than any operator: it applies to the operand just read.
            let at = skip_ws(i);
            if at.starts_with('[') {
                i = self.subscript(at)?;
                continue;
            }
            if let Some(rest) = self.part_attribute(at)? {
                i = rest;
                continue;
            }
            let (in_group, in_call) = (!self.groups.is_empty(), self.in_call());
            let (rest, after) = step(after_operand(in_group, in_call).parse(i), || {
                self.expected_operator(i)
            })?;
            match after {
                After::Close(close) => self.close(close, true)?,
                After::Infix(op, token) => {
                    self.push_infix(op, token)?;
                    return Ok(Some((rest, Prev::Operator(token))));
                }
                After::Comma(comma) => {
                    self.reduce_group()?;
                    self.finish_argument()?;
                    return Ok(Some((rest, Prev::ArgStart(comma))));
                }
                After::End => return Ok(None),
            }
            i = rest;
        }
    }

    /// The whole expression, once the input is used up outside all groups.
    pub(super) fn finish(&mut self) -> Result<Expr, Diag<'a>> {
        self.reduce_group()?;
        Ok(self.pop_complete()?.expr)
    }

    /// Pushes an operator that nests (a prefix operator or `**`: each waits for an operand that
    /// may hold more of its kind) or a group marker, within the nesting limit.
    pub(super) fn push_nested(
        &mut self,
        pending: Pending<'a>,
        token: &'a str,
    ) -> Result<(), Diag<'a>> {
        if self.nesting() >= MAX_DEPTH {
            return Err(too_deep(token));
        }
        self.operators.push(pending);
        Ok(())
    }

    /// How many levels enclose the current point: open groups, prefix operators and `**`s.
    /// Other pending operators do not count: at most one per precedence level waits per group.
    pub(super) fn nesting(&self) -> usize {
        // The stack holds at most the limit plus seven other operators per group, so a scan is
        // cheap, and simpler to trust than a counter kept in step with every push and pop.
        self.operators
            .iter()
            .filter(|p| !matches!(p, Pending::Infix(op, _) if *op != BinOp::Pow))
            .count()
    }

    pub(super) fn open(&mut self, open: &'a str, call: Option<Call<'a>>) -> Result<(), Diag<'a>> {
        self.push_nested(Pending::Group, open)?;
        self.groups.push(Group { open, call });
        Ok(())
    }

    /// Pushes a binary operator after reducing the pending operators that bind at least as tightly.
    pub(super) fn push_infix(&mut self, op: BinOp, token: &'a str) -> Result<(), Diag<'a>> {
        while self
            .operators
            .last()
            .is_some_and(|top| reduces_before(top, op))
        {
            self.reduce_one()?;
        }
        match op {
            BinOp::Pow => self.push_nested(Pending::Infix(op, token), token),
            _ => {
                self.operators.push(Pending::Infix(op, token));
                Ok(())
            }
        }
    }

    /// Applies the topmost pending operator to its operands.
    pub(super) fn reduce_one(&mut self) -> Result<(), Diag<'a>> {
        let sub = match self.operators.pop() {
            Some(Pending::Prefix(op, token)) => {
                let arg = self.pop_operand()?;
                let span = self.span(token).to(arg.expr.span);
                node(
                    ExprKind::Unary {
                        op,
                        arg: Box::new(arg.expr),
                    },
                    span,
                    arg.depth,
                    0,
                    token,
                )?
            }
            Some(Pending::Infix(op, token)) => {
                let rhs = self.pop_operand()?;
                let lhs = self.pop_operand()?;
                self.binary(lhs, op, token, rhs)?
            }
            Some(Pending::Group) | None => return Err(internal(self.src, "reduced past a group")),
        };
        self.operands.push(sub);
        Ok(())
    }

    /// Reduces every pending operator of the innermost group (or of the top level).
    pub(super) fn reduce_group(&mut self) -> Result<(), Diag<'a>> {
        while matches!(
            self.operators.last(),
            Some(Pending::Prefix(..) | Pending::Infix(..))
        ) {
            self.reduce_one()?;
        }
        Ok(())
    }

    pub(super) fn binary(
        &self,
        lhs: Sub,
        op: BinOp,
        token: &'a str,
        rhs: Sub,
    ) -> Result<Sub, Diag<'a>> {
        let span = lhs.expr.span.to(rhs.expr.span);
        let depth = lhs.depth.max(rhs.depth);
        let comparisons = if is_comparison(op) {
            lhs.comparisons + 1
        } else {
            0
        };
        let kind = ExprKind::Binary {
            op,
            op_span: self.span(token),
            lhs: Box::new(lhs.expr),
            rhs: Box::new(rhs.expr),
        };
        node(kind, span, depth, comparisons, token)
    }

    /// Handles `)`: closes the innermost group, which has a last argument or inner expression
    /// to finish unless the `)` came where an operand was expected (`f()`, `f(a,)`).
    pub(super) fn close(&mut self, close: &'a str, after_operand: bool) -> Result<(), Diag<'a>> {
        if after_operand {
            self.reduce_group()?;
            if self.in_call() {
                self.finish_argument()?;
            }
        }
        let (Some(group), Some(Pending::Group)) = (self.groups.pop(), self.operators.pop()) else {
            return Err(internal(close, "unbalanced group stacks"));
        };
        let sub = match group.call {
            // No node records the parentheses: the inner node's span widens over them, so an
            // error about `(a+b)` underlines the parentheses too.
            None => {
                let inner = self.pop_complete()?;
                let span = self.span(group.open).to(self.span(close));
                Sub {
                    expr: Expr { span, ..inner.expr },
                    depth: inner.depth,
                    comparisons: 0,
                }
            }
            Some(call) => self.call_node(call, close)?,
        };
        self.operands.push(sub);
        Ok(())
    }

    /// The node of a call; its span runs from the function name through the `)`.
    pub(super) fn call_node(&self, call: Call<'a>, close: &'a str) -> Result<Sub, Diag<'a>> {
        let func_span = self.span(call.func);
        let kind = ExprKind::Call {
            func: call.func.to_string(),
            func_span,
            args: call.args,
            kwargs: call.kwargs,
        };
        node(
            kind,
            func_span.to(self.span(close)),
            call.depth,
            0,
            call.func,
        )
    }

    /// Records `keyword=` of the argument that starts here; a keyword may appear once per call.
    pub(super) fn start_keyword(&mut self, keyword: &'a str) -> Result<(), Diag<'a>> {
        let call = self.innermost_call()?;
        if call.kwargs.iter().any(|k| k.name == keyword) {
            return Err(Diag::syntax(
                keyword,
                format!("keyword argument `{keyword}` repeated"),
            ));
        }
        call.keyword = Some(keyword);
        Ok(())
    }

    /// Moves the finished argument on top of the operand stack into the innermost call.
    pub(super) fn finish_argument(&mut self) -> Result<(), Diag<'a>> {
        let value = self.pop_complete()?;
        let src = self.src;
        let call = self.innermost_call()?;
        call.depth = call.depth.max(value.depth);
        match call.keyword.take() {
            Some(name) => {
                call.kwargs.push(Kwarg {
                    name: name.to_string(),
                    name_span: span_of(src, name),
                    value: value.expr,
                });
            }
            None if !call.kwargs.is_empty() => {
                let positional = text_of(src, value.expr.span);
                return Err(Diag::syntax(
                    positional,
                    "positional argument follows keyword argument",
                ));
            }
            None => call.args.push(value.expr),
        }
        Ok(())
    }

    /// Whether the innermost group is a call's argument list.
    pub(super) fn in_call(&self) -> bool {
        self.groups.last().is_some_and(|g| g.call.is_some())
    }

    pub(super) fn innermost_call(&mut self) -> Result<&mut Call<'a>, Diag<'a>> {
        let src = self.src;
        self.groups
            .last_mut()
            .and_then(|g| g.call.as_mut())
            .ok_or_else(|| internal(src, "no call to add to"))
    }

    pub(super) fn pop_operand(&mut self) -> Result<Sub, Diag<'a>> {
        self.operands
            .pop()
            .ok_or_else(|| internal(self.src, "operand stack empty"))
    }

    /// Pops a subexpression that is complete: an argument, a parenthesized expression or the
    /// whole input. Only now is a comparison chain known to be over, so it is reported here.
    pub(super) fn pop_complete(&mut self) -> Result<Sub, Diag<'a>> {
        let sub = self.pop_operand()?;
        if sub.comparisons >= 2 {
            return Err(self.chained_comparison(&sub));
        }
        Ok(sub)
    }
}

/// Turns a nom result into the parser's: a mismatch becomes the diagnosis `expected()`.
pub(super) fn step<'a, O>(
    result: PResult<'a, O>,
    expected: impl FnOnce() -> Diag<'a>,
) -> Result<(&'a str, O), Diag<'a>> {
    match result {
        Ok(ok) => Ok(ok),
        Err(Err::Error(Stop::Fatal(diag)) | Err::Failure(Stop::Fatal(diag))) => Err(diag),
        // Only complete-input parsers are used, so `Incomplete` cannot happen; were it to, it
        // would mean nothing here matched either.
        Err(Err::Error(Stop::NoMatch) | Err::Failure(Stop::NoMatch) | Err::Incomplete(_)) => {
            Err(expected())
        }
    }
}

/// `Before` as a nom parser: where an operand is expected (`arg_start`: at the start of a call
/// argument, where `name=` and `)` may also stand).
pub(super) fn before_operand<'a>(
    src: &'a str,
    arg_start: bool,
) -> impl Parser<&'a str, Output = Before<'a>, Error = Stop<'a>> {
    let leaf = move |kind, token| {
        Before::Atom(Sub {
            expr: Expr {
                kind,
                span: span_of(src, token),
            },
            depth: 0,
            comparisons: 0,
        })
    };
    alt((
        number.map(move |(value, token)| match value {
            Number::Int(v) => leaf(ExprKind::Int(v), token),
            Number::Float(v) => leaf(ExprKind::Float(v), token),
            Number::Imag(v) => leaf(ExprKind::Imag(v), token),
        }),
        boolean.map(move |(value, token)| leaf(ExprKind::Bool(value), token)),
        // `None` is reserved, but a reduction's `axis=None` (numexpr's spelling of all axes)
        // reads it: an operand named `None`, which lowering accepts only there.
        lexeme(verify(super::lexeme::name_or_word, |w: &str| w == NONE))
            .map(move |word| leaf(ExprKind::Name(NONE.to_string()), word)),
        // Before names: `b'x'` starts like the name `b`.
        string.map(move |(bytes, token)| leaf(ExprKind::Str(bytes), token)),
        (name, symbol("(")).map(|(func, open)| Before::Call(func, open)),
        // The lexer reads `==` whole, so `f(a == b)` is a positional comparison.
        only_if(arg_start, (name, symbol("=")))
            .map(|(keyword, equals)| Before::Keyword(keyword, equals)),
        name.map(move |word| leaf(ExprKind::Name(word.to_string()), word)),
        map_opt(punct, |token| {
            Some(Before::Prefix(prefix_operator(token)?, token))
        }),
        symbol("(").map(Before::Open),
        only_if(arg_start, symbol(")")).map(Before::Close),
    ))
}

/// `After` as a nom parser: where an operand has just ended. `)` needs an open group, `,` a
/// call, and the end of input no open group at all.
pub(super) fn after_operand<'a>(
    in_group: bool,
    in_call: bool,
) -> impl Parser<&'a str, Output = After<'a>, Error = Stop<'a>> {
    alt((
        map_opt(punct, |token| {
            Some(After::Infix(binary_operator(token)?, token))
        }),
        only_if(in_group, symbol(")")).map(After::Close),
        only_if(in_call, symbol(",")).map(After::Comma),
        only_if(!in_group, lexeme(eof)).map(|_| After::End),
    ))
}

/// `p` where `allowed`, a mismatch elsewhere: some tokens are valid only in some places.
pub(super) fn only_if<'a, O>(
    allowed: bool,
    mut p: impl Parser<&'a str, Output = O, Error = Stop<'a>>,
) -> impl Parser<&'a str, Output = O, Error = Stop<'a>> {
    move |i| {
        if allowed {
            p.parse(i)
        } else {
            Err(Err::Error(Stop::NoMatch))
        }
    }
}
