//! The JIT against the interpreter at the lengths where code paths meet: empty, shorter than a
//! vector group, vector groups plus every tail length, several staging blocks, the parallel
//! cutoff; with contiguous, strided and reversed inputs.

use ndarray::{s, Array1};
use numjit::{Engine, Vars};

const EXPRS: &[&str] = &[
    "((.25*x + .75)*x - 1.5)*x - 2",
    "x**2 + y**2 + 2*x*y",
    "sin(2*pi*x)**2 + cos(2*pi*x)**2",
    "(2.0*x - 4.5*y) + (sin(x) + cos(y))",
    "x**3 + 4*sin(y)",
    "exp(-x) * log1p(abs(y)) + arctan2(x, y)",
    "sum(x * y)",
    "where(x > y, x, y) - minimum(x, y)",
];

fn check(engine: &Engine, expr: &str, vars: &Vars, what: &str) {
    let k = engine
        .compile(expr, &vars.signature())
        .unwrap_or_else(|e| panic!("{e}"));
    let (jit, reference) = match (k.eval(vars), k.eval_reference(vars)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(a), Err(b)) if a.kind() == b.kind() => return, // e.g. `max` over an empty axis
        (a, b) => panic!(
            "{expr} ({what}): jit {:?} but interpreter {:?}",
            a.map(|_| ()),
            b.map(|_| ())
        ),
    };
    assert_eq!(jit.shape(), reference.shape());
    let (a, b) = (jit.to_f64(), reference.to_f64());
    // A sum's error bound scales with the sum of its terms' magnitudes, not with the result:
    // both paths add in the same order, but their transcendental terms may differ by an ulp,
    // and cancellation (`sum(sin(lon) * v)` is -5.8 from terms totalling ~4000) magnifies that.
    let magnitudes = sum_of_magnitudes(expr).map(|m| {
        let k = engine.compile(&m, &vars.signature()).unwrap();
        let m = k.eval_reference(vars).unwrap().to_f64();
        m.iter().copied().collect::<Vec<f64>>()
    });
    for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
        let scale = match &magnitudes {
            Some(m) => m[i],
            None => x.abs().max(y.abs()),
        };
        let tol = 4.0 * f64::EPSILON * scale.max(1.0);
        assert!(
            (x - y).abs() <= tol || (x.is_nan() && y.is_nan()),
            "{expr} ({what}) element {i}: jit {x} vs interpreter {y}"
        );
    }
}

/// For `sum(e)` or `sum(e, axis=k)`: the expression summing the terms' magnitudes,
/// `sum(abs(e))` or `sum(abs(e), axis=k)`.
fn sum_of_magnitudes(expr: &str) -> Option<String> {
    let inner = expr.strip_prefix("sum(")?.strip_suffix(')')?;
    let (terms, axis) = match inner.rfind(", axis=") {
        Some(at) => inner.split_at(at),
        None => (inner, ""),
    };
    Some(format!("sum(abs({terms}){axis})"))
}

#[test]
fn every_length_and_layout_agrees_with_the_interpreter() {
    let engine = Engine::default();
    let lengths = (0..=40).chain([63, 64, 65, 127, 1023, 1024, 1025, 3001, 70_000]);
    for n in lengths {
        let x = Array1::from_shape_fn(2 * n, |i| (i as f64 * 0.618_033_988_749_894_9) % 1.0 - 0.3);
        let y = Array1::from_shape_fn(2 * n, |i| (i as f64 * 0.754_877_666_246_692_7) % 1.0 + 0.1);
        let layouts = [
            ("contiguous", x.slice(s![..n]), y.slice(s![..n])),
            ("strided", x.slice(s![..;2]), y.slice(s![..;2])),
            ("reversed", x.slice(s![..n;-1]), y.slice(s![n..])),
        ];
        for (what, xv, yv) in &layouts {
            let vars = Vars::new().with("x", xv).with("y", yv);
            for expr in EXPRS {
                check(&engine, expr, &vars, &format!("{what}, n = {n}"));
            }
        }
    }
}

