//! First benchmark of the core engine: ns/element for three expressions at 1 and 2 threads, next
//! to a plain Rust loop doing the same work (compiled by rustc -O, so auto-vectorized where it can).
//!
//! `cargo run --release --example bench_core [n]` (default n = 10⁷). Medians of 7 runs after a
//! warm-up; results go to preallocated outputs so neither side pays for fresh pages.

use std::hint::black_box;
use std::time::Instant;

use ndarray::Array1;
use numjit::{Engine, Vars};

fn median_ns<F: FnMut()>(mut f: F) -> f64 {
    f();
    let mut t: Vec<f64> = (0..7)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e9
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[3]
}

fn main() -> Result<(), numjit::Error> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let x = Array1::from_shape_fn(n, |i| (i as f64 * 0.618_033_988_749_894_9) % 1.0);
    let b = Array1::from_shape_fn(n, |i| (i as f64 * 0.754_877_666_246_692_7) % 1.0);
    let mut out = Array1::<f64>::zeros(n);
    let mut sum_out = ndarray::arr0(0.0);
    let vars = Vars::new().with("x", &x).with("a", &x).with("b", &b);
    let engine = Engine::default();
    let per = |ns: f64| ns / n as f64;

    println!("numjit core benchmark, n = {n}, median of 7 (ns/element)");
    println!("| expression | numjit 1t | numjit 2t | Rust loop 1t |");
    println!("|---|---|---|---|");

    let poly = engine.compile("((.25*x + .75)*x - 1.5)*x - 2", &vars.signature())?;
    let quad = engine.compile("a**2 + b**2 + 2*a*b", &vars.signature())?;
    let sum = engine.compile("sum(x)", &vars.signature())?;
    let (xs, bs) = (x.as_slice().unwrap_or(&[]), b.as_slice().unwrap_or(&[]));

    for (name, kernel, loop_ns) in [
        (
            "((.25*x + .75)*x - 1.5)*x - 2",
            &poly,
            median_ns(|| {
                let o = out.as_slice_mut().unwrap_or(&mut []);
                for (o, &v) in o.iter_mut().zip(xs) {
                    *o = ((0.25 * v + 0.75) * v - 1.5) * v - 2.0;
                }
                black_box(&o);
            }),
        ),
        (
            "a**2 + b**2 + 2*a*b",
            &quad,
            median_ns(|| {
                let o = out.as_slice_mut().unwrap_or(&mut []);
                for ((o, &a), &b) in o.iter_mut().zip(xs).zip(bs) {
                    *o = a * a + b * b + 2.0 * a * b;
                }
                black_box(&o);
            }),
        ),
        (
            "sum(x)",
            &sum,
            median_ns(|| {
                black_box(xs.iter().sum::<f64>());
            }),
        ),
    ] {
        let mut times = [0.0; 2];
        for (slot, threads) in times.iter_mut().zip([1, 2]) {
            numjit::set_num_threads(threads);
            *slot = if name == "sum(x)" {
                median_ns(|| {
                    kernel
                        .eval_into(&vars, &mut sum_out)
                        .unwrap_or_else(|e| panic!("{e}"))
                })
            } else {
                median_ns(|| {
                    kernel
                        .eval_into(&vars, &mut out)
                        .unwrap_or_else(|e| panic!("{e}"))
                })
            };
        }
        println!(
            "| `{name}` | {:.2} | {:.2} | {:.2} |",
            per(times[0]),
            per(times[1]),
            per(loop_ns)
        );
    }
    Ok(())
}
