//! Course problem P6: one Jacobi step of the Laplace equation on an n × n grid,
//! `unew[1:-1, 1:-1] = 0.25*(u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:])`;
//! checked bit for bit against a plain Rust loop.
//!
//! `cargo run --release --example laplace [--small] [n]` (default n = 4096, the course size).

// ndarray's `s![1..-1]` counts -1 from the end; clippy reads it as an empty Rust range.
#![allow(clippy::reversed_empty_ranges)]

#[path = "support/mod.rs"]
mod support;

use ndarray::{s, Array2};
use support::{golden, G1};

fn main() -> numjit::Result<()> {
    let args = support::Args::parse(false);
    let n = args.size(4096, 300);
    let u = Array2::from_shape_fn((n, n), |(i, j)| golden(i * n + j, G1));
    let vars = numjit::Vars::new().with("u", &u);
    let expr = "0.25*(u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:])";
    let kernel = numjit::Engine::default().compile(expr, &vars.signature())?;
    let mut unew = Array2::<f64>::zeros((n, n));
    let reps = 5;
    let t = support::median_secs(reps, || {
        kernel.eval_into(&vars, &mut unew.slice_mut(s![1..-1, 1..-1]))
    })?;

    support::banner(format!("P6 Laplace stencil: {n}², one step"));
    println!("  unew[1:-1, 1:-1] = {expr}");
    support::print_time(t, reps, (n - 2) * (n - 2));
    println!("  sum(unew) = {:.6e}", unew.sum());
    let want = {
        let mut want = Array2::<f64>::zeros((n, n));
        for i in 1..n - 1 {
            for j in 1..n - 1 {
                want[[i, j]] =
                    0.25 * (u[[i - 1, j]] + u[[i + 1, j]] + u[[i, j - 1]] + u[[i, j + 1]]);
            }
        }
        want
    };
    support::check_loop(unew.view(), want.view(), 0.0);
    Ok(())
}
