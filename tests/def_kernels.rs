//! Kernels (`def` blocks) end to end: every statement form, typing, errors with spans, and the
//! compiled code against the interpreter at several thread counts.

use ndarray::{arr0, Array1, ArrayD};
use numjit::{DType, Engine, ErrorKind, Scalar, Vars};

/// Runs `src` with `x` (float64), `i` (int64) and `b` (bool) bound, compiled and interpreted,
/// and asserts that both agree exactly; returns the result.
fn both(src: &str) -> numjit::Array {
    let x = Array1::from_shape_fn(41, |k| k as f64 * 0.37 - 7.0);
    let i = Array1::from_shape_fn(41, |k| k as i64 * 7919 - 150_000);
    let b = Array1::from_shape_fn(41, |k| k % 3 == 0);
    let vars = Vars::new().with("x", &x).with("i", &i).with("b", &b);
    let engine = Engine::default();
    let k = engine
        .compile(src, &vars.signature())
        .unwrap_or_else(|e| panic!("{src}\n{e}"));
    let want = k.run_reference(&vars).unwrap().expect("a value");
    for threads in [1, 3] {
        numjit::set_num_threads(threads);
        let got = k.run(&vars).unwrap().expect("a value");
        assert_eq!(got.dtype(), want.dtype(), "{src}");
        for e in 0..want.shape().iter().product::<usize>() {
            let (g, w) = (got.get_flat(e).unwrap(), want.get_flat(e).unwrap());
            let same = g == w || (g.as_f64().is_nan() && w.as_f64().is_nan());
            assert!(same, "{src}: element {e}: {g} (jit) vs {w} (interpreter)");
        }
    }
    want
}

fn error(src: &str) -> numjit::Error {
    let x = Array1::<f64>::zeros(3);
    let vars = Vars::new().with("x", &x);
    match Engine::default().compile(src, &vars.signature()) {
        Ok(_) => panic!("{src}: compiled"),
        Err(e) => e,
    }
}

#[test]
fn every_statement_form_agrees_with_the_interpreter() {
    let cases = [
        // assignment, augmented assignment, tuple assignment (a swap)
        "def f(a):\n    t = a * 2\n    t += 1\n    p, q = t, a\n    p, q = q, p\n    return p - q\nf(x)",
        // if / elif / else
        "def f(a):\n    if a < -3:\n        return -1\n    elif a < 0:\n        return 0\n    elif a == 0:\n        return 5\n    else:\n        return 1\nf(x)",
        // while with break and continue
        "def f(a):\n    n = 0\n    s = 0.0\n    while True:\n        n += 1\n        if n % 2 == 0:\n            continue\n        s += a / n\n        if n > 9:\n            break\n    return s\nf(x)",
        // for over range with 1, 2 and 3 arguments, nested, negative step
        "def f(k):\n    s = 0\n    for j in range(5):\n        for m in range(j, 7, 2):\n            s += m * j\n    for j in range(10, 0, -3):\n        s -= j\n    return s + k\nf(i)",
        // a zero step runs nothing; an empty range leaves its variable alone
        "def f(k):\n    s = k\n    for j in range(0, 5, 0):\n        s = 0\n    for j in range(3, 1):\n        s = 0\n    return s\nf(i)",
        // pass, early return inside a loop, the loop variable after the loop
        "def f(a):\n    j = 0\n    for j in range(4):\n        pass\n        if a > 5:\n            return -j\n    return j\nf(x)",
        // Python's // and % on negative ints, by constants and by variables (and by zero)
        "def f(k):\n    return k // 7 + k % 7 * 1000 + k // -3 + k % -3\nf(i)",
        "def f(k, d):\n    return k // d + k % d\nf(i, i % 5 - 2)",
        // facts from conditions (`m > 0`, `k > -1`) take the unsigned division; `k >= -1` must not
        "def f(k):\n    m = k\n    s = 0\n    while m > 0:\n        s += m % 7 + m // 3\n        m //= 4\n    if k >= -1:\n        s += k // 3 + k % 3\n    if k > -1:\n        s += k // 5 + k % 5\n    t = k % 9\n    return s + t // 2 + m // 7\nf(i)",
        "def f(k):\n    m = k\n    if m > 0:\n        m = m - 1000000\n        return m // 10 + m % 10\n    return 0\nf(i)",
        // a digit loop (P8)
        "def f(k):\n    m = abs(k)\n    c = 0\n    while m != 0:\n        c += m % 10\n        m //= 10\n    return c\nf(i)",
        // kernels calling kernels, element functions, where, constants
        "def sq(a):\n    return a * a\ndef f(a):\n    return sqrt(sq(a) + sq(cos(pi * a))) + where(a > 0, 1.0, 2.0)\nf(x)",
        // bool parameters and results, truthiness of numbers
        "def f(c, a):\n    if c:\n        return a > 0\n    if a:\n        return True\n    return False\nf(b, x)",
        // a local widened by a later assignment: int then float
        "def f(a):\n    t = 1\n    if a > 0:\n        t = a\n    return t\nf(x)",
        // weak literals keep the argument's dtype (int32 stays int32)
        "def f(k):\n    return k + 1\nf(i)",
        // broadcasting: a 2-d result from two 1-d arguments
        "def f(a, c):\n    return a * 10 + c\nf(x[:, None], x[None, :5])",
    ];
    for src in cases {
        both(src);
    }
}

