//! Course problem P5b: the heat equation u_t = α(u_xx + u_yy) on the unit square with u = 0 on
//! the boundary, explicit and double-buffered, on a 1000² grid for 1000 steps. It starts from
//! u₀ = sin(πx)·sin(πy), which every step multiplies by a known factor g, so the answer has a
//! closed form, gⁿ·u₀; it is also checked bit for bit against a plain Rust loop.
//!
//! `cargo run --release --example heat [--small] [N] [--plot out.png]` (an N² grid for N steps;
//! `--small`: 40² for 40 steps).

// ndarray's `s![1..-1]` counts -1 from the end; clippy reads it as an empty Rust range.
#![allow(clippy::reversed_empty_ranges)]

#[path = "support/mod.rs"]
mod support;

use std::f64::consts::PI;

use ndarray::Array2;

/// The grid spacing, the time step and the diffusivity.
#[derive(Clone, Copy)]
struct Params {
    dx: f64,
    dy: f64,
    dt: f64,
    alpha: f64,
}

/// The course's update of the interior, `u[1:-1, 1:-1] += …` written into the other buffer.
const STEP: &str = "u[1:-1, 1:-1] + dt*alpha*(\
    (u[1:-1, 2:] - 2*u[1:-1, 1:-1] + u[1:-1, :-2])/dx**2 + \
    (u[2:, 1:-1] - 2*u[1:-1, 1:-1] + u[:-2, 1:-1])/dy**2)";

/// The same step as a plain loop, in the kernel's order of operations (`dx**2` is `dx*dx`).
fn step_loop(p: Params, u: &Array2<f64>, next: &mut Array2<f64>) -> numjit::Result<()> {
    let (rows, cols) = u.dim();
    for i in 1..rows - 1 {
        for j in 1..cols - 1 {
            let c = u[[i, j]];
            let uxx = (u[[i, j + 1]] - 2.0 * c + u[[i, j - 1]]) / (p.dx * p.dx);
            let uyy = (u[[i + 1, j]] - 2.0 * c + u[[i - 1, j]]) / (p.dy * p.dy);
            next[[i, j]] = c + p.dt * p.alpha * (uxx + uyy);
        }
    }
    Ok(())
}

fn main() -> numjit::Result<()> {
    let args = support::Args::parse(true);
    let n = args.size(1000, 40);
    let nsteps = n;
    let h = 1.0 / (n - 1) as f64;
    let alpha = 1.0;
    // A fifth of h², below the explicit scheme's stability limit of a quarter.
    let p = Params {
        dx: h,
        dy: h,
        dt: 0.2 * h * h / alpha,
        alpha,
    };
    let mode = |k: usize| {
        if k == 0 || k == n - 1 {
            0.0
        } else {
            (PI * k as f64 * h).sin()
        }
    };
    let init = Array2::from_shape_fn((n, n), |(i, j)| mode(i) * mode(j));
    // The whole run is one compiled program: a time loop with a swap, no call per step.
    let scalars = [("dt", p.dt), ("alpha", p.alpha), ("dx", p.dx), ("dy", p.dy)];
    let (u, t) = support::timed(|| support::march_program(STEP, "u", &init, nsteps, &scalars));
    let u = u?;

    support::banner(format!("P5b heat equation: {n}² grid, {nsteps} steps"));
    for line in support::time_loop(STEP, "u").lines() {
        println!("  {line}");
    }
    support::print_time(t, 1, nsteps * (n - 2) * (n - 2));
    // Each step multiplies sin(πx)·sin(πy) by g: the discrete second differences of sin(πx)
    // are -4 sin²(πdx/2)/dx² times it.
    let lambda = |d: f64| 4.0 * (PI * d / 2.0).sin().powi(2) / (d * d);
    let g = 1.0 - p.dt * p.alpha * (lambda(p.dx) + lambda(p.dy));
    let decay = g.powi(nsteps as i32);
    let time = nsteps as f64 * p.dt;
    println!(
        "  t = {time:.4e}: u = {decay:.12} u₀ (the continuous solution decays by {:.12})",
        (-2.0 * PI * PI * p.alpha * time).exp()
    );
    support::plot(&args, u.view());
    let closed = init.mapv(|v| decay * v);
    // Each step rounds a few times on values below 1; a stable scheme does not amplify it.
    let tol = 8.0 * nsteps as f64 * f64::EPSILON;
    let diff = support::max_abs_diff(u.view(), closed.view());
    support::check(
        diff <= tol,
        format!("u = gⁿ·u₀ within {tol:.1e}: max |diff| = {diff:.1e}"),
        || format!("max |u - gⁿ·u₀| = {diff:e}"),
    );
    let want = support::march(&init, nsteps, |u, next| step_loop(p, u, next))?;
    support::check_loop(u.view(), want.view(), 0.0);
    Ok(())
}
