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
            // Dekker's product with Veltkamp splitting (exact without FMA for |values| < 2^996).
            let (ah, al) = split(self);
            let (bh, bl) = split(b);
            let e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
            (p, e)
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

/// Veltkamp split of `a` into a 26-bit high part and the exact remainder.
#[inline(always)]
fn split<S: Simd>(a: S) -> (S, S) {
    let c = a * S::splat(134217729.0); // 2^27 + 1
    let h = c - (c - a);
    (h, a - h)
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

/// Estrin-style evaluation (same polynomial as `horner`, shorter dependency chain); `x2 = x*x`.
#[inline(always)]
pub(crate) fn estrin<S: Simd, const N: usize>(x: S, x2: S, c: &[f64; N]) -> S {
    // Pair up coefficients: q_j = c[2j] + x*c[2j+1]; then Horner in x2 over the pairs.
    let pairs = N.div_ceil(2);
    let pair = |j: usize| -> S {
        if 2 * j + 1 < N {
            S::splat(c[2 * j + 1]).mul_add(x, S::splat(c[2 * j]))
        } else {
            S::splat(c[2 * j])
        }
    };
    let mut acc = pair(pairs - 1);
    let mut j = pairs - 1;
    while j > 0 {
        j -= 1;
        acc = acc.mul_add(x2, pair(j));
    }
    acc
}