#[test]
fn vector_and_scalar_reductions_are_bit_identical() {
    // The same values, once contiguous (vector loop) and once every other element of a larger
    // array (the strided loop, accumulators in memory): the pairwise tree and the accumulator of
    // every element are the same.
    for n in [7, 8, 9, 127, 128, 129, 1000, 4097, 100_003] {
        let spread = Array1::from_shape_fn(2 * n, |i| {
            if i % 2 == 0 {
                ((i / 2) as f64 * 0.37).sin() * 1e3
            } else {
                f64::NAN
            }
        });
        let dense = spread.slice(s![..;2]).to_owned();
        for expr in [
            "sum(x)",
            "sum(x * x + 1.5)",
            "mean(x)",
            "prod(x / 1000 + 1)",
            "max(x * 3)",
            "min(x)",
            "sum(x > 0)",
        ] {
            let a = numjit::evaluate(expr, &Vars::new().with("x", &dense))
                .unwrap()
                .to_f64();
            let b = numjit::evaluate(expr, &Vars::new().with("x", spread.slice(s![..;2])))
                .unwrap()
                .to_f64();
            assert_eq!(
                a[[]].to_bits(),
                b[[]].to_bits(),
                "{expr}, n = {n}: {} vs {}",
                a[[]],
                b[[]]
            );
        }
    }
}

#[test]
fn axis_reductions_agree_with_the_interpreter_in_every_layout() {
    let engine = Engine::default();
    for (rows, cols) in [
        (0, 5),
        (5, 0),
        (1, 1),
        (3, 7),
        (130, 9),
        (257, 1030),
        (1000, 3),
        (40, 16),
    ] {
        let c = ndarray::Array2::from_shape_fn((rows, cols), |(i, j)| {
            ((i * 31 + j * 17) % 23) as f64 - 11.5
        });
        let t = c.t().to_owned(); // (cols, rows), so t.t() is a Fortran-ordered view of c
        let views = [
            ("C order", c.view()),
            ("F order", t.t()),
            ("reversed", c.slice(s![..;-1, ..])),
        ];
        for (what, v) in views {
            let vars = Vars::new().with("c", v);
            for expr in [
                "sum(c, axis=0)",
                "sum(c, axis=1)",
                "max(c, axis=0)",
                "mean(c, axis=0) - c",
                "prod(c / 11, axis=-2)",
                // A short last axis (1000x3, 40x16) runs as a column reduction over its rows.
                "max(c, axis=-1)",
                "sqrt(mean(c * c, axis=1))",
            ] {
                check(&engine, expr, &vars, &format!("{what}, {rows}x{cols}"));
            }
        }
    }
    let cube =
        ndarray::Array3::from_shape_fn((4, 300, 5), |(i, j, k)| (i + 2 * j + 3 * k) as f64 * 0.5);
    let vars = Vars::new().with("c", &cube);
    for expr in [
        "sum(c, axis=1)",
        "sum(c, axis=0)",
        "any(c > 100, axis=1)",
        "min(c, axis=1)",
    ] {
        check(&engine, expr, &vars, "3-d");
    }
}

#[test]
fn broadcast_operands_agree_in_the_vector_loop() {
    // `lat` constant along the inner dimensions (splatted in the vector loop), `lon` contiguous,
    // `v` a full field: the P7 pattern, at sizes with and without vector tails.
    let engine = Engine::default();
    for (a, b, c) in [
        (3, 5, 17),
        (2, 4, 64),
        (5, 3, 1),
        (1, 1, 40),
        (0, 2, 9),
        (4, 0, 8),
    ] {
        let lat = Array1::from_shape_fn(a, |i| i as f64 * 0.5 - 1.0);
        let lon = Array1::from_shape_fn(c, |k| k as f64 * 0.25);
        let v = ndarray::Array3::from_shape_fn((a, b, c), |(i, j, k)| {
            (i * 7 + j * 3 + k) as f64 * 0.01
        });
        let vars = Vars::new()
            .with("lat", lat.slice(s![.., ndarray::NewAxis, ndarray::NewAxis]))
            .with("lon", &lon)
            .with("v", &v);
        for expr in [
            "lat*v + lon",
            "-lon*v - lat*lon*v + lat",
            "sum(lat*v + lon, axis=2)",
            "sum(lat*v, axis=0)",
        ] {
            check(&engine, expr, &vars, &format!("{a}x{b}x{c}"));
        }
    }
}

