//! Arbitrary text → parse, lower, optimize, compile and run (expressions and programs) on small
//! arrays of every dtype. Nothing may panic; the JIT and the interpreter must both fail, or both
//! succeed with the same values: integers and bools exactly, floats NaN-aware and within a few
//! ulps or a relative 1e-12 (1e-5 for float32: the JIT's vector math and the interpreter's libm
//! may round differently, and sums may be associated differently).
//!
//! Run: `cargo install cargo-fuzz && cargo +nightly fuzz run compile -- -max_len=256`
//! (the length limit keeps inputs within the parser's depth limits' interesting range).
//! Keep every crash as a named case in tests/regression_fuzz.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use numjit::{Array, Scalar};

/// True when two floats agree: same bits, both NaN, or close (`rel` relative, or 4 ulps).
fn close_float(g: f64, w: f64, rel: f64, ulp: f64) -> bool {
    g.to_bits() == w.to_bits()
        || (g.is_nan() && w.is_nan())
        || g == w
        || (g - w).abs() <= rel * w.abs().max(g.abs())
        || (g - w).abs() <= 4.0 * ulp * w.abs().max(f64::MIN_POSITIVE)
}

fn same_values(jit: &Array, reference: &Array) -> bool {
    let n: usize = reference.shape().iter().product();
    jit.dtype() == reference.dtype()
        && jit.shape() == reference.shape()
        && (0..n).all(|k| match (jit.get_flat(k), reference.get_flat(k)) {
            (Some(Scalar::F64(g)), Some(Scalar::F64(w))) => close_float(g, w, 1e-12, f64::EPSILON),
            (Some(Scalar::F32(g)), Some(Scalar::F32(w))) => {
                close_float(g as f64, w as f64, 1e-5, f32::EPSILON as f64)
            }
            (Some(g), Some(w)) => g == w,
            _ => false,
        })
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let f = ndarray::Array2::from_shape_fn((3, 4), |(i, j)| i as f64 - j as f64 * 0.5);
    let i = ndarray::Array1::from_shape_fn(4, |j| j as i32 - 2);
    let m = ndarray::arr1(&[true, false, true, true]);
    let vars = numjit::Vars::new()
        .with("f", &f)
        .with("i", &i)
        .with("m", &m)
        .with("x", 2.5_f32);
    let engine = numjit::Engine::with_cache_capacity(4);
    if let Ok(kernel) = engine.compile(src, &vars.signature()) {
        match (kernel.run(&vars), kernel.run_reference(&vars)) {
            (Ok(Some(jit)), Ok(Some(reference))) => {
                assert!(same_values(&jit, &reference), "{src}: {jit} vs {reference}")
            }
            (Ok(None), Ok(None)) | (Err(_), Err(_)) => {}
            (jit, reference) => panic!("{src}: jit {jit:?} vs interpreter {reference:?}"),
        }
    }
});
