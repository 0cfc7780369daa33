//! Vectorized elementwise math for the JIT's transcendental calls.
//!
//! Cranelift cannot vectorize `sin`, `exp`, … itself, so a generated kernel stages arguments
//! into an L1-sized scratch block and calls one precompiled *block function* per block:
//! `nj_v<op>_<dtype>(n, x, out)` (unary) or `nj_v<op>_<dtype>(n, x, y, out)` (binary), which
//! computes `out[i] = op(x[i])` / `op(x[i], y[i])` for `i < n`. `out` may be exactly `x` (or `y`).
//!
//! Each algorithm is written once over the small SIMD trait in `simd` and compiled per ISA
//! tier (`tiers`); `dispatch` picks AVX-512, AVX2+FMA or the portable scalar tier at first use
//! (`NUMJIT_VMATH_TIER=avx512|avx2|scalar` caps it). The f32 entry points widen each vector to
//! f64, run the f64 kernel and round once, which is accurate (f64 error ≤ 1 ulp ⇒ f32 error
//! ≤ 0.5 ulp plus 2^-29) and costs only the two conversions.
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

// Nothing here is called from numjit until the JIT and the interpreter use the API; keep the
// module warning-free meanwhile (remove this once they do).
#![allow(dead_code)]

mod atrig;
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

pub(crate) use sqrt::wide_sqrt_fn_ptr;

#[cfg(test)]
mod tests;

/// A unary elementwise function with a vector kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VUnary {
    /// sin(x)
    Sin,
    /// cos(x)
    Cos,
    /// tan(x)
    Tan,
    /// e^x
    Exp,
    /// e^x - 1, accurate near 0
    Expm1,
    /// natural logarithm
    Log,
    /// log(1 + x), accurate near 0
    Log1p,
    /// base-2 logarithm
    Log2,
    /// base-10 logarithm
    Log10,
    /// inverse sine, in [-π/2, π/2]
    Arcsin,
    /// inverse cosine, in [0, π]
    Arccos,
    /// inverse tangent, in [-π/2, π/2]
    Arctan,
    /// hyperbolic sine
    Sinh,
    /// hyperbolic cosine
    Cosh,
    /// hyperbolic tangent
    Tanh,
    /// inverse hyperbolic sine
    Arcsinh,
    /// inverse hyperbolic cosine (NaN below 1)
    Arccosh,
    /// inverse hyperbolic tangent (±inf at ±1)
    Arctanh,
}

/// A binary elementwise function with a vector kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VBinary {
    /// `arctan2(x, y)`: the angle of the point (y, x), as NumPy's `arctan2(x1, x2)`.
    Arctan2,
    /// `pow(x, y) = x^y`.
    Pow,
    /// `hypot(x, y) = sqrt(x² + y²)` without undue overflow or underflow.
    Hypot,
}

impl VUnary {
    /// Every op, in discriminant order (the order of the tier tables).
    pub const ALL: [VUnary; 18] = [
        VUnary::Sin,
        VUnary::Cos,
        VUnary::Tan,
        VUnary::Exp,
        VUnary::Expm1,
        VUnary::Log,
        VUnary::Log1p,
        VUnary::Log2,
        VUnary::Log10,
        VUnary::Arcsin,
        VUnary::Arccos,
        VUnary::Arctan,
        VUnary::Sinh,
        VUnary::Cosh,
        VUnary::Tanh,
        VUnary::Arcsinh,
        VUnary::Arccosh,
        VUnary::Arctanh,
    ];

    /// The NumPy-style name, e.g. `"arcsin"`.
    pub fn name(self) -> &'static str {
        UNARY_NAMES[self as usize]
    }
}

impl VBinary {
    /// Every op, in discriminant order (the order of the tier tables).
    pub const ALL: [VBinary; 3] = [VBinary::Arctan2, VBinary::Pow, VBinary::Hypot];