#[test]
fn vector_where_matches_the_scalar_select_bit_for_bit() {
    // `where` of a comparison runs as lane masks; NaN, ±0 and ties must pick what the scalar
    // select picks, for every comparison and every vector dtype, in the vector loop and its tail.
    let specials = [f64::NAN, -0.0, 0.0, 1.5, -1.5, f64::INFINITY, 2.0, 2.0];
    let engine = Engine::default();
    for n in [0, 1, 7, 8, 9, 16, 17, 40] {
        let x = Array1::from_shape_fn(n, |i| specials[i % 8]);
        let y = Array1::from_shape_fn(n, |i| specials[(i * 3 + 1) % 8]);
        let xi = x.mapv(|v| if v.is_finite() { (v * 2.0) as i64 } else { 7 });
        let yi = y.mapv(|v| if v.is_finite() { (v * 2.0) as i64 } else { -7 });
        let (x32, y32) = (x.mapv(|v| v as f32), y.mapv(|v| v as f32));
        let (xi32, yi32) = (xi.mapv(|v| v as i32), yi.mapv(|v| v as i32));
        let sets = [
            ("f64", Vars::new().with("x", &x).with("y", &y)),
            ("f32", Vars::new().with("x", &x32).with("y", &y32)),
            ("i64", Vars::new().with("x", &xi).with("y", &yi)),
            ("i32", Vars::new().with("x", &xi32).with("y", &yi32)),
        ];
        for (what, vars) in &sets {
            for cmp in ["<", "<=", "==", "!=", ">=", ">"] {
                let expr = format!("where(x {cmp} y, x - y, y + 1)");
                let k = engine.compile(&expr, &vars.signature()).unwrap();
                let (a, b) = (k.eval(vars).unwrap(), k.eval_reference(vars).unwrap());
                let bits = |v: &numjit::Array| v.to_f64().mapv(f64::to_bits);
                assert_eq!(bits(&a), bits(&b), "{expr} on {what}, n = {n}");
            }
        }
    }
}

#[test]
fn generators_agree_with_the_interpreter_at_every_length_and_thread_count() {
    // One kernel per expression, compiled once and run for every `n` (the length is bound with
    // the inputs): every length up to 40, reduction blocks, chunks and the parallel cutoff.
    let engine = Engine::default();
    let exprs = [
        "arange(n)",
        "arange(3, n, 2) * 1.5",
        "arange(n, 0, -3)",
        "arange(0.5, n, 0.75)",
        "linspace(-1, 2, n)",
        "linspace(2, -1, n) * x",
        "sin(linspace(0, pi, n)) + x",
        "where(arange(n) % 3 == 0, linspace(0, 1, n), -1.0)",
        "sum(arange(n))",
        "sum(0.7*linspace(0, 3, n)**3 - 2*linspace(0, 3, n)**2 + 4)",
        "max(arange(n) * 2.5 - x)",
        "mean(arange(n) % 7)",
    ];
    let threads_before = numjit::num_threads();
    let lengths = (0..=40).chain([127, 128, 129, 16_383, 16_385, 65_535, 65_537, 100_003]);
    for n in lengths {
        let x = Array1::from_shape_fn(2 * n, |i| (i as f64 * 0.618_033_988_749_894_9) % 1.0);
        for (what, xv) in [
            ("contiguous", x.slice(s![..n])),
            ("reversed", x.slice(s![..;-2])),
        ] {
            let vars = Vars::new().with("x", xv).with("n", n as i64);
            for expr in exprs {
                let k = engine.compile(expr, &vars.signature()).unwrap();
                let mut results = Vec::new();
                for threads in [1, 4] {
                    numjit::set_num_threads(threads);
                    results.push(k.eval(&vars).map(|a| a.to_f64().mapv(f64::to_bits)));
                }
                let (one, four) = (&results[0], &results[1]);
                assert_eq!(one.is_ok(), four.is_ok(), "{expr}, n = {n}");
                if let (Ok(a), Ok(b)) = (one, four) {
                    assert_eq!(a, b, "{expr}, n = {n}: 1 vs 4 threads");
                }
                check(&engine, expr, &vars, &format!("{what}, n = {n}"));
            }
        }
    }
    numjit::set_num_threads(threads_before);
}

