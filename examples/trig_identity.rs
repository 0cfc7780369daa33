//! Course problem P1: `b = sin(2*pi*a)**2 + cos(2*pi*a)**2` on n points uniform in [0, 1);
//! every element must be 1 within 4e-16.
//!
//! `cargo run --release --example trig_identity [n]` (default n = 10⁸, the course size).

use std::time::Instant;

fn main() -> Result<(), numjit::Error> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000_000);
    // Built-in data: a low-discrepancy sequence in [0, 1) (the golden-ratio sequence).
    let a = ndarray::Array1::from_shape_fn(n, |i| (i as f64 * 0.618_033_988_749_894_9) % 1.0);
    let vars = numjit::Vars::new().with("a", &a);
    let expr = "sin(2*pi*a)**2 + cos(2*pi*a)**2";
    let kernel = numjit::Engine::default().compile(expr, &vars.signature())?;
    let mut b = ndarray::Array1::<f64>::zeros(n);
    kernel.eval_into(&vars, &mut b)?; // warm-up: first touch of `b`
    let start = Instant::now();
    kernel.eval_into(&vars, &mut b)?;
    let elapsed = start.elapsed();
    let worst = b.iter().map(|v| (v - 1.0).abs()).fold(0.0, f64::max);
    println!(
        "P1 trig identity: n = {n}, {} threads",
        numjit::num_threads()
    );
    println!("  {expr}");
    println!(
        "  time {:.3} s ({:.2} ns/element), max |b - 1| = {worst:.1e}",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e9 / n as f64
    );
    if worst > 4e-16 {
        eprintln!("FAILED: max |b - 1| = {worst:e} exceeds 4e-16");
        std::process::exit(1);
    }
    println!("  check: every element is 1 within 4e-16 — ok");
    Ok(())
}
