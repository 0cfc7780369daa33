//! `arange` and `linspace` through the public API: NumPy's values, bit for bit against the same
//! expression over a materialized array, one kernel for any length, errors found when the inputs
//! are bound, and course problem P9 without memory.

use ndarray::Array1;
use numjit::{evaluate, Engine, ErrorKind, Span, Vars};

/// NumPy's `linspace(start, stop, n)`: `i*step + start`, the last of n > 1 points exactly `stop`.
fn numpy_linspace(start: f64, stop: f64, n: usize) -> Array1<f64> {
    let step = (stop - start) / (n.max(2) - 1) as f64;
    Array1::from_shape_fn(n, |i| {
        if i + 1 == n && n > 1 {
            stop
        } else {
            i as f64 * step + start
        }
    })
}

#[test]
fn generators_equal_the_materialized_arrays_bit_for_bit() {
    for n in [0, 1, 2, 3, 48, 95, 1000, 100_001] {
        let x = numpy_linspace(-1.5, 2.0, n);
        let materialized = Vars::new().with("x", &x);
        let generated = Vars::new().with("n", n as i64);
        for expr in ["X", "sin(X) * X + 1", "sum(X ** 2)", "max(X, axis=0)"] {
            let a = evaluate(&expr.replace('X', "x"), &materialized);
            let b = evaluate(&expr.replace('X', "linspace(-1.5, 2.0, n)"), &generated);
            match (a, b) {
                (Ok(a), Ok(b)) => assert_eq!(
                    a.to_f64().mapv(f64::to_bits),
                    b.to_f64().mapv(f64::to_bits),
                    "{expr}, n = {n}"
                ),
                (a, b) => assert_eq!(
                    a.map_err(|e| e.kind()).err(),
                    b.map_err(|e| e.kind()).err(),
                    "{expr}, n = {n}"
                ),
            }
        }
    }
}

#[test]
fn float_arange_is_numpys_fill_loop() {
    // NumPy computes element i >= 2 as start + i*((start + step) - start), not start + i*step.
    let got = evaluate("arange(0.1, 2.3, 0.3)", &Vars::new()).unwrap();
    let delta = (0.1f64 + 0.3) - 0.1;
    let want: Vec<f64> = (0..8).map(|i| 0.1 + i as f64 * delta).collect();
    assert_eq!(got.as_f64().unwrap().as_slice().unwrap(), want.as_slice());
    assert_ne!(0.1 + 7.0 * 0.3, 0.1 + 7.0 * delta); // so the difference is visible
}

#[test]
fn one_kernel_serves_every_length() {
    let engine = Engine::default();
    let sig = Vars::new().with("n", 0i64).signature();
    let k = engine.compile("sum(arange(n))", &sig).unwrap();
    for n in [0i64, 1, 10, 1000, 123_457] {
        let s = k.eval(&Vars::new().with("n", n)).unwrap();
        assert_eq!(s.as_i64().unwrap()[[]], n * (n - 1).max(0) / 2);
    }
    assert_eq!(engine.cache_stats().compiled, 1);
}