#[test]
fn kernels_run_inside_reductions_at_any_thread_count() {
    let src = "def term(k):\n    m = k\n    while m > 0:\n        if m % 10 == 9:\n            return 0.0\n        m //= 10\n    return 1.0 / k\nsum(term(arange(1, n + 1)))";
    let n = arr0(20_000i64);
    let vars = Vars::new().with("n", &n);
    let k = Engine::default().compile(src, &vars.signature()).unwrap();
    let want: f64 = (1..=20_000i64)
        .filter(|k| !k.to_string().contains('9'))
        .map(|k| 1.0 / k as f64)
        .sum();
    let mut results = Vec::new();
    for threads in [1, 2, 5] {
        numjit::set_num_threads(threads);
        let got: ArrayD<f64> = k.eval(&vars).unwrap().try_into().unwrap();
        results.push(got[[]]);
    }
    assert!(
        results.iter().all(|r| r.to_bits() == results[0].to_bits()),
        "{results:?}"
    );
    assert!(
        (results[0] - want).abs() < 1e-12,
        "{} vs {want}",
        results[0]
    );
}

#[test]
fn result_and_local_dtypes_follow_numpy() {
    let dtype = |src: &str| both(src).dtype();
    assert_eq!(dtype("def f(a):\n    return 1\nf(x)"), DType::Int64);
    assert_eq!(
        dtype("def f(a):\n    if a > 0:\n        return 1\n    return 0.5\nf(x)"),
        DType::Float64
    );
    assert_eq!(dtype("def f(k):\n    return k * 2\nf(i)"), DType::Int64);
    assert_eq!(dtype("def f(k):\n    return k / 2\nf(i)"), DType::Float64);
    assert_eq!(dtype("def f(c):\n    return c\nf(b)"), DType::Bool);
    let f32 = Array1::from_elem(4, 1.5f32);
    let vars = Vars::new().with("y", &f32);
    let k = Engine::default()
        .compile(
            "def f(a):\n    t = a * 2.0\n    return t\nf(y)",
            &vars.signature(),
        )
        .unwrap();
    assert_eq!(k.dtype(), Some(DType::Float32), "a Python float stays weak");
    let got = k.eval(&vars).unwrap();
    assert_eq!(got.get_flat(0), Some(Scalar::F32(3.0)));
}

