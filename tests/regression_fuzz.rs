//! An in-tree fuzzer that runs with the tests, and the named regressions found by fuzzing.
//!
//! The random expressions come from a small grammar-aware generator (deterministic seed), so
//! every CI run checks the same few thousand programs: none may panic, and whenever one
//! evaluates, the JIT and the interpreter must agree.

use ndarray::{Array1, Array2};
use numjit::{Engine, Vars};

/// splitmix64: tiny, seedable, good enough to pick grammar productions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const LEAVES: &[&str] = &[
    "f", "g", "i", "j", "m", "x", "1", "2.5", "-3", "0", "pi", "nan", "inf", "True", "1e300",
];
const BINOPS: &[&str] = &[
    "+", "-", "*", "/", "//", "%", "**", "<<", ">>", "&", "|", "^", "<", "<=", "==", "!=", ">",
];
const FUNCS: &[&str] = &[
    "sqrt", "sin", "exp", "log", "abs", "floor", "round", "sign", "isnan", "signbit", "arctanh",
];
const FUNCS2: &[&str] = &["maximum", "minimum", "arctan2", "hypot", "fmod", "copysign"];
const REDUCE: &[&str] = &["sum", "prod", "min", "max", "mean", "any", "all"];
const JUNK: &[&str] = &["(", ")", ",", "axis=", "$", "if", "**", "a<b<c", ""];

fn expr(r: &mut Rng, depth: u32) -> String {
    if depth == 0 {
        return r.pick(LEAVES).to_string();
    }
    match r.next() % 9 {
        0 | 1 => format!(
            "({} {} {})",
            expr(r, depth - 1),
            r.pick(BINOPS),
            expr(r, depth - 1)
        ),
        2 => format!("{}({})", r.pick(FUNCS), expr(r, depth - 1)),
        3 => format!(
            "{}({}, {})",
            r.pick(FUNCS2),
            expr(r, depth - 1),
            expr(r, depth - 1)
        ),
        4 => format!("{}({})", r.pick(REDUCE), expr(r, depth - 1)),
        5 => format!(
            "{}({}, axis={})",
            r.pick(REDUCE),
            expr(r, depth - 1),
            r.next() % 4
        )
        .replace("axis=3", "axis=-1"),
        6 => format!(
            "where({}, {}, {})",
            expr(r, depth - 1),
            expr(r, depth - 1),
            expr(r, depth - 1)
        ),
        7 => format!("-{}", expr(r, depth - 1)),
        _ => format!("{}{}", expr(r, depth - 1), r.pick(JUNK)),
    }
}

#[test]
fn random_programs_never_panic_and_backends_agree() {
    let f = Array2::from_shape_fn((3, 4), |(i, j)| i as f64 - j as f64 * 0.75);
    let g = Array1::from_shape_fn(4, |j| (j as f32) * 1.5 - 2.0);
    let i = Array2::from_shape_fn((3, 4), |(a, b)| a as i64 * 7 - b as i64 * 3);
    let j = Array1::from_shape_fn(4, |b| b as i32 - 1);
    let m = ndarray::arr1(&[true, false, true, true]);
    let vars = Vars::new()
        .with("f", &f)
        .with("g", &g)
        .with("i", &i)
        .with("j", &j)
        .with("m", &m)
        .with("x", 0.5_f64);
    let engine = Engine::with_cache_capacity(32);
    let mut rng = Rng(0x5eed);
    let (mut ran, mut compiled) = (0, 0);
    for _ in 0..1500 {
        let depth = 1 + (rng.next() % 4) as u32;
        let src = expr(&mut rng, depth);
        let Ok(kernel) = engine.compile(&src, &vars.signature()) else {
            continue;
        };
        compiled += 1;
        let (jit, reference) = (kernel.eval(&vars), kernel.eval_reference(&vars));
        match (jit, reference) {
            (Ok(a), Ok(b)) => {
                ran += 1;
                assert_eq!(a.dtype(), b.dtype(), "{src}");
                assert_eq!(a.shape(), b.shape(), "{src}");
                let n: usize = a.shape().iter().product();
                for k in 0..n {
                    let (x, y) = (
                        a.get_flat(k).map(|s| s.as_f64()),
                        b.get_flat(k).map(|s| s.as_f64()),
                    );
                    let (x, y) = (x.unwrap_or(0.0), y.unwrap_or(0.0));
                    let ok = x == y
                        || (x.is_nan() && y.is_nan())
                        || (x - y).abs() <= 1e-9 * x.abs().max(y.abs());
                    assert!(ok, "`{src}` element {k}: jit {x} vs interpreter {y}");
                }
            }
            (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "{src}"),
            (a, b) => panic!(
                "`{src}`: jit {:?} but interpreter {:?}",
                a.map(|_| ()),
                b.map(|_| ())
            ),
        }
    }
    // The generator must exercise the backends, not just the parser's error paths.
    assert!(
        compiled > 300 && ran > 200,
        "compiled {compiled}, ran {ran}"
    );
}

