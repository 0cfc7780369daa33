//! The names a user can type: numjit's functions and constants, and the REPL's commands. Tab
//! completion offers them and `:help` lists them.

/// Functions of the numjit language, from its op table: element functions and reductions
/// (the generators, the library's and the REPL's, are listed apart: `generators::NAMES`).
pub fn functions() -> Vec<&'static str> {
    numjit::internals::function_names()
        .filter(|name| !crate::generators::NAMES.contains(name))
        .collect()
}

/// Constants of the numjit language (a variable of the same name shadows one).
pub const CONSTANTS: &[&str] = &numjit::internals::CONSTANTS;

/// REPL commands with their one-line descriptions, in `:help` order.
pub const COMMANDS: &[(&str, &str)] = &[
    (":help", "this help"),
    (":vars", "variables with shape, dtype and size"),
    (":ast EXPR", "the syntax tree numjit parses EXPR into"),
    (
        ":ir EXPR",
        "the optimized IR of EXPR for the current variables",
    ),
    (":clif EXPR", "the Cranelift IR numjit generates for EXPR"),
    (
        ":time EXPR",
        "min/median time of repeated runs, ns/element, GB/s",
    ),
    (":threads [N]", "show or set the number of worker threads"),
    (
        ":tier [NAME]",
        "show or set the code generator: cranelift, llvm or auto",
    ),
    (
        ":seed [N]",
        "show or set the seed of rand/randn (restarts their sequence)",
    ),
    (
        ":reset",
        "forget all variables and restart the random sequence",
    ),
    (":quit", "leave (also :q, :exit, Ctrl-D)"),
];

/// The command words alone (`:help`, `:vars`, …), aliases included, for completion.
pub fn command_words() -> impl Iterator<Item = &'static str> {
    COMMANDS
        .iter()
        .filter_map(|(usage, _)| usage.split_whitespace().next())
        .chain([":q", ":exit"])
}
