//! hypot(x, y) = √(x² + y²) without undue overflow or underflow.
//!
//! Both inputs are scaled by the power of two that brings max(|x|, |y|) into [1/2, 1), the sum
//! of squares is formed as a double-double (error-free products), and the square root gets one
//! correction step, so the result is rounded about once. C99: hypot(±inf, y) = +inf even for a
//! NaN y; otherwise NaN propagates.

use super::simd::{fast_two_sum, Simd};

/// Exponent field mask and the clamp that keeps both the scale and its inverse normal.
const EXP_MASK: u64 = 0x7ff0000000000000;
const EXP_CAP: u64 = 0x7fc0000000000000; // biased exponent 2044

#[inline(always)]
pub(crate) fn hypot<S: Simd>(x: S, y: S) -> S {
    let (ax, ay) = (x.abs(), y.abs());
    let a = ax.max(ay);
    let b = ax.min(ay);
    // s = 2^(1022 - e_a) puts a·s in [1/2, 1) (e_a the biased exponent, capped at 2044 so that
    // s and 1/s = 2^(e_a - 1022) are both normal; for subnormal a, a·s is simply small).
    let ea = S::splat_bits(EXP_CAP).min(a.and(S::splat_bits(EXP_MASK)));
    let s = S::splat_bits(0x7fd0000000000000).isub(ea);
    let inv_s = ea.iadd(S::splat_bits(1 << 52));
    let (a1, b1) = (a * s, b * s);
    let (p, pe) = a1.two_prod(a1);
    let (q, qe) = b1.two_prod(b1);
    let (h, l) = fast_two_sum(p, q);
    let l = l + (pe + qe);
    // √(h + l) ≈ r + (h - r² + l)/(2r).
    let r = h.sqrt();
    let corr = S::select(
        h.eq(S::splat(0.0)),
        S::splat(0.0),
        (r.sub_mul_exact(r, h) + l) / (r + r),
    );
    let v = (r + corr) * inv_s;
    let v = S::select(S::m_or(x.is_nan(), y.is_nan()), x + y, v);
    let inf = S::splat(f64::INFINITY);
    S::select(S::m_or(ax.eq(inf), ay.eq(inf)), inf, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_spurious_overflow_or_underflow_and_annex_f() {
        assert_eq!(hypot(3.0f64, 4.0), 5.0);
        assert_eq!(hypot(3e300f64, 4e300), 5e300);
        assert_eq!(hypot(3e-320f64, 4e-320), 5e-320);
        assert_eq!(hypot(f64::MAX, 1.0), f64::MAX);
        assert_eq!(hypot(f64::MAX, f64::MAX), f64::INFINITY);
        assert_eq!(hypot(-0.0f64, 0.0), 0.0);
        assert_eq!(hypot(f64::NAN, f64::NEG_INFINITY), f64::INFINITY);
        assert!(hypot(f64::NAN, 1.0).is_nan() && hypot(1.0, f64::NAN).is_nan());
    }
}