#[test]
fn lengths_from_variables_are_checked_when_bound() {
    let err = |expr: &str, vars: &Vars| {
        let e = evaluate(expr, vars).unwrap_err();
        (e.kind(), e.span())
    };
    let n = Vars::new().with("n", -3i64);
    assert_eq!(
        err("1 + linspace(0, 1, n)", &n),
        (ErrorKind::Value, Some(Span::new(4, 21)))
    );
    let s = Vars::new().with("s", 0.0f64);
    assert_eq!(
        err("arange(0, 1, s)", &s),
        (ErrorKind::Value, Some(Span::new(0, 15)))
    );
    let e = evaluate("arange(0, 1, s)", &s).unwrap_err();
    assert!(e.message().contains("step cannot be zero"), "{e}");
    let big = Vars::new().with("n", 1e300f64);
    assert_eq!(err("arange(n)", &big).0, ErrorKind::Limit);
    // A result too large to allocate is an error, not an abort.
    let huge = Vars::new().with("n", 1i64 << 52);
    assert_eq!(err("arange(n) * 2", &huge).0, ErrorKind::Limit);
    let grid = Vars::new().with("n", 1i64 << 40);
    assert_eq!(
        err("arange(n)[:, None] + arange(n)", &grid).0,
        ErrorKind::Limit
    );
    assert!(evaluate("sum(arange(n) % 3)", &Vars::new().with("n", 1i64 << 20)).is_ok());
    // An empty generator is fine; a reduction that needs elements is not.
    let zero = Vars::new().with("n", 0i64);
    assert_eq!(
        evaluate("sum(linspace(0, 1, n))", &zero).unwrap().to_f64()[[]],
        0.0
    );
    assert_eq!(err("max(arange(n))", &zero).0, ErrorKind::Value);
}

#[test]
fn arguments_must_be_scalars_known_at_bind_time() {
    let a = Array1::from(vec![1.0, 2.0]);
    let vars = Vars::new().with("a", &a).with("k", 2i32);
    let e = evaluate("linspace(0, a, 5)", &vars).unwrap_err();
    assert_eq!(
        (e.kind(), e.span()),
        (ErrorKind::Type, Some(Span::new(12, 13)))
    );
    let e = evaluate("arange(max(a))", &vars).unwrap_err();
    assert_eq!(
        (e.kind(), e.span()),
        (ErrorKind::Type, Some(Span::new(7, 13)))
    );
    // Constant expressions and 0-d variables of any integer dtype are fine.
    let x = evaluate("arange(-k, 2*k + 1, k)", &vars).unwrap();
    assert_eq!(x.as_i64().unwrap().as_slice().unwrap(), &[-2, 0, 2, 4]);
    let x = evaluate("linspace(-90, 90, 2*k + 1)", &vars).unwrap();
    assert_eq!(
        x.as_f64().unwrap().as_slice().unwrap(),
        &[-90.0, -45.0, 0.0, 45.0, 90.0]
    );
}

#[test]
fn p9_area_under_the_curve_converges_without_an_array() {
    // Course problem P9: the integral of 0.7x³ - 2x² + 4 over [0, 3] is 8.175.
    let n = 1_000_000i64;
    let p9 = "sum((0.7*X**3 - 2*X**2 + 4)*dx)";
    let lin = p9.replace('X', "linspace(0, 3, n)");
    let dx = 3.0 / (n - 1) as f64;
    let area = evaluate(&lin, &Vars::new().with("n", n).with("dx", dx)).unwrap();
    // The endpoint rule overshoots the trapezoid rule by dx·(f(0) + f(3))/2 ≈ 1.3e-5.
    assert!((area.to_f64()[[]] - 8.175).abs() < 2e-5, "{area}");
    let left = p9.replace('X', "(arange(n)*dx)");
    let dx = 3.0 / n as f64;
    let area = evaluate(&left, &Vars::new().with("n", n).with("dx", dx)).unwrap();
    assert!((area.to_f64()[[]] - 8.175).abs() < 2e-5, "{area}");
}

#[test]
fn a_length_may_compare_and_search_strings() {
    // A 0-d S2 variable ("ab") and literals: computed when the inputs are bound.
    let s = ndarray::arr1(b"ab");
    let vars = Vars::new().with_bytes("s", &s).unwrap();
    let x = evaluate("arange(3 * (s > b'a') + contains(s, 'b'))", &vars).unwrap();
    assert_eq!(x.as_i64().unwrap().as_slice().unwrap(), &[0, 1, 2, 3]);
    let x = evaluate(
        "linspace(0, 1, 2 * (s == 'ab\\x00') + (b'x' < b'w'))",
        &vars,
    )
    .unwrap();
    assert_eq!(x.as_f64().unwrap().as_slice().unwrap(), &[0.0, 1.0]);
}
