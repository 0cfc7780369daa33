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

use super::simd::{fast_two_sum, horner, two_sum, Simd, SHIFTER};

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
    log_guarded::<S, LN>(x)
}

/// Which logarithm `log_guarded` computes. (A const parameter rather than a function argument:
/// a function passed as `impl Fn` is called through a shim that is not compiled with the
/// tier's target features, which made it ~100x slower.)
const LN: u8 = 0;
const LOG2: u8 = 1;
const LOG10: u8 = 2;

#[inline(always)]
fn log_base<S: Simd, const BASE: u8>(x: S, eadj: S) -> S {
    match BASE {
        LN => log_normal(x, eadj),
        LOG2 => log2_normal(x, eadj),
        _ => log10_normal(x, eadj),
    }
}

/// Applies the `BASE` logarithm of a positive normal x (exponent adjusted by `eadj`) with the
/// IEEE cases around it: subnormals are prescaled by 2^52, log(±0)
/// is -inf, negative x is NaN, log(+inf) = +inf, NaN propagates. The fast path (every lane
/// positive, normal, finite) costs two compares.
#[inline(always)]
pub(crate) fn log_guarded<S: Simd, const BASE: u8>(x: S) -> S {
    let ok = S::m_and(
        S::splat(f64::MIN_POSITIVE).le(x),
        x.lt(S::splat(f64::INFINITY)),
    );
    if !S::any(S::m_not(ok)) {
        return log_base::<S, BASE>(x, S::splat(0.0));
    }
    let sub = x.lt(S::splat(f64::MIN_POSITIVE));
    let xs = S::select(sub, x * S::splat(4503599627370496.0), x); // 2^52
    let xs = S::select(
        S::m_and(S::splat(0.0).lt(xs), xs.lt(S::splat(f64::INFINITY))),
        xs,
        S::splat(1.0),
    );
    let eadj = S::select(sub, S::splat(-52.0), S::splat(0.0));
    let v = log_base::<S, BASE>(xs, eadj);
    let v = S::select(x.eq(S::splat(0.0)), S::splat(f64::NEG_INFINITY), v);
    let v = S::select(x.lt(S::splat(0.0)), S::splat(f64::NAN), v);
    let v = S::select(x.eq(S::splat(f64::INFINITY)), x, v);
    S::select(x.is_nan(), x, v)
}

/// log(x) for positive normal x, exponent adjusted by `eadj`.
#[inline(always)]
fn log_normal<S: Simd>(x: S, eadj: S) -> S {
    let (e, m) = split_exponent(x);
    let e = e + eadj;
    let (b, bl) = log1p_core(m - S::splat(1.0));
    // e·LN2_HI is exact and, when e != 0, larger than |b|.
    let (hi, lo) = fast_two_sum(e * S::splat(LN2_HI), b);
    hi + (lo + e.mul_add(S::splat(LN2_LO), bl))
}

/// expm1(x) = 2^k·(hi + lo) - 1 with the subtraction of 1 done exactly, for |x| <= 708.
#[inline(always)]
fn expm1_inner<S: Simd>(x: S) -> S {
    let (hi, lo, _, ks) = exp_core(x, S::splat(0.0));
    let s = S::pow2_from_shifted(ks);
    let (a, b) = two_sum(hi * s, S::splat(-1.0));
    let v = a + lo.mul_add(s, b);
    // expm1(-0) = -0 (the sum above would give +0).
    S::select(x.eq(S::splat(0.0)), x, v)
}

#[inline(always)]
pub(crate) fn expm1<S: Simd>(x: S) -> S {
    if S::any(S::m_not(x.abs().le(S::splat(EXP_FAST_MAX)))) {
        // Below -708 the result is -1 (clamping keeps 2^k normal); above 708 the -1 is lost in
        // the rounding of exp(x); NaN stays NaN.
        let v = expm1_inner(x.max(S::splat(-EXP_FAST_MAX)).min(S::splat(EXP_FAST_MAX)));
        let v = S::select(S::splat(EXP_FAST_MAX).lt(x), exp_wide(x), v);
        return S::select(x.is_nan(), x, v);
    }
    expm1_inner(x)
}

/// 1/ln2, 1/ln10 and log10(2) as double-doubles (mpmath).
const IVLN2_HI: f64 = core::f64::consts::LOG2_E;
const IVLN2_LO: f64 = 2.0355273740931033e-17;
const IVLN10_HI: f64 = core::f64::consts::LOG10_E;
const IVLN10_LO: f64 = 1.098319650216765e-17;
const LG2_HI: f64 = core::f64::consts::LOG10_2;
const LG2_LO: f64 = -2.8037281277851704e-18;

#[inline(always)]
pub(crate) fn log2<S: Simd>(x: S) -> S {
    log_guarded::<S, LOG2>(x)
}