#[test]
fn generator_grids_agree_with_the_interpreter() {
    // Generators along either axis of a 2-d space (`[:, None]` moves the iota to axis 0): inner
    // strides of 0 and of one element, column and row reductions, vector and scalar loops.
    let engine = Engine::default();
    for (n, m) in [
        (0, 3),
        (3, 0),
        (1, 1),
        (5, 17),
        (40, 9),
        (17, 40),
        (300, 257),
    ] {
        let vars = Vars::new().with("n", n as i64).with("m", m as i64);
        for expr in [
            "linspace(-1, 1, n)[:, None] * arange(m)",
            "arange(n)[:, None] - linspace(0, 2, m)[None, :]",
            "where(arange(n)[:, None] > arange(m), 1.5, -0.5)",
            // Column sums add rows in order (NumPy's order): exact values keep them comparable.
            "sum(arange(n)[:, None] * arange(0.5, m), axis=0)",
            "sum(linspace(0, 1, n)[:, None] * arange(m), axis=1)",
            "sum(arange(n)[:, None] * arange(m))",
        ] {
            check(&engine, expr, &vars, &format!("{n}x{m}"));
        }
    }
}

#[test]
fn hoisted_broadcast_subexpressions_agree_with_the_interpreter() {
    // Shapes where the costly subexpressions of `lat` and `lon` have far fewer elements than
    // the expression: they run once into buffers of their own (`src/hoist.rs`).
    let engine = Engine::default();
    let lat = ndarray::Array3::from_shape_fn((40, 1, 1), |(i, _, _)| i as f64 * 4.5 - 90.0);
    let lon = ndarray::Array1::from_shape_fn(70, |i| i as f64 * 5.0);
    let v = ndarray::Array3::from_shape_fn((40, 9, 70), |(i, j, k)| {
        ((i * 630 + j * 70 + k) as f64 * 0.618).fract() - 0.5
    });
    let vars = Vars::new()
        .with("lat", &lat)
        .with("lon", &lon)
        .with("v", &v);
    for expr in [
        "-sin(radians(lon))*v - sin(radians(lat))*cos(radians(lon))*v",
        "cos(radians(lat)) * v + sqrt(lon + 1) / 3",
        "sum(v * exp(lat / 100), axis=1)",
        "sum(sin(lon) * v)",
    ] {
        for threads in [1, 3] {
            numjit::set_num_threads(threads);
            check(&engine, expr, &vars, &format!("{threads} threads"));
        }
    }
    // Bit for bit across thread counts.
    let k = engine
        .compile("sin(radians(lat))*cos(radians(lon))*v", &vars.signature())
        .unwrap();
    numjit::set_num_threads(1);
    let one = k.eval(&vars).unwrap();
    numjit::set_num_threads(3);
    assert_eq!(one, k.eval(&vars).unwrap());
}

