//! numjit's worker for the course benchmark (`benches/course/run.sh`; protocol, inputs and
//! checksums in `benches/course/README.md`). Prints one JSON line.
//!
//! `bench_course --problem P2 --threads 1 --reps 5 --size 10000000 --variant out`

// ndarray's `s![1..-1]` counts -1 from the end; clippy reads it as an empty Rust range.
#![allow(clippy::reversed_empty_ranges)]

use std::time::Instant;

use ndarray::{s, Array, Array1, Array3, ArrayD, Dimension, NewAxis};
use numjit::{alloc, Engine, Kernel, Vars};

const G1: f64 = 0.618_033_988_749_894_9;
const G2: f64 = 0.754_877_666_246_692_7;
const G3: f64 = 0.569_840_290_998_053_2;

fn golden(i: usize, g: f64) -> f64 {
    let x = i as f64 * g;
    x - x.floor()
}

struct Args {
    problem: String,
    threads: usize,
    reps: usize,
    size: Option<usize>,
    variant: Option<String>,
}

fn parse_args() -> Args {
    let mut a = Args {
        problem: String::new(),
        threads: 1,
        reps: 5,
        size: None,
        variant: None,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let v = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--problem" => a.problem = v,
            "--threads" => a.threads = v.parse().unwrap_or(1),
            "--reps" => a.reps = v.parse().unwrap_or(5),
            "--size" => a.size = v.parse().ok(),
            "--variant" => a.variant = Some(v),
            other => fail(&format!("unknown argument {other}")),
        }
    }
    a
}

fn fail(msg: &str) -> ! {
    eprintln!("bench_course: {msg}");
    std::process::exit(2)
}

/// The RSS high-water mark, KiB.
fn vm_hwm() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or(0)
            })
        })
        .unwrap_or(0)
}

/// The measured result of one problem.
struct Run {
    times: Vec<f64>,
    checksum: f64,
}

/// Warm-up, then `reps` timed calls of `f`; the checksum is taken after the last call, untimed.
fn time(reps: usize, mut f: impl FnMut(), checksum: impl FnOnce() -> f64) -> Run {
    f();
    let times = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    Run {
        times,
        checksum: checksum(),
    }
}

/// Seconds spent in [`compile`] by this process (the first call's compile, reported apart
/// from the timed calls as `compile_s`: with `NUMJIT_TIER=llvm` the time to tier up). Programs
/// run through `numjit::run` compile inside their warm-up call and report none.
static COMPILE_S: std::sync::Mutex<Option<f64>> = std::sync::Mutex::new(None);

fn compile(expr: &str, vars: &Vars) -> Kernel {
    let start = Instant::now();
    let k = Engine::default()
        .compile(expr, &vars.signature())
        .unwrap_or_else(|e| fail(&e.to_string()));
    let mut total = COMPILE_S.lock().unwrap_or_else(|e| e.into_inner());
    *total = Some(total.unwrap_or(0.0) + start.elapsed().as_secs_f64());
    k
}

fn eval_f64(k: &Kernel, vars: &Vars) -> ArrayD<f64> {
    match k.eval(vars).unwrap_or_else(|e| fail(&e.to_string())) {
        numjit::Array::Float64(a) => a,
        other => fail(&format!("expected float64, got {}", other.dtype())),
    }
}

/// Runs `k` into `out` (variant `out`), or into a fresh array kept in `fresh` until the next
/// call (variant `alloc`: the call pays for new memory, as `c = expr` does).
struct Output<D: Dimension> {
    out: Array<f64, D>,
    fresh: Option<ArrayD<f64>>,
    alloc: bool,
}

impl<D: Dimension> Output<D> {
    fn new(shape: D, alloc: bool) -> Self {
        let shape = if alloc { D::zeros(shape.ndim()) } else { shape };
        Output {
            out: alloc::full(shape, 0.0),
            fresh: None,
            alloc,
        }
    }

    fn run(&mut self, k: &Kernel, vars: &Vars) {
        if self.alloc {
            self.fresh = None; // the previous result is freed before the next is allocated
            self.fresh = Some(eval_f64(k, vars));
        } else {
            k.eval_into(vars, &mut self.out)
                .unwrap_or_else(|e| fail(&e.to_string()));
        }
    }

    fn sum(&self) -> f64 {
        self.fresh
            .as_ref()
            .map_or_else(|| self.out.sum(), |a| a.sum())
    }
}