/// Named regressions: each found by fuzzing, with what broke.
#[test]
fn regressions() {
    let x = Array1::from_vec(vec![i64::MIN, -1, 0, 5]);
    let vars = Vars::new().with("x", &x);
    // `MIN // -1` and `MIN % -1` overflowed Rust's `%` in the floor-division check (panic).
    for src in ["x // -1", "x % -1", "x // x", "x % x"] {
        numjit::evaluate(src, &vars).unwrap_or_else(|e| panic!("{src}: {e}"));
    }
}

/// Runs `f` on a thread with a 2 MiB stack (Rust's default for spawned threads).
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("no panic")
}

// 2 500 chained `t = t + 1` statements overflowed a 2 MiB stack in the code generator (abort),
// 10 000 in lowering and staging too.
#[test]
fn long_statement_chain_compiles_on_a_small_stack() {
    let total = on_small_stack(|| {
        let x = Array1::from_vec(vec![0.0, 1.0]);
        let src = format!("t = x\n{}t", "t = t + 1\n".repeat(10_000));
        let vars = Vars::new().with("x", &x);
        numjit::run(&src, &vars).unwrap().unwrap().to_f64()
    });
    assert_eq!(total.as_slice().unwrap(), &[10_000.0, 10_001.0]);
}

// 10⁴ nested `for` loops overflowed the parser's stack (abort); now a `limit` error at the
// first line past the limit.
#[test]
fn deeply_nested_loops_are_a_limit_error() {
    let (kind, span) = on_small_stack(|| {
        let src: String = (0..10_000)
            .map(|d| format!("{}for i{d} in range(2):\n", " ".repeat(d)))
            .collect::<String>()
            + &" ".repeat(10_000)
            + "t = 1\n";
        let x = Array1::from_vec(vec![0.0]);
        let mut t = Array1::from_vec(vec![0.0]);
        let vars = Vars::new().with("x", &x).with_out("t", &mut t);
        let err = numjit::run(&src, &vars).unwrap_err();
        (err.kind(), err.span())
    });
    assert_eq!(kind, numjit::ErrorKind::Limit);
    // The span is the indentation of the 65th line, the 65th level.
    let start: usize = (0..64)
        .map(|d: usize| format!("{}for i{d} in range(2):\n", " ".repeat(d)).len())
        .sum();
    assert_eq!(span, Some(numjit::Span::new(start, start + 64)));
    // The limit itself still runs: 63 nested loops (64 levels) of one trip each.
    let depth = 63;
    let t = on_small_stack(move || {
        let src: String = (0..depth)
            .map(|d| format!("{}for i{d} in range(1):\n", " ".repeat(d)))
            .collect::<String>()
            + &" ".repeat(depth)
            + "t = t + 1\n";
        let mut t = Array1::from_vec(vec![0.0]);
        let vars = Vars::new().with_out("t", &mut t);
        numjit::run(&src, &vars).unwrap();
        drop(vars);
        t[0]
    });
    assert_eq!(t, 1.0);
}

