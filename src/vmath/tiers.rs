//! The block drivers and their per-tier instantiations.
//!
//! `map1`/`map2` walk a block LANES at a time and send the tail through a padded stack buffer.
//! Every kernel is instantiated once per tier inside a function carrying that tier's
//! `#[target_feature]`, so the generic algorithm is compiled with the tier's instructions.
//! The kernel list is `vector_ops!` in the parent module: the one place that says which
//! algorithm implements which op.

use super::simd::{Simd, MAX_LANES};

/// A block function for a unary op on f64: `out[i] = f(x[i])` for `i < n`.
pub(crate) type UnaryFn = unsafe fn(usize, *const f64, *mut f64);
/// A block function for a binary op on f64: `out[i] = f(x[i], y[i])` for `i < n`.
pub(crate) type BinaryFn = unsafe fn(usize, *const f64, *const f64, *mut f64);
/// The f32 variants: elements are widened to f64 per vector and the result rounded once.
pub(crate) type UnaryFn32 = unsafe fn(usize, *const f32, *mut f32);
pub(crate) type BinaryFn32 = unsafe fn(usize, *const f32, *const f32, *mut f32);
/// sin and cos of one block at once: `s[i] = sin(x[i])`, `c[i] = cos(x[i])`.
pub(crate) type SinCosFn = unsafe fn(usize, *const f64, *mut f64, *mut f64);
pub(crate) type SinCosFn32 = unsafe fn(usize, *const f32, *mut f32, *mut f32);

/// An element type the drivers can load into / store from an f64 vector.
pub(crate) trait Elem: Copy {
    const PAD: Self;
    /// # Safety
    /// `p` valid for reading `S::LANES` elements.
    unsafe fn load<S: Simd>(p: *const Self) -> S;
    /// # Safety
    /// `p` valid for writing `S::LANES` elements.
    unsafe fn store<S: Simd>(v: S, p: *mut Self);
}

impl Elem for f64 {
    const PAD: f64 = PAD;
    #[inline(always)]
    unsafe fn load<S: Simd>(p: *const f64) -> S {
        // SAFETY: forwarded caller contract.
        unsafe { S::load(p) }
    }
    #[inline(always)]
    unsafe fn store<S: Simd>(v: S, p: *mut f64) {
        // SAFETY: forwarded caller contract.
        unsafe { v.store(p) }
    }
}

impl Elem for f32 {
    const PAD: f32 = PAD as f32;
    #[inline(always)]
    unsafe fn load<S: Simd>(p: *const f32) -> S {
        // SAFETY: forwarded caller contract.
        unsafe { S::load_f32(p) }
    }
    #[inline(always)]
    unsafe fn store<S: Simd>(v: S, p: *mut f32) {
        // SAFETY: forwarded caller contract.
        unsafe { v.store_f32(p) }
    }
}

/// Value used to fill the unused lanes of a tail vector: harmless for every kernel.
const PAD: f64 = 1.0;

/// Applies `k` elementwise. `out` may be exactly `x` (each vector is loaded before it is stored).
///
/// The kernel is `#[inline(always)]` at every call site (a pair of vectors, a single one, the
/// tail through a padded stack buffer), so it is compiled with the tier's `#[target_feature]`.
///
/// # Safety
/// `x` must be valid for reading and `out` for writing `n` f64 values; the two ranges are
/// either identical or disjoint.
#[inline(always)]
pub(crate) unsafe fn map1<S: Simd, T: Elem>(
    n: usize,
    x: *const T,
    out: *mut T,
    k: impl Fn(S) -> S,
) {
    let mut buf = [T::PAD; MAX_LANES];
    let mut i = 0;
    // Two vectors per step: a kernel is one long dependency chain (reduction, polynomial,
    // reconstruction), so a second independent chain nearly doubles the throughput.
    while i + 2 * S::LANES <= n {
        // SAFETY: both vectors lie inside the caller's ranges; both are loaded before storing.
        unsafe {
            let (a, b) = (T::load(x.add(i)), T::load(x.add(i + S::LANES)));
            let (a, b) = (k(a), k(b));
            T::store(a, out.add(i));
            T::store(b, out.add(i + S::LANES));
        }
        i += 2 * S::LANES;
    }
    while i < n {
        let m = (n - i).min(S::LANES);
        // SAFETY: full vectors stay inside the caller's ranges (i + LANES <= n); a partial one is
        // staged through `buf` (m < LANES <= MAX_LANES elements copied each way).
        unsafe {
            if m == S::LANES {
                T::store(k(T::load(x.add(i))), out.add(i));
            } else {
                core::ptr::copy_nonoverlapping(x.add(i), buf.as_mut_ptr(), m);
                T::store(k(T::load(buf.as_ptr())), buf.as_mut_ptr());
                core::ptr::copy_nonoverlapping(buf.as_ptr(), out.add(i), m);
            }
        }
        i += m;
    }
}

