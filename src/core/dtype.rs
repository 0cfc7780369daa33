//! Element types, their promotion rules (NumPy 2 / NEP 50) and a dynamically typed scalar.

use std::fmt;

pub use num_complex::{Complex32, Complex64};

/// The element types numjit computes with.
///
/// ```
/// use numjit::DType;
/// assert_eq!(DType::Int32.promote(DType::Float32), DType::Float64); // as NumPy
/// assert_eq!(DType::Float32.size(), 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// `bool`, stored as one byte holding 0 or 1.
    Bool,
    /// `int32`
    Int32,
    /// `int64`
    Int64,
    /// `float32`
    Float32,
    /// `float64`
    Float64,
    /// `complex64`: two `float32`, real part first.
    Complex64,
    /// `complex128`: two `float64`, real part first.
    Complex128,
    /// NumPy's `S<n>`: byte strings of a fixed `n` bytes each, NUL-padded. They are compared
    /// (`== != < <= > >=`, as if trailing NULs were stripped) and searched (`contains`), which
    /// gives bool; nothing else computes with them.
    Bytes(u32),
}

impl DType {
    /// All dtypes, in promotion order.
    pub const ALL: [DType; 7] = [
        DType::Bool,
        DType::Int32,
        DType::Int64,
        DType::Float32,
        DType::Float64,
        DType::Complex64,
        DType::Complex128,
    ];

    /// The NumPy name (`"float64"`).
    ///
    /// ```
    /// assert_eq!(numjit::DType::Bool.name(), "bool");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::Int32 => "int32",
            DType::Int64 => "int64",
            DType::Float32 => "float32",
            DType::Float64 => "float64",
            DType::Complex64 => "complex64",
            DType::Complex128 => "complex128",
            DType::Bytes(_) => "bytes",
        }
    }

    /// True for the byte strings `S<n>`.
    ///
    /// ```
    /// assert!(numjit::DType::Bytes(3).is_bytes());
    /// assert_eq!(numjit::DType::Bytes(3).to_string(), "S3");
    /// ```
    pub fn is_bytes(self) -> bool {
        matches!(self, DType::Bytes(_))
    }

    /// Parses a NumPy dtype name (`"f8"`-style codes too; `"S5"` or `"|S5"` for bytes).
    ///
    /// ```
    /// assert_eq!(numjit::DType::from_name("f4"), Some(numjit::DType::Float32));
    /// assert_eq!(numjit::DType::from_name("S5"), Some(numjit::DType::Bytes(5)));
    /// ```
    pub fn from_name(name: &str) -> Option<DType> {
        Some(match name {
            "bool" | "?" | "b1" => DType::Bool,
            "int32" | "i4" => DType::Int32,
            "int64" | "i8" => DType::Int64,
            "float32" | "f4" => DType::Float32,
            "float64" | "f8" => DType::Float64,
            "complex64" | "c8" => DType::Complex64,
            "complex128" | "c16" => DType::Complex128,
            _ => {
                let n = name.strip_prefix('|').unwrap_or(name);
                let n = n.strip_prefix('S').or_else(|| n.strip_prefix("bytes"))?;
                return n.parse().ok().map(DType::Bytes);
            }
        })
    }

    /// Size of one element in bytes.
    ///
    /// ```
    /// assert_eq!(numjit::DType::Int64.size(), 8);
    /// ```
    pub fn size(self) -> usize {
        match self {
            DType::Bool => 1,
            DType::Int32 | DType::Float32 => 4,
            DType::Int64 | DType::Float64 | DType::Complex64 => 8,
            DType::Complex128 => 16,
            DType::Bytes(n) => n as usize,
        }
    }

    /// True for `float32` and `float64`.
    ///
    /// ```
    /// assert!(numjit::DType::Float32.is_float());
    /// ```
    pub fn is_float(self) -> bool {
        matches!(self, DType::Float32 | DType::Float64)
    }

    /// True for `complex64` and `complex128`.
    ///
    /// ```
    /// assert!(numjit::DType::Complex64.is_complex());
    /// ```
    pub fn is_complex(self) -> bool {
        matches!(self, DType::Complex64 | DType::Complex128)
    }

    /// The float dtype of a complex dtype's parts (`complex64` → `float32`); other dtypes are
    /// their own.
    ///
    /// ```
    /// assert_eq!(numjit::DType::Complex128.part(), numjit::DType::Float64);
    /// ```
    pub fn part(self) -> DType {
        match self {
            DType::Complex64 => DType::Float32,
            DType::Complex128 => DType::Float64,
            d => d,
        }
    }

    /// The complex dtype whose parts have the float dtype of `self` (`float32` → `complex64`,
    /// anything else but complex64 → `complex128`).
    ///
    /// ```
    /// assert_eq!(numjit::DType::Float32.complex_of(), numjit::DType::Complex64);
    /// assert_eq!(numjit::DType::Int32.complex_of(), numjit::DType::Complex128);
    /// ```
    pub fn complex_of(self) -> DType {
        match self {
            DType::Float32 | DType::Complex64 => DType::Complex64,
            _ => DType::Complex128,
        }
    }

    /// True for `int32` and `int64`.
    ///
    /// ```
    /// assert!(!numjit::DType::Bool.is_int());
    /// ```
    pub fn is_int(self) -> bool {
        matches!(self, DType::Int32 | DType::Int64)
    }

    /// The dtype NumPy gives a binary operation between two arrays of these dtypes.
    ///
    /// ```
    /// use numjit::DType::*;
    /// assert_eq!(Int64.promote(Float32), Float64);
    /// assert_eq!(Bool.promote(Int32), Int32);
    /// ```
    pub fn promote(self, other: DType) -> DType {
        use DType::*;
        match (self.max(other), self.min(other)) {
            // float32 cannot hold every int32/int64 exactly: NumPy goes to float64.
            (Float32, Int32 | Int64) => Float64,
            // complex64 has float32 parts: as float32, anything wider goes to complex128.
            (Complex64, Int32 | Int64 | Float64) => Complex128,
            (hi, _) => hi,
        }
    }

    /// The float dtype a float function (`sqrt`, `sin`, `/`) computes in for this input dtype.
    ///
    /// ```
    /// assert_eq!(numjit::DType::Int32.float_of(), numjit::DType::Float64);
    /// assert_eq!(numjit::DType::Float32.float_of(), numjit::DType::Float32);
    /// ```
    ///
    /// Complex dtypes are their own.
    pub fn float_of(self) -> DType {
        match self {
            DType::Float32 | DType::Complex64 | DType::Complex128 => self,
            _ => DType::Float64,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DType::Bytes(n) => write!(f, "S{n}"),
            d => f.write_str(d.name()),
        }
    }
}

