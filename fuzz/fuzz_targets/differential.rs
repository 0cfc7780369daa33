//! Structure-aware differential fuzzing: libFuzzer's bytes choose a well-typed program through
//! the same generator as the stable harness (`tests/differential/gen.rs`, included by path), and
//! the interpreter and the JIT must agree on it within the bounds documented there (errors of
//! the same kind, integers exactly, floats bit for bit or within the ULP bound of
//! transcendental functions; big cases at 1, 2 and 7 threads bit for bit).
//!
//! Run for hours (see fuzz/README.md):
//! `cargo +nightly fuzz run differential -- -max_total_time=14400 -rss_limit_mb=4096`
//! Keep every failure as a named case in tests/regression_fuzz.rs.
#![no_main]

#[path = "../../tests/differential/gen.rs"]
mod gen;

use libfuzzer_sys::arbitrary::{self, Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;

/// libFuzzer's bytes as the generator's choices (zeros once they run out).
struct Bytes<'u, 'a>(&'u mut Unstructured<'a>);

impl gen::Source for Bytes<'_, '_> {
    fn below(&mut self, n: usize) -> usize {
        self.0.int_in_range(0..=n - 1).unwrap_or(0)
    }
}

/// A generated program with its inputs and outputs.
#[derive(Debug)]
struct Program(gen::Case);

impl<'a> Arbitrary<'a> for Program {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Program(gen::generate(&mut Bytes(u))))
    }
}

thread_local! {
    static ENGINE: numjit::Engine = numjit::Engine::with_cache_capacity(64);
}

fuzz_target!(|p: Program| {
    ENGINE.with(|engine| {
        if let Err(e) = gen::check(&p.0, engine) {
            panic!("{e}\n{}", gen::describe(&p.0));
        }
    });
});
