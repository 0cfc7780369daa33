//! Programs through the public API: statements, intermediates, fused outputs, slice outputs,
//! aliasing, loops with swap, and their errors. Every program runs compiled and through the
//! reference interpreter; both must match a plain Rust loop.

// ndarray's `s![1..-1]` counts -1 from the end; clippy reads it as an empty Rust range.
#![allow(clippy::reversed_empty_ranges)]

use ndarray::{s, Array1, Array2};
use numjit::{Engine, ErrorKind, Vars};

fn golden(n: usize, g: f64) -> Array1<f64> {
    Array1::from_shape_fn(n, |i| (i as f64 * g).fract())
}

/// Runs `src` compiled (1 and 3 threads) and interpreted on copies of `outs`; all must agree
/// bit for bit on elementwise programs. Returns the compiled outputs.
fn run_all(
    src: &str,
    inputs: &[(&str, &Array1<f64>)],
    outs: &[(&str, Array1<f64>)],
) -> Vec<Array1<f64>> {
    let mut results: Vec<Vec<Array1<f64>>> = Vec::new();
    for mode in 0..3 {
        let mut arrays: Vec<Array1<f64>> = outs.iter().map(|(_, a)| a.clone()).collect();
        {
            let mut vars = Vars::new();
            for (n, a) in inputs {
                vars.insert(n, *a);
            }
            for ((n, _), a) in outs.iter().zip(arrays.iter_mut()) {
                vars = vars.with_out(n, a);
            }
            let k = Engine::default()
                .compile(src, &vars.signature())
                .unwrap_or_else(|e| panic!("{src}: {e}"));
            match mode {
                0 => k.run_reference(&vars),
                1 => {
                    numjit::set_num_threads(1);
                    k.run(&vars)
                }
                _ => {
                    numjit::set_num_threads(3);
                    k.run(&vars)
                }
            }
            .unwrap_or_else(|e| panic!("{src}: {e}"));
        }
        results.push(arrays);
    }
    assert_eq!(results[0], results[1], "{src}: interpreter vs JIT");
    assert_eq!(results[1], results[2], "{src}: 1 vs 3 threads");
    results.pop().unwrap_or_default()
}

#[test]
fn intermediates_fuse_into_several_outputs() {
    let x = golden(1000, 0.618);
    let out = run_all(
        "r = x * 2 + 1\nlo = r - 1; hi = r * r",
        &[("x", &x)],
        &[("lo", Array1::zeros(1000)), ("hi", Array1::zeros(1000))],
    );
    for i in 0..1000 {
        let r = x[i] * 2.0 + 1.0;
        assert_eq!((out[0][i], out[1][i]), (r - 1.0, r * r));
    }
    let k = Engine::default()
        .compile(
            "r = x * 2 + 1\nlo = r - 1; hi = r * r",
            &numjit::Signature::new()
                .with("x", numjit::DType::Float64, 1)
                .with_out("lo", numjit::DType::Float64, 1)
                .with_out("hi", numjit::DType::Float64, 1),
        )
        .unwrap();
    // One fused group computing both outputs.
    assert_eq!(k.ir().matches("group").count(), 1, "{}", k.ir());
}

#[test]
fn a_name_written_whole_means_its_new_value() {
    let x = golden(100, 0.7548);
    let out = run_all(
        "y = x + 1\nz = y * 2\ny = y * 10",
        &[("x", &x)],
        &[("y", Array1::zeros(100)), ("z", Array1::zeros(100))],
    );
    for i in 0..100 {
        assert_eq!(out[0][i], (x[i] + 1.0) * 10.0);
        assert_eq!(out[1][i], (x[i] + 1.0) * 2.0);
    }
}

