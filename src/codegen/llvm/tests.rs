//! The LLVM tier against the Cranelift tier (bit for bit) and the interpreter.

use ndarray::{s, Array1, Array2, ArrayD};

use crate::codegen::{with_tier, Tier};
use crate::{Array, Engine, Vars};

/// Every element's bits, every NaN as one: IEEE 754 leaves which NaN an operation returns
/// unspecified, x86 returns the first operand's, and LLVM may commute `a + b` (the interpreter,
/// Cranelift and LLVM agree on every other bit).
fn bits(a: &Array) -> Vec<u64> {
    fn each<T: Copy>(a: &ArrayD<T>, f: impl Fn(T) -> u64) -> Vec<u64> {
        a.iter().map(|&x| f(x)).collect()
    }
    match a {
        Array::Bool(a) => each(a, u64::from),
        Array::Int32(a) => each(a, |x| x as u32 as u64),
        Array::Int64(a) => each(a, |x| x as u64),
        Array::Float32(a) => each(a, |x| {
            if x.is_nan() {
                u64::MAX
            } else {
                x.to_bits() as u64
            }
        }),
        Array::Float64(a) => each(a, |x| if x.is_nan() { u64::MAX } else { x.to_bits() }),
        other => panic!("no complex results here: {other:?}"),
    }
}

fn eval_on(tier: Tier, src: &str, vars: &Vars) -> Array {
    with_tier(Some(tier), || {
        let k = Engine::default()
            .compile(src, &vars.signature())
            .unwrap_or_else(|e| panic!("{src}: {e}"));
        k.eval(vars).unwrap_or_else(|e| panic!("{src}: {e}"))
    })
}

fn eval_into_on(tier: Tier, src: &str, vars: &Vars, out: &mut impl crate::IntoOut) {
    with_tier(Some(tier), || {
        Engine::default()
            .compile(src, &vars.signature())
            .and_then(|k| k.eval_into(vars, out))
            .unwrap_or_else(|e| panic!("{src}: {e}"))
    })
}

/// The LLVM tier's result is the Cranelift tier's, bit for bit; with `exact`, also the
/// interpreter's (everything but the vector-math kernels, which the interpreter's scalar
/// functions match within an ulp).
fn check(src: &str, vars: &Vars, exact: bool) {
    let llvm = eval_on(Tier::Llvm, src, vars);
    let cranelift = eval_on(Tier::Cranelift, src, vars);
    assert_eq!(llvm.shape(), cranelift.shape(), "{src}");
    assert_eq!(
        bits(&llvm),
        bits(&cranelift),
        "{src}: llvm {llvm} cranelift {cranelift}"
    );
    if exact {
        let reference = with_tier(Some(Tier::Cranelift), || {
            Engine::default()
                .compile(src, &vars.signature())
                .and_then(|k| k.eval_reference(vars))
                .unwrap_or_else(|e| panic!("{src}: {e}"))
        });
        assert_eq!(
            bits(&llvm),
            bits(&reference),
            "{src}: llvm {llvm} interpreter {reference}"
        );
    }
}

/// Floats with the hard cases: signed zeros, NaN, infinities, huge and tiny values, halves.
fn floats(n: usize, seed: u64) -> Array1<f64> {
    let special = [
        0.0,
        -0.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        2.5,
        -3.5,
        1e300,
        -1e-310,
        0.5,
    ];
    let mut x = seed;
    Array1::from_shape_fn(n, |i| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        if i % 17 == 3 {
            special[(x >> 60) as usize % special.len()]
        } else {
            ((x >> 11) as f64 / (1u64 << 53) as f64 - 0.3) * 7.0
        }
    })
}

fn ints(n: usize, seed: u64) -> Array1<i64> {
    let special = [0, -1, 1, i64::MIN, i64::MAX, 7, -7];
    let mut x = seed;
    Array1::from_shape_fn(n, |i| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        if i % 11 == 5 {
            special[(x >> 60) as usize % special.len()]
        } else {
            ((x >> 33) % 200) as i64 - 100
        }
    })
}

