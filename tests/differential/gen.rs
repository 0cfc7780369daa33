//! The differential fuzzer's generator and checker, shared by the stable harness
//! (`tests/differential.rs`, a fixed budget with a fixed seed in CI) and the libFuzzer target
//! (`fuzz/fuzz_targets/differential.rs`, which includes this file by path).
//!
//! A [`Source`] of choices (a seeded PRNG, or libFuzzer's bytes through `arbitrary`) drives a
//! structure-aware generator of well-typed numjit sources: expressions over every operator and
//! function of the op table and every dtype, broadcasting inputs in C, Fortran, strided,
//! reversed and zero-stride layouts, reductions with axes, slices, generators; programs with
//! outputs of those layouts, temporaries, augmented and slice assignment, `for` loops and
//! `swap`; `def` kernels with `if`/`elif`/`else`, `for`, `while`, `break`, `continue` and
//! `return`. [`check`] runs each case through the interpreter (the oracle) and the JIT, and
//! compares results and outputs value by value.
//!
//! What "agree" means (the documented bound):
//! - integers and bools: exactly; dtypes and shapes: exactly;
//! - floats computed with correctly rounded operations only (`+ - * /`, `sqrt`, `//`, `%`,
//!   comparisons, rounding, casts; reductions, folded by the oracle in the runtime's order):
//!   bit for bit, except that NaNs agree whatever their payload and sign;
//! - the direct result of a transcendental function (`sin`, `exp`, `log`, `**` on floats,
//!   `hypot`, …: the JIT calls vector math, the interpreter libm): within [`ULPS`] units in the
//!   last place (the vector-math tiers are measured at ≤ 2 ulp; see README's ULP table);
//! - values computed from such results: within a relative or absolute [`LOOSE_F64`]
//!   (float64) or [`LOOSE_F32`] (float32), and the same class (NaN, ±inf, finite). The
//!   generator never feeds such values to a discontinuous operation (comparisons, rounding,
//!   `//`, `%`, `sign`, `where`'s condition, int casts), which would turn an ulp into a
//!   different answer;
//! - errors: if either path fails, both fail, with the same [`numjit::ErrorKind`];
//! - the JIT at 1, 2 and 7 threads: bit for bit (cases with at least 64 Ki elements, the
//!   runtime's serial cutoff; smaller cases take the same serial path at any thread count).
#![allow(dead_code)]

use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn, Slice};
use numjit::{Array, DType, Engine, ErrorKind, Scalar, Vars};

/// Units in the last place a transcendental function's result may differ by.
pub const ULPS: u64 = 4;
/// Relative (or absolute) difference allowed for values derived from inexact ones (float64).
pub const LOOSE_F64: f64 = 1e-6;
/// The same for float32.
pub const LOOSE_F32: f64 = 1e-3;

/// A source of choices.
pub trait Source {
    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize;

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// splitmix64: tiny and seedable.
pub struct Rng(pub u64);

impl Rng {
    /// The generator of case `index` of the run seeded `seed` (each case replays alone).
    pub fn for_case(seed: u64, index: u64) -> Rng {
        let mut r = Rng(seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.next();
        r
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Source for Rng {
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// How exactly a value must agree (ordered: the join of operands is the max).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Taint {
    Exact,
    Ulp,
    Loose,
}

/// The dtype class the generator tracks (NumPy's promotion decides the width).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Bool,
    Int,
    Float,
}

fn kind_of(d: DType) -> Kind {
    match d {
        DType::Bool => Kind::Bool,
        DType::Int32 | DType::Int64 => Kind::Int,
        _ => Kind::Float,
    }
}

/// A generated expression: its text, dtype class, (expected) shape and taint.
#[derive(Clone, Debug)]
struct E {
    s: String,
    kind: Kind,
    shape: Vec<usize>,
    taint: Taint,
}

/// How an array is laid out in memory.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Layout {
    C,
    F,
    Strided,
    Reversed,
    /// A broadcast view: stride 0 along the first dimension of more than one element.
    ZeroStride,
}

const LAYOUTS: [Layout; 5] = [
    Layout::C,
    Layout::F,
    Layout::Strided,
    Layout::Reversed,
    Layout::ZeroStride,
];
const DTYPES: [DType; 5] = [
    DType::Bool,
    DType::Int32,
    DType::Int64,
    DType::Float32,
    DType::Float64,
];

/// An array's storage, by dtype.
#[derive(Clone, Debug)]
pub enum Store {
    Bool(ArrayD<bool>),
    I32(ArrayD<i32>),
    I64(ArrayD<i64>),
    F32(ArrayD<f32>),
    F64(ArrayD<f64>),
}

/// A variable: its name, dtype, logical shape, layout and backing storage.
#[derive(Clone, Debug)]
pub struct Var {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub layout: Layout,
    pub store: Store,
}

/// The view of `base` that `layout` and `shape` describe.
fn view_of<'a, T>(array: &'a ArrayD<T>, layout: Layout, shape: &[usize]) -> ArrayViewD<'a, T> {
    let base = array.view();
    match layout {
        Layout::C => base,
        Layout::F => base.reversed_axes(),
        Layout::Strided => {
            let mut v = base;
            for (ax, &n) in shape.iter().enumerate() {
                v.slice_axis_inplace(
                    ndarray::Axis(ax),
                    Slice::new(1, Some(1 + 2 * n as isize), 2),
                );
            }
            v
        }
        Layout::Reversed => {
            let mut v = base;
            for ax in 0..shape.len() {
                v.invert_axis(ndarray::Axis(ax));
            }
            v
        }
        Layout::ZeroStride => array
            .broadcast(IxDyn(shape))
            .unwrap_or_else(|| unreachable!("a size-1 dimension broadcasts")),
    }
}

fn view_mut_of<'a, T>(
    base: ArrayViewMutD<'a, T>,
    layout: Layout,
    shape: &[usize],
) -> ArrayViewMutD<'a, T> {
    match layout {
        Layout::F => base.reversed_axes(),
        Layout::Strided => {
            let mut v = base;
            for (ax, &n) in shape.iter().enumerate() {
                v.slice_axis_inplace(
                    ndarray::Axis(ax),
                    Slice::new(1, Some(1 + 2 * n as isize), 2),
                );
            }
            v
        }
        Layout::Reversed => {
            let mut v = base;
            for ax in 0..shape.len() {
                v.invert_axis(ndarray::Axis(ax));
            }
            v
        }
        _ => base,
    }
}

