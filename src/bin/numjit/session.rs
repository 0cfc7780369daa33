//! A REPL session: the variables the user created, the random generator, the kernel cache — and
//! the dispatch of one statement to a command, a program (`program.rs`), a `save`, an assignment
//! or an expression.

use std::collections::BTreeMap;
use std::path::Path;

use numjit::{Array, Engine};

use crate::diagnostic::Diagnostic;
use crate::random::{Rng, DEFAULT_SEED};
use crate::syntax::{self, scan, Kind, Token};
use crate::{commands, npy, print, statements};

/// What a statement asks the front end to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to show (an assignment, a `save`).
    Silent,
    /// Text to print on standard output.
    Show(String),
    /// `:quit`: end the session.
    Quit,
}

/// Everything a session remembers between statements.
pub struct Session {
    /// Owned arrays; each evaluation borrows the ones its expression names.
    pub variables: BTreeMap<String, Array>,
    /// `.npy` files loaded with `load(..., mmap=True)`: read in place by expressions, streamed
    /// with bounded memory (not bound in programs).
    pub mapped: BTreeMap<String, numjit::npy::File>,
    pub rng: Rng,
    /// The seed `rng` started from, shown by `:seed` and reused by `:reset`.
    pub seed: u64,
    pub engine: Engine,
    /// The kernels defined so far (`def` blocks), callable from every later statement.
    pub kernels: numjit::Kernels,
}

impl Default for Session {
    fn default() -> Session {
        Session {
            variables: BTreeMap::new(),
            mapped: BTreeMap::new(),
            rng: Rng::seeded(DEFAULT_SEED),
            seed: DEFAULT_SEED,
            engine: Engine::default(),
            kernels: numjit::Kernels::new(),
        }
    }
}

impl Session {
    /// Restarts the random generator from `seed`.
    pub fn reseed(&mut self, seed: u64) {
        self.seed = seed;
        self.rng = Rng::seeded(seed);
    }

    /// Runs one statement (as split by `statements::split`).
    pub fn execute(&mut self, statement: &str) -> Result<Outcome, Diagnostic> {
        if statement.starts_with(':') {
            return commands::run(self, statement);
        }
        if statements::is_definition(statement) {
            // Silent, as Python's `def` is.
            self.kernels
                .define(statement)
                .map_err(|e| Diagnostic::from_numjit(&e, |span| span))?;
            return Ok(Outcome::Silent);
        }
        let tokens = scan(statement);
        if crate::program::is_program(statement, &tokens) {
            return self.run_program(statement);
        }
        if is_call_to(statement, &tokens, "save") {
            return self.save(statement, &tokens);
        }
        if let [name, equals, ..] = tokens.as_slice() {
            if name.kind == Kind::Ident && equals.kind == Kind::Assign {
                return self.assign(statement, name, equals.span.end);
            }
        }
        let value = self.evaluate(statement, 0..statement.len())?;
        Ok(Outcome::Show(print::array(&value)))
    }

    /// `name = expr`: evaluates `expr` and keeps the result under `name`.
    fn assign(
        &mut self,
        statement: &str,
        name: &Token,
        rhs_start: usize,
    ) -> Result<Outcome, Diagnostic> {
        let target = name.text(statement);
        if !syntax::is_variable_name(target) {
            return Err(Diagnostic::at(
                name.span.clone(),
                format!("syntax error: `{target}` is a keyword and cannot name a variable"),
            ));
        }
        let rhs = syntax::trim_range(statement, rhs_start..statement.len());
        if let Some(file) = self.load_mapped(statement, rhs.clone())? {
            self.variables.remove(target);
            self.mapped.insert(target.to_string(), file);
            return Ok(Outcome::Silent);
        }
        let value = self.evaluate(statement, rhs)?;
        self.mapped.remove(target);
        self.variables.insert(target.to_string(), value);
        Ok(Outcome::Silent)
    }

    /// `load("file.npy", mmap=True)` as the whole of `statement[rhs]`: the file, mapped.
    fn load_mapped(
        &mut self,
        statement: &str,
        rhs: std::ops::Range<usize>,
    ) -> Result<Option<numjit::npy::File>, Diagnostic> {
        let tokens = scan(&statement[rhs.clone()]);
        if !is_call_to(&statement[rhs.clone()], &tokens, "load") {
            return Ok(None);
        }
        let args = syntax::arguments(&tokens, 1, tokens.len() - 1);
        let at = |r: &std::ops::Range<usize>| {
            syntax::trim_range(statement, rhs.start + r.start..rhs.start + r.end)
        };
        let [path, mmap] = args.as_slice() else {
            return Ok(None);
        };
        let (path, mmap) = (at(path), at(mmap));
        let compact: String = statement[mmap].split_whitespace().collect();
        if compact != "mmap=True" {
            return Ok(None);
        }
        let Some(file) = string_literal(statement, path.clone()) else {
            return Ok(None);
        };
        numjit::npy::open(file)
            .map(Some)
            .map_err(|e| Diagnostic::at(path, format!("file error: {}", e.message())))
    }