#[test]
fn slice_targets_and_aliasing_follow_numpy() {
    let u0 = golden(50, 0.5698);
    // Reads overlap the written slice: NumPy evaluates the right side fully first.
    let out = run_all("u[1:-1] = u[:-2] + u[2:]", &[], &[("u", u0.clone())]);
    let mut expect = u0.clone();
    let rhs: Vec<f64> = (1..49).map(|i| u0[i - 1] + u0[i + 1]).collect();
    expect.slice_mut(s![1..-1]).assign(&Array1::from(rhs));
    assert_eq!(out[0], expect);
    // Same element read and written: runs in place.
    let out = run_all("u = u * 2 + 1", &[], &[("u", u0.clone())]);
    assert_eq!(out[0], u0.mapv(|v| v * 2.0 + 1.0));
    // Reversed view of itself.
    let out = run_all("u = u[::-1] + 0", &[], &[("u", u0.clone())]);
    assert_eq!(out[0], u0.slice(s![..;-1]).to_owned());
    // Augmented assignment to a slice, scalar broadcast.
    let out = run_all("u[::2] += 1; u[-1] = 7", &[], &[("u", u0.clone())]);
    let mut expect = u0.clone();
    expect.slice_mut(s![..;2]).mapv_inplace(|v| v + 1.0);
    expect[49] = 7.0;
    assert_eq!(out[0], expect);
}

#[test]
fn loops_with_swap_match_a_rust_loop() {
    let n = 64;
    let mut u0 = Array1::<f64>::zeros(n);
    u0[n / 2] = 1.0;
    let src = "for step in range(nsteps):\n    v[1:-1] = u[1:-1] + 0.25 * (u[:-2] - 2*u[1:-1] + u[2:])\n    swap(u, v)";
    for nsteps in [0i64, 1, 2, 7] {
        let mut u = u0.clone();
        let mut v = u0.clone();
        {
            let vars = Vars::new()
                .with("nsteps", nsteps)
                .with_out("u", &mut u)
                .with_out("v", &mut v);
            numjit::run(src, &vars).unwrap();
        }
        let (mut a, mut b) = (u0.clone(), u0.clone());
        for _ in 0..nsteps {
            for i in 1..n - 1 {
                b[i] = a[i] + 0.25 * (a[i - 1] - 2.0 * a[i] + a[i + 1]);
            }
            std::mem::swap(&mut a, &mut b);
        }
        assert_eq!(u, a, "nsteps = {nsteps}");
        assert_eq!(v, b, "nsteps = {nsteps}");
    }
}

#[test]
fn intermediates_keep_their_value_when_memory_changes() {
    let x = golden(20, 0.618);
    // `t` reads `u`, which is overwritten before `t` is used: t is kept as it was.
    let out = run_all(
        "t = u * 2\nu = x\nw = t + u",
        &[("x", &x)],
        &[("u", Array1::ones(20)), ("w", Array1::zeros(20))],
    );
    assert_eq!(out[0], x);
    assert_eq!(out[1], x.mapv(|v| 2.0 + v));
    // An intermediate bound before a loop that writes what it reads.
    let out = run_all(
        "t = u + 1\nfor i in range(3): u = u * 2; w = t + i",
        &[],
        &[("u", Array1::ones(20)), ("w", Array1::zeros(20))],
    );
    assert_eq!(out[0], Array1::from_elem(20, 8.0));
    assert_eq!(out[1], Array1::from_elem(20, 4.0));
}

#[test]
fn a_program_ends_with_its_result() {
    let x = golden(10, 0.618);
    let vars = Vars::new().with("x", &x);
    let r = numjit::evaluate("s = sum(x)\nm = s / 10\nx - m", &vars).unwrap();
    let m = x.sum() / 10.0;
    let r = r.as_f64().unwrap();
    for i in 0..10 {
        assert!((r[[i]] - (x[i] - m)).abs() < 1e-15);
    }
}

#[test]
fn two_dimensional_stencil_in_place_and_double_buffered() {
    let n = 40;
    let u0 = Array2::from_shape_fn((n, n), |(i, j)| ((i * 7 + j * 3) % 11) as f64);
    let mut u = u0.clone();
    let mut un = u0.clone();
    {
        let vars = Vars::new().with_out("u", &mut u).with_out("un", &mut un);
        numjit::run(
            "for k in range(5):\n  un[1:-1, 1:-1] = 0.25*(u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:])\n  swap(u, un)",
            &vars,
        )
        .unwrap();
    }
    let (mut a, mut b) = (u0.clone(), u0.clone());
    for _ in 0..5 {
        for i in 1..n - 1 {
            for j in 1..n - 1 {
                b[[i, j]] = 0.25 * (a[[i - 1, j]] + a[[i + 1, j]] + a[[i, j - 1]] + a[[i, j + 1]]);
            }
        }
        std::mem::swap(&mut a, &mut b);
    }
    assert_eq!(u, a);
    assert_eq!(un, b);
}