fn elementwise(a: &Args, n: usize, inputs: &[(&str, f64)], expr: &str, alloc: bool) -> Run {
    let arrays: Vec<Array1<f64>> = inputs
        .iter()
        .map(|(_, g)| alloc::from_shape_fn(n, |i| golden(i, *g)))
        .collect();
    let mut vars = Vars::new();
    for ((name, _), arr) in inputs.iter().zip(&arrays) {
        vars.insert(name, arr);
    }
    let k = compile(expr, &vars);
    let mut out = Output::new(ndarray::Ix1(n), alloc);
    let run = time(a.reps, || out.run(&k, &vars), || 0.0);
    Run {
        checksum: out.sum(),
        ..run
    }
}

fn p4(a: &Args, d0: usize, alloc: bool) -> Run {
    let shape = (d0, 1024, 50);
    let x = alloc::from_shape_fn(shape, |(i, j, k)| golden((i * 1024 + j) * 50 + k, G1));
    let y = alloc::from_shape_fn(shape, |(i, j, k)| golden((i * 1024 + j) * 50 + k, G2));
    let vars = Vars::new().with("a", &x).with("b", &y);
    let k = compile("(2.0*a - 4.5*b) + (sin(a) + cos(b))", &vars);
    let mut out = Output::new(ndarray::Ix3(d0, 1024, 50), alloc);
    let run = time(a.reps, || out.run(&k, &vars), || 0.0);
    Run {
        checksum: out.sum(),
        ..run
    }
}

/// P5: the course's diffusion, one kernel call per step into the interior of the other grid.
fn p5(a: &Args, steps: usize) -> Run {
    let (x1, x2, d) = (-10.0f64, 10.0f64, 1.0f64);
    let nrows = ((x2 - x1) / 0.0667) as usize;
    let dx = (x2 - x1) / nrows as f64;
    let dt = 0.25 * dx * dx / d;
    let coef = (d / (dx * dx)) * dt;
    let f = |x: f64| 1.0 - (1.0 - 4.0 * ((x - (x1 + x2) / 2.0) / (x2 - x1)).abs()).abs();
    let xs = |i: usize| x1 + ((i as f64 - 1.0) * (x2 - x1)) / nrows as f64;
    let init = alloc::from_shape_fn((nrows + 2, nrows + 2), |(i, j)| {
        if i == 0 || j == 0 || i > nrows || j > nrows {
            0.0
        } else {
            f(xs(i)) * f(xs(j))
        }
    });
    // The whole run is one program: the course's update (its additions left to right), a swap.
    let program = "for step in range(nsteps):\n    \
        next[1:-1, 1:-1] = d[1:-1, 1:-1] + coef*(d[2:, 1:-1] + d[:-2, 1:-1] + d[1:-1, 2:] + d[1:-1, :-2] - 4*d[1:-1, 1:-1])\n    \
        swap(d, next)";
    let mut result = init.clone();
    let run = time(
        a.reps,
        || {
            let (mut dens, mut next) = (init.clone(), init.clone());
            {
                let vars = Vars::new()
                    .with("nsteps", steps as i64)
                    .with("coef", coef)
                    .with_out("d", &mut dens)
                    .with_out("next", &mut next);
                numjit::run(program, &vars).unwrap_or_else(|e| fail(&e.to_string()));
            }
            result = dens;
        },
        || 0.0,
    );
    Run {
        checksum: result.sum(),
        ..run
    }
}

fn p6(a: &Args, n: usize) -> Run {
    let u = alloc::from_shape_fn((n, n), |(i, j)| golden(i * n + j, G1));
    // The course's statement: four slices of one array, taken by the expression.
    let vars = Vars::new().with("u", &u);
    let k = compile(
        "0.25*(u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:])",
        &vars,
    );
    let mut unew = alloc::full((n, n), 0.0);
    let run = time(
        a.reps,
        || {
            k.eval_into(&vars, &mut unew.slice_mut(s![1..-1, 1..-1]))
                .unwrap_or_else(|e| fail(&e.to_string()))
        },
        || 0.0,
    );
    Run {
        checksum: unew.slice(s![1..-1, 1..-1]).sum(),
        ..run
    }
}

