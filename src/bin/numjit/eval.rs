//! Evaluating one expression of a statement. Generator calls (`rand(3)`, `load("x.npy")`) are
//! not numjit functions: they are computed first, each replaced by a temporary variable, and
//! numjit compiles and runs what remains. Error spans are moved back from the rewritten text to
//! the statement, so carets point at what the user typed.

use std::ops::Range;
use std::path::Path;

use numjit::{Array, DType, Kernel, Scalar, Vars};

use crate::diagnostic::Diagnostic;
use crate::session::{string_literal, Session};
use crate::syntax::{self, scan, Kind};
use crate::{generators, npy, print};

/// An expression ready for numjit: its rewritten text and the arrays its generator calls made.
pub struct Prepared {
    /// The expression with each generator call replaced by a temporary name.
    pub text: String,
    /// The generated arrays, under their temporary names.
    temporaries: Vec<(String, Array)>,
    substitutions: Vec<Substitution>,
    /// Where the expression starts in its statement.
    base: usize,
}

/// One generator call: where it was in the expression and where its name is in `Prepared::text`.
struct Substitution {
    original: Range<usize>,
    replaced: Range<usize>,
}

/// A generator call found in an expression (offsets in the statement).
struct Call {
    name: String,
    whole: Range<usize>,
    args: Vec<Range<usize>>,
}

impl Prepared {
    /// The arrays the generator calls made, under their temporary names.
    pub fn temporaries(&self) -> impl Iterator<Item = (&str, &Array)> {
        self.temporaries.iter().map(|(n, a)| (n.as_str(), a))
    }

    /// A numjit error on `text`, as a diagnostic on the statement.
    pub fn diagnostic(&self, err: &numjit::Error) -> Diagnostic {
        if err.source_text().is_some_and(|s| s != self.text) {
            // An error inside a kernel defined earlier: it points into the definition.
            return Diagnostic::unplaced(err.to_string());
        }
        Diagnostic::from_numjit(err, |span| {
            self.base + self.to_original(span.start, false)
                ..self.base + self.to_original(span.end, true)
        })
    }

    /// Maps an offset in `text` to the expression as typed; an offset inside a replaced name
    /// maps to the start (or, for a span's `end`, the end) of the whole generator call.
    fn to_original(&self, offset: usize, is_end: bool) -> usize {
        let mut shifted = offset;
        for s in &self.substitutions {
            let inside = if is_end {
                offset > s.replaced.start && offset <= s.replaced.end
            } else {
                offset >= s.replaced.start && offset < s.replaced.end
            };
            if inside {
                return if is_end {
                    s.original.end
                } else {
                    s.original.start
                };
            }
            if offset >= s.replaced.end {
                shifted = offset + s.original.end - s.replaced.end;
            }
        }
        shifted
    }
}

/// Binds `array` as the read-only variable `name`.
pub fn bind_input<'a>(vars: &mut Vars<'a>, name: &str, array: &'a Array) {
    vars.insert(name, array);
}

impl Session {
    /// Evaluates `statement[range]`.
    pub fn evaluate(&mut self, statement: &str, range: Range<usize>) -> Result<Array, Diagnostic> {
        let prepared = self.prepare(statement, range)?;
        let kernel = self.compile(&prepared)?;
        kernel
            .eval(&self.bind(&prepared))
            .map_err(|e| prepared.diagnostic(&e))
    }

    /// Runs the generator calls of `statement[range]` and rewrites it for numjit.
    pub fn prepare(
        &mut self,
        statement: &str,
        range: Range<usize>,
    ) -> Result<Prepared, Diagnostic> {
        let range = syntax::trim_range(statement, range);
        let expr = &statement[range.clone()];
        let mut prepared = Prepared {
            text: String::new(),
            temporaries: Vec::new(),
            substitutions: Vec::new(),
            base: range.start,
        };
        let mut copied_up_to = 0;
        for call in generator_calls(expr, range.start) {
            let value = self.call_generator(statement, &call)?;
            let name = self.temporary_name(&prepared.temporaries);
            let original = call.whole.start - range.start..call.whole.end - range.start;
            prepared.text.push_str(&expr[copied_up_to..original.start]);
            let at = prepared.text.len();
            prepared.text.push_str(&name);
            prepared.substitutions.push(Substitution {
                original: original.clone(),
                replaced: at..prepared.text.len(),
            });
            prepared.temporaries.push((name, value));
            copied_up_to = original.end;
        }
        prepared.text.push_str(&expr[copied_up_to..]);
        Ok(prepared)
    }