/// A type as lowering tracks it: a dtype, and whether it comes from Python-style literals only
/// ("weak", NEP 50), in which case the other operand's dtype wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ty {
    pub dtype: DType,
    pub weak: bool,
}

impl Ty {
    pub fn strong(dtype: DType) -> Ty {
        Ty { dtype, weak: false }
    }

    pub fn weak(dtype: DType) -> Ty {
        Ty { dtype, weak: true }
    }

    /// NEP 50 promotion of two operand types.
    pub fn promote(self, other: Ty) -> Ty {
        match (self.weak, other.weak) {
            (false, false) | (true, true) => Ty {
                dtype: self.dtype.promote(other.dtype),
                weak: self.weak,
            },
            (true, false) => weak_with_strong(self.dtype, other.dtype),
            (false, true) => weak_with_strong(other.dtype, self.dtype),
        }
    }
}

/// A Python scalar meets an array: the array's dtype wins unless the scalar is of a higher kind.
fn weak_with_strong(weak: DType, strong: DType) -> Ty {
    let dtype = match (weak, strong) {
        (DType::Float64, DType::Bool | DType::Int32 | DType::Int64) => DType::Float64,
        (DType::Int64, DType::Bool) => DType::Int64,
        // `1j` keeps a float array's precision (`f32 + 1j` is complex64, NumPy 2).
        (DType::Complex128, s) if !s.is_complex() => s.complex_of(),
        _ => strong,
    };
    Ty::strong(dtype)
}

/// One value of any dtype: literals, folded constants and the interpreter's elements.
///
/// ```
/// use numjit::{DType, Scalar};
/// assert_eq!(Scalar::I32(7).cast(DType::Float64), Scalar::F64(7.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    /// A `bool`.
    Bool(bool),
    /// An `int32`.
    I32(i32),
    /// An `int64`.
    I64(i64),
    /// A `float32`.
    F32(f32),
    /// A `float64`.
    F64(f64),
    /// A `complex64`.
    C64(Complex32),
    /// A `complex128`.
    C128(Complex64),
}

impl Scalar {
    /// Its dtype.
    ///
    /// ```
    /// assert_eq!(numjit::Scalar::Bool(true).dtype(), numjit::DType::Bool);
    /// ```
    pub fn dtype(self) -> DType {
        match self {
            Scalar::Bool(_) => DType::Bool,
            Scalar::I32(_) => DType::Int32,
            Scalar::I64(_) => DType::Int64,
            Scalar::F32(_) => DType::Float32,
            Scalar::F64(_) => DType::Float64,
            Scalar::C64(_) => DType::Complex64,
            Scalar::C128(_) => DType::Complex128,
        }
    }

