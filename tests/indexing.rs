//! Basic indexing in expressions: `u[1:-1, ::2]`, `a[0]`, `X[:, None, :]`, `...`. Views are
//! checked against the same views made by ndarray, and the course stencils against Rust loops.

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
fn bad_subscripts_are_errors_with_spans() {
    let a = Array1::from_shape_fn(5, |i| i as f64);
    let vars = Vars::new().with("a", &a);
    let err = |src: &str| evaluate(src, &vars).unwrap_err();
    let cases: [(&str, ErrorKind, (usize, usize)); 8] = [
        ("a[5] + 1", ErrorKind::Value, (2, 3)),
        ("1 + a[-6]", ErrorKind::Value, (6, 8)),
        ("a[::0]", ErrorKind::Value, (2, 5)),
        ("a[1, 2]", ErrorKind::Axis, (0, 7)),
        ("(a + 1)[0]", ErrorKind::Type, (0, 7)),
        ("a[1.5]", ErrorKind::Syntax, (2, 5)),
        ("a[]", ErrorKind::Syntax, (2, 3)),
        ("a[..., ...]", ErrorKind::Syntax, (7, 10)),
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