#[test]
fn sin_and_cos_of_one_argument_share_a_call_bit_for_bit() {
    // `sin(u)` and `cos(u)` of the same `u` are staged as one `sincos` call; each must still
    // be exactly what the expression with only one of them gives, at every tail length and
    // for huge, special and float32 arguments.
    let engine = Engine::default();
    let pool = [
        0.3,
        -1.7,
        1e20,
        f64::NAN,
        0.0,
        -0.0,
        1e-310,
        800.0,
        f64::INFINITY,
        2.5,
    ];
    for n in [1, 7, 33, 1030, 3000] {
        let x = Array1::from_shape_fn(n, |i| pool[i % pool.len()] * (1.0 + i as f64 * 1e-3));
        let x32 = x.mapv(|v| v as f32);
        for vars in [Vars::new().with("x", &x), Vars::new().with("x", &x32)] {
            let eval = |e: &str| {
                let k = engine.compile(e, &vars.signature()).unwrap();
                k.eval(&vars).unwrap().to_f64()
            };
            let both = eval("where(x > 0.5, sin(2*x), cos(2*x))");
            let (s, c) = (eval("sin(2*x)"), eval("cos(2*x)"));
            for i in 0..n {
                let want = if x[i] > 0.5 { s[i] } else { c[i] };
                assert!(
                    both[i].to_bits() == want.to_bits() || (both[i].is_nan() && want.is_nan()),
                    "n={n} i={i} x={}: {} vs {want}",
                    x[i],
                    both[i]
                );
            }
        }
    }
}

/// `A[:, None, :]` and `B[None, :, :]`, as P10 passes `X` twice: the result is (rows of A,
/// rows of B), reduced over the k columns of both.
fn pair_vars<'a, T: numjit::Element>(
    a: &'a ndarray::Array2<T>,
    b: &'a ndarray::Array2<T>,
) -> Vars<'a> {
    Vars::new()
        .with("xi", a.slice(s![.., ndarray::NewAxis, ..]))
        .with("xj", b.slice(s![ndarray::NewAxis, .., ..]))
}

/// Evaluates `k` at 1 and 3 threads (allocating, into a C-ordered output, into a strided one and
/// into a reversed one) and checks that every result has the same bits; returns them.
fn eval_everywhere(k: &numjit::Kernel, vars: &Vars, what: &str) -> ndarray::ArrayD<u64> {
    let bits = |a: &numjit::Array| a.to_f64().mapv(f64::to_bits);
    let mut first: Option<ndarray::ArrayD<u64>> = None;
    let mut agree = |r: ndarray::ArrayD<u64>, how: &str| match &first {
        Some(f) => assert_eq!(f, &r, "{what}: {how} differs"),
        None => first = Some(r),
    };
    let threads_before = numjit::num_threads();
    for threads in [1, 3] {
        numjit::set_num_threads(threads);
        let a = k.eval(vars).unwrap();
        let shape = a.shape().to_vec();
        agree(bits(&a), &format!("eval at {threads} threads"));
        macro_rules! into {
            ($t:ty) => {{
                let (m, n) = (shape[0], shape[1]);
                let mut dense = ndarray::Array2::<$t>::default((m, n));
                k.eval_into(vars, &mut dense).unwrap();
                agree(
                    dense.mapv(|v| (v as f64).to_bits()).into_dyn(),
                    &format!("eval_into at {threads} threads"),
                );
                // Every other column of a wider array, rows reversed: nothing contiguous.
                let mut wide = ndarray::Array2::<$t>::default((m, 2 * n + 1));
                let mut view = wide.slice_mut(s![..;-1, 1..;2]);
                k.eval_into(vars, &mut view).unwrap();
                let back = wide.slice(s![..;-1, 1..;2]).mapv(|v| (v as f64).to_bits());
                agree(back.into_dyn(), &format!("strided eval_into at {threads} threads"));
                // The untouched columns stay untouched.
                assert!(wide.slice(s![.., ..;2]).iter().all(|v| *v == <$t>::default()));
                // Fortran order.
                let mut f = ndarray::Array2::<$t>::default((n, m));
                let mut ft = f.view_mut().reversed_axes();
                k.eval_into(vars, &mut ft).unwrap();
                agree(
                    f.t().mapv(|v| (v as f64).to_bits()).into_dyn(),
                    &format!("F-order eval_into at {threads} threads"),
                );
            }};
        }
        match a.dtype() {
            numjit::DType::Float64 => into!(f64),
            numjit::DType::Float32 => into!(f32),
            numjit::DType::Int64 => into!(i64),
            other => panic!("{what}: unexpected dtype {other}"),
        }
    }
    numjit::set_num_threads(threads_before);
    first.unwrap()
}

