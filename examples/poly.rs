//! Course problem P2: the Horner polynomial `y = ((.25*x + .75)*x - 1.5)*x - 2` on n points;
//! checked bit for bit against a plain Rust loop.
//!
//! `cargo run --release --example poly [--small] [n]` (default n = 10⁷, the course size).

#[path = "support/mod.rs"]
mod support;

use ndarray::Array1;
use support::{golden, G1};

fn main() -> Result<(), numjit::Error> {
    let args = support::Args::parse(false);
    let n = args.size(10_000_000, 100_000);
    let x = Array1::from_shape_fn(n, |i| golden(i, G1));
    let vars = numjit::Vars::new().with("x", &x);
    let expr = "((.25*x + .75)*x - 1.5)*x - 2";
    let kernel = numjit::Engine::default().compile(expr, &vars.signature())?;
    let mut y = Array1::<f64>::zeros(n);
    let reps = 5;
    let t = support::median_secs(reps, || kernel.eval_into(&vars, &mut y))?;

    support::banner(format!("P2 Horner polynomial: n = {n}"));
    println!("  y = {expr}");
    support::print_time(t, reps, n);
    println!("  sum(y) = {:.6e}", y.sum());
    let want = x.mapv(|x| ((0.25 * x + 0.75) * x - 1.5) * x - 2.0);
    support::check_loop(y.view(), want.view(), 0.0);
    Ok(())
}
