//! Course problem P11: `sum(c, axis=0)` and `sum(c, axis=1)` of an n × n matrix. Checked
//! against plain Rust loops within the rounding error bound of summing n terms in order; the
//! course asks that axis=0 be no slower than axis=1.
//!
//! `cargo run --release --example axis_sums [--small] [n]` (default n = 10 000, the course size).

#[path = "support/mod.rs"]
mod support;

use ndarray::{Array1, Array2};
use support::{golden, G1};

fn main() -> numjit::Result<()> {
    let args = support::Args::parse(false);
    let n = args.size(10_000, 300);
    let c = Array2::from_shape_fn((n, n), |(i, j)| golden(i * n + j, G1));
    let vars = numjit::Vars::new().with("c", &c);
    support::banner(format!("P11 axis sums: {n} × {n}"));
    let mut times = [0.0; 2];
    for (axis, time) in times.iter_mut().enumerate() {
        let expr = format!("sum(c, axis={axis})");
        let kernel = numjit::Engine::default().compile(&expr, &vars.signature())?;
        let mut s = Array1::<f64>::zeros(n);
        let reps = 5;
        *time = support::median_secs(reps, || kernel.eval_into(&vars, &mut s))?;
        println!("  {expr}:");
        support::print_time(*time, reps, n * n);
        println!("  sum = {:.6e}", s.sum());
        // Loops in the order of memory: rows added into the accumulators (axis 0), or each row
        // summed (axis 1); either way every output adds its n terms one after another.
        let want: Array1<f64> = match axis {
            0 => c
                .rows()
                .into_iter()
                .fold(Array1::zeros(n), |acc, row| acc + row),
            _ => c.rows().into_iter().map(|row| row.iter().sum()).collect(),
        };
        // Summing n terms ≥ 0 in any order is within (n - 1)·eps·Σ of the exact sum; both are.
        let largest = want.fold(0.0f64, |m, &v| m.max(v));
        let tol = 2.0 * (n - 1) as f64 * f64::EPSILON * largest;
        support::check_loop(s.view(), want.view(), tol);
    }
    println!(
        "  axis=0 takes {:.2}× the time of axis=1 (the course's goal: at most 1)",
        times[0] / times[1]
    );
    Ok(())
}