/// The shape of the storage behind a view of `shape` in `layout`.
fn base_shape(layout: Layout, shape: &[usize]) -> Vec<usize> {
    match layout {
        Layout::C | Layout::Reversed => shape.to_vec(),
        Layout::F => shape.iter().rev().copied().collect(),
        Layout::Strided => shape.iter().map(|d| 2 * d + 2).collect(),
        Layout::ZeroStride => {
            let mut s = shape.to_vec();
            if let Some(d) = s.iter_mut().find(|d| **d > 1) {
                *d = 1;
            }
            s
        }
    }
}

fn float_value(src: &mut impl Source) -> f64 {
    match src.below(20) {
        0 => f64::NAN,
        1 => f64::INFINITY,
        2 => f64::NEG_INFINITY,
        3 => -0.0,
        4 => *src.pick(&[1e300, -1e300, 5e-324, 2.5e-308, 3e9, -3e9, 1e-7]),
        5..=9 => src.below(9) as f64 - 4.0,
        _ => (src.below(4001) as f64 - 2000.0) / 256.0,
    }
}

fn int_value(src: &mut impl Source, wide: bool) -> i64 {
    match src.below(16) {
        0 if wide => *src.pick(&[i64::MIN, i64::MAX, 1 << 40, -(1 << 33)]),
        0 | 1 => *src.pick(&[i32::MIN as i64, i32::MAX as i64, -1, 65536]),
        2..=4 => src.below(3) as i64,
        _ => src.below(41) as i64 - 20,
    }
}

fn store(src: &mut impl Source, dtype: DType, shape: &[usize]) -> Store {
    let n: usize = shape.iter().product();
    let sh = IxDyn(shape);
    let v = |f: &mut dyn FnMut() -> f64| (0..n).map(|_| f()).collect::<Vec<f64>>();
    match dtype {
        DType::Bool => Store::Bool(
            ArrayD::from_shape_vec(sh, (0..n).map(|_| src.chance(50)).collect()).unwrap(),
        ),
        DType::Int32 => Store::I32(
            ArrayD::from_shape_vec(sh, (0..n).map(|_| int_value(src, false) as i32).collect())
                .unwrap(),
        ),
        DType::Int64 => Store::I64(
            ArrayD::from_shape_vec(sh, (0..n).map(|_| int_value(src, true)).collect()).unwrap(),
        ),
        DType::Float32 => {
            let data = v(&mut || float_value(src));
            Store::F32(
                ArrayD::from_shape_vec(sh, data.iter().map(|&x| x as f32).collect()).unwrap(),
            )
        }
        _ => Store::F64(ArrayD::from_shape_vec(sh, v(&mut || float_value(src))).unwrap()),
    }
}

/// One generated case: the source, its inputs and outputs, and how exactly each result agrees.
#[derive(Clone, Debug)]
pub struct Case {
    pub src: String,
    pub inputs: Vec<Var>,
    pub outputs: Vec<Var>,
    /// Per output, how exactly its final values agree.
    pub out_taint: Vec<Taint>,
    /// How exactly the program's value agrees.
    pub taint: Taint,
    /// A lone expression (run through `eval`) rather than a program (`run`).
    pub expression: bool,
    /// Large enough for the parallel paths: compared at 1, 2 and 7 threads.
    pub big: bool,
}

/// Names in scope while generating: what they hold.
#[derive(Clone)]
struct Scope {
    names: Vec<E>,
}

const TRANSCENDENTAL: &[&str] = &[
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh",
    "arccosh", "arctanh", "exp", "expm1", "log", "log10", "log2", "log1p",
];
const TRANSCENDENTAL2: &[&str] = &["arctan2", "hypot"];
/// Continuous functions computed exactly on both paths.
const EXACT1: &[&str] = &[
    "sqrt",
    "abs",
    "radians",
    "degrees",
    "copy",
    "conj",
    "real",
    "imag",
    "ones_like",
];
/// Discontinuous functions: their arguments must be exact.
const DISCONT1: &[&str] = &[
    "ceil", "floor", "round", "trunc", "sign", "isnan", "isfinite", "isinf", "signbit",
];
const EXACT2: &[&str] = &["maximum", "minimum", "nextafter"];
const DISCONT2: &[&str] = &["fmod", "copysign"];
const ARITH: &[&str] = &["+", "-", "*", "/"];
const DISCONT_OPS: &[&str] = &[
    "//", "%", "<<", ">>", "&", "|", "^", "<", "<=", "==", "!=", ">=", ">",
];
const REDUCTIONS: &[&str] = &["sum", "prod", "min", "max", "mean", "any", "all"];

fn broadcast(a: &[usize], b: &[usize]) -> Vec<usize> {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| {
            let x = if i + a.len() >= n {
                a[i + a.len() - n]
            } else {
                1
            };
            let y = if i + b.len() >= n {
                b[i + b.len() - n]
            } else {
                1
            };
            if x == 1 {
                y
            } else {
                x
            }
        })
        .collect()
}

fn join(kinds: &[Kind]) -> Kind {
    if kinds.contains(&Kind::Float) {
        Kind::Float
    } else if kinds.contains(&Kind::Int) {
        Kind::Int
    } else {
        Kind::Bool
    }
}

impl<S: Source> Gen<'_, S> {
    /// The kind the name `name` has in scope now (an output's may change with `o = …`).
    fn kind_of_name(&self, name: &str) -> Kind {
        self.scope
            .names
            .iter()
            .rev()
            .find(|n| n.s == name)
            .map_or(Kind::Float, |n| n.kind)
    }

    /// After `name = e`: the name holds the value itself, of its own dtype (`o0 = 2.5` makes a
    /// float of an int32 output until the program stores it).
    fn rebind(&mut self, name: &str, e: &E) {
        if let Some(n) = self.scope.names.iter_mut().rev().find(|n| n.s == name) {
            n.kind = e.kind;
        }
    }
}

struct Gen<'s, S: Source> {
    src: &'s mut S,
    scope: Scope,
    /// Nodes generated so far (a limit keeps compile time small).
    nodes: usize,
}

