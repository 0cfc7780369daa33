//! What each op computes on one element, for every dtype it is defined on.
//!
//! The interpreter and constant folding call [`eval`]; the JIT emits simple ops inline and calls
//! the `extern "C"` helpers at the bottom for the rest, which are thin wrappers over the same
//! functions — so the two backends cannot disagree on integer division, Python modulo, shifts or
//! rounding. Arguments arrive already cast to the op's operand dtype (see `ops::type_op`).

use super::{complex, Op};
use crate::core::dtype::{Complex32, Complex64, DType, Scalar};

/// Applies `op` to scalars of its operand dtype.
pub(crate) fn eval(op: Op, args: &[Scalar]) -> Scalar {
    use Scalar::*;
    match (op, args) {
        (Op::Where, [Bool(c), x, y]) => {
            if *c {
                *x
            } else {
                *y
            }
        }
        (Op::Complex, [F32(a), F32(b)]) => C64(Complex32::new(*a, *b)),
        (Op::Complex, [F64(a), F64(b)]) => C128(Complex64::new(*a, *b)),
        (_, [C64(a)]) => complex::unary(op, *a),
        (_, [C128(a)]) => complex::unary(op, *a),
        (_, [C64(a), C64(b)]) => complex::binary(op, *a, *b),
        (_, [C128(a), C128(b)]) => complex::binary(op, *a, *b),
        (_, [Bool(a)]) => unary_bool(op, *a),
        (_, [I32(a)]) => unary_int!(op, *a, i32, I32),
        (_, [I64(a)]) => unary_int!(op, *a, i64, I64),
        (_, [F32(a)]) => unary_float!(op, *a, f32, F32),
        (_, [F64(a)]) => unary_float!(op, *a, f64, F64),
        (_, [Bool(a), Bool(b)]) => binary_bool(op, *a, *b),
        (_, [I32(a), I32(b)]) => binary_int!(op, *a, *b, i32, I32),
        (_, [I64(a), I64(b)]) => binary_int!(op, *a, *b, i64, I64),
        (_, [F32(a), F32(b)]) => binary_float!(op, *a, *b, f32, F32),
        (_, [F64(a), F64(b)]) => binary_float!(op, *a, *b, f64, F64),
        _ => unreachable!("ops::scalar::eval({op:?}, {args:?}): lowering must cast operands first"),
    }
}

fn unary_bool(op: Op, a: bool) -> Scalar {
    match op {
        Op::Invert => Scalar::Bool(!a),
        Op::Abs | Op::Ceil | Op::Floor | Op::Round | Op::Trunc => Scalar::Bool(a),
        Op::Copy | Op::Conj | Op::Real => Scalar::Bool(a),
        Op::Imag => Scalar::Bool(false),
        Op::OnesLike => Scalar::Bool(true),
        Op::IsNan | Op::IsInf | Op::SignBit => Scalar::Bool(false),
        Op::IsFinite => Scalar::Bool(true),
        _ => unreachable!("{op:?} on bool"),
    }
}

fn binary_bool(op: Op, a: bool, b: bool) -> Scalar {
    Scalar::Bool(match op {
        Op::Add | Op::BitOr | Op::Maximum => a | b,
        Op::Mul | Op::BitAnd | Op::Minimum => a & b,
        Op::BitXor => a ^ b,
        Op::Lt => !a & b,
        Op::Le => a <= b,
        Op::Eq => a == b,
        Op::Ne => a != b,
        Op::Ge => a >= b,
        Op::Gt => a & !b,
        _ => unreachable!("{op:?} on bool"),
    })
}

macro_rules! unary_int {
    ($op:expr, $a:expr, $t:ty, $v:ident) => {{
        let a: $t = $a;
        match $op {
            Op::Neg => Scalar::$v(a.wrapping_neg()),
            Op::Invert => Scalar::$v(!a),
            Op::Abs => Scalar::$v(a.wrapping_abs()),
            Op::Ceil | Op::Floor | Op::Round | Op::Trunc => Scalar::$v(a),
            Op::Copy | Op::Conj | Op::Real => Scalar::$v(a),
            Op::Imag => Scalar::$v(0),
            Op::OnesLike => Scalar::$v(1),
            Op::Sign => Scalar::$v(a.signum()),
            Op::IsNan | Op::IsInf => Scalar::Bool(false),
            Op::IsFinite => Scalar::Bool(true),
            Op::SignBit => Scalar::Bool(a < 0),
            _ => unreachable!("{:?} on an integer", $op),
        }
    }};
}
use unary_int;

