//! pow(x, y) = exp(y·log x), with log x as a double-double accurate to ~2^-66 relative so that
//! |y·log x| up to ~745 still leaves the final rounding as the dominant error.
//!
//! log|x| = e·ln2 + log1p(f), log1p(f) = 2s + (2/3)s³ + s⁵·Q(s²), s = f/(2+f) (s carried as a
//! double-double, the s³ term too); Q is a degree-7 minimax fit (`remez.py logdd 7`: 2^-66.4
//! relative to log1p). The product with y is error-free, and `exp_core` takes the low part.
//! C99 Annex F special cases (zeros, infinities, NaN, negative bases) are sorted out on a slow
//! path taken only by vectors that contain such a lane.

use super::exp_log::{exp_core, scale_wide, split_exponent};
use super::simd::{fast_two_sum, horner, two_sum, Simd};

/// Q(z) in log1p(f) = 2s + (2/3)s³ + s⁵·Q(s²) (remez.py logdd 7).
const LOGDD_Q: [f64; 8] = [
    0.3999999999999998,
    0.28571428571445057,
    0.22222222217548465,
    0.18181818868922764,
    0.15384556961196727,
    0.13336314108900366,
    0.11674882837257841,
    0.11988498571300692,
];
/// 2/3 as a double-double.
const TWO3_HI: f64 = 2.0 / 3.0;
const TWO3_LO: f64 = 3.700743415417188e-17;
/// ln2 = LN2_1 + LN2_2 + O(2^-110).
const LN2_1: f64 = core::f64::consts::LN_2;
const LN2_2: f64 = 2.3190468138462996e-17;

/// log(x) as a double-double for positive normal finite x; `eadj` is added to the exponent.
#[inline(always)]
pub(crate) fn log_dd<S: Simd>(x: S, eadj: S) -> (S, S) {
    let (e, m) = split_exponent(x);
    let e = e + eadj;
    let f = m - S::splat(1.0);
    // s = f/(2+f) as s + sl: 2+f as a double-double, then the exact division residual;
    // 1/(2+f) = (1-s)/2 gives the reciprocal needed for the correction for free.
    let (dh, dl) = fast_two_sum(S::splat(2.0), f);
    let s = f / dh;
    let rho = s.sub_mul_exact(dh, f) - s * dl;
    let sl = rho * (S::splat(0.5) - S::splat(0.5) * s);
    // s³ = c + cl to ~2^-104 relative.
    let (z, zl) = s.two_prod(s);
    let (c, ce) = s.two_prod(z);
    let cl = ce + s.mul_add(zl, S::splat(3.0) * z * sl);
    // (2/3)s³ = t + tl.
    let (t, te) = c.two_prod(S::splat(TWO3_HI));
    let tl = te + c.mul_add(S::splat(TWO3_LO), S::splat(TWO3_HI) * cl);
    let tail = c * z * horner(z, &LOGDD_Q);
    // log1p(f) = 2s + t + (2sl + tl + tail); |t| < 1% of |2s|.
    let (a, al) = fast_two_sum(S::splat(2.0) * s, t);
    let lo1 = al + (S::splat(2.0).mul_add(sl, tl) + tail);
    // + e·ln2, exactly for the head.
    let (p, pe) = e.two_prod(S::splat(LN2_1));
    let (h, hl) = two_sum(p, a);
    let lo = hl + (lo1 + e.mul_add(S::splat(LN2_2), pe));
    fast_two_sum(h, lo)
}

/// Past this |y·log x| the result may leave the normal range.
const POW_FAST_MAX: f64 = 708.0;

#[inline(always)]
pub(crate) fn pow<S: Simd>(x: S, y: S) -> S {
    let ok = S::m_and(
        S::m_and(
            S::splat(f64::MIN_POSITIVE).le(x),
            x.lt(S::splat(f64::INFINITY)),
        ),
        y.abs().lt(S::splat(f64::INFINITY)),
    );
    if S::any(S::m_not(ok)) {
        return pow_special(x, y);
    }
    let (l, ll) = log_dd(x, S::splat(0.0));
    let (p, pe) = y.two_prod(l);
    let pl = y.mul_add(ll, pe);
    if S::any(S::m_not(p.abs().le(S::splat(POW_FAST_MAX)))) {
        return exp_dd_wide(p, pl);
    }
    let (hi, lo, _, ks) = exp_core(p, pl);
    (hi + lo) * S::pow2_from_shifted(ks)
}

/// exp(p + pl) for any p (overflow to inf, underflow through the subnormals to 0).
#[inline(always)]
fn exp_dd_wide<S: Simd>(p: S, pl: S) -> S {
    let pc = p.max(S::splat(-746.0)).min(S::splat(710.0));
    // A clamped p may come with a huge low part (y·log x far out of range): drop it.
    let pl = S::select(pc.eq(p), pl, S::splat(0.0));
    let (hi, lo, k, _) = exp_core(pc, pl);
    scale_wide(hi + lo, k)
}

