//! Course problem P9, the area under 0.7x³ − 2x² + 4 on [0, 3] (exactly 8.175), with `x` a
//! generator that never materializes against `x` a materialized array: time per element and
//! peak memory (each variant in its own process, so peak RSS is its own).
//!
//! `cargo run --release --example area_generators [n]` (default n = 10⁸).

use std::process::Command;
use std::time::Instant;

use numjit::{Engine, Vars};

const P9: &str = "sum((0.7*X**3 - 2*X**2 + 4)*dx)";

/// Peak resident set size of this process in MiB (Linux; 0 elsewhere).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Runs one variant: `generated` (x = linspace(0, 3, n)) or `materialized` (x an array).
fn run(variant: &str, n: usize) -> Result<(), numjit::Error> {
    let dx = 3.0 / (n - 1) as f64;
    let step = dx;
    // NumPy's linspace, for the materialized variant: i*step + 0, the last point exactly 3.
    let x = (variant == "materialized").then(|| {
        let start = Instant::now();
        let x =
            ndarray::Array1::from_shape_fn(n, |i| if i + 1 == n { 3.0 } else { i as f64 * step });
        let t = start.elapsed().as_secs_f64();
        println!(
            "  materializing x: {:7.1} ms  {:5.3} ns/element (not in the times below)",
            t * 1e3,
            t * 1e9 / n as f64
        );
        x
    });
    let vars = match &x {
        Some(x) => Vars::new().with("x", x),
        None => Vars::new(),
    }
    .with("n", n as i64)
    .with("dx", dx);
    let expr = match variant {
        "materialized" => P9.replace('X', "x"),
        _ => P9.replace('X', "linspace(0, 3, n)"),
    };
    let kernel = Engine::default().compile(&expr, &vars.signature())?;
    for threads in [1, 2] {
        numjit::set_num_threads(threads);
        let mut area = kernel.eval(&vars)?.to_f64()[[]]; // warm-up
        let mut times: Vec<f64> = (0..5)
            .map(|_| {
                let start = Instant::now();
                area = kernel
                    .eval(&vars)
                    .map(|a| a.to_f64()[[]])
                    .unwrap_or(f64::NAN);
                start.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "  {variant:>12}, {threads} thread{}: {:7.1} ms  {:5.3} ns/element  area {area:.9}  peak RSS {:7.1} MiB",
            if threads == 1 { " " } else { "s" },
            times[2] * 1e3,
            times[2] * 1e9 / n as f64,
            peak_rss_mib()
        );
        if (area - 8.175).abs() > 1e-4 {
            eprintln!("FAILED: the area {area} is not 8.175");
            std::process::exit(1);
        }
    }
    Ok(())
}

fn main() -> Result<(), numjit::Error> {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000_000);
    if let Some(variant) = args.next() {
        return run(&variant, n);
    }
    println!("P9 area under the curve, n = {n} (median of 5)");
    println!("  {}", P9.replace('X', "linspace(0, 3, n)"));
    for variant in ["generated", "materialized"] {
        let me = std::env::current_exe().expect("the example's own path");
        let status = Command::new(me)
            .args([n.to_string(), variant.to_string()])
            .status()
            .expect("run the variant");
        if !status.success() {
            std::process::exit(1);
        }
    }
    Ok(())
}