/// Applies `k` elementwise to pairs. `out` may be exactly `x` or exactly `y`.
///
/// # Safety
/// As for [`map1`], for each of `x` and `y`.
#[inline(always)]
pub(crate) unsafe fn map2<S: Simd, T: Elem>(
    n: usize,
    x: *const T,
    y: *const T,
    out: *mut T,
    k: impl Fn(S, S) -> S,
) {
    let (mut a, mut b) = ([T::PAD; MAX_LANES], [T::PAD; MAX_LANES]);
    let mut i = 0;
    while i < n {
        let m = (n - i).min(S::LANES);
        // SAFETY: as in `map1`.
        unsafe {
            let (px, py, po) = if m == S::LANES {
                (x.add(i), y.add(i), out.add(i))
            } else {
                core::ptr::copy_nonoverlapping(x.add(i), a.as_mut_ptr(), m);
                core::ptr::copy_nonoverlapping(y.add(i), b.as_mut_ptr(), m);
                (a.as_ptr(), b.as_ptr(), a.as_mut_ptr())
            };
            T::store(k(T::load(px), T::load(py)), po);
            if m < S::LANES {
                core::ptr::copy_nonoverlapping(a.as_ptr(), out.add(i), m);
            }
        }
        i += m;
    }
}

/// Applies `k`, which gives two results per element, writing them to `out_a` and `out_b`.
/// Each output may be exactly `x` (each vector is loaded before anything is stored), but not
/// the other output.
///
/// # Safety
/// As for [`map1`], for each output.
#[inline(always)]
pub(crate) unsafe fn map1x2<S: Simd, T: Elem>(
    n: usize,
    x: *const T,
    out_a: *mut T,
    out_b: *mut T,
    k: impl Fn(S) -> (S, S),
) {
    let (mut a, mut b) = ([T::PAD; MAX_LANES], [T::PAD; MAX_LANES]);
    let mut i = 0;
    // Two vectors per step, as in `map1`.
    while i + 2 * S::LANES <= n {
        // SAFETY: both vectors lie inside the caller's ranges; both are loaded before storing.
        unsafe {
            let (p, q) = (T::load(x.add(i)), T::load(x.add(i + S::LANES)));
            let ((pa, pb), (qa, qb)) = (k(p), k(q));
            T::store(pa, out_a.add(i));
            T::store(qa, out_a.add(i + S::LANES));
            T::store(pb, out_b.add(i));
            T::store(qb, out_b.add(i + S::LANES));
        }
        i += 2 * S::LANES;
    }
    while i < n {
        let m = (n - i).min(S::LANES);
        // SAFETY: as in `map1`.
        unsafe {
            if m == S::LANES {
                let (u, v) = k(T::load(x.add(i)));
                T::store(u, out_a.add(i));
                T::store(v, out_b.add(i));
            } else {
                core::ptr::copy_nonoverlapping(x.add(i), a.as_mut_ptr(), m);
                let (u, v) = k(T::load(a.as_ptr()));
                T::store(u, a.as_mut_ptr());
                T::store(v, b.as_mut_ptr());
                core::ptr::copy_nonoverlapping(a.as_ptr(), out_a.add(i), m);
                core::ptr::copy_nonoverlapping(b.as_ptr(), out_b.add(i), m);
            }
        }
        i += m;
    }
}

