//! A small SIMD abstraction so that every ISA tier shares one copy of each algorithm.
//!
//! Kernels are written once, generically over [`Simd`], and instantiated per tier inside a
//! `#[target_feature]` function (see `tiers.rs`). All trait methods are `#[inline(always)]`, so
//! after inlining the intrinsics end up in a function compiled with the tier's features.

use core::ops::{Add, Div, Mul, Neg, Sub};

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512;
pub(crate) mod scalar;

/// The largest lane count of any tier; used to size stack buffers for tails and slow paths.
pub(crate) const MAX_LANES: usize = 8;

/// `1.5 * 2^52`: adding it to |v| < 2^51 rounds v to an integer and leaves that integer in the
/// low mantissa bits (two's complement), which is how kernels get quadrants and exponents
/// without float-to-int conversions.
pub(crate) const SHIFTER: f64 = 6755399441055744.0;

/// A vector of `LANES` f64 values. Comparisons return a lane mask `M`.
pub(crate) trait Simd:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    const LANES: usize;
    /// Whether `mul_add` is fused (one rounding). Kernels that need exact products use
    /// `two_prod`/`sub_mul_exact`, which are exact on every tier.
    const FMA: bool;
    type M: Copy;

    fn splat(v: f64) -> Self;
    /// # Safety
    /// `p` must be valid for reading `LANES` f64 values (no alignment needed).
    unsafe fn load(p: *const f64) -> Self;
    /// # Safety
    /// `p` must be valid for writing `LANES` f64 values (no alignment needed).
    unsafe fn store(self, p: *mut f64);

    /// Loads `LANES` f32 values and widens them (exactly).
    ///
    /// # Safety
    /// `p` must be valid for reading `LANES` f32 values (no alignment needed).
    unsafe fn load_f32(p: *const f32) -> Self;
    /// Rounds to f32 (to nearest) and stores `LANES` values.
    ///
    /// # Safety
    /// `p` must be valid for writing `LANES` f32 values (no alignment needed).
    unsafe fn store_f32(self, p: *mut f32);

    /// `self * b + c`, fused (single rounding) iff `Self::FMA`.
    fn mul_add(self, b: Self, c: Self) -> Self;
    fn sqrt(self) -> Self;
    /// `if self < o { self } else { o }` (so a NaN in either operand yields `o`).
    fn min(self, o: Self) -> Self;
    /// `if self > o { self } else { o }` (so a NaN in either operand yields `o`).
    fn max(self, o: Self) -> Self;

    fn lt(self, o: Self) -> Self::M;
    fn le(self, o: Self) -> Self::M;
    fn eq(self, o: Self) -> Self::M;
    /// Lanes that are NaN.
    fn is_nan(self) -> Self::M;
    /// Lanes whose sign bit is set (works on raw bit patterns, e.g. `shl::<63>` of an integer).
    fn sign_mask(self) -> Self::M;
    /// `m ? t : f` per lane.
    fn select(m: Self::M, t: Self, f: Self) -> Self;
    fn m_and(a: Self::M, b: Self::M) -> Self::M;
    fn m_or(a: Self::M, b: Self::M) -> Self::M;
    fn m_not(a: Self::M) -> Self::M;
    fn any(m: Self::M) -> bool;

    // Bitwise operations on the IEEE representation.
    fn and(self, o: Self) -> Self;
    fn or(self, o: Self) -> Self;
    fn xor(self, o: Self) -> Self;
    /// `!self & o`.
    fn andnot(self, o: Self) -> Self;
    /// Logical left shift of each 64-bit lane.
    fn shl<const N: i32>(self) -> Self;
    /// Logical right shift of each 64-bit lane.
    fn shr<const N: i32>(self) -> Self;
    /// Wrapping 64-bit integer addition of the bit patterns.
    fn iadd(self, o: Self) -> Self;
    /// Wrapping 64-bit integer subtraction of the bit patterns.
    fn isub(self, o: Self) -> Self;

    #[inline(always)]
    fn splat_bits(b: u64) -> Self {
        Self::splat(f64::from_bits(b))
    }
    #[inline(always)]
    fn abs(self) -> Self {
        Self::splat(-0.0).andnot(self)
    }
    /// The sign bit of each lane (as a value that is -0.0 or +0.0).
    #[inline(always)]
    fn sign_bit(self) -> Self {
        self.and(Self::splat(-0.0))
    }
    /// Round to nearest integer (ties to even), valid for |self| < 2^51. Returns the rounded value
    /// and the shifted representation (`SHIFTER + n`) whose low bits hold n.
    #[inline(always)]
    fn round_shift(self) -> (Self, Self) {
        let t = self + Self::splat(SHIFTER);
        (t - Self::splat(SHIFTER), t)
    }
    /// `2^n` for the integer n held in the low bits of `t` (as produced by `round_shift`),
    /// valid for -1022 <= n <= 1023.
    #[inline(always)]
    fn pow2_from_shifted(t: Self) -> Self {
        t.shl::<52>().iadd(Self::splat_bits(1023 << 52))
    }
    /// Error-free product: returns `(p, e)` with `p = fl(self*b)` and `p + e == self*b` exactly
    /// (barring overflow/underflow).
    #[inline(always)]
    fn two_prod(self, b: Self) -> (Self, Self) {
        let p = self * b;
        if Self::FMA {
            (p, self.mul_add(b, -p))
        } else {
            // Dekker's product with Veltkamp splitting (exact without FMA unless a·b overflows
            // or the low part underflows), on factors scaled below 2^996 by powers of two.
            let (sa, ua) = scale_down(self);
            let (sb, ub) = scale_down(b);
            let ps = sa * sb;
            let (ah, al) = split(sa);
            let (bh, bl) = split(sb);
            let e = ((ah * bh - ps) + ah * bl + al * bh) + al * bl;
            (p, e * ua * ub)
        }
    }
    /// `c - self*b` computed exactly, *given that the exact result is representable*
    /// (e.g. Cody–Waite steps whose first constant is a 53-bit value).
    #[inline(always)]
    fn sub_mul_exact(self, b: Self, c: Self) -> Self {
        if Self::FMA {
            (-self).mul_add(b, c)
        } else {
            // p is within a factor 2 of c in our uses (Sterbenz), so c - p is exact.
            let (p, e) = self.two_prod(b);
            (c - p) - e
        }
    }
    fn to_array(self) -> [f64; MAX_LANES] {
        let mut a = [0.0; MAX_LANES];
        // SAFETY: `a` has MAX_LANES >= LANES elements.
        unsafe { self.store(a.as_mut_ptr()) };
        a
    }
    fn from_array(a: &[f64; MAX_LANES]) -> Self {
        // SAFETY: `a` has MAX_LANES >= LANES elements.
        unsafe { Self::load(a.as_ptr()) }
    }
}

