//! `numjit::dist` under `mpirun` at 1 to 4 ranks (feature `mpi`).
//!
//! The outer tests spawn `mpirun -n K` on the `mpi_area` example (built first: `cargo build
//! --profile test --features mpi --example mpi_area`) and on this binary's ignored
//! `ranks_*` tests (the ranks' side); a rank's failed assertion fails the job. Without
//! `mpirun` the outer tests skip with a message, except in CI (`CI=true`), where they fail.

use numjit::dist::{self, mpi::traits::*};
use numjit::{ErrorKind, Vars};
use std::path::PathBuf;
use std::process::Command;

const RANKS: [usize; 4] = [1, 2, 3, 4];

/// `mpirun`, or None (with a message) when it is not installed outside CI.
fn mpirun() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("mpirun"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "mpirun is not installed (CI installs openmpi-bin in .ci/run)"
        );
        eprintln!("skipped: mpirun is not installed (apt-get install openmpi-bin)");
    }
    found
}

/// Runs `program args` on `k` ranks with 2 threads each and returns its standard output.
fn on_ranks(k: usize, program: &PathBuf, args: &[&str]) -> Option<String> {
    let mpirun = mpirun()?;
    let out = Command::new(mpirun)
        .args([
            "--allow-run-as-root",
            "--oversubscribe",
            "-n",
            &k.to_string(),
        ])
        .arg(program)
        .args(args)
        .env("NUMJIT_NUM_THREADS", "2")
        .output()
        .expect("mpirun starts");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{k} ranks: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Some(stdout)
}

/// The example binaries sit next to this test's directory (`target/<profile>/examples`).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>");
    let path = profile.join("examples").join(name);
    assert!(
        path.is_file(),
        "{} is not built: cargo build --profile test --features mpi --example {name}",
        path.display()
    );
    path
}

#[test]
fn area_is_bit_identical_at_1_to_4_ranks() {
    if mpirun().is_none() {
        return;
    }
    let area = example("mpi_area");
    for k in RANKS {
        let Some(out) = on_ranks(k, &area, &["--small"]) else {
            return;
        };
        assert!(
            out.contains("bit-identical to the single-process sum — ok"),
            "{out}"
        );
    }
}

#[test]
fn diffusion_is_bit_identical_at_1_to_4_ranks() {
    if mpirun().is_none() {
        return;
    }
    let diffusion = example("mpi_diffusion");
    for k in RANKS {
        let Some(out) = on_ranks(k, &diffusion, &["--small", "--repeat", "1"]) else {
            return;
        };
        assert!(
            out.contains("bit-identical to the single-process run — ok"),
            "{out}"
        );
    }
}

#[test]
fn ranks_agree_at_1_to_4_ranks() {
    let me = std::env::current_exe().expect("test binary path");
    for k in RANKS {
        let args = ["--ignored", "--exact", "ranks_side", "--test-threads=1"];
        if on_ranks(k, &me, &args).is_none() {
            return;
        }
    }
}