impl<S: Source> Gen<'_, S> {
    fn literal(&mut self) -> E {
        let (s, kind) = match self.src.below(12) {
            0 => (self.src.pick(&["True", "False"]).to_string(), Kind::Bool),
            1..=4 => (
                self.src
                    .pick(&["0", "1", "2", "3", "-1", "7", "-20", "2147483648", "65536"])
                    .to_string(),
                Kind::Int,
            ),
            _ => (
                self.src
                    .pick(&[
                        "0.5", "2.5", "-1.5", "0.0", "-0.0", "1e300", "nan", "inf", "pi", "e",
                        "3.0", "1e-310", "0.1",
                    ])
                    .to_string(),
                Kind::Float,
            ),
        };
        E {
            s,
            kind,
            shape: vec![],
            taint: Taint::Exact,
        }
    }

    fn leaf(&mut self, exact: bool) -> E {
        let candidates: Vec<&E> = self
            .scope
            .names
            .iter()
            .filter(|e| !exact || e.taint == Taint::Exact)
            .collect();
        if candidates.is_empty() || self.src.chance(25) {
            return self.literal();
        }
        let e = (*self.src.pick(&candidates)).clone();
        if e.shape.is_empty() || !self.src.chance(20) || !e.s.chars().all(|c| c.is_alphanumeric()) {
            return e;
        }
        // A slice of a named array.
        let mut shape = e.shape.clone();
        let sub = match self.src.below(6) {
            0 => "[::-1]",
            1 => {
                shape[0] = shape[0].saturating_sub(1);
                "[1:]"
            }
            2 => {
                shape[0] = shape[0].div_ceil(2);
                "[::2]"
            }
            3 => {
                shape.insert(0, 1);
                "[None]"
            }
            4 => {
                shape.insert(1, 1);
                "[:, None]"
            }
            _ => {
                let last = shape.len() - 1;
                shape[last] = shape[last].saturating_sub(1);
                "[..., :-1]"
            }
        };
        E {
            s: format!("{}{sub}", e.s),
            shape,
            ..e
        }
    }

    /// An expression of at most `depth` levels; `exact` asks for an untainted one.
    fn expr(&mut self, depth: usize, exact: bool) -> E {
        self.nodes += 1;
        if depth == 0 || self.nodes > 40 || self.src.chance(20) {
            return self.leaf(exact);
        }
        let d = depth - 1;
        match self.src.below(16) {
            0..=3 => {
                let (a, b) = (self.expr(d, exact), self.expr(d, exact));
                let op = *self.src.pick(ARITH);
                let kind = if op == "/" {
                    Kind::Float
                } else {
                    join(&[a.kind, b.kind])
                };
                self.node(
                    format!("({} {op} {})", a.s, b.s),
                    kind,
                    &[&a, &b],
                    Taint::Exact,
                )
            }
            4 | 5 => {
                let (a, b) = (self.expr(d, true), self.expr(d, true));
                let op = *self.src.pick(DISCONT_OPS);
                let kind = if "<=>=!=".contains(op) && op != "<<" && op != ">>" {
                    Kind::Bool
                } else {
                    join(&[a.kind, b.kind])
                };
                self.node(
                    format!("({} {op} {})", a.s, b.s),
                    kind,
                    &[&a, &b],
                    Taint::Exact,
                )
            }
            6 => {
                let a = self.expr(d, exact);
                let op = *self.src.pick(&["-", "~", "+"]);
                let t = if op == "~" { true } else { exact };
                let a = if t && a.taint != Taint::Exact {
                    self.leaf(true)
                } else {
                    a
                };
                self.node(format!("{op}{}", a.s), a.kind, &[&a], Taint::Exact)
            }
            7 if !exact => {
                let a = self.expr(d, true);
                let f = *self.src.pick(TRANSCENDENTAL);
                self.node(format!("{f}({})", a.s), Kind::Float, &[&a], Taint::Ulp)
            }
            7 => {
                let a = self.expr(d, exact);
                let f = *self.src.pick(EXACT1);
                let kind = if f == "sqrt" || f == "radians" || f == "degrees" {
                    Kind::Float
                } else {
                    a.kind
                };
                self.node(format!("{f}({})", a.s), kind, &[&a], Taint::Exact)
            }
            8 => {
                let a = self.expr(d, true);
                let f = *self.src.pick(DISCONT1);
                let kind = if f.starts_with("is") || f == "signbit" {
                    Kind::Bool
                } else {
                    a.kind
                };
                let arg = if f == "signbit" {
                    sign_source(&a)
                } else {
                    a.s.clone()
                };
                self.node(format!("{f}({arg})"), kind, &[&a], Taint::Exact)
            }
            9 => {
                let two = |g: &mut Self, ex| (g.expr(d, ex), g.expr(d, ex));
                if !exact && self.src.chance(40) {
                    let (a, b) = two(self, true);
                    let (f, t) = if self.src.chance(70) {
                        (*self.src.pick(TRANSCENDENTAL2), Taint::Ulp)
                    } else {
                        ("**", Taint::Ulp)
                    };
                    let kind = join(&[a.kind, b.kind]);
                    // `**` on integers is exact (and an error for negative powers).
                    let t = if f == "**" && kind != Kind::Float {
                        Taint::Exact
                    } else {
                        t
                    };
                    let s = if f == "**" {
                        format!("({} ** {})", a.s, b.s)
                    } else {
                        format!("{f}({}, {})", a.s, b.s)
                    };
                    let kind = if f == "**" { kind } else { Kind::Float };
                    self.node(s, kind, &[&a, &b], t)
                } else if self.src.chance(50) {
                    let (a, b) = two(self, exact);
                    let f = *self.src.pick(EXACT2);
                    let kind = if f == "nextafter" {
                        Kind::Float
                    } else {
                        join(&[a.kind, b.kind])
                    };
                    self.node(
                        format!("{f}({}, {})", a.s, b.s),
                        kind,
                        &[&a, &b],
                        Taint::Exact,
                    )
                } else {
                    let (a, b) = two(self, true);
                    let f = *self.src.pick(DISCONT2);
                    let kind = if f == "copysign" {
                        Kind::Float
                    } else {
                        join(&[a.kind, b.kind])
                    };
                    let b_s = if f == "copysign" {
                        sign_source(&b)
                    } else {
                        b.s.clone()
                    };
                    self.node(
                        format!("{f}({}, {b_s})", a.s),
                        kind,
                        &[&a, &b],
                        Taint::Exact,
                    )
                }
            }
            10 => {
                let c = self.expr(d, true);
                let (a, b) = (self.expr(d, exact), self.expr(d, exact));
                let kind = join(&[a.kind, b.kind]);
                self.node(
                    format!("where({}, {}, {})", c.s, a.s, b.s),
                    kind,
                    &[&c, &a, &b],
                    Taint::Exact,
                )
            }
            11 | 12 => self.reduction(d, exact),
            13 if self.src.chance(30) => {
                let n = self.src.below(6);
                if self.src.chance(50) {
                    E {
                        s: format!("arange({n})"),
                        kind: Kind::Int,
                        shape: vec![n],
                        taint: Taint::Exact,
                    }
                } else {
                    E {
                        s: format!("linspace(-1, 2, {n})"),
                        kind: Kind::Float,
                        shape: vec![n],
                        taint: Taint::Exact,
                    }
                }
            }
            14 => {
                // A new axis or a slice of an expression.
                let a = self.expr(d, exact);
                let mut shape = a.shape.clone();
                let sub = if shape.is_empty() || self.src.chance(50) {
                    shape.insert(0, 1);
                    "[None]"
                } else {
                    "[::-1]"
                };
                let s = format!("({}){sub}", a.s);
                E { s, shape, ..a }
            }
            _ => self.leaf(exact),
        }
    }

    fn node(&mut self, s: String, kind: Kind, args: &[&E], own: Taint) -> E {
        let mut shape = vec![];
        let mut taint = Taint::Exact;
        for a in args {
            shape = broadcast(&shape, &a.shape);
            taint = taint.max(a.taint);
        }
        // A value computed from an inexact one is loose; an inexact op on exact ones is `own`.
        let taint = if taint != Taint::Exact {
            Taint::Loose
        } else {
            own
        };
        E {
            s,
            kind,
            shape,
            taint,
        }
    }

    fn reduction(&mut self, d: usize, exact: bool) -> E {
        let f = *self.src.pick(REDUCTIONS);
        let logical = f == "any" || f == "all";
        let a = self.expr(d, exact || logical);
        let rank = a.shape.len();
        let axis = if rank > 0 && self.src.chance(60) {
            let ax = self.src.below(rank + 1);
            // Sometimes out of range (an `axis` error on both paths), sometimes negative.
            if ax == rank && self.src.chance(50) {
                Some(ax as isize)
            } else if self.src.chance(30) {
                Some(ax.min(rank - 1) as isize - rank as isize)
            } else {
                Some(ax.min(rank - 1) as isize)
            }
        } else {
            None
        };
        let (s, shape) = match axis {
            Some(ax) => {
                let u = if ax < 0 { ax + rank as isize } else { ax } as usize;
                let mut shape = a.shape.clone();
                if u < rank {
                    shape.remove(u);
                }
                (format!("{f}({}, axis={ax})", a.s), shape)
            }
            None => (format!("{f}({})", a.s), vec![]),
        };
        let kind = match f {
            "any" | "all" => Kind::Bool,
            "mean" => Kind::Float,
            "sum" | "prod" if a.kind == Kind::Bool => Kind::Int,
            _ => a.kind,
        };
        // Exact even for float sums over views: the oracle folds in the runtime's order
        // (`interp::Order::of` takes the runtime's walk over the operands' strides).
        let own = Taint::Exact;
        let mut e = self.node(s, kind, &[&a], own);
        e.shape = shape;
        if exact && e.taint != Taint::Exact {
            return self.leaf(true);
        }
        e
    }
}

