//! sinh, cosh, tanh, arcsinh, arccosh, arctanh.
//!
//! All of them are expressed through the double-double cores of `exp_log` so that the final
//! result is rounded about once:
//! - sinh a = (E + E/(E+1))/2, cosh a = 1 + E²/(2(E+1)), tanh a = E'/(E'+2) with
//!   E = expm1(a), E' = expm1(2a) as double-doubles (the msun identities, without their
//!   cancellation-prone roundings); for a > 20 sinh and cosh are e^a/2.
//! - arcsinh a = log1p(a - 1 + √(a²+1)), arccosh x = log1p(x - 1 + √((x-1)(x+1))) with the square
//!   root carried as a double-double; log(2a) past 2^28.
//! - arctanh a = log1p(2a/(1-a))/2 with the quotient as a double-double.

use super::exp_log::{exp_core, log1p_dd, scale_wide};
use super::pow::log_dd;
use super::simd::{fast_two_sum, two_sum, Simd};

/// Past this |x| sinh/cosh are e^|x|/2 to within 2^-57 and tanh rounds to ±1. (Clamps are
/// written `splat(C).min(v)`, which keeps a NaN `v`: see `Simd::min`.)
const HYPER_BIG: f64 = 20.0;
/// |x| up to which `exp_core` + a bit-level 2^k scaling stays in the normal range.
const EXP_FAST_MAX: f64 = 708.0;

/// expm1(a) for |a| <= 708 as a normalized double-double (h, l), ~2^-60 relative, given
/// `exp_core(a)`. (Normalized because `div_dd` corrects only to first order in l/h.)
#[inline(always)]
fn expm1_parts<S: Simd>(hi: S, lo: S, ks: S) -> (S, S) {
    let s = S::pow2_from_shifted(ks);
    let (a, b) = two_sum(hi * s, S::splat(-1.0));
    fast_two_sum(a, lo.mul_add(s, b))
}

/// (nh + nl)/(dh + dl) as (q, ql): one division, then the exact residual of the head.
/// Inputs must be normalized (|nl| <= ulp(nh), |dl| <= ulp(dh)).
#[inline(always)]
fn div_dd<S: Simd>(nh: S, nl: S, dh: S, dl: S) -> (S, S) {
    let r = S::splat(1.0) / dh;
    let q = nh * r;
    let e = q.sub_mul_exact(dh, nh) + (nl - q * dl);
    (q, e * r)
}

/// e^a/2 for a >= 0 of any size (overflowing to inf).
#[inline(always)]
fn half_exp<S: Simd>(a: S) -> S {
    // e^711/2 overflows, so clamping there keeps inf for everything above.
    let (hi, lo, k, ks) = exp_core(S::splat(711.0).min(a), S::splat(0.0));
    if S::any(S::splat(EXP_FAST_MAX).lt(a)) {
        scale_wide(hi + lo, k - S::splat(1.0))
    } else {
        (hi + lo) * S::pow2_from_shifted(ks) * S::splat(0.5)
    }
}

#[inline(always)]
pub(crate) fn sinh<S: Simd>(x: S) -> S {
    let a = x.abs();
    let ac = S::splat(HYPER_BIG).min(a);
    let (hi, lo, _, ks) = exp_core(ac, S::splat(0.0));
    let (eh, el) = expm1_parts(hi, lo, ks);
    let (dh, dl) = two_sum(eh, S::splat(1.0));
    let (dh, dl) = fast_two_sum(dh, dl + el);
    let (qh, ql) = div_dd(eh, el, dh, dl);
    let (sh, sl) = two_sum(eh, qh);
    let small = (sh + (sl + (el + ql))) * S::splat(0.5);
    let v = if S::any(S::splat(HYPER_BIG).lt(a)) {
        S::select(S::splat(HYPER_BIG).lt(a), half_exp(a), small)
    } else {
        small
    };
    // sinh is odd (keeps sinh(-0) = -0); NaN: min() above keeps it and it propagates.
    v.xor(x.sign_bit())
}

#[inline(always)]
pub(crate) fn cosh<S: Simd>(x: S) -> S {
    let a = x.abs();
    let ac = S::splat(HYPER_BIG).min(a);
    let (hi, lo, _, ks) = exp_core(ac, S::splat(0.0));
    let (eh, el) = expm1_parts(hi, lo, ks);
    // E² and 2(E + 1) as double-doubles.
    let (nh, ne) = eh.two_prod(eh);
    let nl = (eh + eh).mul_add(el, ne);
    let (dh, dl) = two_sum(eh, S::splat(1.0));
    let (dh, dl) = fast_two_sum(dh, dl + el);
    let (qh, ql) = div_dd(nh, nl, dh + dh, dl + dl);
    let (h, l) = two_sum(S::splat(1.0), qh);
    let small = h + (l + ql);
    if S::any(S::splat(HYPER_BIG).lt(a)) {
        S::select(S::splat(HYPER_BIG).lt(a), half_exp(a), small)
    } else {
        small
    }
}

#[inline(always)]
pub(crate) fn tanh<S: Simd>(x: S) -> S {
    let a = x.abs();
    // tanh(20) rounds to 1, so clamping there is exact (and keeps NaN via min's semantics).
    let a2 = S::splat(2.0) * S::splat(HYPER_BIG).min(a);
    let (hi, lo, _, ks) = exp_core(a2, S::splat(0.0));
    let (eh, el) = expm1_parts(hi, lo, ks);
    let (dh, dl) = two_sum(eh, S::splat(2.0));
    let (dh, dl) = fast_two_sum(dh, dl + el);
    let (qh, ql) = div_dd(eh, el, dh, dl);
    (qh + ql).xor(x.sign_bit())
}

