//! Results: an n-d array of whichever dtype the expression produced.

use std::fmt;

use ndarray::ArrayD;

use crate::core::dtype::{Complex32, Complex64, DType, Element, Scalar};
use crate::core::error::{Error, ErrorKind};

/// The result of an evaluation: an owned, C-ordered array of the expression's dtype.
///
/// ```
/// let a = ndarray::arr1(&[1.0, -2.0]);
/// let r = numjit::evaluate("a > 0", &numjit::Vars::new().with("a", &a))?;
/// assert_eq!(r.dtype(), numjit::DType::Bool);
/// let mask: ndarray::ArrayD<bool> = r.try_into()?;
/// assert_eq!(mask.as_slice().unwrap(), &[true, false]);
/// # Ok::<(), numjit::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Array {
    /// `bool` elements.
    Bool(ArrayD<bool>),
    /// `int32` elements.
    Int32(ArrayD<i32>),
    /// `int64` elements.
    Int64(ArrayD<i64>),
    /// `float32` elements.
    Float32(ArrayD<f32>),
    /// `float64` elements.
    Float64(ArrayD<f64>),
    /// `complex64` elements.
    Complex64(ArrayD<Complex32>),
    /// `complex128` elements.
    Complex128(ArrayD<Complex64>),
}

macro_rules! each {
    ($self:expr, $a:ident => $e:expr) => {
        match $self {
            Array::Bool($a) => $e,
            Array::Int32($a) => $e,
            Array::Int64($a) => $e,
            Array::Float32($a) => $e,
            Array::Float64($a) => $e,
            Array::Complex64($a) => $e,
            Array::Complex128($a) => $e,
        }
    };
}

impl Array {
    /// The element dtype.
    ///
    /// ```
    /// let r = numjit::evaluate("1 + 2", &numjit::Vars::new())?;
    /// assert_eq!(r.dtype(), numjit::DType::Int64);
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn dtype(&self) -> DType {
        match self {
            Array::Bool(_) => DType::Bool,
            Array::Int32(_) => DType::Int32,
            Array::Int64(_) => DType::Int64,
            Array::Float32(_) => DType::Float32,
            Array::Float64(_) => DType::Float64,
            Array::Complex64(_) => DType::Complex64,
            Array::Complex128(_) => DType::Complex128,
        }
    }

    /// The shape.
    ///
    /// ```
    /// let r = numjit::evaluate("2.0", &numjit::Vars::new())?;
    /// assert!(r.shape().is_empty());
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn shape(&self) -> &[usize] {
        each!(self, a => a.shape())
    }

    /// The `float64` array, if that is the dtype.
    ///
    /// ```
    /// let r = numjit::evaluate("pi", &numjit::Vars::new())?;
    /// assert_eq!(r.as_f64().unwrap()[[]], std::f64::consts::PI);
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn as_f64(&self) -> Option<&ArrayD<f64>> {
        match self {
            Array::Float64(a) => Some(a),
            _ => None,
        }
    }

    /// The `int64` array, if that is the dtype.
    ///
    /// ```
    /// let r = numjit::evaluate("7 // 2", &numjit::Vars::new())?;
    /// assert_eq!(r.as_i64().unwrap()[[]], 3);
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn as_i64(&self) -> Option<&ArrayD<i64>> {
        match self {
            Array::Int64(a) => Some(a),
            _ => None,
        }
    }

    /// Converts to a `float64` array whatever the dtype (`bool` → 0/1, complex → real part).
    ///
    /// ```
    /// let r = numjit::evaluate("3 > 2", &numjit::Vars::new())?;
    /// assert_eq!(r.to_f64()[[]], 1.0);
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn to_f64(&self) -> ArrayD<f64> {
        each!(self, a => a.mapv(|v| v.to_scalar().as_f64()))
    }

    /// The element at a flat C-order index, as a [`Scalar`].
    ///
    /// ```
    /// let r = numjit::evaluate("2 * 3", &numjit::Vars::new())?;
    /// assert_eq!(r.get_flat(0), Some(numjit::Scalar::I64(6)));
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn get_flat(&self, i: usize) -> Option<Scalar> {
        // Results are C-ordered, so this is a slice index; other layouts walk the iterator.
        each!(self, a => match a.as_slice() {
            Some(s) => s.get(i).map(|v| v.to_scalar()),
            None => a.iter().nth(i).map(|v| v.to_scalar()),
        })
    }
}

impl<T: Element> TryFrom<Array> for ArrayD<T> {
    type Error = Error;

    /// Unwraps the array if its dtype is `T`'s; an `Output` error names both dtypes otherwise.
    fn try_from(a: Array) -> Result<ArrayD<T>, Error> {
        let found = a.dtype();
        let mismatch = || {
            Error::new(
                ErrorKind::Output,
                format!("result has dtype {found}, not {}", T::DTYPE),
            )
        };
        if found != T::DTYPE {
            return Err(mismatch());
        }
        each!(a, x => {
            let any: Box<dyn std::any::Any> = Box::new(x);
            any.downcast::<ArrayD<T>>().map(|b| *b).map_err(|_| mismatch())
        })
    }
}

impl fmt::Display for Array {
    /// NumPy-like: `array([1., 2.], dtype=float64)` with an elided middle for big arrays.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shape = self.shape().to_vec();
        let n: usize = shape.iter().product();
        let items: Vec<String> = if n > 1000 {
            let head = (0..3).filter_map(|i| self.get_flat(i));
            let tail = (n - 3..n).filter_map(|i| self.get_flat(i));
            let mut v: Vec<String> = head.map(fmt_element).collect();
            v.push("...".into());
            v.extend(tail.map(fmt_element));
            v
        } else {
            (0..n)
                .filter_map(|i| self.get_flat(i))
                .map(if shape.is_empty() {
                    fmt_scalar
                } else {
                    fmt_element
                })
                .collect()
        };
        if shape.is_empty() {
            return write!(
                f,
                "{} ({})",
                items.first().map(String::as_str).unwrap_or(""),
                self.dtype()
            );
        }
        write!(
            f,
            "array([{}], shape={}, dtype={})",
            items.join(", "),
            crate::core::shape::fmt_shape(&shape),
            self.dtype()
        )
    }
}

/// An element of an array: complex numbers as NumPy writes them in one (`1.+2.j`).
fn fmt_element(s: Scalar) -> String {
    match s {
        Scalar::C64(_) | Scalar::C128(_) => {
            let (re, im) = s.parts();
            let im_s = fmt_float(im);
            let sign = if im_s.starts_with('-') { "" } else { "+" };
            format!("{}{sign}{im_s}j", fmt_float(re))
        }
        other => fmt_scalar(other),
    }
}

/// A 0-d result: complex numbers as Python writes them (`(1+2j)`).
fn fmt_scalar(s: Scalar) -> String {
    match s {
        Scalar::F64(v) => fmt_float(v),
        Scalar::F32(v) => fmt_float(v as f64),
        other => other.to_string(),
    }
}

fn fmt_float(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.into()
    } else if v == v.trunc() && v.abs() < 1e16 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}