    /// Compiles a prepared expression for the current variables (or takes it from the cache).
    pub fn compile(&self, prepared: &Prepared) -> Result<Kernel, Diagnostic> {
        let signature = self.bind(prepared).signature();
        self.engine
            .compile_with(&prepared.text, &signature, &self.kernels)
            .map_err(|e| prepared.diagnostic(&e))
    }

    /// The variables a prepared expression names, borrowed for one evaluation. Only those: the
    /// signature (and so the kernel cache key) must not change when unrelated variables do.
    pub fn bind<'a>(&'a self, prepared: &'a Prepared) -> Vars<'a> {
        let mut vars = Vars::new();
        for (name, array) in self.inputs(prepared) {
            bind_input(&mut vars, name, array);
        }
        // Mapped files the expression names (variables of the same name were removed).
        for token in scan(&prepared.text) {
            let word = token.text(&prepared.text);
            if token.kind == Kind::Ident {
                if let Some(file) = self.mapped.get(word) {
                    vars.insert(word, file);
                }
            }
        }
        vars
    }

    /// The arrays a prepared expression reads: session variables it names, and its temporaries.
    pub fn inputs<'a>(&'a self, prepared: &'a Prepared) -> Vec<(&'a str, &'a Array)> {
        let mut inputs: Vec<(&str, &Array)> = Vec::new();
        for token in scan(&prepared.text) {
            let word = token.text(&prepared.text);
            if token.kind != Kind::Ident || inputs.iter().any(|(n, _)| *n == word) {
                continue;
            }
            let temporary = prepared.temporaries.iter().find(|(n, _)| n == word);
            if let Some((name, array)) = temporary {
                inputs.push((name, array));
            } else if let Some((name, array)) = self.variables.get_key_value(word) {
                inputs.push((name, array));
            }
        }
        inputs
    }

    /// The first of `_gen0`, `_gen1`, … that is neither a variable nor already `taken`.
    fn temporary_name(&self, taken: &[(String, Array)]) -> String {
        (0..)
            .map(|i| format!("_gen{i}"))
            .find(|n| !self.variables.contains_key(n) && taken.iter().all(|(t, _)| t != n))
            .unwrap_or_default()
    }

    fn call_generator(&mut self, statement: &str, call: &Call) -> Result<Array, Diagnostic> {
        let mut dtype = None;
        let mut positional = Vec::new();
        for arg in &call.args {
            let arg = syntax::trim_range(statement, arg.clone());
            match keyword(statement, arg.clone()) {
                Some(("dtype", value)) => {
                    let named =
                        DType::from_name(statement[value.clone()].trim_matches(['"', '\'']))
                            .filter(|d| !d.is_bytes());
                    dtype = Some(named.ok_or_else(|| {
                        Diagnostic::at(
                            value,
                            "argument error: dtype must be bool, int32, int64, float32 or float64",
                        )
                    })?);
                }
                Some(("mmap", _)) if call.name == "load" => {
                    return Err(Diagnostic::at(
                        arg,
                        "argument error: a mapped file is a variable of its own: \
                         a = load(\"big.npy\", mmap=True)",
                    ))
                }
                Some((other, _)) => {
                    return Err(Diagnostic::at(
                        arg,
                        format!(
                            "argument error: `{}` takes no keyword `{other}` (only dtype=)",
                            call.name
                        ),
                    ))
                }
                None => positional.push(arg),
            }
        }
        let value = if call.name == "load" {
            load(statement, call, &positional)?
        } else {
            let mut scalars = Vec::with_capacity(positional.len());
            for arg in &positional {
                scalars.push(self.scalar(statement, arg.clone())?);
            }
            generators::generate(&call.name, &scalars, &mut self.rng).map_err(|e| {
                let span = e.arg.and_then(|i| positional.get(i).cloned());
                Diagnostic::at(
                    span.unwrap_or_else(|| call.whole.clone()),
                    format!("argument error: {}", e.message),
                )
            })?
        };
        Ok(match dtype {
            Some(dtype) => generators::cast(value, dtype),
            None => value,
        })
    }

    /// Evaluates a generator argument, which must be a single value.
    fn scalar(&mut self, statement: &str, range: Range<usize>) -> Result<Scalar, Diagnostic> {
        if range.is_empty() {
            return Err(Diagnostic::at(range, "syntax error: missing argument"));
        }
        let value = self.evaluate(statement, range.clone())?;
        match value.shape() {
            [] => value
                .get_flat(0)
                .ok_or_else(|| Diagnostic::at(range, "value error: empty value")),
            shape => Err(Diagnostic::at(
                range,
                format!(
                    "argument error: expected a single value, not an array of shape {}",
                    print::shape(shape)
                ),
            )),
        }
    }
}

