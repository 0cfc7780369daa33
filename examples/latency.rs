//! Per-call overhead and compile latency: a cached kernel on 1,000 float64 elements end to end,
//! and the first evaluation of new course expressions (parse → lower → opt → Cranelift).
//!
//! `cargo run --release --example latency` — medians over many calls (ms and µs).

use std::time::Instant;

fn median(mut t: Vec<f64>) -> f64 {
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn main() -> Result<(), numjit::Error> {
    let a = ndarray::Array1::from_shape_fn(1000, |i| i as f64 * 1e-3);
    let b = a.mapv(|v| 1.0 - v);
    let vars = numjit::Vars::new().with("a", &a).with("b", &b);
    let mut out = ndarray::Array1::<f64>::zeros(1000);
    let expr = "a**2 + b**2 + 2*a*b";
    numjit::evaluate(expr, &vars)?;
    let kernel = numjit::Engine::default().compile(expr, &vars.signature())?;
    let time_us = |f: &mut dyn FnMut()| {
        median(
            (0..5000)
                .map(|_| {
                    let s = Instant::now();
                    f();
                    s.elapsed().as_secs_f64() * 1e6
                })
                .collect(),
        )
    };
    println!("1,000 float64 elements, `{expr}`, median of 5000 calls:");
    println!(
        "  numjit::evaluate (cached kernel, new result) {:.2} µs",
        time_us(&mut || {
            numjit::evaluate(expr, &vars).map(drop).unwrap_or(());
        })
    );
    println!(
        "  Kernel::eval      (new result)               {:.2} µs",
        time_us(&mut || {
            kernel.eval(&vars).map(drop).unwrap_or(());
        })
    );
    println!(
        "  Kernel::eval_into (preallocated output)      {:.2} µs",
        time_us(&mut || {
            kernel.eval_into(&vars, &mut out).unwrap_or(());
        })
    );
    let exprs = [
        "sin(2*pi*a)**2 + cos(2*pi*a)**2",
        "((.25*a + .75)*a - 1.5)*a - 2",
        "(2.0*a - 4.5*b) + (sin(a) + cos(b))",
        "a**3 + 4*sin(b)",
        "sum((0.7*a**3 - 2*a**2 + 4)*b)",
        "sum(a * b) - mean(a)",
    ];
    println!("first evaluation of a new expression (compile + run), median of 20 fresh engines:");
    for e in exprs {
        let t = median(
            (0..20)
                .map(|_| {
                    let s = Instant::now();
                    let engine = numjit::Engine::default();
                    engine
                        .compile(e, &vars.signature())
                        .and_then(|k| k.eval(&vars))
                        .map(drop)
                        .unwrap_or(());
                    s.elapsed().as_secs_f64() * 1e3
                })
                .collect(),
        );
        println!("  {e:40} {t:.3} ms");
    }
    Ok(())
}
