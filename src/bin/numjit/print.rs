//! How the REPL shows things: arrays the way NumPy prints them (nested brackets, aligned columns,
//! an elided middle past 1000 elements, wrapped at 75 columns), plus byte counts and durations.

use std::time::Duration;

use ndarray::{ArrayViewD, Axis};
use numjit::Array;

/// Arrays with more elements than this are summarized (NumPy's `threshold`).
const THRESHOLD: usize = 1000;
/// Elements kept at each end of a summarized axis (NumPy's `edgeitems`).
const EDGE_ITEMS: usize = 3;
/// Where rows of numbers wrap (NumPy's `linewidth`).
const LINE_WIDTH: usize = 75;
/// Significant fractional digits of floats (NumPy's `precision`).
const PRECISION: usize = 8;

/// An array as NumPy would print it, with its shape and dtype:
/// `array([0.0, 0.5, 1.0], shape=(3,), dtype=float64)`; a 0-d array as `0.5 (float64)`.
pub fn array(a: &Array) -> String {
    let summarize = a.shape().iter().product::<usize>() > THRESHOLD;
    let body = match a {
        Array::Bool(x) => layout(x.view(), summarize, |v| {
            if *v { "True" } else { "False" }.to_string()
        }),
        Array::Int32(x) => layout(x.view(), summarize, |v| v.to_string()),
        Array::Int64(x) => layout(x.view(), summarize, |v| v.to_string()),
        // Each float carries its shortest text in its own dtype, so float32 `0.1` prints as
        // `0.1`, not as its float64 widening `0.10000000149011612`.
        Array::Float32(x) => {
            let shown = shown(x.view(), summarize).into_iter();
            let format = FloatFormat::new(shown.map(|v| (*v as f64, v.to_string())));
            layout(x.view(), summarize, |v| {
                format.cell(*v as f64, v.to_string())
            })
        }
        Array::Float64(x) => {
            let shown = shown(x.view(), summarize).into_iter();
            let format = FloatFormat::new(shown.map(|v| (*v, v.to_string())));
            layout(x.view(), summarize, |v| format.cell(*v, v.to_string()))
        }
        // A complex scalar as Python writes it, `(1+2j)`; in an array as NumPy does, `1.+2.j`,
        // each part aligned like a float array's.
        Array::Complex64(_) | Array::Complex128(_) if a.shape().is_empty() => {
            a.get_flat(0).map_or_else(String::new, |s| s.to_string())
        }
        Array::Complex64(_) | Array::Complex128(_) => {
            let parts = |s: numjit::Scalar| s.parts();
            let text = |v: f64, c64: bool| {
                if c64 {
                    (v as f32).to_string()
                } else {
                    v.to_string()
                }
            };
            let c64 = a.dtype() == numjit::DType::Complex64;
            let n = a.shape().iter().product::<usize>();
            let all: Vec<(f64, f64)> = (0..n).filter_map(|i| a.get_flat(i)).map(parts).collect();
            let re = FloatFormat::new(all.iter().map(|p| (p.0, text(p.0, c64))));
            let im = FloatFormat::new(all.iter().map(|p| (p.1.abs(), text(p.1.abs(), c64))));
            let cell = |(r, i): (f64, f64)| {
                let sign = if i.is_sign_negative() { '-' } else { '+' };
                let im_cell = im.cell(i.abs(), text(i.abs(), c64));
                format!(
                    "{}{sign}{}j",
                    re.cell(r, text(r, c64)),
                    im_cell.trim_start()
                )
            };
            let pairs = ndarray::ArrayD::from_shape_vec(a.shape(), all.clone())
                .unwrap_or_else(|_| unreachable!("one pair per element"));
            layout(pairs.view(), summarize, |p| cell(*p))
        }
    };
    if a.shape().is_empty() {
        return format!("{body} ({})", a.dtype());
    }
    format!(
        "array({body}, shape={}, dtype={})",
        shape(a.shape()),
        a.dtype()
    )
}