#[test]
fn short_axis_reductions_and_their_epilogue_agree_bit_for_bit() {
    // P10: `sqrt(sum((xi - xj)**2, axis=-1))`. A short last axis runs as a column reduction
    // whose tiles go straight through the map stage into the result. Values on a grid of 1/8
    // make every sum exact, so the JIT's order and the interpreter's compensated sums agree to
    // the bit; products, minima and maxima fold in one order everywhere.
    let engine = Engine::default();
    let exprs = [
        "sqrt(sum((xi - xj)**2, axis=-1))",
        "sqrt(sum((xi - xj)**2, axis=-1)) + 1",
        "sqrt(sum((xi - xj)**2, axis=-1)) * s - 0.25",
        // Factors whose products never round (every order gives the same bits).
        "prod(where(xi > xj, 2.0, where(xi < xj, 0.5, 1.5)), axis=-1) * 2",
        "-min(abs(xi - xj), axis=-1)",
        "max(xi * xj, axis=-1) / s",
        // A mean is divided after the reduction: not fused, still exact here (or NaN alike).
        "sqrt(mean((xi - xj)**2, axis=-1))",
    ];
    // (rows, columns) of the result: fewer than 16 columns is not a short-axis column
    // reduction; 1023..1025 and 2100 columns cut tiles of 1024 columns.
    for (p, m) in [
        (1, 1),
        (5, 5),
        (15, 15),
        (16, 16),
        (17, 17),
        (40, 33),
        (4, 1023),
        (3, 1024),
        (2, 1025),
        (1, 2100),
        (3, 2100),
    ] {
        for k in [1, 3, 16, 17] {
            let grid = |rows: usize, shift: usize| {
                ndarray::Array2::from_shape_fn((rows, k), |(i, j)| {
                    ((i * 7 + j * 5 + shift) % 19) as f64 / 8.0 - 1.0
                })
            };
            let (a, b) = (grid(p, 3), grid(m, 0));
            let (a32, b32) = (a.mapv(|v| v as f32), b.mapv(|v| v as f32));
            let (ai, bi) = (a.mapv(|v| (v * 8.0) as i64), b.mapv(|v| (v * 8.0) as i64));
            let sets = [
                ("f64", pair_vars(&a, &b).with("s", 0.5)),
                ("f32", pair_vars(&a32, &b32).with("s", 0.5f32)),
                ("i64", pair_vars(&ai, &bi).with("s", 3_i64)),
            ];
            for (dtype, vars) in &sets {
                for expr in exprs {
                    let what = format!("{expr} on {dtype}, {p}x{m}x{k}");
                    let kern = engine.compile(expr, &vars.signature()).unwrap();
                    let jit = eval_everywhere(&kern, vars, &what);
                    let reference = kern.eval_reference(vars).unwrap().to_f64();
                    let same = jit.iter().zip(reference.iter()).all(|(a, b)| {
                        *a == b.to_bits() || (f64::from_bits(*a).is_nan() && b.is_nan())
                    });
                    assert!(same, "{what}: jit and interpreter differ");
                }
            }
        }
    }
}

/// The map stage after a reduction, on the reduction's value and `s`.
type Epilogue = fn(f64, f64) -> f64;

#[test]
fn a_fused_epilogue_matches_the_materialized_reduction() {
    // Values off the grid: sums and products round, so compare with the reduction evaluated on
    // its own (materialized) and the map stage applied to it here.
    let engine = Engine::default();
    let sum = "sum((xi - xj)**2, axis=-1)";
    let prod = "prod(xi - xj + 1.5, axis=-1)";
    let max = "max(xi - xj, axis=-1)";
    let cases: [(&str, &str, Epilogue); 5] = [
        (sum, "sqrt(sum((xi - xj)**2, axis=-1))", |v, _| v.sqrt()),
        (sum, "sqrt(sum((xi - xj)**2, axis=-1)) + 1", |v, _| {
            v.sqrt() + 1.0
        }),
        (sum, "sum((xi - xj)**2, axis=-1) * s", |v, s| v * s),
        (prod, "prod(xi - xj + 1.5, axis=-1) * 2", |v, _| v * 2.0),
        (max, "max(xi - xj, axis=-1) - s", |v, s| v - s),
    ];
    for (m, k) in [(20, 3), (1030, 3), (300, 17), (9, 3)] {
        let x = ndarray::Array2::from_shape_fn((m, k), |(i, j)| {
            ((i * 3 + j) as f64 * 0.618_033_988_749_894_9).fract() * 10.0 - 5.0
        });
        let vars = pair_vars(&x, &x).with("s", 1.25);
        for (reduction, expr, epilogue) in cases {
            check_epilogue(&engine, &vars, reduction, expr, epilogue, m, k);
        }
    }
}