#[test]
fn mistakes_are_errors_with_spans() {
    let cases: &[(&str, ErrorKind, &str, &str)] = &[
        (
            "def f(a):\n    t = 1\nf(x)",
            ErrorKind::Type,
            "def f(a):",
            "without `return`",
        ),
        (
            "def f(a):\n    if a > 0:\n        return 1\nf(x)",
            ErrorKind::Type,
            "def f(a):",
            "without `return`",
        ),
        (
            "def f(a):\n    return f(a)\nf(x)",
            ErrorKind::Type,
            "f",
            "recursive",
        ),
        (
            "def f(a):\n    return g(a)\ndef g(a):\n    return a\nf(x)",
            ErrorKind::Type,
            "g",
            "defined after",
        ),
        (
            "def f(a):\n    return a + x\nf(x)",
            ErrorKind::UnknownName,
            "x",
            "only its parameters",
        ),
        (
            "def f(a):\n    return sum(a)\nf(x)",
            ErrorKind::Type,
            "sum",
            "one element at a time",
        ),
        (
            "def f(a):\n    return a[0]\nf(x)",
            ErrorKind::Type,
            "a[0]",
            "cannot subscript",
        ),
        (
            "def f(a):\n    t = a > 0\n    t = 1.5\n    return t\nf(x)",
            ErrorKind::Type,
            "t = 1.5",
            "mix bool",
        ),
        (
            "def f(a):\n    s = t + 1\n    t = 2\n    return s\nf(x)",
            ErrorKind::UnknownName,
            "t",
            "before it is assigned",
        ),
        (
            "def f(a):\n    break\n    return a\nf(x)",
            ErrorKind::Syntax,
            "break",
            "outside a loop",
        ),
        (
            "def f(a, b):\n    return a\nf(x)",
            ErrorKind::Arity,
            "f(x)",
            "takes 2 arguments",
        ),
        (
            "def sin(a):\n    return a\nsin(x)",
            ErrorKind::Type,
            "sin",
            "function of numjit",
        ),
        (
            "def f(a):\n    return a\ndef f(b):\n    return b\nf(x)",
            ErrorKind::Type,
            "f",
            "defined twice",
        ),
        (
            "def f(a):\n    for j in range(a):\n        pass\n    return 1\nf(x)",
            ErrorKind::Type,
            "a",
            "must be an integer",
        ),
        (
            "def f(a):\n    a, b = 1\n    return a\nf(x)",
            ErrorKind::Syntax,
            "a, b = 1",
            "2 names but 1 value",
        ),
        (
            "def f(a):\n    return\nf(x)",
            ErrorKind::Syntax,
            "return",
            "returns a value",
        ),
        (
            "def f(a):\n    x[0] = 1\n    return a\nf(x)",
            ErrorKind::Syntax,
            "x[0]",
            "names only",
        ),
        (
            "def f(a):\n    a + 1\n    return a\nf(x)",
            ErrorKind::Syntax,
            "a + 1",
            "a kernel statement is",
        ),
        (
            "def f(a):\n    else:\n        return a\nf(x)",
            ErrorKind::Syntax,
            "else",
            "without an `if`",
        ),
        (
            "def f(a, a):\n    return a\nf(x, x)",
            ErrorKind::Syntax,
            "a",
            "duplicate parameter",
        ),
        (
            "def f(a):\nreturn a",
            ErrorKind::Syntax,
            "",
            "indented block",
        ),
        (
            "y = 1\ndef f(a):\n    return a\nf(x)",
            ErrorKind::Syntax,
            "def",
            "before its statements",
        ),
        (
            "def f(a):\n    def g(b):\n        return b\n    return a\nf(x)",
            ErrorKind::Syntax,
            "def",
            "inside kernels",
        ),
    ];
    for &(src, kind, underlined, message) in cases {
        let e = error(src);
        assert_eq!(e.kind(), kind, "{src}\n{e}");
        assert!(e.message().contains(message), "{src}\n{e}");
        let span = e.span().unwrap_or_else(|| panic!("{src}: no span\n{e}"));
        let at = &src[span.start..span.end];
        assert_eq!(at, underlined, "{src}\n{e}");
    }
}

#[test]
fn a_program_of_kernels_only_compiles_and_has_no_result() {
    let k = Engine::default()
        .compile("def f(a):\n    return a", &numjit::Signature::new())
        .unwrap();
    assert_eq!(k.dtype(), None);
}

