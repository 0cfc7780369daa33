//! The line editor's helper: tab completion (variables, functions, constants, generators,
//! commands, and file names inside quotes) and the multi-line rule (Enter on an unclosed bracket
//! or a trailing `\` opens a new line instead of running the input).

use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

use crate::syntax::{scan, Kind};
use crate::{generators, statements, vocabulary};

/// Completes names; the front end refreshes `variables` (the session's variables and kernels)
/// before each prompt.
#[derive(Default)]
pub struct ReplHelper {
    pub variables: Vec<String>,
    files: FilenameCompleter,
}

impl ReplHelper {
    /// Names starting with `prefix`, sorted, each once.
    fn names(&self, prefix: &str, command_position: bool) -> Vec<Pair> {
        let mut names: Vec<&str> = if command_position {
            vocabulary::command_words().collect()
        } else {
            self.variables
                .iter()
                .map(String::as_str)
                .chain(vocabulary::functions())
                .chain(vocabulary::CONSTANTS.iter().copied())
                .chain(generators::NAMES)
                .chain(["save"])
                .collect()
        };
        names.retain(|n| n.starts_with(prefix));
        names.sort_unstable();
        names.dedup();
        names
            .into_iter()
            .map(|n| Pair {
                display: n.to_string(),
                replacement: n.to_string(),
            })
            .collect()
    }
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let in_string = scan(before)
            .last()
            .is_some_and(|t| t.kind == Kind::Str { closed: false });
        if in_string {
            return self.files.complete_path(line, pos);
        }
        let start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        // A command word is completed with its colon: `:ti` → `:time`.
        let command_position = before[..start] == *":";
        let start = if command_position { 0 } else { start };
        let prefix = &before[start..];
        let starts_like_a_name = prefix
            .chars()
            .next()
            .is_some_and(|c| c == ':' || c.is_ascii_alphabetic() || c == '_');
        if !starts_like_a_name {
            return Ok((pos, Vec::new()));
        }
        Ok((start, self.names(prefix, command_position)))
    }
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        // Open brackets continue in the editor; an open `for` block continues under its own
        // prompt (`interactive.rs`).
        Ok(if statements::open_continuation(ctx.input()) {
            ValidationResult::Incomplete
        } else {
            ValidationResult::Valid(None)
        })
    }
}

impl Hinter for ReplHelper {
    type Hint = String;
}

impl Highlighter for ReplHelper {}

impl Helper for ReplHelper {}

#[cfg(test)]
mod tests {
    use super::*;
    use rustyline::history::DefaultHistory;

    fn complete(helper: &ReplHelper, line: &str) -> (usize, Vec<String>) {
        let history = DefaultHistory::new();
        let ctx = Context::new(&history);
        let (start, pairs) = helper.complete(line, line.len(), &ctx).unwrap();
        (start, pairs.into_iter().map(|p| p.replacement).collect())
    }

    #[test]
    fn completes_variables_functions_and_commands() {
        let helper = ReplHelper {
            variables: vec!["signal".into(), "a".into()],
            ..ReplHelper::default()
        };
        assert_eq!(
            complete(&helper, "2 * sig"),
            (4, vec!["sign".into(), "signal".into(), "signbit".into()])
        );
        assert_eq!(complete(&helper, "lins"), (0, vec!["linspace".into()]));
        assert_eq!(
            complete(&helper, ":ti"),
            (0, vec![":tier".into(), ":time".into()])
        );
        assert_eq!(complete(&helper, "1e").1, Vec::<String>::new());
    }
}
