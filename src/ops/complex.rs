//! What each op computes on one complex element: NumPy's complex loops (`umath/loops.c.src`,
//! `funcs.inc.src`) for `complex64` and `complex128`.
//!
//! Arithmetic is spelled out as NumPy spells it (naive products, Smith's division, `nc_pow`'s
//! repeated squaring for small integer exponents). The transcendental functions are the C
//! library's C99 complex functions (`csqrt`, `casinh`, …, Annex G special values and branch
//! cuts), which NumPy's `npy_c*` call where the platform has them; `log1p`, `expm1` and `log10`
//! are NumPy's own formulas over real functions.

use num_complex::Complex;

use super::Op;
use crate::core::dtype::Scalar;

/// The C library's complex functions, by float width. `Complex<T>` is `#[repr(C)]` with the
/// layout of C's `T _Complex`, and passes and returns in the same registers.
mod c {
    use num_complex::{Complex32, Complex64};
    extern "C" {
        pub fn csqrt(z: Complex64) -> Complex64;
        pub fn cexp(z: Complex64) -> Complex64;
        pub fn clog(z: Complex64) -> Complex64;
        pub fn csin(z: Complex64) -> Complex64;
        pub fn ccos(z: Complex64) -> Complex64;
        pub fn ctan(z: Complex64) -> Complex64;
        pub fn csinh(z: Complex64) -> Complex64;
        pub fn ccosh(z: Complex64) -> Complex64;
        pub fn ctanh(z: Complex64) -> Complex64;
        pub fn casin(z: Complex64) -> Complex64;
        pub fn cacos(z: Complex64) -> Complex64;
        pub fn catan(z: Complex64) -> Complex64;
        pub fn casinh(z: Complex64) -> Complex64;
        pub fn cacosh(z: Complex64) -> Complex64;
        pub fn catanh(z: Complex64) -> Complex64;
        pub fn cpow(z: Complex64, w: Complex64) -> Complex64;
        pub fn csqrtf(z: Complex32) -> Complex32;
        pub fn cexpf(z: Complex32) -> Complex32;
        pub fn clogf(z: Complex32) -> Complex32;
        pub fn csinf(z: Complex32) -> Complex32;
        pub fn ccosf(z: Complex32) -> Complex32;
        pub fn ctanf(z: Complex32) -> Complex32;
        pub fn csinhf(z: Complex32) -> Complex32;
        pub fn ccoshf(z: Complex32) -> Complex32;
        pub fn ctanhf(z: Complex32) -> Complex32;
        pub fn casinf(z: Complex32) -> Complex32;
        pub fn cacosf(z: Complex32) -> Complex32;
        pub fn catanf(z: Complex32) -> Complex32;
        pub fn casinhf(z: Complex32) -> Complex32;
        pub fn cacoshf(z: Complex32) -> Complex32;
        pub fn catanhf(z: Complex32) -> Complex32;
        pub fn cpowf(z: Complex32, w: Complex32) -> Complex32;
    }
}

/// A float width with its C complex functions and NumPy's constants.
pub(crate) trait Part: num_traits::Float + Into<f64> + Copy + std::fmt::Debug {
    /// The C library's function computing `op` (one of the C99 ones).
    fn libc(op: Op, z: Complex<Self>) -> Complex<Self>;
    fn cpow(a: Complex<Self>, b: Complex<Self>) -> Complex<Self>;
    fn log10e() -> Self;
    fn log2e() -> Self;
    /// Rounded to the nearest integer, halves to even (NumPy's `rint`).
    fn rint(self) -> Self;
    fn wrap(z: Complex<Self>) -> Scalar;
    fn wrap_real(x: Self) -> Scalar;
}