/// pow for vectors with a lane that is not (positive normal finite x, finite y).
#[inline(always)]
fn pow_special<S: Simd>(x: S, y: S) -> S {
    let one = S::splat(1.0);
    let inf = S::splat(f64::INFINITY);
    let ax = x.abs();
    let ay = y.abs();
    // The generic path on |x| (subnormals prescaled), with non-finite inputs replaced by 1.
    let sub = ax.lt(S::splat(f64::MIN_POSITIVE));
    let fin_x = S::m_and(S::m_not(sub), ax.lt(inf));
    let xs = S::select(
        fin_x,
        ax,
        S::select(sub, ax * S::splat(4503599627370496.0), one),
    );
    let xs = S::select(ax.eq(S::splat(0.0)), one, xs);
    let eadj = S::select(sub, S::splat(-52.0), S::splat(0.0));
    let ys = S::select(ay.lt(inf), y, S::splat(0.0));
    let (l, ll) = log_dd(xs, eadj);
    let (p, pe) = ys.two_prod(l);
    let v = exp_dd_wide(p, ys.mul_add(ll, pe));

    // y's integer class: yodd = odd integer, yint = any integer (|y| >= 2^53 is even).
    let big = S::splat(4503599627370496.0); // 2^52
    let t = S::select(ay.lt(big), ay + big, ay);
    let yint = S::m_or(big.le(ay), (t - big).eq(ay));
    let yodd = S::m_and(
        t.shl::<63>().sign_mask(),
        ay.lt(S::splat(9007199254740992.0)),
    );
    let yodd = S::m_and(
        yodd,
        S::m_not(S::m_and(big.le(ay), S::m_not(ay.lt(big + big)))),
    );
    let yodd = S::m_and(yodd, yint);

    // |x| = 0 or inf: 0^y is 0 for y > 0 and inf for y < 0; inf^y the other way round.
    let ypos = S::splat(0.0).lt(y);
    let v = S::select(ax.eq(S::splat(0.0)), S::select(ypos, S::splat(0.0), inf), v);
    let v = S::select(ax.eq(inf), S::select(ypos, inf, S::splat(0.0)), v);
    // y = ±inf: compare |x| with 1.
    let yinf = ay.eq(inf);
    let big_x = one.lt(ax);
    let v = S::select(
        yinf,
        S::select(
            S::m_or(
                S::m_and(big_x, ypos),
                S::m_and(S::m_not(big_x), S::m_not(ypos)),
            ),
            inf,
            S::splat(0.0),
        ),
        v,
    );
    let v = S::select(S::m_and(yinf, ax.eq(one)), one, v);
    // Negative x: odd integer y flips the sign, non-integer finite y is NaN.
    let xneg = x.sign_mask();
    let v = S::select(S::m_and(xneg, yodd), -v, v);
    let v = S::select(
        S::m_and(
            S::m_and(xneg, S::m_not(yint)),
            S::m_and(ay.lt(inf), ax.lt(inf)),
        ),
        S::splat(f64::NAN),
        v,
    );
    let v = S::select(
        S::m_and(
            S::m_and(xneg, S::m_not(yint)),
            S::m_and(ay.lt(inf), ax.eq(S::splat(0.0))),
        ),
        S::select(ypos, S::splat(0.0), inf),
        v,
    );
    // NaN in, NaN out — except pow(1, y) = 1 and pow(x, ±0) = 1.
    let v = S::select(S::m_or(x.is_nan(), y.is_nan()), x + y, v);
    let v = S::select(x.eq(one), one, v);
    S::select(y.eq(S::splat(0.0)), one, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_dd_carries_about_66_bits() {
        // (value, log as a double-double from mpmath)
        for (x, hi, lo) in [
            (3.0f64, 1.0986122886681098, -9.07129723500153e-17),
            (1e300, 690.7755278982137, 2.3747660028800243e-14),
        ] {
            let (h, l) = log_dd(x, 0.0);
            let err = ((h - hi) + (l - lo)).abs() / hi;
            assert!(err < 2f64.powi(-64), "log({x}): rel err {err:e}");
        }
    }

    #[test]
    fn annex_f_special_cases() {
        let nan = f64::NAN;
        let inf = f64::INFINITY;
        assert_eq!(pow(nan, 0.0f64), 1.0);
        assert_eq!(pow(1.0, nan), 1.0);
        assert_eq!(pow(-1.0, inf), 1.0);
        assert_eq!(pow(-0.0, -3.0), -inf);
        assert_eq!(pow(-0.0, -2.0), inf);
        assert_eq!(pow(-0.0, 3.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(pow(-inf, -3.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(pow(-inf, 3.0), -inf);
        assert_eq!(pow(0.5, -inf), inf);
        assert_eq!(pow(2.0, -inf), 0.0);
        assert!(pow(-2.0, 0.5).is_nan());
        assert_eq!(pow(-2.0, 3.0), -8.0);
        assert_eq!(pow(2.0, -1074.0), f64::from_bits(1));
    }

    /// Regression: when y·log x was far out of range, the clamped head kept its (huge) low
    /// part, giving garbage such as pow(-6.5e178, -1.9e236) = -7.2e-102 and
    /// pow(-4.97e279, 5.6e186) = -inf (random bit patterns against MPFR found them).
    #[test]
    fn far_out_of_range_products_saturate() {
        assert_eq!(pow(-6.513913109885398e178f64, -1.9020942883535624e236), 0.0);
        assert_eq!(
            pow(-4.969933973311375e279f64, 5.636683694413071e186),
            f64::INFINITY
        );
        assert_eq!(
            pow(-7.426755699865768e-255f64, -5.389141108430672e15),
            f64::INFINITY
        );
        assert_eq!(pow(1.3398491252483597e-193f64, 2.35995663477314e37), 0.0);
        assert_eq!(pow(0.5f64, -1e300), f64::INFINITY);
        assert_eq!(pow(1.0f64, 1e300), 1.0);
        assert_eq!(pow(1.0f64, f64::MAX), 1.0);
    }
}
