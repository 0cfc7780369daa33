//! Course problem P8: the slowly converging series — the sum of 1/k for k = 1..n whose decimal
//! digits contain no 9 (Kempner's series; 13.2776059498… at n = 10⁸). numjit runs it as a
//! kernel with a `while` loop and an early `return`, inside a reduction over a generated
//! range: no array of n terms is ever made. Checked against a plain Rust loop's sum (within
//! the rounding bound of summing n terms) and, at n = 10⁸, against the published value.
//!
//! `cargo run --release --example slow_series [--small] [N]` (`--small`: n = 10⁵).

#[path = "support/mod.rs"]
mod support;

/// The program, as the course writes the term in Python.
const PROGRAM: &str = "\
def term(k):
    m = k
    while m > 0:
        if m % 10 == 9:
            return 0.0
        m //= 10
    return 1.0 / k

sum(term(arange(1, n + 1)))";

/// The sum at n = 10⁸ (Baillie's tables: the partial sum of Kempner's series to 10⁸).
const PUBLISHED: f64 = 13.277_605_949_858_2;

/// The same term as a Rust function.
fn term(k: i64) -> f64 {
    let mut m = k;
    while m > 0 {
        if m % 10 == 9 {
            return 0.0;
        }
        m /= 10;
    }
    1.0 / k as f64
}

fn main() -> numjit::Result<()> {
    let args = support::Args::parse(false);
    let n = args.size(100_000_000, 100_000) as i64;
    let n_array = ndarray::arr0(n);
    let vars = numjit::Vars::new().with("n", &n_array);
    let engine = numjit::Engine::default();
    let (kernel, compile) = support::timed(|| engine.compile(PROGRAM, &vars.signature()));
    let kernel = kernel?;
    let mut total = 0.0;
    let t = support::median_secs(3, || {
        let sum: ndarray::ArrayD<f64> = kernel.eval(&vars)?.try_into()?;
        total = sum[[]];
        Ok::<(), numjit::Error>(())
    })?;

    support::banner(format!("P8 slow series: n = {n}"));
    for line in PROGRAM.lines() {
        println!("  {line}");
    }
    println!("  compile {}", support::secs(compile));
    support::print_time(t, 3, n as usize);
    println!("  sum = {total:.13}");
    let (want, t_loop) = support::timed(|| (1..=n).map(term).sum::<f64>());
    println!(
        "  a plain Rust loop (one thread, LLVM -O3): {}",
        support::secs(t_loop)
    );
    let tol = 2.0 * n as f64 * f64::EPSILON * want;
    support::check(
        (total - want).abs() <= tol,
        format!("within {tol:.1e} of a Rust loop's sum {want:.13}"),
        || format!("differs by {:.3e}", total - want),
    );
    if n == 100_000_000 {
        support::check(
            (total - PUBLISHED).abs() < 1e-9,
            format!("the published value {PUBLISHED}"),
            || format!("differs by {:.3e}", total - PUBLISHED),
        );
    }
    Ok(())
}
