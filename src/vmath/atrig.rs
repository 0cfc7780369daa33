//! arctan, arctan2, arcsin, arccos.
//!
//! arctan: msun `s_atan.c`'s reduction (Sun Microsystems 1993, "Permission to use, copy,
//! modify, and distribute this software is freely granted, provided that this notice is
//! preserved.") — |x| is split at 7/16, 11/16, 19/16, 39/16 and reduced to
//! t = (x - c)/(1 + c·x) for c = 0, 1/2, 1, 3/2, ∞, |t| <= 7/16 — with its aT[] polynomial
//! (2^-57.6 relative on |t| <= 7/16, re-measured with mpmath). Unlike msun, t is carried as a
//! double-double (one division plus an exact residual), so the sum atan(c) + atan(t) is rounded
//! once and the error stays near 0.5 ulp.
//!
//! arcsin/arccos: |x| <= 1/2 uses asin(x) = x + x³·R(x²); above, msun's identity
//! asin(x) = π/2 - 2·asin(√((1-|x|)/2)) with the square root carried as a double-double.
//! R is a degree-11 minimax fit (`remez.py asin 11`: 2^-55.8 relative to asin on [0, 1/2]).

use super::simd::{fast_two_sum, horner, two_sum, Simd};

/// -(aT[0] + aT[1]·z + ...) from msun s_atan.c: atan(t) = t + t·z·ATAN_POLY(z), z = t².
const ATAN_POLY: [f64; 11] = [
    -0.3333333333333293,
    0.19999999999876483,
    -0.14285714272503466,
    0.11111110405462356,
    -0.09090887133436507,
    0.0769187620504483,
    -0.06661073137387531,
    0.058335701337905735,
    -0.049768779946159324,
    0.036531572744216916,
    -0.016285820115365782,
];

/// atan(c) for c = 1/2, 1, 3/2, ∞ as double-doubles (mpmath).
const ATAN_HALF: (f64, f64) = (0.4636476090008061, 2.2698777452961687e-17);
const ATAN_ONE: (f64, f64) = (core::f64::consts::FRAC_PI_4, 3.061616997868383e-17);
const ATAN_3HALF: (f64, f64) = (0.982793723247329, 1.3903311031230998e-17);
const PIO2: (f64, f64) = (core::f64::consts::FRAC_PI_2, 6.123233995736766e-17);
const PI: (f64, f64) = (core::f64::consts::PI, 1.2246467991473532e-16);

/// 2^900.
const ATAN_CAP: f64 = 8.452712498170644e270;

/// atan(q + ql) for finite q >= 0 (ql a tiny correction) as an unevaluated sum `(h, l)`.
#[inline(always)]
fn atan_core<S: Simd>(q: S, ql: S) -> (S, S) {
    // Interval constants: t = (A·q - B)/(B·q + A) and atan(c) = (hi, lo), c = B/A.
    let c = |v: f64| S::splat(v);
    let sel = |lim: f64, t: S, f: S| S::select(q.lt(S::splat(lim)), t, f);
    let a = sel(
        7.0 / 16.0,
        c(1.0),
        sel(
            11.0 / 16.0,
            c(2.0),
            sel(19.0 / 16.0, c(1.0), sel(39.0 / 16.0, c(2.0), c(0.0))),
        ),
    );
    let b = sel(
        7.0 / 16.0,
        c(0.0),
        sel(
            11.0 / 16.0,
            c(1.0),
            sel(19.0 / 16.0, c(1.0), sel(39.0 / 16.0, c(3.0), c(1.0))),
        ),
    );
    let hi = sel(
        7.0 / 16.0,
        c(0.0),
        sel(
            11.0 / 16.0,
            c(ATAN_HALF.0),
            sel(
                19.0 / 16.0,
                c(ATAN_ONE.0),
                sel(39.0 / 16.0, c(ATAN_3HALF.0), c(PIO2.0)),
            ),
        ),
    );
    let lo = sel(
        7.0 / 16.0,
        c(0.0),
        sel(
            11.0 / 16.0,
            c(ATAN_HALF.1),
            sel(
                19.0 / 16.0,
                c(ATAN_ONE.1),
                sel(39.0 / 16.0, c(ATAN_3HALF.1), c(PIO2.1)),
            ),
        ),
    );
    // Numerator and denominator as double-doubles (A·q is exact: A is 0, 1 or 2).
    let (nh, nl) = two_sum(a * q, -b);
    let nl = a.mul_add(ql, nl);
    let (bq, bqe) = q.two_prod(b);
    let (dh, dl) = two_sum(bq, a);
    let dl = b.mul_add(ql, dl + bqe);
    // t = th + tl: one division, then the exact residual of the head.
    let r = S::splat(1.0) / dh;
    let th = nh * r;
    let e = th.sub_mul_exact(dh, nh) + (nl - th * dl);
    let tl = e * r;
    let z = th * th;
    let s = (th * z) * horner(z, &ATAN_POLY);
    // atan(th + tl) = atan(th) + tl/(1 + th²); |hi| >= |th| whenever hi != 0.
    let (h, l) = fast_two_sum(hi, th);
    (h, l + (lo + tl.mul_add(S::splat(1.0) - z, s)))
}

