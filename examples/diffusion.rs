//! Course problem P5: 2-D diffusion with the course's exact parameters (D = 1 on [-10, 10]²,
//! dx ≈ 0.0667, run to t = 15: a 301² grid, 13 410 explicit steps from a product of tent
//! functions). Checked bit for bit against a plain Rust loop that adds in the same order.
//!
//! `cargo run --release --example diffusion [--small] [STEPS] [--plot out.png]` (`--small`:
//! the same program with a ten times coarser grid, 29² interior points and 126 steps; `STEPS`
//! stops early).

// ndarray's `s![1..-1]` counts -1 from the end; clippy reads it as an empty Rust range.
#![allow(clippy::reversed_empty_ranges)]

#[path = "support/mod.rs"]
mod support;

use ndarray::Array2;

/// The course's setup, computed as its Python does.
struct Problem {
    /// Interior points per side; the grid is (nrows + 2)².
    nrows: usize,
    nsteps: usize,
    /// `(D/dx**2)*dt`, the stencil's coefficient.
    coef: f64,
    /// The initial density: a product of tent functions, zero on the boundary.
    init: Array2<f64>,
}

impl Problem {
    fn new(dx: f64) -> Problem {
        let (d, x1, x2, runtime) = (1.0f64, -10.0f64, 10.0f64, 15.0f64);
        let nrows = ((x2 - x1) / dx) as usize;
        let dx = (x2 - x1) / nrows as f64;
        let dt = 0.25 * (dx * dx) / d;
        let nsteps = (runtime / dt) as usize;
        let f = |x: f64| 1.0 - (1.0 - 4.0 * ((x - (x1 + x2) / 2.0) / (x2 - x1)).abs()).abs();
        let x = |i: usize| x1 + ((i as f64 - 1.0) * (x2 - x1)) / nrows as f64;
        let init = Array2::from_shape_fn((nrows + 2, nrows + 2), |(i, j)| {
            let interior = (1..=nrows).contains(&i) && (1..=nrows).contains(&j);
            if interior {
                f(x(i)) * f(x(j))
            } else {
                0.0
            }
        });
        Problem {
            nrows,
            nsteps,
            coef: (d / (dx * dx)) * dt,
            init,
        }
    }
}

/// The course's update of the interior, `lapl` summed left to right as NumPy does.
const STEP: &str =
    "d[1:-1, 1:-1] + coef*(d[2:, 1:-1] + d[:-2, 1:-1] + d[1:-1, 2:] + d[1:-1, :-2] - 4*d[1:-1, 1:-1])";

/// The same step as a plain loop, with the additions in the kernel's order.
fn step_loop(coef: f64, d: &Array2<f64>, next: &mut Array2<f64>) -> numjit::Result<()> {
    let (rows, cols) = d.dim();
    for i in 1..rows - 1 {
        for j in 1..cols - 1 {
            let lapl =
                d[[i + 1, j]] + d[[i - 1, j]] + d[[i, j + 1]] + d[[i, j - 1]] - 4.0 * d[[i, j]];
            next[[i, j]] = d[[i, j]] + coef * lapl;
        }
    }
    Ok(())
}

fn main() -> numjit::Result<()> {
    let args = support::Args::parse(true);
    let mut p = Problem::new(if args.small { 0.667 } else { 0.0667 });
    p.nsteps = args.size.unwrap_or(p.nsteps);
    // The whole run is one compiled program: a time loop with a swap, no call per step.
    let (dens, t) = support::timed(|| {
        support::march_program(STEP, "d", &p.init, p.nsteps, &[("coef", p.coef)])
    });
    let dens = dens?;

    let n = p.nrows;
    support::banner(format!(
        "P5 2-D diffusion: {n}² interior points, {} steps",
        p.nsteps
    ));
    for line in support::time_loop(STEP, "d").lines() {
        println!("  {line}");
    }
    support::print_time(t, 1, p.nsteps * n * n);
    println!(
        "  final density: sum {:.6e}, max {:.6e}, centre {:.6e}",
        dens.sum(),
        dens.fold(f64::NEG_INFINITY, |m, &v| m.max(v)),
        dens[[n / 2 + 1, n / 2 + 1]]
    );
    support::plot(&args, dens.view());
    let want = support::march(&p.init, p.nsteps, |d, next| step_loop(p.coef, d, next))?;
    support::check_loop(dens.view(), want.view(), 0.0);
    Ok(())
}
