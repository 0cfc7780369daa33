//! Course problem P12: the Mandelbrot escape count on 1000 × 1500 pixels (x in [-2, 1], y in
//! [-1, 1]): z ← z² + c up to 20 times, the index of the first iteration with |z|² ≥ 4, else 255.
//! numjit runs it as a kernel — a `def` with a loop and an early `return` — applied to every
//! pixel in one fused, parallel pass; checked pixel for pixel against a plain Rust loop.
//!
//! `cargo run --release --example mandelbrot [--small] [WIDTH] [--plot mandelbrot.png]`
//! (`--small`: 150 × 100 pixels; `WIDTH`: that many columns, two thirds as many rows).

#[path = "support/mod.rs"]
mod support;

use ndarray::{Array1, Array2};

/// The program, as the course writes the kernel in Python.
const PROGRAM: &str = "\
def escape(cr, ci, maxiter):
    zr = 0.0
    zi = 0.0
    for n in range(maxiter):
        if zr*zr + zi*zi >= 4.0:
            return n
        zr, zi = zr*zr - zi*zi + cr, 2.0*zr*zi + ci
    return 255

escape(x[None, :], y[:, None], 20)";

/// The same kernel as a Rust loop, with the same operations in the same order.
fn escape(cr: f64, ci: f64, maxiter: i64) -> i64 {
    let (mut zr, mut zi) = (0.0f64, 0.0f64);
    for n in 0..maxiter {
        if zr * zr + zi * zi >= 4.0 {
            return n;
        }
        (zr, zi) = (zr * zr - zi * zi + cr, 2.0 * zr * zi + ci);
    }
    255
}

/// `n` points from `a` to `b`, as `numpy.linspace` computes them.
fn linspace(a: f64, b: f64, n: usize) -> Array1<f64> {
    let step = (b - a) / (n - 1) as f64;
    Array1::from_shape_fn(n, |i| if i == n - 1 { b } else { a + i as f64 * step })
}

fn main() -> numjit::Result<()> {
    let args = support::Args::parse(true);
    let width = args.size(1500, 150);
    let height = width * 2 / 3;
    let (x, y) = (linspace(-2.0, 1.0, width), linspace(-1.0, 1.0, height));
    let vars = numjit::Vars::new().with("x", &x).with("y", &y);
    let engine = numjit::Engine::default();
    let (kernel, compile) = support::timed(|| engine.compile(PROGRAM, &vars.signature()));
    let kernel = kernel?;
    let mut image = kernel.eval(&vars)?;
    let t = support::median_secs(5, || kernel.eval(&vars).map(|img| image = img))?;
    let image: ndarray::ArrayD<i64> = image.try_into()?;
    let image = image
        .into_dimensionality::<ndarray::Ix2>()
        .expect("a 2-d image");

    support::banner(format!(
        "P12 Mandelbrot: {height} × {width} pixels, 20 iterations"
    ));
    for line in PROGRAM.lines() {
        println!("  {line}");
    }
    println!("  compile {}", support::secs(compile));
    support::print_time(t, 5, width * height);
    let inside = image.iter().filter(|&&v| v == 255).count();
    println!("  {inside} pixels stay bounded (255)");
    support::plot(&args, image.mapv(|v| v as f64).view());
    let want = Array2::from_shape_fn((height, width), |(i, j)| escape(x[j], y[i], 20));
    let wrong = image.iter().zip(&want).filter(|(a, b)| a != b).count();
    support::check(
        wrong == 0,
        "every pixel equals a Rust loop's escape count",
        || format!("{wrong} pixels differ"),
    );
    Ok(())
}
