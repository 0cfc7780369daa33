//! sin, cos, tan.
//!
//! Reduction: q = round(|x|·2/π), r = |x| - q·π/2 as a double-double (r, rr), with π/2 split in
//! three 53-bit parts (Cody–Waite with an exact first step and error-free transforms for the
//! second), valid for |x| <= `reduce::FAST_MAX`; lanes above that (and ±inf) are patched by
//! `reduce::fix_huge_lanes` (Payne–Hanek), so the fast path costs one compare+branch per vector.
//!
//! Kernels on |r| <= π/4 use the minimax polynomials of FreeBSD msun `k_sin.c`/`k_cos.c`
//! (Sun Microsystems, 1993: "Permission to use, copy, modify, and distribute this software is
//! freely granted, provided that this notice is preserved."). Their relative approximation
//! errors, re-measured with mpmath, are 2^-57.5 (sin) and 2^-59.3 (cos).

use super::reduce::{fix_huge_lanes, FAST_MAX};
use super::simd::{horner, two_sum, Simd, SHIFTER};

const TWO_OVER_PI: f64 = core::f64::consts::FRAC_2_PI;
/// π/2 = PIO2_1 + PIO2_2 + PIO2_3 + O(2^-163), each part correctly rounded (mpmath).
const PIO2_1: f64 = core::f64::consts::FRAC_PI_2;
const PIO2_2: f64 = 6.123233995736766e-17;
const PIO2_3: f64 = -1.4973849048591698e-33;

/// sin(r)/r - 1 = z·(S1 + z·S2 + ...), z = r², from msun k_sin.c.
const SIN_POLY: [f64; 6] = [
    -0.16666666666666632,
    0.00833333333332249,
    -0.0001984126982985795,
    2.7557313707070068e-06,
    -2.5050760253406863e-08,
    1.58969099521155e-10,
];
/// cos(r) = 1 - z/2 + z²·(C1 + z·C2 + ...), from msun k_cos.c.
const COS_POLY: [f64; 6] = [
    0.0416666666666666,
    -0.001388888888887411,
    2.480158728947673e-05,
    -2.7557314351390663e-07,
    2.087572321298175e-09,
    -1.1359647557788195e-11,
];

/// Reduces `ax = |x|`: returns `(qs, r, rr)` where the low bits of `qs` hold q
/// (`qs = SHIFTER + q`) and ax = q·π/2 + r + rr with |r + rr| <= π/4 (+ a rounding).
#[inline(always)]
pub(crate) fn reduce<S: Simd>(ax: S) -> (S, S, S) {
    let qs = ax.mul_add(S::splat(TWO_OVER_PI), S::splat(SHIFTER));
    let q = qs - S::splat(SHIFTER);
    // Exact: both ax and q·PIO2_1 are multiples of 2^-52 (or q = 0) and |result| < 1.
    let r1 = q.sub_mul_exact(S::splat(PIO2_1), ax);
    let (p, pe) = q.two_prod(S::splat(PIO2_2));
    let (r, e) = two_sum(r1, -p);
    // rr stays below ~ulp(r), which is all the kernels need (no renormalization).
    let rr = (-q).mul_add(S::splat(PIO2_3), e - pe);
    let (mut qs, mut r, mut rr) = (qs, r, rr);
    // NaN compares false and is already NaN here; +inf is huge and becomes NaN below.
    if S::any(S::splat(FAST_MAX).lt(ax)) {
        let (axa, mut qa, mut ra, mut rra) =
            (ax.to_array(), qs.to_array(), r.to_array(), rr.to_array());
        fix_huge_lanes(S::LANES, &axa, &mut qa, &mut ra, &mut rra);
        (qs, r, rr) = (S::from_array(&qa), S::from_array(&ra), S::from_array(&rra));
    }
    (qs, r, rr)
}

