//! What the course examples share: the command line, built-in data, timing, and the checks that
//! end an example with status 1 when its answer is wrong.
//!
//! Each example includes this with `#[path = "support/mod.rs"] mod support;` and uses a part.

#![allow(dead_code)]

pub mod png;

use std::fmt::Display;
use std::path::PathBuf;
use std::time::Instant;

use ndarray::{Array2, ArrayView, Dimension, Zip};

/// The command line every example accepts: `[--small] [SIZE]`, plus `[--plot FILE.png]` where
/// the example draws a picture.
pub struct Args {
    /// `--small`: the test suite's size instead of the course's.
    pub small: bool,
    /// A size given on the command line; wins over both defaults.
    pub size: Option<usize>,
    /// `--plot FILE`: where to write a heatmap of the result.
    pub plot: Option<PathBuf>,
}

impl Args {
    /// Parses the command line; `plot` says whether this example accepts `--plot`.
    /// A bad argument prints the usage and exits with status 2.
    pub fn parse(plot: bool) -> Args {
        let mut args = Args {
            small: false,
            size: None,
            plot: None,
        };
        let usage = |msg: &str| -> ! {
            let name = std::env::args().next().unwrap_or_default();
            let plot = if plot { " [--plot FILE.png]" } else { "" };
            eprintln!("{msg}\nusage: {name} [--small] [SIZE]{plot}");
            std::process::exit(2)
        };
        let mut argv = std::env::args().skip(1);
        while let Some(arg) = argv.next() {
            match arg.as_str() {
                "--small" => args.small = true,
                "--plot" if plot => match argv.next() {
                    Some(path) => args.plot = Some(path.into()),
                    None => usage("--plot needs a file name"),
                },
                other => match other.replace('_', "").parse() {
                    Ok(n) if n > 0 && args.size.is_none() => args.size = Some(n),
                    _ => usage(&format!("unexpected argument {other:?}")),
                },
            }
        }
        args
    }

    /// The size given on the command line, else `small` with `--small`, else `full`.
    pub fn size(&self, full: usize, small: usize) -> usize {
        self.size.unwrap_or(if self.small { small } else { full })
    }
}

/// Steps of the built-in data (as in `bench_course`): 1/φ, the golden ratio's reciprocal, and
/// 1/ρ, the plastic number's. Fractional parts of their multiples are deterministic and well
/// spread over [0, 1).
pub const G1: f64 = 0.618_033_988_749_894_9;
pub const G2: f64 = 0.754_877_666_246_692_7;

/// A memory figure of this process in MiB from `/proc/self/status` (`"VmHWM:"`, the peak
/// resident set; `"RssFile:"`, `"RssAnon:"`), 0 where there is none (not Linux).
pub fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Element `i` of the low-discrepancy sequence with step `g`, in [0, 1).
pub fn golden(i: usize, g: f64) -> f64 {
    let x = i as f64 * g;
    x - x.floor()
}

/// Prints the example's first line: the problem, its size and the thread count.
pub fn banner(title: impl Display) {
    println!("{title}, {} threads", numjit::num_threads());
}

/// `f()` and how long it took, in seconds.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed().as_secs_f64())
}