fn make_var(
    src: &mut impl Source,
    name: String,
    dtype: DType,
    shape: Vec<usize>,
    out: bool,
) -> Var {
    let layouts: &[Layout] = if out { &LAYOUTS[..4] } else { &LAYOUTS };
    let mut layout = *src.pick(layouts);
    if layout == Layout::ZeroStride && !shape.iter().any(|&d| d > 1) {
        layout = Layout::C;
    }
    let store = store(src, dtype, &base_shape(layout, &shape));
    Var {
        name,
        dtype,
        shape,
        layout,
        store,
    }
}

/// A shape broadcastable to `target` (leading dimensions dropped, some set to 1), or
/// occasionally one that is not.
fn sub_shape(src: &mut impl Source, target: &[usize]) -> Vec<usize> {
    let drop = src.below(target.len() + 1);
    let mut s: Vec<usize> = target[drop.min(target.len())..].to_vec();
    for d in s.iter_mut() {
        if src.chance(25) {
            *d = 1;
        }
    }
    if !s.is_empty() && src.chance(3) {
        s[0] += 1; // a broadcast error
    }
    s
}

/// Generates one case.
pub fn generate(src: &mut impl Source) -> Case {
    let big = src.chance(1);
    let rank = src.below(4);
    let target: Vec<usize> = if big {
        let mut t = vec![1 << 16, 1];
        if src.chance(50) {
            t = vec![260, 260];
        }
        if src.chance(30) {
            t = vec![70_000];
        }
        t
    } else {
        (0..rank)
            .map(|_| if src.chance(5) { 0 } else { 1 + src.below(6) })
            .collect()
    };
    let mut inputs = Vec::new();
    for k in 0..1 + src.below(4) {
        let dtype = *src.pick(&DTYPES);
        let shape = if big || k == 0 {
            target.clone()
        } else {
            sub_shape(src, &target)
        };
        inputs.push(make_var(src, format!("a{k}"), dtype, shape, false));
    }
    if src.chance(15) {
        let dtype = *src.pick(&DTYPES);
        let v = make_var(src, "z".into(), dtype, vec![], false);
        inputs.push(v);
    }
    let scope = Scope {
        names: inputs
            .iter()
            .map(|v| E {
                s: v.name.clone(),
                kind: kind_of(v.dtype),
                shape: v.shape.clone(),
                taint: Taint::Exact,
            })
            .collect(),
    };
    let mut g = Gen {
        src,
        scope,
        nodes: 0,
    };
    match g.src.below(10) {
        0..=3 => {
            let depth = 2 + g.src.below(4);
            let e = g.expr(depth, false);
            Case {
                src: e.s,
                inputs,
                outputs: vec![],
                out_taint: vec![],
                taint: e.taint,
                expression: true,
                big,
            }
        }
        4..=7 => program(g, inputs, target, big),
        _ => kernel_case(g, inputs, target, big),
    }
}