    /// `save("file.npy", expr)`: evaluates `expr` and writes it to the file.
    fn save(&mut self, statement: &str, tokens: &[Token]) -> Result<Outcome, Diagnostic> {
        let usage = || {
            Diagnostic::at(
                0..statement.len(),
                "syntax error: save takes a file name and an expression: save(\"out.npy\", expr)",
            )
        };
        let args = syntax::arguments(tokens, 1, tokens.len() - 1);
        let [path, expr] = args.as_slice() else {
            return Err(usage());
        };
        let path_span = syntax::trim_range(statement, path.clone());
        let path = string_literal(statement, path_span.clone()).ok_or_else(usage)?;
        // Straight into the file when the result's shape is known before computing it: the
        // result is never in memory whole (a file's pages are released behind the writes).
        let prepared = self.prepare(statement, expr.clone())?;
        let kernel = self.compile(&prepared)?;
        let vars = self.bind(&prepared);
        let shape = kernel.shape(&vars).map_err(|e| prepared.diagnostic(&e))?;
        if let (Some(shape), Some(dtype)) = (shape, kernel.dtype()) {
            let file_error = |e: numjit::Error| {
                Diagnostic::at(path_span.clone(), format!("file error: {}", e.message()))
            };
            let mut out = numjit::npy::create(path, dtype, &shape).map_err(file_error)?;
            kernel
                .eval_into(&vars, &mut out)
                .map_err(|e| prepared.diagnostic(&e))?;
            return out.finish().map(|()| Outcome::Silent).map_err(file_error);
        }
        drop(vars);
        let value = self.evaluate(statement, expr.clone())?;
        npy::save(Path::new(path), &value)
            .map_err(|message| Diagnostic::at(path_span, format!("io error: {message}")))?;
        Ok(Outcome::Silent)
    }
}

/// True when the whole statement is one call of `function`: `save(...)` but not `save(...) + 1`.
fn is_call_to(statement: &str, tokens: &[Token], function: &str) -> bool {
    matches!(tokens, [name, open, ..]
        if name.kind == Kind::Ident && name.text(statement) == function && open.kind == Kind::Open
        && syntax::matching_close(tokens, 1) == Some(tokens.len() - 1))
}

/// The contents of a quoted literal that is all of `span`, like `"data.npy"`.
pub fn string_literal(src: &str, span: std::ops::Range<usize>) -> Option<&str> {
    match scan(&src[span.clone()]).as_slice() {
        [t] if t.kind == (Kind::Str { closed: true }) => {
            Some(&src[span.start + t.span.start + 1..span.start + t.span.end - 1])
        }
        _ => None,
    }
}

/// What `statement` shows (for tests: anything else fails the test).
#[cfg(test)]
pub fn show(session: &mut Session, statement: &str) -> String {
    match session.execute(statement) {
        Ok(Outcome::Show(text)) => text,
        other => panic!("{statement}: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_then_expression() {
        let mut s = Session::default();
        assert_eq!(s.execute("a = arange(4)"), Ok(Outcome::Silent));
        assert_eq!(show(&mut s, "sum(a * 2)"), "12 (int64)");
    }

    #[test]
    fn generators_work_inside_expressions() {
        let mut s = Session::default();
        assert_eq!(show(&mut s, "sum(ones(2, 3)) + 1"), "7.0 (float64)");
        assert_eq!(
            show(&mut s, "linspace(0, 1, 3)"),
            "array([0.0, 0.5, 1.0], shape=(3,), dtype=float64)"
        );
        assert_eq!(
            show(&mut s, "zeros(2, dtype=int32)"),
            "array([0, 0], shape=(2,), dtype=int32)"
        );
    }

    #[test]
    fn errors_point_into_the_statement() {
        let mut s = Session::default();
        let e = s.execute("x = 2 * rand(3) + nope").unwrap_err();
        assert_eq!(e.span, Some(18..22));
        let e = s.execute("x = rand(3, -1)").unwrap_err();
        assert_eq!(e.span, Some(12..14), "{e:?}");
        let e = s.execute("x = zeros(sum(ones(2) + nope))").unwrap_err();
        assert_eq!(e.span, Some(24..28), "{e:?}");
        assert!(s.variables.is_empty());
    }

    #[test]
    fn mapped_files_are_read_in_place_and_save_streams_to_disk() {
        let dir = std::env::temp_dir().join(format!("numjit-repl-mmap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let m = dir.join("m.npy").display().to_string();
        let mut s = Session::default();
        let save = format!("save(\"{m}\", arange(6)[:, None] * 1.5 + arange(4)[None, :])");
        assert_eq!(s.execute(&save), Ok(Outcome::Silent));
        assert_eq!(
            s.execute(&format!("a = load(\"{m}\", mmap=True)")),
            Ok(Outcome::Silent)
        );
        assert!(s.variables.is_empty() && s.mapped.contains_key("a"));
        assert_eq!(show(&mut s, "sum(a)"), "126.0 (float64)");
        assert!(show(&mut s, ":vars").contains("(mapped)"));
        let timed = show(&mut s, ":time sum(a + a)");
        assert!(timed.contains("(192 B read + 8 B written)"), "{timed}");
        let e = s
            .execute(&format!("sum(load(\"{m}\", mmap=True))"))
            .unwrap_err();
        assert!(
            e.headline
                .contains("a mapped file is a variable of its own"),
            "{e:?}"
        );
        // A failed save leaves no file behind.
        let bad = dir.join("bad.npy").display().to_string();
        assert!(s.execute(&format!("save(\"{bad}\", a + nope)")).is_err());
        assert!(!dir.join("bad.npy").exists());
        assert_eq!(s.execute("a = 1"), Ok(Outcome::Silent));
        assert!(s.mapped.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn keywords_cannot_be_assigned() {
        let e = Session::default().execute("True = 1").unwrap_err();
        assert_eq!(e.span, Some(0..4));
    }

    #[test]
    fn same_seed_same_session() {
        let mut a = Session::default();
        let mut b = Session::default();
        assert_eq!(show(&mut a, "rand(3)"), show(&mut b, "rand(3)"));
        a.reseed(5);
        assert_ne!(show(&mut a, "rand(3)"), show(&mut b, "rand(3)"));
    }
}