#[test]
fn errors_point_at_the_statement() {
    let x = golden(4, 0.5);
    let mut y = Array1::<f64>::zeros(3);
    let vars = Vars::new().with("x", &x).with_out("y", &mut y);
    let cases: &[(&str, ErrorKind, &str)] = &[
        ("x = 1", ErrorKind::Type, "it is an input"),
        (
            "y = x",
            ErrorKind::Broadcast,
            "shape (4,) into a target of shape (3,)",
        ),
        ("y[5] = 1", ErrorKind::Value, "out of bounds"),
        (
            "z[0] = 1",
            ErrorKind::UnknownName,
            "not an array bound as an output",
        ),
        (
            "y + 1\ny = 1",
            ErrorKind::Syntax,
            "must be the program's last statement",
        ),
        (
            "for i in range(2):\ny = 1",
            ErrorKind::Syntax,
            "expected an indented block",
        ),
        ("y = 1\n  y = 2", ErrorKind::Syntax, "unexpected indent"),
        (
            "for i in range(2): t = y\nz = t",
            ErrorKind::UnknownName,
            "inside a loop",
        ),
        ("swap(x, y)", ErrorKind::Type, "it is an input"),
        (
            "for i in range(1.5): y = 1",
            ErrorKind::Type,
            "integer scalar",
        ),
        ("x + 1 = y", ErrorKind::Syntax, "cannot assign"),
    ];
    for (src, kind, msg) in cases {
        let err = numjit::run(src, &vars).unwrap_err();
        assert_eq!(err.kind(), *kind, "{src}: {err}");
        assert!(err.message().contains(msg), "{src}: {err}");
        assert!(
            err.span().is_some() || *kind == ErrorKind::Signature,
            "{src}: {err}"
        );
    }
    drop(vars);
    // A failing program writes nothing, even after a statement that would have succeeded.
    assert_eq!(y, Array1::<f64>::zeros(3));
    let vars = Vars::new().with("x", &x).with_out("y", &mut y);
    assert!(numjit::run("y = 5\ny = x", &vars).is_err());
    drop(vars);
    assert_eq!(y, Array1::<f64>::zeros(3));
}

#[test]
fn targets_of_different_shapes_and_dtypes_in_one_group() {
    let x = golden(12, 0.618);
    let mut m = Array2::<f64>::zeros((3, 12));
    let mut s = Array1::<f64>::zeros(1);
    let mut k = Array1::<i64>::zeros(12);
    {
        let vars = Vars::new()
            .with("x", &x)
            .with_out("m", &mut m)
            .with_out("s", &mut s)
            .with_out("k", &mut k);
        // Three targets of three shapes (the value broadcasts into each) and an int64 target
        // that truncates like NumPy's `k[...] = values`.
        numjit::run("m = x * 2; s = sum(x); k = x * 10", &vars).unwrap();
    }
    for r in 0..3 {
        assert_eq!(m.row(r), x.mapv(|v| v * 2.0));
    }
    assert!((s[0] - x.sum()).abs() < 1e-12);
    assert_eq!(k, x.mapv(|v| (v * 10.0) as i64));
}

#[test]
fn loop_variables_nested_loops_and_ranges() {
    let mut acc = Array1::<f64>::zeros(4);
    {
        let vars = Vars::new().with_out("acc", &mut acc);
        numjit::run(
            "for i in range(1, 4):\n    for j in range(10, 0, -5):\n        acc += i * j\nacc[0] = -1",
            &vars,
        )
        .unwrap();
    }
    // Σ_{i=1..3} Σ_{j∈{10,5}} i·j = 6 · 15 = 90.
    assert_eq!(acc.to_vec(), vec![-1.0, 90.0, 90.0, 90.0]);
}

#[test]
fn swapping_arrays_of_different_shapes_is_an_error_before_any_write() {
    let mut a = Array1::<f64>::zeros(3);
    let mut b = Array1::<f64>::zeros(4);
    {
        let vars = Vars::new().with_out("a", &mut a).with_out("b", &mut b);
        let err = numjit::run("a = 1\nswap(a, b)", &vars).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Broadcast, "{err}");
        assert!(err.message().contains("cannot swap"), "{err}");
    }
    assert_eq!(a.to_vec(), vec![0.0; 3]);
}