#[inline(always)]
pub(crate) fn atan<S: Simd>(x: S) -> S {
    // Past 2^900, atan(x) rounds to π/2; capping there (NaN-preserving min) also covers ±inf
    // and keeps the error-free products in range.
    let q = S::splat(ATAN_CAP).min(x.abs());
    let (h, l) = atan_core(q, S::splat(0.0));
    let v = h + l;
    // atan is odd (this also keeps atan(-0) = -0); NaN passes through the arithmetic.
    v.xor(x.sign_bit())
}

/// `atan2(y, x)`: the angle of the point (x, y), in [-π, π].
#[inline(always)]
pub(crate) fn atan2<S: Simd>(y: S, x: S) -> S {
    let (ay, ax) = (y.abs(), x.abs());
    let swap = ax.lt(ay);
    let mut num = S::select(swap, ax, ay);
    let mut den = S::select(swap, ay, ax);
    let inf = S::splat(f64::INFINITY);
    let (tiny, huge) = (S::splat(2f64.powi(-990)), S::splat(2f64.powi(990)));
    // (A tiny numerator with a moderate denominator is rescaled too: without FMA, the residual's
    // products would otherwise lose bits in the subnormal range.)
    let tiny_num = S::m_and(
        num.lt(S::splat(2f64.powi(-960))),
        den.lt(S::splat(2f64.powi(390))),
    );
    if S::any(S::m_or(
        tiny_num,
        S::m_not(S::m_and(tiny.le(den), den.le(huge))),
    )) {
        // Zeros and infinities: 0/0 and ∞/∞ become 0/1 and 1/1, x/∞ becomes 0/1; the quadrant
        // logic below then yields C99's values (±0, ±π, ±π/2, ±π/4, ±3π/4). A NaN numerator
        // must survive (it meets den = 1 and propagates).
        let both_inf = S::m_and(num.eq(inf), den.eq(inf));
        let clear = S::m_or(
            den.eq(S::splat(0.0)),
            S::m_and(den.eq(inf), S::m_not(both_inf)),
        );
        let clear = S::m_and(clear, S::m_not(num.is_nan()));
        num = S::select(
            both_inf,
            S::splat(1.0),
            S::select(clear, S::splat(0.0), num),
        );
        den = S::select(S::m_or(both_inf, clear), S::splat(1.0), den);
        // Very small or large finite pairs: rescale both (num <= den) so 1/den stays normal
        // and the error-free products stay in range; a numerator pushed below the normal
        // range then only matters for results that underflow to 0 anyway (q < 2^-1412).
        let up = S::m_or(
            den.lt(tiny),
            S::m_and(
                num.lt(S::splat(2f64.powi(-960))),
                den.lt(S::splat(2f64.powi(390))),
            ),
        );
        let down = huge.lt(den);
        let scale = S::select(
            up,
            S::splat(2f64.powi(600)),
            S::select(down, S::splat(2f64.powi(-600)), S::splat(1.0)),
        );
        (num, den) = (num * scale, den * scale);
    }
    // q = num/den in [0, 1] as q + ql.
    let r = S::splat(1.0) / den;
    let q = num * r;
    let ql = q.sub_mul_exact(den, num) * r;
    let (h, l) = atan_core(q, ql);
    // angle = K + s·atan(q): K = 0, π/2 or π and s = ±1 from (swap, x < 0).
    let xneg = x.sign_mask();
    let k = S::select(
        swap,
        S::splat(1.0),
        S::select(xneg, S::splat(2.0), S::splat(0.0)),
    );
    let neg = S::select(
        S::m_or(
            S::m_and(swap, S::m_not(xneg)),
            S::m_and(S::m_not(swap), xneg),
        ),
        S::splat(-0.0),
        S::splat(0.0),
    );
    let (kh, kl) = (k * S::splat(PIO2.0), k * S::splat(PIO2.1));
    let (rh, rl) = two_sum(kh, h.xor(neg));
    let v = rh + (rl + (kl + l.xor(neg)));
    v.xor(y.sign_bit())
}

