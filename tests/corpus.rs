//! The shared expression corpus (`tests/data/*.toml`, format in `tests/data/README.md`).
//!
//! Every case runs through the reference interpreter, the JIT on one thread and the JIT on seven
//! threads. The JIT results must be bit-identical across thread counts; all three must match the
//! NumPy-computed expectation within the case's tolerance (ULP- and NaN-aware), or fail with the
//! expected error kind and span.

use std::collections::BTreeMap;

use ndarray::{ArrayD, IxDyn, ShapeBuilder, SliceInfo, SliceInfoElem};
use numjit::{Array, Complex32, Complex64, DType, Engine, Scalar, Vars};
use serde::Deserialize;

#[derive(Deserialize)]
struct File {
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    /// An expression case has `expr`; a program case has `program` (and may have `outputs`).
    #[serde(default)]
    expr: String,
    program: Option<String>,
    #[serde(default)]
    vars: BTreeMap<String, VarSpec>,
    expected: Option<Expected>,
    /// A program's outputs after it ran (the vars marked `out`).
    #[serde(default)]
    outputs: BTreeMap<String, Expected>,
    error: Option<ExpectedError>,
    #[serde(default)]
    ulps: u64,
    rtol: Option<f64>,
}

#[derive(Deserialize)]
struct VarSpec {
    dtype: String,
    #[serde(default)]
    shape: Option<Vec<usize>>,
    data: Option<toml::Value>,
    gen: Option<String>,
    view: Option<String>,
    order: Option<String>,
    /// A program's output: bound writable (with `Vars::with_out`).
    #[serde(default)]
    out: bool,
}

#[derive(Deserialize)]
struct Expected {
    dtype: String,
    #[serde(default)]
    shape: Vec<usize>,
    data: toml::Value,
}

#[derive(Deserialize)]
struct ExpectedError {
    kind: String,
    span: Option<[usize; 2]>,
}

/// An owned input array of any dtype.
enum Owned {
    Bool(ArrayD<bool>),
    I32(ArrayD<i32>),
    I64(ArrayD<i64>),
    F32(ArrayD<f32>),
    F64(ArrayD<f64>),
    C64(ArrayD<Complex32>),
    C128(ArrayD<Complex64>),
    /// Byte strings (`S<n>`): the last axis holds each string's `n` bytes.
    Bytes(ArrayD<u8>),
}

fn flat_values(v: &toml::Value) -> Vec<toml::Value> {
    match v {
        toml::Value::Array(items) => items.iter().flat_map(flat_values).collect(),
        other => vec![other.clone()],
    }
}

fn as_f64(v: &toml::Value) -> f64 {
    match v {
        toml::Value::Float(f) => *f,
        toml::Value::Integer(i) => *i as f64,
        toml::Value::Boolean(b) => *b as u8 as f64,
        other => panic!("not a number: {other}"),
    }
}

fn as_i64(v: &toml::Value) -> i64 {
    match v {
        toml::Value::Integer(i) => *i,
        toml::Value::Boolean(b) => *b as i64,
        toml::Value::Float(f) => *f as i64,
        other => panic!("not an integer: {other}"),
    }
}

/// `linspace(a, b, n)` or `arange(n)` as float64 values (then cast like NumPy's `astype`).
fn generate(spec: &str) -> Vec<f64> {
    let (name, args) = spec.split_once('(').expect("gen looks like name(args)");
    let args: Vec<f64> = args
        .trim_end_matches(')')
        .split(',')
        .map(|a| a.trim().parse().expect("numeric gen argument"))
        .collect();
    match name.trim() {
        "linspace" => {
            let (a, b, n) = (args[0], args[1], args[2] as usize);
            let step = if n > 1 { (b - a) / (n - 1) as f64 } else { 0.0 };
            // NumPy: a + i*step, with the last point exactly b.
            (0..n)
                .map(|i| {
                    if i + 1 == n && n > 1 {
                        b
                    } else {
                        a + i as f64 * step
                    }
                })
                .collect()
        }
        "arange" => (0..args[0] as usize).map(|i| i as f64).collect(),
        other => panic!("unknown generator {other}"),
    }
}

