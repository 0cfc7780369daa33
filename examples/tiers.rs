//! The two code generators side by side: compile time of course expressions (a fresh engine per
//! compile: parse → lower → opt → codegen) and run time of the compiled kernel, on Cranelift and
//! on LLVM (feature `llvm`); for LLVM also the compile of a second process, which finds the
//! object in the on-disk cache (`set_object_cache_dir`) and only links it.
//!
//! `cargo run --release --features llvm --example tiers` — medians (compile: 9 compiles; run: 15
//! calls on 10⁷ float64 elements, one thread, into a preallocated output).

use std::time::Instant;

use numjit::{Engine, Tier, Vars};

const P8: &str = "\
def term(k):
    m = k
    while m > 0:
        if m % 10 == 9:
            return 0.0
        m //= 10
    return 1.0 / k

sum(term(arange(1, n + 1)))";

const P12: &str = "\
def escape(cr, ci):
    zr = 0.0
    zi = 0.0
    for k in range(20):
        t = zr*zr - zi*zi + cr
        zi = 2*zr*zi + ci
        zr = t
        if zr*zr + zi*zi >= 4:
            return k
    return 255

escape(x[None, :], y[:, None])";

fn median(mut t: Vec<f64>) -> f64 {
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn main() -> Result<(), numjit::Error> {
    numjit::set_num_threads(1);
    let n = 10_000_000;
    let a = numjit::alloc::from_shape_fn(n, |i| (i as f64 * 1e-7).fract());
    let b = numjit::alloc::from_shape_fn(n, |i| 1.0 - (i as f64 * 3e-7).fract());
    let c = numjit::alloc::from_shape_fn((1000, n / 1000), |(i, j)| (i * 7 + j) as f64 * 1e-3);
    // P12's plane, 1500 × 1000 points.
    let x = numjit::alloc::from_shape_fn(1500, |i| -2.0 + 3.0 * i as f64 / 1499.0);
    let y = numjit::alloc::from_shape_fn(1000, |i| -1.5 + 3.0 * i as f64 / 999.0);
    let mut out = numjit::alloc::full(n, 0.0);
    let exprs: &[(&str, bool)] = &[
        ("((.25*a + .75)*a - 1.5)*a - 2", true),
        ("a + 2.5*b", true),
        ("sin(2*pi*a)**2 + cos(2*pi*a)**2", true),
        ("where(a > 0.5, a, 0.1*b)", true),
        ("sum(a * b)", false),
        ("sum(c, axis=0)", false),
        ("sum(c, axis=1)", false),
        // P6's Laplace stencil: four views of one array (rows read through shared loads).
        (
            "0.25*(c[:-2, 1:-1] + c[2:, 1:-1] + c[1:-1, :-2] + c[1:-1, 2:])",
            false,
        ),
        // P8 (its first 10^7 terms) and P12: `def` kernels with loops and early exits.
        (P8, false),
        (P12, false),
    ];
    let cache = std::env::temp_dir().join(format!("numjit-tiers-{}", std::process::id()));
    println!("| expression | tier | compile (ms) | from the object cache (ms) | run (ms) |");
    println!("|---|---|---|---|---|");
    for &(expr, into_out) in exprs {
        for tier in [Tier::Cranelift, Tier::Llvm] {
            let vars = (Vars::new().with("a", &a).with("b", &b).with("c", &c))
                .with("x", &x)
                .with("y", &y)
                .with("n", n as i64);
            let compiles = || {
                (0..9)
                    .map(|_| {
                        let s = Instant::now();
                        let k = Engine::default()
                            .with_tier(tier)
                            .compile(expr, &vars.signature());
                        let t = s.elapsed().as_secs_f64() * 1e3;
                        k.map(|_| t)
                    })
                    .collect::<Result<Vec<_>, _>>()
            };
            numjit::set_object_cache_dir(None);
            let compile = median(compiles()?);
            let cached = if tier == Tier::Llvm {
                // The first compile stores the object; the 9 timed ones load it.
                numjit::set_object_cache_dir(Some(cache.clone()));
                Engine::default()
                    .with_tier(tier)
                    .compile(expr, &vars.signature())?;
                let t = median(compiles()?);
                numjit::set_object_cache_dir(None);
                format!("{t:.3}")
            } else {
                "–".to_string()
            };
            let k = Engine::default()
                .with_tier(tier)
                .compile(expr, &vars.signature())?;
            let mut run = || -> Result<f64, numjit::Error> {
                let s = Instant::now();
                if into_out {
                    k.eval_into(&vars, &mut out)?;
                } else {
                    k.eval(&vars)?;
                }
                Ok(s.elapsed().as_secs_f64() * 1e3)
            };
            run()?;
            let times = (0..15).map(|_| run()).collect::<Result<Vec<_>, _>>()?;
            println!(
                "| `{}` | {tier:?} | {compile:.3} | {cached} | {:.2} |",
                expr.lines().last().unwrap_or(expr),
                median(times)
            );
        }
    }
    let _ = std::fs::remove_dir_all(&cache);
    Ok(())
}