fn program<S: Source>(mut g: Gen<'_, S>, inputs: Vec<Var>, target: Vec<usize>, big: bool) -> Case {
    let mut outputs = Vec::new();
    for k in 0..1 + g.src.below(3) {
        let dtype = *g.src.pick(&DTYPES);
        let shape = if k == 0 || big || g.src.chance(70) {
            target.clone()
        } else {
            sub_shape(g.src, &target)
        };
        let v = make_var(g.src, format!("o{k}"), dtype, shape, true);
        g.scope.names.push(E {
            s: v.name.clone(),
            kind: kind_of(v.dtype),
            shape: v.shape.clone(),
            taint: Taint::Exact,
        });
        outputs.push(v);
    }
    let mut out_taint = vec![Taint::Exact; outputs.len()];
    let mut text = String::new();
    let mut temps = 0;
    let statements = 1 + g.src.below(5);
    block(
        &mut g,
        &outputs,
        &mut out_taint,
        &mut text,
        &mut temps,
        0,
        statements,
    );
    let mut taint = Taint::Exact;
    if g.src.chance(40) {
        let e = g.expr(2, false);
        taint = e.taint;
        text.push_str(&e.s);
        text.push('\n');
    }
    Case {
        src: text,
        inputs,
        outputs,
        out_taint,
        taint,
        expression: false,
        big,
    }
}

/// `n` statements at indentation `level` (loops nest up to two levels).
fn block<S: Source>(
    g: &mut Gen<'_, S>,
    outputs: &[Var],
    out_taint: &mut [Taint],
    text: &mut String,
    temps: &mut usize,
    level: usize,
    n: usize,
) {
    let indent = "    ".repeat(level);
    for _ in 0..n {
        g.nodes = 0;
        let k = g.src.below(outputs.len());
        let (o, int_out) = (&outputs[k].name, kind_of(outputs[k].dtype) != Kind::Float);
        match g.src.below(12) {
            0..=2 => {
                let e = g.expr(3, int_out);
                out_taint[k] = e.taint;
                text.push_str(&format!("{indent}{o} = {}\n", e.s));
                g.rebind(o, &e);
            }
            3 => {
                let e = g.expr(3, int_out);
                out_taint[k] = e.taint;
                text.push_str(&format!("{indent}{o}[...] = {}\n", e.s));
            }
            4 if !outputs[k].shape.is_empty() => {
                // Aliasing: the output shifted by one along its first axis.
                let e = g.expr(2, true);
                text.push_str(&format!(
                    "{indent}{o}[1:] = {o}[:-1] {} {}\n",
                    g.src.pick(&["+", "*", "-"]),
                    e.s
                ));
            }
            5 | 6 => {
                let e = g.expr(2, int_out);
                let mut op = *g.src.pick(&["+=", "-=", "*=", "/=", "//=", "%="]);
                // `//` and `%` are discontinuous: an ulp in either operand can change the
                // answer, so neither an inexact output nor an inexact divisor goes into one.
                let discontinuous = |op: &str| matches!(op, "//=" | "%=");
                if discontinuous(op) && out_taint[k] != Taint::Exact {
                    op = "*=";
                }
                let e = if discontinuous(op) && e.taint != Taint::Exact {
                    g.leaf(true)
                } else {
                    e
                };
                // A value computed from an inexact one is loose, whichever operand it was.
                if out_taint[k] != Taint::Exact || e.taint != Taint::Exact {
                    out_taint[k] = Taint::Loose;
                }
                text.push_str(&format!("{indent}{o} {op} {}\n", e.s));
            }
            7 => {
                let e = g.expr(3, false);
                let name = format!("t{temps}");
                *temps += 1;
                text.push_str(&format!("{indent}{name} = {}\n", e.s));
                g.scope.names.push(E { s: name, ..e });
            }
            8 | 9 if level < 2 => {
                let trips = *g.src.pick(&["0", "1", "3", "2, 5", "4, 0, -2", "-1"]);
                let var = format!("i{level}");
                text.push_str(&format!("{indent}for {var} in range({trips}):\n"));
                g.scope.names.push(E {
                    s: var,
                    kind: Kind::Int,
                    shape: vec![],
                    taint: Taint::Exact,
                });
                let body = 1 + g.src.below(3);
                let before = out_taint.to_vec();
                let kinds_before: Vec<Kind> =
                    outputs.iter().map(|o| g.kind_of_name(&o.name)).collect();
                let start = text.len();
                block(g, outputs, out_taint, text, temps, level + 1, body);
                // After a body that ran or not, a name has either kind.
                for (o, before) in outputs.iter().zip(kinds_before) {
                    let after = g.kind_of_name(&o.name);
                    if let Some(n) = g.scope.names.iter_mut().find(|n| n.s == o.name) {
                        n.kind = join(&[before, after]);
                    }
                }
                // A later trip's swaps exchange what the earlier trips left: an inexact value
                // may reach any output swapped with its own, whatever the order in the body.
                let pairs = swapped_pairs(&text[start..], outputs);
                let mut changed = true;
                while changed {
                    changed = false;
                    for &(a, b) in &pairs {
                        let t = out_taint[a].max(out_taint[b]);
                        changed |= out_taint[a] != t || out_taint[b] != t;
                        out_taint[a] = t;
                        out_taint[b] = t;
                    }
                }
                // A body may run no times (the values before it remain) or more than once
                // (computing from its own inexact values).
                for (t, b) in out_taint.iter_mut().zip(before) {
                    if (*t).max(b) != Taint::Exact {
                        *t = Taint::Loose;
                    }
                }
                g.scope.names.pop();
            }
            10 if outputs.len() > 1 => {
                let j = g.src.below(outputs.len());
                text.push_str(&format!("{indent}swap({o}, {})\n", outputs[j].name));
                let t = out_taint[k].max(out_taint[j]);
                out_taint[k] = t;
                out_taint[j] = t;
            }
            _ => {
                let e = g.expr(2, int_out);
                out_taint[k] = e.taint;
                text.push_str(&format!("{indent}{o} = {}\n", e.s));
                g.rebind(o, &e);
            }
        }
        // Reading a tainted output in a discontinuous way later is prevented by its taint.
        for e in g.scope.names.iter_mut() {
            if let Some(k) = outputs.iter().position(|v| v.name == e.s) {
                e.taint = out_taint[k];
            }
        }
    }
}