#[test]
fn maps_match_cranelift_and_the_interpreter_bit_for_bit() {
    // Lengths around the vector widths: every body/tail split is taken.
    for n in [1, 7, 8, 33, 1000] {
        let (a, b) = (floats(n, 1), floats(n, 2));
        let (i, j) = (ints(n, 3), ints(n, 4));
        let f = a.mapv(|x| x as f32);
        let m = b.mapv(|x| x > 0.5);
        let i32_ = j.mapv(|x| x as i32);
        let vars = Vars::new()
            .with("a", &a)
            .with("b", &b)
            .with("i", &i)
            .with("j", &j)
            .with("f", &f)
            .with("m", &m)
            .with("k", &i32_)
            .with("z", 2.5);
        for src in [
            "((.25*a + .75)*a - 1.5)*a - 2",
            "a / b - a * z",
            "where(a > b, a, 0.1*b)",
            "where(m, a, -b)",
            "maximum(a, b) + minimum(b, a)",
            "sqrt(abs(a)) + floor(b) - ceil(a) + round(b) + trunc(a)",
            "copysign(a, b) + radians(a) - degrees(b)",
            "isnan(a) | isinf(b) ^ isfinite(a) & signbit(b)",
            "(a < b) == (a >= b)",
            "a != b",
            "i // j + i % j - fmod(i, j)",
            "i // 3 + i % -4",
            "i * j - i + j",
            "abs(i) + sign(j) + maximum(i, j) - minimum(i, j)",
            "~i & j | i ^ 7",
            "i << 3",
            "i ** 2 + j ** 3",
            "i + a",
            "k * 2 + i",
            "f * 2.5 + f",
            "f + a",
            "a * 1",
            "m & (a > 0)",
            "~m",
            "m + m",
            "where(i > 0, i, j)",
            "i / j",
        ] {
            check(src, &vars, true);
        }
        // Staged through the vector-math kernels, which the interpreter's scalar functions
        // match within an ulp.
        for src in [
            "a ** 2.5 + b ** 3",
            "fmod(a, b) + a // b + a % b",
            "hypot(a, b) + arctan2(a, b)",
        ] {
            check(src, &vars, false);
        }
        for (src, exact) in [("i + 0.5", true), ("f > 0", true)] {
            check(src, &vars, exact);
        }
    }
}

#[test]
fn casts_saturate_as_cranelift_does() {
    let a = Array1::from(vec![
        1e300,
        -1e300,
        f64::NAN,
        2.7,
        -2.7,
        0.0,
        9.3e18,
        -9.3e18,
        4e9,
        -4e9,
    ]);
    let vars = Vars::new().with("a", &a);
    // Float → int conversions go through `int64(...)`-like promotions: `//` on a float and an
    // int computes in float; a comparison gives bools; `where` of ints and floats promotes.
    for src in ["a > 0", "where(a > 0, 1, 2) + a", "sign(a)", "a * True"] {
        check(src, &vars, true);
    }
}

#[test]
fn staged_transcendentals_match_cranelift_bit_for_bit() {
    for n in [5, 64, 1023, 3001] {
        let (a, b) = (floats(n, 5), floats(n, 6).mapv(f64::abs));
        let f = a.mapv(|x| x as f32);
        let vars = Vars::new().with("a", &a).with("b", &b).with("f", &f);
        for src in [
            "sin(2*pi*a)**2 + cos(2*pi*a)**2",
            "exp(a) * log(b) + tanh(a)",
            "sin(exp(a / 100))",
            "arctan2(a, b) + hypot(a, b)",
            "sin(f) + cos(f) * f",
            "sqrt(b) + sin(a)",
            "exp(a)",
        ] {
            check(src, &vars, false);
        }
    }
}

/// A staged call reads a contiguous operand's block in place and copies every other one
/// (strided, transposed, broadcast along the row) to scratch first.
#[test]
fn staged_calls_read_contiguous_operands_in_place() {
    for (r, c) in [(1, 5), (3, 64), (7, 1023), (2, 3001)] {
        let n = r * c;
        let wide = floats(2 * n, 31);
        let m = Array2::from_shape_vec((r, c), floats(n, 32).to_vec())
            .unwrap_or_else(|e| panic!("{e}"));
        let t = Array2::from_shape_vec((c, r), floats(n, 33).to_vec())
            .unwrap_or_else(|e| panic!("{e}"));
        let (col, row) = (floats(r, 34), floats(c, 35));
        let b = floats(n, 36).into_shape_with_order((r, c)).unwrap();
        let vars = Vars::new()
            .with("s", wide.slice(s![..;2]))
            .with("flat", wide.slice(s![..n]))
            .with("m", &m)
            .with("t", t.t())
            .with("b", &b)
            .with("col", &col)
            .with("row", &row);
        for src in [
            "exp(s) * sin(flat)",
            "sin(m) + cos(col[:, None]) + exp(row[None, :])",
            "sin(t) * 2 + exp(m)",
            "arctan2(m, col[:, None]) + hypot(t, b)",
            "exp(b)",
        ] {
            check(src, &vars, false);
        }
    }
}