/// One rank's side of `ranks_agree_at_1_to_4_ranks` (run by mpirun; ignored otherwise).
#[test]
#[ignore = "runs under mpirun, started by ranks_agree_at_1_to_4_ranks"]
fn ranks_side() {
    let universe = dist::mpi::initialize().expect("MPI initializes once");
    let world = universe.world();
    let (rank, size) = (world.rank() as usize, world.size() as usize);

    // Reductions of a 1-d array on numjit's partition: bit-identical to one process, for sizes
    // around the tree's block and batch boundaries, float and integer dtypes.
    for n in [0, 1, 5, 127, 128, 129, 4096, 4097, 100_003] {
        let part = dist::partition(&[n], &world).unwrap();
        let rows = part.rows(rank);
        let operands = OneD::new(n, rows.clone());
        let (vars, alone) = (operands.block(), operands.whole());
        for expr in [
            "sum(a)",
            "sum(a * a - 3)",
            "mean(a)",
            "prod(1 + a / 1e4)",
            "max(a)",
            "min(sin(a))",
            "sum(b * 2)",
            "mean(b)",
            "sum(c)",
            "any(a > 60)",
            "all(a > -60)",
            "sum(a + arange(len_))",
            "sum(linspace(0, 1, len_) * a)",
        ] {
            let expr = expr.replace("len_", &n.to_string());
            let want = numjit::evaluate(&expr, &alone);
            let got = dist::evaluate(&world, &part, &expr, &vars);
            match (want, got) {
                (Ok(w), Ok(g)) => assert_eq!(
                    format!("{:?}", w.to_f64().mapv(f64::to_bits)),
                    format!("{:?}", g.to_f64().mapv(f64::to_bits)),
                    "{expr} n={n} on {size} ranks: {w} != {g}"
                ),
                (Err(w), Err(g)) => assert_eq!(w.kind(), g.kind(), "{expr} n={n}"),
                (w, g) => panic!("{expr} n={n} on {size} ranks: {w:?} against {g:?}"),
            }
        }
        // A complex product: complex128 accumulators cross ranks as two words each.
        for expr in ["prod(1 + a / 1e4 * 1j)", "prod(complex(b, 1) / 50, axis=0)"] {
            let want = numjit::evaluate(expr, &alone).unwrap();
            let got = dist::evaluate(&world, &part, expr, &vars).unwrap();
            let parts = |r: &numjit::Array| match r.get_flat(0) {
                Some(numjit::Scalar::C128(z)) => (z.re.to_bits(), z.im.to_bits()),
                Some(numjit::Scalar::C64(z)) => (z.re.to_bits() as u64, z.im.to_bits() as u64),
                other => panic!("{expr}: a complex result, got {other:?}"),
            };
            assert_eq!(
                parts(&want),
                parts(&got),
                "{expr} n={n} on {size} ranks: {want} != {got}"
            );
        }
        // Elementwise: this rank's block of the global result, generators at global indices.
        let block = dist::evaluate(&world, &part, &format!("a * 2 + arange({n})"), &vars).unwrap();
        let whole = numjit::evaluate(&format!("a * 2 + arange({n})"), &alone).unwrap();
        assert_eq!(
            block.to_f64().as_slice(),
            whole
                .to_f64()
                .slice_axis(ndarray::Axis(0), (rows.start..rows.end).into())
                .to_owned()
                .as_slice()
        );
    }

    // 2-d arrays on numjit's partition: reductions along axis 0 bit-identical (both the column
    // path, contiguous rows, and the tree path, strided ones); over all axes deterministic.
    for rows_total in [1, 300, 1000, 4099] {
        let part = dist::partition(&[rows_total, 7], &world).unwrap();
        let global = ndarray::Array2::from_shape_fn((rows_total, 7), |(i, j)| {
            ((i * 7919 + j * 104_729) % 1013) as f64 / 7.0 - 50.0
        });
        let r = part.rows(rank);
        let local = global.slice(ndarray::s![r.start..r.end, ..]);
        let vars = Vars::new().with("u", local);
        let alone = Vars::new().with("u", &global);
        for expr in [
            "sum(u, axis=0)",
            "mean(u[:, 1:-1] * 2, axis=0)",
            "max(u, axis=0)",
        ] {
            let got = dist::evaluate(&world, &part, expr, &vars).unwrap().to_f64();
            let want = numjit::evaluate(expr, &alone).unwrap().to_f64();
            assert_eq!(
                got.mapv(f64::to_bits),
                want.mapv(f64::to_bits),
                "{expr} {rows_total}"
            );
        }
        let got = dist::evaluate(&world, &part, "sum(u)", &vars)
            .unwrap()
            .to_f64()[[]];
        let want = numjit::evaluate("sum(u)", &alone).unwrap().to_f64()[[]];
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "sum(u): {got} {want}"
        );
    }

    // A caller's partition and 2-d arrays: deterministic, and close to the single process.
    let counts: Vec<usize> = (0..size).map(|r| 3 + r).collect();
    let rows_total: usize = counts.iter().sum();
    let part = dist::Partition::new(&[rows_total, 5], &counts, &world).unwrap();
    let global = ndarray::Array2::from_shape_fn((rows_total, 5), |(i, j)| (i * 5 + j) as f64);
    let r = part.rows(rank);
    let local = global.slice(ndarray::s![r.start..r.end, ..]);
    let vars = Vars::new().with("u", local);
    let alone = Vars::new().with("u", &global);
    for expr in [
        "sum(u)",
        "sum(u, axis=0)",
        "mean(u[:, 1:-1], axis=0)",
        "sum(u, axis=1)",
    ] {
        let got = dist::evaluate(&world, &part, expr, &vars).unwrap().to_f64();
        let want = numjit::evaluate(expr, &alone).unwrap().to_f64();
        if expr.ends_with("axis=1)") {
            assert_eq!(
                got.as_slice(),
                want.slice_axis(ndarray::Axis(0), (r.start..r.end).into())
                    .to_owned()
                    .as_slice()
            );
        } else {
            assert_eq!(got, want, "{expr}");
        }
    }

    // Errors, raised on every rank, no deadlock.
    let err = |expr: &str, vars: &Vars| dist::evaluate(&world, &part, expr, vars).unwrap_err();
    assert_eq!(err("sum(u[1:, :])", &vars).kind(), ErrorKind::Value);
    assert!(err("u[:-2, 1:-1]", &vars).to_string().contains("halo"));
    // One rank binds a wrong block: every rank fails.
    let wrong = ndarray::Array2::<f64>::zeros((r.len() + usize::from(rank == size - 1), 5));
    let e = err("sum(u)", &Vars::new().with("u", &wrong));
    assert_eq!(e.kind(), ErrorKind::Broadcast, "{e}");
    // The ranks disagree on the dtype: every rank fails.
    let as32 = local.mapv(|v| v as f32);
    if size > 1 {
        let mixed = if rank == 0 {
            Vars::new().with("u", &as32)
        } else {
            Vars::new().with("u", local)
        };
        let e = err("sum(u)", &mixed);
        assert_eq!(e.kind(), ErrorKind::Signature, "{e}");
    }
    // An input that is not a block differs in shape between the ranks: every rank fails.
    if size > 1 {
        let w = ndarray::Array1::<f64>::ones(4 + usize::from(rank == 0));
        let e = err("u * sum(w)", &Vars::new().with("u", local).with("w", &w));
        assert_eq!(e.kind(), ErrorKind::Signature, "{e}");
    }
    // A partition that does not cover the array.
    let short = dist::Partition::new(&[rows_total + 1, 5], &counts, &world).unwrap_err();
    assert_eq!(short.kind(), ErrorKind::Value);
    assert!(short.to_string().contains("covers"));

    nested_side(&world);
    programs_side(&world);
    program_reductions_side(&world);
}