macro_rules! binary_int {
    ($op:expr, $a:expr, $b:expr, $t:ty, $v:ident) => {{
        let (a, b): ($t, $t) = ($a, $b);
        match $op {
            Op::Add => Scalar::$v(a.wrapping_add(b)),
            Op::Sub => Scalar::$v(a.wrapping_sub(b)),
            Op::Mul => Scalar::$v(a.wrapping_mul(b)),
            Op::FloorDiv => Scalar::$v(int::floordiv(a as i64, b as i64) as $t),
            Op::Mod => Scalar::$v(int::modulo(a as i64, b as i64) as $t),
            Op::Fmod => Scalar::$v(int::fmod(a as i64, b as i64) as $t),
            Op::Pow => Scalar::$v(int::pow(a as i64, b as i64) as $t),
            Op::Shl => Scalar::$v(int::shl(a as i64, b as i64, <$t>::BITS) as $t),
            Op::Shr => Scalar::$v(int::shr(a as i64, b as i64, <$t>::BITS) as $t),
            Op::BitAnd => Scalar::$v(a & b),
            Op::BitOr => Scalar::$v(a | b),
            Op::BitXor => Scalar::$v(a ^ b),
            Op::Maximum => Scalar::$v(a.max(b)),
            Op::Minimum => Scalar::$v(a.min(b)),
            Op::Lt => Scalar::Bool(a < b),
            Op::Le => Scalar::Bool(a <= b),
            Op::Eq => Scalar::Bool(a == b),
            Op::Ne => Scalar::Bool(a != b),
            Op::Ge => Scalar::Bool(a >= b),
            Op::Gt => Scalar::Bool(a > b),
            _ => unreachable!("{:?} on integers", $op),
        }
    }};
}
use binary_int;

macro_rules! unary_float {
    ($op:expr, $a:expr, $t:ty, $v:ident) => {{
        let a: $t = $a;
        let r: $t = match $op {
            Op::Neg => -a,
            Op::Abs => a.abs(),
            Op::Sqrt => a.sqrt(),
            Op::Sin => a.sin(),
            Op::Cos => a.cos(),
            Op::Tan => a.tan(),
            Op::Arcsin => a.asin(),
            Op::Arccos => a.acos(),
            Op::Arctan => a.atan(),
            Op::Sinh => a.sinh(),
            Op::Cosh => a.cosh(),
            Op::Tanh => a.tanh(),
            Op::Arcsinh => libm::asinh(a),
            Op::Arccosh => libm::acosh(a),
            Op::Arctanh => libm::atanh(a),
            Op::Exp => a.exp(),
            Op::Expm1 => a.exp_m1(),
            Op::Log => a.ln(),
            Op::Log10 => a.log10(),
            Op::Log2 => a.log2(),
            Op::Log1p => a.ln_1p(),
            Op::Ceil => a.ceil(),
            Op::Floor => a.floor(),
            Op::Round => a.round_ties_even(),
            Op::Trunc => a.trunc(),
            Op::Copy | Op::Conj | Op::Real => a,
            Op::Imag => 0.0,
            Op::OnesLike => 1.0,
            Op::Sign => float::sign(a as f64) as $t,
            // Same operation order as the JIT (one multiply by a constant), so both round alike.
            Op::Radians | Op::Degrees => a * angle_factor($op) as $t,
            Op::IsNan => return Scalar::Bool(a.is_nan()),
            Op::IsInf => return Scalar::Bool(a.is_infinite()),
            Op::IsFinite => return Scalar::Bool(a.is_finite()),
            Op::SignBit => return Scalar::Bool(a.is_sign_negative()),
            _ => unreachable!("{:?} on a float", $op),
        };
        Scalar::$v(r)
    }};
}
use unary_float;

