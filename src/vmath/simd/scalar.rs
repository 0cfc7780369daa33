//! The portable one-lane tier: plain `f64`. Used on CPUs without AVX2+FMA and on non-x86 targets.
//!
//! `mul_add` is deliberately *unfused* here: on x86-64 without the `fma` target feature,
//! `f64::mul_add` becomes a slow libm call. Kernels never rely on fusing for correctness
//! (exact products go through `Simd::two_prod`).

use super::{Simd, MAX_LANES};

impl Simd for f64 {
    const LANES: usize = 1;
    const FMA: bool = false;
    type M = bool;

    #[inline(always)]
    fn splat(v: f64) -> Self {
        v
    }
    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        // SAFETY: the caller guarantees `p` is valid for reading one f64.
        unsafe { p.read_unaligned() }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        // SAFETY: the caller guarantees `p` is valid for writing one f64.
        unsafe { p.write_unaligned(self) }
    }
    #[inline(always)]
    unsafe fn load_f32(p: *const f32) -> Self {
        // SAFETY: the caller guarantees `p` is valid for reading one f32.
        f64::from(unsafe { p.read_unaligned() })
    }
    #[inline(always)]
    unsafe fn store_f32(self, p: *mut f32) {
        // SAFETY: the caller guarantees `p` is valid for writing one f32.
        unsafe { p.write_unaligned(self as f32) }
    }
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        self * b + c
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        if self < o {
            self
        } else {
            o
        }
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        if self > o {
            self
        } else {
            o
        }
    }
    #[inline(always)]
    fn lt(self, o: Self) -> bool {
        self < o
    }
    #[inline(always)]
    fn le(self, o: Self) -> bool {
        self <= o
    }
    #[inline(always)]
    fn eq(self, o: Self) -> bool {
        self == o
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        self.is_nan()
    }
    #[inline(always)]
    fn sign_mask(self) -> bool {
        self.to_bits() >> 63 != 0
    }
    #[inline(always)]
    fn select(m: bool, t: Self, f: Self) -> Self {
        if m {
            t
        } else {
            f
        }
    }
    #[inline(always)]
    fn m_and(a: bool, b: bool) -> bool {
        a & b
    }
    #[inline(always)]
    fn m_or(a: bool, b: bool) -> bool {
        a | b
    }
    #[inline(always)]
    fn m_not(a: bool) -> bool {
        !a
    }
    #[inline(always)]
    fn any(m: bool) -> bool {
        m
    }
    #[inline(always)]
    fn and(self, o: Self) -> Self {
        f64::from_bits(self.to_bits() & o.to_bits())
    }
    #[inline(always)]
    fn or(self, o: Self) -> Self {
        f64::from_bits(self.to_bits() | o.to_bits())
    }
    #[inline(always)]
    fn xor(self, o: Self) -> Self {
        f64::from_bits(self.to_bits() ^ o.to_bits())
    }
    #[inline(always)]
    fn andnot(self, o: Self) -> Self {
        f64::from_bits(!self.to_bits() & o.to_bits())
    }
    #[inline(always)]
    fn shl<const N: i32>(self) -> Self {
        f64::from_bits(self.to_bits() << N)
    }
    #[inline(always)]
    fn shr<const N: i32>(self) -> Self {
        f64::from_bits(self.to_bits() >> N)
    }
    #[inline(always)]
    fn iadd(self, o: Self) -> Self {
        f64::from_bits(self.to_bits().wrapping_add(o.to_bits()))
    }
    #[inline(always)]
    fn isub(self, o: Self) -> Self {
        f64::from_bits(self.to_bits().wrapping_sub(o.to_bits()))
    }
    #[inline(always)]
    fn to_array(self) -> [f64; MAX_LANES] {
        let mut a = [0.0; MAX_LANES];
        a[0] = self;
        a
    }
    #[inline(always)]
    fn from_array(a: &[f64; MAX_LANES]) -> Self {
        a[0]
    }
}
