//! The names a parsed expression or program mentions: what a front end must look up and bind
//! (the C ABI's `numjit_expr_names` / `numjit_program_names`, the REPL, the Python package).

use super::ast::{Expr, ExprKind, Program, Stmt, StmtKind};

/// The bare names of a program, each once, in order of first appearance. Function names and
/// keywords are not names; loop variables are the program's own and are not listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    /// Every name read or written.
    pub all: Vec<String>,
    /// The names assigned to (whole, in part, or by `swap`): the caller's arrays among them are
    /// outputs; the others are the program's intermediates.
    pub written: Vec<String>,
}

/// The distinct bare names of `tree` in source order (`pi`, `e`, `inf`, `nan` included: a
/// variable of that name takes the place of the constant).
pub fn expr_names(tree: &Expr) -> Vec<String> {
    let mut found = Vec::new();
    collect(tree, &mut found);
    distinct(found)
}

/// The names of `program` (see [`Names`]).
pub fn program_names(program: &Program) -> Names {
    let (mut all, mut written, mut loop_vars) = (Vec::new(), Vec::new(), Vec::new());
    statements(&program.stmts, &mut all, &mut written, &mut loop_vars);
    all.retain(|(_, n)| !loop_vars.contains(n));
    written.retain(|(_, n)| !loop_vars.contains(n));
    Names {
        all: distinct(all),
        written: distinct(written),
    }
}

fn statements<'t>(
    stmts: &'t [Stmt],
    all: &mut Vec<(usize, &'t str)>,
    written: &mut Vec<(usize, &'t str)>,
    loop_vars: &mut Vec<&'t str>,
) {
    for stmt in stmts {
        match &stmt.kind {
            StmtKind::Assign { target, value } => {
                let name = (target.name_span.start, target.name.as_str());
                all.push(name);
                written.push(name);
                collect(value, all);
            }
            StmtKind::Expr(e) => collect(e, all),
            StmtKind::Swap { a, b } => {
                for (name, span) in [a, b] {
                    all.push((span.start, name));
                    written.push((span.start, name));
                }
            }
            StmtKind::For {
                var, range, body, ..
            } => {
                loop_vars.push(var);
                range.iter().for_each(|e| collect(e, all));
                statements(body, all, written, loop_vars);
            }
        }
    }
}

use super::ast::NONE;

/// Appends every bare name of `tree` with its position.
fn collect<'t>(tree: &'t Expr, found: &mut Vec<(usize, &'t str)>) {
    let mut stack = vec![tree];
    while let Some(e) = stack.pop() {
        match &e.kind {
            // `None` (a reduction's `axis=None`) is a word of the language, not a variable.
            ExprKind::Name(n) if n == NONE => {}
            ExprKind::Name(n) => found.push((e.span.start, n.as_str())),
            ExprKind::Unary { arg, .. } => stack.push(arg),
            ExprKind::Index { base, .. } => stack.push(base),
            ExprKind::Binary { lhs, rhs, .. } => stack.extend([&**lhs, &**rhs]),
            ExprKind::Call { args, kwargs, .. } => {
                stack.extend(args.iter());
                stack.extend(kwargs.iter().map(|k| &k.value));
            }
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Imag(_)
            | ExprKind::Bool(_)
            | ExprKind::Str(_) => {}
        }
    }
}

/// The names of `found` in order of position, each once.
fn distinct(mut found: Vec<(usize, &str)>) -> Vec<String> {
    found.sort_by_key(|&(start, _)| start);
    let mut names: Vec<String> = Vec::new();
    for (_, n) in found {
        if !names.iter().any(|m| m == n) {
            names.push(n.to_string());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_list_reads_and_writes_but_not_loop_variables() {
        let p = crate::parse::parse_program(
            "t = a * 2\nfor i in range(n):\n    u[1:-1] = t[1:-1] + i\n    swap(u, v)\nsum(u)",
        )
        .unwrap();
        let names = program_names(&p);
        assert_eq!(names.all, ["t", "a", "n", "u", "v"]);
        assert_eq!(names.written, ["t", "u", "v"]);
        let e = crate::parse::parse_expr("where(b > 0, sum(a, axis=0), b) + a * pi").unwrap();
        assert_eq!(expr_names(&e), ["b", "a", "pi"]);
    }
}
