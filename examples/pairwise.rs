//! Course problem P10: pairwise distances between M points in 3-D,
//! `D = sqrt(sum((X[:, None, :] - X[None, :, :])**2, axis=-1))`, for M = 1000 and 4000.
//! Checked bit for bit against a plain Rust loop; D is symmetric with a zero diagonal.
//!
//! `cargo run --release --example pairwise [--small] [M]` (default: both course sizes).

#[path = "support/mod.rs"]
mod support;

use ndarray::Array2;
use numjit::{Kernel, Vars};
use support::{golden, G1};

const EXPR: &str = "sqrt(sum((X[:, None, :] - X[None, :, :])**2, axis=-1))";

fn run(kernel: &Kernel, m: usize) -> numjit::Result<()> {
    let x = Array2::from_shape_fn((m, 3), |(i, k)| golden(3 * i + k, G1));
    let vars = Vars::new().with("X", &x);
    let mut d = Array2::<f64>::zeros((m, m));
    let reps = 5;
    let t = support::median_secs(reps, || kernel.eval_into(&vars, &mut d))?;

    println!("  M = {m}:");
    support::print_time(t, reps, m * m);
    println!("  sum(D) = {:.6e}", d.sum());
    let symmetric = d == d.t();
    let diagonal = d.diag().iter().all(|&v| v == 0.0);
    support::check(symmetric && diagonal, "D symmetric, zero diagonal", || {
        format!("symmetric {symmetric}, zero diagonal {diagonal}")
    });
    let want = Array2::from_shape_fn((m, m), |(i, j)| {
        let sq = |k: usize| (x[[i, k]] - x[[j, k]]) * (x[[i, k]] - x[[j, k]]);
        (sq(0) + sq(1) + sq(2)).sqrt()
    });
    support::check_loop(d.view(), want.view(), 0.0);
    Ok(())
}

fn main() -> numjit::Result<()> {
    let args = support::Args::parse(false);
    let sizes = match (args.size, args.small) {
        (Some(m), _) => vec![m],
        (None, true) => vec![50, 200],
        (None, false) => vec![1000, 4000],
    };
    let sig = numjit::Signature::new().with("X", numjit::DType::Float64, 2);
    let kernel = numjit::Engine::default().compile(EXPR, &sig)?;
    support::banner("P10 pairwise distances");
    println!("  D = {EXPR}");
    for m in sizes {
        run(&kernel, m)?;
    }
    Ok(())
}