/// 2^28: past it √(x²±1) = x to within 2^-57 relative.
const SQRT_BIG: f64 = 268435456.0;
const LN2: (f64, f64) = (core::f64::consts::LN_2, 2.3190468138462996e-17);

/// log(2a) for a > 2^28 (inf stays inf): log(a) as a double-double plus ln2, rounded once.
#[inline(always)]
fn log_twice<S: Simd>(a: S) -> S {
    let fin = a.lt(S::splat(f64::INFINITY));
    let (h, l) = log_dd(S::select(fin, a, S::splat(1.0)), S::splat(0.0));
    // |log a| >= 19 > ln2, so the head sum is error-free.
    let (h, hl) = fast_two_sum(h, S::splat(LN2.0));
    S::select(fin, h + (hl + (l + S::splat(LN2.1))), a)
}

/// √(ph + pl) as (sh, sl) for ph >= 0 (sl = 0 when ph = 0).
#[inline(always)]
fn sqrt_dd<S: Simd>(ph: S, pl: S) -> (S, S) {
    let sh = ph.sqrt();
    let res = sh.sub_mul_exact(sh, ph) + pl;
    let sl = S::select(ph.eq(S::splat(0.0)), S::splat(0.0), res / (sh + sh));
    (sh, sl)
}

#[inline(always)]
pub(crate) fn asinh<S: Simd>(x: S) -> S {
    let a = x.abs();
    let ac = S::splat(SQRT_BIG).min(a);
    // w = a - 1 + √(a² + 1), all as a double-double; then asinh a = log1p(w).
    let (p, pe) = ac.two_prod(ac);
    let (th, tl) = two_sum(S::splat(1.0), p);
    let (sh, sl) = sqrt_dd(th, tl + pe);
    // sh >= 1, so sh - 1 is exact.
    let (wh, wl) = two_sum(ac, sh - S::splat(1.0));
    let mut v = log1p_dd(wh, wl + sl);
    if S::any(S::splat(SQRT_BIG).lt(a)) {
        v = S::select(S::splat(SQRT_BIG).lt(a), log_twice(a), v);
    }
    // asinh is odd (keeps asinh(-0) = -0); NaN propagates through the arithmetic.
    v.xor(x.sign_bit())
}

#[inline(always)]
pub(crate) fn acosh<S: Simd>(x: S) -> S {
    // w = t + √(t² + 2t), t = x - 1 (exact for 1 <= x <= 2^28); t² + 2t as a double-double
    // (x + 1 itself would round).
    let xc = S::splat(SQRT_BIG).min(x);
    let t = xc - S::splat(1.0);
    let (q, qe) = t.two_prod(t);
    let (p, pl) = two_sum(t + t, q);
    let (sh, sl) = sqrt_dd(p, pl + qe);
    let (wh, wl) = two_sum(t, sh);
    let mut v = log1p_dd(wh, wl + sl);
    if S::any(S::splat(SQRT_BIG).lt(x)) {
        v = S::select(S::splat(SQRT_BIG).lt(x), log_twice(x), v);
    }
    // x < 1 (and -inf) is NaN; NaN propagates.
    S::select(x.lt(S::splat(1.0)), S::splat(f64::NAN), v)
}

#[inline(always)]
pub(crate) fn atanh<S: Simd>(x: S) -> S {
    let a = x.abs();
    // q = 2a/(1 - a) as a double-double; 1 - a is exact for a >= 1/2 and two_sum'd below.
    let (dh, dl) = two_sum(S::splat(1.0), -a);
    let ok = a.lt(S::splat(1.0));
    let (qh, ql) = div_dd(
        a + a,
        S::splat(0.0),
        S::select(ok, dh, S::splat(1.0)),
        S::select(ok, dl, S::splat(0.0)),
    );
    let v = log1p_dd(qh, ql) * S::splat(0.5);
    // |x| = 1 is ±inf, |x| > 1 NaN; atanh is odd (keeps atanh(-0) = -0).
    let v = S::select(a.eq(S::splat(1.0)), S::splat(f64::INFINITY), v);
    let v = S::select(S::splat(1.0).lt(a), S::splat(f64::NAN), v);
    S::select(x.is_nan(), x, v.xor(x.sign_bit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_values() {
        assert_eq!(sinh(-0.0f64).to_bits(), (-0.0f64).to_bits());
        assert_eq!(sinh(5e-324f64), 5e-324);
        assert_eq!(cosh(0.0f64), 1.0);
        assert_eq!(cosh(711.0f64), f64::INFINITY);
        assert_eq!(sinh(-711.0f64), f64::NEG_INFINITY);
        assert_eq!(tanh(-30.0f64), -1.0);
        assert_eq!(tanh(1e-300f64), 1e-300);
        assert_eq!(asinh(-0.0f64).to_bits(), (-0.0f64).to_bits());
        assert_eq!(asinh(f64::INFINITY), f64::INFINITY);
        assert_eq!(acosh(1.0f64), 0.0);
        assert!(acosh(0.5f64).is_nan());
        assert_eq!(atanh(1.0f64), f64::INFINITY);
        assert_eq!(atanh(-1.0f64), f64::NEG_INFINITY);
        assert!(atanh(1.5f64).is_nan());
        for f in [sinh::<f64>, cosh, tanh, asinh, acosh, atanh] {
            assert!(f(f64::NAN).is_nan());
        }
    }
}