/// The 1-d operands the reduction checks bind, `a` (float64), `b` (float32) and `c` (int64):
/// the global arrays, and this rank's block of rows of each.
struct OneD {
    global: (
        ndarray::Array1<f64>,
        ndarray::Array1<f32>,
        ndarray::Array1<i64>,
    ),
    local: (ndarray::Array1<f32>, ndarray::Array1<i64>),
    rows: std::ops::Range<usize>,
}

impl OneD {
    fn new(n: usize, rows: std::ops::Range<usize>) -> OneD {
        let a = ndarray::Array1::from_shape_fn(n, |i| ((i * 7919) % 1013) as f64 / 7.0 - 50.0);
        let (b, c) = (a.mapv(|v| v as f32), a.mapv(|v| v as i64));
        let local = (
            b.slice(ndarray::s![rows.clone()]).to_owned(),
            c.slice(ndarray::s![rows.clone()]).to_owned(),
        );
        OneD {
            global: (a, b, c),
            local,
            rows,
        }
    }

    /// This rank's blocks (`a` a view of the global array's rows).
    fn block(&self) -> Vars<'_> {
        Vars::new()
            .with("a", self.global.0.slice(ndarray::s![self.rows.clone()]))
            .with("b", &self.local.0)
            .with("c", &self.local.1)
    }

    /// The whole arrays, as one process binds them.
    fn whole(&self) -> Vars<'_> {
        Vars::new()
            .with("a", &self.global.0)
            .with("b", &self.global.1)
            .with("c", &self.global.2)
    }
}