#[inline(always)]
fn log2_normal<S: Simd>(x: S, eadj: S) -> S {
    {
        let (e, m) = split_exponent(x);
        let e = e + eadj;
        let (b, bl) = log1p_core(m - S::splat(1.0));
        // (b + bl)/ln2 as p + lo, then + e (exact, and larger than |p| when e != 0).
        let (p, pe) = b.two_prod(S::splat(IVLN2_HI));
        let lo = pe + b.mul_add(S::splat(IVLN2_LO), bl * S::splat(IVLN2_HI));
        let (h, l) = fast_two_sum(e, p);
        h + (l + lo)
    }
}

#[inline(always)]
pub(crate) fn log10<S: Simd>(x: S) -> S {
    log_guarded::<S, LOG10>(x)
}

#[inline(always)]
fn log10_normal<S: Simd>(x: S, eadj: S) -> S {
    {
        let (e, m) = split_exponent(x);
        let e = e + eadj;
        let (b, bl) = log1p_core(m - S::splat(1.0));
        // e·log10(2) + (b + bl)/ln10, each product error-free, summed once.
        let (p1, pe1) = e.two_prod(S::splat(LG2_HI));
        let (p2, pe2) = b.two_prod(S::splat(IVLN10_HI));
        let (h, l) = fast_two_sum(p1, p2);
        let lo = (pe1 + pe2)
            + e.mul_add(
                S::splat(LG2_LO),
                b.mul_add(S::splat(IVLN10_LO), bl * S::splat(IVLN10_HI)),
            );
        h + (l + lo)
    }
}

#[inline(always)]
pub(crate) fn log1p<S: Simd>(x: S) -> S {
    let ok = S::m_and(S::splat(-1.0).lt(x), x.lt(S::splat(f64::INFINITY)));
    if !S::any(S::m_not(ok)) {
        return log1p_dd(x, S::splat(0.0));
    }
    let v = log1p_dd(S::select(ok, x, S::splat(0.0)), S::splat(0.0));
    let v = S::select(x.eq(S::splat(-1.0)), S::splat(f64::NEG_INFINITY), v);
    let v = S::select(x.lt(S::splat(-1.0)), S::splat(f64::NAN), v);
    let v = S::select(x.eq(S::splat(f64::INFINITY)), x, v);
    S::select(x.is_nan(), x, v)
}

/// log1p(x + xl) for -1 < x < inf, |xl| <= ulp(x) (xl = 0 for plain log1p).
#[inline(always)]
pub(crate) fn log1p_dd<S: Simd>(x: S, xl: S) -> S {
    // u + c = 1 + x exactly; u >= 2^-53 is normal.
    let (u, c) = two_sum(S::splat(1.0), x);
    let (e, m) = split_exponent(u);
    // When e = 0, m - 1 = u - 1 and x itself is the exact f; otherwise log(u) + c/u.
    let e0 = e.eq(S::splat(0.0));
    let f = S::select(e0, x, m - S::splat(1.0));
    let corr = (S::select(e0, S::splat(0.0), c) + xl) / u;
    let (b, bl) = log1p_core(f);
    let (hi, lo) = fast_two_sum(e * S::splat(LN2_HI), b);
    let v = hi + (lo + e.mul_add(S::splat(LN2_LO), bl + corr));
    // log1p(-0) = -0.
    S::select(x.eq(S::splat(0.0)), x, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_exponent_puts_the_mantissa_in_sqrt_half_to_sqrt_two() {
        for (x, e, m) in [
            (1.0f64, 0.0, 1.0),
            (1.5, 1.0, 0.75),
            (0.75, 0.0, 0.75),
            (0.7, -1.0, 1.4),
            (1024.0, 10.0, 1.0),
            (f64::MIN_POSITIVE, -1022.0, 1.0),
        ] {
            assert_eq!(split_exponent(x), (e, m), "x = {x}");
        }
    }

    #[test]
    fn wide_scaling_rounds_once_into_the_subnormals() {
        // 1.5·2^-1074 rounds to even (2^-1073); 1.25·2^-1074 rounds to 2^-1074.
        assert_eq!(scale_wide(1.5, -1074.0), f64::from_bits(2));
        assert_eq!(scale_wide(1.25, -1074.0), f64::from_bits(1));
        assert_eq!(scale_wide(1.0, 1024.0), f64::INFINITY);
        assert_eq!(scale_wide(0.75, 1024.0), 0.75 * 2f64.powi(1023) * 2.0);
    }

    #[test]
    fn exp_and_log_spot_values() {
        assert_eq!(exp(0.0f64), 1.0);
        assert_eq!(exp(1.0f64), core::f64::consts::E);
        assert_eq!(log(core::f64::consts::E), 1.0);
        assert_eq!(log2(8.0f64), 3.0);
        assert_eq!(log10(1000.0f64), 3.0);
        assert_eq!(expm1(1e-300f64), 1e-300);
        assert_eq!(log1p(-1e-300f64), -1e-300);
        assert!(log1p(-2.0f64).is_nan());
    }
}
