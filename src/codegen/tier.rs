//! Which code generator compiles: the process-wide tier, from [`set_tier`] or else the
//! `NUMJIT_TIER` environment variable (`cranelift`, the default, or `llvm`).

use std::sync::atomic::{AtomicU8, Ordering};

use crate::core::error::{Error, ErrorKind, Result};

/// A code generator.
///
/// ```
/// assert_eq!(numjit::Tier::parse("llvm")?, numjit::Tier::Llvm);
/// assert_eq!(numjit::tier()?, numjit::Tier::Cranelift); // unless NUMJIT_TIER says otherwise
/// # Ok::<(), numjit::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Cranelift: compiles in 60–300 µs, 128-bit vectors. The default.
    Cranelift,
    /// LLVM 19 at the host CPU's full vector width (AVX2, AVX-512), bit for bit the Cranelift
    /// tier's results (`def` kernels included); stages computing complex values or reading
    /// byte strings keep Cranelift code. Needs numjit built with feature `llvm`.
    Llvm,
    /// Cranelift first; a kernel whose evaluations have taken [`AUTO_THRESHOLD`] in all is
    /// compiled by LLVM on a background thread and runs on that code from the next evaluation
    /// on (same bits). Without feature `llvm`, Cranelift only.
    Auto,
}

/// The run time after which a kernel of tier [`Tier::Auto`] is compiled by LLVM: about one
/// LLVM compile of a course kernel (`examples/tiers.rs`: 43–110 ms on this 2-core EPYC under a
/// load of 11, against 0.6–1.7 ms for Cranelift), so a kernel tiers up once it has run as long as
/// its second compile takes (on a thread of its own), and short-lived expressions never pay it.
///
/// ```
/// assert_eq!(numjit::AUTO_THRESHOLD, std::time::Duration::from_millis(100));
/// let engine = numjit::Engine::default().with_tier(numjit::Tier::Auto); // Cranelift until then
/// # let _ = engine;
/// ```
pub const AUTO_THRESHOLD: std::time::Duration = std::time::Duration::from_millis(100);

impl Tier {
    /// The tier's name, as `NUMJIT_TIER` and [`Tier::parse`] spell it.
    ///
    /// ```
    /// assert_eq!(numjit::Tier::Auto.name(), "auto");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Tier::Cranelift => "cranelift",
            Tier::Llvm => "llvm",
            Tier::Auto => "auto",
        }
    }

    /// The tier named `name` for a front end's switch (the REPL's `:tier`, C's
    /// `numjit_set_tier`, Python's `set_tier`): [`Tier::parse`], and `llvm` refused at once
    /// when this build lacks feature `llvm` (rather than at the next compile).
    ///
    /// ```
    /// assert!(numjit::Tier::available("cranelift").is_ok());
    /// assert_eq!(numjit::Tier::available("llvm").is_ok(), cfg!(feature = "llvm"));
    /// ```
    pub fn available(name: &str) -> Result<Tier> {
        let tier = Tier::parse(name)?;
        if tier == Tier::Llvm && !cfg!(feature = "llvm") {
            return Err(Error::new(
                ErrorKind::Value,
                "the llvm tier needs numjit built with feature `llvm`",
            ));
        }
        Ok(tier)
    }

    /// The tier named `name` (`cranelift`, `llvm` or `auto`), as `NUMJIT_TIER` spells it.
    ///
    /// ```
    /// assert!(numjit::Tier::parse("gcc").is_err());
    /// ```
    pub fn parse(name: &str) -> Result<Tier> {
        match name.trim() {
            "cranelift" => Ok(Tier::Cranelift),
            "llvm" => Ok(Tier::Llvm),
            "auto" => Ok(Tier::Auto),
            other => Err(Error::new(
                ErrorKind::Value,
                format!("unknown tier '{other}' (expected cranelift, llvm or auto)"),
            )),
        }
    }
}

/// 0: not chosen yet (read `NUMJIT_TIER` on first use); 1: Cranelift; 2: LLVM; 3: auto.
static TIER: AtomicU8 = AtomicU8::new(0);

/// Makes `tier` compile every expression compiled from now on (kernels already compiled and
/// cached keep their code). Overrides `NUMJIT_TIER`.
///
/// ```
/// numjit::set_tier(numjit::Tier::Cranelift);
/// assert_eq!(numjit::tier()?, numjit::Tier::Cranelift);
/// # Ok::<(), numjit::Error>(())
/// ```
pub fn set_tier(tier: Tier) {
    TIER.store(
        match tier {
            Tier::Cranelift => 1,
            Tier::Llvm => 2,
            Tier::Auto => 3,
        },
        Ordering::Relaxed,
    );
}

/// The tier compiling now: the last [`set_tier`], else `NUMJIT_TIER`, else Cranelift. An
/// unknown `NUMJIT_TIER` is an error of kind `value` (every compile reports it).
///
/// ```
/// let t = numjit::tier()?;
/// assert!(matches!(t, numjit::Tier::Cranelift | numjit::Tier::Llvm | numjit::Tier::Auto));
/// # Ok::<(), numjit::Error>(())
/// ```
pub fn tier() -> Result<Tier> {
    current()
}

thread_local! {
    /// A tier for the compiles of this thread only (see [`scoped`]).
    static SCOPED: std::cell::Cell<Option<Tier>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` with `tier` (when given) compiling on this thread, whatever the process-wide tier.
pub(crate) fn scoped<T>(tier: Option<Tier>, f: impl FnOnce() -> T) -> T {
    let before = SCOPED.with(|s| s.replace(tier.or(s.get())));
    let out = f();
    SCOPED.with(|s| s.set(before));
    out
}

pub(crate) fn current() -> Result<Tier> {
    if let Some(t) = SCOPED.with(|s| s.get()) {
        return Ok(t);
    }
    match TIER.load(Ordering::Relaxed) {
        1 => Ok(Tier::Cranelift),
        2 => Ok(Tier::Llvm),
        3 => Ok(Tier::Auto),
        _ => match std::env::var("NUMJIT_TIER") {
            Ok(name) if !name.is_empty() => Tier::parse(&name),
            _ => Ok(Tier::Cranelift),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::dtype::DType;

    #[test]
    fn a_tier_is_named_as_numjit_tier_spells_it() {
        assert_eq!(Tier::parse(" auto ").ok(), Some(Tier::Auto));
        let e = Tier::parse("gcc").err().map(|e| (e.kind(), e.to_string()));
        assert_eq!(e.map(|(k, _)| k), Some(ErrorKind::Value));
    }

    #[test]
    fn an_engine_tier_wins_over_the_process_tier() {
        let sig = crate::Signature::new().with("a", DType::Float64, 1);
        let compiled = crate::Engine::default()
            .with_tier(Tier::Llvm)
            .compile("a + 1", &sig);
        if cfg!(feature = "llvm") {
            assert!(compiled.is_ok());
        } else {
            // Without the feature the LLVM tier is a clear error, not a silent fallback.
            let e = compiled.err().map(|e| (e.kind(), e.to_string()));
            assert!(
                matches!(&e, Some((ErrorKind::Value, m)) if m.contains("feature `llvm`")),
                "{e:?}"
            );
        }
        assert!(crate::Engine::default()
            .with_tier(Tier::Auto)
            .compile("a + 1", &sig)
            .is_ok());
    }
}
