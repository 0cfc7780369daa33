//! Chooses the ISA tier once per process and hands out the tier's block functions.
//!
//! Detection runs at first use (not at load time) and is cached in an atomic; a race between
//! two first users is harmless because both compute the same answer. `NUMJIT_VMATH_TIER`
//! (`avx512`, `avx2` or `scalar`) caps the choice, e.g. to test or time a lower tier; asking for
//! a tier the CPU lacks falls back to the best available one below it.

use super::tiers::{self, BinaryFn, BinaryFn32, SinCosFn, SinCosFn32, UnaryFn, UnaryFn32};
use super::{VBinary, VUnary};
use core::sync::atomic::{AtomicU8, Ordering};

/// An instruction-set tier, best last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Tier {
    Scalar = 1,
    Avx2 = 2,
    Avx512 = 3,
}

impl Tier {
    /// Every tier this CPU can run, best first.
    pub(crate) fn available() -> Vec<Tier> {
        [Tier::Avx512, Tier::Avx2, Tier::Scalar]
            .into_iter()
            .filter(|t| t.supported())
            .collect()
    }

    /// Whether the running CPU has the features this tier was compiled for.
    pub(crate) fn supported(self) -> bool {
        match self {
            Tier::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Tier::Avx2 => {
                std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Tier::Avx512 => {
                Tier::Avx2.supported()
                    && std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512dq")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The tier's block function for `op`.
    ///
    /// Calling the result is only sound if `self.supported()`.
    pub(crate) fn unary(self, op: VUnary) -> UnaryFn {
        match self {
            #[cfg(target_arch = "x86_64")]
            Tier::Avx512 => tiers::avx512::UNARY[op as usize],
            #[cfg(target_arch = "x86_64")]
            Tier::Avx2 => tiers::avx2::UNARY[op as usize],
            _ => tiers::scalar::UNARY[op as usize],
        }
    }

    /// The tier's block function for `op`.
    ///
    /// Calling the result is only sound if `self.supported()`.
    pub(crate) fn binary(self, op: VBinary) -> BinaryFn {
        match self {
            #[cfg(target_arch = "x86_64")]
            Tier::Avx512 => tiers::avx512::BINARY[op as usize],
            #[cfg(target_arch = "x86_64")]
            Tier::Avx2 => tiers::avx2::BINARY[op as usize],
            _ => tiers::scalar::BINARY[op as usize],
        }
    }

    /// The tier's f32 block function for `op` (widened to f64 per vector, rounded once).
    ///
    /// Calling the result is only sound if `self.supported()`.
    pub(crate) fn unary32(self, op: VUnary) -> UnaryFn32 {
        match self {
            #[cfg(target_arch = "x86_64")]
            Tier::Avx512 => tiers::avx512::UNARY32[op as usize],
            #[cfg(target_arch = "x86_64")]
            Tier::Avx2 => tiers::avx2::UNARY32[op as usize],
            _ => tiers::scalar::UNARY32[op as usize],
        }
    }

    /// The tier's f32 block function for `op` (widened to f64 per vector, rounded once).
    ///
    /// Calling the result is only sound if `self.supported()`.
    pub(crate) fn binary32(self, op: VBinary) -> BinaryFn32 {
        match self {
            #[cfg(target_arch = "x86_64")]
            Tier::Avx512 => tiers::avx512::BINARY32[op as usize],
            #[cfg(target_arch = "x86_64")]
            Tier::Avx2 => tiers::avx2::BINARY32[op as usize],
            _ => tiers::scalar::BINARY32[op as usize],
        }
    }

    /// The tier's block function computing sin and cos together.
    ///
    /// Calling the result is only sound if `self.supported()`.
    pub(crate) fn sincos(self) -> SinCosFn {
        match self {
            #[cfg(target_arch = "x86_64")]
            Tier::Avx512 => tiers::avx512::sincos,
            #[cfg(target_arch = "x86_64")]
            Tier::Avx2 => tiers::avx2::sincos,
            _ => tiers::scalar::sincos,
        }
    }

    /// The f32 version of [`Tier::sincos`].
    ///
    /// Calling the result is only sound if `self.supported()`.
    pub(crate) fn sincos32(self) -> SinCosFn32 {
        match self {
            #[cfg(target_arch = "x86_64")]
            Tier::Avx512 => tiers::avx512::sincos_f32,
            #[cfg(target_arch = "x86_64")]
            Tier::Avx2 => tiers::avx2::sincos_f32,
            _ => tiers::scalar::sincos_f32,
        }
    }

    fn from_u8(v: u8) -> Tier {
        match v {
            3 => Tier::Avx512,
            2 => Tier::Avx2,
            _ => Tier::Scalar,
        }
    }
}

/// 0 until the first call of [`active`], then a `Tier as u8`.
static ACTIVE: AtomicU8 = AtomicU8::new(0);

/// The tier every public entry point uses.
#[inline]
pub(crate) fn active() -> Tier {
    match ACTIVE.load(Ordering::Relaxed) {
        0 => init(),
        v => Tier::from_u8(v),
    }
}

#[cold]
fn init() -> Tier {
    let cap = match std::env::var("NUMJIT_VMATH_TIER").as_deref() {
        Ok("scalar") => Tier::Scalar,
        Ok("avx2") => Tier::Avx2,
        _ => Tier::Avx512,
    };
    let mut tier = Tier::available()
        .into_iter()
        .find(|t| *t <= cap)
        .unwrap_or(Tier::Scalar);
    // The AVX-512 tier runs the same algorithms as the AVX2 one with the same fused operations, so
    // the two must agree bit for bit; if they ever do not, trust the tier that CI exercises.
    if tier == Tier::Avx512 && !agrees_with(Tier::Avx512, Tier::Avx2) {
        tier = Tier::Avx2;
    }
    ACTIVE.store(tier as u8, Ordering::Relaxed);
    tier
}

/// Inputs for the start-up cross-check: ordinary, tiny, huge, special and tail-sized.
const PROBE: [f64; 23] = [
    0.0,
    -0.0,
    0.5,
    -0.75,
    1.0,
    2.5,
    -3.0,
    10.0,
    100.5,
    -700.0,
    1e-300,
    5e-324,
    1e10,
    -1e22,
    1e300,
    0.999,
    1.5,
    -0.3,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    3e-08,
    33.0,
];

/// Whether tiers `a` and `b` (both supported) give bit-identical results on `PROBE`.
fn agrees_with(a: Tier, b: Tier) -> bool {
    let same = |u: &[f64], v: &[f64]| {
        u.iter()
            .zip(v)
            .all(|(p, q)| p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan()))
    };
    let n = PROBE.len();
    let y: Vec<f64> = PROBE.iter().rev().copied().collect();
    let (mut u, mut v) = (vec![0.0; n], vec![0.0; n]);
    for op in VUnary::ALL {
        // SAFETY: both tiers are supported (checked by the caller); buffers hold n values.
        unsafe {
            a.unary(op)(n, PROBE.as_ptr(), u.as_mut_ptr());
            b.unary(op)(n, PROBE.as_ptr(), v.as_mut_ptr());
        }
        if !same(&u, &v) {
            return false;
        }
    }
    for op in VBinary::ALL {
        // SAFETY: as above.
        unsafe {
            a.binary(op)(n, PROBE.as_ptr(), y.as_ptr(), u.as_mut_ptr());
            b.binary(op)(n, PROBE.as_ptr(), y.as_ptr(), v.as_mut_ptr());
        }
        if !same(&u, &v) {
            return false;
        }
    }
    let (mut c, mut d) = (vec![0.0; n], vec![0.0; n]);
    // SAFETY: as above.
    unsafe {
        a.sincos()(n, PROBE.as_ptr(), u.as_mut_ptr(), c.as_mut_ptr());
        b.sincos()(n, PROBE.as_ptr(), v.as_mut_ptr(), d.as_mut_ptr());
    }
    if !same(&u, &v) || !same(&c, &d) {
        return false;
    }
    // The f32 paths add only the widening loads and narrowing stores; check those too.
    let p32: Vec<f32> = PROBE.iter().map(|&v| v as f32).collect();
    let (mut u32, mut v32) = (vec![0.0f32; n], vec![0.0f32; n]);
    for op in VUnary::ALL {
        // SAFETY: as above.
        unsafe {
            a.unary32(op)(n, p32.as_ptr(), u32.as_mut_ptr());
            b.unary32(op)(n, p32.as_ptr(), v32.as_mut_ptr());
        }
        if !u32
            .iter()
            .zip(&v32)
            .all(|(p, q)| p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan()))
        {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_are_ordered_and_the_active_one_is_supported() {
        assert!(Tier::Scalar < Tier::Avx2 && Tier::Avx2 < Tier::Avx512);
        assert!(Tier::Scalar.supported());
        assert!(active().supported());
        assert_eq!(Tier::available().last(), Some(&Tier::Scalar));
    }

    #[test]
    fn every_available_tier_agrees_with_itself_and_fma_tiers_with_each_other() {
        for t in Tier::available() {
            assert!(agrees_with(t, t));
        }
        if Tier::Avx512.supported() {
            assert!(agrees_with(Tier::Avx512, Tier::Avx2));
        }
    }
}