/// One untimed warm-up call of `f` (first touch of the output, caches), then the median of
/// `reps` timed calls, in seconds.
pub fn median_secs<E>(reps: usize, mut f: impl FnMut() -> Result<(), E>) -> Result<f64, E> {
    f()?;
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let (result, t) = timed(&mut f);
        result?;
        times.push(t);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// `1.234 s`, `12.3 ms` or `45.6 µs`.
pub fn secs(t: f64) -> String {
    match t {
        t if t >= 1.0 => format!("{t:.3} s"),
        t if t >= 1e-3 => format!("{:.2} ms", t * 1e3),
        t => format!("{:.1} µs", t * 1e6),
    }
}

/// Prints the timing line: `time 8.06 ms (median of 5), 0.81 ns/element`.
pub fn print_time(t: f64, reps: usize, elements: usize) {
    let how = if reps > 1 {
        format!(" (median of {reps})")
    } else {
        String::new()
    };
    println!(
        "  time {}{how}, {:.2} ns/element",
        secs(t),
        t * 1e9 / elements as f64
    );
}

/// Prints `check: {what} — ok`; or, when `ok` is false, `FAILED: {what}: {detail}` on stderr
/// and exits with status 1.
pub fn check(ok: bool, what: impl Display, detail: impl FnOnce() -> String) {
    if !ok {
        eprintln!("FAILED: {what}: {}", detail());
        std::process::exit(1);
    }
    println!("  check: {what} — ok");
}

/// Checks `got` against `want`, computed by a plain Rust loop: bit for bit when `tol` is 0 (reporting how many elements differ and the first), else within
/// `tol` everywhere.
pub fn check_loop<D: Dimension>(got: ArrayView<f64, D>, want: ArrayView<f64, D>, tol: f64) {
    let on = "a plain Rust loop";
    if got.shape() != want.shape() {
        let shapes = || format!("shape {:?}, want {:?}", got.shape(), want.shape());
        return check(false, format!("the shape of {on}"), shapes);
    }
    if tol > 0.0 {
        let diff = max_abs_diff(got.view(), want.view());
        let what = format!("agrees with {on} within {tol:.1e}: max |diff| = {diff:.1e}");
        return check(diff <= tol, what, || format!("max |diff| = {diff:e}"));
    }
    let differ = |g: &f64, w: &f64| g.to_bits() != w.to_bits();
    let count = Zip::from(&got)
        .and(&want)
        .fold(0, |n, g, w| n + usize::from(differ(g, w)));
    check(
        count == 0,
        format!("identical to {on}, bit for bit"),
        || {
            let ((at, g), w) = got
                .indexed_iter()
                .zip(want.iter())
                .find(|((_, g), w)| differ(g, w))
                .expect("a difference was counted");
            format!(
                "{count} of {} elements differ; the first at {at:?} is {g:e}, want {w:e}",
                got.len()
            )
        },
    );
}

/// The larger of `m` and `d`, or NaN if either is: a fold step for maxima that must not hide a
/// NaN (`f64::max` ignores one).
pub fn nan_max(m: f64, d: f64) -> f64 {
    if d.is_nan() || d > m {
        d
    } else {
        m
    }
}

/// The largest |got - want| over two arrays of one shape; NaN if any difference is NaN.
pub fn max_abs_diff<D: Dimension>(got: ArrayView<f64, D>, want: ArrayView<f64, D>) -> f64 {
    Zip::from(&got)
        .and(&want)
        .fold(0.0, |m, g, w| nan_max(m, (g - w).abs()))
}

/// Runs `nsteps` steps of a double-buffered stencil from `init`: `step(&current, &mut next)`
/// writes the interior of `next`, then the two swap. Both buffers start as copies of `init`,
/// so the boundary keeps its initial values.
pub fn march<E>(
    init: &Array2<f64>,
    nsteps: usize,
    mut step: impl FnMut(&Array2<f64>, &mut Array2<f64>) -> Result<(), E>,
) -> Result<Array2<f64>, E> {
    let (mut current, mut next) = (init.clone(), init.clone());
    for _ in 0..nsteps {
        step(&current, &mut next)?;
        std::mem::swap(&mut current, &mut next);
    }
    Ok(current)
}

/// Runs `nsteps` steps of a double-buffered stencil from `init` as ONE numjit program (a
/// compiled time loop, no call per step): `next[1:-1, 1:-1] = update` (which reads the current
/// field as `var`), then `swap(var, next)`. Both buffers start as copies of `init`, so the
/// boundary keeps its initial values; `scalars` are bound by name for `update`.
pub fn march_program(
    update: &str,
    var: &str,
    init: &Array2<f64>,
    nsteps: usize,
    scalars: &[(&str, f64)],
) -> numjit::Result<Array2<f64>> {
    let program = time_loop(update, var);
    let (mut current, mut next) = (init.clone(), init.clone());
    {
        let mut vars = numjit::Vars::new().with("nsteps", nsteps as i64);
        for (name, value) in scalars {
            vars.insert(name, *value);
        }
        let vars = vars.with_out(var, &mut current).with_out("next", &mut next);
        numjit::run(&program, &vars)?;
    }
    Ok(current)
}

/// The program [`march_program`] runs.
pub fn time_loop(update: &str, var: &str) -> String {
    format!("for step in range(nsteps):\n    next[1:-1, 1:-1] = {update}\n    swap({var}, next)")
}

/// Writes `field` as a heatmap PNG to `--plot`'s path, if one was given.
pub fn plot(args: &Args, field: ndarray::ArrayView2<f64>) {
    if let Some(path) = &args.plot {
        match png::write_heatmap(path, field) {
            Ok(()) => println!("  wrote {}", path.display()),
            Err(e) => {
                eprintln!("FAILED: writing {}: {e}", path.display());
                std::process::exit(1);
            }
        }
    }
}