// Reductions over 2⁶⁴ broadcast elements gave 0 (`mean` NaN, `prod` 1, `min` a zero-size
// error) in release, and panicked with overflow checks: the element count wrapped.
#[test]
fn reductions_of_more_elements_than_fit_are_a_limit_error() {
    let one = ndarray::arr0(1.0_f64);
    let a = one.broadcast((1 << 32, 1)).unwrap();
    let b = one.broadcast((1, 1 << 32)).unwrap();
    let vars = Vars::new().with("A", a.view()).with("B", b.view());
    for src in [
        "sum(A + B)",
        "mean(A + B)",
        "prod(A + B)",
        "min(A + B)",
        "sum(A + B, axis=0)",
        "A + B",
    ] {
        let err = numjit::evaluate(src, &vars).unwrap_err();
        assert_eq!(err.kind(), numjit::ErrorKind::Limit, "{src}: {err}");
        assert!(
            err.message().contains("(4294967296, 1) (1, 4294967296)"),
            "{src}: {err}"
        );
    }
}

// A reduction's output too large to allocate aborted the process (`sum(A + B, axis=0)` asked
// for 32 GiB) or panicked with "capacity overflow"; now a `limit` error, as `A + B` was.
#[test]
fn reduction_outputs_too_large_to_allocate_are_a_limit_error() {
    let one = ndarray::arr0(1.0_f64);
    // 2⁴⁰ float64 accumulators (8 TiB): more than any machine here can reserve.
    let c = one.broadcast((1 << 40, 1)).unwrap();
    let d = one.broadcast((1, 2)).unwrap();
    let vars = Vars::new().with("C", c.view()).with("D", d.view());
    for src in ["sum(C + D, axis=1)", "max(C + D, axis=1) + 1"] {
        let err = numjit::evaluate(src, &vars).unwrap_err();
        assert_eq!(err.kind(), numjit::ErrorKind::Limit, "{src}: {err}");
        let err = numjit::Engine::default()
            .compile(src, &vars.signature())
            .unwrap()
            .eval_reference(&vars)
            .unwrap_err();
        assert_eq!(err.kind(), numjit::ErrorKind::Limit, "{src}: {err}");
    }
}

// `eval_reference` aborted on a value too large to allocate (`a[:, None] + a` of 200 000
// elements) where `eval` gave a `limit` error.
#[test]
fn the_interpreter_reports_values_too_large_to_allocate() {
    let a = Array1::<f64>::zeros(200_000);
    let vars = Vars::new().with("a", &a);
    let kernel = numjit::Engine::default()
        .compile("a[:, None] + a", &vars.signature())
        .unwrap();
    assert_eq!(
        kernel.eval(&vars).unwrap_err().kind(),
        numjit::ErrorKind::Limit
    );
    assert_eq!(
        kernel.eval_reference(&vars).unwrap_err().kind(),
        numjit::ErrorKind::Limit
    );
    assert_eq!(
        kernel.run_reference(&vars).unwrap_err().kind(),
        numjit::ErrorKind::Limit
    );
}

// `for i in range(9223372036854775800, 9223372036854775807, 5)` never ended: the counter
// wrapped past `i64::MAX` (and panicked in the program runner with overflow checks).
#[test]
fn loops_near_the_int64_limit_end() {
    let mut n = Array1::from_vec(vec![0_i64]);
    let mut last = Array1::from_vec(vec![0_i64]);
    let vars = Vars::new()
        .with_out("n", &mut n)
        .with_out("last", &mut last);
    numjit::run(
        "for i in range(9223372036854775800, 9223372036854775807, 5):\n    n += 1\n    last[...] = i\n\
         for j in range(-9223372036854775800, -9223372036854775807, -4):\n    n += 1",
        &vars,
    )
    .unwrap();
    drop(vars);
    assert_eq!((n[0], last[0]), (4, 9223372036854775805));
}

// Slice steps of ±(2⁶³ − 1) selected nothing where NumPy selects one element (an overflow
// panic in the slice length with overflow checks).
#[test]
fn huge_slice_steps_select_one_element() {
    let x = Array1::from_vec(vec![1.0, 2.0, 3.0]);
    let vars = Vars::new().with("x", &x);
    for (src, want) in [
        ("x[::9223372036854775807]", 1.0),
        ("x[::-9223372036854775807]", 3.0),
        ("x[1::9223372036854775807]", 2.0),
    ] {
        let got = numjit::evaluate(src, &vars).unwrap().to_f64();
        assert_eq!(got.as_slice().unwrap(), &[want], "{src}");
    }
}