/// `expr` (the reduction `reduction` followed by a map stage) against `reduction` evaluated on
/// its own, with `epilogue(value, s)` applied here, bit for bit (with s = 1.25).
fn check_epilogue(
    engine: &Engine,
    vars: &Vars,
    reduction: &str,
    expr: &str,
    epilogue: Epilogue,
    m: usize,
    k: usize,
) {
    let values = engine
        .compile(reduction, &vars.signature())
        .unwrap()
        .eval(vars)
        .unwrap()
        .to_f64();
    let kern = engine.compile(expr, &vars.signature()).unwrap();
    let jit = eval_everywhere(&kern, vars, &format!("{expr}, {m}x{k}"));
    let expected = values.mapv(|v| epilogue(v, 1.25).to_bits());
    assert_eq!(jit, expected, "{expr}, {m}x{k}");
}

#[test]
fn a_lone_vector_function_on_its_operands_matches_the_staged_blocks_bit_for_bit() {
    // `f(x)` with x and the output contiguous calls the vector function on them directly; with
    // x strided it runs through the staged blocks. Both give the same bits, and the square root
    // (correctly rounded everywhere) the interpreter's.
    let engine = Engine::default();
    let exprs = [
        "sqrt(x)",
        "exp(x)",
        "sin(x)",
        "arctan2(x, y)",
        "x ** y",
        "sqrt(x) * 1",
    ];
    for n in [0, 1, 3, 4, 5, 7, 8, 9, 31, 1023, 1025, 5000] {
        let spread = |g: f64| Array1::from_shape_fn(2 * n, |i| (i as f64 * g) % 1.0 * 3.0 + 0.01);
        let (x, y) = (
            spread(0.618_033_988_749_894_9),
            spread(0.754_877_666_246_692_7),
        );
        let (xd, yd) = (x.slice(s![..;2]).to_owned(), y.slice(s![..;2]).to_owned());
        let (x32, y32) = (xd.mapv(|v| v as f32), yd.mapv(|v| v as f32));
        let (x32s, y32s) = (x.mapv(|v| v as f32), y.mapv(|v| v as f32));
        let sets = [
            (
                "f64",
                Vars::new().with("x", &xd).with("y", &yd),
                Vars::new()
                    .with("x", x.slice(s![..;2]))
                    .with("y", y.slice(s![..;2])),
            ),
            (
                "f32",
                Vars::new().with("x", &x32).with("y", &y32),
                Vars::new()
                    .with("x", x32s.slice(s![..;2]))
                    .with("y", y32s.slice(s![..;2])),
            ),
        ];
        for (dtype, dense, strided) in &sets {
            for expr in exprs {
                let k = engine.compile(expr, &dense.signature()).unwrap();
                let direct = k.eval(dense).unwrap().to_f64();
                let blocks = k.eval(strided).unwrap().to_f64();
                let what = format!("{expr} on {dtype}, n = {n}");
                let bits =
                    |a: &ndarray::ArrayD<f64>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&direct), bits(&blocks), "{what}: direct vs blocks");
                if expr == "sqrt(x)" {
                    let reference = k.eval_reference(dense).unwrap().to_f64();
                    assert_eq!(
                        bits(&direct),
                        bits(&reference),
                        "{what}: vs the interpreter"
                    );
                }
            }
        }
    }
}