macro_rules! binary_float {
    ($op:expr, $a:expr, $b:expr, $t:ty, $v:ident) => {{
        let (a, b): ($t, $t) = ($a, $b);
        let r: $t = match $op {
            Op::Add => a + b,
            Op::Sub => a - b,
            Op::Mul => a * b,
            Op::Div => a / b,
            Op::FloorDiv => float::divmod(a as f64, b as f64).0 as $t,
            Op::Mod => float::divmod(a as f64, b as f64).1 as $t,
            Op::Fmod => a % b,
            Op::Pow => a.powf(b),
            Op::Arctan2 => a.atan2(b),
            Op::Hypot => a.hypot(b),
            Op::Copysign => a.copysign(b),
            // C's nextafter: NaN if either is; `b` itself when equal (so signed zeros follow b).
            Op::Nextafter if a.is_nan() || b.is_nan() => a + b,
            Op::Nextafter if a == b => b,
            Op::Nextafter if b > a => a.next_up(),
            Op::Nextafter => a.next_down(),
            Op::Maximum => float::maximum(a, b),
            Op::Minimum => float::minimum(a, b),
            Op::Lt => return Scalar::Bool(a < b),
            Op::Le => return Scalar::Bool(a <= b),
            Op::Eq => return Scalar::Bool(a == b),
            Op::Ne => return Scalar::Bool(a != b),
            Op::Ge => return Scalar::Bool(a >= b),
            Op::Gt => return Scalar::Bool(a > b),
            _ => unreachable!("{:?} on floats", $op),
        };
        Scalar::$v(r)
    }};
}
use binary_float;

/// The factor `radians`/`degrees` multiply by: one constant for the interpreter and both JIT
/// paths, so they round alike.
pub(crate) fn angle_factor(op: Op) -> f64 {
    if op == Op::Radians {
        core::f64::consts::PI / 180.0
    } else {
        180.0 / core::f64::consts::PI
    }
}

/// Integer semantics where Rust's operators trap or differ from NumPy's.
pub(crate) mod int {
    /// Python floor division; `x // 0 == 0` and `MIN // -1 == MIN` (NumPy's results, without the warning).
    pub fn floordiv(a: i64, b: i64) -> i64 {
        if b == 0 {
            return 0;
        }
        let q = a.wrapping_div(b);
        if (a.wrapping_rem(b) != 0) && ((a < 0) != (b < 0)) {
            q - 1
        } else {
            q
        }
    }

    /// Python modulo (sign of the divisor); `x % 0 == 0`.
    pub fn modulo(a: i64, b: i64) -> i64 {
        if b == 0 {
            return 0;
        }
        let r = a.wrapping_rem(b);
        if r != 0 && ((r < 0) != (b < 0)) {
            r + b
        } else {
            r
        }
    }

    /// C remainder (sign of the dividend); `fmod(x, 0) == 0`.
    pub fn fmod(a: i64, b: i64) -> i64 {
        if b == 0 {
            0
        } else {
            a.wrapping_rem(b)
        }
    }

    /// Wrapping power; a negative exponent gives 0 except for bases 1 and -1 (NumPy raises instead).
    pub fn pow(base: i64, exp: i64) -> i64 {
        if exp < 0 {
            return match base {
                1 => 1,
                -1 if exp % 2 == 0 => 1,
                -1 => -1,
                _ => 0,
            };
        }
        let (mut result, mut b, mut e) = (1i64, base, exp as u64);
        while e > 0 {
            if e & 1 == 1 {
                result = result.wrapping_mul(b);
            }
            b = b.wrapping_mul(b);
            e >>= 1;
        }
        result
    }

    /// NumPy's left shift: a count outside `0..bits` gives 0.
    pub fn shl(a: i64, count: i64, bits: u32) -> i64 {
        if (count as u64) < bits as u64 {
            // Shift in the narrow width, so int32 bits shifted out are lost as in C.
            if bits == 32 {
                ((a as i32) << count) as i64
            } else {
                a << count
            }
        } else {
            0
        }
    }

    /// NumPy's arithmetic right shift: a count outside `0..bits` gives 0 or -1 by sign.
    pub fn shr(a: i64, count: i64, bits: u32) -> i64 {
        if (count as u64) < bits as u64 {
            a >> count
        } else if a < 0 {
            -1
        } else {
            0
        }
    }
}

/// Float semantics that are NumPy's rather than IEEE's or Rust's.
pub(crate) mod float {
    /// NumPy's `divmod` (`npy_divmod`): floor quotient and Python remainder.
    pub fn divmod(a: f64, b: f64) -> (f64, f64) {
        let m = a % b;
        if b == 0.0 {
            return (a / b, m);
        }
        let mut div = (a - m) / b;
        let mut m = m;
        if m != 0.0 {
            if (b < 0.0) != (m < 0.0) {
                m += b;
                div -= 1.0;
            }
        } else {
            m = 0.0f64.copysign(b);
        }
        let floordiv = if div != 0.0 {
            let f = div.floor();
            if div - f > 0.5 {
                f + 1.0
            } else {
                f
            }
        } else {
            0.0f64.copysign(a / b)
        };
        (floordiv, m)
    }