#[test]
fn reductions_match_cranelift_and_the_interpreter_bit_for_bit() {
    // Row counts below, at and past the column kernels' blocks of rows (`COLUMN_ROWS`); rows
    // of whole trips of four groups of 8 and more (`STREAM_GROUPS`), with groups and elements
    // left over (75 = 2·32 + 8 + 3).
    for (r, c) in [
        (1, 1),
        (3, 7),
        (4, 3),
        (5, 8),
        (7, 16),
        (9, 33),
        (64, 129),
        (3, 75),
        (2, 1003),
    ] {
        let a = Array2::from_shape_vec((r, c), floats(r * c, 7).to_vec())
            .unwrap_or_else(|e| panic!("{e}"))
            .mapv(|x| {
                if x.is_finite() && x.abs() < 1e10 {
                    x
                } else {
                    1.25
                }
            });
        let i = Array2::from_shape_vec((r, c), ints(r * c, 8).to_vec())
            .unwrap_or_else(|e| panic!("{e}"))
            .mapv(|x| x % 1000);
        let f = a.mapv(|x| x as f32);
        let vars = Vars::new().with("a", &a).with("i", &i).with("f", &f);
        for src in [
            "sum(a)",
            "sum(a * a)",
            "sum(a, axis=0)",
            "sum(a, axis=1)",
            "mean(a, axis=0) + 1",
            "a - mean(a, axis=0)",
            "prod(a / 10 + 1)",
            "min(a)",
            "max(a, axis=1)",
            "min(a, axis=0)",
            // An operand constant along each row (no blocks of rows), one down the columns.
            "sum(a * a[:, :1], axis=0)",
            "max(a - a[:1], axis=0)",
            "sum(i)",
            "sum(i, axis=0)",
            "max(i, axis=1)",
            "any(a > 1)",
            "all(a > -3, axis=1)",
            "sum(f)",
            "sum(f * f, axis=1)",
            "sum(sin(a))",
            "sum(i > 3)",
        ] {
            check(src, &vars, !src.contains("sin"));
        }
    }
}

#[test]
fn strided_and_broadcast_operands_match() {
    let a = floats(3000, 9);
    let b = floats(2000, 10);
    let m = Array2::from_shape_vec((40, 50), floats(2000, 11).to_vec())
        .unwrap_or_else(|e| panic!("{e}"));
    let vars = Vars::new()
        .with("a", a.slice(s![..;3]))
        .with("b", b.slice(s![..;-2]))
        .with("m", m.t())
        .with("row", m.slice(s![0, ..]))
        .with("col", m.slice(s![.., 0]));
    for src in [
        "a + b",
        "a * 2 - b",
        "m * 2 + 1",
        "row[:, None] * col[None, :]",
        "m + row[:, None]",
        "m + col",
        "sum(m, axis=0)",
        "sum(m, axis=1)",
        "sum(a * b)",
        "sin(a) + b",
    ] {
        check(src, &vars, !src.contains("sin"));
    }
}

#[test]
fn llvm_kernels_use_the_full_vector_width() {
    use crate::core::dtype::DType;
    use crate::ir::InputDecl;
    let inputs = vec![InputDecl {
        name: "a".into(),
        dtype: DType::Float64,
        rank: 1,
        view: None,
        literal: None,
    }];
    let ir = |src: &str| {
        let g = crate::opt::optimize(
            &crate::lower::lower(
                &crate::parse::parse_expr(src).unwrap_or_else(|e| panic!("{e}")),
                &inputs,
            )
            .unwrap_or_else(|e| panic!("{e}")),
        );
        super::ir_text(&g, &crate::plan::plan(&g))
            .unwrap_or_else(|e| panic!("{e}"))
            .0
    };
    // 8 float64 a trip with AVX-512 (one vector) and AVX2 (two), 4 with SSE alone (two).
    let lanes = match super::target::host().map(|h| h.vector_bytes) {
        Ok(64 | 32) => 8,
        _ => 4,
    };
    let map = ir("((.25*a + .75)*a - 1.5)*a - 2");
    assert!(map.contains(&format!("<{lanes} x double>")), "{map}");
    // No fast-math flags and no fused multiply-add anywhere.
    for flag in [" fast ", " contract ", " reassoc ", "llvm.fma", "fmuladd"] {
        assert!(!map.contains(flag), "{flag}: {map}");
    }
    let sum = ir("sum(a * a)");
    assert!(sum.contains("<8 x double>"), "{sum}");
}

