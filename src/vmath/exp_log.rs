//! exp and log (and the shared cores used by expm1, log1p, log2, log10, pow and the hyperbolics).
//!
//! exp: x = k·ln2 + r, |r| <= ln2/2, exp(r) = 1 + r + r²·P(r) with P a degree-10 minimax
//! polynomial (fitted by `testdata/tools/remez.py exp 10`: 2^-60.5 relative), summed as a
//! double-double so the result is rounded once. Scaling by 2^k is a bit-level add on the fast path
//! and a two-step multiply (exact subnormal rounding, overflow to inf) on the rare slow path.
//!
//! log: x = 2^e·m, m in [√½, √2), f = m - 1, s = f/(2+f), log(1+f) = f - hfsq + s·(hfsq + R(s²))
//! (FreeBSD msun `e_log.c`, Sun Microsystems 1993, "Permission to use, copy, modify, and
//! distribute this software is freely granted, provided that this notice is preserved."; its
//! Lg1..Lg7 approximate 2·atanh(s) to 2^-59.5 relative, re-measured with mpmath), with hfsq and the
//! final additions carried as double-doubles so the result is rounded once.

use super::simd::{fast_two_sum, horner, Simd, SHIFTER};

const LOG2E: f64 = core::f64::consts::LOG2_E;
/// ln2 = LN2_1 + LN2_2 + O(2^-110), each part correctly rounded (mpmath).
const LN2_1: f64 = core::f64::consts::LN_2;
const LN2_2: f64 = 2.3190468138462996e-17;

/// (exp(r) - 1 - r)/r² on |r| <= ln2/2 (remez.py exp 10).
const EXP_POLY: [f64; 11] = [
    0.5,
    0.1666666666666668,
    0.041666666666667275,
    0.008333333333320411,
    0.001388888888857817,
    0.00019841269889050715,
    2.4801587926166974e-05,
    2.7557241219724737e-06,
    2.7556771459204383e-07,
    2.5110124642505938e-08,
    2.106483863879621e-09,
];

/// Past this |x| the result may leave the normal range (or k the range of a single 2^k).
const EXP_FAST_MAX: f64 = 708.0;

/// exp(x + xl) = 2^k·(hi + lo), |xl| tiny relative to x, for |x| <= 746 (garbage beyond).
/// Returns `(hi, lo, k, ks)` with hi + lo in [0.7, 1.42] accurate to ~2^-60 relative, k as a
/// float and `ks = SHIFTER + k` (k in the low bits).
#[inline(always)]
pub(crate) fn exp_core<S: Simd>(x: S, xl: S) -> (S, S, S, S) {
    let ks = x.mul_add(S::splat(LOG2E), S::splat(SHIFTER));
    let k = ks - S::splat(SHIFTER);
    // Exact: x and k·LN2_1 are multiples of 2^-53 (or k = 0) and |r| < 1/2.
    let r = k.sub_mul_exact(S::splat(LN2_1), x);
    // exp(r + rl) = exp(r)·(1 + rl) to ~2^-90: rl = xl - k·LN2_2 is at most ~2.5e-14.
    let rl = (-k).mul_add(S::splat(LN2_2), xl);
    let q = (r * r) * horner(r, &EXP_POLY);
    // 1 + r + q as a double-double: 1 + r exactly (|1| >= |r|), then the small terms.
    let hi = S::splat(1.0) + r;
    let lo = ((S::splat(1.0) - hi) + r) + q;
    let lo = rl.mul_add(hi + lo, lo);
    (hi, lo, k, ks)
}

/// 2^k·v for k in [-1080, 1030] (a float), with a single rounding even for subnormal results.
#[inline(always)]
pub(crate) fn scale_wide<S: Simd>(v: S, k: S) -> S {
    let (k1, t1) = (k * S::splat(0.5)).round_shift();
    let t2 = (k - k1) + S::splat(SHIFTER);
    (v * S::pow2_from_shifted(t1)) * S::pow2_from_shifted(t2)
}

#[inline(always)]
pub(crate) fn exp<S: Simd>(x: S) -> S {
    if S::any(S::m_not(x.abs().le(S::splat(EXP_FAST_MAX)))) {
        return exp_wide(x);
    }
    let (hi, lo, _, ks) = exp_core(x, S::splat(0.0));
    (hi + lo) * S::pow2_from_shifted(ks)
}

