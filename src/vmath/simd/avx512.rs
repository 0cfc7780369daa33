//! The AVX-512 tier: 8 lanes of f64 in a `__m512d`, lane masks in `__mmask8`.
//!
//! Only AVX-512F instructions are used (integer-domain logic instead of the DQ `_pd` forms), so
//! the tier needs `avx512f` alone; `dispatch` still asks for DQ as well, matching every real
//! AVX-512 CPU.
//!
//! Invariant that makes every `unsafe` intrinsic call below sound: an `F64x8` value is only
//! ever created inside a function compiled with `#[target_feature(enable = "avx512f,...")]`, and
//! such functions are only called after `dispatch` has detected AVX-512F at run time (or, in
//! tests, after checking `is_x86_feature_detected!`).

use super::Simd;
use core::arch::x86_64::*;
use core::ops::{Add, Div, Mul, Neg, Sub};

#[derive(Clone, Copy)]
pub(crate) struct F64x8(__m512d);

macro_rules! binop {
    ($tr:ident, $f:ident, $intr:ident) => {
        impl $tr for F64x8 {
            type Output = Self;
            #[inline(always)]
            fn $f(self, o: Self) -> Self {
                // SAFETY: AVX-512F is available (module invariant).
                F64x8(unsafe { $intr(self.0, o.0) })
            }
        }
    };
}
binop!(Add, add, _mm512_add_pd);
binop!(Sub, sub, _mm512_sub_pd);
binop!(Mul, mul, _mm512_mul_pd);
binop!(Div, div, _mm512_div_pd);

impl Neg for F64x8 {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        self.xor(Self::splat(-0.0))
    }
}

macro_rules! cmp {
    ($f:ident, $pred:ident) => {
        #[inline(always)]
        fn $f(self, o: Self) -> __mmask8 {
            // SAFETY: AVX-512F is available (module invariant).
            unsafe { _mm512_cmp_pd_mask::<$pred>(self.0, o.0) }
        }
    };
}

macro_rules! intop {
    ($f:ident, $intr:ident) => {
        #[inline(always)]
        fn $f(self, o: Self) -> Self {
            // SAFETY: AVX-512F is available (module invariant).
            F64x8(unsafe {
                _mm512_castsi512_pd($intr(_mm512_castpd_si512(self.0), _mm512_castpd_si512(o.0)))
            })
        }
    };
}

impl Simd for F64x8 {
    const LANES: usize = 8;
    const FMA: bool = true;
    type M = __mmask8;

    #[inline(always)]
    fn splat(v: f64) -> Self {
        // SAFETY: AVX-512F is available (module invariant).
        F64x8(unsafe { _mm512_set1_pd(v) })
    }
    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        // SAFETY: the caller guarantees 8 readable f64 at `p`; AVX-512F per module invariant.
        F64x8(unsafe { _mm512_loadu_pd(p) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        // SAFETY: the caller guarantees 8 writable f64 at `p`; AVX-512F per module invariant.
        unsafe { _mm512_storeu_pd(p, self.0) }
    }
    #[inline(always)]
    unsafe fn load_f32(p: *const f32) -> Self {
        // SAFETY: the caller guarantees 8 readable f32 at `p`; AVX-512F per module invariant.
        F64x8(unsafe { _mm512_cvtps_pd(_mm256_loadu_ps(p)) })
    }
    #[inline(always)]
    unsafe fn store_f32(self, p: *mut f32) {
        // SAFETY: the caller guarantees 8 writable f32 at `p`; AVX-512F per module invariant.
        unsafe { _mm256_storeu_ps(p, _mm512_cvtpd_ps(self.0)) }
    }
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        // SAFETY: AVX-512F is available (module invariant).
        F64x8(unsafe { _mm512_fmadd_pd(self.0, b.0, c.0) })
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        // SAFETY: AVX-512F is available (module invariant).
        F64x8(unsafe { _mm512_sqrt_pd(self.0) })
    }
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        // SAFETY: AVX-512F is available (module invariant). vminpd returns `o` on NaN, as documented.
        F64x8(unsafe { _mm512_min_pd(self.0, o.0) })
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        // SAFETY: AVX-512F is available (module invariant). vmaxpd returns `o` on NaN, as documented.
        F64x8(unsafe { _mm512_max_pd(self.0, o.0) })
    }
    cmp!(lt, _CMP_LT_OQ);
    cmp!(le, _CMP_LE_OQ);
    cmp!(eq, _CMP_EQ_OQ);
    #[inline(always)]
    fn is_nan(self) -> __mmask8 {
        // SAFETY: AVX-512F is available (module invariant).
        unsafe { _mm512_cmp_pd_mask::<_CMP_UNORD_Q>(self.0, self.0) }
    }
    #[inline(always)]
    fn sign_mask(self) -> __mmask8 {
        // SAFETY: AVX-512F is available (module invariant).
        unsafe { _mm512_cmplt_epi64_mask(_mm512_castpd_si512(self.0), _mm512_setzero_si512()) }
    }
    #[inline(always)]
    fn select(m: __mmask8, t: Self, f: Self) -> Self {
        // SAFETY: AVX-512F is available (module invariant).
        F64x8(unsafe { _mm512_mask_blend_pd(m, f.0, t.0) })
    }
    #[inline(always)]
    fn m_and(a: __mmask8, b: __mmask8) -> __mmask8 {
        a & b
    }
    #[inline(always)]
    fn m_or(a: __mmask8, b: __mmask8) -> __mmask8 {
        a | b
    }
    #[inline(always)]
    fn m_not(a: __mmask8) -> __mmask8 {
        !a
    }
    #[inline(always)]
    fn any(m: __mmask8) -> bool {
        m != 0
    }
    intop!(and, _mm512_and_epi64);
    intop!(or, _mm512_or_epi64);
    intop!(xor, _mm512_xor_epi64);
    intop!(andnot, _mm512_andnot_epi64);
    intop!(iadd, _mm512_add_epi64);
    intop!(isub, _mm512_sub_epi64);
    #[inline(always)]
    fn shl<const N: i32>(self) -> Self {
        // (`_mm512_slli_epi64` takes a `u32` const, which a generic `i32` cannot be forwarded to;
        // LLVM folds this splat-count variable shift into the immediate form.)
        // SAFETY: AVX-512F is available (module invariant).
        F64x8(unsafe {
            _mm512_castsi512_pd(_mm512_sllv_epi64(
                _mm512_castpd_si512(self.0),
                _mm512_set1_epi64(N as i64),
            ))
        })
    }
    #[inline(always)]
    fn shr<const N: i32>(self) -> Self {
        // SAFETY: AVX-512F is available (module invariant).
        F64x8(unsafe {
            _mm512_castsi512_pd(_mm512_srlv_epi64(
                _mm512_castpd_si512(self.0),
                _mm512_set1_epi64(N as i64),
            ))
        })
    }
}