/// The graph of a lone expression (with its `def` kernels) compiled for `vars`.
fn graph_of(src: &str, vars: &Vars) -> crate::ir::Graph {
    let ast = crate::parse::parse_program(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    let program = crate::program::Program::compile(&ast, &vars.signature())
        .unwrap_or_else(|e| panic!("{src}: {e}"));
    let group = program
        .lone_expression()
        .unwrap_or_else(|| panic!("{src}: not a lone expression"));
    group.unit.graph.clone()
}

/// Kernels with loops, early returns, `break` and `continue`, nested calls and Python's `//`
/// and `%` on integers (the unsigned shortcut on counters known ≥ 0 too): every stage runs on
/// LLVM code, per lane in vector bodies, and matches Cranelift and the interpreter bit for bit.
#[test]
fn def_kernels_match_cranelift_and_the_interpreter_bit_for_bit() {
    let sources = [
        // P8's term: a digit loop, `%` and `//` by 10 on a counter known > 0.
        "def term(k):\n    m = k\n    while m > 0:\n        if m % 10 == 9:\n            return 0.0\n        m //= 10\n    return 1.0 / k\nterm(i)",
        "def term(k):\n    m = k\n    while m > 0:\n        if m % 10 == 9:\n            return 0.0\n        m //= 10\n    return 1.0 / k\nsum(term(arange(1, n + 1)))",
        // P12's escape count.
        "def escape(cr, ci):\n    zr = 0.0\n    zi = 0.0\n    for k in range(20):\n        t = zr*zr - zi*zi + cr\n        zi = 2*zr*zi + ci\n        zr = t\n        if zr*zr + zi*zi >= 4:\n            return k\n    return 255\nescape(a[None, :], b[:, None])",
        "def f(x, y):\n    s = 0.0\n    n = 0\n    while s < x * 10:\n        n += 1\n        if n > 50:\n            break\n        if y > 0.3:\n            continue\n        s += y + 0.5\n    return s + n\nf(a, b)",
        "def f(x, y):\n    if x > 0:\n        if y > 0:\n            return x - y\n        t = x * 2\n        for i in range(5):\n            t = t - y\n            if t < 0:\n                break\n        return t\n    return -1.0\nf(a, b)",
        "def f(x, y):\n    s = 0.0\n    for i in range(4):\n        for j in range(i, 6, 2):\n            if j == 3:\n                continue\n            s = s + x * j - y\n    return s\nf(a, b)",
        "def f(x, y):\n    t = x\n    for i in range(10, 0, -3):\n        t = where(t > y, t - y, t + 1.0)\n    return t\nf(a, b)",
        // Integer `//` and `%` with signs, zero divisors and MIN // -1, on int64 and int32.
        "def f(p, q):\n    r = p // q + p % q\n    for s in range(q % 50, p % 50, 3):\n        r = r + s % 7 - s // -4\n        if r > 1000:\n            return r\n    return r\nf(i, j)",
        "def f(p, q):\n    return p // q * 3 + p % q\nf(k, k + 1)",
        // Nested calls, transcendental helpers, a bool argument, int and float results mixed.
        "def g(x):\n    return sin(x) * x\ndef f(x, y, c):\n    if c:\n        return g(x) + g(y)\n    return exp(y / 100) ** 2\nf(a, b, m) + 1",
        "def f(x):\n    n = 0\n    while x > 1:\n        x = x / 2\n        n += 1\n    return n\nf(minimum(abs(a), 1e6) * 1000) + sum(f(minimum(abs(b), 1e6)))",
        // A kernel on a 0-d argument (computed once) beside one on arrays.
        "def f(x, y):\n    if x > y:\n        return x\n    return y\nf(a, z) + f(z, 2.0)",
        // `//` and `%` of counters known > 0 over the whole int64 range, by constants with
        // and without libdivide's add step, a power of two, 1 and a 33-bit one (vector lanes
        // divide by multiply-high, `divide.rs`).
        "def f(p):\n    m = p\n    s = 0\n    while m > 0:\n        s = s + m % 7 + m % 10 * 3 + m // 641 % 5 + m % 4294967297 % 11 + m // 1 % 3\n        m //= 3\n        if m % 8 == 5:\n            m //= 16\n    return s\nf(big) + sum(f(big // 2))",
    ];
    for n in [1, 7, 8, 33, 300] {
        let (a, b) = (floats(n, 21), floats(n, 22));
        let (i, j) = (ints(n, 23), ints(n, 24));
        let k = j.mapv(|x| x as i32);
        let m = b.mapv(|x| x > 0.0);
        // The whole int64 range, both ends included.
        let big = Array1::from_shape_fn(n, |e| match e % 5 {
            0 => i64::MAX - e as i64,
            1 => i[e].wrapping_mul(0x9e37_79b9_7f4a_7c15_u64 as i64),
            2 => i[e].wrapping_mul(0x2545_f491_4f6c_dd1d) >> (e % 60),
            3 => e as i64,
            _ => i64::MIN + e as i64,
        });
        let vars = Vars::new()
            .with("big", &big)
            .with("a", &a)
            .with("b", &b)
            .with("i", &i)
            .with("j", &j)
            .with("k", &k)
            .with("m", &m)
            .with("n", n as i64)
            .with("z", 0.25);
        for src in sources {
            let g = graph_of(src, &vars);
            let stages = crate::plan::plan(&g);
            assert!(
                stages.iter().all(|s| super::supports(&g, s)),
                "{src}: a stage stays on Cranelift code"
            );
            check(src, &vars, true);
        }
    }
}

/// Strided and broadcast operands take the gathering vector body, and each lane still runs
/// the kernel on its own element.
#[test]
fn def_kernels_on_strided_operands_match() {
    let a = floats(3000, 25);
    let m = Array2::from_shape_vec((40, 50), floats(2000, 26).to_vec())
        .unwrap_or_else(|e| panic!("{e}"));
    let vars = Vars::new()
        .with("a", a.slice(s![..;3]))
        .with("m", m.t())
        .with("col", m.slice(s![.., 0]));
    for src in [
        "def f(x):\n    n = 0\n    while (x > 0.01) & (n < 40):\n        x = x * 0.5\n        n += 1\n    return n\nf(abs(a))",
        "def f(x, y):\n    for i in range(3):\n        if x > y:\n            return x - i\n        x = x + 1\n    return y\nf(m, col)",
        "def f(x, y):\n    for i in range(3):\n        if x > y:\n            return x - i\n        x = x + 1\n    return y\nsum(f(m, col), axis=0)",
        "def f(x, y):\n    for i in range(3):\n        if x > y:\n            return x - i\n        x = x + 1\n    return y\nsum(f(m, col), axis=1)",
    ] {
        check(src, &vars, true);
    }
}

/// The kernel is in the LLVM code, its loops polling the cancel flag, with no fast-math and no
/// contraction; a stage applying a kernel to make complex values stays on Cranelift code.
#[test]
fn def_kernels_compile_to_llvm_loops_without_fast_math() {
    let a = floats(10, 27);
    let vars = Vars::new().with("a", &a);
    let src = "def escape(cr):\n    zr = 0.0\n    zi = 0.0\n    for k in range(20):\n        t = zr*zr - zi*zi + cr\n        zi = 2*zr*zi + 0.5\n        zr = t\n        if zr*zr + zi*zi >= 4:\n            return k\n    return 255\nescape(a)";
    let g = graph_of(src, &vars);
    let (text, _) = super::ir_text(&g, &crate::plan::plan(&g)).unwrap_or_else(|e| panic!("{e}"));
    assert!(text.contains("load atomic i32"), "the cancel poll: {text}");
    for flag in [" fast ", " contract ", " reassoc ", "llvm.fma", "fmuladd"] {
        assert!(!text.contains(flag), "{flag}: {text}");
    }
    let complex = "def f(x):\n    return x * 2\nabs(complex(f(a), 1.0))";
    let g = graph_of(complex, &vars);
    assert!(crate::plan::plan(&g)
        .iter()
        .any(|s| !super::supports(&g, s)));
}

/// `f` with every map that has a streaming kernel forced onto it (on this thread's
/// evaluations), whatever the outputs' size.
fn streaming<T>(f: impl FnOnce() -> T) -> T {
    use crate::exec::drive::ALWAYS_STREAM;
    ALWAYS_STREAM.with(|a| a.set(true));
    let r = f();
    ALWAYS_STREAM.with(|a| a.set(false));
    r
}

#[test]
fn streaming_stores_match_cranelift_bit_for_bit() {
    // Odd lengths, a length above the parallel cutoff, and outputs starting 8 bytes (a float64)
    // or 4 bytes (a float32) after a 64-byte boundary: the head before the boundary, the
    // streaming body and the tail are all taken.
    for n in [1, 7, 17, 33, 1001, 300_001] {
        let (a, b) = (floats(n + 1, 21), floats(n + 1, 22));
        let vars = Vars::new().with("a", &a).with("b", &b).with("s", 3.0);
        for src in [
            "a + s * b",
            "((.25*a + .75)*a - 1.5)*a - 2",
            "a > b",
            "sin(a) + b",
        ] {
            streaming(|| check(src, &vars, !src.contains("sin")));
        }
        let (a, b) = (a.slice(s![1..]), b.slice(s![1..]));
        let (fa, fb) = (a.mapv(|x| x as f32), b.mapv(|x| x as f32));
        let vars = Vars::new()
            .with("a", a)
            .with("b", b)
            .with("fa", &fa)
            .with("fb", &fb)
            .with("s", 3.0);
        // Into outputs one element past a boundary: the head runs scalar up to it.
        for src in ["a + s * b", "sin(a) * b"] {
            let want = bits(&eval_on(Tier::Cranelift, src, &vars));
            let mut out = Array1::<f64>::zeros(n + 1);
            let mut view = out.slice_mut(s![1..]);
            streaming(|| eval_into_on(Tier::Llvm, src, &vars, &mut view));
            let got = Array::Float64(out.slice(s![1..]).to_owned().into_dyn());
            assert_eq!(bits(&got), want, "{src}, n = {n}");
        }
        for src in ["fa + fb * 3", "fa > fb"] {
            let want = eval_on(Tier::Cranelift, src, &vars);
            let got = match want {
                Array::Float32(_) => {
                    let mut out = Array1::<f32>::zeros(n + 1);
                    let mut view = out.slice_mut(s![1..]);
                    streaming(|| eval_into_on(Tier::Llvm, src, &vars, &mut view));
                    Array::Float32(out.slice(s![1..]).to_owned().into_dyn())
                }
                _ => {
                    let mut out = Array1::<bool>::from_elem(n + 1, false);
                    let mut view = out.slice_mut(s![1..]);
                    streaming(|| eval_into_on(Tier::Llvm, src, &vars, &mut view));
                    Array::Bool(out.slice(s![1..]).to_owned().into_dyn())
                }
            };
            assert_eq!(bits(&got), bits(&want), "{src}, n = {n}");
        }
        // Two outputs of one map, both one element past a boundary (both stream) or the
        // second two elements past (the rows then run on plain stores).
        let src = "x = a * s + b\ny = a - b";
        let run = |tier: Tier, shift: usize| {
            let mut x = Array1::<f64>::zeros(n + 1);
            let mut y = Array1::<f64>::zeros(n + 2);
            with_tier(Some(tier), || {
                let mut xv = x.slice_mut(s![1..]);
                let mut yv = y.slice_mut(s![shift..shift + n]);
                let vars = Vars::new()
                    .with("a", a)
                    .with("b", b)
                    .with("s", 3.0)
                    .with_out("x", &mut xv)
                    .with_out("y", &mut yv);
                Engine::default()
                    .compile(src, &vars.signature())
                    .and_then(|k| k.run(&vars))
                    .unwrap_or_else(|e| panic!("{src}: {e}"));
            });
            let x = Array::Float64(x.slice(s![1..]).to_owned().into_dyn());
            let y = Array::Float64(y.slice(s![shift..shift + n]).to_owned().into_dyn());
            (bits(&x), bits(&y))
        };
        for shift in [1, 2] {
            let llvm = streaming(|| run(Tier::Llvm, shift));
            assert_eq!(
                llvm,
                run(Tier::Cranelift, shift),
                "{src}, n = {n}, shift {shift}"
            );
        }
    }
}

#[test]
fn streaming_kernels_store_non_temporally() {
    let a = floats(8, 1);
    let g = graph_of("a * 3 + 1", &Vars::new().with("a", &a));
    let (ir, asm) = super::ir_text(&g, &crate::plan::plan(&g)).unwrap_or_else(|e| panic!("{e}"));
    // The body's streaming loop, and the fence before it returns.
    assert!(ir.contains("!nontemporal"), "{ir}");
    assert!(ir.contains("@llvm.x86.sse.sfence"), "{ir}");
    assert!(ir.contains("define void @stage0_stream("), "{ir}");
    // x86 streams aligned stores only: the body's alignment made them so.
    assert!(asm.contains("vmovntpd") || asm.contains("movntpd"), "{asm}");
    assert!(asm.contains("sfence"), "{asm}");
}

/// A map whose moving leaves are all contiguous in a call runs a vector loop of its own (every
/// stride known from the branch, so LLVM steps the operands by constants, 2–5 % faster on P5's
/// stencil); one with a leaf invariant along the row (`c[:, None]`) keeps the version that
/// reads that leaf from its splat region. Both give Cranelift's bits, on rows with a remainder
/// (299 elements: whole vectors, a quarter-width group and a scalar tail).
#[test]
fn contiguous_and_row_invariant_leaves_run_their_own_vector_loops() {
    let u = Array2::from_shape_vec((61, 301), floats(61 * 301, 12).to_vec())
        .unwrap_or_else(|e| panic!("{e}"));
    let c = floats(59, 13);
    let vars = Vars::new().with("u", &u).with("c", &c);
    let stencil = "u[1:-1, 1:-1] + 0.1*(u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4*u[1:-1, 1:-1])";
    let with_column = "u[1:-1, 1:-1] * c[:, None] + u[2:, 1:-1]";
    for src in [stencil, with_column] {
        check(src, &vars, true);
    }
    // The blocks as emitted (the pipeline renames and merges them).
    let g = graph_of(stencil, &vars);
    let (ir, _) =
        super::ir_text_with(&g, &crate::plan::plan(&g), false).unwrap_or_else(|e| panic!("{e}"));
    for block in ["\ndense", "\ninvariant_leaves", "\ngathered"] {
        assert!(ir.contains(block), "{block}: {ir}");
    }
}

/// A map row of four vectors or more first runs its elements up to output 0's next 64-byte
/// boundary one by one (`aligned_map_row`): outputs starting at every element offset within a
/// line, rows shorter and longer than four vectors, float64, float32 and a float32 row mixed
/// with a float64 column, with Cranelift's bits; elements outside the output stay untouched.
#[test]
fn rows_peeled_to_an_aligned_output_match_cranelift_bit_for_bit() {
    /// `src` by LLVM into columns `offset..offset + width` of a `9 × pitch` array of `fill`:
    /// the result's bits, once the other columns are checked to hold `fill` still.
    fn into_columns<T>(
        src: &str,
        vars: &Vars,
        (fill, pitch): (T, usize),
        (offset, width): (usize, usize),
        wrap: fn(ArrayD<T>) -> Array,
    ) -> Vec<u64>
    where
        T: Clone + PartialEq + std::fmt::Debug,
        for<'a> ndarray::ArrayViewMut2<'a, T>: crate::IntoOut,
    {
        let columns = s![.., offset..offset + width];
        let mut out = Array2::from_elem((9, pitch), fill.clone());
        eval_into_on(Tier::Llvm, src, vars, &mut out.slice_mut(columns));
        let outside = out
            .indexed_iter()
            .filter(|((_, j), _)| *j < offset || *j >= offset + width);
        assert!(
            outside.into_iter().all(|(_, x)| *x == fill),
            "{src}, offset {offset}"
        );
        bits(&wrap(out.slice(columns).to_owned().into_dyn()))
    }
    let cols = 300;
    let u = Array2::from_shape_vec((9, cols), floats(9 * cols, 23).to_vec())
        .unwrap_or_else(|e| panic!("{e}"));
    for width in [5, 31, 32, 33, 299] {
        let vars = Vars::new()
            .with("u", u.slice(s![.., ..width]))
            .with("v", u.slice(s![.., 1..width + 1]));
        for src in ["u * 0.5 + v", "(u + v) * 3 - u"] {
            let want = bits(&eval_on(Tier::Cranelift, src, &vars));
            // A row pitch of 307 elements moves each row's start through the alignments.
            for offset in 0..8 {
                let got = into_columns(src, &vars, (7.0, 307), (offset, width), Array::Float64);
                assert_eq!(got, want, "{src}, width {width}, offset {offset}");
            }
        }
        // A one-byte output is up to 63 elements from its boundary: more than a short row.
        let want = bits(&eval_on(Tier::Cranelift, "u > v", &vars));
        for offset in [0, 1, 31, 63] {
            let got = into_columns(
                "u > v",
                &vars,
                (true, 64 + 307),
                (offset, width),
                Array::Bool,
            );
            assert_eq!(got, want, "u > v, width {width}, offset {offset}");
        }
        let (fu, fv) = (
            u.slice(s![.., ..width]).mapv(|x| x as f32),
            u.slice(s![.., 1..width + 1]).mapv(|x| x as f32),
        );
        let vars = Vars::new().with("fu", &fu).with("fv", &fv);
        check("fu * 0.5 + fv", &vars, true);
        check("fu * 0.5 + u[:, :1]", &vars.with("u", &u), true);
    }
}

/// The perf map names each linked function with its size from the object's symbol table, and
/// places the object's other functions relative to a named one.
#[test]
fn perf_map_lines_name_functions_with_their_sizes() {
    let ctx = inkwell::context::Context::create();
    let module = ctx.create_module("numjit");
    let i64t = ctx.i64_type();
    let b = ctx.create_builder();
    for (name, value) in [("stage0", 42), ("stage0_body", 7)] {
        let f = module.add_function(name, i64t.fn_type(&[], false), None);
        b.position_at_end(ctx.append_basic_block(f, "entry"));
        b.build_return(Some(&i64t.const_int(value, false))).unwrap();
    }
    let object = super::target::object(&module).unwrap();
    let lines = super::perf::map_lines(&object, &["stage0".to_string()], &[0x7f00_1000], 3);
    let rows: Vec<Vec<&str>> = lines.lines().map(|l| l.split(' ').collect()).collect();
    assert_eq!(rows.len(), 2, "{lines}");
    assert_eq!(
        (rows[0][0], rows[0][2]),
        ("7f001000", "llvm3:stage0"),
        "{lines}"
    );
    // `mov $42, %eax; ret`: more than the one byte a name without a size gets.
    let size = u64::from_str_radix(rows[0][1], 16).unwrap();
    assert!((2..64).contains(&size), "{lines}");
    // The unnamed function lies after the named one, past its end.
    let body = u64::from_str_radix(rows[1][0], 16).unwrap();
    assert_eq!(rows[1][2], "llvm3:stage0_body", "{lines}");
    assert!(body >= 0x7f00_1000 + size, "{lines}");
    // A name the object lacks gets size 1 and places nothing.
    let lines = super::perf::map_lines(&object, &["absent".to_string()], &[0x10], 0);
    assert_eq!(lines, "10 1 llvm0:absent\n");
}

/// Rows that read one array at nearby offsets (`carried.rs`): stencils of float64, float32,
/// int64 and int32 over rows starting at every alignment (row pitches 293–301), operands one
/// vector apart (8 float64: shared on rows whose first operand starts a line, the plain loop on
/// the others) and more (9: the plain loop), with Cranelift's bits; on an AVX-512 host the
/// stencil's kernel makes its operands by permutes.
#[test]
fn rows_read_through_shared_aligned_loads_match_cranelift_bit_for_bit() {
    for pitch in 293..=301 {
        let u = Array2::from_shape_vec((7, pitch), floats(7 * pitch, pitch as u64).to_vec())
            .unwrap_or_else(|e| panic!("{e}"));
        let f = u.mapv(|x| x as f32);
        let i = u.mapv(|x| (x * 1000.0) as i64);
        let j = i.mapv(|x| x as i32);
        let vars = Vars::new()
            .with("u", &u)
            .with("f", &f)
            .with("i", &i)
            .with("j", &j);
        for src in [
            "u[1:-1, 1:-1] + 0.1*(u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4*u[1:-1, 1:-1])",
            "u[:, 8:] - u[:, :-8]",
            "u[:, 9:] - u[:, :-9] * u[:, 4:-5]",
            "f[1:-1, 2:] * f[1:-1, :-2] + f[2:, 1:-1]",
            "f[:, 16:] - f[:, :-16] + f[:, 3:-13]",
            "i[:, 2:] - 3 * i[:, :-2] + i[:, 1:-1]",
            "j[:, 2:] * j[:, :-2] - j[:, 1:-1]",
        ] {
            check(src, &vars, true);
        }
    }
    let u = Array2::from_shape_vec((5, 301), floats(5 * 301, 3).to_vec())
        .unwrap_or_else(|e| panic!("{e}"));
    let vars = Vars::new().with("u", &u);
    let g = graph_of("u[1:-1, 2:] + u[1:-1, :-2] + u[2:, 1:-1]", &vars);
    let (ir, _) =
        super::ir_text_with(&g, &crate::plan::plan(&g), false).unwrap_or_else(|e| panic!("{e}"));
    let wide = super::target::host().is_ok_and(|h| h.vector_bytes == 64);
    assert_eq!(ir.contains("vpermi2var.pd.512"), wide, "{ir}");
}

/// The shared aligned loads never read a line past the last element a row reads: operands
/// ending right before a page the process may not read, at every alignment and length.
#[test]
fn shared_aligned_loads_stop_at_the_rows_last_line() {
    const PAGE: usize = 4096;
    // Two readable pages, then one that is not.
    let region = unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            3 * PAGE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(p, libc::MAP_FAILED);
        assert_eq!(
            libc::mprotect(p.cast::<u8>().add(2 * PAGE).cast(), PAGE, libc::PROT_NONE),
            0
        );
        p.cast::<f64>()
    };
    let end = 2 * PAGE / 8;
    let values = floats(end, 41);
    for len in [40, 41, 47, 48, 64, 100] {
        for gap in 0..8 {
            // `b` and then `a` end where the readable pages do (`a` `gap` elements before).
            let a_at = end - gap - len - 1;
            let b_at = end - len;
            let (a, b) = unsafe {
                std::ptr::copy_nonoverlapping(values.as_ptr(), region, end);
                (
                    ndarray::ArrayView1::from_shape_ptr(len + 1, region.add(a_at)),
                    ndarray::ArrayView1::from_shape_ptr(len, region.add(b_at)),
                )
            };
            let vars = Vars::new().with("a", a).with("b", b);
            check("a[1:] + a[:-1] * b", &vars, true);
            check("b[1:] - b[:-1] + a[2:]", &vars, true);
        }
    }
    unsafe { libc::munmap(region.cast(), 3 * PAGE) };
}