    /// NumPy's `sign`: NaN stays NaN and both zeros give +0.
    pub fn sign(a: f64) -> f64 {
        if a > 0.0 {
            1.0
        } else if a < 0.0 {
            -1.0
        } else if a == 0.0 {
            0.0
        } else {
            a
        }
    }

    /// NumPy's `maximum`: NaN if either is NaN; on ties (`-0.0`, `0.0`) the second operand.
    pub fn maximum<T: PartialOrd + Copy>(a: T, b: T) -> T {
        #[allow(clippy::eq_op)]
        let a_is_nan = a != a;
        if a_is_nan || a > b {
            a
        } else {
            b
        }
    }

    /// NumPy's `minimum`: NaN if either is NaN; on ties the second operand.
    pub fn minimum<T: PartialOrd + Copy>(a: T, b: T) -> T {
        #[allow(clippy::eq_op)]
        let a_is_nan = a != a;
        if a_is_nan || a < b {
            a
        } else {
            b
        }
    }
}

/// The C library's inverse hyperbolic functions: Rust's `f64::asinh` and friends are computed
/// by formulas that overflow for |x| > ~1e154 and lose digits near 1, glibc's are within 1 ulp.
pub(crate) mod libm {
    mod c {
        extern "C" {
            pub fn asinh(x: f64) -> f64;
            pub fn acosh(x: f64) -> f64;
            pub fn atanh(x: f64) -> f64;
            pub fn asinhf(x: f32) -> f32;
            pub fn acoshf(x: f32) -> f32;
            pub fn atanhf(x: f32) -> f32;
        }
    }

    /// Dispatch by float width, so the op table's macros stay generic.
    pub trait Hyperbolic: Copy {
        fn asinh(self) -> Self;
        fn acosh(self) -> Self;
        fn atanh(self) -> Self;
    }

    macro_rules! hyperbolic {
        ($t:ty, $s:ident, $c:ident, $h:ident) => {
            impl Hyperbolic for $t {
                // SAFETY (all three): pure C math functions of one float, defined for every input
                // (NaN or ±inf out of domain), with no memory access or global state besides errno.
                fn asinh(self) -> $t {
                    unsafe { c::$s(self) }
                }
                fn acosh(self) -> $t {
                    unsafe { c::$c(self) }
                }
                fn atanh(self) -> $t {
                    unsafe { c::$h(self) }
                }
            }
        };
    }
    hyperbolic!(f64, asinh, acosh, atanh);
    hyperbolic!(f32, asinhf, acoshf, atanhf);

    pub fn asinh<T: Hyperbolic>(x: T) -> T {
        x.asinh()
    }
    pub fn acosh<T: Hyperbolic>(x: T) -> T {
        x.acosh()
    }
    pub fn atanh<T: Hyperbolic>(x: T) -> T {
        x.atanh()
    }
}

/// Declares one generic helper per operand dtype and arity, instantiated for every op by
/// [`helper_table!`]: the op is a constant of each instance, so the `match` of the macros above
/// folds to the one operation and the JIT's out-of-line ops compute exactly what the
/// interpreter computes. No op is spelled here: a new op needs no helper of its own.
macro_rules! helpers {
    ($( $name:ident ( $($arg:ident),+ ) : $t:ty as $v:ident by $eval:ident ; )*) => {
        $(
            pub(crate) extern "C" fn $name<const OP: usize>($($arg: $t),+) -> $t {
                let op: Op = const { Op::ALL[OP] };
                // A closure: the macros `return` early for results of another dtype.
                let value = || $eval!(op, $($arg),+, $t, $v);
                match value() {
                    Scalar::$v(r) => r,
                    _ => not_a_helper(OP),
                }
            }
        )*
    };
}

helpers! {
    unary_i32(a): i32 as I32 by unary_int;
    unary_i64(a): i64 as I64 by unary_int;
    unary_f32(a): f32 as F32 by unary_float;
    unary_f64(a): f64 as F64 by unary_float;
    binary_i32(a, b): i32 as I32 by binary_int;
    binary_i64(a, b): i64 as I64 by binary_int;
    binary_f32(a, b): f32 as F32 by binary_float;
    binary_f64(a, b): f64 as F64 by binary_float;
}