// Float → int32 casts disagreed: the JIT saturated, constant folding and the interpreter
// wrapped through int64 (`3e9` → 2147483647 compiled, −1294967296 folded or interpreted).
#[test]
fn float_to_int32_casts_saturate_on_every_path() {
    let engine = numjit::Engine::default();
    let check = |src: &str, k: &Array1<f64>, want: &[i32]| {
        let mut o = Array1::<i32>::zeros(want.len());
        let sig = Vars::new()
            .with("k", k)
            .signature()
            .with_out("o", numjit::DType::Int32, 1);
        let kernel = engine.compile(src, &sig).unwrap();
        for reference in [false, true] {
            o.fill(7);
            let vars = Vars::new().with("k", k).with_out("o", &mut o);
            if reference {
                kernel.run_reference(&vars).unwrap();
            } else {
                kernel.run(&vars).unwrap();
            }
            drop(vars);
            assert_eq!(
                o.as_slice().unwrap(),
                want,
                "{src} (reference: {reference})"
            );
        }
    };
    // Compiled and interpreted: from an array.
    let k = Array1::from_vec(vec![
        3e9,
        -3e9,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        -2.7,
    ]);
    check(
        "o = k",
        &k,
        &[i32::MAX, i32::MIN, i32::MAX, i32::MIN, 0, -2],
    );
    // Folded: from constants.
    for (lit, w) in [
        ("3e9", i32::MAX),
        ("-3e9", i32::MIN),
        ("inf", i32::MAX),
        ("nan", 0),
    ] {
        check(&format!("o[...] = {lit}"), &k, &[w; 6]);
    }
}

// Outputs bound with `with_out` were checked against what a program reads but not against each
// other: overlapping outputs got whichever write the fused pass made last.
#[test]
fn overlapping_outputs_are_an_output_error() {
    let mut buf = vec![0.0_f64; 4];
    let p = buf.as_mut_ptr();
    // SAFETY: both views lie inside `buf`, which outlives them; they overlap on purpose (as C
    // callers' arrays can), and numjit must refuse to write them.
    let (mut a, mut b) = unsafe {
        (
            ndarray::ArrayViewMut1::from_shape_ptr(3, p),
            ndarray::ArrayViewMut1::from_shape_ptr(3, p.add(1)),
        )
    };
    let vars = Vars::new().with_out("a", &mut a).with_out("b", &mut b);
    let err = numjit::run("a = 1.0\nb = 2.0", &vars).unwrap_err();
    assert_eq!(err.kind(), numjit::ErrorKind::Output, "{err}");
    assert!(err.message().contains("`a` and `b`"), "{err}");
    drop(vars);
    assert_eq!(buf, [0.0; 4]);
}

// A 1 MB unknown name made a 3 MB error message (the name, its line, a caret under all of it).
#[test]
fn huge_unknown_names_give_short_messages() {
    let name = "n".repeat(1 << 20);
    for src in [format!("1 + {name}"), format!("{name}(1)")] {
        let err = numjit::evaluate(&src, &Vars::new()).unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.len() < 500,
            "{} bytes: {}",
            shown.len(),
            &shown[..500]
        );
        assert!(err.message().len() < 100, "{}", err.message());
    }
}

/// One case of `tests/data/bad_inputs/catalogue.toml`.
#[derive(serde::Deserialize)]
struct BadInput {
    src: Option<String>,
    pre: Option<String>,
    unit: Option<String>,
    times: Option<usize>,
    post: Option<String>,
    kind: String,
    span: Option<[usize; 2]>,
}