/// A `def` kernel over exact operations, called elementwise on the inputs.
fn kernel_case<S: Source>(
    mut g: Gen<'_, S>,
    inputs: Vec<Var>,
    target: Vec<usize>,
    big: bool,
) -> Case {
    let params = 1 + g.src.below(inputs.len().min(3));
    let names: Vec<String> = (0..params).map(|k| format!("p{k}")).collect();
    let mut text = format!("def f({}):\n", names.join(", "));
    let mut locals: Vec<String> = names.clone();
    text.push_str("    s = p0 * 0\n");
    locals.push("s".into());
    let mut loop_depth = 0;
    let n = 1 + g.src.below(4);
    kernel_block(&mut g, &mut text, &mut locals, 1, &mut loop_depth, n);
    text.push_str(&format!(
        "    return {}\n\n",
        kernel_expr(&mut g, &locals, 2)
    ));
    let args: Vec<String> = (0..params)
        .map(|k| g.scope.names[k % g.scope.names.len()].s.clone())
        .collect();
    let call = format!("f({})", args.join(", "));
    let mut outputs = Vec::new();
    let mut taint = Taint::Exact;
    if g.src.chance(50) {
        let dtype = *g.src.pick(&DTYPES);
        outputs.push(make_var(g.src, "o0".into(), dtype, target, true));
        text.push_str(&format!("o0 = {call} {} 1\n", g.src.pick(&["+", "*", "-"])));
    } else if g.src.chance(50) {
        let wrap = *g.src.pick(&["sum", "max", "abs", ""]);
        // A float sum over several axes: the runtime's order depends on the layout.
        if wrap == "sum" && target.iter().filter(|&&n| n != 1).count() > 1 {
            taint = Taint::Loose;
        }
        text.push_str(&format!("{wrap}({call})\n"));
    } else {
        text.push_str(&format!("{call}\n"));
    }
    Case {
        src: text,
        inputs,
        out_taint: vec![Taint::Exact; outputs.len()],
        outputs,
        taint,
        expression: false,
        big,
    }
}

fn kernel_expr<S: Source>(g: &mut Gen<'_, S>, locals: &[String], depth: usize) -> String {
    if depth == 0 || g.src.chance(30) {
        return if g.src.chance(70) {
            g.src.pick(locals).clone()
        } else {
            g.src
                .pick(&["0", "1", "2", "-3", "0.5", "2.5", "True", "nan", "1e300"])
                .to_string()
        };
    }
    let (a, b) = (
        kernel_expr(g, locals, depth - 1),
        kernel_expr(g, locals, depth - 1),
    );
    match g.src.below(6) {
        0..=2 => format!(
            "({a} {} {b})",
            g.src
                .pick(&["+", "-", "*", "/", "//", "%", "&", "|", "^", "<", "==", ">="])
        ),
        3 => format!(
            "{}({a})",
            g.src.pick(&["abs", "floor", "sqrt", "isnan", "-", "sign"])
        ),
        4 => format!("{}({a}, {b})", g.src.pick(&["maximum", "minimum", "fmod"])),
        _ => format!("where({a} > {b}, {a}, {b})"),
    }
}