/// `dist::evaluate` of expressions with reductions along axis 0 inside: phase by phase, each
/// inner reduction combined across ranks and bound as an input of the next.
fn nested_side(world: &impl Communicator) {
    let (rank, size) = (world.rank() as usize, world.size() as usize);

    // 1-d on numjit's partition: bit-identical to one process (this rank's block of an
    // elementwise result, or the whole value of a reduction).
    for n in [0, 1, 5, 129, 4097, 100_003] {
        let part = dist::partition(&[n], world).unwrap();
        let rows = part.rows(rank);
        let operands = OneD::new(n, rows.clone());
        let (vars, alone) = (operands.block(), operands.whole());
        for expr in [
            "a - mean(a)",
            "(a - mean(a)) / sqrt(mean((a - mean(a))**2))",
            "a - mean(a - mean(a))",
            "sqrt(sum(a**2)) / len_",
            "a / max(abs(a))",
            "sum(a - mean(a))",
            "mean(a) + max(a) * min(a)",
            "b - mean(b)",
            "(b - min(b)) / (max(b) - min(b))",
            "c - sum(c) // len_",
            "a + arange(len_) - mean(arange(len_) * a)",
            "where(a > mean(a), a, 0)",
            "any(a > mean(a) + 40)",
        ] {
            let expr = expr.replace("len_", &n.to_string());
            let want = numjit::evaluate(&expr, &alone);
            let got = dist::evaluate(world, &part, &expr, &vars);
            match (want, got) {
                (Ok(w), Ok(g)) => {
                    assert_eq!(w.dtype(), g.dtype(), "{expr}");
                    let w64 = w.to_f64();
                    let mine = if w64.ndim() == 0 {
                        w64
                    } else {
                        w64.slice_axis(ndarray::Axis(0), (rows.start..rows.end).into())
                            .to_owned()
                    };
                    assert_eq!(
                        mine.mapv(f64::to_bits),
                        g.to_f64().mapv(f64::to_bits),
                        "{expr} n={n} on {size} ranks: {w} != {g}"
                    );
                }
                (Err(w), Err(g)) => assert_eq!(w.kind(), g.kind(), "{expr} n={n}: {w} / {g}"),
                (w, g) => panic!("{expr} n={n} on {size} ranks: {w:?} against {g:?}"),
            }
        }
    }

    // 2-d on numjit's partition: an inner reduction along axis 0 is a row broadcast back along
    // axis 0, bit-identical; over all axes it is deterministic, close to one process.
    for rows_total in [1, 300, 4099] {
        let part = dist::partition(&[rows_total, 7], world).unwrap();
        let global = ndarray::Array2::from_shape_fn((rows_total, 7), |(i, j)| {
            ((i * 7919 + j * 104_729) % 1013) as f64 / 7.0 - 50.0
        });
        let r = part.rows(rank);
        let local = global.slice(ndarray::s![r.start..r.end, ..]);
        let vars = Vars::new().with("u", local);
        let alone = Vars::new().with("u", &global);
        for expr in [
            "u - mean(u, axis=0)",
            "(u - mean(u, axis=0)) / max(abs(u), axis=0)",
            "sum((u - mean(u, axis=0))**2, axis=0)",
            "u[:, 1:-1] - mean(u[:, :-2], axis=0)",
            // Over all axes, bit-identical at any rank count: the inner sum crosses ranks, the
            // outer one is local (a different order than `sum(u)`).
            "sum(sum(u, axis=0))",
        ] {
            let got = dist::evaluate(world, &part, expr, &vars).unwrap().to_f64();
            let want = numjit::evaluate(expr, &alone).unwrap().to_f64();
            let want = if expr.starts_with("sum") {
                want
            } else {
                want.slice_axis(ndarray::Axis(0), (r.start..r.end).into())
                    .to_owned()
            };
            assert_eq!(
                got.mapv(f64::to_bits),
                want.mapv(f64::to_bits),
                "{expr} {rows_total}"
            );
        }
        let got = dist::evaluate(world, &part, "u - mean(u)", &vars)
            .unwrap()
            .to_f64();
        let again = dist::evaluate(world, &part, "u - mean(u)", &vars)
            .unwrap()
            .to_f64();
        let want = numjit::evaluate("u - mean(u)", &alone).unwrap().to_f64();
        let want = want.slice(ndarray::s![r.start..r.end, ..]);
        assert_eq!(got.mapv(f64::to_bits), again.mapv(f64::to_bits));
        for (g, w) in got.iter().zip(want.iter()) {
            assert!(
                (g - w).abs() <= 1e-9 * w.abs().max(1.0),
                "u - mean(u): {g} {w}"
            );
        }
    }

    // A caller's partition: deterministic, close to one process.
    let counts: Vec<usize> = (0..size).map(|r| 3 + 2 * r).collect();
    let rows_total: usize = counts.iter().sum();
    let part = dist::Partition::new(&[rows_total, 5], &counts, world).unwrap();
    let global = ndarray::Array2::from_shape_fn((rows_total, 5), |(i, j)| (i * 5 + j) as f64 * 0.1);
    let r = part.rows(rank);
    let local = global.slice(ndarray::s![r.start..r.end, ..]);
    let vars = Vars::new().with("u", local);
    let alone = Vars::new().with("u", &global);
    for expr in [
        "u - mean(u, axis=0)",
        "u / sqrt(sum(u**2))",
        "sum(u - mean(u))",
    ] {
        let got = dist::evaluate(world, &part, expr, &vars).unwrap().to_f64();
        let want = numjit::evaluate(expr, &alone).unwrap().to_f64();
        let want = if want.ndim() == 0 {
            want
        } else {
            want.slice_axis(ndarray::Axis(0), (r.start..r.end).into())
                .to_owned()
        };
        assert_eq!(got.shape(), want.shape(), "{expr}");
        for (g, w) in got.iter().zip(want.iter()) {
            assert!((g - w).abs() <= 1e-9 * w.abs().max(1.0), "{expr}: {g} {w}");
        }
    }

    // Errors, raised on every rank in whichever phase finds them, no deadlock.
    let err = |expr: &str, vars: &Vars| dist::evaluate(world, &part, expr, vars).unwrap_err();
    // The ranks disagree on the dtype: found before the first phase.
    if size > 1 {
        let as32 = local.mapv(|v| v as f32);
        let mixed = if rank == size - 1 {
            Vars::new().with("u", &as32)
        } else {
            Vars::new().with("u", local)
        };
        let e = err("u - mean(u - mean(u, axis=0))", &mixed);
        assert_eq!(e.kind(), ErrorKind::Signature, "{e}");
    }
    // One rank binds a wrong block.
    let wrong = ndarray::Array2::<f64>::zeros((r.len() + usize::from(rank == 0), 5));
    let e = err("u - mean(u)", &Vars::new().with("u", &wrong));
    assert_eq!(e.kind(), ErrorKind::Broadcast, "{e}");
    // Shapes that do not broadcast once the inner value is known: found in the last phase.
    let e = err("u[:, :2] - mean(u, axis=0)", &vars);
    assert_eq!(e.kind(), ErrorKind::Broadcast, "{e}");
    // A slice along axis 0 inside the inner reduction: still refused, on every rank.
    let e = err("u - mean(u[1:, :])", &vars);
    assert_eq!(e.kind(), ErrorKind::Value, "{e}");
    // The ranks go on together after the errors.
    let got = dist::evaluate(world, &part, "sum(u - mean(u, axis=0), axis=0)", &vars).unwrap();
    assert_eq!(got.shape(), &[5]);
}