macro_rules! part {
    ($t:ty, $wrap:ident, $real:ident, $log10e:expr, $log2e:expr,
     $sqrt:ident $exp:ident $log:ident $sin:ident $cos:ident $tan:ident $sinh:ident $cosh:ident
     $tanh:ident $asin:ident $acos:ident $atan:ident $asinh:ident $acosh:ident $atanh:ident
     $pow:ident) => {
        impl Part for $t {
            fn libc(op: Op, z: Complex<$t>) -> Complex<$t> {
                // SAFETY: pure C99 functions of one complex value (by value, in registers),
                // defined for every input, touching no memory but errno.
                unsafe {
                    match op {
                        Op::Sqrt => c::$sqrt(z),
                        Op::Exp => c::$exp(z),
                        Op::Log => c::$log(z),
                        Op::Sin => c::$sin(z),
                        Op::Cos => c::$cos(z),
                        Op::Tan => c::$tan(z),
                        Op::Sinh => c::$sinh(z),
                        Op::Cosh => c::$cosh(z),
                        Op::Tanh => c::$tanh(z),
                        Op::Arcsin => c::$asin(z),
                        Op::Arccos => c::$acos(z),
                        Op::Arctan => c::$atan(z),
                        Op::Arcsinh => c::$asinh(z),
                        Op::Arccosh => c::$acosh(z),
                        Op::Arctanh => c::$atanh(z),
                        _ => unreachable!("{op:?} is no C99 complex function"),
                    }
                }
            }
            fn cpow(a: Complex<$t>, b: Complex<$t>) -> Complex<$t> {
                // SAFETY: as above, two complex values by value.
                unsafe { c::$pow(a, b) }
            }
            fn log10e() -> $t {
                $log10e
            }
            fn log2e() -> $t {
                $log2e
            }
            fn rint(self) -> $t {
                self.round_ties_even()
            }
            fn wrap(z: Complex<$t>) -> Scalar {
                Scalar::$wrap(z)
            }
            fn wrap_real(x: $t) -> Scalar {
                Scalar::$real(x)
            }
        }
    };
}
part!(f64, C128, F64, std::f64::consts::LOG10_E, std::f64::consts::LOG2_E,
    csqrt cexp clog csin ccos ctan csinh ccosh ctanh casin cacos catan casinh cacosh catanh cpow);
part!(f32, C64, F32, std::f32::consts::LOG10_E, std::f32::consts::LOG2_E,
    csqrtf cexpf clogf csinf ccosf ctanf csinhf ccoshf ctanhf casinf cacosf catanf casinhf cacoshf
    catanhf cpowf);

/// NumPy's complex product on arrays (`simd_cmul` of `loops_arithm_fp.dispatch.c.src`): one
/// fused multiply-add per part, no special handling of infinities.
pub(crate) fn mul<T: Part>(a: Complex<T>, b: Complex<T>) -> Complex<T> {
    Complex::new(
        a.re.mul_add(b.re, -(a.im * b.im)),
        a.re.mul_add(b.im, a.im * b.re),
    )
}

/// The product of `nc_pow`'s repeated squaring (`cmul` in `funcs.inc.src`), without fusing.
fn mul_plain<T: Part>(a: Complex<T>, b: Complex<T>) -> Complex<T> {
    Complex::new(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re)
}

/// NumPy's complex division: Smith's algorithm, and `x / 0` divides the parts by +0.
pub(crate) fn div<T: Part>(a: Complex<T>, b: Complex<T>) -> Complex<T> {
    let (br_abs, bi_abs) = (b.re.abs(), b.im.abs());
    if br_abs >= bi_abs {
        if br_abs == T::zero() && bi_abs == T::zero() {
            return Complex::new(a.re / br_abs, a.im / br_abs);
        }
        let rat = b.im / b.re;
        let scl = T::one() / (b.re + b.im * rat);
        Complex::new((a.re + a.im * rat) * scl, (a.im - a.re * rat) * scl)
    } else {
        let rat = b.re / b.im;
        let scl = T::one() / (b.im + b.re * rat);
        Complex::new((a.re * rat + a.im) * scl, (a.im * rat - a.re) * scl)
    }
}