    /// The NumPy-style name, e.g. `"arctan2"`.
    pub fn name(self) -> &'static str {
        ["arctan2", "pow", "hypot"][self as usize]
    }
}

const UNARY_NAMES: [&str; 18] = [
    "sin", "cos", "tan", "exp", "expm1", "log", "log1p", "log2", "log10", "arcsin", "arccos",
    "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh",
];

/// `out[i] = op(x[i])`. Panics if the lengths differ.
pub fn apply_unary(op: VUnary, x: &[f64], out: &mut [f64]) {
    assert_eq!(x.len(), out.len(), "vmath: input and output lengths differ");
    // SAFETY: the slices are valid for x.len() elements and cannot overlap (& vs &mut).
    unsafe { run_unary_f64(op, x.len(), x.as_ptr(), out.as_mut_ptr()) }
}

/// `out[i] = op(x[i])` for f32 (computed in f64, rounded once). Panics if the lengths differ.
pub fn apply_unary_f32(op: VUnary, x: &[f32], out: &mut [f32]) {
    assert_eq!(x.len(), out.len(), "vmath: input and output lengths differ");
    // SAFETY: the slices are valid for x.len() elements and cannot overlap (& vs &mut).
    unsafe { run_unary_f32(op, x.len(), x.as_ptr(), out.as_mut_ptr()) }
}

/// `out[i] = op(x[i], y[i])`. Panics if the lengths differ.
pub fn apply_binary(op: VBinary, x: &[f64], y: &[f64], out: &mut [f64]) {
    assert!(
        x.len() == out.len() && y.len() == out.len(),
        "vmath: input and output lengths differ"
    );
    // SAFETY: the slices are valid for out.len() elements; `out` cannot overlap the inputs.
    unsafe { run_binary_f64(op, out.len(), x.as_ptr(), y.as_ptr(), out.as_mut_ptr()) }
}

/// `out[i] = op(x[i], y[i])` for f32 (computed in f64, rounded once). Panics if the lengths differ.
pub fn apply_binary_f32(op: VBinary, x: &[f32], y: &[f32], out: &mut [f32]) {
    assert!(
        x.len() == out.len() && y.len() == out.len(),
        "vmath: input and output lengths differ"
    );
    // SAFETY: the slices are valid for out.len() elements; `out` cannot overlap the inputs.
    unsafe { run_binary_f32(op, out.len(), x.as_ptr(), y.as_ptr(), out.as_mut_ptr()) }
}

/// The address of `nj_v<op>_f64` (or `_f32`), an `unsafe extern "C" fn(usize, *const T, *mut T)`.
pub fn unary_fn_ptr(op: VUnary, is_f32: bool) -> *const u8 {
    if is_f32 {
        UNARY_F32[op as usize] as *const u8
    } else {
        UNARY_F64[op as usize] as *const u8
    }
}

/// The address of `nj_v<op>_f64` (or `_f32`), an
/// `unsafe extern "C" fn(usize, *const T, *const T, *mut T)`.
pub fn binary_fn_ptr(op: VBinary, is_f32: bool) -> *const u8 {
    if is_f32 {
        BINARY_F32[op as usize] as *const u8
    } else {
        BINARY_F64[op as usize] as *const u8
    }
}

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