/// `dist::run` with reductions along the distributed axis inside the program: each computed
/// across ranks before the group that reads it. Along axis 0 (every reduction of 1-d arrays,
/// `axis=0` of 2-d ones) on numjit's partition: bit-identical.
fn program_reductions_side(world: &impl Communicator) {
    let (rank, size) = (world.rank() as usize, world.size() as usize);
    let programs = [
        // The residual of every step into a 0-d output.
        "for step in range(6):\n    next[1:-1] = u[1:-1] + 0.2*(u[2:] - 2*u[1:-1] + u[:-2])\n    r = sum((next - u)**2)\n    swap(u, next)",
        // Mean removal as a statement of its own, in the loop.
        "for step in range(4):\n    next[1:-1] = u[1:-1] + 0.1*(u[2:] + u[:-2])\n    swap(u, next)\n    u = u - mean(u)\n    r = max(abs(u))",
        // Nested twice, and a normalization read by a stencil statement.
        "next = u - mean(u - mean(u))\nu[1:-1] = (next[2:] - next[:-2]) / sqrt(mean(next**2))\nr = sum(u) + min(next)",
        // An intermediate reduced, and the loop variable.
        "for i in range(3):\n    t = u * i - next\n    next[1:] = u[:-1] + mean(t)\n    swap(u, next)\nr = prod(1 + u / 1e4)",
    ];
    let n = 2000;
    let part = dist::partition(&[n], world).unwrap();
    let init = ndarray::Array1::from_shape_fn(n, |i| ((i * 7919) % 1013) as f64 / 7.0 - 50.0);
    for program in programs {
        same_as_one_process(world, &part, program, &init.clone().into_dyn(), None);
    }
    // 2-d, reductions along axis 0 (rows: values of rank 1) on numjit's partition:
    // bit-identical to one process, nested, in a loop, read by later statements.
    let programs_2d = [
        "for step in range(3):\n    next[1:-1, 1:-1] = u[1:-1, 1:-1] + 0.1*(u[2:, 1:-1] + u[:-2, 1:-1] - 2*u[1:-1, 1:-1])\n    swap(u, next)\n    u[:, :] = u - mean(u, axis=0)\n    m[:] = max(abs(u), axis=0)\n    r = sum(m)",
        "next[:, :] = u - mean(u - mean(u, axis=0), axis=0)\nm[:] = sum((next - mean(next, axis=0))**2, axis=0)\nr = max(m) + sum(mean(next, axis=0))",
        "m[1:-1] = mean(u[:, 1:-1] * 2, axis=0) + min(u[:, 2:] - u[:, :-2], axis=0)\nr = sum(sum(u, axis=0))",
    ];
    for (n, cols) in [(3000, 7), (5000, 3)] {
        let part = dist::partition(&[n, cols], world).unwrap();
        let init = ndarray::Array2::from_shape_fn((n, cols), |(i, j)| {
            ((i * 7919 + j * 104_729) % 1013) as f64 / 7.0 - 50.0
        });
        for program in programs_2d {
            same_as_one_process(world, &part, program, &init.clone().into_dyn(), Some(cols));
        }
    }
    // 2-d, a reduction over all axes: deterministic, close to one process.
    let n = 60;
    let part = dist::Partition::new(&[n, 9], &even(n, size), world).unwrap();
    let rows = part.rows(rank);
    let init = ndarray::Array2::from_shape_fn((n, 9), |(i, j)| {
        ((i * 7919 + j * 104_729) % 1013) as f64 / 7.0 - 50.0
    });
    let program = "for step in range(3):\n    next[1:-1, 1:-1] = u[1:-1, 1:-1] + 0.1*(u[2:, 1:-1] + u[:-2, 1:-1] - 2*u[1:-1, 1:-1])\n    swap(u, next)\n    u[:, :] = u - mean(u)\n    r = sqrt(sum(u**2))";
    let (mut u, mut next, mut r) = (init.clone(), init.clone(), ndarray::arr0(0.0f64));
    numjit::run(
        program,
        &Vars::new()
            .with_out("u", &mut u)
            .with_out("next", &mut next)
            .with_out("r", &mut r),
    )
    .unwrap();
    let mut lu = init.slice(ndarray::s![rows.start..rows.end, ..]).to_owned();
    let mut lnext = lu.clone();
    let mut lr = ndarray::arr0(0.0f64);
    let vars = Vars::new()
        .with_out("u", &mut lu)
        .with_out("next", &mut lnext)
        .with_out("r", &mut lr);
    dist::run(world, &part, program, &vars).unwrap();
    drop(vars);
    let want = u.slice(ndarray::s![rows.start..rows.end, ..]);
    for (g, w) in lu.iter().zip(want.iter()) {
        assert!((g - w).abs() <= 1e-9 * w.abs().max(1.0), "{g} {w}");
    }
    assert!((lr[()] - r[()]).abs() <= 1e-9 * r[()].abs(), "{lr} {r}");
}