fn kernel_block<S: Source>(
    g: &mut Gen<'_, S>,
    text: &mut String,
    locals: &mut Vec<String>,
    level: usize,
    loop_depth: &mut usize,
    n: usize,
) {
    let indent = "    ".repeat(level);
    for _ in 0..n {
        match g.src.below(10) {
            0..=2 => {
                let e = kernel_expr(g, locals, 2);
                let v = if g.src.chance(60) {
                    "s".to_string()
                } else {
                    let v = format!("v{}", locals.len());
                    locals.push(v.clone());
                    v
                };
                text.push_str(&format!("{indent}{v} = {e}\n"));
            }
            3 => {
                let e = kernel_expr(g, locals, 1);
                let op = g.src.pick(&["+=", "-=", "*=", "//="]);
                text.push_str(&format!("{indent}s {op} {e}\n"));
            }
            4 | 5 if level < 4 => {
                let c = kernel_expr(g, locals, 2);
                text.push_str(&format!("{indent}if {c}:\n"));
                let mut inner = locals.clone();
                let n = 1 + g.src.below(2);
                kernel_block(g, text, &mut inner, level + 1, loop_depth, n);
                if g.src.chance(40) {
                    let c = kernel_expr(g, locals, 1);
                    text.push_str(&format!("{indent}elif {c}:\n"));
                    let mut inner = locals.clone();
                    kernel_block(g, text, &mut inner, level + 1, loop_depth, 1);
                }
                if g.src.chance(50) {
                    text.push_str(&format!("{indent}else:\n"));
                    let mut inner = locals.clone();
                    kernel_block(g, text, &mut inner, level + 1, loop_depth, 1);
                }
            }
            6 if level < 4 => {
                let var = format!("k{level}");
                let range = g.src.pick(&["3", "0", "1, 4", "5, 0, -2"]);
                text.push_str(&format!("{indent}for {var} in range({range}):\n"));
                let mut inner = locals.clone();
                inner.push(var);
                *loop_depth += 1;
                let n = 1 + g.src.below(3);
                kernel_block(g, text, &mut inner, level + 1, loop_depth, n);
                *loop_depth -= 1;
            }
            7 if level < 4 => {
                let var = format!("w{level}");
                text.push_str(&format!("{indent}{var} = 0\n"));
                text.push_str(&format!("{indent}while {var} < {}:\n", 1 + g.src.below(4)));
                text.push_str(&format!("{indent}    {var} += 1\n"));
                let mut inner = locals.clone();
                inner.push(var);
                *loop_depth += 1;
                let n = 1 + g.src.below(2);
                kernel_block(g, text, &mut inner, level + 1, loop_depth, n);
                *loop_depth -= 1;
            }
            8 if *loop_depth > 0 => {
                let c = kernel_expr(g, locals, 1);
                let word = g.src.pick(&["break", "continue"]);
                text.push_str(&format!("{indent}if {c}:\n{indent}    {word}\n"));
            }
            _ => {
                let c = kernel_expr(g, locals, 1);
                let e = kernel_expr(g, locals, 2);
                text.push_str(&format!("{indent}if {c}:\n{indent}    return {e}\n"));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Running and comparing.

/// What one check did.
#[derive(Default, Debug, Clone, Copy)]
pub struct Outcome {
    /// The source compiled (otherwise nothing ran).
    pub compiled: bool,
    /// Both paths succeeded and were compared.
    pub compared: bool,
    /// Both paths failed with the same kind.
    pub both_failed: bool,
}

macro_rules! with_views {
    ($var:expr, |$v:ident| $body:expr) => {
        match &$var.store {
            Store::Bool(a) => {
                let $v = view_of(a, $var.layout, &$var.shape);
                $body
            }
            Store::I32(a) => {
                let $v = view_of(a, $var.layout, &$var.shape);
                $body
            }
            Store::I64(a) => {
                let $v = view_of(a, $var.layout, &$var.shape);
                $body
            }
            Store::F32(a) => {
                let $v = view_of(a, $var.layout, &$var.shape);
                $body
            }
            Store::F64(a) => {
                let $v = view_of(a, $var.layout, &$var.shape);
                $body
            }
        }
    };
}

/// The logical values of an output, in C order.
fn values_of(var: &Var) -> Vec<Scalar> {
    with_views!(var, |v| v.iter().map(|x| scalar_of(*x)).collect())
}

trait ToScalar: Copy {
    fn scalar(self) -> Scalar;
}
impl ToScalar for bool {
    fn scalar(self) -> Scalar {
        Scalar::Bool(self)
    }
}
impl ToScalar for i32 {
    fn scalar(self) -> Scalar {
        Scalar::I32(self)
    }
}
impl ToScalar for i64 {
    fn scalar(self) -> Scalar {
        Scalar::I64(self)
    }
}
impl ToScalar for f32 {
    fn scalar(self) -> Scalar {
        Scalar::F32(self)
    }
}
impl ToScalar for f64 {
    fn scalar(self) -> Scalar {
        Scalar::F64(self)
    }
}
fn scalar_of<T: ToScalar>(x: T) -> Scalar {
    x.scalar()
}

/// Binds the inputs and (copies of) the outputs, and runs `f` on the bound variables.
fn with_vars<R>(case: &Case, outs: &mut [Var], f: impl FnOnce(&Vars) -> R) -> R {
    let mut vars = Vars::new();
    for v in &case.inputs {
        with_views!(v, |view| vars.insert(&v.name, view));
    }
    // Outputs: mutable views of each output's own storage.
    let mut muts: Vec<OutView> = Vec::new();
    for o in outs.iter_mut() {
        let (layout, shape) = (o.layout, o.shape.clone());
        muts.push(match &mut o.store {
            Store::Bool(a) => OutView::Bool(view_mut_of(a.view_mut(), layout, &shape)),
            Store::I32(a) => OutView::I32(view_mut_of(a.view_mut(), layout, &shape)),
            Store::I64(a) => OutView::I64(view_mut_of(a.view_mut(), layout, &shape)),
            Store::F32(a) => OutView::F32(view_mut_of(a.view_mut(), layout, &shape)),
            Store::F64(a) => OutView::F64(view_mut_of(a.view_mut(), layout, &shape)),
        });
    }
    for (name, m) in case.outputs.iter().map(|o| &o.name).zip(muts.iter_mut()) {
        vars = match m {
            OutView::Bool(v) => vars.with_out(name, v),
            OutView::I32(v) => vars.with_out(name, v),
            OutView::I64(v) => vars.with_out(name, v),
            OutView::F32(v) => vars.with_out(name, v),
            OutView::F64(v) => vars.with_out(name, v),
        };
    }
    f(&vars)
}

enum OutView<'a> {
    Bool(ArrayViewMutD<'a, bool>),
    I32(ArrayViewMutD<'a, i32>),
    I64(ArrayViewMutD<'a, i64>),
    F32(ArrayViewMutD<'a, f32>),
    F64(ArrayViewMutD<'a, f64>),
}

/// The result of one run: the value (if any) and each output's values.
type Run = Result<(Option<Array>, Vec<Vec<Scalar>>), ErrorKind>;

fn run_once(case: &Case, kernel: &numjit::Kernel, reference: bool) -> Run {
    let mut outs = case.outputs.clone();
    let value = with_vars(case, &mut outs, |vars| match (case.expression, reference) {
        (true, false) => kernel.eval(vars).map(Some),
        (true, true) => kernel.eval_reference(vars).map(Some),
        (false, false) => kernel.run(vars),
        (false, true) => kernel.run_reference(vars),
    })
    .map_err(|e| e.kind())?;
    Ok((value, outs.iter().map(values_of).collect()))
}

fn ulps_apart(a: f64, b: f64) -> u64 {
    let key = |x: f64| {
        let i = x.to_bits() as i64;
        if i < 0 {
            i64::MIN.wrapping_sub(i)
        } else {
            i
        }
    };
    key(a).abs_diff(key(b))
}

fn ulps_apart32(a: f32, b: f32) -> u64 {
    let key = |x: f32| {
        let i = x.to_bits() as i32;
        if i < 0 {
            i32::MIN.wrapping_sub(i)
        } else {
            i
        }
    };
    key(a).abs_diff(key(b)) as u64
}

/// True when `jit` agrees with the oracle's `want` within `taint`'s bound.
pub fn agree(jit: Scalar, want: Scalar, taint: Taint) -> bool {
    match (jit, want) {
        (Scalar::F64(a), Scalar::F64(b)) => float_agree(a, b, ulps_apart(a, b), taint, LOOSE_F64),
        (Scalar::F32(a), Scalar::F32(b)) => {
            float_agree(a as f64, b as f64, ulps_apart32(a, b), taint, LOOSE_F32)
        }
        (a, b) => a == b,
    }
}

fn float_agree(a: f64, b: f64, ulps: u64, taint: Taint, loose: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a.to_bits() == b.to_bits() {
        return true;
    }
    match taint {
        Taint::Exact => false,
        // A float32 result stored in a float64 output: its ulps are float32's.
        Taint::Ulp if a as f32 as f64 == a && b as f32 as f64 == b => {
            ulps_apart32(a as f32, b as f32) <= ULPS
        }
        Taint::Ulp => ulps <= ULPS || a == b,
        Taint::Loose => {
            a == b
                || (a.is_finite()
                    && b.is_finite()
                    && (a - b).abs() <= loose * a.abs().max(b.abs()).max(1.0))
        }
    }
}

/// `e` as an argument whose sign is read (`signbit`, `copysign`'s second): a NaN that an
/// operation made has no specified sign (the hardware's default NaN, or whichever operand's NaN
/// an instruction propagates, which depends on the order of operations: README "Semantics"),
/// so a computed float value is read with its NaNs replaced by 0. An input's NaN keeps its bits.
fn sign_source(e: &E) -> String {
    let is_name = e.s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if e.kind == Kind::Float && !is_name {
        format!("where(isnan({0}), 0.0, {0})", e.s)
    } else {
        e.s.clone()
    }
}

/// The outputs (by index) that the statements `body` exchange with `swap`.
fn swapped_pairs(body: &str, outputs: &[Var]) -> Vec<(usize, usize)> {
    let index = |name: &str| outputs.iter().position(|o| o.name == name.trim());
    body.split("swap(")
        .skip(1)
        .filter_map(|rest| {
            let (a, rest) = rest.split_once(',')?;
            let (b, _) = rest.split_once(')')?;
            Some((index(a)?, index(b)?))
        })
        .collect()
}

fn show(v: &Scalar) -> String {
    match v {
        Scalar::F64(x) => format!("{x:e} ({:#018x})", x.to_bits()),
        Scalar::F32(x) => format!("{x:e}f32 ({:#010x})", x.to_bits()),
        other => format!("{other:?}"),
    }
}

fn compare_values(what: &str, jit: &[Scalar], want: &[Scalar], taint: Taint) -> Result<(), String> {
    if jit.len() != want.len() {
        return Err(format!("{what}: {} values vs {}", jit.len(), want.len()));
    }
    for (k, (a, b)) in jit.iter().zip(want).enumerate() {
        if !agree(*a, *b, taint) {
            return Err(format!(
                "{what}[{k}] (flat, bound {taint:?}): jit {} vs interpreter {}",
                show(a),
                show(b)
            ));
        }
    }
    Ok(())
}

fn flat(a: &Array) -> Vec<Scalar> {
    let n: usize = a.shape().iter().product();
    (0..n).filter_map(|k| a.get_flat(k)).collect()
}

/// Compares two runs: `taint` bounds their value, `out_taint` their outputs.
fn compare_runs(case: &Case, jit: &Run, want: &Run, exact: bool) -> Result<bool, String> {
    match (jit, want) {
        (Err(a), Err(b)) if a == b => Ok(false),
        (Err(a), Err(b)) => Err(format!("error kinds differ: jit {a:?}, interpreter {b:?}")),
        (Ok(_), Err(b)) => Err(format!("jit succeeded, interpreter failed: {b:?}")),
        (Err(a), Ok(_)) => Err(format!("jit failed ({a:?}), interpreter succeeded")),
        (Ok((va, oa)), Ok((vb, ob))) => {
            let bound = |t: Taint| if exact { Taint::Exact } else { t };
            match (va, vb) {
                (Some(a), Some(b)) => {
                    if a.dtype() != b.dtype() || a.shape() != b.shape() {
                        return Err(format!(
                            "value: jit {:?} {:?} vs interpreter {:?} {:?}",
                            a.dtype(),
                            a.shape(),
                            b.dtype(),
                            b.shape()
                        ));
                    }
                    compare_values("value", &flat(a), &flat(b), bound(case.taint))?;
                }
                (None, None) => {}
                _ => return Err("one path gave a value, the other none".into()),
            }
            for (k, (a, b)) in oa.iter().zip(ob).enumerate() {
                compare_values(&case.outputs[k].name, a, b, bound(case.out_taint[k]))?;
            }
            Ok(true)
        }
    }
}

/// Runs `case` through the oracle and the JIT (at 1, 2 and 7 threads when it is big) and
/// compares them. An error describes the first disagreement.
pub fn check(case: &Case, engine: &Engine) -> Result<Outcome, String> {
    let mut vars_sig = Vars::new();
    for v in &case.inputs {
        with_views!(v, |view| vars_sig.insert(&v.name, view));
    }
    let mut sig = vars_sig.signature();
    for o in &case.outputs {
        sig = sig.with_out(&o.name, o.dtype, o.shape.len());
    }
    drop(vars_sig);
    let kernel = match engine.compile(&case.src, &sig) {
        Ok(k) => k,
        Err(e) if e.kind() == ErrorKind::Internal => {
            return Err(format!("internal error at compile time: {e}"))
        }
        Err(_) => return Ok(Outcome::default()),
    };
    let want = run_once(case, &kernel, true);
    if let Err(ErrorKind::Limit) = want {
        // The oracle holds every node's value as 16-byte scalars: a value the JIT streams
        // (a big case's `a[:, None] + a`) may be more than it can allocate. Nothing to compare.
        return Ok(Outcome {
            compiled: true,
            ..Outcome::default()
        });
    }
    let jit = run_once(case, &kernel, false);
    if let Err(ErrorKind::Internal) = jit {
        return Err("internal error in the JIT".into());
    }
    let compared = compare_runs(case, &jit, &want, false)?;
    if case.big {
        let before = numjit::num_threads();
        for threads in [1, 2, 7] {
            numjit::set_num_threads(threads);
            let other = run_once(case, &kernel, false);
            compare_runs(case, &other, &jit, true)
                .map_err(|e| format!("at {threads} threads against the first run: {e}"))?;
        }
        numjit::set_num_threads(before);
    }
    Ok(Outcome {
        compiled: true,
        compared,
        both_failed: !compared,
    })
}

/// A reproducible description of a case for a failure message.
pub fn describe(case: &Case) -> String {
    let mut s = format!("source:\n{}\n", case.src);
    for v in case.inputs.iter().chain(&case.outputs) {
        let values: Vec<String> = values_of(v).iter().take(64).map(show).collect();
        s.push_str(&format!(
            "{} {:?} {:?} {:?}: [{}]\n",
            v.name,
            v.dtype,
            v.shape,
            v.layout,
            values.join(", ")
        ));
    }
    s
}