#[test]
fn generators_in_programs_never_materialize_and_can_take_computed_lengths() {
    let mut out = Array1::<f64>::zeros(1);
    {
        let vars = Vars::new()
            .with("n", 1_000_000_i64)
            .with_out("area", &mut out);
        numjit::run(
            "x = linspace(0, 3, n)\ndx = 3 / n\narea = sum((0.7*x**3 - 2*x**2 + 4) * dx)",
            &vars,
        )
        .unwrap();
    }
    assert!((out[0] - 8.175).abs() < 1e-4, "{}", out[0]);
    // A length computed by an earlier statement and kept in a 0-d temporary (the loop
    // rewrites `m`, so the intermediate `k` is materialized before the loop).
    let mut m = Array1::<i64>::from_elem(1, 3);
    let mut s = Array1::<f64>::zeros(1);
    {
        let vars = Vars::new().with_out("m", &mut m).with_out("s", &mut s);
        numjit::run(
            "k = sum(m) * 2\nfor i in range(2):\n    m = m + 1\n    s = s + sum(arange(k))",
            &vars,
        )
        .unwrap();
    }
    assert_eq!((m[0], s[0]), (5, 30.0));
}

#[test]
fn a_program_ending_in_an_expression_evaluates_into_a_callers_array() {
    // Every source is a program, so `eval_into` takes any program that has a value.
    let x = golden(9, 0.37);
    let mut y = Array1::<f64>::zeros(9);
    let vars = Vars::new().with("x", &x);
    let k = Engine::default()
        .compile("t = 2 * x\nt + 1", &vars.signature())
        .unwrap();
    k.eval_into(&vars, &mut y).unwrap();
    assert_eq!(y, x.mapv(|v| 2.0 * v + 1.0));
    // A wrong shape is an output error before anything is written.
    let mut short = Array1::<f64>::from_elem(4, 7.0);
    let err = k.eval_into(&vars, &mut short).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Output);
    assert!(short.iter().all(|&v| v == 7.0));
    // A program without a value has nothing to evaluate into.
    let mut o = Array1::<f64>::zeros(9);
    let vars = Vars::new().with("x", &x).with_out("o", &mut o);
    let k = Engine::default()
        .compile("o = x", &vars.signature())
        .unwrap();
    let mut y = Array1::<f64>::zeros(9);
    assert_eq!(
        k.eval_into(&vars, &mut y).unwrap_err().kind(),
        ErrorKind::Output
    );
    assert_eq!(k.eval(&vars).unwrap_err().kind(), ErrorKind::Output);
}

#[test]
fn variables_a_program_never_touches_need_not_be_bound() {
    let x = golden(5, 0.11);
    let mut o = Array1::<f64>::zeros(5);
    let sig = Vars::new()
        .with("x", &x)
        .with("unused", &x)
        .with_out("o", &mut o)
        .signature();
    let k = Engine::default().compile("o = x * 3", &sig).unwrap();
    let vars = Vars::new().with("x", &x).with_out("o", &mut o);
    k.run(&vars).unwrap();
    drop(vars);
    assert_eq!(o, x.mapv(|v| v * 3.0));
    // A variable it reads must be.
    let vars = Vars::new().with_out("o", &mut o);
    let err = k.run(&vars).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Signature);
    assert!(err.message().contains("`x` is not bound"), "{err}");
}

#[test]
fn range_arguments_may_reduce_arrays() {
    // `range(sum(m))` has no constant value: the program compiles code for it.
    let m = ndarray::arr1(&[true, false, true, true]);
    let n = 2_i64;
    let mut o = Array1::<f64>::zeros(1);
    let vars = Vars::new().with("m", &m).with("n", n).with_out("o", &mut o);
    let src =
        "for i in range(sum(m)):\n    o = o + 1\nfor j in range(n * 3, sum(n)):\n    o = o + 100";
    let k = Engine::default().compile(src, &vars.signature()).unwrap();
    k.run(&vars).unwrap();
    k.run_reference(&vars).unwrap();
    drop(vars);
    assert_eq!(o[0], 6.0);
}
