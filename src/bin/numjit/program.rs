//! Statements the library runs as programs: `for` blocks, `swap(a, b)`, slice assignment
//! (`u[1:-1] = …`) and augmented assignment (`u += …`). The session's variables that such a
//! statement writes are bound as outputs and updated in place; the others it names are inputs.
//! Generator calls are computed first (once, also inside a loop), as in any statement.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Instant;

use numjit::{Array, Kernel, Signature, Vars};

use crate::diagnostic::Diagnostic;
use crate::eval::{bind_input, Prepared};
use crate::session::{Outcome, Session};
use crate::syntax::{self, Kind, Token};
use crate::{print, statements};

/// True when `statement` is run as a program rather than evaluated as an expression.
pub fn is_program(statement: &str, tokens: &[Token]) -> bool {
    if statements::starts_block(statement) {
        return true;
    }
    match tokens {
        [name, open, ..] if name.kind == Kind::Ident && open.kind == Kind::Open => {
            let callee = name.text(statement);
            let close = syntax::matching_close(tokens, 1);
            let is_subscript = open.text(statement) == "[";
            let assigned = close
                .and_then(|c| tokens.get(c + 1))
                .is_some_and(|t| t.kind == Kind::Assign);
            (callee == "swap" && close == Some(tokens.len() - 1)) || (is_subscript && assigned)
        }
        // `u += …`: an operator right before a lone `=`.
        [name, op, equals, ..] => {
            name.kind == Kind::Ident
                && op.kind == Kind::Other
                && matches!(op.text(statement), "+" | "-" | "*" | "/")
                && equals.kind == Kind::Assign
                && op.span.end == equals.span.start
        }
        _ => false,
    }
}

impl Session {
    /// Compiles `statement[range]` as a program for the session's variables: those it writes
    /// as outputs, those it only reads as inputs (what `:ir` and `:clif` show).
    pub fn compile_program(
        &mut self,
        statement: &str,
        range: Range<usize>,
    ) -> Result<(Prepared, Kernel), Diagnostic> {
        let prepared = self.prepare(statement, range)?;
        let names = numjit::internals::program_names(&prepared.text)
            .map_err(|e| prepared.diagnostic(&e))?;
        let mut sig = Signature::new();
        for (name, a) in prepared.temporaries() {
            sig = sig.with(name, a.dtype(), a.shape().len());
        }
        for (name, a) in &self.variables {
            if names.written.contains(name) {
                sig = sig.with_out(name, a.dtype(), a.shape().len());
            } else if names.all.contains(name) {
                sig = sig.with(name, a.dtype(), a.shape().len());
            }
        }
        for (name, file) in mapped_inputs(&self.mapped, &prepared, &names)? {
            sig = sig.with(name, file.dtype(), file.shape().len());
        }
        let kernel = self
            .engine
            .compile_with(&prepared.text, &sig, &self.kernels)
            .map_err(|e| prepared.diagnostic(&e))?;
        Ok((prepared, kernel))
    }

    /// `:time PROGRAM`: one run (a program updates its variables, so runs are not repeatable),
    /// after compiling it.
    pub fn time_program(
        &mut self,
        statement: &str,
        range: Range<usize>,
    ) -> Result<String, Diagnostic> {
        let started = Instant::now();
        self.compile_program(statement, range.clone())?;
        let compile = started.elapsed();
        let started = Instant::now();
        let outcome = self.run_program(&statement[range])?;
        let run = started.elapsed();
        let mut report = format!(
            "program: one run {:.3} ms (compile {:.3} ms; it updates its variables, so it is run once)",
            run.as_secs_f64() * 1e3,
            compile.as_secs_f64() * 1e3
        );
        if let Outcome::Show(value) = outcome {
            report = format!("{value}\n{report}");
        }
        Ok(report)
    }

    /// Runs `statement` as a program over the session's variables.
    pub fn run_program(&mut self, statement: &str) -> Result<Outcome, Diagnostic> {
        let prepared = self.prepare(statement, 0..statement.len())?;
        let names = numjit::internals::program_names(&prepared.text)
            .map_err(|e| prepared.diagnostic(&e))?;
        let result = {
            let mut vars = Vars::new();
            for (name, array) in prepared.temporaries() {
                bind_input(&mut vars, name, array);
            }
            let mapped = mapped_inputs(&self.mapped, &prepared, &names)?;
            for (name, array) in self.variables.iter_mut() {
                if names.written.contains(name) {
                    vars = bind_out(vars, name, array);
                } else if names.all.contains(name) {
                    bind_input(&mut vars, name, array);
                }
            }
            // Streamed like in an expression: every pass over a file (a loop's iteration
            // included) reads it front to back and releases what it has passed.
            for (name, file) in mapped {
                vars.insert(name, file);
            }
            let kernel = self
                .engine
                .compile_with(&prepared.text, &vars.signature(), &self.kernels)
                .map_err(|e| prepared.diagnostic(&e))?;
            kernel.run(&vars).map_err(|e| prepared.diagnostic(&e))?
        };
        Ok(match result {
            Some(value) => Outcome::Show(print::array(&value)),
            None => Outcome::Silent,
        })
    }
}

/// The mapped files (`load(..., mmap=True)`) of a session that a program names: inputs only,
/// since they are mapped read-only; a program that writes one is an error naming it.
fn mapped_inputs<'a>(
    mapped: &'a BTreeMap<String, numjit::npy::File>,
    prepared: &Prepared,
    names: &numjit::internals::Names,
) -> Result<Vec<(&'a str, &'a numjit::npy::File)>, Diagnostic> {
    if let Some(name) = names.written.iter().find(|n| mapped.contains_key(*n)) {
        return Err(Diagnostic::unplaced(format!(
            "argument error: `{name}` is a file mapped read-only (load(..., mmap=True)); \
             a program can read it but not write it"
        )));
    }
    Ok(mapped
        .iter()
        .filter(|(name, _)| names.all.contains(*name))
        .filter(|(name, _)| prepared.temporaries().all(|(t, _)| t != name.as_str()))
        .map(|(name, file)| (name.as_str(), file))
        .collect())
}

