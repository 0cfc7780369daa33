//! Square roots of a block with 256-bit instructions.
//!
//! Cranelift's x86-64 backend has 128-bit vectors only, and `sqrtpd` is throughput-bound: on
//! `vsqrtpd ymm` does four lanes in the time `sqrtpd xmm` does two (`cargo run --release
//! --example bench_core` shows the difference per element). So where AVX is available a stage's square roots are
//! block-staged like the transcendental functions. IEEE square root is correctly rounded, so
//! the result is bit for bit the JIT's inline `sqrt` and the interpreter's `f64::sqrt`.

/// The address of the f64 (or f32) block square root, an
/// `unsafe extern "C" fn(usize, *const T, *mut T)`, or `None` when the CPU lacks AVX (then the
/// JIT's inline 128-bit `sqrt` is the faster choice).
pub(crate) fn wide_sqrt_fn_ptr(is_f32: bool) -> Option<*const u8> {
    if !has_avx() {
        return None;
    }
    Some(if is_f32 {
        sqrt_f32 as *const u8
    } else {
        sqrt_f64 as *const u8
    })
}

fn has_avx() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `out[i] = sqrt(x[i])` for `i < n` on f64.
///
/// # Safety
/// AVX must be available; `x` readable and `out` writable for `n` elements, the ranges
/// identical or disjoint.
unsafe extern "C" fn sqrt_f64(n: usize, x: *const f64, out: *mut f64) {
    // SAFETY: forwarded caller contract (AVX checked by `wide_sqrt_fn_ptr`).
    unsafe { avx::sqrt_f64(n, x, out) }
}

/// `out[i] = sqrt(x[i])` for `i < n` on f32.
///
/// # Safety
/// As [`sqrt_f64`].
unsafe extern "C" fn sqrt_f32(n: usize, x: *const f32, out: *mut f32) {
    // SAFETY: forwarded caller contract (AVX checked by `wide_sqrt_fn_ptr`).
    unsafe { avx::sqrt_f32(n, x, out) }
}

#[cfg(target_arch = "x86_64")]
mod avx {
    use std::arch::x86_64::{
        _mm256_loadu_pd, _mm256_loadu_ps, _mm256_sqrt_pd, _mm256_sqrt_ps, _mm256_storeu_pd,
        _mm256_storeu_ps,
    };

    /// # Safety
    /// AVX available; `x` readable and `out` writable for `n` f64, identical or disjoint.
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn sqrt_f64(n: usize, x: *const f64, out: *mut f64) {
        let mut i = 0;
        while i + 4 <= n {
            // SAFETY: i + 4 <= n elements are in bounds of both ranges.
            unsafe { _mm256_storeu_pd(out.add(i), _mm256_sqrt_pd(_mm256_loadu_pd(x.add(i)))) };
            i += 4;
        }
        while i < n {
            // SAFETY: i < n.
            unsafe { *out.add(i) = (*x.add(i)).sqrt() };
            i += 1;
        }
    }

    /// # Safety
    /// AVX available; `x` readable and `out` writable for `n` f32, identical or disjoint.
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn sqrt_f32(n: usize, x: *const f32, out: *mut f32) {
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n elements are in bounds of both ranges.
            unsafe { _mm256_storeu_ps(out.add(i), _mm256_sqrt_ps(_mm256_loadu_ps(x.add(i)))) };
            i += 8;
        }
        while i < n {
            // SAFETY: i < n.
            unsafe { *out.add(i) = (*x.add(i)).sqrt() };
            i += 1;
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod avx {
    pub(super) unsafe fn sqrt_f64(_: usize, _: *const f64, _: *mut f64) {
        unreachable!("no AVX off x86-64")
    }
    pub(super) unsafe fn sqrt_f32(_: usize, _: *const f32, _: *mut f32) {
        unreachable!("no AVX off x86-64")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Block<T> = unsafe extern "C" fn(usize, *const T, *mut T);

    #[test]
    fn block_square_roots_are_the_correctly_rounded_ones_at_every_tail_length() {
        let Some(f64_ptr) = wide_sqrt_fn_ptr(false) else {
            return; // no AVX: the JIT keeps its inline sqrt and this kernel is never used
        };
        let f32_ptr = wide_sqrt_fn_ptr(true).unwrap();
        // SAFETY: both addresses are the functions of this module with these signatures.
        let (f64_fn, f32_fn) = unsafe {
            (
                std::mem::transmute::<*const u8, Block<f64>>(f64_ptr),
                std::mem::transmute::<*const u8, Block<f32>>(f32_ptr),
            )
        };
        let special = [
            0.0,
            -0.0,
            1.0,
            2.0,
            -1.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            0.1,
            1e300,
        ];
        let x: Vec<f64> = special
            .iter()
            .copied()
            .chain((0..40).map(|i| (i as f64 * 0.77).exp() - 3.0))
            .collect();
        for n in 0..x.len() {
            let mut out = vec![f64::NAN; n + 1];
            // SAFETY: x has at least n elements and out n + 1.
            unsafe { f64_fn(n, x.as_ptr(), out.as_mut_ptr()) };
            for i in 0..n {
                assert_eq!(out[i].to_bits(), x[i].sqrt().to_bits(), "f64 x = {}", x[i]);
            }
            assert!(out[n].is_nan(), "wrote past n = {n}");
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let mut out32 = vec![f32::NAN; n + 1];
            // SAFETY: as above.
            unsafe { f32_fn(n, x32.as_ptr(), out32.as_mut_ptr()) };
            for i in 0..n {
                assert_eq!(
                    out32[i].to_bits(),
                    x32[i].sqrt().to_bits(),
                    "f32 x = {}",
                    x32[i]
                );
            }
            assert!(out32[n].is_nan(), "wrote past n = {n}");
        }
    }
}
