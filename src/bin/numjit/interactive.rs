//! The terminal front end: a rustyline editor with history in `~/.numjit_history`, tab
//! completion and multi-line input. An error is printed and the session goes on.

use std::path::PathBuf;

use rustyline::config::{CompletionType, Config};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::Editor;

use crate::complete::ReplHelper;
use crate::script::{run_statements, Stop};
use crate::session::Session;
use crate::statements;

const PROMPT: &str = ">>> ";
/// The prompt for the lines of an open `for` block (an empty line ends the block).
const CONTINUATION: &str = "... ";

/// Runs the session until `:quit` or Ctrl-D; returns the process exit code.
pub fn run() -> u8 {
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .build();
    let mut editor: Editor<ReplHelper, DefaultHistory> = match Editor::with_config(config) {
        Ok(editor) => editor,
        Err(e) => {
            eprintln!("numjit: cannot start the line editor: {e}");
            return 2;
        }
    };
    editor.set_helper(Some(ReplHelper::default()));
    let history = history_file();
    if let Some(path) = &history {
        // A first session has no history yet; any other problem only costs the history.
        let _ = editor.load_history(path);
    }
    println!(
        "numjit {} — array expressions compiled to native code. :help for help, :quit to leave.",
        env!("CARGO_PKG_VERSION")
    );

    let mut session = Session::default();
    let interrupt = numjit::CancelToken::new();
    let code = loop {
        if let Some(helper) = editor.helper_mut() {
            // Variables and the kernels defined so far (`def`): both are names to call or read.
            helper.variables = session.variables.keys().cloned().collect();
            helper
                .variables
                .extend(session.kernels.names().into_iter().map(String::from));
        }
        let mut input = match editor.readline(PROMPT) {
            Ok(input) => input,
            // Ctrl-C drops the line being typed, as in a shell.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break 0,
            Err(e) => {
                eprintln!("numjit: cannot read input: {e}");
                break 2;
            }
        };
        // A `for` block goes on, line by line under the continuation prompt, until an empty
        // line; Ctrl-C drops the whole block, Ctrl-D runs what was typed.
        let mut dropped = false;
        while statements::is_incomplete(&input) {
            match editor.readline(CONTINUATION) {
                Ok(line) => {
                    input.push('\n');
                    input.push_str(&line);
                }
                Err(ReadlineError::Interrupted) => {
                    dropped = true;
                    break;
                }
                Err(_) => break,
            }
        }
        if dropped {
            continue;
        }
        if !input.trim().is_empty() {
            let _ = editor.add_history_entry(input.as_str());
        }
        // Ctrl-C while the input runs cancels it (the kernels and the executor check the
        // token at every loop trip and chunk), and the session goes on.
        interrupt.reset();
        match interrupt.cancel_on_sigint(|| run_statements(&mut session, &input, 1)) {
            Ok(()) => {}
            Err(Stop::Failed { .. }) if interrupt.is_cancelled() => eprintln!("interrupted"),
            Err(Stop::Failed { message, .. }) => eprintln!("{message}"),
            Err(Stop::Quit) => break 0,
            Err(Stop::Io(_)) => break 1,
        }
    };
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    code
}

/// `~/.numjit_history`, if there is a home directory.
fn history_file() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .filter(|home| !home.is_empty())
        .map(|home| PathBuf::from(home).join(".numjit_history"))
}