/// NumPy's `nc_pow`: exact small integer powers by repeated squaring, `0 ** w` by cases, the
/// C library's `cpow` otherwise.
pub(crate) fn pow<T: Part>(a: Complex<T>, b: Complex<T>) -> Complex<T> {
    let (zero, one) = (T::zero(), T::one());
    if b.re == zero && b.im == zero {
        return Complex::new(one, zero);
    }
    if a.re == zero && a.im == zero {
        // NumPy 2.4: zero to a power with a positive real part is zero, whatever its
        // imaginary part; otherwise NaN.
        return if b.re > zero {
            Complex::new(zero, zero)
        } else {
            Complex::new(T::nan(), T::nan())
        };
    }
    let br: f64 = b.re.into();
    if b.im == zero && br.trunc() == br && br.abs() < 100.0 {
        let n = br as i64;
        match n {
            1 => return a,
            2 => return mul_plain(a, a),
            3 => return mul_plain(a, mul_plain(a, a)),
            _ => {}
        }
        let (mut m, mut acc, mut p) = (n.unsigned_abs(), Complex::new(one, zero), a);
        loop {
            if m & 1 == 1 {
                acc = mul_plain(acc, p);
            }
            m >>= 1;
            if m == 0 {
                break;
            }
            p = mul_plain(p, p);
        }
        return if n < 0 {
            div(Complex::new(one, zero), acc)
        } else {
            acc
        };
    }
    T::cpow(a, b)
}

/// `op` on one complex operand (of the op's operand dtype).
pub(crate) fn unary<T: Part>(op: Op, z: Complex<T>) -> Scalar {
    let (zero, one) = (T::zero(), T::one());
    let two = one + one;
    let r = match op {
        Op::Neg => Complex::new(-z.re, -z.im),
        Op::Copy => z,
        Op::Conj => z.conj(),
        Op::OnesLike => Complex::new(one, zero),
        Op::Real => return T::wrap_real(z.re),
        Op::Imag => return T::wrap_real(z.im),
        Op::Abs => return T::wrap_real(z.re.hypot(z.im)),
        Op::IsNan => return Scalar::Bool(z.re.is_nan() || z.im.is_nan()),
        Op::IsInf => return Scalar::Bool(z.re.is_infinite() || z.im.is_infinite()),
        Op::IsFinite => return Scalar::Bool(z.re.is_finite() && z.im.is_finite()),
        // `nc_log1p`, `nc_expm1`, `nc_log10` of NumPy's `funcs.inc.src`.
        Op::Log1p => {
            let l = (z.re + one).hypot(z.im);
            Complex::new(l.ln(), z.im.atan2(z.re + one))
        }
        Op::Expm1 => {
            let a = (z.im / two).sin();
            Complex::new(
                z.re.exp_m1() * z.im.cos() - two * a * a,
                z.re.exp() * z.im.sin(),
            )
        }
        Op::Log10 | Op::Log2 => {
            let l = T::libc(Op::Log, z);
            let k = if op == Op::Log10 {
                T::log10e()
            } else {
                T::log2e()
            };
            Complex::new(l.re * k, l.im * k)
        }
        // NumPy rounds each part, half to even.
        Op::Round => Complex::new(z.re.rint(), z.im.rint()),
        Op::Sign => sign(z),
        _ => T::libc(op, z),
    };
    T::wrap(r)
}