/// A shape as NumPy writes it: `()`, `(3,)`, `(2, 4)`.
pub fn shape(s: &[usize]) -> String {
    match s {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            s.iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A byte count for people: `800 B`, `80.0 MB` (powers of 1000, as bandwidths are quoted).
pub fn bytes(n: usize) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A duration with three significant digits in a fitting unit: `812 ns`, `1.25 ms`, `2.00 s`.
pub fn duration(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    let (value, unit) = if ns < 1e3 {
        (ns, "ns")
    } else if ns < 1e6 {
        (ns / 1e3, "µs")
    } else if ns < 1e9 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    format!("{} {unit}", three_digits(value))
}

/// `value` with three significant digits, without exponent: `1.23`, `12.3`, `123`.
pub fn three_digits(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// The elements that will be printed, in order (all of them unless summarized).
fn shown<T>(a: ArrayViewD<'_, T>, summarize: bool) -> Vec<&T> {
    let mut out = Vec::new();
    collect_shown(a, summarize, &mut out);
    out
}

fn collect_shown<'a, T>(a: ArrayViewD<'a, T>, summarize: bool, out: &mut Vec<&'a T>) {
    if a.ndim() == 0 {
        out.extend(a);
        return;
    }
    for i in kept_indices(a.len_of(Axis(0)), summarize)
        .into_iter()
        .flatten()
    {
        collect_shown(a.clone().index_axis_move(Axis(0), i), summarize, out);
    }
}

/// Indices printed along an axis of length `len`; `None` stands for the `...` of a summary.
fn kept_indices(len: usize, summarize: bool) -> Vec<Option<usize>> {
    if summarize && len > 2 * EDGE_ITEMS {
        (0..EDGE_ITEMS)
            .map(Some)
            .chain([None])
            .chain((len - EDGE_ITEMS..len).map(Some))
            .collect()
    } else {
        (0..len).map(Some).collect()
    }
}

/// Nested brackets with every element right-aligned to the widest one.
fn layout<T>(a: ArrayViewD<'_, T>, summarize: bool, cell: impl Fn(&T) -> String) -> String {
    let width = shown(a.view(), summarize)
        .into_iter()
        .map(|v| cell(v).chars().count())
        .max()
        .unwrap_or(0);
    let cell = |v: &T| format!("{:>width$}", cell(v));
    // Rows start under the first `[`, which `array(` pushes six columns right.
    block(a, summarize, &cell, " ".repeat("array(".len()).as_str())
}

/// One bracketed block; `indent` is the column of its `[` for the lines after the first.
fn block<T>(
    a: ArrayViewD<'_, T>,
    summarize: bool,
    cell: &dyn Fn(&T) -> String,
    indent: &str,
) -> String {
    match a.ndim() {
        0 => a.iter().next().map(cell).unwrap_or_default(),
        1 => {
            let items: Vec<String> = kept_indices(a.len(), summarize)
                .into_iter()
                .map(|i| i.map_or_else(|| "...".to_string(), |i| cell(&a[[i]])))
                .collect();
            format!("[{}]", wrap(&items, indent))
        }
        ndim => {
            let inner_indent = format!("{indent} ");
            let rows: Vec<String> = kept_indices(a.len_of(Axis(0)), summarize)
                .into_iter()
                .map(|i| match i {
                    Some(i) => block(a.index_axis(Axis(0), i), summarize, cell, &inner_indent),
                    None => "...".to_string(),
                })
                .collect();
            // NumPy separates 2-d rows by a newline and 3-d blocks by a blank line, and so on.
            let separator = format!(",{}{inner_indent}", "\n".repeat(ndim - 1));
            format!("[{}]", rows.join(&separator))
        }
    }
}

/// Joins `items` with `, `, breaking lines before they pass [`LINE_WIDTH`]; continuation lines
/// start one column right of `indent`, under the first item.
fn wrap(items: &[String], indent: &str) -> String {
    let mut out = String::new();
    let mut column = indent.len() + 1;
    for (i, item) in items.iter().enumerate() {
        let width = item.chars().count();
        if i > 0 {
            out.push(',');
            column += 1;
            // `+ 2`: the space before the item and the `,` or `]` after it.
            if column + width + 2 > LINE_WIDTH {
                out.push('\n');
                out.push_str(indent);
                out.push(' ');
                column = indent.len() + 1;
            } else {
                out.push(' ');
                column += 1;
            }
        }
        out.push_str(item);
        column += width;
    }
    out
}

/// How the floats of one array are written: one style for all of them (NumPy's choice), and
/// decimal points aligned — fractions padded with spaces, or with zeros in scientific style.
struct FloatFormat {
    style: FloatStyle,
    int_width: usize,
    fraction_width: usize,
}

impl FloatFormat {
    /// Fitted to the shown elements, each with its shortest text.
    fn new(values: impl Iterator<Item = (f64, String)>) -> FloatFormat {
        let values: Vec<(f64, String)> = values.collect();
        let style = FloatStyle::choose(values.iter().map(|(v, _)| *v));
        let mut format = FloatFormat {
            style,
            int_width: 0,
            fraction_width: 0,
        };
        for (v, shortest) in values.into_iter().filter(|(v, _)| v.is_finite()) {
            let (int, fraction, _) = style.parts(v, shortest);
            format.int_width = format.int_width.max(int.len());
            format.fraction_width = format.fraction_width.max(fraction.len());
        }
        format
    }

    fn cell(&self, v: f64, shortest: String) -> String {
        if v.is_nan() {
            return "nan".into();
        }
        if v.is_infinite() {
            return if v > 0.0 { "inf" } else { "-inf" }.into();
        }
        let (int, fraction, exponent) = self.style.parts(v, shortest);
        let (iw, fw) = (self.int_width, self.fraction_width);
        match self.style {
            FloatStyle::Positional => format!("{int:>iw$}.{fraction:<fw$}"),
            FloatStyle::Scientific => format!("{int:>iw$}.{fraction:0<fw$}{exponent}"),
        }
    }
}

/// NumPy's choice for a whole array: positional (`0.25`) unless magnitudes are huge, tiny or
/// far apart, then scientific (`2.5e-05`) for every element, so columns stay comparable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FloatStyle {
    Positional,
    Scientific,
}

impl FloatStyle {
    fn choose(values: impl Iterator<Item = f64>) -> FloatStyle {
        let magnitudes = values.filter(|v| v.is_finite() && *v != 0.0).map(f64::abs);
        let (min, max) = magnitudes.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        if max >= 1e16 || (max > 0.0 && (min < 1e-4 || max / min > 1e3)) {
            FloatStyle::Scientific
        } else {
            FloatStyle::Positional
        }
    }

    /// A finite value's integer part (with sign), fraction digits and exponent (`e-05`, or
    /// empty in positional style).
    fn parts(self, v: f64, shortest: String) -> (String, String, String) {
        let text = match self {
            FloatStyle::Positional => positional(v, shortest),
            FloatStyle::Scientific => scientific(v),
        };
        let (number, exponent) = match text.find('e') {
            Some(i) => (&text[..i], &text[i..]),
            None => (text.as_str(), ""),
        };
        let (int, fraction) = number.split_once('.').unwrap_or((number, ""));
        (int.to_string(), fraction.to_string(), exponent.to_string())
    }
}

fn positional(v: f64, shortest: String) -> String {
    let fraction_digits = shortest.split_once('.').map_or(0, |(_, f)| f.len());
    let text = if shortest.contains('e') || fraction_digits > PRECISION {
        trim_zeros(format!("{v:.PRECISION$}"))
    } else {
        shortest
    };
    if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    }
}