// The catalogue of bad inputs: every one is a clean error of its kind (or runs), none panics,
// aborts or hangs. `NUMJIT_DISCOVER=1` prints what each input gives.
#[test]
fn bad_inputs_catalogue() {
    #[derive(serde::Deserialize)]
    struct Catalogue {
        cases: Vec<BadInput>,
    }
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/bad_inputs/catalogue.toml"
    );
    let text = std::fs::read_to_string(path).expect("readable");
    let catalogue: Catalogue = toml::from_str(&text).expect("valid catalogue");
    let discover = std::env::var_os("NUMJIT_DISCOVER").is_some();
    let a = Array1::from_vec(vec![1.0, 2.0, 3.0]);
    let m = Array2::from_shape_fn((2, 3), |(r, c)| (r * 3 + c) as f64);
    let i = Array1::from_vec(vec![1_i64, 2, 3]);
    let e = Array1::<f64>::zeros(0);
    let z = ndarray::arr0(0.5_f64);
    let n = ndarray::arr0(3_i64);
    let r9 = ndarray::ArrayD::<f64>::zeros(ndarray::IxDyn(&[1; 9]));
    let mut failures = Vec::new();
    for case in &catalogue.cases {
        let src = match &case.src {
            Some(s) => s.clone(),
            None => {
                let unit = case.unit.as_deref().unwrap_or("");
                format!(
                    "{}{}{}",
                    case.pre.as_deref().unwrap_or(""),
                    unit.repeat(case.times.unwrap_or(1)),
                    case.post.as_deref().unwrap_or("")
                )
            }
        };
        let (mut t, mut k) = (Array1::<f64>::zeros(3), Array1::<i32>::zeros(3));
        let mut vars = Vars::new()
            .with("a", &a)
            .with("m", &m)
            .with("i", &i)
            .with("e", &e)
            .with("z", &z)
            .with("n", &n)
            .with_out("t", &mut t)
            .with_out("k", &mut k);
        // Bound only where used: a rank-9 variable is refused whatever the program.
        if src.contains("r9") {
            vars.insert("r9", &r9);
        }
        let (kind, span) = match numjit::run(&src, &vars) {
            Ok(_) => ("ok", None),
            Err(err) => (err.kind().name(), err.span().map(|s| [s.start, s.end])),
        };
        let shown: String = src.chars().take(60).collect();
        if discover {
            println!("{shown:?} -> {kind} {span:?}");
        }
        if kind != case.kind || (case.span.is_some() && span != case.span) {
            failures.push(format!(
                "{shown:?}: expected {} {:?}, got {kind} {span:?}",
                case.kind, case.span
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// The interpreter summed floats with Neumaier compensation while the JIT sums blocks of 128
// (eight interleaved accumulators each) joined by a pairwise tree, so sums could only be
// compared within a tolerance (cancelling sums differed in every bit). The oracle now combines
// in the runtime's order: rows, columns (axis 0 of a matrix), short last axes and whole arrays
// agree bit for bit, at any thread count.
#[test]
fn the_oracle_reduces_in_the_jits_order() {
    let mut seed = 1u64;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let m = ((seed >> 11) as f64) / (1u64 << 53) as f64;
        // Magnitudes from 1e-8 to 1e16 with both signs: cancellation everywhere.
        (m - 0.5) * 10f64.powi(((seed >> 3) % 25) as i32 - 8)
    };
    let shapes: [&[usize]; 6] = [
        &[1000],
        &[300, 130],
        &[40, 5],
        &[3, 200, 7],
        &[129, 1, 9],
        &[7],
    ];
    let engine = Engine::default();
    for shape in shapes {
        let x = ndarray::ArrayD::from_shape_simple_fn(ndarray::IxDyn(shape), &mut next);
        let y = x.mapv(|v| v as f32);
        let vars = Vars::new().with("x", &x).with("y", &y);
        let mut srcs = Vec::new();
        for f in ["sum", "mean", "prod", "min", "max"] {
            for v in ["x", "y", "x * 1e-3 + 1"] {
                srcs.push(format!("{f}({v})"));
                for ax in 0..shape.len() {
                    srcs.push(format!("{f}({v}, axis={ax})"));
                }
            }
        }
        for src in srcs {
            let k = engine.compile(&src, &vars.signature()).unwrap();
            let want = k.eval_reference(&vars).unwrap();
            for threads in [1, 2, 7] {
                let before = numjit::set_num_threads(threads);
                let got = k.eval(&vars).unwrap();
                numjit::set_num_threads(before);
                assert_eq!(got.shape(), want.shape(), "{src}");
                let n: usize = want.shape().iter().product();
                for i in 0..n {
                    let (a, b) = (got.get_flat(i).unwrap(), want.get_flat(i).unwrap());
                    let same = match (a, b) {
                        (numjit::Scalar::F64(a), numjit::Scalar::F64(b)) => {
                            a.to_bits() == b.to_bits()
                        }
                        (numjit::Scalar::F32(a), numjit::Scalar::F32(b)) => {
                            a.to_bits() == b.to_bits()
                        }
                        (a, b) => a == b,
                    };
                    assert!(
                        same,
                        "{src} {shape:?} at {i} ({threads} threads): jit {a:?}, interpreter {b:?}"
                    );
                }
            }
        }
    }
}

// An intermediate bound after a slice write to what it reads (`o[...] = 1` then `t = o + 1`,
// used later) was an internal error, "materializing intermediates did not converge": the
// materialized binding recorded the output's version before the barrier its own statement
// needed, so it went stale at once, every build. Found by tests/differential.rs.
#[test]
fn intermediates_after_a_slice_write_materialize() {
    for (src, want) in [
        ("o[...] = 1\nt = o + 1\nt", vec![2, 2, 2]),
        ("o[...] = 1\nt = min(o)\nt", vec![1]),
        ("o[1:] = 5\nt = sum(o, axis=0)\nt + 1", vec![11]),
    ] {
        let mut o = Array1::<i64>::zeros(3);
        let vars = Vars::new().with_out("o", &mut o);
        let got = numjit::run(src, &vars).unwrap().unwrap();
        let got: Vec<i64> = (0..got.shape().iter().product())
            .map(|k| got.get_flat(k).unwrap().as_i64())
            .collect();
        assert_eq!(got, want, "{src}");
    }
}

// `o1 = o0 + 1`, `t = o1[None] + 1`, `o1 = o0`, `t` gave 1 instead of 2 (JIT and interpreter
// alike: the lowering is shared): the intermediate's subscript of the output read its memory
// whenever the intermediate was used, after the output had been written again. The read is now
// recorded at binding, so the rewrite makes the intermediate materialize at its statement.
// Found by tests/differential.rs (as an internal "did not converge" error nearby).
#[test]
fn intermediates_subscripting_an_output_keep_its_value_at_binding() {
    for src in [
        "o1 = o0 + 1\nt = o1[None] + 1\no1 = o0\nt",
        "o1 = o0 + 1\nt = o1[::-1] + 1\no1 = o0\nt",
        "o1 = o0 + 1\nt = o1 + o1[::-1]\no1 = o0\nt",
        "o1[...] = o0 + 1\nt = o1[::-1] + 1\no1 = o0\nt",
        "o1 = o0 + 1\nt = o1[::-1] + 1\nfor i in range(2):\n    o1 = o0\nt",
    ] {
        let mut o0 = Array1::<i64>::zeros(5);
        let mut o1 = Array1::<i64>::zeros(5);
        let vars = Vars::new().with_out("o0", &mut o0).with_out("o1", &mut o1);
        let kernel = Engine::default().compile(src, &vars.signature()).unwrap();
        for reference in [false, true] {
            let got = run_on(&kernel, &vars, reference);
            let got = got.unwrap().unwrap().to_f64();
            assert!(
                got.iter().all(|&v| v == 2.0),
                "{src} (reference {reference}): {got}"
            );
        }
    }
}

// A group whose targets have several shapes runs one pass per shape; a pass wrote an output
// straight into its memory when the group read it only element for element, so the next pass
// read the new, cast value: `o = o * 0.5` then `o + a[:, None]` (int32 `o` of 3s) gave 0.75
// compiled and 1.75 interpreted. Found by tests/differential.rs.
#[test]
fn later_passes_of_a_group_read_outputs_before_the_group_writes_them() {
    let a = Array2::<f64>::from_elem((2, 3), 0.25);
    for (src, want) in [
        ("o = o * 0.5\no + a[:, None]", 1.75),
        ("o = o / 2\no + a[None]", 1.75),
        ("o = o / 2\nt = o + a[:, None]\nt", 1.75),
    ] {
        for reference in [false, true] {
            let mut o = Array2::<i32>::from_elem((2, 3), 3);
            let vars = Vars::new().with("a", &a).with_out("o", &mut o);
            let kernel = Engine::default().compile(src, &vars.signature()).unwrap();
            let got = run_on(&kernel, &vars, reference);
            let got = got.unwrap().unwrap().to_f64();
            assert!(
                got.iter().all(|&v| v == want),
                "{src} (reference {reference}): {got}"
            );
            drop(vars);
            assert!(o.iter().all(|&v| v == 1), "{src}: o = {o}");
        }
    }
}

// `o *= a; t = o + 1; o[...] = 3; t` was an internal error, "materializing intermediates did
// not converge", on both paths: `t` reads `o`'s new value, an output's, which the slice write
// makes stale and which cannot be stored in a temporary of its own; the builder asked for it
// again and again. Now `t` (which can) is stored at its statement and read back from there.
// Found by tests/differential.rs (about 1 case in 4 100).
#[test]
fn an_intermediate_of_an_outputs_stale_new_value_is_stored() {
    for (src, want) in [
        ("o *= a\nt = o + 1\no[...] = 3\nt", [3.0, 5.0, 7.0]),
        (
            "o = o * a\nt = o + 1\nu = t * 1\no[...] = 3\nu",
            [3.0, 5.0, 7.0],
        ),
        ("o *= a\nt = o + 1\no[1:] = 3\nt + o", [5.0, 8.0, 10.0]),
        (
            "for i in range(2):\n    o *= a\n    t = o + 1\n    o[...] = 1\n    o += t\no",
            [10.0, 14.0, 18.0],
        ),
    ] {
        for reference in [false, true] {
            let a = Array1::from(vec![2.0, 2.0, 2.0]);
            let mut o = Array1::from(vec![1.0, 2.0, 3.0]);
            let vars = Vars::new().with("a", &a).with_out("o", &mut o);
            let kernel = Engine::default().compile(src, &vars.signature()).unwrap();
            let got = run_on(&kernel, &vars, reference);
            let got = got.unwrap().unwrap().to_f64();
            assert_eq!(
                got.as_slice().unwrap(),
                want,
                "{src} (reference {reference})"
            );
        }
    }
}

/// The kernel's program run by the interpreter (`reference`) or by the JIT.
fn run_on(
    kernel: &numjit::Kernel,
    vars: &Vars,
    reference: bool,
) -> numjit::Result<Option<numjit::Array>> {
    if reference {
        kernel.run_reference(vars)
    } else {
        kernel.run(vars)
    }
}

// A sum over a strided view whose rows do not collapse into one (`a[:, :-1]`) runs as rows of
// 3 in the runtime's pairwise tree, but the interpreter folded the flat lane as one row: with
// ±1e300 among the terms the two orders cancel different small values (JIT 9.30078125,
// interpreter -6.80859375). The interpreter now takes the runtime's walk (`exec::reduction_walk`)
// over the operands' strides, so such sums compare bit for bit. Found by tests/differential.rs
// (seed 3002, case 231446).
#[test]
fn a_sum_over_rows_that_do_not_collapse_folds_in_the_runtimes_order() {
    let a = Array2::from_shape_vec(
        (6, 4),
        vec![
            2.62109375,
            1e-7,
            -1e300,
            -3.0,
            1.04296875,
            1e300,
            3.484375,
            4.0,
            0.0,
            -1.0,
            -2.92578125,
            -4.0,
            -5.98828125,
            -4.2890625,
            -4.0,
            -1.23046875,
            -0.53515625,
            -5.296875,
            4.0,
            0.0,
            0.0,
            3.0,
            3.80859375,
            -2.0,
        ],
    )
    .unwrap();
    let at = a.t().to_owned();
    for (src, vars) in [
        ("sum(-a[:, :-1])", Vars::new().with("a", &a)),
        ("sum(-a[:, :-1], axis=None)", Vars::new().with("a", &a)),
        // The transpose of a C array: rows of 6 with a stride of 4 elements.
        ("sum(a[:-1, :] * 2)", Vars::new().with("a", at.t())),
        ("mean(a[::2, 1:] + a[1::2, 1:])", Vars::new().with("a", &a)),
    ] {
        let kernel = Engine::default().compile(src, &vars.signature()).unwrap();
        let (got, want) = (
            kernel.eval(&vars).unwrap(),
            kernel.eval_reference(&vars).unwrap(),
        );
        let bits = |r: &numjit::Array| r.to_f64().mapv(f64::to_bits);
        assert_eq!(bits(&got), bits(&want), "{src}: {got} vs {want}");
    }
}