/// exp for vectors with a lane outside ±708 (or NaN): clamping keeps k in range, then overflow
/// to inf and underflow to (sub)normals/0 fall out of the two-step scaling.
#[inline(always)]
fn exp_wide<S: Simd>(x: S) -> S {
    let xc = x.max(S::splat(-746.0)).min(S::splat(710.0));
    let (hi, lo, k, _) = exp_core(xc, S::splat(0.0));
    let v = scale_wide(hi + lo, k);
    S::select(x.is_nan(), x, v)
}

/// FreeBSD msun Lg1..Lg7: 2·atanh(s) ≈ 2s + s·z·(Lg1 + z·Lg2 + ...), z = s².
const LG: [f64; 7] = [
    0.6666666666666735,
    0.3999999999940942,
    0.2857142874366239,
    0.22222198432149784,
    0.1818357216161805,
    0.15313837699209373,
    0.14798198605116586,
];

/// Bits of √½ minus those of 1.0: adding `LOG_OFF` to the bits of x moves the exponent boundary
/// to √½ so that m lands in [√½, √2).
const LOG_OFF: u64 = 0x3ff0000000000000 - 0x3fe6a09e667f3bcd;

/// Splits a positive normal x into (e, m) with x = 2^e·m, m in [√½, √2); e is a float.
#[inline(always)]
pub(crate) fn split_exponent<S: Simd>(x: S) -> (S, S) {
    let t = x.iadd(S::splat_bits(LOG_OFF));
    let top = t.and(S::splat_bits(0xfff0000000000000));
    let m = x.isub(top).iadd(S::splat_bits(0x3ff0000000000000));
    // The biased exponent in the low bits of a 2^52-scaled double: (2^52 + e + 1023) - (2^52 + 1023).
    let e = t.shr::<52>().or(S::splat(4503599627370496.0)) - S::splat(4503599627371519.0);
    (e, m)
}

/// log(1+f) for f in [√½-1, √2-1] as an unevaluated double-double (hi, lo), ~2^-58 relative.
#[inline(always)]
pub(crate) fn log1p_core<S: Simd>(f: S) -> (S, S) {
    let s = f / (S::splat(2.0) + f);
    let z = s * s;
    let r = z * horner(z, &LG);
    // hfsq = f²/2 exactly as h + hl.
    let (h, hl) = f.two_prod(S::splat(0.5) * f);
    let t = s * (h + r);
    let (b, bl) = fast_two_sum(f, -h);
    (b, bl + (t - hl))
}

/// ln2 split for the e·ln2 term: LN2_HI has 32 significant bits, so e·LN2_HI is exact.
const LN2_HI: f64 = 0.6931471803691238;
const LN2_LO: f64 = 1.9082149292705877e-10;

#[inline(always)]
pub(crate) fn log<S: Simd>(x: S) -> S {
    // Fast path: every lane positive, normal and finite.
    let ok = S::m_and(
        S::splat(f64::MIN_POSITIVE).le(x),
        x.lt(S::splat(f64::INFINITY)),
    );
    if S::any(S::m_not(ok)) {
        return log_special(x);
    }
    log_normal(x, S::splat(0.0))
}

/// log(x) + ebias·ln2·... for positive normal x: `eadj` is added to the exponent (used to undo the
/// 2^52 prescaling of subnormals).
#[inline(always)]
fn log_normal<S: Simd>(x: S, eadj: S) -> S {
    let (e, m) = split_exponent(x);
    let e = e + eadj;
    let (b, bl) = log1p_core(m - S::splat(1.0));
    // e·LN2_HI is exact and, when e != 0, larger than |b|.
    let (hi, lo) = fast_two_sum(e * S::splat(LN2_HI), b);
    hi + (lo + e.mul_add(S::splat(LN2_LO), bl))
}

/// log for vectors with a zero, negative, subnormal, infinite or NaN lane.
#[inline(always)]
fn log_special<S: Simd>(x: S) -> S {
    let sub = x.lt(S::splat(f64::MIN_POSITIVE));
    let xs = S::select(sub, x * S::splat(4503599627370496.0), x); // 2^52
    let eadj = S::select(sub, S::splat(-52.0), S::splat(0.0));
    let v = log_normal(xs, eadj);
    let v = S::select(x.eq(S::splat(0.0)), S::splat(f64::NEG_INFINITY), v);
    let v = S::select(x.lt(S::splat(0.0)), S::splat(f64::NAN), v);
    let v = S::select(x.eq(S::splat(f64::INFINITY)), x, v);
    S::select(x.is_nan(), x, v)
}
