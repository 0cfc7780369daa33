//! Vectorized elementwise math for the JIT's transcendental calls.
//!
//! Cranelift cannot vectorize `sin`, `exp`, … itself, so a generated kernel stages arguments
//! into an L1-sized scratch block and calls one precompiled *block function* per block:
//! `block(n, x, out)` (unary) or `block(n, x, y, out)` (binary), reached by address, which
//! computes `out[i] = op(x[i])` / `op(x[i], y[i])` for `i < n`. `out` may be exactly `x` (or `y`).
//!
//! Each algorithm is written once over the small SIMD trait in `simd` and compiled per ISA
//! tier (`tiers`); `dispatch` picks AVX-512, AVX2+FMA or the portable scalar tier at first use
//! (`NUMJIT_VMATH_TIER=avx512|avx2|scalar` caps it). The f32 entry points widen each vector to
//! f64, run the f64 kernel and round once, which is accurate (f64 error ≤ 1 ulp ⇒ f32 error
//! ≤ 0.5 ulp plus 2^-29) and costs only the two conversions.
//!
//! Complex functions (`complex`) have block functions too, `block(n, z, out)` over interleaved
//! parts: composed from these kernels per chunk, with the C library's function for every
//! element the fast formula does not cover (special values stay NumPy's bit for bit).
//!
//! Semantics follow C99 Annex F / glibc: NaN propagates, `sin(±inf)` is NaN, `exp(-inf) = 0`,
//! `log(0) = -inf`, `log(-1)` is NaN, signed zeros are kept where C99 keeps them, subnormal
//! inputs and outputs are handled exactly (no flush to zero). `arctan2(x, y)` is NumPy's
//! `arctan2(x1, x2)`, i.e. C's `atan2(x, y)` with `x` the ordinate.
//!
//! # Measured accuracy and speed
//!
//! Every op has a vector kernel, and every op is ≤ 1 ulp on every tier.
//! Max error in ulps against MPFR (256-bit, via `rug`, in the development crate), over the
//! given number of points per op: uniform and log-uniform over the whole domain, subnormals,
//! the overflow/underflow edges, 30 000 random bit patterns (every class of double, NaN payloads
//! included) and, for sin/cos/tan, the nearest doubles to multiples of π/2 (multipliers up to
//! 2^62) plus |x| up to 1.8e308. No special value (NaN, ±inf, ±0, domain error) disagreed.
//! The unit tests (`tests.rs`) hold every tier to ≤ 1 ulp on the mpmath reference points in
//! `testdata/`.
//! The AVX-512 tier runs the same algorithms with the same fused operations, so its results are
//! bit-identical to AVX2's — `dispatch` checks that at start-up and falls back to AVX2 otherwise.
//! The measured accuracy and speed of every kernel and tier are in the README's vector-math
//! table (speed: `cargo run --release --example bench_core`); no figure is repeated here, where
//! it would go stale.
//!
//! f32 ops widen each vector to f64, so their error is ≤ 0.5 ulp + 2^-29, i.e. the f64 result
//! rounded once. The scalar tier (no FMA: exact products via Dekker splitting) exists for CPUs
//! without AVX2+FMA and non-x86 targets; it is correct but not fast.

mod atrig;
mod complex;
mod dispatch;
mod exp_log;
mod hyper;
mod hypot;
mod pow;
mod reduce;
mod simd;
mod sqrt;
mod tiers;
mod trig;

pub(crate) use complex::{complex_fn_ptr, CUnary};
pub(crate) use sqrt::wide_sqrt_fn_ptr;

#[cfg(test)]
mod tests;

