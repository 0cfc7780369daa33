//! Arbitrary text → parse, lower, optimize, compile and evaluate on small arrays of every dtype.
//! Nothing may panic; when evaluation succeeds, the JIT must agree with the interpreter.
//!
//! Run: `cargo install cargo-fuzz && cargo +nightly fuzz run compile -- -max_len=256`
//! (the length limit keeps inputs within the parser's depth limits' interesting range).
//! Keep every crash as a named case in tests/regression_fuzz.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    let f = ndarray::Array2::from_shape_fn((3, 4), |(i, j)| i as f64 - j as f64 * 0.5);
    let i = ndarray::Array1::from_shape_fn(4, |j| j as i32 - 2);
    let m = ndarray::arr1(&[true, false, true, true]);
    let vars = numjit::Vars::new().with("f", &f).with("i", &i).with("m", &m).with("x", 2.5_f32);
    let engine = numjit::Engine::with_cache_capacity(4);
    if let Ok(kernel) = engine.compile(src, &vars.signature()) {
        let (jit, reference) = (kernel.eval(&vars), kernel.eval_reference(&vars));
        assert_eq!(jit.is_ok(), reference.is_ok(), "{src}");
    }
});
