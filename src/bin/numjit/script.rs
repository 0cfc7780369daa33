//! Running text through a session, for both front ends: every statement in order, what they
//! show printed to standard output, stopping at the first error. Non-interactive input (`-c`,
//! `run FILE`, a pipe) is read line by line as it comes, so a pipe can feed a long session.

use std::io::{BufRead, Write};

use crate::session::{Outcome, Session};
use crate::statements;

/// How running some input ended.
pub enum Stop {
    /// A statement failed: the rendered error and the line its statement starts on.
    Failed { message: String, line: usize },
    /// `:quit`.
    Quit,
    /// Reading input or writing output failed (a closed pipe, an unreadable file).
    Io(std::io::Error),
}

/// Runs the statements of complete input whose first line is number `first_line`.
pub fn run_statements(session: &mut Session, input: &str, first_line: usize) -> Result<(), Stop> {
    for statement in statements::split(input, first_line) {
        match session.execute(&statement.text) {
            Ok(Outcome::Silent) => {}
            Ok(Outcome::Show(text)) => {
                let mut stdout = std::io::stdout().lock();
                writeln!(stdout, "{text}")
                    .and_then(|()| stdout.flush())
                    .map_err(Stop::Io)?;
            }
            Ok(Outcome::Quit) => return Err(Stop::Quit),
            Err(diagnostic) => {
                return Err(Stop::Failed {
                    message: diagnostic.render(&statement.text),
                    line: statement.line,
                })
            }
        }
    }
    Ok(())
}

/// Runs a whole script in a new session; errors carry their line.
pub fn run(input: impl BufRead) -> Result<(), Stop> {
    let mut session = Session::default();
    let mut pending = String::new();
    let mut first_line = 1;
    for (index, line) in input.lines().enumerate() {
        let line = line.map_err(Stop::Io)?;
        // A `for` block ends at the first line that is neither indented nor blank, which is only
        // known once that line is read: it then starts the next statement.
        let goes_on = statements::open_continuation(&pending)
            || (statements::in_block(&pending) && statements::continues_block(&line));
        if !pending.is_empty() && !goes_on {
            run_statements(&mut session, &pending, first_line)?;
            pending.clear();
        }
        if pending.is_empty() {
            first_line = index + 1;
        } else {
            pending.push('\n');
        }
        pending.push_str(&line);
        if !statements::open_continuation(&pending) && !statements::in_block(&pending) {
            run_statements(&mut session, &pending, first_line)?;
            pending.clear();
        }
    }
    // An unfinished statement at the end still runs, so numjit reports what is missing.
    run_statements(&mut session, &pending, first_line)
}
