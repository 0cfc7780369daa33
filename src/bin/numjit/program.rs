//! Statements the library runs as programs: `for` blocks, `swap(a, b)`, slice assignment
//! (`u[1:-1] = …`) and augmented assignment (`u += …`). The session's variables that such a
//! statement writes are bound as outputs and updated in place; the others it names are inputs.
//! Generator calls are computed first (once, also inside a loop), as in any statement.

use numjit::{Array, Vars};

use crate::diagnostic::Diagnostic;
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
    /// Runs `statement` as a program over the session's variables.
    pub fn run_program(&mut self, statement: &str) -> Result<Outcome, Diagnostic> {
        let prepared = self.prepare(statement, 0..statement.len())?;
        let names = numjit::internals::program_names(&prepared.text)
            .map_err(|e| prepared.diagnostic(&e))?;
        let result = {
            let mut vars = Vars::new();
            for (name, array) in prepared.temporaries() {
                bind(&mut vars, name, array);
            }
            for (name, array) in self.variables.iter_mut() {
                if names.written.contains(name) {
                    vars = bind_out(vars, name, array);
                } else if names.all.contains(name) {
                    bind(&mut vars, name, array);
                }
            }
            let kernel = self
                .engine
                .compile(&prepared.text, &vars.signature())
                .map_err(|e| prepared.diagnostic(&e))?;
            kernel.run(&vars).map_err(|e| prepared.diagnostic(&e))?
        };
        Ok(match result {
            Some(value) => Outcome::Show(print::array(&value)),
            None => Outcome::Silent,
        })
    }
}

fn bind<'a>(vars: &mut Vars<'a>, name: &str, array: &'a Array) {
    match array {
        Array::Bool(a) => vars.insert(name, a),
        Array::Int32(a) => vars.insert(name, a),
        Array::Int64(a) => vars.insert(name, a),
        Array::Float32(a) => vars.insert(name, a),
        Array::Float64(a) => vars.insert(name, a),
    }
}

fn bind_out<'a>(vars: Vars<'a>, name: &str, array: &'a mut Array) -> Vars<'a> {
    match array {
        Array::Bool(a) => vars.with_out(name, a),
        Array::Int32(a) => vars.with_out(name, a),
        Array::Int64(a) => vars.with_out(name, a),
        Array::Float32(a) => vars.with_out(name, a),
        Array::Float64(a) => vars.with_out(name, a),
    }
}

#[cfg(test)]
mod tests {
    use crate::session::{Outcome, Session};

    fn show(s: &mut Session, statement: &str) -> String {
        match s.execute(statement) {
            Ok(Outcome::Show(text)) => text,
            other => panic!("{statement}: {other:?}"),
        }
    }

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