fn bind_out<'a>(vars: Vars<'a>, name: &str, array: &'a mut Array) -> Vars<'a> {
    vars.with_out(name, array)
}

#[cfg(test)]
mod tests {
    use crate::session::{show, Outcome, Session};

    #[test]
    fn blocks_swaps_and_slice_assignments_update_variables_in_place() {
        let mut s = Session::default();
        s.execute("u = zeros(5)").unwrap();
        s.execute("v = zeros(5)").unwrap();
        assert_eq!(s.execute("u[2] = 4"), Ok(Outcome::Silent));
        let block = "for i in range(2):\n    v[1:-1] = (u[:-2] + u[2:]) / 2\n    swap(u, v)\n";
        assert_eq!(s.execute(block), Ok(Outcome::Silent));
        assert_eq!(
            show(&mut s, "u"),
            "array([0.0, 0.0, 2.0, 0.0, 0.0], shape=(5,), dtype=float64)"
        );
        s.execute("u += 1").unwrap();
        s.execute("swap(u, v)").unwrap();
        assert_eq!(show(&mut s, "sum(v)"), "7.0 (float64)");
        // A program's final expression is shown.
        assert_eq!(
            show(&mut s, "for i in range(3):\n    v *= 2\nsum(v)"),
            "56.0 (float64)"
        );
    }

    #[test]
    fn ir_clif_and_time_take_programs() {
        let mut s = Session::default();
        s.execute("u = zeros(6)").unwrap();
        let ir = show(&mut s, ":ir for i in range(3):\n    u[1:-1] = u[:-2] + 1");
        assert!(ir.contains("loop:") && ir.contains("group"), "{ir}");
        assert!(show(&mut s, ":clif u += 2").contains("fadd"));
        assert_eq!(
            show(&mut s, "sum(u)"),
            "0.0 (float64)",
            ":ir and :clif do not run"
        );
        let timed = show(&mut s, ":time u += 2");
        assert!(timed.contains("program: one run"), "{timed}");
        assert_eq!(
            show(&mut s, "sum(u)"),
            "12.0 (float64)",
            ":time runs it once"
        );
    }

    #[test]
    fn kernels_defined_in_one_input_are_called_from_later_ones() {
        let mut s = Session::default();
        assert_eq!(
            s.execute("def sq(a):\n    if a < 0:\n        return -a * a\n    return a * a\n"),
            Ok(Outcome::Silent)
        );
        s.execute("x = linspace(-1, 1, 3)").unwrap();
        assert_eq!(show(&mut s, "sum(sq(x))"), "0.0 (float64)");
        s.execute("u = zeros(3)").unwrap();
        s.execute("for i in range(2):\n    u += sq(x)").unwrap();
        assert_eq!(
            show(&mut s, "u"),
            "array([-2.0,  0.0,  2.0], shape=(3,), dtype=float64)"
        );
        // Generator arguments that call functions are computed by the REPL, as before.
        s.execute("a = ones(4)").unwrap();
        assert_eq!(show(&mut s, "sum(arange(sum(a)))"), "6.0 (float64)");
        // An error inside a kernel shows the kernel's line, not the statement's.
        s.execute("def bad(a):\n    return ~a").unwrap();
        let e = s.execute("bad(x)").unwrap_err().render("bad(x)");
        assert!(e.contains("return ~a") && e.contains("^"), "{e}");
    }

    #[test]
    fn programs_read_mapped_files() {
        let dir = std::env::temp_dir().join(format!("numjit-repl-prog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let m = dir.join("m.npy").display().to_string();
        let mut s = Session::default();
        s.execute(&format!(
            "save(\"{m}\", arange(6)[:, None] * 1.5 + arange(4)[None, :])"
        ))
        .unwrap();
        s.execute(&format!("a = load(\"{m}\", mmap=True)")).unwrap();
        s.execute("u = zeros(4)").unwrap();
        // A loop, an augmented assignment and a slice assignment, each reading the file.
        s.execute("for i in range(3):\n    u += sum(a, axis=0)")
            .unwrap();
        assert_eq!(
            show(&mut s, "u"),
            "array([ 67.5,  85.5, 103.5, 121.5], shape=(4,), dtype=float64)"
        );
        s.execute("u[1:] = mean(a[:, 1:], axis=0)").unwrap();
        assert_eq!(show(&mut s, "sum(u)"), "84.75 (float64)");
        assert_eq!(
            show(&mut s, ":time for i in range(2):\n    u = a[0] + i\nsum(u)")
                .lines()
                .next(),
            Some("10.0 (float64)")
        );
        // Mapped read-only: a program cannot write it, and nothing changed.
        let e = s.execute("a += 1").unwrap_err();
        assert!(
            e.headline.contains("`a` is a file mapped read-only"),
            "{e:?}"
        );
        assert_eq!(show(&mut s, "sum(a)"), "126.0 (float64)");
        drop(s);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failing_program_writes_nothing_and_points_at_its_statement() {
        let mut s = Session::default();
        s.execute("u = zeros(4)").unwrap();
        s.execute("w = zeros(3)").unwrap();
        let e = s
            .execute("for i in range(3):\n    u += 1\n    w = u")
            .unwrap_err();
        assert!(e.render("").contains("broadcast"), "{e:?}");
        assert_eq!(show(&mut s, "sum(u)"), "0.0 (float64)");
    }
}