fn p7(a: &Args, nr: usize, alloc: bool) -> Run {
    let (nlat, nlon) = (250, 400);
    let linspace = |start: f64, stop: f64, num: usize| {
        let step = (stop - start) / (num - 1) as f64;
        let mut v = alloc::from_shape_fn(num, |i| i as f64 * step + start);
        v[num - 1] = stop;
        v
    };
    let (lat, lon) = (linspace(-90.0, 90.0, nlat), linspace(0.0, 360.0, nlon));
    let shape = (nlat, nr, nlon);
    let field = |g| alloc::from_shape_fn(shape, |(i, j, k)| golden((i * nr + j) * nlon + k, g));
    let (vlat, vlon, vrad) = (field(G1), field(G2), field(G3));
    // One program, as the course writes it: numjit computes the small trigonometry once (it
    // hoists subexpressions with far fewer elements than the pass), then the three outputs in
    // one fused pass over the fields.
    let program = "sinlat = sin(radians(lat)); coslat = cos(radians(lat))
sinlon = sin(radians(lon)); coslon = cos(radians(lon))
vx = -sinlon*vlon - sinlat*coslon*vlat + coslat*coslon*vrad
vy = coslon*vlon - sinlat*sinlon*vlat + coslat*sinlon*vrad
vz = coslat*vlat + sinlat*vrad";
    let lat = lat
        .into_shape_with_order((nlat, 1, 1))
        .unwrap_or_else(|e| fail(&e.to_string()));
    let zeros = || alloc::full(shape, 0.0);
    let mut outs: Vec<Array3<f64>> = (0..3).map(|_| zeros()).collect();
    let run = time(
        a.reps,
        || {
            if alloc {
                // Fresh outputs per call, freed before the next are made.
                outs.clear();
                outs.extend((0..3).map(|_| zeros()));
            }
            let [vx, vy, vz] = &mut outs[..] else {
                fail("three outputs")
            };
            let vars = Vars::new()
                .with("lat", &lat)
                .with("lon", &lon)
                .with("vlat", &vlat)
                .with("vlon", &vlon)
                .with("vrad", &vrad)
                .with_out("vx", vx)
                .with_out("vy", vy)
                .with_out("vz", vz);
            numjit::run(program, &vars).unwrap_or_else(|e| fail(&e.to_string()));
        },
        || 0.0,
    );
    Run {
        checksum: outs.iter().map(|o| o.sum()).sum(),
        ..run
    }
}

fn p9(a: &Args, n: usize) -> Run {
    // x_i = i*dx from a generator: computed where used, never stored (NumExpr needs x in memory).
    let dx = 3.0 / n as f64;
    let vars = Vars::new().with("n", n as i64).with("dx", dx);
    let k = compile("x = arange(n) * dx\nsum((0.7*x**3 - 2*x**2 + 4)*dx)", &vars);
    let mut total = 0.0;
    let run = time(a.reps, || total = eval_f64(&k, &vars)[[]], || 0.0);
    Run {
        checksum: total,
        ..run
    }
}

/// P8's term as a kernel: no array of n terms exists, the reduction calls it per element.
const P8: &str = "\
def term(k):
    m = k
    while m > 0:
        if m % 10 == 9:
            return 0.0
        m //= 10
    return 1.0 / k

sum(term(arange(1, n + 1)))";

fn p8(a: &Args, n: usize) -> Run {
    let vars = Vars::new().with("n", n as i64);
    let k = compile(P8, &vars);
    let mut total = 0.0;
    let run = time(a.reps, || total = eval_f64(&k, &vars)[[]], || 0.0);
    Run {
        checksum: total,
        ..run
    }
}

/// P12 as the peers compute it (`peers_numba.py`, `c/bench_c.c`): z is updated, then tested.
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

fn p12(a: &Args, ny: usize, alloc: bool) -> Run {
    let nx = 3 * ny / 2;
    // The C reference's linspace, operation for operation.
    let linspace = |start: f64, stop: f64, n: usize| {
        let step = (stop - start) / (n - 1) as f64;
        Array1::from_shape_fn(n, |i| {
            if i == n - 1 {
                stop
            } else {
                i as f64 * step + start
            }
        })
    };
    let (x, y) = (linspace(-2.0, 1.0, nx), linspace(-1.0, 1.0, ny));
    let vars = Vars::new().with("x", &x).with("y", &y);
    let k = compile(P12, &vars);
    let mut img = alloc::full((ny, nx), 0i64);
    let mut fresh: Option<numjit::Array> = None;
    let run = time(
        a.reps,
        || {
            if alloc {
                fresh = None;
                fresh = Some(k.eval(&vars).unwrap_or_else(|e| fail(&e.to_string())));
            } else {
                k.eval_into(&vars, &mut img)
                    .unwrap_or_else(|e| fail(&e.to_string()));
            }
        },
        || 0.0,
    );
    let checksum = match &fresh {
        Some(numjit::Array::Int64(a)) => a.sum() as f64,
        Some(other) => fail(&format!("expected int64, got {}", other.dtype())),
        None => img.sum() as f64,
    };
    Run { checksum, ..run }
}