/// R(z) in asin(u) = u + u·z·R(z), z = u², |u| <= 1/2 (remez.py asin 11).
const ASIN_POLY: [f64; 12] = [
    0.16666666666665408,
    0.0750000000033701,
    0.044642856828331655,
    0.030381959136840653,
    0.022371758053355874,
    0.017359704719096182,
    0.013885235919922108,
    0.012169208497775925,
    0.006527989515948428,
    0.019528224954810842,
    -0.01622418853032161,
    0.03191222550392487,
];

/// asin(|x|) in pieces: returns `(small, u, c)` with asin(|x|) = u + c for |x| <= 1/2
/// (`small`) and asin(√((1-|x|)/2)) = u + c otherwise; |c| < 0.05·|u|.
#[inline(always)]
fn asin_parts<S: Simd>(ax: S) -> (S::M, S, S) {
    let small = ax.le(S::splat(0.5));
    // Exact for |x| in [1/2, 1]; NaN for |x| > 1, which then propagates.
    let w = (S::splat(1.0) - ax) * S::splat(0.5);
    let sh = w.sqrt();
    // √w = sh + sl: the residual w - sh² is exact for a correctly rounded sh.
    let sl = S::select(
        w.eq(S::splat(0.0)),
        S::splat(0.0),
        sh.sub_mul_exact(sh, w) / (sh + sh),
    );
    let u = S::select(small, ax, sh);
    let z = S::select(small, ax * ax, w);
    // asin(u + ul) ≈ asin(u) + ul·(1 + z/2), ul = sl (large branch only).
    let ul = S::select(small, S::splat(0.0), sl);
    let c = (u * z).mul_add(horner(z, &ASIN_POLY), ul.mul_add(S::splat(0.5) * z, ul));
    (small, u, c)
}

#[inline(always)]
pub(crate) fn asin<S: Simd>(x: S) -> S {
    let (small, u, c) = asin_parts(x.abs());
    // large: π/2 - 2(u + c), with π/2 >= 2u so the head difference is error-free.
    let (h, l) = fast_two_sum(S::splat(PIO2.0), S::splat(-2.0) * u);
    let big = h + (l + S::splat(-2.0).mul_add(c, S::splat(PIO2.1)));
    let v = S::select(small, u + c, big);
    // asin is odd (keeps asin(-0) = -0).
    v.xor(x.sign_bit())
}

#[inline(always)]
pub(crate) fn acos<S: Simd>(x: S) -> S {
    let (small, u, c) = asin_parts(x.abs());
    let sign = x.sign_bit();
    // small: π/2 - asin(x) = π/2 - (x + c·sign(x)).
    let (h, l) = fast_two_sum(S::splat(PIO2.0), -x);
    let v_small = h + (l + (S::splat(PIO2.1) - c.xor(sign)));
    // large, x > 0: 2(u + c); x < 0: π - 2(u + c).
    let (ph, pl) = fast_two_sum(S::splat(PI.0), S::splat(-2.0) * u);
    let v_neg = ph + (pl + S::splat(-2.0).mul_add(c, S::splat(PI.1)));
    let v_pos = S::splat(2.0) * (u + c);
    let v_big = S::select(x.sign_mask(), v_neg, v_pos);
    S::select(small, v_small, v_big)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pi_constant_is_twice_pio2() {
        assert_eq!(PI.0, 2.0 * PIO2.0);
        assert_eq!(PI.1, 2.0 * PIO2.1);
    }

    #[test]
    fn annex_f_values() {
        use core::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};
        let inf = f64::INFINITY;
        assert_eq!(atan2(0.0f64, -0.0), PI);
        assert_eq!(atan2(-0.0f64, -0.0), -PI);
        assert_eq!(atan2(-0.0f64, 0.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(atan2(1.0f64, 0.0), FRAC_PI_2);
        assert_eq!(atan2(inf, inf), FRAC_PI_4);
        assert_eq!(atan2(-inf, -inf), -3.0 * FRAC_PI_4);
        assert_eq!(atan2(1.0f64, -inf), PI);
        assert!(atan2(f64::NAN, 0.0).is_nan() && atan2(0.0, f64::NAN).is_nan());
        assert_eq!(atan(-inf), -FRAC_PI_2);
        assert_eq!(asin(1.0f64), FRAC_PI_2);
        assert_eq!(acos(-1.0f64), PI);
        assert_eq!(acos(1.0f64), 0.0);
        assert!(asin(1.0000000000000002f64).is_nan() && acos(-2.0f64).is_nan());
    }
}