/// Declares the complex helpers: parts in, parts of the result (its real part alone for a real
/// result, 1 or 0 for a bool) written to `out[0]` and `out[1]`.
macro_rules! complex_helpers {
    ($( $name:ident ( $($re:ident, $im:ident),+ ) : $t:ty as $c:ident ; )*) => {
        $(
            /// # Safety
            /// `out` points to two writable, aligned floats.
            pub(crate) unsafe extern "C" fn $name<const OP: usize>($($re: $t, $im: $t,)+ out: *mut $t) {
                let op: Op = const { Op::ALL[OP] };
                let (re, im) = match eval(op, &[$(Scalar::$c(num_complex::Complex::new($re, $im))),+]) {
                    Scalar::$c(z) => (z.re, z.im),
                    Scalar::Bool(b) => (<$t>::from(u8::from(b)), 0.0),
                    other => (other.as_f64() as $t, 0.0),
                };
                // SAFETY: the caller passes two floats of scratch (a stack slot of the kernel).
                unsafe {
                    *out = re;
                    *out.add(1) = im;
                }
            }
        )*
    };
}

complex_helpers! {
    cunary_c64(are, aim): f32 as C64;
    cunary_c128(are, aim): f64 as C128;
    cbinary_c64(are, aim, bre, bim): f32 as C64;
    cbinary_c128(are, aim, bre, bim): f64 as C128;
}

/// Codegen only calls a helper for an op whose result has its operand dtype. (Unwinding out of
/// an `extern "C"` function aborts, which is what a broken invariant here deserves.)
#[cold]
#[inline(never)]
fn not_a_helper(op: usize) -> ! {
    unreachable!(
        "no scalar helper computes {:?} in its operand dtype",
        Op::ALL[op]
    )
}

/// Makes the helper tables, one instance per op (in `Op::ALL` order) and helper; invoked by
/// `define_ops!` with the list of every op.
macro_rules! helper_table {
    ($($v:ident),* $(,)?) => {
        /// The scalar helpers' addresses (see `scalar::helper_address`).
        pub(crate) mod helper_table {
            use crate::ops::scalar::*;
            use crate::ops::Op;
            pub(crate) static UNARY_I32: [extern "C" fn(i32) -> i32; Op::ALL.len()] = [$(unary_i32::<{ Op::$v as usize }>),*];
            pub(crate) static UNARY_I64: [extern "C" fn(i64) -> i64; Op::ALL.len()] = [$(unary_i64::<{ Op::$v as usize }>),*];
            pub(crate) static UNARY_F32: [extern "C" fn(f32) -> f32; Op::ALL.len()] = [$(unary_f32::<{ Op::$v as usize }>),*];
            pub(crate) static UNARY_F64: [extern "C" fn(f64) -> f64; Op::ALL.len()] = [$(unary_f64::<{ Op::$v as usize }>),*];
            pub(crate) static BINARY_I32: [extern "C" fn(i32, i32) -> i32; Op::ALL.len()] = [$(binary_i32::<{ Op::$v as usize }>),*];
            pub(crate) static BINARY_I64: [extern "C" fn(i64, i64) -> i64; Op::ALL.len()] = [$(binary_i64::<{ Op::$v as usize }>),*];
            pub(crate) static BINARY_F32: [extern "C" fn(f32, f32) -> f32; Op::ALL.len()] = [$(binary_f32::<{ Op::$v as usize }>),*];
            pub(crate) static BINARY_F64: [extern "C" fn(f64, f64) -> f64; Op::ALL.len()] = [$(binary_f64::<{ Op::$v as usize }>),*];
            pub(crate) static CUNARY_C64: [unsafe extern "C" fn(f32, f32, *mut f32); Op::ALL.len()] = [$(cunary_c64::<{ Op::$v as usize }>),*];
            pub(crate) static CUNARY_C128: [unsafe extern "C" fn(f64, f64, *mut f64); Op::ALL.len()] = [$(cunary_c128::<{ Op::$v as usize }>),*];
            pub(crate) static CBINARY_C64: [unsafe extern "C" fn(f32, f32, f32, f32, *mut f32); Op::ALL.len()] = [$(cbinary_c64::<{ Op::$v as usize }>),*];
            pub(crate) static CBINARY_C128: [unsafe extern "C" fn(f64, f64, f64, f64, *mut f64); Op::ALL.len()] = [$(cbinary_c128::<{ Op::$v as usize }>),*];
        }
    };
}
pub(crate) use helper_table;

/// The symbol of [`nj_bytes_op`], the string ops' helper.
pub(crate) const BYTES_HELPER: &str = "nj_bytes_op";