/// Runs `program` over `u` (`init`), `next` (`init / 2`), a 0-d `r` and, given its length, a
/// 1-d `m`, on one process and across the ranks, and checks that this rank's rows and the
/// values every rank holds are the same bits.
fn same_as_one_process(
    world: &impl Communicator,
    part: &dist::Partition,
    program: &str,
    init: &ndarray::ArrayD<f64>,
    m_len: Option<usize>,
) {
    let (rank, size) = (world.rank() as usize, world.size() as usize);
    let rows = part.rows(rank);
    // (u, next, m, r) on one process, then this rank's block of each.
    let mut whole = (
        init.clone(),
        init.mapv(|v| v * 0.5),
        ndarray::Array1::<f64>::zeros(m_len.unwrap_or(0)),
        ndarray::arr0(0.0f64),
    );
    let block = |a: &ndarray::ArrayD<f64>| {
        a.slice_axis(ndarray::Axis(0), ndarray::Slice::from(rows.clone()))
            .to_owned()
    };
    let mut mine = (
        block(&whole.0),
        block(&whole.1),
        whole.2.clone(),
        whole.3.clone(),
    );
    type Arrays = (
        ndarray::ArrayD<f64>,
        ndarray::ArrayD<f64>,
        ndarray::Array1<f64>,
        ndarray::Array0<f64>,
    );
    fn bind(arrays: &mut Arrays, with_m: bool) -> Vars<'_> {
        let (u, next, m, r) = arrays;
        let vars = Vars::new()
            .with_out("u", u)
            .with_out("next", next)
            .with_out("r", r);
        if with_m {
            vars.with_out("m", m)
        } else {
            vars
        }
    }
    numjit::run(program, &bind(&mut whole, m_len.is_some()))
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    dist::run(world, part, program, &bind(&mut mine, m_len.is_some()))
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    for (name, got, want) in [("u", &mine.0, &whole.0), ("next", &mine.1, &whole.1)] {
        assert_eq!(
            got.mapv(f64::to_bits),
            block(want).mapv(f64::to_bits),
            "`{name}` of {program} on rank {rank} of {size}"
        );
    }
    assert_eq!(
        mine.2.mapv(f64::to_bits),
        whole.2.mapv(f64::to_bits),
        "`m` of {program}"
    );
    assert_eq!(
        mine.3[()].to_bits(),
        whole.3[()].to_bits(),
        "`r` of {program}: {} {}",
        mine.3,
        whole.3
    );
}

