//! The differential fuzzer, stable-toolchain form: random well-typed programs (see
//! `differential/gen.rs`, shared with the libFuzzer target `fuzz/fuzz_targets/differential.rs`)
//! run by the interpreter and the JIT, compared value by value.
//!
//! CI runs a fixed budget of cases from a fixed seed. For a long run, in release:
//!
//! ```text
//! NUMJIT_FUZZ_CASES=10000000 NUMJIT_FUZZ_SEED=7 NUMJIT_FUZZ_KEEP_GOING=1 \
//!     cargo test --release --test differential -- --nocapture
//! ```
//!
//! `NUMJIT_FUZZ_CASE=k` replays case `k` of the seed alone (a failure names its seed and index).

#[path = "differential/gen.rs"]
mod gen;

use gen::{check, describe, generate, Rng};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn interpreter_and_jit_agree_on_random_programs() {
    let seed = env_u64("NUMJIT_FUZZ_SEED", 0x5eed_2026);
    let cases = env_u64("NUMJIT_FUZZ_CASES", 3000);
    // `NUMJIT_FUZZ_SHOW=1` prints every case (what the generator makes).
    let show = std::env::var_os("NUMJIT_FUZZ_SHOW").is_some();
    let keep_going = std::env::var_os("NUMJIT_FUZZ_KEEP_GOING").is_some();
    let range = match std::env::var("NUMJIT_FUZZ_CASE")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(k) => k..k + 1,
        None => 0..cases,
    };
    // A small cache, so that compiling and evicting stay part of what runs.
    let engine = numjit::Engine::with_cache_capacity(64);
    let start = std::time::Instant::now();
    let (mut compiled, mut compared, mut both_failed) = (0u64, 0u64, 0u64);
    let mut failures = Vec::new();
    for index in range.clone() {
        // The pool's size cycles through 1, 2 and 7 threads (small cases run serially at any
        // size; big ones are compared at all three by `check`).
        if index % 1000 == 0 {
            numjit::set_num_threads([1, 2, 7][(index / 1000 % 3) as usize]);
        }
        let case = generate(&mut Rng::for_case(seed, index));
        if show {
            eprintln!("--- case {index}\n{}", describe(&case));
        }
        match check(&case, &engine) {
            Ok(o) => {
                compiled += o.compiled as u64;
                compared += o.compared as u64;
                both_failed += o.both_failed as u64;
            }
            Err(e) => {
                let msg = format!(
                    "case {index} of seed {seed} (NUMJIT_FUZZ_SEED={seed} NUMJIT_FUZZ_CASE={index}): {e}\n{}",
                    describe(&case)
                );
                if !keep_going {
                    panic!("{msg}");
                }
                eprintln!("DISAGREEMENT {msg}");
                failures.push(index);
            }
        }
        if keep_going && index % 10_000 == 0 && index > range.start {
            eprintln!(
                "progress: {} cases, {compiled} compiled, {compared} compared, {both_failed} both failed, {} disagreements, {:.0} s",
                index - range.start,
                failures.len(),
                start.elapsed().as_secs_f64()
            );
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let n = range.end - range.start;
    eprintln!(
        "differential: {n} cases from seed {seed}: {compiled} compiled, {compared} compared value by value, \
         {both_failed} failed on both paths with the same kind, {} disagreements; {secs:.1} s ({:.0} cases/s)",
        failures.len(),
        n as f64 / secs
    );
    assert!(failures.is_empty(), "disagreements in cases {failures:?}");
    if n >= 1000 {
        // The generator must reach the backends, not only the type checker's errors.
        assert!(compared * 3 > n, "only {compared} of {n} cases compared");
    }
}