/// Makes, from one row per kernel (its variant, what it computes, the generic algorithm), the
/// `VUnary`/`VBinary` enums, their `ALL` lists, the `extern "C"` block functions the JIT calls
/// and the `with_ops!` list each tier in `tiers` instantiates. The op table (`ops`) maps source
/// names to these variants; nothing else names a kernel.
macro_rules! vector_ops {
    (($d:tt)
     unary: [$($(#[$udoc:meta])* $u:ident => $um:ident :: $uf:ident),* $(,)?];
     binary: [$($(#[$bdoc:meta])* $b:ident => $bm:ident :: $bf:ident),* $(,)?];) => {
        /// A unary elementwise function with a vector kernel.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum VUnary {
            $($(#[$udoc])* $u),*
        }

        /// A binary elementwise function with a vector kernel.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum VBinary {
            $($(#[$bdoc])* $b),*
        }

        impl VUnary {
            /// Every op, in discriminant order (the order of the tier tables).
            pub const ALL: [VUnary; [$(stringify!($u)),*].len()] = [$(VUnary::$u),*];
        }

        impl VBinary {
            /// Every op, in discriminant order (the order of the tier tables).
            pub const ALL: [VBinary; [$(stringify!($b)),*].len()] = [$(VBinary::$b),*];
        }

        /// The block functions, in `VUnary` order: `out[i] = op(x[i])` for `i < n`.
        ///
        /// Safety of each: `x` readable and `out` writable for `n` elements; the ranges are
        /// identical or disjoint.
        const UNARY_F64: [unsafe extern "C" fn(usize, *const f64, *mut f64); VUnary::ALL.len()] = [$({
            unsafe extern "C" fn block(n: usize, x: *const f64, out: *mut f64) {
                // SAFETY: forwarded caller contract.
                unsafe { run_unary_f64(VUnary::$u, n, x, out) }
            }
            block
        }),*];
        const UNARY_F32: [unsafe extern "C" fn(usize, *const f32, *mut f32); VUnary::ALL.len()] = [$({
            unsafe extern "C" fn block(n: usize, x: *const f32, out: *mut f32) {
                // SAFETY: forwarded caller contract.
                unsafe { run_unary_f32(VUnary::$u, n, x, out) }
            }
            block
        }),*];

        /// The block functions, in `VBinary` order: `out[i] = op(x[i], y[i])` for `i < n`.
        ///
        /// Safety of each: `x`, `y` readable and `out` writable for `n` elements; `out` is
        /// identical to or disjoint from each input.
        const BINARY_F64: [unsafe extern "C" fn(usize, *const f64, *const f64, *mut f64); VBinary::ALL.len()] = [$({
            unsafe extern "C" fn block(n: usize, x: *const f64, y: *const f64, out: *mut f64) {
                // SAFETY: forwarded caller contract.
                unsafe { run_binary_f64(VBinary::$b, n, x, y, out) }
            }
            block
        }),*];
        const BINARY_F32: [unsafe extern "C" fn(usize, *const f32, *const f32, *mut f32); VBinary::ALL.len()] = [$({
            unsafe extern "C" fn block(n: usize, x: *const f32, y: *const f32, out: *mut f32) {
                // SAFETY: forwarded caller contract.
                unsafe { run_binary_f32(VBinary::$b, n, x, y, out) }
            }
            block
        }),*];

        /// Instantiates every kernel for one tier (see `tiers::emit_tier`).
        macro_rules! with_ops {
            ($d S:ty, $d attr:meta) => {
                emit_tier! { $d S, $d attr;
                    unary: [$(crate::vmath::$um::$uf),*];
                    binary: [$(crate::vmath::$bm::$bf),*];
                }
            };
        }
        use with_ops;
    };
}

vector_ops! {
    ($)
    unary: [
        /// sin(x)
        Sin => trig::sin,
        /// cos(x)
        Cos => trig::cos,
        /// tan(x)
        Tan => trig::tan,
        /// e^x
        Exp => exp_log::exp,
        /// e^x - 1, accurate near 0
        Expm1 => exp_log::expm1,
        /// natural logarithm
        Log => exp_log::log,
        /// log(1 + x), accurate near 0
        Log1p => exp_log::log1p,
        /// base-2 logarithm
        Log2 => exp_log::log2,
        /// base-10 logarithm
        Log10 => exp_log::log10,
        /// inverse sine, in [-π/2, π/2]
        Arcsin => atrig::asin,
        /// inverse cosine, in [0, π]
        Arccos => atrig::acos,
        /// inverse tangent, in [-π/2, π/2]
        Arctan => atrig::atan,
        /// hyperbolic sine
        Sinh => hyper::sinh,
        /// hyperbolic cosine
        Cosh => hyper::cosh,
        /// hyperbolic tangent
        Tanh => hyper::tanh,
        /// inverse hyperbolic sine
        Arcsinh => hyper::asinh,
        /// inverse hyperbolic cosine (NaN below 1)
        Arccosh => hyper::acosh,
        /// inverse hyperbolic tangent (±inf at ±1)
        Arctanh => hyper::atanh,
    ];
    binary: [
        /// `arctan2(x, y)`: the angle of the point (y, x), as NumPy's `arctan2(x1, x2)`.
        Arctan2 => atrig::atan2,
        /// `pow(x, y) = x^y`.
        Pow => pow::pow,
        /// `hypot(x, y) = sqrt(x² + y²)` without undue overflow or underflow.
        Hypot => hypot::hypot,
    ];
}

#[cfg(test)] // the slice API of the tests; the JIT calls the block functions
/// `out[i] = op(x[i])`. Panics if the lengths differ.
pub fn apply_unary(op: VUnary, x: &[f64], out: &mut [f64]) {
    assert_eq!(x.len(), out.len(), "vmath: input and output lengths differ");
    // SAFETY: the slices are valid for x.len() elements and cannot overlap (& vs &mut).
    unsafe { run_unary_f64(op, x.len(), x.as_ptr(), out.as_mut_ptr()) }
}

#[cfg(test)] // the slice API of the tests; the JIT calls the block functions
/// `out[i] = op(x[i])` for f32 (computed in f64, rounded once). Panics if the lengths differ.
pub fn apply_unary_f32(op: VUnary, x: &[f32], out: &mut [f32]) {
    assert_eq!(x.len(), out.len(), "vmath: input and output lengths differ");
    // SAFETY: the slices are valid for x.len() elements and cannot overlap (& vs &mut).
    unsafe { run_unary_f32(op, x.len(), x.as_ptr(), out.as_mut_ptr()) }
}

#[cfg(test)] // the slice API of the tests; the JIT calls the block functions
/// `out[i] = op(x[i], y[i])`. Panics if the lengths differ.
pub fn apply_binary(op: VBinary, x: &[f64], y: &[f64], out: &mut [f64]) {
    assert!(
        x.len() == out.len() && y.len() == out.len(),
        "vmath: input and output lengths differ"
    );
    // SAFETY: the slices are valid for out.len() elements; `out` cannot overlap the inputs.
    unsafe { run_binary_f64(op, out.len(), x.as_ptr(), y.as_ptr(), out.as_mut_ptr()) }
}

#[cfg(test)] // the slice API of the tests; the JIT calls the block functions
/// `out[i] = op(x[i], y[i])` for f32 (computed in f64, rounded once). Panics if the lengths differ.
pub fn apply_binary_f32(op: VBinary, x: &[f32], y: &[f32], out: &mut [f32]) {
    assert!(
        x.len() == out.len() && y.len() == out.len(),
        "vmath: input and output lengths differ"
    );
    // SAFETY: the slices are valid for out.len() elements; `out` cannot overlap the inputs.
    unsafe { run_binary_f32(op, out.len(), x.as_ptr(), y.as_ptr(), out.as_mut_ptr()) }
}

/// The address of `op`'s f64 (or f32) block function, an `unsafe extern "C" fn(usize, *const T, *mut T)`.
pub fn unary_fn_ptr(op: VUnary, is_f32: bool) -> *const u8 {
    if is_f32 {
        UNARY_F32[op as usize] as *const u8
    } else {
        UNARY_F64[op as usize] as *const u8
    }
}

/// The address of `op`'s f64 (or f32) block function, an
/// `unsafe extern "C" fn(usize, *const T, *const T, *mut T)`.
pub fn binary_fn_ptr(op: VBinary, is_f32: bool) -> *const u8 {
    if is_f32 {
        BINARY_F32[op as usize] as *const u8
    } else {
        BINARY_F64[op as usize] as *const u8
    }
}

#[cfg(test)] // the slice API of the tests; the JIT calls the block functions
/// `(s[i], c[i]) = (sin(x[i]), cos(x[i]))` with one argument reduction per element, bit for bit
/// what [`apply_unary`] gives for `Sin` and `Cos`. Panics if the lengths differ.
pub fn apply_sincos(x: &[f64], s: &mut [f64], c: &mut [f64]) {
    assert!(
        s.len() == x.len() && c.len() == x.len(),
        "vmath: input and output lengths differ"
    );
    // SAFETY: the slices are valid for x.len() elements and cannot overlap (& vs &mut).
    unsafe { nj_vsincos_f64(x.len(), x.as_ptr(), s.as_mut_ptr(), c.as_mut_ptr()) }
}

/// The address of [`nj_vsincos_f64`] (or [`nj_vsincos_f32`]).
pub fn sincos_fn_ptr(is_f32: bool) -> *const u8 {
    if is_f32 {
        nj_vsincos_f32 as *const u8
    } else {
        nj_vsincos_f64 as *const u8
    }
}

/// Block function: `s[i] = sin(x[i])`, `c[i] = cos(x[i])` on f64, sharing the reduction.
///
/// # Safety
/// `x` must be readable and `s`, `c` writable for `n` elements; each output is identical to or
/// disjoint from `x`, and the outputs are disjoint.
pub unsafe extern "C" fn nj_vsincos_f64(n: usize, x: *const f64, s: *mut f64, c: *mut f64) {
    // SAFETY: the active tier is supported by this CPU; the caller's contract is forwarded.
    unsafe { dispatch::active().sincos()(n, x, s, c) }
}

/// Block function: `s[i] = sin(x[i])`, `c[i] = cos(x[i])` on f32 (computed in f64, rounded once).
///
/// # Safety
/// As for [`nj_vsincos_f64`].
pub unsafe extern "C" fn nj_vsincos_f32(n: usize, x: *const f32, s: *mut f32, c: *mut f32) {
    // SAFETY: the active tier is supported by this CPU; the caller's contract is forwarded.
    unsafe { dispatch::active().sincos32()(n, x, s, c) }
}

/// # Safety
/// `x` readable and `out` writable for `n` values; identical or disjoint ranges.
#[inline]
unsafe fn run_unary_f64(op: VUnary, n: usize, x: *const f64, out: *mut f64) {
    // SAFETY: the active tier is supported by this CPU; the caller's contract is forwarded.
    unsafe { dispatch::active().unary(op)(n, x, out) }
}

/// # Safety
/// As for [`run_unary_f64`], for each of `x` and `y`.
#[inline]
unsafe fn run_binary_f64(op: VBinary, n: usize, x: *const f64, y: *const f64, out: *mut f64) {
    // SAFETY: the active tier is supported by this CPU; the caller's contract is forwarded.
    unsafe { dispatch::active().binary(op)(n, x, y, out) }
}

/// # Safety
/// `x` readable and `out` writable for `n` values; identical or disjoint ranges.
#[inline]
unsafe fn run_unary_f32(op: VUnary, n: usize, x: *const f32, out: *mut f32) {
    // SAFETY: the active tier is supported by this CPU; the caller's contract is forwarded.
    unsafe { dispatch::active().unary32(op)(n, x, out) }
}

/// # Safety
/// As for [`run_unary_f32`], for each of `x` and `y`.
#[inline]
unsafe fn run_binary_f32(op: VBinary, n: usize, x: *const f32, y: *const f32, out: *mut f32) {
    // SAFETY: the active tier is supported by this CPU; the caller's contract is forwarded.
    unsafe { dispatch::active().binary32(op)(n, x, y, out) }
}