/// Declares the `extern "C"` block functions and the address tables, in `VUnary`/`VBinary` order.
macro_rules! extern_fns {
    (unary: [$(($f64:ident, $f32:ident, $op:ident)),*];
     binary: [$(($bf64:ident, $bf32:ident, $bop:ident)),*]) => {
        $(
            #[doc = concat!("Block function: `out[i] = ", stringify!($op), "(x[i])` on f64.")]
            ///
            /// # Safety
            /// `x` must be readable and `out` writable for `n` elements; the ranges are identical
            /// or disjoint.
            pub unsafe extern "C" fn $f64(n: usize, x: *const f64, out: *mut f64) {
                // SAFETY: forwarded caller contract.
                unsafe { run_unary_f64(VUnary::$op, n, x, out) }
            }
            #[doc = concat!("Block function: `out[i] = ", stringify!($op), "(x[i])` on f32.")]
            ///
            /// # Safety
            /// `x` must be readable and `out` writable for `n` elements; the ranges are identical
            /// or disjoint.
            pub unsafe extern "C" fn $f32(n: usize, x: *const f32, out: *mut f32) {
                // SAFETY: forwarded caller contract.
                unsafe { run_unary_f32(VUnary::$op, n, x, out) }
            }
        )*
        $(
            #[doc = concat!("Block function: `out[i] = ", stringify!($bop), "(x[i], y[i])` on f64.")]
            ///
            /// # Safety
            /// `x`, `y` must be readable and `out` writable for `n` elements; `out` is identical
            /// to or disjoint from each input.
            pub unsafe extern "C" fn $bf64(n: usize, x: *const f64, y: *const f64, out: *mut f64) {
                // SAFETY: forwarded caller contract.
                unsafe { run_binary_f64(VBinary::$bop, n, x, y, out) }
            }
            #[doc = concat!("Block function: `out[i] = ", stringify!($bop), "(x[i], y[i])` on f32.")]
            ///
            /// # Safety
            /// `x`, `y` must be readable and `out` writable for `n` elements; `out` is identical
            /// to or disjoint from each input.
            pub unsafe extern "C" fn $bf32(n: usize, x: *const f32, y: *const f32, out: *mut f32) {
                // SAFETY: forwarded caller contract.
                unsafe { run_binary_f32(VBinary::$bop, n, x, y, out) }
            }
        )*
        const UNARY_F64: [unsafe extern "C" fn(usize, *const f64, *mut f64); 18] = [$($f64),*];
        const UNARY_F32: [unsafe extern "C" fn(usize, *const f32, *mut f32); 18] = [$($f32),*];
        const BINARY_F64: [unsafe extern "C" fn(usize, *const f64, *const f64, *mut f64); 3] = [$($bf64),*];
        const BINARY_F32: [unsafe extern "C" fn(usize, *const f32, *const f32, *mut f32); 3] = [$($bf32),*];
    };
}

extern_fns! {
    unary: [
        (nj_vsin_f64, nj_vsin_f32, Sin),
        (nj_vcos_f64, nj_vcos_f32, Cos),
        (nj_vtan_f64, nj_vtan_f32, Tan),
        (nj_vexp_f64, nj_vexp_f32, Exp),
        (nj_vexpm1_f64, nj_vexpm1_f32, Expm1),
        (nj_vlog_f64, nj_vlog_f32, Log),
        (nj_vlog1p_f64, nj_vlog1p_f32, Log1p),
        (nj_vlog2_f64, nj_vlog2_f32, Log2),
        (nj_vlog10_f64, nj_vlog10_f32, Log10),
        (nj_varcsin_f64, nj_varcsin_f32, Arcsin),
        (nj_varccos_f64, nj_varccos_f32, Arccos),
        (nj_varctan_f64, nj_varctan_f32, Arctan),
        (nj_vsinh_f64, nj_vsinh_f32, Sinh),
        (nj_vcosh_f64, nj_vcosh_f32, Cosh),
        (nj_vtanh_f64, nj_vtanh_f32, Tanh),
        (nj_varcsinh_f64, nj_varcsinh_f32, Arcsinh),
        (nj_varccosh_f64, nj_varccosh_f32, Arccosh),
        (nj_varctanh_f64, nj_varctanh_f32, Arctanh)
    ];
    binary: [
        (nj_varctan2_f64, nj_varctan2_f32, Arctan2),
        (nj_vpow_f64, nj_vpow_f32, Pow),
        (nj_vhypot_f64, nj_vhypot_f32, Hypot)
    ]
}