/// sin(r + rr) for |r| <= π/4, z = r², as an unevaluated sum `(r, lo)` (|lo| < 0.1·|r|).
#[inline(always)]
fn sin_parts<S: Simd>(r: S, rr: S, z: S) -> (S, S) {
    // sin(r + rr) ≈ sin r + rr·cos r, cos r ≈ 1 - z/2 (the z/2 is worth up to 0.15 ulp).
    let rr_cos = (S::splat(-0.5) * z).mul_add(rr, rr);
    (r, (r * z).mul_add(horner(z, &SIN_POLY), rr_cos))
}

/// cos(r + rr) for |r| <= π/4, z = r², as an unevaluated sum `(w, lo)` (msun k_cos).
#[inline(always)]
fn cos_parts<S: Simd>(r: S, rr: S, z: S, zl: S) -> (S, S) {
    let hz = S::splat(0.5) * z;
    let w = S::splat(1.0) - hz;
    // The tail also takes -zl/2, the rounding error of z = r² (worth up to 0.2 ulp otherwise).
    let tail = (z * z).mul_add(horner(z, &COS_POLY), r.mul_add(-rr, S::splat(-0.5) * zl));
    (w, ((S::splat(1.0) - w) - hz) + tail)
}

/// Lanes whose bit 0 of the reduced quadrant is set.
#[inline(always)]
fn odd<S: Simd>(qs: S) -> S::M {
    qs.shl::<63>().sign_mask()
}

/// Bit 1 of the quadrant moved to the sign position (a -0.0 or +0.0 per lane).
#[inline(always)]
fn bit1_sign<S: Simd>(qs: S) -> S {
    qs.shl::<62>().and(S::splat(-0.0))
}

/// `use_cos ? cos(r + rr) : sin(r + rr)` per lane, for |r| <= π/4.
///
/// Both kernels have the shape `a + (b·P(z) + c)`, so one polynomial with per-lane coefficients
/// replaces two: that trades six FMAs for six blends, which run on other ports.
#[inline(always)]
fn sin_or_cos<S: Simd>(r: S, rr: S, use_cos: S::M) -> S {
    let (z, zl) = r.two_prod(r);
    // cos (msun k_cos): w = 1 - z/2 rounded, plus its exact rounding error, minus r·rr, minus
    // half the rounding error of z (worth up to 0.2 ulp otherwise).
    let hz = S::splat(0.5) * z;
    let w = S::splat(1.0) - hz;
    let cos_c = (-r).mul_add(rr, zl.mul_add(S::splat(-0.5), (S::splat(1.0) - w) - hz));
    // sin: r + (r·z·P(z) + rr·cos r).
    let a = S::select(use_cos, w, r);
    let b = z * S::select(use_cos, z, r);
    // sin(r + rr) ≈ sin r + rr·(1 - z/2).
    let c = S::select(use_cos, cos_c, (-hz).mul_add(rr, rr));
    let coef = |i: usize| S::select(use_cos, S::splat(COS_POLY[i]), S::splat(SIN_POLY[i]));
    let mut p = coef(5);
    for i in (0..5).rev() {
        p = p.mul_add(z, coef(i));
    }
    a + b.mul_add(p, c)
}

#[inline(always)]
pub(crate) fn sin<S: Simd>(x: S) -> S {
    // sin is odd: work on |x| and put the sign back at the end (this also keeps sin(-0) = -0).
    let (qs, r, rr) = reduce(x.abs());
    let v = sin_or_cos(r, rr, odd(qs));
    v.xor(bit1_sign(qs).xor(x.sign_bit()))
}

#[inline(always)]
pub(crate) fn cos<S: Simd>(x: S) -> S {
    let (qs, r, rr) = reduce(x.abs());
    let v = sin_or_cos(r, rr, S::m_not(odd(qs)));
    // cos(r + qπ/2) = cos r, -sin r, -cos r, sin r: negative iff bit 1 of q+1 is set.
    v.xor(bit1_sign(qs.iadd(S::splat_bits(1))))
}

