//! Course problem P4: `c = (2.0*a - 4.5*b) + (sin(a) + cos(b))` on arrays of shape
//! (1024, 1024, 50), where NumPy allocates a temporary per operation. numjit fuses the whole
//! expression: the peak memory is the inputs plus the output. Checked against a plain Rust loop
//! (std's sin and cos) within 4 ulps of the largest possible |c|.
//!
//! `cargo run --release --example temporaries [--small] [d0]` (shape (d0, 1024, 50); default
//! d0 = 1024, the course size).

#[path = "support/mod.rs"]
mod support;

use ndarray::{Array3, ArrayD, Zip};
use support::{golden, G1, G2};

/// The resident-set high-water mark, bytes (Linux); `None` elsewhere.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn main() -> Result<(), numjit::Error> {
    let args = support::Args::parse(false);
    let d0 = args.size(1024, 4);
    let shape = (d0, 1024, 50);
    // The engine, its thread pool and the JIT warmed up on a tiny input before the arrays exist,
    // so that the high-water mark below grows only by what this evaluation allocates.
    let tiny = ndarray::Array1::<f64>::zeros(8);
    numjit::evaluate("sin(x) + cos(x)", &numjit::Vars::new().with("x", &tiny))?;
    let before = peak_rss();
    let a = Array3::from_shape_fn(shape, |(i, j, k)| golden((i * 1024 + j) * 50 + k, G1));
    let b = Array3::from_shape_fn(shape, |(i, j, k)| golden((i * 1024 + j) * 50 + k, G2));
    let vars = numjit::Vars::new().with("a", &a).with("b", &b);
    let expr = "(2.0*a - 4.5*b) + (sin(a) + cos(b))";
    let kernel = numjit::Engine::default().compile(expr, &vars.signature())?;
    // `c = expr`: the first call allocates the result, as NumPy's would.
    let (c, t_alloc) = support::timed(|| kernel.eval(&vars));
    let mut c: ArrayD<f64> = c?.try_into()?;
    let grown = before.zip(peak_rss()).map(|(b, p)| p.saturating_sub(b));
    let reps = 3;
    let t = support::median_secs(reps, || kernel.eval_into(&vars, &mut c))?;

    let n = a.len();
    support::banner(format!("P4 temporaries: shape {shape:?} ({n} elements)"));
    println!("  c = {expr}");
    println!("  first call, allocating c: {}", support::secs(t_alloc));
    support::print_time(t, reps, n);
    println!("  sum(c) = {:.6e}", c.sum());
    if let Some(grown) = grown {
        let arrays = 3 * n as u64 * 8;
        let mib = |bytes: u64| bytes as f64 / (1 << 20) as f64;
        println!(
            "  peak memory grew by {:.1} MiB; inputs + output are {:.1} MiB",
            mib(grown),
            mib(arrays)
        );
        // 5 % and 16 MiB of slack for the allocator, the stack and the result's bookkeeping.
        support::check(
            grown <= arrays + arrays / 20 + (16 << 20),
            "no temporaries: peak memory is the inputs plus the output",
            || format!("grew by {:.1} MiB", mib(grown)),
        );
    }
    let want = {
        let mut want = Array3::<f64>::zeros(shape);
        Zip::from(&mut want)
            .and(&a)
            .and(&b)
            .for_each(|w, &a, &b| *w = (2.0 * a - 4.5 * b) + (a.sin() + b.cos()));
        want.into_dyn()
    };
    // |c| < 2 + 4.5 + 2; both sides' sin and cos are within 1 ulp of the exact value.
    support::check_loop(c.view(), want.view(), 4.0 * f64::EPSILON * 8.5);
    Ok(())
}