/// The symbol name of the helper computing `op` with `arity` operands of `dtype`
/// (`nj_binary_i64_7`: the number is the op's index in `Op::ALL`; complex ones are
/// `nj_cunary_c128_7`, see [`complex_helpers!`]).
pub(crate) fn helper_name(op: Op, arity: usize, dtype: DType) -> String {
    let kind = match (arity, dtype.is_complex()) {
        (1, false) => "unary",
        (_, false) => "binary",
        (1, true) => "cunary",
        (_, true) => "cbinary",
    };
    format!("nj_{kind}_{}_{}", suffix(dtype), op as usize)
}

fn suffix(dtype: DType) -> &'static str {
    match dtype {
        DType::Int32 => "i32",
        DType::Int64 => "i64",
        DType::Float32 => "f32",
        DType::Complex64 => "c64",
        DType::Complex128 => "c128",
        _ => "f64",
    }
}

/// The address of the helper named `name` (see [`helper_name`]), for the JIT's linker.
pub(crate) fn helper_address(name: &str) -> Option<*const u8> {
    use super::helper_table::*;
    if name == BYTES_HELPER {
        return Some(nj_bytes_op as *const u8);
    }
    let (kind, rest) = name.strip_prefix("nj_")?.split_once('_')?;
    let (ty, index) = rest.split_once('_')?;
    let i: usize = index.parse().ok().filter(|&i| i < Op::ALL.len())?;
    Some(match (kind, ty) {
        ("unary", "i32") => UNARY_I32[i] as *const u8,
        ("unary", "i64") => UNARY_I64[i] as *const u8,
        ("unary", "f32") => UNARY_F32[i] as *const u8,
        ("unary", "f64") => UNARY_F64[i] as *const u8,
        ("binary", "i32") => BINARY_I32[i] as *const u8,
        ("binary", "i64") => BINARY_I64[i] as *const u8,
        ("binary", "f32") => BINARY_F32[i] as *const u8,
        ("binary", "f64") => BINARY_F64[i] as *const u8,
        ("cunary", "c64") => CUNARY_C64[i] as *const u8,
        ("cunary", "c128") => CUNARY_C128[i] as *const u8,
        ("cbinary", "c64") => CBINARY_C64[i] as *const u8,
        ("cbinary", "c128") => CBINARY_C128[i] as *const u8,
        _ => return None,
    })
}

/// NumPy's order of byte strings: the shorter one padded with NULs, bytes compared unsigned
/// (so trailing NULs never matter: `b"foo" == b"foo\0\0"`).
pub(crate) fn bytes_cmp(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let n = a.len().max(b.len());
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    (0..n)
        .map(|i| at(a, i).cmp(&at(b, i)))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// numexpr's `contains(haystack, needle)`: each string ends at its first NUL (as C strings,
/// at most its length), and the needle must occur in the haystack (the empty needle always
/// does).
pub(crate) fn bytes_contains(haystack: &[u8], needle: &[u8]) -> bool {
    fn c_str(s: &[u8]) -> &[u8] {
        &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())]
    }
    let (h, n) = (c_str(haystack), c_str(needle));
    n.is_empty() || h.windows(n.len()).any(|w| w == n)
}

/// A string op (`< <= == != >= >` or `contains`) on two strings.
pub(crate) fn bytes_op(op: Op, a: &[u8], b: &[u8]) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Op::Contains => bytes_contains(a, b),
        _ => {
            let o = bytes_cmp(a, b);
            match op {
                Op::Lt => o == Less,
                Op::Le => o != Greater,
                Op::Eq => o == Equal,
                Op::Ne => o != Equal,
                Op::Ge => o != Less,
                Op::Gt => o == Greater,
                _ => unreachable!("{op:?} is not an op on strings (lowering checks)"),
            }
        }
    }
}