/// Equal blocks of `n` rows for `size` ranks.
fn even(n: usize, size: usize) -> Vec<usize> {
    (0..size)
        .map(|r| n / size + usize::from(r < n % size))
        .collect()
}

/// `dist::run`: programs with stencil slices along axis 0, against the single-process run.
fn programs_side(world: &impl Communicator) {
    let (rank, size) = (world.rank() as usize, world.size() as usize);
    let programs = [
        // P5's step: one ghost row each way per step.
        "for step in range(5):\n    next[1:-1, 1:-1] = u[1:-1, 1:-1] + 0.1*(u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4*u[1:-1, 1:-1])\n    swap(u, next)",
        // An intermediate read whole, its rows offset against the target's.
        "for step in range(4):\n    lapl = u[2:, :] - 2*u[1:-1, :] + u[:-2, :]\n    next[1:-1, :] = u[1:-1, :] + 0.2*lapl\n    swap(u, next)",
        // Two ghost rows, reads at several offsets.
        "for step in range(3):\n    next[2:-2, 1:] = 0.5*u[2:-2, 1:] + 0.125*(u[4:, :-1] + u[:-4, 1:] + u[3:-1, 1:] + u[1:-3, :-1])\n    swap(u, next)",
        // A whole assignment read shifted by the next statement, no loop.
        "next = u * 2 + 1\nu[1:-1, :] = next[2:, :] - next[:-2, :] + u[1:-1, :]",
        // The loop variable in the step, a one-sided stencil.
        "for i in range(3):\n    next[:-1, :] = u[:-1, :] * i + u[1:, :]\n    swap(u, next)",
        // Deeper than a rank's block at 4 ranks: ghost rows from ranks beyond the neighbour.
        "for step in range(2):\n    next[11:, :] = u[:-11, :] + 0.5*u[11:, :]\n    swap(u, next)",
    ];
    // Even blocks; blocks of 1, 0 and 2 rows (ghost rows pass over the empty and short
    // ranks); numjit's own partition of a short axis (at 4 ranks one rank holds no rows).
    let thin = |n: usize| {
        let mut counts: Vec<usize> = (0..size - 1).map(|r| [1, 0, 2][r % 3]).collect();
        counts.push(n - counts.iter().sum::<usize>());
        counts
    };
    let partitions = [
        dist::Partition::new(&[37, 11], &even(37, size), world).unwrap(),
        dist::Partition::new(&[200, 3], &even(200, size), world).unwrap(),
        dist::Partition::new(&[40, 6], &thin(40), world).unwrap(),
        dist::partition(&[300, 7], world).unwrap(),
    ];
    if size == 4 {
        let empty = (0..size).filter(|&r| partitions[3].rows(r).is_empty());
        assert_eq!(empty.count(), 1, "a short axis leaves a rank empty");
    }
    for part in &partitions {
        let (rows_total, cols) = (part.global_shape()[0], part.global_shape()[1]);
        let r = part.rows(rank);
        let init = ndarray::Array2::from_shape_fn((rows_total, cols), |(i, j)| {
            ((i * 7919 + j * 104_729) % 1013) as f64 / 7.0 - 50.0
        });
        for program in programs {
            let (mut u, mut next) = (init.clone(), init.mapv(|v| v * 0.5));
            numjit::run(
                program,
                &Vars::new()
                    .with_out("u", &mut u)
                    .with_out("next", &mut next),
            )
            .unwrap();
            let mut lu = init.slice(ndarray::s![r.start..r.end, ..]).to_owned();
            let mut lnext = lu.mapv(|v| v * 0.5);
            let vars = Vars::new()
                .with_out("u", &mut lu)
                .with_out("next", &mut lnext);
            let stats =
                dist::run(world, part, program, &vars).unwrap_or_else(|e| panic!("{program}: {e}"));
            drop(vars);
            for (name, got, want) in [("u", &lu, &u), ("next", &lnext, &next)] {
                let want = want.slice(ndarray::s![r.start..r.end, ..]);
                assert_eq!(
                    got.mapv(f64::to_bits),
                    want.mapv(f64::to_bits),
                    "`{name}` of {program} on rank {rank} of {size}"
                );
            }
            if size == 1 {
                assert_eq!(stats.bytes_sent, 0);
            }
        }
    }

    // Errors, raised on every rank.
    let part = dist::Partition::new(&[40, 4], &even(40, size), world).unwrap();
    let r = part.rows(rank);
    let mut u = ndarray::Array2::<f64>::zeros((r.len(), 4));
    let mut next = u.clone();
    let vars = Vars::new()
        .with_out("u", &mut u)
        .with_out("next", &mut next);
    let err = |program: &str| dist::run(world, &part, program, &vars).unwrap_err();
    for (program, says) in [
        ("next[:, :] = u[::-1, :]", "slices `a:-b`"),
        ("next[:, :] = u[3:13, :] + u[0:10, :]", "slices `a:-b`"),
        ("next[1:, :] = u[-1:, :]", "slices `a:-b`"),
        ("u * 2", "returns no value"),
        ("next[:, :] = u - sum(u[1:, :])", "whole along axis 0"),
        (
            "t = u[1:-1, :] * 2\nnext[1:-1, :] = t - sum(t)",
            "whole along axis 0",
        ),
    ] {
        let e = err(program);
        assert_eq!(e.kind(), ErrorKind::Value, "{program}: {e}");
        assert!(e.to_string().contains(says), "{program}: {e}");
    }
    // The ranks disagree on the dtype of a value a reduction reads: every rank fails.
    if size > 1 {
        let mut u32 = ndarray::Array2::<f32>::zeros((r.len(), 4));
        let mut next = ndarray::Array2::<f64>::zeros((r.len(), 4));
        let e = if rank == 0 {
            let vars = Vars::new()
                .with_out("u", &mut u32)
                .with_out("next", &mut next);
            dist::run(world, &part, "next[:, :] = u - mean(u)", &vars).unwrap_err()
        } else {
            err("next[:, :] = u - mean(u)")
        };
        assert_eq!(e.kind(), ErrorKind::Signature, "{e}");
    }
    // A shape error found by the ranks' dry runs: every rank fails, for a row reduced across
    // ranks too (its shape is known before any data moves).
    let e = err("next[1:-1, :] = u[2:, :] + u");
    assert_eq!(e.kind(), ErrorKind::Broadcast, "{e}");
    let e = err("next[:, :2] = u[:, :2] - mean(u, axis=0)");
    assert_eq!(e.kind(), ErrorKind::Broadcast, "{e}");
}