fn build(spec: &VarSpec) -> Owned {
    let (values, shape): (Vec<toml::Value>, Vec<usize>) = match (&spec.data, &spec.gen) {
        (Some(d), _) => {
            let vals = flat_values(d);
            let shape = spec.shape.clone().unwrap_or_else(|| {
                if spec.dtype.starts_with("complex") {
                    panic!("a complex var states its shape")
                } else if matches!(d, toml::Value::Array(_)) {
                    vec![vals.len()]
                } else {
                    vec![]
                }
            });
            (vals, shape)
        }
        (None, Some(g)) => {
            let vals: Vec<toml::Value> = generate(g).into_iter().map(toml::Value::Float).collect();
            let n = vals.len();
            (vals, spec.shape.clone().unwrap_or(vec![n]))
        }
        _ => panic!("a var needs data or gen"),
    };
    let fortran = spec.order.as_deref() == Some("F");
    fn make<T: Clone>(shape: &[usize], v: Vec<T>, fortran: bool) -> ArrayD<T> {
        let c = ArrayD::from_shape_vec(IxDyn(shape), v).expect("data matches shape");
        if fortran {
            ArrayD::from_shape_fn(IxDyn(shape).f(), |i| c[i].clone())
        } else {
            c
        }
    }
    match DType::from_name(&spec.dtype).expect("known dtype") {
        DType::Bool => Owned::Bool(make(
            &shape,
            values.iter().map(|v| as_f64(v) != 0.0).collect(),
            fortran,
        )),
        DType::Int32 => Owned::I32(make(
            &shape,
            values.iter().map(|v| as_i64(v) as i32).collect(),
            fortran,
        )),
        DType::Int64 => Owned::I64(make(&shape, values.iter().map(as_i64).collect(), fortran)),
        DType::Float32 => Owned::F32(make(
            &shape,
            values.iter().map(|v| as_f64(v) as f32).collect(),
            fortran,
        )),
        DType::Float64 => Owned::F64(make(&shape, values.iter().map(as_f64).collect(), fortran)),
        // A complex element is `[re, im]`: the flattened data interleaves the parts.
        DType::Complex64 => Owned::C64(make(
            &shape,
            values
                .chunks(2)
                .map(|p| Complex32::new(as_f64(&p[0]) as f32, as_f64(&p[1]) as f32))
                .collect(),
            fortran,
        )),
        DType::Complex128 => Owned::C128(make(
            &shape,
            values
                .chunks(2)
                .map(|p| Complex64::new(as_f64(&p[0]), as_f64(&p[1])))
                .collect(),
            fortran,
        )),
        // A string element is a TOML string whose characters are its bytes (U+0000–U+00FF),
        // NUL-padded to the itemsize.
        DType::Bytes(n) => {
            let mut bytes = Vec::with_capacity(values.len() * n as usize);
            for v in &values {
                let s = v.as_str().expect("a bytes element is a string");
                let mut b: Vec<u8> = s
                    .chars()
                    .map(|c| u8::try_from(c).expect("characters of bytes are U+0000..U+00FF"))
                    .collect();
                assert!(b.len() <= n as usize, "{s:?} is longer than S{n}");
                b.resize(n as usize, 0);
                bytes.extend(b);
            }
            let mut full = shape.clone();
            full.push(n as usize);
            let c = ArrayD::from_shape_vec(IxDyn(&full), bytes).expect("data matches shape");
            if !fortran {
                return Owned::Bytes(c);
            }
            // Fortran order over the strings, each string's bytes still contiguous: the axes
            // reversed in memory, then permuted back.
            let k = shape.len();
            let mut rev: Vec<usize> = shape.iter().rev().copied().collect();
            rev.push(n as usize);
            let stored = ArrayD::from_shape_fn(IxDyn(&rev), |i| {
                let mut at: Vec<usize> = (0..k).map(|d| i[k - 1 - d]).collect();
                at.push(i[k]);
                c[IxDyn(&at)]
            });
            let mut order: Vec<usize> = (0..k).rev().collect();
            order.push(k);
            Owned::Bytes(stored.permuted_axes(IxDyn(&order)))
        }
    }
}

