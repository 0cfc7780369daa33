//! The block drivers and their per-tier instantiations.
//!
//! `map1`/`map2` walk a block LANES at a time and send the tail through a padded stack buffer.
//! Every kernel is instantiated once per tier inside a function carrying that tier's
//! `#[target_feature]`, so the generic algorithm is compiled with the tier's instructions.
//! The op lists below are the single place that says which kernel implements which op.

use super::simd::{Simd, MAX_LANES};

/// A block function for a unary op on f64: `out[i] = f(x[i])` for `i < n`.
pub(crate) type UnaryFn = unsafe fn(usize, *const f64, *mut f64);
/// A block function for a binary op on f64: `out[i] = f(x[i], y[i])` for `i < n`.
pub(crate) type BinaryFn = unsafe fn(usize, *const f64, *const f64, *mut f64);

/// Value used to fill the unused lanes of a tail vector: harmless for every kernel.
const PAD: f64 = 1.0;

/// Applies `k` elementwise. `out` may be exactly `x` (each vector is loaded before it is stored).
///
/// # Safety
/// `x` must be valid for reading and `out` for writing `n` f64 values; the two ranges are
/// either identical or disjoint.
#[inline(always)]
pub(crate) unsafe fn map1<S: Simd>(n: usize, x: *const f64, out: *mut f64, k: impl Fn(S) -> S) {
    let mut i = 0;
    while i + S::LANES <= n {
        // SAFETY: i + LANES <= n, so the loads and stores stay inside the caller's ranges.
        unsafe { k(S::load(x.add(i))).store(out.add(i)) };
        i += S::LANES;
    }
    if i < n {
        let m = n - i;
        let mut buf = [PAD; MAX_LANES];
        // SAFETY: m < LANES <= MAX_LANES elements remain at x + i / out + i; `buf` is local.
        unsafe {
            core::ptr::copy_nonoverlapping(x.add(i), buf.as_mut_ptr(), m);
            k(S::load(buf.as_ptr())).store(buf.as_mut_ptr());
            core::ptr::copy_nonoverlapping(buf.as_ptr(), out.add(i), m);
        }
    }
}

/// Applies `k` elementwise to pairs. `out` may be exactly `x` or exactly `y`.
///
/// # Safety
/// As for [`map1`], for each of `x` and `y`.
#[inline(always)]
pub(crate) unsafe fn map2<S: Simd>(
    n: usize,
    x: *const f64,
    y: *const f64,
    out: *mut f64,
    k: impl Fn(S, S) -> S,
) {
    let mut i = 0;
    while i + S::LANES <= n {
        // SAFETY: i + LANES <= n, so the loads and stores stay inside the caller's ranges.
        unsafe { k(S::load(x.add(i)), S::load(y.add(i))).store(out.add(i)) };
        i += S::LANES;
    }
    if i < n {
        let m = n - i;
        let (mut a, mut b) = ([PAD; MAX_LANES], [PAD; MAX_LANES]);
        // SAFETY: m < LANES <= MAX_LANES elements remain at x/y/out + i; `a`, `b` are local.
        unsafe {
            core::ptr::copy_nonoverlapping(x.add(i), a.as_mut_ptr(), m);
            core::ptr::copy_nonoverlapping(y.add(i), b.as_mut_ptr(), m);
            k(S::load(a.as_ptr()), S::load(b.as_ptr())).store(a.as_mut_ptr());
            core::ptr::copy_nonoverlapping(a.as_ptr(), out.add(i), m);
        }
    }
}

/// Emits one tier: a block function per op plus the `UNARY`/`BINARY` tables (in `VUnary` /
/// `VBinary` order).
macro_rules! emit_tier {
    ($S:ty, $attr:meta;
     unary: [$($u:ident => $uk:path),* $(,)?];
     binary: [$($b:ident => $bk:path),* $(,)?];) => {
        $(
            #[$attr]
            pub(crate) unsafe fn $u(n: usize, x: *const f64, out: *mut f64) {
                // SAFETY: the caller upholds `map1`'s contract and has checked the tier's features.
                unsafe { super::map1::<$S>(n, x, out, |v| $uk(v)) }
            }
        )*
        $(
            #[$attr]
            pub(crate) unsafe fn $b(n: usize, x: *const f64, y: *const f64, out: *mut f64) {
                // SAFETY: the caller upholds `map2`'s contract and has checked the tier's features.
                unsafe { super::map2::<$S>(n, x, y, out, |a, b| $bk(a, b)) }
            }
        )*
        pub(crate) const UNARY: [super::UnaryFn; super::super::VUnary::ALL.len()] = [$($u),*];
        pub(crate) const BINARY: [super::BinaryFn; super::super::VBinary::ALL.len()] = [$($b),*];
    };
}

/// The op table: which kernel implements each op, in `VUnary`/`VBinary` order.
macro_rules! with_ops {
    ($S:ty, $attr:meta) => {
        emit_tier! { $S, $attr;
            unary: [
                sin => super::super::trig::sin,
                cos => super::super::trig::cos,
                tan => super::super::trig::tan,
                exp => super::super::exp_log::exp,
                expm1 => super::super::exp_log::expm1,
                log => super::super::exp_log::log,
                log1p => super::super::exp_log::log1p,
                log2 => super::super::exp_log::log2,
                log10 => super::super::exp_log::log10,
                arcsin => super::super::fallback::asin,
                arccos => super::super::fallback::acos,
                arctan => super::super::fallback::atan,
                sinh => super::super::fallback::sinh,
                cosh => super::super::fallback::cosh,
                tanh => super::super::fallback::tanh,
                arcsinh => super::super::fallback::asinh,
                arccosh => super::super::fallback::acosh,
                arctanh => super::super::fallback::atanh,
            ];
            binary: [
                arctan2 => super::super::fallback::atan2,
                pow => super::super::pow::pow,
                hypot => super::super::fallback::hypot,
            ];
        }
    };
}

/// Baseline: one lane, no fused multiply-add; runs on every CPU.
pub(crate) mod scalar {
    with_ops!(f64, inline(never));
}

/// AVX2 + FMA, 4 lanes.
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    with_ops!(
        super::super::simd::avx2::F64x4,
        target_feature(enable = "avx2,fma")
    );
}

/// AVX-512F (+DQ, asked for by `dispatch`), 8 lanes.
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512 {
    with_ops!(
        super::super::simd::avx512::F64x8,
        target_feature(enable = "avx512f,avx512dq,avx2,fma")
    );
}