    /// Converts like NumPy's `astype` (C casts: floats truncate toward zero, ints wrap, nonzero is
    /// true), except that a float out of an integer's range saturates and NaN becomes 0 (Rust's
    /// `as`), as the compiled kernels convert.
    ///
    /// ```
    /// use numjit::{DType, Scalar};
    /// assert_eq!(Scalar::F64(2.0).cast(DType::Bool), Scalar::Bool(true));
    /// assert_eq!(Scalar::F64(3e9).cast(DType::Int32), Scalar::I32(i32::MAX));
    /// ```
    ///
    /// A complex value cast to a real dtype keeps its real part (NumPy warns and does the same),
    /// to bool it is true unless both parts are zero.
    pub fn cast(self, to: DType) -> Scalar {
        match (self, to) {
            (Scalar::C64(z), _) if !to.is_complex() => {
                return if to == DType::Bool {
                    Scalar::Bool(z.re != 0.0 || z.im != 0.0)
                } else {
                    Scalar::F32(z.re).cast(to)
                };
            }
            (Scalar::C128(z), _) if !to.is_complex() => {
                return if to == DType::Bool {
                    Scalar::Bool(z.re != 0.0 || z.im != 0.0)
                } else {
                    Scalar::F64(z.re).cast(to)
                };
            }
            _ => {}
        }
        match to {
            DType::Bool => Scalar::Bool(match self {
                Scalar::Bool(b) => b,
                Scalar::I32(v) => v != 0,
                Scalar::I64(v) => v != 0,
                Scalar::F32(v) => v != 0.0,
                Scalar::F64(v) => v != 0.0,
                Scalar::C64(_) | Scalar::C128(_) => unreachable!("handled above"),
            }),
            DType::Bytes(_) => unreachable!("lowering never converts a number to bytes"),
            // Straight from the float: through i64, `3e9` would wrap instead of saturating.
            DType::Int32 => Scalar::I32(match self {
                Scalar::F32(v) => v as i32,
                Scalar::F64(v) => v as i32,
                other => other.as_i64() as i32,
            }),
            DType::Int64 => Scalar::I64(self.as_i64()),
            DType::Float32 => Scalar::F32(match self {
                Scalar::F64(v) => v as f32,
                Scalar::F32(v) => v,
                other => other.as_i64() as f32,
            }),
            DType::Float64 => Scalar::F64(self.as_f64()),
            DType::Complex64 => Scalar::C64(match self {
                Scalar::C64(z) => z,
                Scalar::C128(z) => Complex32::new(z.re as f32, z.im as f32),
                other => match other.cast(DType::Float32) {
                    Scalar::F32(re) => Complex32::new(re, 0.0),
                    _ => unreachable!("cast to float32 gives float32"),
                },
            }),
            DType::Complex128 => Scalar::C128(match self {
                Scalar::C64(z) => Complex64::new(z.re as f64, z.im as f64),
                Scalar::C128(z) => z,
                other => Complex64::new(other.as_f64(), 0.0),
            }),
        }
    }

    /// The real and imaginary parts as `f64` (imaginary 0 for a real dtype).
    ///
    /// ```
    /// use numjit::{Complex64, Scalar};
    /// assert_eq!(Scalar::C128(Complex64::new(1.0, 2.0)).parts(), (1.0, 2.0));
    /// ```
    pub fn parts(self) -> (f64, f64) {
        match self {
            Scalar::C64(z) => (z.re as f64, z.im as f64),
            Scalar::C128(z) => (z.re, z.im),
            other => (other.as_f64(), 0.0),
        }
    }

    /// The value as `f64` (exact for every dtype but large int64; a complex value's real part).
    ///
    /// ```
    /// assert_eq!(numjit::Scalar::Bool(true).as_f64(), 1.0);
    /// ```
    pub fn as_f64(self) -> f64 {
        match self {
            Scalar::Bool(b) => b as u8 as f64,
            Scalar::I32(v) => v as f64,
            Scalar::I64(v) => v as f64,
            Scalar::F32(v) => v as f64,
            Scalar::F64(v) => v,
            Scalar::C64(z) => z.re as f64,
            Scalar::C128(z) => z.re,
        }
    }

    /// The value as `i64` (floats truncate toward zero, saturating).
    ///
    /// ```
    /// assert_eq!(numjit::Scalar::F64(-2.7).as_i64(), -2);
    /// ```
    pub fn as_i64(self) -> i64 {
        match self {
            Scalar::Bool(b) => b as i64,
            Scalar::I32(v) => v as i64,
            Scalar::I64(v) => v,
            Scalar::F32(v) => v as i64,
            Scalar::F64(v) => v as i64,
            Scalar::C64(z) => z.re as i64,
            Scalar::C128(z) => z.re as i64,
        }
    }