#[test]
fn integer_division_by_constants_keeps_pythons_rounding() {
    // Constant divisors compile to multiplications (kernels' digit loops); every sign, the
    // extremes and both widths must still match the interpreter (Python's `//` and `%`).
    let wide: Vec<i64> = [
        i64::MIN,
        i64::MIN + 1,
        -1_000_003,
        -10,
        -9,
        -1,
        0,
        1,
        9,
        10,
        999_999_937,
        i64::MAX,
    ]
    .into_iter()
    .chain((-40..40).map(|k| k * 7919 + 3))
    .collect();
    let narrow: Vec<i32> = wide
        .iter()
        .map(|&v| v.clamp(i32::MIN as i64, i32::MAX as i64) as i32)
        .collect();
    let (a, c) = (Array1::from(wide), Array1::from(narrow));
    let vars = Vars::new().with("a", &a).with("c", &c);
    let engine = Engine::default();
    for d in [
        "1",
        "2",
        "3",
        "7",
        "10",
        "-2",
        "-3",
        "-7",
        "1000000007",
        "-2147483648",
        "2147483647",
        "9223372036854775807",
    ] {
        for op in ["//", "%"] {
            for v in ["a", "c"] {
                let src = format!("{v} {op} {d}");
                let Ok(k) = engine.compile(&src, &vars.signature()) else {
                    continue; // a literal too large for int32
                };
                let (got, want) = (k.eval(&vars).unwrap(), k.eval_reference(&vars).unwrap());
                assert_eq!(got, want, "{src}");
            }
        }
    }
}

#[test]
fn kernels_defined_once_serve_many_programs_and_their_errors_point_into_their_text() {
    let mut kernels = numjit::Kernels::new();
    kernels
        .define("def twice(a):\n    return 2 * a\ndef inc(a):\n    return twice(a) + 1")
        .unwrap();
    let x = Array1::from(vec![1.0, 2.0]);
    let vars = Vars::new().with("x", &x);
    let engine = Engine::default();
    let k = engine
        .compile_with("inc(x)", &vars.signature(), &kernels)
        .unwrap();
    assert_eq!(
        k.eval(&vars).unwrap().to_f64().into_raw_vec_and_offset().0,
        [3.0, 5.0]
    );
    // Redefining a kernel replaces it, for the kernels defined after it too; the cache keys on
    // the definitions.
    kernels.define("def twice(a):\n    return 20 * a").unwrap();
    let k = engine
        .compile_with("inc(x)", &vars.signature(), &kernels)
        .unwrap();
    assert_eq!(
        k.eval(&vars).unwrap().to_f64().into_raw_vec_and_offset().0,
        [21.0, 41.0]
    );
    // A type error inside a kernel is shown in the kernel's text.
    kernels.define("def bad(a):\n    return ~a").unwrap();
    let e = engine
        .compile_with("bad(x)", &vars.signature(), &kernels)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Type);
    assert!(e.to_string().contains("return ~a"), "{e}");
    // Nothing changes when a definition fails.
    assert!(kernels.define("def ok(a):\n    return a\nok(1)").is_err());
    assert_eq!(kernels.names(), ["twice", "inc", "bad"]);
}

#[test]
fn known_signs_never_change_pythons_rounding() {
    // Facts from conditions make `//` and `%` unsigned; every small integer, the negative
    // ones at the edges of each condition included, must still round as Python does.
    let src = "def f(k):\n    s = 0\n    if k >= -1:\n        s += k // 3 * 100 + k % 3\n    if k > -1:\n        s += k // 5 * 10000 + k % 5\n    if k > -2:\n        s += k // 7 * 1000000 + k % 7\n    m = k\n    while m > 0:\n        s += m % 4\n        m //= 4\n    return s + m // 3\nf(arange(-40, 40))";
    let vars = Vars::new();
    let k = Engine::default().compile(src, &vars.signature()).unwrap();
    let (got, want) = (k.eval(&vars).unwrap(), k.eval_reference(&vars).unwrap());
    assert_eq!(got, want);
    let python = |k: i64| {
        let (fd, md) = (
            |a: i64, b: i64| a.div_euclid(b),
            |a: i64, b: i64| a.rem_euclid(b),
        );
        let mut s = 0;
        if k >= -1 {
            s += fd(k, 3) * 100 + md(k, 3);
        }
        if k > -1 {
            s += fd(k, 5) * 10000 + md(k, 5);
        }
        if k > -2 {
            s += fd(k, 7) * 1000000 + md(k, 7);
        }
        let mut m = k;
        while m > 0 {
            s += md(m, 4);
            m = fd(m, 4);
        }
        s + fd(m, 3)
    };
    let want: Vec<i64> = (-40..40).map(python).collect();
    assert_eq!(
        got.as_i64().unwrap().iter().copied().collect::<Vec<_>>(),
        want
    );
}