/// Emits one tier: a block function per op, made inside the `UNARY`/`BINARY` tables (in
/// `VUnary` / `VBinary` order) from the kernel list `with_ops!` passes in.
macro_rules! emit_tier {
    ($S:ty, $attr:meta;
     unary: [$($uk:path),* $(,)?];
     binary: [$($bk:path),* $(,)?];) => {
        pub(crate) const UNARY: [super::UnaryFn; super::super::VUnary::ALL.len()] = [$({
            #[$attr]
            unsafe fn block(n: usize, x: *const f64, out: *mut f64) {
                // SAFETY: the caller upholds `map1`'s contract and has checked the tier's features.
                unsafe { super::map1::<$S, f64>(n, x, out, #[inline(always)] |v| $uk(v)) }
            }
            block
        }),*];
        pub(crate) const UNARY32: [super::UnaryFn32; super::super::VUnary::ALL.len()] = [$({
            #[$attr]
            unsafe fn block(n: usize, x: *const f32, out: *mut f32) {
                // SAFETY: the caller upholds `map1`'s contract and has checked the tier's features.
                unsafe { super::map1::<$S, f32>(n, x, out, #[inline(always)] |v| $uk(v)) }
            }
            block
        }),*];
        pub(crate) const BINARY: [super::BinaryFn; super::super::VBinary::ALL.len()] = [$({
            #[$attr]
            unsafe fn block(n: usize, x: *const f64, y: *const f64, out: *mut f64) {
                // SAFETY: the caller upholds `map2`'s contract and has checked the tier's features.
                unsafe { super::map2::<$S, f64>(n, x, y, out, #[inline(always)] |a, b| $bk(a, b)) }
            }
            block
        }),*];
        pub(crate) const BINARY32: [super::BinaryFn32; super::super::VBinary::ALL.len()] = [$({
            #[$attr]
            unsafe fn block(n: usize, x: *const f32, y: *const f32, out: *mut f32) {
                // SAFETY: the caller upholds `map2`'s contract and has checked the tier's features.
                unsafe { super::map2::<$S, f32>(n, x, y, out, #[inline(always)] |a, b| $bk(a, b)) }
            }
            block
        }),*];
        #[$attr]
        pub(crate) unsafe fn sincos(n: usize, x: *const f64, s: *mut f64, c: *mut f64) {
            // SAFETY: the caller upholds `map1x2`'s contract and has checked the tier's features.
            unsafe { super::map1x2::<$S, f64>(n, x, s, c, #[inline(always)] |v| super::super::trig::sincos(v)) }
        }
        #[$attr]
        pub(crate) unsafe fn sincos_f32(n: usize, x: *const f32, s: *mut f32, c: *mut f32) {
            // SAFETY: the caller upholds `map1x2`'s contract and has checked the tier's features.
            unsafe { super::map1x2::<$S, f32>(n, x, s, c, #[inline(always)] |v| super::super::trig::sincos(v)) }
        }
    };
}

/// Baseline: one lane, no fused multiply-add; runs on every CPU.
pub(crate) mod scalar {
    super::super::with_ops!(f64, inline(never));
}

/// AVX2 + FMA, 4 lanes.
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    super::super::with_ops!(
        super::super::simd::avx2::F64x4,
        target_feature(enable = "avx2,fma")
    );
}

/// AVX-512F (+DQ, asked for by `dispatch`), 8 lanes.
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512 {
    super::super::with_ops!(
        super::super::simd::avx512::F64x8,
        target_feature(enable = "avx512f,avx512dq,avx2,fma")
    );
}