/// Parses `"1:-1, ::2"` into ndarray slice elements with NumPy's meaning.
///
/// ndarray's `Slice { start, end, step }` with a negative step walks the range `start..end` from
/// its end, while NumPy's `a[start:stop:step]` starts at `start`; so each slice is first resolved
/// like Python's `slice.indices(len)` and then re-expressed as the range it selects.
fn slice_info(view: &str, shape: &[usize]) -> SliceInfo<Vec<SliceInfoElem>, IxDyn, IxDyn> {
    let mut elems: Vec<SliceInfoElem> = view
        .split(',')
        .enumerate()
        .map(|(axis, part)| {
            let p: Vec<&str> = part.trim().split(':').collect();
            let num = |s: &str| {
                if s.trim().is_empty() {
                    None
                } else {
                    Some(s.trim().parse::<isize>().expect("integer in view"))
                }
            };
            if p.len() == 1 {
                return SliceInfoElem::Index(num(p[0]).expect("index"));
            }
            let len = shape[axis] as isize;
            let step = p.get(2).and_then(|s| num(s)).unwrap_or(1);
            let (first, stop) = python_indices(num(p[0]), num(p[1]), step, len);
            let count = if step > 0 {
                (stop - first + step - 1).max(0) / step
            } else {
                (first - stop - step - 1).max(0) / -step
            };
            if count == 0 {
                return SliceInfoElem::Slice {
                    start: 0,
                    end: Some(0),
                    step: 1,
                };
            }
            let last = first + (count - 1) * step;
            let (lo, hi) = if step > 0 {
                (first, last + 1)
            } else {
                (last, first + 1)
            };
            SliceInfoElem::Slice {
                start: lo,
                end: Some(hi),
                step,
            }
        })
        .collect();
    while elems.len() < shape.len() {
        elems.push(SliceInfoElem::Slice {
            start: 0,
            end: None,
            step: 1,
        });
    }
    SliceInfo::try_from(elems).expect("valid slice")
}

/// Python's `slice(start, stop, step).indices(len)`: the first index and the exclusive stop.
fn python_indices(
    start: Option<isize>,
    stop: Option<isize>,
    step: isize,
    len: isize,
) -> (isize, isize) {
    let clamp = |v: isize, lo: isize, hi: isize| v.max(lo).min(hi);
    let resolve = |v: isize, lo: isize, hi: isize| clamp(if v < 0 { v + len } else { v }, lo, hi);
    if step > 0 {
        (
            start.map_or(0, |v| resolve(v, 0, len)),
            stop.map_or(len, |v| resolve(v, 0, len)),
        )
    } else {
        (
            start.map_or(len - 1, |v| resolve(v, -1, len - 1)),
            stop.map_or(-1, |v| resolve(v, -1, len - 1)),
        )
    }
}

macro_rules! with_views {
    ($owned:expr, $specs:expr, |$vars:ident| $body:expr) => {{
        let views: Vec<(String, ViewAny)> = $owned
            .iter()
            .zip($specs)
            .map(|((name, o), spec)| (name.clone(), ViewAny::of(o, spec.view.as_deref())))
            .collect();
        let mut $vars = Vars::new();
        for (name, v) in &views {
            match v {
                ViewAny::Bool(a) => $vars.insert(name, a),
                ViewAny::I32(a) => $vars.insert(name, a),
                ViewAny::I64(a) => $vars.insert(name, a),
                ViewAny::F32(a) => $vars.insert(name, a),
                ViewAny::F64(a) => $vars.insert(name, a),
                ViewAny::C64(a) => $vars.insert(name, a),
                ViewAny::C128(a) => $vars.insert(name, a),
                ViewAny::Bytes(a) => {
                    $vars = std::mem::take(&mut $vars)
                        .with_bytes(name, a)
                        .expect("a bytes var has a contiguous last axis")
                }
            }
        }
        $body
    }};
}