/// `(sin x, cos x)` with one argument reduction: bit for bit `(sin(x), cos(x))`, since each lane
/// takes the same operations as in [`sin_or_cos`], only both polynomials are evaluated. Costs
/// about 1.3 times one of them instead of 2 (`sin(a)**2 + cos(a)**2`, the course's P1).
#[inline(always)]
pub(crate) fn sincos<S: Simd>(x: S) -> (S, S) {
    let (qs, r, rr) = reduce(x.abs());
    let (z, zl) = r.two_prod(r);
    let hz = S::splat(0.5) * z;
    let w = S::splat(1.0) - hz;
    let cos_c = (-r).mul_add(rr, zl.mul_add(S::splat(-0.5), (S::splat(1.0) - w) - hz));
    let poly = |coef: &[f64; 6]| {
        let mut p = S::splat(coef[5]);
        for i in (0..5).rev() {
            p = p.mul_add(z, S::splat(coef[i]));
        }
        p
    };
    let k_sin = r + (z * r).mul_add(poly(&SIN_POLY), (-hz).mul_add(rr, rr));
    let k_cos = w + (z * z).mul_add(poly(&COS_POLY), cos_c);
    let odd = odd(qs);
    let s = S::select(odd, k_cos, k_sin).xor(bit1_sign(qs).xor(x.sign_bit()));
    let c = S::select(odd, k_sin, k_cos).xor(bit1_sign(qs.iadd(S::splat_bits(1))));
    (s, c)
}

#[inline(always)]
pub(crate) fn tan<S: Simd>(x: S) -> S {
    // tan is odd: work on |x| (keeps tan(-0) = -0). tan(r + qπ/2) = sin/cos (q even) or
    // -cos/sin (q odd); both are carried as double-double-ish sums and divided with one
    // correction step, so the quotient is rounded about once.
    let (qs, r, rr) = reduce(x.abs());
    let (z, zl) = r.two_prod(r);
    let (sh, sl) = sin_parts(r, rr, z);
    let (ch, cl) = cos_parts(r, rr, z, zl);
    let odd = odd(qs);
    let (nh, nl) = (S::select(odd, ch, sh), S::select(odd, cl, sl));
    let (dh, dl) = (S::select(odd, sh, ch), S::select(odd, sl, cl));
    let inv = S::splat(1.0) / (dh + dl);
    let t = (nh + nl) * inv;
    // Residual N - t·D; the first product is formed exactly by the FMA (close to n_h).
    let e = t.sub_mul_exact(dh, nh) + (nl - t * dl);
    let v = e.mul_add(inv, t);
    let flip = S::select(odd, S::splat(-0.0), S::splat(0.0));
    v.xor(flip.xor(x.sign_bit()))
}

#[cfg(test)]
mod tests {
    use super::super::reduce::payne_hanek;
    use super::*;

    #[test]
    fn cody_waite_and_payne_hanek_agree_below_the_switch() {
        // Just below FAST_MAX both reductions are valid; they must give the same r (mod 2π).
        for x in [1073741823.0f64, 987654321.123, 1.0e9, 3.0e8 + 0.25] {
            let (qs, r, rr) = reduce(x);
            let (q, h, l) = payne_hanek(x);
            assert_eq!((qs.to_bits() & 3), q, "x = {x}");
            assert!(
                ((r - h) + (rr - l)).abs() <= 1e-30 + 1e-16 * h.abs(),
                "x = {x}: {r:e}+{rr:e} vs {h:e}+{l:e}"
            );
        }
    }

    #[test]
    fn quadrants_and_signs() {
        use core::f64::consts::{FRAC_PI_2, PI};
        assert_eq!(sin(FRAC_PI_2), 1.0);
        assert_eq!(cos(PI), -1.0);
        assert_eq!(sin(-0.0f64).to_bits(), (-0.0f64).to_bits());
        assert_eq!(tan(-0.0f64).to_bits(), (-0.0f64).to_bits());
        assert_eq!(cos(-0.0f64), 1.0);
        assert!(sin(f64::INFINITY).is_nan() && tan(f64::NEG_INFINITY).is_nan());
        assert_eq!(sin(1e-300f64), 1e-300);
        // tan near a pole (nearest double to π/2).
        assert_eq!(tan(FRAC_PI_2), 1.633123935319537e16);
    }
}
