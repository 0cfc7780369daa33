//! Payne–Hanek argument reduction for the trigonometric functions' rare huge arguments.
//!
//! The vector kernels reduce |x| <= `FAST_MAX` with a Cody–Waite scheme and hand only the lanes
//! above it to [`fix_huge_lanes`], one lane at a time. The reduction multiplies the 53-bit
//! mantissa by a 192-bit window of the binary expansion of 2/π, exactly, in integer arithmetic,
//! so the result is accurate to ~2^-128 absolute for every finite double (the closest a double
//! gets to a multiple of π/2 is ~2^-61, so at least 67 significant bits remain).

use super::simd::{fast_two_sum, Simd, MAX_LANES, SHIFTER};

/// Largest |x| reduced by the vector Cody–Waite path (see `trig::reduce`): there, q·PIO2_3 is
/// rounded with an absolute error of at most 2^-53·q·2^-109 ≈ 2^-133 for q < 2^30, far below
/// the ~2^-61 closest approach of a double to a multiple of π/2.
pub(crate) const FAST_MAX: f64 = 1073741824.0; // 2^30

/// The bits of 2/π, preceded by 64 zero bits (so windows may start "before" the binary point):
/// word 0 holds bits 2^-1..2^-64 of (2/π)·2^-64, and so on. 1280 bits cover every finite double's
/// exponent plus the 192-bit window. Generated with mpmath: floor((2/π)·2^1216).
const TWO_OVER_PI_BITS: [u64; 20] = [
    0x0000000000000000,
    0xa2f9836e4e441529,
    0xfc2757d1f534ddc0,
    0xdb6295993c439041,
    0xfe5163abdebbc561,
    0xb7246e3a424dd2e0,
    0x06492eea09d1921c,
    0xfe1deb1cb129a73e,
    0xe88235f52ebb4484,
    0xe99c7026b45f7e41,
    0x3991d639835339f4,
    0x9c845f8bbdf9283b,
    0x1ff897ffde05980f,
    0xef2f118b5a0a6d1f,
    0x6d367ecf27cb09b7,
    0x4f463f669e5fea2d,
    0x7527bac7ebe5f17b,
    0x3d0739f78a5292ea,
    0x6bfb5fb11f8d5d08,
    0x56033046fc7b6bab,
];

/// π/2 as a double-double (correctly rounded head, then the rounded remainder).
const PIO2_HI: f64 = core::f64::consts::FRAC_PI_2;
const PIO2_LO: f64 = 6.123233995736766e-17;

/// 64 bits of the table starting at bit `k` (0 = MSB of word 0).
fn window64(k: usize) -> u64 {
    let (w, sh) = (k / 64, k % 64);
    if sh == 0 {
        TWO_OVER_PI_BITS[w]
    } else {
        (TWO_OVER_PI_BITS[w] << sh) | (TWO_OVER_PI_BITS[w + 1] >> (64 - sh))
    }
}

/// Reduces a finite `x >= 2^30`: returns `(q mod 4, r_hi, r_lo)` with
/// `x = q·π/2 + r_hi + r_lo` (mod 2π), |r| <= π/4.
pub(crate) fn payne_hanek(x: f64) -> (u64, f64, f64) {
    let bits = x.to_bits();
    let m = (bits & ((1u64 << 52) - 1)) | (1u64 << 52);
    // x = m·2^e, e >= -22.
    let e = ((bits >> 52) & 0x7ff) as i64 - 1075;
    // Bits of 2/π of weight >= 2^-(e-2) only add multiples of 4 to x·2/π: start one after.
    // In table coordinates (64 leading zeros) bit 2^-j of 2/π sits at index j + 63.
    let k0 = (e + 62) as usize;
    let (c0, c1, c2) = (window64(k0), window64(k0 + 64), window64(k0 + 128));
    // P = m·C, a 245-bit product with 190 fractional bits; limbs p0 (low) .. p3.
    let a = m as u128 * c2 as u128;
    let b = m as u128 * c1 as u128;
    let c = m as u128 * c0 as u128;
    let t = (a >> 64) + (b as u64 as u128);
    let p0 = a as u64;
    let p1 = t as u64;
    let t2 = (t >> 64) + (b >> 64) + (c as u64 as u128);
    let p2 = t2 as u64;
    // Bits 190 and 191: the quadrant.
    let quadrant = (p2 >> 62) & 3;
    // Top 128 fractional bits (bits 62..189), read as a signed fraction in [-1/2, 1/2).
    let frac = ((p2 as u128) << 66) | ((p1 as u128) << 2) | ((p0 >> 62) as u128);
    let f = frac as i128;
    let q = (quadrant + (f < 0) as u64) & 3;
    let hi = f as f64;
    let lo = (f - hi as i128) as f64;
    let scale = f64::from_bits((1023 - 128) << 52); // 2^-128
    let (hi, lo) = (hi * scale, lo * scale);
    // r = (hi + lo)·π/2 in double-double.
    let (p, pe) = hi.two_prod(PIO2_HI);
    let (r, rr) = fast_two_sum(p, pe + (hi * PIO2_LO + lo * PIO2_HI));
    (q, r, rr)
}

/// Replaces the reduction of every lane with `!(ax <= FAST_MAX)` (huge or infinite; NaN lanes
/// compare false but are already NaN) by Payne–Hanek's. `qs` holds `SHIFTER + q` per lane.
#[cold]
#[inline(never)]
pub(crate) fn fix_huge_lanes(
    lanes: usize,
    ax: &[f64; MAX_LANES],
    qs: &mut [f64; MAX_LANES],
    r: &mut [f64; MAX_LANES],
    rr: &mut [f64; MAX_LANES],
) {
    for i in 0..lanes {
        if ax[i] > FAST_MAX {
            if ax[i] == f64::INFINITY {
                (r[i], rr[i]) = (f64::NAN, f64::NAN);
            } else {
                let (q, h, l) = payne_hanek(ax[i]);
                (qs[i], r[i], rr[i]) = (SHIFTER + q as f64, h, l);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recomputes sin(x) from the reduction of huge x and compares with mpmath's value.
    #[test]
    fn known_reductions() {
        // (x, sin(x)) pairs, sin correctly rounded by mpmath at 2000 bits.
        let cases: [(f64, f64); 4] = [
            (1e22, -0.8522008497671888),
            (1e+300, -0.8178819121159085),
            (f64::MAX, 0.004961954789184062),
            (6381956970095103.0 * 2f64.powi(797), 1.0),
        ];
        for (x, want) in cases {
            let (q, r, rr) = payne_hanek(x);
            // The platform's sin/cos on |r| <= π/4 are accurate to an ulp.
            let (s, c) = (|r: f64| r.sin(), |r: f64| r.cos());
            let v = match q {
                0 => s(r) + rr * c(r),
                1 => c(r),
                2 => -(s(r) + rr * c(r)),
                _ => -c(r),
            };
            assert!(
                (v - want).abs() <= 4e-16 * want.abs().max(1e-300),
                "x={x:e}: {v:e} vs {want:e}"
            );
        }
    }
}