/// NumPy 2's `sign` of a complex number: `z / |z|` (0 for 0, NaN with a NaN part), a unit
/// along an infinite part, NaN when both parts are infinite.
fn sign<T: Part>(z: Complex<T>) -> Complex<T> {
    let (zero, one) = (T::zero(), T::one());
    // An infinite part decides before a NaN in the other (NumPy: `sign(inf+nanj) == 1+0j`).
    match (z.re.is_infinite(), z.im.is_infinite()) {
        (true, true) => Complex::new(T::nan(), T::nan()),
        (true, false) => Complex::new(one.copysign(z.re), zero),
        (false, true) => Complex::new(zero, one.copysign(z.im)),
        _ => {
            let a = z.re.hypot(z.im);
            if a == zero {
                Complex::new(zero, zero)
            } else {
                Complex::new(z.re / a, z.im / a)
            }
        }
    }
}

/// `op` on two complex operands.
pub(crate) fn binary<T: Part>(op: Op, a: Complex<T>, b: Complex<T>) -> Scalar {
    let r = match op {
        Op::Add => a + b,
        Op::Sub => a - b,
        Op::Mul => mul(a, b),
        Op::Div => div(a, b),
        Op::Pow => pow(a, b),
        Op::Eq => return Scalar::Bool(a.re == b.re && a.im == b.im),
        Op::Ne => return Scalar::Bool(a.re != b.re || a.im != b.im),
        _ => unreachable!("{op:?} on complex numbers"),
    };
    T::wrap(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_complex::Complex64 as C;

    fn c(re: f64, im: f64) -> C {
        C::new(re, im)
    }

    fn unary64(op: Op, z: C) -> C {
        match unary(op, z) {
            Scalar::C128(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn arithmetic_matches_numpy() {
        assert_eq!(mul(c(1.0, 2.0), c(3.0, -1.0)), c(5.0, 5.0));
        let q = div(c(5.0, 5.0), c(3.0, -1.0));
        assert!((q.re - 1.0).abs() <= f64::EPSILON && (q.im - 2.0).abs() <= 2.0 * f64::EPSILON);
        // NumPy: (1+1j)/0 == (inf+infj), 0j/0 == (nan+nanj).
        assert_eq!(
            div(c(1.0, 1.0), c(0.0, 0.0)),
            c(f64::INFINITY, f64::INFINITY)
        );
        assert!(div(c(0.0, 0.0), c(0.0, 0.0)).re.is_nan());
        assert_eq!(pow(c(0.0, 1.0), c(2.0, 0.0)), c(-1.0, 0.0));
        assert_eq!(pow(c(2.0, 0.0), c(-2.0, 0.0)), c(0.25, 0.0));
        assert_eq!(pow(c(0.0, 0.0), c(0.0, 0.0)), c(1.0, 0.0));
        assert!(pow(c(0.0, 0.0), c(-1.0, 0.0)).re.is_nan());
        assert_eq!(pow(c(0.0, 0.0), c(0.5, 0.5)), c(0.0, 0.0));
        // The fused product keeps what the plain one cancels (NumPy's SIMD loop does too).
        let (x, y) = (c(1.0 + f64::EPSILON, 1.0), c(1.0 - f64::EPSILON, 1.0));
        assert_ne!(mul(x, y).re, mul_plain(x, y).re);
    }

    #[test]
    fn functions_keep_c99_branch_cuts_and_signed_zeros() {
        // sqrt(-1 ± 0j) = ±1j: the sign of the imaginary zero picks the side of the cut.
        assert_eq!(unary64(Op::Sqrt, c(-1.0, 0.0)), c(0.0, 1.0));
        assert_eq!(unary64(Op::Sqrt, c(-1.0, -0.0)), c(0.0, -1.0));
        assert_eq!(unary64(Op::Log, c(-1.0, -0.0)).im, -std::f64::consts::PI);
        assert_eq!(unary64(Op::Log, c(0.0, 0.0)).re, f64::NEG_INFINITY);
        let e = unary64(Op::Exp, c(f64::NEG_INFINITY, f64::NAN));
        assert_eq!((e.re, e.im.abs()), (0.0, 0.0));
        assert!((unary64(Op::Log10, c(100.0, 0.0)).re - 2.0).abs() < 1e-15);
    }
}