enum ViewAny<'a> {
    Bool(ndarray::ArrayViewD<'a, bool>),
    I32(ndarray::ArrayViewD<'a, i32>),
    I64(ndarray::ArrayViewD<'a, i64>),
    F32(ndarray::ArrayViewD<'a, f32>),
    F64(ndarray::ArrayViewD<'a, f64>),
    C64(ndarray::ArrayViewD<'a, Complex32>),
    C128(ndarray::ArrayViewD<'a, Complex64>),
    Bytes(ndarray::ArrayViewD<'a, u8>),
}

impl<'a> ViewAny<'a> {
    fn of(o: &'a Owned, view: Option<&str>) -> ViewAny<'a> {
        macro_rules! v {
            ($a:expr, $variant:ident) => {{
                let full = $a.view();
                ViewAny::$variant(match view {
                    Some(spec) => full.slice_move(slice_info(spec, $a.shape())),
                    None => full,
                })
            }};
        }
        match o {
            Owned::Bool(a) => v!(a, Bool),
            Owned::I32(a) => v!(a, I32),
            Owned::I64(a) => v!(a, I64),
            Owned::F32(a) => v!(a, F32),
            Owned::F64(a) => v!(a, F64),
            Owned::C64(a) => v!(a, C64),
            Owned::C128(a) => v!(a, C128),
            Owned::Bytes(a) => v!(a, Bytes),
        }
    }
}

/// Distance in units in the last place between two floats of one dtype (0 for equal bits).
fn ulp_distance(a: f64, b: f64, f32_: bool) -> u64 {
    // Maps the bits to integers ordered like the floats (-0.0 and 0.0 both to 0: `close` checks
    // the sign of zero itself).
    fn ordered(bits: i64, sign: i64) -> i64 {
        if bits & sign != 0 {
            sign - bits
        } else {
            bits
        }
    }
    let (x, y) = if f32_ {
        let sign = 1i64 << 31;
        (
            ordered((a as f32).to_bits() as i64, sign),
            ordered((b as f32).to_bits() as i64, sign),
        )
    } else {
        (
            ordered(a.to_bits() as i64, i64::MIN),
            ordered(b.to_bits() as i64, i64::MIN),
        )
    };
    x.wrapping_sub(y).unsigned_abs()
}

fn close(got: Scalar, want: Scalar, ulps: u64, rtol: Option<f64>) -> bool {
    match (got, want) {
        (Scalar::F64(_), Scalar::F64(_)) | (Scalar::F32(_), Scalar::F32(_)) => {
            let (g, w) = (got.as_f64(), want.as_f64());
            if g.is_nan() || w.is_nan() {
                return g.is_nan() && w.is_nan();
            }
            if g == w && g.is_sign_negative() == w.is_sign_negative() {
                return true;
            }
            if let Some(rt) = rtol {
                if (g - w).abs() <= rt * w.abs().max(f64::MIN_POSITIVE) {
                    return true;
                }
            }
            ulps > 0 && ulp_distance(g, w, matches!(got, Scalar::F32(_))) <= ulps
        }
        // Part by part, each within the tolerance.
        (Scalar::C64(g), Scalar::C64(w)) => [(g.re, w.re), (g.im, w.im)]
            .iter()
            .all(|&(g, w)| close(Scalar::F32(g), Scalar::F32(w), ulps, rtol)),
        (Scalar::C128(g), Scalar::C128(w)) => [(g.re, w.re), (g.im, w.im)]
            .iter()
            .all(|&(g, w)| close(Scalar::F64(g), Scalar::F64(w), ulps, rtol)),
        _ => got == want,
    }
}

fn expected_array(e: &Expected) -> Array {
    let spec = VarSpec {
        dtype: e.dtype.clone(),
        shape: Some(e.shape.clone()),
        data: Some(e.data.clone()),
        gen: None,
        view: None,
        order: None,
        out: false,
    };
    match build(&spec) {
        Owned::Bool(a) => Array::Bool(a),
        Owned::I32(a) => Array::Int32(a),
        Owned::I64(a) => Array::Int64(a),
        Owned::F32(a) => Array::Float32(a),
        Owned::F64(a) => Array::Float64(a),
        Owned::C64(a) => Array::Complex64(a),
        Owned::C128(a) => Array::Complex128(a),
        Owned::Bytes(_) => panic!("no expression gives bytes"),
    }
}

/// Compares `got` to `want`; returns a description of the first difference.
fn compare(
    what: &str,
    got: &Array,
    want: &Array,
    ulps: u64,
    rtol: Option<f64>,
) -> Result<(), String> {
    if got.dtype() != want.dtype() {
        return Err(format!(
            "{what}: dtype {} but expected {}",
            got.dtype(),
            want.dtype()
        ));
    }
    if got.shape() != want.shape() {
        return Err(format!(
            "{what}: shape {:?} but expected {:?}",
            got.shape(),
            want.shape()
        ));
    }
    let n: usize = want.shape().iter().product();
    for i in 0..n {
        let (g, w) = (
            got.get_flat(i).unwrap_or(Scalar::Bool(false)),
            want.get_flat(i).unwrap_or(Scalar::Bool(false)),
        );
        if !close(g, w, ulps, rtol) {
            return Err(format!(
                "{what}: element {i} is {g} but expected {w} (ulps {ulps}, rtol {rtol:?})"
            ));
        }
    }
    Ok(())
}

/// Same dtype, shape and elements: floats by their bits (any NaN equals any NaN), integers
/// and bools exactly (not through `f64`, which would merge int64 values above 2⁵³).
fn bit_identical(a: &Array, b: &Array) -> bool {
    let n: usize = a.shape().iter().product();
    a.dtype() == b.dtype()
        && a.shape() == b.shape()
        && (0..n).all(|i| match (a.get_flat(i), b.get_flat(i)) {
            (Some(Scalar::F64(x)), Some(Scalar::F64(y))) => {
                x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
            }
            (Some(Scalar::F32(x)), Some(Scalar::F32(y))) => {
                x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
            }
            (Some(x @ (Scalar::C64(_) | Scalar::C128(_))), Some(y)) => {
                let ((a, b), (c, d)) = (x.parts(), y.parts());
                let same =
                    |p: f64, q: f64| p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan());
                x.dtype() == y.dtype() && same(a, c) && same(b, d)
            }
            (Some(x), Some(y)) => x == y,
            _ => false,
        })
}

fn run_case(engine: &Engine, case: &Case) -> Result<(), String> {
    let owned: Vec<(String, Owned)> = case
        .vars
        .iter()
        .map(|(n, s)| (n.clone(), build(s)))
        .collect();
    with_views!(owned, case.vars.values(), |vars| {
        let kernel = engine.compile(&case.expr, &vars.signature());
        let eval = |threads: usize| {
            numjit::set_num_threads(threads);
            kernel
                .as_ref()
                .map_err(|e| e.clone())
                .and_then(|k| k.eval(&vars))
        };
        let (jit1, jit7) = (eval(1), eval(7));
        let interp = kernel
            .as_ref()
            .map_err(|e| e.clone())
            .and_then(|k| k.eval_reference(&vars));
        match (&case.expected, &case.error) {
            (Some(exp), None) => {
                let want = expected_array(exp);
                let (jit1, jit7, interp) = (
                    jit1.map_err(|e| format!("jit: unexpected error {e}"))?,
                    jit7.map_err(|e| format!("jit 7 threads: unexpected error {e}"))?,
                    interp.map_err(|e| format!("interpreter: unexpected error {e}"))?,
                );
                if !bit_identical(&jit1, &jit7) {
                    return Err("jit results differ between 1 and 7 threads".into());
                }
                compare("interpreter", &interp, &want, case.ulps, case.rtol)?;
                compare("jit", &jit1, &want, case.ulps, case.rtol)
            }
            (None, Some(err)) => {
                for (what, r) in [
                    ("jit", jit1.map(|_| ())),
                    ("jit 7 threads", jit7.map(|_| ())),
                    ("interpreter", interp.map(|_| ())),
                ] {
                    check_error(what, r, err)?;
                }
                Ok(())
            }
            (None, None) => {
                // No independent expectation (big generated inputs): the backends must agree.
                let (jit1, jit7, interp) = (
                    jit1.map_err(|e| e.to_string())?,
                    jit7.map_err(|e| e.to_string())?,
                    interp.map_err(|e| e.to_string())?,
                );
                if !bit_identical(&jit1, &jit7) {
                    return Err("jit results differ between 1 and 7 threads".into());
                }
                compare(
                    "jit vs interpreter",
                    &jit1,
                    &interp,
                    case.ulps.max(2),
                    case.rtol,
                )
            }
            (Some(_), Some(_)) => Err("a case has either expected or error, not both".into()),
        }
    })
}

/// `r` must be an error of `err`'s kind (and span, when it gives one).
fn check_error(what: &str, r: numjit::Result<()>, err: &ExpectedError) -> Result<(), String> {
    let e = match r {
        Ok(()) => {
            return Err(format!(
                "{what}: succeeded but expected a {} error",
                err.kind
            ))
        }
        Err(e) => e,
    };
    if e.kind().name() != err.kind {
        return Err(format!(
            "{what}: {} error but expected {}: {e}",
            e.kind().name(),
            err.kind
        ));
    }
    if let Some([s, t]) = err.span {
        if e.span() != Some(numjit::Span::new(s, t)) {
            return Err(format!(
                "{what}: span {:?} but expected {s}..{t}: {e}",
                e.span()
            ));
        }
    }
    Ok(())
}

/// A writable view of an output, of any dtype.
enum ViewMutAny<'a> {
    Bool(ndarray::ArrayViewMutD<'a, bool>),
    I32(ndarray::ArrayViewMutD<'a, i32>),
    I64(ndarray::ArrayViewMutD<'a, i64>),
    F32(ndarray::ArrayViewMutD<'a, f32>),
    F64(ndarray::ArrayViewMutD<'a, f64>),
    C64(ndarray::ArrayViewMutD<'a, Complex32>),
    C128(ndarray::ArrayViewMutD<'a, Complex64>),
}

impl<'a> ViewMutAny<'a> {
    fn of(o: &'a mut Owned, view: Option<&str>) -> ViewMutAny<'a> {
        macro_rules! v {
            ($a:expr, $variant:ident) => {{
                let shape = $a.shape().to_vec();
                let full = $a.view_mut();
                ViewMutAny::$variant(match view {
                    Some(spec) => full.slice_move(slice_info(spec, &shape)),
                    None => full,
                })
            }};
        }
        match o {
            Owned::Bool(a) => v!(a, Bool),
            Owned::I32(a) => v!(a, I32),
            Owned::I64(a) => v!(a, I64),
            Owned::F32(a) => v!(a, F32),
            Owned::F64(a) => v!(a, F64),
            Owned::C64(a) => v!(a, C64),
            Owned::C128(a) => v!(a, C128),
            Owned::Bytes(_) => panic!("bytes are never outputs"),
        }
    }

    fn bind<'v>(&'v mut self, vars: Vars<'v>, name: &str) -> Vars<'v> {
        match self {
            ViewMutAny::Bool(a) => vars.with_out(name, a),
            ViewMutAny::I32(a) => vars.with_out(name, a),
            ViewMutAny::I64(a) => vars.with_out(name, a),
            ViewMutAny::F32(a) => vars.with_out(name, a),
            ViewMutAny::F64(a) => vars.with_out(name, a),
            ViewMutAny::C64(a) => vars.with_out(name, a),
            ViewMutAny::C128(a) => vars.with_out(name, a),
        }
    }

    /// The output's current values, as a new array.
    fn snapshot(&self) -> Array {
        match self {
            ViewMutAny::Bool(a) => Array::Bool(a.to_owned()),
            ViewMutAny::I32(a) => Array::Int32(a.to_owned()),
            ViewMutAny::I64(a) => Array::Int64(a.to_owned()),
            ViewMutAny::F32(a) => Array::Float32(a.to_owned()),
            ViewMutAny::F64(a) => Array::Float64(a.to_owned()),
            ViewMutAny::C64(a) => Array::Complex64(a.to_owned()),
            ViewMutAny::C128(a) => Array::Complex128(a.to_owned()),
        }
    }
}

/// What one run of a program gave: its result (or error), and every output's values after it
/// (by name, in the case's order), and before it.
struct ProgramRun {
    result: numjit::Result<Option<Array>>,
    before: Vec<Array>,
    after: Vec<Array>,
}

/// Runs `src` on fresh copies of the case's arrays: the interpreter, or the JIT on `threads`.
fn run_program(engine: &Engine, case: &Case, src: &str, threads: Option<usize>) -> ProgramRun {
    let (mut outs, ins): (Vec<_>, Vec<_>) = case
        .vars
        .iter()
        .map(|(n, s)| (n.clone(), s, build(s)))
        .partition(|(_, s, _)| s.out);
    let in_views: Vec<(&str, ViewAny)> = ins
        .iter()
        .map(|(n, s, o)| (n.as_str(), ViewAny::of(o, s.view.as_deref())))
        .collect();
    let mut out_views: Vec<(&str, ViewMutAny)> = outs
        .iter_mut()
        .map(|(n, s, o)| (n.as_str(), ViewMutAny::of(o, s.view.as_deref())))
        .collect();
    let before = out_views.iter().map(|(_, v)| v.snapshot()).collect();
    let result = {
        let mut vars = Vars::new();
        for (name, v) in &in_views {
            match v {
                ViewAny::Bool(a) => vars.insert(name, a),
                ViewAny::I32(a) => vars.insert(name, a),
                ViewAny::I64(a) => vars.insert(name, a),
                ViewAny::F32(a) => vars.insert(name, a),
                ViewAny::F64(a) => vars.insert(name, a),
                ViewAny::C64(a) => vars.insert(name, a),
                ViewAny::C128(a) => vars.insert(name, a),
                ViewAny::Bytes(a) => {
                    vars = std::mem::take(&mut vars)
                        .with_bytes(name, a)
                        .expect("a bytes var has a contiguous last axis")
                }
            }
        }
        for (name, v) in &mut out_views {
            vars = v.bind(vars, name);
        }
        engine
            .compile(src, &vars.signature())
            .and_then(|k| match threads {
                None => k.run_reference(&vars),
                Some(n) => {
                    numjit::set_num_threads(n);
                    k.run(&vars)
                }
            })
    };
    let after = out_views.iter().map(|(_, v)| v.snapshot()).collect();
    ProgramRun {
        result,
        before,
        after,
    }
}

/// A program case: the interpreter and the JIT at 1 and 7 threads must give the expected
/// outputs and result (the JIT bit-identical across thread counts), or all fail with the
/// expected error having written nothing.
fn run_program_case(engine: &Engine, case: &Case, src: &str) -> Result<(), String> {
    #[allow(unused_mut)]
    let mut runs = vec![
        ("interpreter", run_program(engine, case, src, None)),
        ("jit", run_program(engine, case, src, Some(1))),
        ("jit 7 threads", run_program(engine, case, src, Some(7))),
    ];
    // Kernels again with scalar code only (the JIT runs float kernels on SIMD lanes), by an
    // engine of their own, whose cache holds no lanes code.
    #[cfg(feature = "internals")]
    if case.name.starts_with("kernels/") {
        numjit::internals::set_kernel_lanes(false);
        let scalar = run_program(&Engine::default(), case, src, Some(1));
        numjit::internals::set_kernel_lanes(true);
        runs.push(("jit, scalar kernels", scalar));
    }
    let out_names: Vec<&String> = case
        .vars
        .iter()
        .filter(|(_, s)| s.out)
        .map(|(n, _)| n)
        .collect();
    if let Some(err) = &case.error {
        for (what, run) in &runs {
            check_error(
                what,
                run.result.as_ref().map(|_| ()).map_err(|e| e.clone()),
                err,
            )?;
            for ((name, b), a) in out_names.iter().zip(&run.before).zip(&run.after) {
                if !bit_identical(b, a) {
                    return Err(format!("{what}: the failing program wrote `{name}`"));
                }
            }
        }
        return Ok(());
    }
    for (what, run) in &runs {
        let result = run
            .result
            .as_ref()
            .map_err(|e| format!("{what}: unexpected error {e}"))?;
        match (&case.expected, result) {
            (Some(exp), Some(got)) => {
                compare(what, got, &expected_array(exp), case.ulps, case.rtol)?
            }
            (None, None) => {}
            (Some(_), None) => return Err(format!("{what}: no result, but one is expected")),
            (None, Some(_)) => return Err(format!("{what}: a result, but none is expected")),
        }
        for (name, got) in out_names.iter().zip(&run.after) {
            let want = case
                .outputs
                .get(*name)
                .ok_or_else(|| format!("output `{name}` has no expected value"))?;
            compare(
                &format!("{what} output `{name}`"),
                got,
                &expected_array(want),
                case.ulps,
                case.rtol,
            )?;
        }
    }
    let (one, seven) = (&runs[1].1, &runs[2].1);
    let same_result = match (&one.result, &seven.result) {
        (Ok(Some(a)), Ok(Some(b))) => bit_identical(a, b),
        (Ok(None), Ok(None)) => true,
        _ => false,
    };
    if !same_result
        || one
            .after
            .iter()
            .zip(&seven.after)
            .any(|(a, b)| !bit_identical(a, b))
    {
        return Err("jit results differ between 1 and 7 threads".into());
    }
    // Lanes compute what scalar code computes, bit for bit.
    if let Some((_, scalar)) = runs.get(3) {
        let same = match (&one.result, &scalar.result) {
            (Ok(Some(a)), Ok(Some(b))) => bit_identical(a, b),
            (Ok(None), Ok(None)) => true,
            _ => false,
        };
        if !same {
            return Err("kernels on lanes and scalar kernels differ".into());
        }
    }
    Ok(())
}

#[test]
fn corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/data exists")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let engine = Engine::default();
    let threads_before = numjit::num_threads();
    let (mut total, mut failures) = (0, Vec::new());
    let mut names = std::collections::HashSet::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable");
        let file: File =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for case in &file.case {
            total += 1;
            assert!(
                names.insert(case.name.clone()),
                "duplicate case name {}",
                case.name
            );
            let source = case.program.as_deref().unwrap_or(&case.expr);
            let result =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match &case.program {
                    Some(src) => run_program_case(&engine, case, src),
                    None => run_case(&engine, case),
                }));
            match result {
                Ok(Ok(())) => {}
                Ok(Err(msg)) => failures.push(format!("{} `{source}`: {msg}", case.name)),
                Err(_) => failures.push(format!("{} `{source}`: panicked", case.name)),
            }
        }
    }
    numjit::set_num_threads(threads_before);
    for f in &failures {
        eprintln!("FAIL {f}");
    }
    eprintln!(
        "corpus: {} cases in {} files, {} failed",
        total,
        files.len(),
        failures.len()
    );
    assert!(
        total >= 300,
        "the corpus should hold at least 300 cases, found {total}"
    );
    let programs = files
        .iter()
        .filter(|p| p.file_stem().is_some_and(|s| s == "programs"))
        .count();
    assert_eq!(
        programs, 1,
        "tests/data/programs.toml holds the program cases"
    );
    assert!(
        failures.is_empty(),
        "{} of {total} corpus cases failed",
        failures.len()
    );
}

#[test]
fn ulp_distance_counts_representable_steps() {
    let up = |x: f64| f64::from_bits(x.to_bits() + 1);
    assert_eq!(ulp_distance(1.0, up(1.0), false), 1);
    assert_eq!(ulp_distance(-1.0, -up(1.0), false), 1);
    let tiny = f64::from_bits(1);
    assert_eq!(ulp_distance(-tiny, tiny, false), 2); // across both zeros
    let up32 = |x: f32| f32::from_bits(x.to_bits() + 3) as f64;
    assert_eq!(ulp_distance(1.0, up32(1.0), true), 3);
    assert_eq!(
        ulp_distance(-(f32::from_bits(1) as f64), f32::from_bits(2) as f64, true),
        3
    );
}
