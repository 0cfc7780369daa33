//! The `:` commands: inspection (`:vars`, `:ast`, `:ir`, `:clif`), measurement (`:time`) and
//! session settings (`:threads`, `:seed`, `:reset`, `:quit`).

use std::ops::Range;

use crate::diagnostic::Diagnostic;
use crate::session::{Outcome, Session};
use crate::{print, syntax, timing, vocabulary};

/// Runs a statement that starts with `:`.
pub fn run(session: &mut Session, statement: &str) -> Result<Outcome, Diagnostic> {
    let name_end = statement
        .find(char::is_whitespace)
        .unwrap_or(statement.len());
    let name = &statement[..name_end];
    let arg = syntax::trim_range(statement, name_end..statement.len());
    let show = |text: String| Ok(Outcome::Show(text));
    match name {
        ":help" | ":h" => show(help()),
        ":vars" => show(variables(session)),
        ":ast" => {
            let arg = expression(name, arg)?;
            numjit::internals::ast(&statement[arg.clone()])
                .map(Outcome::Show)
                .map_err(|e| {
                    Diagnostic::from_numjit(&e, |s| arg.start + s.start..arg.start + s.end)
                })
        }
        ":ir" | ":clif" => {
            let arg = expression(name, arg)?;
            let (prepared, kernel) = if is_program(statement, arg.clone()) {
                session.compile_program(statement, arg)?
            } else {
                let prepared = session.prepare(statement, arg)?;
                let kernel = session.compile(&prepared)?;
                (prepared, kernel)
            };
            let text = match name {
                ":ir" => kernel.ir(),
                _ => kernel.clif().map_err(|e| prepared.diagnostic(&e))?,
            };
            show(text.trim_end().to_string())
        }
        ":time" => {
            let arg = expression(name, arg)?;
            if is_program(statement, arg.clone()) {
                return show(session.time_program(statement, arg)?);
            }
            show(timing::time(session, statement, arg)?)
        }
        ":threads" => threads(statement, arg),
        ":tier" => tier(statement, arg),
        ":seed" => match number(statement, arg)? {
            Some(seed) => {
                session.reseed(seed);
                Ok(Outcome::Silent)
            }
            None => show(format!("seed: {}", session.seed)),
        },
        ":reset" => {
            let forgotten = session.variables.len();
            session.variables.clear();
            session.reseed(session.seed);
            show(format!(
                "forgot {forgotten} variable(s); random sequence restarted"
            ))
        }
        ":quit" | ":q" | ":exit" => Ok(Outcome::Quit),
        _ => Err(Diagnostic::at(
            0..name_end,
            format!("command error: unknown command `{name}` (:help lists them)"),
        )),
    }
}

/// True when the argument of a command is a program statement (a block, `swap`, a slice or
/// augmented assignment).
fn is_program(statement: &str, arg: Range<usize>) -> bool {
    let text = &statement[arg];
    crate::program::is_program(text, &syntax::scan(text))
}

/// The expression argument of `:ast`, `:ir`, `:clif`, `:time`, which must be there.
fn expression(command: &str, arg: Range<usize>) -> Result<Range<usize>, Diagnostic> {
    if arg.is_empty() {
        return Err(Diagnostic::at(
            arg,
            format!("command error: {command} needs an expression, e.g. {command} sin(a) + 1"),
        ));
    }
    Ok(arg)
}

/// An optional non-negative integer argument.
fn number(statement: &str, arg: Range<usize>) -> Result<Option<u64>, Diagnostic> {
    let text = &statement[arg.clone()];
    if text.is_empty() {
        return Ok(None);
    }
    text.replace('_', "").parse().map(Some).map_err(|_| {
        Diagnostic::at(
            arg,
            format!("command error: expected a non-negative integer, not `{text}`"),
        )
    })
}

/// The most threads `:threads` accepts.
const MAX_THREADS: u64 = 1024;

fn threads(statement: &str, arg: Range<usize>) -> Result<Outcome, Diagnostic> {
    match number(statement, arg.clone())? {
        None => Ok(Outcome::Show(format!("threads: {}", numjit::num_threads()))),
        Some(0) => Err(Diagnostic::at(
            arg,
            "command error: at least 1 thread is needed",
        )),
        // Each thread costs a stack; thousands would only thrash a machine, never speed it up.
        Some(n) if n > MAX_THREADS => Err(Diagnostic::at(
            arg,
            format!("command error: at most {MAX_THREADS} threads"),
        )),
        Some(n) => {
            let n = usize::try_from(n).unwrap_or(1);
            let before = numjit::set_num_threads(n);
            Ok(Outcome::Show(format!(
                "threads: {} (was {before})",
                numjit::num_threads()
            )))
        }
    }
}

/// `:tier [cranelift|llvm|auto]`: shows or sets the code generator of later compiles.
fn tier(statement: &str, arg: Range<usize>) -> Result<Outcome, Diagnostic> {
    let current =
        || numjit::tier().map_err(|e| Diagnostic::at(0..5, format!("command error: {e}")));
    let text = &statement[arg.clone()];
    if text.is_empty() {
        return Ok(Outcome::Show(format!("tier: {}", current()?.name())));
    }
    let before = current()?;
    let tier = numjit::Tier::available(text)
        .map_err(|e| Diagnostic::at(arg, format!("command error: {}", e.message())))?;
    numjit::set_tier(tier);
    Ok(Outcome::Show(format!(
        "tier: {} (was {})",
        tier.name(),
        before.name()
    )))
}