fn scientific(v: f64) -> String {
    let text = format!("{v:.PRECISION$e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let mut mantissa = trim_zeros(mantissa.to_string());
    if !mantissa.contains('.') {
        mantissa.push_str(".0");
    }
    let (sign, digits) = match exponent.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exponent),
    };
    format!("{mantissa}e{sign}{digits:0>2}")
}

/// `1.50000000` → `1.5`, `2.00000000` → `2.0`.
fn trim_zeros(text: String) -> String {
    if !text.contains('.') {
        return text;
    }
    let trimmed = text.trim_end_matches('0');
    if trimmed.ends_with('.') {
        format!("{trimmed}0")
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr1, arr2, ArrayD, IxDyn};

    #[test]
    fn vectors_and_scalars() {
        let a = Array::Float64(arr1(&[0.0, 0.5, 1.0]).into_dyn());
        assert_eq!(
            array(&a),
            "array([0.0, 0.5, 1.0], shape=(3,), dtype=float64)"
        );
        let s = Array::Int64(ndarray::arr0(42i64).into_dyn());
        assert_eq!(array(&s), "42 (int64)");
        let b = Array::Bool(arr1(&[true, false]).into_dyn());
        assert_eq!(array(&b), "array([ True, False], shape=(2,), dtype=bool)");
    }

    #[test]
    fn matrices_align_columns() {
        let m = Array::Int32(arr2(&[[1, -20], [300, 4]]).into_dyn());
        assert_eq!(
            array(&m),
            "array([[  1, -20],\n       [300,   4]], shape=(2, 2), dtype=int32)"
        );
    }

    #[test]
    fn big_arrays_are_summarized_on_every_axis() {
        let big = Array::Int64(ArrayD::from_shape_fn(IxDyn(&[100, 100]), |i| {
            (i[0] * 100 + i[1]) as i64
        }));
        let text = array(&big);
        assert!(
            text.starts_with("array([[   0,    1,    2, ...,   97,   98,   99],\n"),
            "{text}"
        );
        assert!(text.contains("\n       ...,\n"), "{text}");
        assert!(
            text.ends_with("9999]], shape=(100, 100), dtype=int64)"),
            "{text}"
        );
    }

    #[test]
    fn long_rows_wrap() {
        let a = Array::Int64(ArrayD::from_shape_fn(IxDyn(&[40]), |i| i[0] as i64));
        let text = array(&a);
        assert!(text.lines().count() > 1);
        assert!(
            text.lines().all(|l| l.chars().count() <= LINE_WIDTH),
            "{text}"
        );
        assert!(
            text.lines().nth(1).unwrap().starts_with("       "),
            "{text}"
        );
    }

    #[test]
    fn floats_like_numpy() {
        let f = |v: &[f64]| array(&Array::Float64(arr1(v).into_dyn()));
        assert!(f(&[1.0 / 3.0]).contains("[0.33333333]"));
        assert!(f(&[1e-5, 1.0]).contains("[1.0e-05, 1.0e+00]"));
        assert!(
            f(&[0.0, 0.25, 10.5]).contains("[ 0.0 ,  0.25, 10.5 ]"),
            "{}",
            f(&[0.0, 0.25, 10.5])
        );
        assert!(f(&[2e-7, 1.5]).contains("[2.0e-07, 1.5e+00]"));
        assert!(f(&[2.5e-7, 1.0]).contains("[2.5e-07, 1.0e+00]"));
        assert!(f(&[f64::NAN, -f64::INFINITY]).contains("[ nan, -inf]"));
        let g = array(&Array::Float32(arr1(&[0.1f32, 2.0]).into_dyn()));
        assert!(g.contains("[0.1, 2.0]"), "{g}");
    }

    #[test]
    fn units() {
        assert_eq!(bytes(800), "800 B");
        assert_eq!(bytes(80_000_000), "80.0 MB");
        assert_eq!(duration(Duration::from_micros(1250)), "1.25 ms");
        assert_eq!(shape(&[]), "()");
        assert_eq!(shape(&[2, 3]), "(2, 3)");
    }
}
