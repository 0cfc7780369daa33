//! Course problem P9: the area under 0.7x³ - 2x² + 4 on [0, 3] as a left Riemann sum,
//! `sum((0.7*x**3 - 2*x**2 + 4)*dx)` with x_i = i·dx, dx = 3/n. Checked against the sum's
//! closed form (Faulhaber's formulas for Σi² and Σi³) and against its limit, 8.175.
//!
//! `cargo run --release --example area [--small] [n]` (default n = 10⁸; the course uses 3·10⁸).

#[path = "support/mod.rs"]
mod support;

use ndarray::Array1;

/// The left Riemann sum with `n` points in closed form: dx·Σ f(i·dx) over i < n, with the
/// power sums exact in integers.
fn closed_form(n: usize, dx: f64) -> f64 {
    let n = n as u128;
    let sum_i2 = (n - 1) * n * (2 * n - 1) / 6;
    let sum_i3 = ((n - 1) * n / 2).pow(2);
    0.7 * dx.powi(4) * sum_i3 as f64 - 2.0 * dx.powi(3) * sum_i2 as f64 + 4.0 * n as f64 * dx
}

fn main() -> numjit::Result<()> {
    let args = support::Args::parse(false);
    let n = args.size(100_000_000, 100_000);
    let dx = 3.0 / n as f64;
    // Materialized, as NumExpr needs it too; a `linspace` generator in the language will make
    // this array unnecessary.
    let x = Array1::from_shape_fn(n, |i| i as f64 * dx);
    let vars = numjit::Vars::new().with("x", &x).with("dx", dx);
    let expr = "sum((0.7*x**3 - 2*x**2 + 4)*dx)";
    let kernel = numjit::Engine::default().compile(expr, &vars.signature())?;
    let mut area = ndarray::arr0(0.0);
    let reps = 5;
    let t = support::median_secs(reps, || kernel.eval_into(&vars, &mut area))?;
    let area = area[()];

    support::banner(format!("P9 area under a curve: n = {n}"));
    println!("  {expr}");
    support::print_time(t, reps, n);
    // f(3) - f(0) = 0.9: a left sum undershoots the integral by about 0.9·dx/2.
    println!(
        "  area = {area:.15}, area - 8.175 = {:.3e} (about -0.45·dx = {:.3e})",
        area - 8.175,
        -0.45 * dx
    );
    let exact = closed_form(n, dx);
    // Each term is a few ulps off (x rounded, then cancellation in f), the pairwise sum adds
    // log₂(n) ulps: far below 1e-12 for any n that fits in memory.
    let diff = (area - exact).abs();
    support::check(
        diff <= 1e-12,
        format!("equals the closed form {exact:.15} within 1e-12: |diff| = {diff:.1e}"),
        || format!("area {area:e}, closed form {exact:e}"),
    );
    support::check(
        (area - 8.175).abs() <= dx,
        "within dx of the integral 8.175",
        || format!("area - 8.175 = {:e}, dx = {dx:e}", area - 8.175),
    );
    Ok(())
}