fn p10(a: &Args, m: usize, alloc: bool) -> Run {
    let x = alloc::from_shape_fn((m, 3), |(i, k)| golden(3 * i + k, G1));
    let vars = Vars::new()
        .with("xi", x.slice(s![.., NewAxis, ..]))
        .with("xj", x.slice(s![NewAxis, .., ..]));
    let k = compile("sqrt(sum((xi - xj)**2, axis=-1))", &vars);
    let mut out = Output::new(ndarray::Ix2(m, m), alloc);
    let run = time(a.reps, || out.run(&k, &vars), || 0.0);
    Run {
        checksum: out.sum(),
        ..run
    }
}

fn p11(a: &Args, n: usize, axis: usize, alloc: bool) -> Run {
    let c = alloc::from_shape_fn((n, n), |(i, j)| golden(i * n + j, G1));
    let vars = Vars::new().with("c", &c);
    let k = compile(&format!("sum(c, axis={axis})"), &vars);
    let mut out = Output::new(ndarray::Ix1(n), alloc);
    let run = time(a.reps, || out.run(&k, &vars), || 0.0);
    Run {
        checksum: out.sum(),
        ..run
    }
}

fn json_times(t: &[f64]) -> String {
    t.iter()
        .map(|x| format!("{x:e}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn main() {
    let a = parse_args();
    numjit::set_num_threads(a.threads);
    let variant = a.variant.clone().unwrap_or_else(|| "out".into());
    let alloc = variant == "alloc";
    let size = |default: usize| a.size.unwrap_or(default);
    // `n` in the report is the `--size` parameter (the protocol's), not the element count.
    let size_param = std::cell::Cell::new(0usize);
    let size = |default: usize| {
        let s = size(default);
        size_param.set(s);
        s
    };
    // Base memory: the runtime and JIT warmed up on a tiny input, before the real inputs exist.
    let tiny = Array1::<f64>::zeros(8);
    let _ = numjit::evaluate("sum(sin(x) * 2)", &Vars::new().with("x", &tiny));
    let base = vm_hwm();
    let run = match a.problem.as_str() {
        "P1" => elementwise(
            &a,
            size(100_000_000),
            &[("a", G1)],
            "sin((2*pi)*a)**2 + cos((2*pi)*a)**2",
            alloc,
        ),
        "P2" => elementwise(
            &a,
            size(10_000_000),
            &[("x", G1)],
            "((.25*x + .75)*x - 1.5)*x - 2",
            alloc,
        ),
        "P3" => elementwise(
            &a,
            size(1_000_000),
            &[("a", G1), ("b", G2)],
            "a**2 + b**2 + 2*a*b",
            alloc,
        ),
        "P4" => p4(&a, size(1024), alloc),
        "P5" => p5(&a, size(13_410)),
        "P6" => p6(&a, size(4096)),
        "P7" => p7(&a, size(300), alloc),
        "P8" => p8(&a, size(100_000_000)),
        "P9" => p9(&a, size(100_000_000)),
        "P10" => p10(&a, size(1000), alloc),
        "P11-axis0" => p11(&a, size(10_000), 0, alloc),
        "P11-axis1" => p11(&a, size(10_000), 1, alloc),
        "P12" => p12(&a, size(1000), alloc),
        "P13" => elementwise(
            &a,
            size(10_000_000),
            &[("x", G1), ("y", G2)],
            "x**3 + 4*sin(y)",
            alloc,
        ),
        "P14-copy" => elementwise(&a, size(100_000_000), &[("a", G1)], "a", alloc),
        "P14-triad" => elementwise(
            &a,
            size(100_000_000),
            &[("a", G1), ("b", G2)],
            "a + 3.0*b",
            alloc,
        ),
        other => {
            println!("{{\"tool\":\"numjit\",\"problem\":\"{other}\",\"unsupported\":true}}");
            return;
        }
    };
    let compile = match *COMPILE_S.lock().unwrap_or_else(|e| e.into_inner()) {
        Some(s) => format!("{s:e}"),
        None => "null".to_string(),
    };
    println!(
        "{{\"tool\":\"numjit\",\"problem\":\"{}\",\"variant\":\"{variant}\",\"threads\":{},\"n\":{},\"times_s\":[{}],\"checksum\":{:e},\"peak_rss_kib\":{},\"base_rss_kib\":{base},\"compile_s\":{compile}}}",
        a.problem,
        a.threads,
        size_param.get(),
        json_times(&run.times),
        run.checksum,
        vm_hwm()
    );
}
