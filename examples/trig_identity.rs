//! Course problem P1: `b = sin(2*pi*a)**2 + cos(2*pi*a)**2` on n points uniform in [0, 1);
//! every element must be 1 within 4e-16.
//!
//! `cargo run --release --example trig_identity [--small] [n]` (default n = 10⁸, the course
//! size).

#[path = "support/mod.rs"]
mod support;

use support::{golden, G1};

fn main() -> Result<(), numjit::Error> {
    let args = support::Args::parse(false);
    let n = args.size(100_000_000, 100_000);
    // Built-in data: a low-discrepancy sequence in [0, 1).
    let a = ndarray::Array1::from_shape_fn(n, |i| golden(i, G1));
    let vars = numjit::Vars::new().with("a", &a);
    let expr = "sin(2*pi*a)**2 + cos(2*pi*a)**2";
    let kernel = numjit::Engine::default().compile(expr, &vars.signature())?;
    let mut b = ndarray::Array1::<f64>::zeros(n);
    let reps = 3;
    let t = support::median_secs(reps, || kernel.eval_into(&vars, &mut b))?;
    let worst = b
        .iter()
        .fold(0.0, |m, v| support::nan_max(m, (v - 1.0).abs()));

    support::banner(format!("P1 trig identity: n = {n}"));
    println!("  b = {expr}");
    support::print_time(t, reps, n);
    println!("  max |b - 1| = {worst:.1e}");
    support::check(worst <= 4e-16, "every element is 1 within 4e-16", || {
        format!("max |b - 1| = {worst:e}")
    });
    Ok(())
}
