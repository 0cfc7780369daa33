//! The AVX2+FMA tier: 4 lanes of f64 in a `__m256d`.
//!
//! Invariant that makes every `unsafe` intrinsic call below sound: an `F64x4` value is only
//! ever created inside a function compiled with `#[target_feature(enable = "avx2,fma")]`, and
//! such functions are only called after `dispatch` has detected AVX2 and FMA at run time
//! (or, in tests, after checking `is_x86_feature_detected!`).

use super::Simd;
use core::arch::x86_64::*;
use core::ops::{Add, Div, Mul, Neg, Sub};

#[derive(Clone, Copy)]
pub(crate) struct F64x4(__m256d);

macro_rules! binop {
    ($tr:ident, $f:ident, $intr:ident) => {
        impl $tr for F64x4 {
            type Output = Self;
            #[inline(always)]
            fn $f(self, o: Self) -> Self {
                // SAFETY: AVX is available (module invariant).
                F64x4(unsafe { $intr(self.0, o.0) })
            }
        }
    };
}
binop!(Add, add, _mm256_add_pd);
binop!(Sub, sub, _mm256_sub_pd);
binop!(Mul, mul, _mm256_mul_pd);
binop!(Div, div, _mm256_div_pd);

impl Neg for F64x4 {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        self.xor(Self::splat(-0.0))
    }
}

macro_rules! cmp {
    ($f:ident, $pred:ident) => {
        #[inline(always)]
        fn $f(self, o: Self) -> __m256d {
            // SAFETY: AVX is available (module invariant).
            unsafe { _mm256_cmp_pd::<$pred>(self.0, o.0) }
        }
    };
}

macro_rules! bitop {
    ($f:ident, $intr:ident) => {
        #[inline(always)]
        fn $f(self, o: Self) -> Self {
            // SAFETY: AVX is available (module invariant).
            F64x4(unsafe { $intr(self.0, o.0) })
        }
    };
}

impl Simd for F64x4 {
    const LANES: usize = 4;
    const FMA: bool = true;
    type M = __m256d;

    #[inline(always)]
    fn splat(v: f64) -> Self {
        // SAFETY: AVX is available (module invariant).
        F64x4(unsafe { _mm256_set1_pd(v) })
    }
    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        // SAFETY: the caller guarantees 4 readable f64 at `p`; AVX per module invariant.
        F64x4(unsafe { _mm256_loadu_pd(p) })
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        // SAFETY: the caller guarantees 4 writable f64 at `p`; AVX per module invariant.
        unsafe { _mm256_storeu_pd(p, self.0) }
    }
    #[inline(always)]
    unsafe fn load_f32(p: *const f32) -> Self {
        // SAFETY: the caller guarantees 4 readable f32 at `p`; AVX per module invariant.
        F64x4(unsafe { _mm256_cvtps_pd(_mm_loadu_ps(p)) })
    }
    #[inline(always)]
    unsafe fn store_f32(self, p: *mut f32) {
        // SAFETY: the caller guarantees 4 writable f32 at `p`; AVX per module invariant.
        unsafe { _mm_storeu_ps(p, _mm256_cvtpd_ps(self.0)) }
    }
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        // SAFETY: FMA is available (module invariant).
        F64x4(unsafe { _mm256_fmadd_pd(self.0, b.0, c.0) })
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        // SAFETY: AVX is available (module invariant).
        F64x4(unsafe { _mm256_sqrt_pd(self.0) })
    }
    bitop!(min, _mm256_min_pd);
    bitop!(max, _mm256_max_pd);
    cmp!(lt, _CMP_LT_OQ);
    cmp!(le, _CMP_LE_OQ);
    cmp!(eq, _CMP_EQ_OQ);
    #[inline(always)]
    fn is_nan(self) -> __m256d {
        // SAFETY: AVX is available (module invariant).
        unsafe { _mm256_cmp_pd::<_CMP_UNORD_Q>(self.0, self.0) }
    }
    #[inline(always)]
    fn sign_mask(self) -> __m256d {
        // blendv only looks at the sign bit, so the value itself is the mask.
        self.0
    }
    #[inline(always)]
    fn select(m: __m256d, t: Self, f: Self) -> Self {
        // SAFETY: AVX is available (module invariant).
        F64x4(unsafe { _mm256_blendv_pd(f.0, t.0, m) })
    }
    #[inline(always)]
    fn m_and(a: __m256d, b: __m256d) -> __m256d {
        // SAFETY: AVX is available (module invariant).
        unsafe { _mm256_and_pd(a, b) }
    }
    #[inline(always)]
    fn m_or(a: __m256d, b: __m256d) -> __m256d {
        // SAFETY: AVX is available (module invariant).
        unsafe { _mm256_or_pd(a, b) }
    }
    #[inline(always)]
    fn m_not(a: __m256d) -> __m256d {
        // SAFETY: AVX is available (module invariant).
        unsafe { _mm256_xor_pd(a, _mm256_castsi256_pd(_mm256_set1_epi64x(-1))) }
    }
    #[inline(always)]
    fn any(m: __m256d) -> bool {
        // SAFETY: AVX is available (module invariant).
        unsafe { _mm256_movemask_pd(m) != 0 }
    }
    bitop!(and, _mm256_and_pd);
    bitop!(or, _mm256_or_pd);
    bitop!(xor, _mm256_xor_pd);
    bitop!(andnot, _mm256_andnot_pd);
    #[inline(always)]
    fn shl<const N: i32>(self) -> Self {
        // SAFETY: AVX2 is available (module invariant).
        F64x4(unsafe { _mm256_castsi256_pd(_mm256_slli_epi64::<N>(_mm256_castpd_si256(self.0))) })
    }
    #[inline(always)]
    fn shr<const N: i32>(self) -> Self {
        // SAFETY: AVX2 is available (module invariant).
        F64x4(unsafe { _mm256_castsi256_pd(_mm256_srli_epi64::<N>(_mm256_castpd_si256(self.0))) })
    }
    #[inline(always)]
    fn iadd(self, o: Self) -> Self {
        // SAFETY: AVX2 is available (module invariant).
        F64x4(unsafe {
            _mm256_castsi256_pd(_mm256_add_epi64(
                _mm256_castpd_si256(self.0),
                _mm256_castpd_si256(o.0),
            ))
        })
    }
    #[inline(always)]
    fn isub(self, o: Self) -> Self {
        // SAFETY: AVX2 is available (module invariant).
        F64x4(unsafe {
            _mm256_castsi256_pd(_mm256_sub_epi64(
                _mm256_castpd_si256(self.0),
                _mm256_castpd_si256(o.0),
            ))
        })
    }
}
