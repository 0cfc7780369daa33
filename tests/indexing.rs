//! Basic indexing in expressions: `u[1:-1, ::2]`, `a[0]`, `X[:, None, :]`, `...`, and new axes on
//! any expression (`(a + b)[None, ...]`). Views are checked against the same views made by
//! ndarray, and the course stencils against Rust loops.

// ndarray's `s![1..-1]` counts -1 from the end; clippy reads it as an empty Rust range.
#![allow(clippy::reversed_empty_ranges)]

use ndarray::{s, Array1, Array2, Axis, NewAxis};
use numjit::{evaluate, ErrorKind, Span, Vars};

fn f64s(expr: &str, vars: &Vars) -> ndarray::ArrayD<f64> {
    evaluate(expr, vars)
        .unwrap_or_else(|e| panic!("{e}"))
        .try_into()
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn views_match_ndarray() {
    let a = Array1::from_shape_fn(10, |i| i as f64);
    let m = Array2::from_shape_fn((4, 6), |(i, j)| (10 * i + j) as f64);
    let vars = Vars::new().with("a", &a).with("m", &m);
    let cases: Vec<(&str, ndarray::ArrayD<f64>)> = vec![
        ("a[1:-1]", a.slice(s![1..-1]).into_dyn().to_owned()),
        ("a[::-1]", a.slice(s![..;-1]).into_dyn().to_owned()),
        (
            "a[8:2:-2]",
            Array1::from_vec(vec![8.0, 6.0, 4.0]).into_dyn(),
        ),
        ("a[-3:]", a.slice(s![-3..]).into_dyn().to_owned()),
        ("a[-100:100]", a.clone().into_dyn()),
        ("a[5:2]", Array1::<f64>::zeros(0).into_dyn()),
        ("a[3]", ndarray::arr0(3.0).into_dyn()),
        ("a[-1]", ndarray::arr0(9.0).into_dyn()),
        ("m[1]", m.row(1).into_dyn().to_owned()),
        ("m[:, -1]", m.column(5).into_dyn().to_owned()),
        ("m[1:3, ::2]", m.slice(s![1..3, ..;2]).into_dyn().to_owned()),
        (
            "m[::-1, 1::3]",
            m.slice(s![..;-1, 1..;3]).into_dyn().to_owned(),
        ),
        ("m[..., 0]", m.column(0).into_dyn().to_owned()),
        (
            "m[None, ..., None]",
            m.slice(s![NewAxis, .., .., NewAxis]).into_dyn().to_owned(),
        ),
        (
            "m[:, None, 2]",
            m.slice(s![.., NewAxis, 2]).into_dyn().to_owned(),
        ),
        ("a[None]", a.slice(s![NewAxis, ..]).into_dyn().to_owned()),
        (
            "m[1:, :-1] - m[:-1, 1:]",
            (&m.slice(s![1.., ..-1]) - &m.slice(s![..-1, 1..])).into_dyn(),
        ),
        (
            "sum(m[::2], axis=0)",
            m.slice(s![..;2, ..]).sum_axis(Axis(0)).into_dyn(),
        ),
    ];
    for (expr, want) in cases {
        assert_eq!(f64s(expr, &vars), want, "{expr}");
    }
}

#[test]
fn laplace_stencil_matches_a_loop() {
    let n = 67;
    let u = Array2::from_shape_fn((n, n), |(i, j)| ((i * 31 + j * 17) % 13) as f64 * 0.1);
    let got = f64s(
        "0.25*(u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:])",
        &Vars::new().with("u", &u),
    );
    let want = Array2::from_shape_fn((n - 2, n - 2), |(i, j)| {
        let (i, j) = (i + 1, j + 1);
        0.25 * (u[[i - 1, j]] + u[[i + 1, j]] + u[[i, j - 1]] + u[[i, j + 1]])
    });
    assert_eq!(got, want.into_dyn());
}

#[test]
fn pairwise_distances_match_a_loop() {
    let m = 50;
    let x = Array2::from_shape_fn((m, 3), |(i, k)| {
        ((3 * i + k) as f64 * 0.618_033_988_749_894_9) % 1.0
    });
    let d = f64s(
        "sqrt(sum((X[:, None, :] - X[None, :, :])**2, axis=-1))",
        &Vars::new().with("X", &x),
    );
    for i in 0..m {
        assert_eq!(d[[i, i]], 0.0);
        for j in 0..m {
            let want = (0..3)
                .map(|k| (x[[i, k]] - x[[j, k]]).powi(2))
                .sum::<f64>()
                .sqrt();
            assert!((d[[i, j]] - want).abs() <= 1e-15, "({i}, {j})");
            assert_eq!(d[[i, j]], d[[j, i]]);
        }
    }
}

#[test]
fn new_axes_on_expressions_match_ndarray() {
    let a = Array1::from_shape_fn(3, |i| i as f64 + 0.5);
    let m = Array2::from_shape_fn((2, 3), |(i, j)| (10 * i + j) as f64);
    let u = Array1::from_shape_fn(6, |i| (i * i) as f64);
    let vars = Vars::new()
        .with("a", &a)
        .with("m", &m)
        .with("u", &u)
        .with("k", 2.0);
    let outer = |x: &Array1<f64>, y: &Array1<f64>| {
        Array2::from_shape_fn((x.len(), y.len()), |(i, j)| x[i] * y[j]).into_dyn()
    };
    let lin = Array1::from_vec(vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
    let cases: Vec<(&str, ndarray::ArrayD<f64>)> = vec![
        (
            "(a + m)[None, ...]",
            (&a + &m).slice(s![NewAxis, .., ..]).into_dyn().to_owned(),
        ),
        (
            "(a * k)[:, None] - a",
            (&(&a * 2.0).slice(s![.., NewAxis]) - &a).into_dyn(),
        ),
        (
            "sin(a)[:, None, None]",
            f64s("sin(a)", &vars)
                .into_shape_with_order(vec![3, 1, 1])
                .unwrap(),
        ),
        (
            "(u[1:-1] + 1)[:, None]",
            (&u.slice(s![1..-1]) + 1.0)
                .slice(s![.., NewAxis])
                .into_dyn()
                .to_owned(),
        ),
        (
            "(m + 1)[:, None, :]",
            (&m + 1.0).slice(s![.., NewAxis, ..]).into_dyn().to_owned(),
        ),
        (
            "(m + 1)[:, :, None][None, ...]",
            (&m + 1.0)
                .slice(s![NewAxis, .., .., NewAxis])
                .into_dyn()
                .to_owned(),
        ),
        ("linspace(-1, 1, 5)[:, None] * a", outer(&lin, &a)),
        (
            "arange(3)[:, None] + 10 * arange(4.0)",
            Array2::from_shape_fn((3, 4), |(i, j)| (i + 10 * j) as f64).into_dyn(),
        ),
        (
            "sum(linspace(-1, 1, 5)[:, None] * a, axis=0)",
            outer(&lin, &a).sum_axis(Axis(0)),
        ),
        ("(a + 1)[...]", (&a + 1.0).into_dyn()),
        (
            "(a + sum(a))[None]",
            (&a + a.sum()).slice(s![NewAxis, ..]).into_dyn().to_owned(),
        ),
    ];
    for (expr, want) in cases {
        assert_eq!(f64s(expr, &vars), want, "{expr}");
    }
}

#[test]
fn bad_subscripts_are_errors_with_spans() {
    let a = Array1::from_shape_fn(5, |i| i as f64);
    let vars = Vars::new().with("a", &a);
    let err = |src: &str| evaluate(src, &vars).unwrap_err();
    let cases: [(&str, ErrorKind, (usize, usize)); 13] = [
        ("a[5] + 1", ErrorKind::Value, (2, 3)),
        ("1 + a[-6]", ErrorKind::Value, (6, 8)),
        ("a[::0]", ErrorKind::Value, (2, 5)),
        ("a[1, 2]", ErrorKind::Axis, (0, 7)),
        ("(a + 1)[0]", ErrorKind::Type, (8, 9)),
        ("(a + 1)[None, 1:]", ErrorKind::Type, (14, 16)),
        ("(a + 1)[:, :]", ErrorKind::Axis, (0, 13)),
        ("sum(a)[None]", ErrorKind::Type, (0, 12)),
        ("2 * (a + 1)[..., None, ...]", ErrorKind::Syntax, (23, 26)),
        ("a[1.5]", ErrorKind::Syntax, (2, 5)),
        ("a[]", ErrorKind::Syntax, (2, 3)),
        ("a[..., ...]", ErrorKind::Syntax, (7, 10)),
        ("pi[None]", ErrorKind::Type, (0, 8)),
    ];
    for (src, kind, (start, end)) in cases {
        let e = err(src);
        assert_eq!(
            (e.kind(), e.span()),
            (kind, Some(Span::new(start, end))),
            "{src}: {e}"
        );
    }
    assert_eq!(err("a[1").kind(), ErrorKind::Syntax);
}
