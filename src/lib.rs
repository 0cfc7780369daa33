//! # numjit
//!
//! An embedded array-expression JIT: a NumExpr-style expression string is parsed, typed with
//! NumPy 2 rules, optimized, compiled by Cranelift into one fused loop nest (no temporaries) and
//! run in chunks on a private thread pool.
//!
//! ```
//! let a = ndarray::Array1::linspace(0.0, 1.0, 10_000);
//! let vars = numjit::Vars::new().with("a", &a);
//! let b = numjit::evaluate("sin(2*pi*a)**2 + cos(2*pi*a)**2", &vars)?;
//! assert!(b.as_f64().unwrap().iter().all(|v| (v - 1.0).abs() < 1e-15));
//! let s = numjit::evaluate("sum(a) / 10_000 - mean(a)", &vars)?;   // reductions anywhere
//! assert!(s.as_f64().unwrap()[[]].abs() < 1e-15);
//! // arange and linspace are computed where they are used, never stored: no memory for any n.
//! let n = numjit::Vars::new().with("n", 1_000_000_i64);
//! let m = numjit::evaluate("sum(linspace(0, 1, n)**2) / n", &n)?;
//! assert!((m.as_f64().unwrap()[[]] - 1.0 / 3.0).abs() < 1e-6);
//! # Ok::<(), numjit::Error>(())
//! ```
//!
//! The pipeline, one module per stage (see `src/README.md`):
//! `parse` → `lower` → `opt` → `plan` → `codegen` → `program` → `exec`, with `interp` as the oracle.
#![deny(missing_docs)]

// The layers (src/README.md lists them bottom to top and maps every file; rustfmt sorts these).
mod api;
mod codegen;
mod core;
#[cfg(feature = "mpi")]
pub mod dist;
mod exec;
mod ffi;
mod interp;
mod ir;
mod lower;
#[cfg(feature = "npy")]
pub mod npy;
mod ops;
mod opt;
mod parse;
mod plan;
mod program;
mod vmath;

pub use crate::core::alloc;
pub use codegen::{
    object_cache_dir, object_cache_stats, set_object_cache_dir, set_tier, tier, ObjectCacheStats,
    Tier, AUTO_THRESHOLD,
};

pub use crate::api::array::Array;
pub use crate::api::cache::CacheStats;
pub use crate::api::cancel::CancelToken;
pub use crate::api::engine::{evaluate, run, Engine, Kernel};
pub use crate::api::kernels::Kernels;
pub use crate::api::vars::{InputSig, IntoOut, IntoVar, Signature, Vars};
pub use crate::core::dtype::{Complex32, Complex64, DType, Element, Scalar};
pub use crate::core::error::{Error, ErrorKind, Result, Span};
pub use crate::exec::{num_threads, set_num_threads};

/// Pipeline stages for the REPL's `:ast` and for fuzzers. Not a stable API.
#[cfg(feature = "internals")]
pub mod internals {
    pub use crate::parse::names::Names;

    /// The names a program (or expression) reads and writes, for a front end that binds its
    /// own variables (the REPL).
    ///
    /// ```
    /// let names = numjit::internals::program_names("for i in range(3):\n    u = u + a")?;
    /// assert_eq!((names.all, names.written), (vec!["u".to_string(), "a".into()], vec!["u".into()]));
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn program_names(src: &str) -> crate::Result<Names> {
        crate::parse::parse_program(src)
            .map(|p| crate::parse::names::program_names(&p))
            .map_err(|e| e.with_source(src))
    }

    /// Every function name the language has (element functions, reductions, generators), from
    /// the op table: what the REPL completes and lists.
    ///
    /// ```
    /// let names: Vec<_> = numjit::internals::function_names().collect();
    /// assert!(names.contains(&"arcsinh") && names.contains(&"sum") && names.contains(&"linspace"));
    /// ```
    pub fn function_names() -> impl Iterator<Item = &'static str> {
        crate::ops::all_function_names()
    }

    /// The named constants (a variable of the same name shadows one).
    ///
    /// ```
    /// assert_eq!(numjit::internals::CONSTANTS, ["pi", "e", "inf", "nan"]);
    /// ```
    pub const CONSTANTS: [&str; 4] = crate::lower::CONSTANTS;

    /// Lets kernels (`def`) run on SIMD lanes (`true`, the default) or only as scalar code, for
    /// programs compiled afterwards by a fresh [`crate::Engine`]: what the tests use to
    /// compare both ways. Process-wide.
    ///
    /// ```
    /// numjit::internals::set_kernel_lanes(true);
    /// ```
    pub fn set_kernel_lanes(on: bool) {
        crate::codegen::set_kernel_lanes(on)
    }

    /// The syntax tree of `expr`, pretty-printed.
    ///
    /// ```
    /// assert!(numjit::internals::ast("1 + a").unwrap().contains("Binary"));
    /// ```
    pub fn ast(expr: &str) -> crate::Result<String> {
        crate::parse::parse_expr(expr)
            .map(|e| format!("{e:#?}"))
            .map_err(|e| e.with_source(expr))
    }
}