#[test]
fn a_plain_copy_is_exact_in_every_layout_and_in_place() {
    // `x` into a contiguous output of its dtype is a `memcpy` (split across threads above the
    // parallel cutoff); strided, reversed or cast it is a kernel. All give x's bits.
    let engine = Engine::default();
    for n in [0, 1, 7, 65, 70_001, 200_003] {
        let x = Array1::from_shape_fn(2 * n, |i| (i as f64 * 0.618_033_988_749_894_9) % 1.0 - 0.5);
        let dense = x.slice(s![..n]).to_owned();
        let layouts = [
            ("dense", Vars::new().with("x", &dense)),
            ("strided", Vars::new().with("x", x.slice(s![..;2]))),
            ("reversed", Vars::new().with("x", x.slice(s![..n;-1]))),
        ];
        for (what, vars) in &layouts {
            let k = engine.compile("x", &vars.signature()).unwrap();
            let got = k.eval(vars).unwrap().to_f64();
            let expected = k.eval_reference(vars).unwrap().to_f64();
            assert_eq!(got, expected, "x ({what}), n = {n}");
            let mut out = Array1::<f64>::from_elem(n, f64::NAN);
            k.eval_into(vars, &mut out).unwrap();
            assert_eq!(out.into_dyn(), expected, "x into out ({what}), n = {n}");
        }
        let ints = dense.mapv(|v| (v * 1e6) as i32);
        let mut copied = Array1::<i32>::zeros(n);
        let mut same = ints.clone();
        numjit::run(
            "b[...] = a\nc[...] = c",
            &Vars::new()
                .with("a", &ints)
                .with_out("b", &mut copied)
                .with_out("c", &mut same),
        )
        .unwrap();
        assert_eq!(copied, ints, "program copy, n = {n}");
        assert_eq!(same, ints, "in-place copy, n = {n}");
        let ints_kernel = engine
            .compile("x", &Vars::new().with("x", &ints).signature())
            .unwrap();
        let mut widened = Array1::<f64>::zeros(n);
        assert!(
            ints_kernel
                .eval_into(&Vars::new().with("x", &ints), &mut widened)
                .is_err(),
            "an output of another dtype is refused, not copied bytewise"
        );
    }
}

#[test]
fn operands_constant_along_the_row_agree_in_the_vector_loop() {
    // `col` of shape (m, 1) moves with the rows but not along them: the vector loop reads it
    // splatted from a region refreshed at every row. Rows with and without vector tails, more
    // rows than a work item, staged math, reductions over either axis, and other dtypes.
    let engine = Engine::default();
    for (m, n) in [
        (3, 17),
        (2, 64),
        (5, 1),
        (40, 9),
        (1, 8),
        (0, 8),
        (9, 0),
        (70, 1100),
    ] {
        let x = ndarray::Array2::from_shape_fn((m, n), |(i, j)| (i * 31 + j) as f64 * 0.01 - 0.3);
        let col = ndarray::Array2::from_shape_fn((m, 1), |(i, _)| i as f64 * 0.5 - 1.0);
        let row = Array1::from_shape_fn(n, |j| j as f64 * 0.25);
        let what = format!("{m}x{n}");
        let vars = Vars::new()
            .with("x", &x)
            .with("col", &col)
            .with("row", &row);
        for expr in [
            "x * col + 1",
            "col - x * row + col * col",
            "sin(x) * col",
            "where(col > 0, x, col)",
            "sum(x * col, axis=1)",
            "sum(x * col + row, axis=0)",
        ] {
            check(&engine, expr, &vars, &what);
        }
        let (x32, col32) = (x.mapv(|v| v as f32), col.mapv(|v| v as f32));
        let vars32 = Vars::new().with("x", &x32).with("col", &col32);
        check(&engine, "x * col - col", &vars32, &format!("{what} f32"));
        let (xi, coli) = (
            x.mapv(|v| (v * 100.0) as i64),
            col.mapv(|v| (v * 4.0) as i64),
        );
        let varsi = Vars::new().with("x", &xi).with("col", &coli);
        check(&engine, "x * col + col", &varsi, &format!("{what} i64"));
    }
}