    /// Bit pattern used to hash and compare constants (so `NaN` equals itself and `-0.0 != 0.0`).
    pub(crate) fn bits(self) -> (DType, u128) {
        let bits = match self {
            Scalar::Bool(b) => b as u128,
            Scalar::I32(v) => v as u32 as u128,
            Scalar::I64(v) => v as u64 as u128,
            Scalar::F32(v) => v.to_bits() as u128,
            Scalar::F64(v) => v.to_bits() as u128,
            Scalar::C64(z) => (z.re.to_bits() as u128) << 64 | z.im.to_bits() as u128,
            Scalar::C128(z) => (z.re.to_bits() as u128) << 64 | z.im.to_bits() as u128,
        };
        (self.dtype(), bits)
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Bool(b) => f.write_str(if *b { "True" } else { "False" }),
            Scalar::I32(v) => write!(f, "{v}"),
            Scalar::I64(v) => write!(f, "{v}"),
            Scalar::F32(v) => write!(f, "{v:?}"),
            Scalar::F64(v) => write!(f, "{v:?}"),
            Scalar::C64(z) => fmt_complex(f, z.re as f64, z.im as f64),
            Scalar::C128(z) => fmt_complex(f, z.re, z.im),
        }
    }
}

/// A complex number as Python prints it: `(1+2j)`, `-3j` when the real part is +0.
fn fmt_complex(f: &mut fmt::Formatter<'_>, re: f64, im: f64) -> fmt::Result {
    let re_s = python_part(re);
    let im_s = python_part(im);
    if re == 0.0 && re.is_sign_positive() {
        return write!(f, "{im_s}j");
    }
    let sign = if im_s.starts_with('-') { "" } else { "+" };
    write!(f, "({re_s}{sign}{im_s}j)")
}

/// One part of a complex number as Python's `repr` writes it: integral values without `.0`.
fn python_part(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.into()
    } else if v == 0.0 && v.is_sign_negative() {
        "-0".into()
    } else if v == v.trunc() && v.abs() < 1e16 {
        format!("{}", v as i64)
    } else {
        format!("{v:?}")
    }
}

mod sealed {
    pub trait Sealed {}
}

/// Rust element types that map to a numjit [`DType`]: `bool`, `i32`, `i64`, `f32`, `f64`,
/// [`Complex32`] (`complex64`) and [`Complex64`] (`complex128`).
///
/// ```
/// use numjit::{DType, Element};
/// assert_eq!(<f32 as Element>::DTYPE, DType::Float32);
/// ```
pub trait Element: sealed::Sealed + Copy + Send + Sync + 'static {
    /// The dtype of this element type.
    const DTYPE: DType;
    /// Wraps a value as a [`Scalar`].
    fn to_scalar(self) -> Scalar;
    /// Unwraps a scalar of exactly this dtype (`None` for another dtype).
    fn from_scalar(s: Scalar) -> Option<Self>;
}

macro_rules! element {
    ($t:ty, $d:ident, $s:ident) => {
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            fn to_scalar(self) -> Scalar {
                Scalar::$s(self)
            }
            fn from_scalar(s: Scalar) -> Option<Self> {
                match s {
                    Scalar::$s(v) => Some(v),
                    _ => None,
                }
            }
        }
    };
}
element!(bool, Bool, Bool);
element!(i32, Int32, I32);
element!(i64, Int64, I64);
element!(f32, Float32, F32);
element!(f64, Float64, F64);
element!(Complex32, Complex64, C64);
element!(Complex64, Complex128, C128);

#[cfg(test)]
mod tests {
    use super::DType::*;
    use super::*;

    #[test]
    fn promotion_table_matches_numpy() {
        // NumPy 2.4: np.result_type for every pair.
        let expect = [
            (Bool, Bool, Bool),
            (Bool, Int32, Int32),
            (Int32, Int64, Int64),
            (Int32, Float32, Float64),
            (Int64, Float32, Float64),
            (Bool, Float32, Float32),
            (Float32, Float64, Float64),
        ];
        for (a, b, r) in expect {
            assert_eq!(a.promote(b), r, "{a} {b}");
            assert_eq!(b.promote(a), r, "{b} {a}");
        }
    }

    #[test]
    fn weak_scalars_follow_nep50() {
        let w_int = Ty::weak(Int64);
        let w_float = Ty::weak(Float64);
        assert_eq!(w_int.promote(Ty::strong(Int32)), Ty::strong(Int32));
        assert_eq!(w_int.promote(Ty::strong(Bool)), Ty::strong(Int64));
        assert_eq!(w_float.promote(Ty::strong(Float32)), Ty::strong(Float32));
        assert_eq!(Ty::strong(Int32).promote(w_float), Ty::strong(Float64));
        assert_eq!(w_int.promote(w_float), Ty::weak(Float64));
    }
}