/// `load("file.npy")`.
fn load(statement: &str, call: &Call, positional: &[Range<usize>]) -> Result<Array, Diagnostic> {
    let usage = || {
        Diagnostic::at(
            call.whole.clone(),
            "argument error: load takes one quoted file name: load(\"data.npy\")",
        )
    };
    let [path_span] = positional else {
        return Err(usage());
    };
    let path = string_literal(statement, path_span.clone()).ok_or_else(usage)?;
    npy::load(Path::new(path))
        .map_err(|message| Diagnostic::at(path_span.clone(), format!("io error: {message}")))
}

/// `name=value` as (name, span of value), if the argument is a keyword argument.
fn keyword(statement: &str, arg: Range<usize>) -> Option<(&str, Range<usize>)> {
    let tokens = scan(&statement[arg.clone()]);
    match tokens.as_slice() {
        [name, equals, rest @ ..] if name.kind == Kind::Ident && equals.kind == Kind::Assign => {
            let value = rest.first().map_or(arg.end..arg.end, |first| {
                arg.start + first.span.start..arg.end
            });
            Some((
                &statement[arg.start + name.span.start..arg.start + name.span.end],
                value,
            ))
        }
        _ => None,
    }
}

/// The outermost generator calls of `expr`, which starts at `base` in its statement; calls nested
/// in their arguments are found when those arguments are evaluated.
fn generator_calls(expr: &str, base: usize) -> Vec<Call> {
    let tokens = scan(expr);
    let mut calls = Vec::new();
    let mut i = 0;
    while i + 1 < tokens.len() {
        let (name, open) = (&tokens[i], &tokens[i + 1]);
        let is_call = name.kind == Kind::Ident
            && generators::NAMES.contains(&name.text(expr))
            && open.text(expr) == "(";
        // An unclosed call is left alone: numjit reports the missing `)` where it belongs.
        // `arange` and `linspace` stay in the text too: the library computes them where they
        // are used, without storing them (`sum(term(arange(1, n + 1)))` makes no array)...
        let close = if is_call {
            syntax::matching_close(&tokens, i + 1)
        } else {
            None
        };
        // ... unless they take a keyword (`dtype=`), which only the REPL's generators have, or
        // an argument calls a function (`arange(sum(a))`): the REPL computes any single value,
        // the library only what is known when the inputs are bound.
        let close = close.filter(|&c| {
            let inner = &tokens[i + 2..c];
            let calls = inner
                .windows(2)
                .any(|w| w[0].kind == Kind::Ident && w[1].text(expr) == "(");
            !generators::LIBRARY.contains(&name.text(expr))
                || inner.iter().any(|t| t.kind == Kind::Assign)
                || calls
        });
        match close {
            Some(close) => {
                calls.push(Call {
                    name: name.text(expr).to_string(),
                    whole: base + name.span.start..base + tokens[close].span.end,
                    args: syntax::arguments(&tokens, i + 1, close)
                        .into_iter()
                        .map(|r| base + r.start..base + r.end)
                        .collect(),
                });
                i = close + 1;
            }
            None => i += 1,
        }
    }
    calls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_map_back_across_substitutions() {
        let mut session = Session::default();
        // "x = 1 + rand(2) + nope": the expression starts at 4; rand(2) → _gen0.
        let prepared = session.prepare("x = 1 + rand(2) + nope", 4..22).unwrap();
        assert_eq!(prepared.text, "1 + _gen0 + nope");
        assert_eq!(prepared.to_original(12, false), 14); // `nope`
        assert_eq!(prepared.to_original(5, false), 4); // inside `_gen0` → the call
        assert_eq!(prepared.to_original(9, true), 11);
    }

    #[test]
    fn temporaries_avoid_variable_names() {
        let mut session = Session::default();
        session.execute("_gen1 = 10").unwrap();
        let prepared = session
            .prepare("ones(1) + zeros(1) + _gen1 + ones(1)", 0..36)
            .unwrap();
        assert_eq!(prepared.text, "_gen0 + _gen2 + _gen1 + _gen3");
    }

    #[test]
    fn unclosed_calls_are_left_to_numjit() {
        assert!(generator_calls("rand(3", 0).is_empty());
        assert_eq!(generator_calls("a + zeros(2, ones(1))", 0).len(), 1);
    }
}
