//! `numjit`: an interactive session for numjit expressions, or a script runner.
//!
//! ```text
//! numjit                 interactive session (reads a script from stdin when it is not a terminal)
//! numjit -c "LINES"      run statements given on the command line
//! numjit run FILE        run a file of statements
//! ```

mod commands;
mod complete;
mod diagnostic;
mod eval;
mod generators;
mod interactive;
mod npy;
mod print;
mod program;
mod random;
mod script;
mod session;
mod statements;
mod syntax;
mod timing;
mod vocabulary;

use std::io::{BufReader, IsTerminal};
use std::process::ExitCode;

use script::Stop;

const USAGE: &str = "usage: numjit                 interactive session (or a script on stdin)
       numjit -c \"LINES\"      run statements, separated by newlines or `;`
       numjit run FILE        run a file of statements (`#` starts a comment)
       numjit --help | --version";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let code = match args.as_slice() {
        [] if std::io::stdin().is_terminal() => interactive::run(),
        [] => finish(script::run(std::io::stdin().lock()), Some("<stdin>")),
        ["-c", lines] => finish(script::run(lines.as_bytes()), None),
        ["run", path] => match std::fs::File::open(path) {
            Ok(file) => finish(script::run(BufReader::new(file)), Some(path)),
            Err(e) => {
                eprintln!("numjit: cannot read {path}: {e}");
                2
            }
        },
        ["-h" | "--help"] => {
            println!("{USAGE}");
            0
        }
        ["-V" | "--version"] => {
            println!("numjit {}", env!("CARGO_PKG_VERSION"));
            0
        }
        _ => {
            eprintln!("{USAGE}");
            2
        }
    };
    ExitCode::from(code)
}

/// The exit code of a script: 0 when it ran to the end or `:quit`, 1 when a statement failed
/// (the error goes to stderr, prefixed by `origin:line:` when there is a file or stream to name).
fn finish(result: Result<(), Stop>, origin: Option<&str>) -> u8 {
    match result {
        Ok(()) | Err(Stop::Quit) => 0,
        Err(Stop::Failed { message, line }) => {
            match origin {
                Some(origin) => eprintln!("{origin}:{line}: {message}"),
                None => eprintln!("{message}"),
            }
            1
        }
        // Output closed early (`numjit run f | head`): stop quietly, as other tools do.
        Err(Stop::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(Stop::Io(e)) => {
            eprintln!("numjit: {e}");
            1
        }
    }
}