/// `:vars`: one row per variable, then the total size.
fn variables(session: &Session) -> String {
    if session.variables.is_empty() && session.mapped.is_empty() {
        return "no variables (create one with `name = expr`)".to_string();
    }
    let row = |name: &String, shape: &[usize], dtype: numjit::DType, mapped: bool| {
        let size = print::bytes(shape.iter().product::<usize>() * dtype.size());
        [
            name.clone(),
            print::shape(shape),
            dtype.to_string(),
            if mapped {
                format!("{size} (mapped)")
            } else {
                size
            },
        ]
    };
    let rows: Vec<[String; 4]> = (session.variables.iter())
        .map(|(name, a)| row(name, a.shape(), a.dtype(), false))
        .chain(
            session
                .mapped
                .iter()
                .map(|(name, f)| row(name, f.shape(), f.dtype(), true)),
        )
        .collect();
    let header = ["name", "shape", "dtype", "bytes"].map(String::from);
    let widths: Vec<usize> = (0..4)
        .map(|c| {
            rows.iter()
                .chain([&header])
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |r: &[String; 4]| {
        format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {:>w3$}",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        )
        .trim_end()
        .to_string()
    };
    let total: usize = session
        .variables
        .values()
        .map(|a| a.shape().iter().product::<usize>() * a.dtype().size())
        .sum();
    let mut out = vec![line(&header)];
    out.extend(rows.iter().map(line));
    out.push(format!(
        "{} variable(s), {} in total",
        rows.len(),
        print::bytes(total)
    ));
    out.join("\n")
}

fn help() -> String {
    let mut out = String::from(
        "Statements (one per line, or separated by `;`):\n\
         \x20 EXPR                       evaluate and print, e.g. sin(a)**2 + b\n\
         \x20 NAME = EXPR                keep the result as a variable\n\
         \x20 save(\"file.npy\", EXPR)     write the result to a .npy file, streamed to disk\n\
         \x20 a = load(\"f\", mmap=True)   map a .npy file, read in place by expressions\n\
         \x20 u[1:-1] = EXPR, u += EXPR  write part of a variable / update it, in place\n\
         \x20 swap(u, v)                 exchange two variables' values\n\
         \x20 for i in range(n):         a loop; its indented lines (ended by an empty line) run\n\
         \x20     BODY                   as one compiled program over the variables\n\
         \x20 def f(a, b):               a kernel: a scalar function (if/elif/else, while, for,\n\
         \x20     BODY                   break, continue, return) that later statements call\n\
         \x20                            elementwise, e.g. f(x, 2); ended by an empty line\n\
         An unclosed bracket or a trailing \\ continues a statement on the next line; # comments.\n\
         \n\
         Generators (anywhere in an expression; arguments are expressions giving single values):\n\
         \x20 arange([start,] stop[, step])   linspace(start, stop[, num])   load(\"file.npy\")\n\
         \x20 zeros(d0, d1, ...)   ones(d0, ...)   full(d0, ..., value)\n\
         \x20 rand(d0, ...) uniform in [0, 1)   randn(d0, ...) standard normal   (seeded: see :seed)\n\
         \x20 all take dtype=bool|int32|int64|float32|float64, e.g. zeros(3, dtype=int32)\n\
         \n\
         Commands:\n",
    );
    for (usage, what) in vocabulary::COMMANDS {
        out.push_str(&format!("  {usage:<14} {what}\n"));
    }
    out.push('\n');
    out.push_str(&word_wrap("Functions:", &vocabulary::functions()));
    out.push('\n');
    out.push_str(&word_wrap("Constants:", vocabulary::CONSTANTS));
    out
}

/// `label` and `words` on lines of at most 78 columns, continuation lines indented.
fn word_wrap(label: &str, words: &[&str]) -> String {
    let mut out = label.to_string();
    let mut column = out.len();
    for word in words {
        if column + 1 + word.len() > 78 {
            out.push_str("\n ");
            column = 1;
        }
        out.push(' ');
        out.push_str(word);
        column += 1 + word.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_lists_shape_dtype_and_bytes() {
        let mut s = Session::default();
        s.execute("x = rand(1000, 3)").unwrap();
        let Ok(Outcome::Show(table)) = s.execute(":vars") else {
            panic!()
        };
        assert!(
            table.contains("x     (1000, 3)  float64  24.0 kB"),
            "{table}"
        );
    }

    #[test]
    fn unknown_commands_and_missing_arguments_are_errors() {
        let mut s = Session::default();
        assert_eq!(s.execute(":frobnicate 1").unwrap_err().span, Some(0..11));
        assert!(s
            .execute(":ir")
            .unwrap_err()
            .headline
            .contains("needs an expression"));
        assert!(s.execute(":threads 0").is_err());
        assert_eq!(s.execute(":tier gcc").unwrap_err().span, Some(6..9));
    }

    #[test]
    fn the_tier_shows_and_changes() {
        let mut s = Session::default();
        let Ok(Outcome::Show(text)) = s.execute(":tier cranelift") else {
            panic!(":tier cranelift")
        };
        assert!(text.starts_with("tier: cranelift (was "), "{text}");
        let Ok(Outcome::Show(text)) = s.execute(":tier") else {
            panic!(":tier")
        };
        assert_eq!(text, "tier: cranelift");
        assert_eq!(s.execute(":tier llvm").is_ok(), cfg!(feature = "llvm"));
        numjit::set_tier(numjit::Tier::Cranelift);
    }

    #[test]
    fn stages_show_for_an_expression() {
        let mut s = Session::default();
        s.execute("a = linspace(0, 1, 5)").unwrap();
        for (command, needle) in [
            (":ast a + 1", "Binary"),
            (":ir a + 1", "input"),
            (":clif a + 1", "fadd"),
        ] {
            let Ok(Outcome::Show(text)) = s.execute(command) else {
                panic!("{command}")
            };
            assert!(text.contains(needle), "{command}: {text}");
        }
    }
}