/// The JIT's helper for a string op: `op` is the op's index in `Op::ALL`, a string is its
/// address and length in bytes. Returns 1 or 0.
///
/// # Safety
/// `a` and `b` point to `na` and `nb` readable bytes (a string element of an input view, or a
/// literal the compiled program owns).
pub(crate) unsafe extern "C" fn nj_bytes_op(
    op: u32,
    a: *const u8,
    na: u64,
    b: *const u8,
    nb: u64,
) -> u8 {
    // SAFETY: the caller's contract; a zero length never reads (a literal `b''`).
    let (a, b) = unsafe {
        (
            std::slice::from_raw_parts(a, na as usize),
            std::slice::from_raw_parts(b, nb as usize),
        )
    };
    bytes_op(Op::ALL[op as usize], a, b) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_compare_as_numpy_and_search_as_numexpr() {
        use std::cmp::Ordering::*;
        assert_eq!(bytes_cmp(b"foo", b"foo\0\0"), Equal);
        assert_eq!(bytes_cmp(b"foo", b"foobar"), Less);
        assert_eq!(bytes_cmp(b"foo\0a", b"foo\0bar"), Less);
        assert_eq!(bytes_cmp(b"\0a", b""), Greater);
        assert_eq!(bytes_cmp(b"\xff", b"a"), Greater); // unsigned bytes
        assert!(bytes_contains(b"test abc here", b" abc"));
        assert!(!bytes_contains(b"test abc here", b"\tabc"));
        assert!(bytes_contains(b"abc", b""));
        assert!(bytes_contains(b"abc\0", b"ab\0\0"));
        assert!(!bytes_contains(b"ab\0c", b"c")); // the haystack ends at its NUL
        assert!(!bytes_contains(b"", b"a"));
        assert!(bytes_op(Op::Ge, b"b", b"a\0") && !bytes_op(Op::Lt, b"b", b"a"));
    }

    #[test]
    fn int_division_matches_python_and_numpy() {
        assert_eq!(int::floordiv(-7, 2), -4);
        assert_eq!(int::modulo(-7, 2), 1);
        assert_eq!(int::modulo(7, -2), -1);
        assert_eq!(int::floordiv(5, 0), 0);
        assert_eq!(int::floordiv(i64::MIN, -1), i64::MIN);
        assert_eq!(int::modulo(i64::MIN, -1), 0);
        assert_eq!(int::fmod(-7, 2), -1);
    }

    #[test]
    fn shifts_and_powers_match_numpy() {
        assert_eq!(int::shl(5, 64, 64), 0);
        assert_eq!(int::shr(-5, 70, 64), -1);
        assert_eq!(int::shl(5, -1, 64), 0);
        assert_eq!(int::shl(1 << 30, 2, 32), 0);
        assert_eq!(int::pow(3, 4), 81);
        assert_eq!(int::pow(-1, -3), -1);
        assert_eq!(int::pow(2, -1), 0);
    }

    #[test]
    fn float_divmod_matches_numpy() {
        assert_eq!(float::divmod(-7.0, 2.0), (-4.0, 1.0));
        assert_eq!(float::divmod(7.0, -2.0), (-4.0, -1.0));
        assert_eq!(float::divmod(1.0, 0.0).0, f64::INFINITY);
        assert!(float::divmod(1.0, 0.0).1.is_nan());
        assert!(float::divmod(-0.0, 3.0).1.is_sign_positive());
    }

    #[test]
    fn maximum_ties_and_nans_match_numpy() {
        assert!(float::maximum(-0.0f64, 0.0).is_sign_positive());
        assert!(float::maximum(0.0f64, -0.0).is_sign_negative());
        assert!(float::maximum(f64::NAN, 1.0).is_nan());
        assert!(float::minimum(1.0, f64::NAN).is_nan());
    }

    /// The source text applying `op` to the variables `a`, `b` (and `c`, a condition).
    fn applied(op: Op) -> String {
        let d = op.def();
        match (d.is_function, d.arity) {
            (true, 1) => format!("{}(a)", d.name),
            (true, 2) => format!("{}(a, b)", d.name),
            (true, _) => format!("{}(c, a, b)", d.name),
            (false, 1) => format!("{}a", d.name),
            (false, _) => format!("a {} b", d.name),
        }
    }

    #[test]
    fn an_op_is_its_index_in_the_list_of_every_op() {
        // The helpers receive `op as u32` and look it up in `Op::ALL`.
        for (i, &op) in Op::ALL.iter().enumerate() {
            assert_eq!(op as usize, i, "{op:?}");
        }
    }

    #[test]
    fn helper_names_resolve_to_their_instances() {
        let floordiv = helper_address(&helper_name(Op::FloorDiv, 2, DType::Int64)).unwrap();
        // SAFETY: `binary_i64` instances have exactly this signature.
        let f: extern "C" fn(i64, i64) -> i64 = unsafe { std::mem::transmute(floordiv) };
        assert_eq!(f(-7, 2), -4);
        let sign = helper_address(&helper_name(Op::Sign, 1, DType::Float32)).unwrap();
        // SAFETY: `unary_f32` instances have exactly this signature.
        let f: extern "C" fn(f32) -> f32 = unsafe { std::mem::transmute(sign) };
        assert_eq!(f(-3.5), -1.0);
        for junk in [
            "nj_unary_f64",
            "nj_unary_u8_1",
            "nj_binary_f64_9999",
            "sin",
            "nj_ternary_f64_0",
        ] {
            assert!(helper_address(junk).is_none(), "{junk}");
        }
    }

    #[test]
    fn every_op_compiles_links_and_runs_on_every_dtype_it_accepts() {
        // Every op, on both operands of every dtype the type rules accept, is compiled (the
        // helper symbols it imports must resolve when its module is finalized) and run over a
        // vector body and a scalar tail, and must agree with the interpreter.
        use crate::core::dtype::DType;
        use crate::{Engine, Vars};
        let n = 37;
        let engine = Engine::default();
        let (mut tried, mut with_helpers) = (0, 0);
        // Values of both signs, fractions, zero and (for the ints) small shift counts.
        let fa = ndarray::Array1::from_shape_fn(n, |i| 0.37 * i as f64 - 3.0);
        let fb = ndarray::Array1::from_shape_fn(n, |i| 2.5 - 0.21 * i as f64);
        let c = ndarray::Array1::from_shape_fn(n, |i| i % 3 == 0);
        let typed = |x: &ndarray::Array1<f64>| {
            (
                x.mapv(|v| v > 0.0),
                x.mapv(|v| v as i32),
                x.mapv(|v| v as i64),
                x.mapv(|v| v as f32),
                x.clone(),
            )
        };
        let (a, b) = (typed(&fa), typed(&fb));
        // Complex operands: both parts vary, with signs on both sides of the branch cuts.
        let za = ndarray::Array1::from_shape_fn(n, |i| Complex64::new(fa[i], fb[i] * 0.5));
        let zb = ndarray::Array1::from_shape_fn(n, |i| Complex64::new(fb[i], -fa[i] * 0.25));
        let z = [
            (
                za.mapv(|v| Complex32::new(v.re as f32, v.im as f32)),
                za.clone(),
            ),
            (
                zb.mapv(|v| Complex32::new(v.re as f32, v.im as f32)),
                zb.clone(),
            ),
        ];
        for &op in Op::ALL {
            for dtype in [
                DType::Bool,
                DType::Int32,
                DType::Int64,
                DType::Float32,
                DType::Float64,
                DType::Complex64,
                DType::Complex128,
            ] {
                let mut vars = Vars::new().with("c", &c);
                for (k, (name, x)) in [("a", &a), ("b", &b)].into_iter().enumerate() {
                    match dtype {
                        DType::Bool => vars.insert(name, &x.0),
                        DType::Int32 => vars.insert(name, &x.1),
                        DType::Int64 => vars.insert(name, &x.2),
                        DType::Float32 => vars.insert(name, &x.3),
                        DType::Float64 => vars.insert(name, &x.4),
                        DType::Complex64 => vars.insert(name, &z[k].0),
                        DType::Complex128 => vars.insert(name, &z[k].1),
                        DType::Bytes(_) => unreachable!("not in the list"),
                    }
                }
                let src = applied(op);
                let Ok(k) = engine.compile(&src, &vars.signature()) else {
                    continue; // a type error: the op is not defined on this dtype
                };
                tried += 1;
                if k.clif().unwrap().contains("call fn") {
                    with_helpers += 1;
                }
                let (got, want) = (k.eval(&vars), k.eval_reference(&vars));
                let (got, want) = (got.unwrap(), want.unwrap());
                assert_eq!(got.dtype(), want.dtype(), "{src} on {dtype}");
                for i in 0..n {
                    let (g, w) = (got.get_flat(i).unwrap(), want.get_flat(i).unwrap());
                    let ((gf, gi), (wf, wi)) = (g.parts(), w.parts());
                    let part = |g: f64, w: f64| {
                        g == w || (g.is_nan() && w.is_nan()) || (g - w).abs() <= 1e-5 * w.abs()
                    };
                    let close = g == w
                        || (gf.is_nan() && wf.is_nan())
                        || (got.dtype().is_float() && (gf - wf).abs() <= 1e-5 * wf.abs())
                        || (got.dtype().is_complex() && part(gf, wf) && part(gi, wi));
                    assert!(close, "{src} on {dtype}, element {i}: {g} vs {w}");
                }
            }
        }
        assert!(tried > 190, "only {tried} op/dtype pairs type-checked");
        assert!(with_helpers > 12, "only {with_helpers} pairs have helpers");
    }
}