/// Veltkamp split of `a` (|a| <= 2^996) into a 26-bit high part and the exact remainder.
#[inline(always)]
fn split<S: Simd>(a: S) -> (S, S) {
    let c = a * S::splat(134217729.0); // 2^27 + 1
    let h = c - (c - a);
    (h, a - h)
}

/// `a·2^-60` and `2^60` for |a| > 2^995 (so `split` cannot overflow), else `a` and 1.
#[inline(always)]
fn scale_down<S: Simd>(a: S) -> (S, S) {
    let big = S::splat(2f64.powi(995)).lt(a.abs());
    (
        S::select(big, a * S::splat(2f64.powi(-60)), a),
        S::select(big, S::splat(2f64.powi(60)), S::splat(1.0)),
    )
}

/// Error-free sum (Knuth): `s = fl(a+b)`, `s + e == a + b` exactly.
#[inline(always)]
pub(crate) fn two_sum<S: Simd>(a: S, b: S) -> (S, S) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// Error-free sum when `|a| >= |b|` (or a == 0) (Dekker's fast two-sum).
#[inline(always)]
pub(crate) fn fast_two_sum<S: Simd>(a: S, b: S) -> (S, S) {
    let s = a + b;
    (s, b - (s - a))
}

/// Horner evaluation of `c[0] + x*(c[1] + x*(...))` with the tier's (fused if available) mul_add.
#[inline(always)]
pub(crate) fn horner<S: Simd, const N: usize>(x: S, c: &[f64; N]) -> S {
    let mut acc = S::splat(c[N - 1]);
    let mut i = N - 1;
    while i > 0 {
        i -= 1;
        acc = acc.mul_add(x, S::splat(c[i]));
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_free_transforms_are_exact_on_the_scalar_tier() {
        let (a, b) = (0.1f64, 3.0e-17);
        let (s, e) = two_sum(a, b);
        assert_eq!(s, a + b);
        assert_eq!(e, b - ((a + b) - a));
        let (s2, e2) = fast_two_sum(1.0, 1e-17);
        assert_eq!((s2, e2), (1.0, 1e-17));
        // 1/3 * 3 = 1 - 2^-54 exactly, which rounds to 1.
        let (p, pe) = (1.0f64 / 3.0).two_prod(3.0);
        assert_eq!(p, 1.0);
        assert_eq!(pe, -(2f64.powi(-54)));
        // Splitting must not overflow for huge factors (the scalar tier's pow(1, 1e300) was NaN).
        let (p, pe) = 1e300f64.two_prod(1e-300);
        assert!(p.is_finite() && pe.is_finite() && (p - 1.0).abs() < 1e-15);
        let (p, pe) = 0.0f64.two_prod(f64::MAX);
        assert_eq!((p, pe), (0.0, 0.0));
    }

    #[test]
    fn shifter_rounding_and_powers_of_two() {
        let (n, t) = 2.5f64.round_shift();
        assert_eq!(n, 2.0); // ties to even
        assert_eq!(f64::pow2_from_shifted(t), 4.0);
        let (_, t) = (-1022.0f64).round_shift();
        assert_eq!(f64::pow2_from_shifted(t), f64::MIN_POSITIVE);
        let (_, t) = 1023.0f64.round_shift();
        assert_eq!(f64::pow2_from_shifted(t), 2f64.powi(1023));
    }

    #[test]
    fn horner_evaluates_the_polynomial() {
        let c = [1.0, -0.5, 0.25, 0.125, -2.0];
        let x = 0.3f64;
        let want = c.iter().rev().fold(0.0, |acc, &k| acc * x + k);
        assert!((horner(x, &c) - want).abs() < 1e-15);
    }
}
