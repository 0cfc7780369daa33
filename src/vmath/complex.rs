//! Block functions for complex transcendentals, composed from the real vector kernels.
//!
//! `block(n, z, out)` computes `out[i] = op(z[i])` for `i < n` complex elements stored
//! *interleaved* (`re, im, re, im, …`: the layout of NumPy's arrays and of the JIT's scratch
//! slots, so a contiguous operand is read in place); `out` may be exactly `z`. A block is walked
//! in chunks of [`CHUNK`] elements: the parts are split into two real arrays, each real
//! function the formula needs runs once over the chunk through the active tier's vector kernel
//! (`exp`, `sincos`, `sinh`, `cosh`, `hypot`, `log`, `log1p`, `arctan2`), and a short loop
//! combines them. The formulas are glibc's own for finite arguments (`cexp` is
//! `exp(x)·(cos y, sin y)`, `ctanh` is `(sinh x cosh x, sin y cos y) / (sinh² x + cos² y)`, …,
//! including glibc's substitutions `sin t = t`, `cos t = 1` for `|t| ≤ DBL_MIN`), so signed
//! zeros in the results come out as glibc's.
//!
//! Every element outside the region where the fast formula is accurate — a non-finite part, a
//! zero part (signed zeros, branch cuts: `exp(1j*x)` too, whose real part is ±0), an argument
//! past the overflow threshold of `exp`/`cosh` where glibc rescales, a subnormal part where
//! glibc branches (`log`, `sqrt`) — is recomputed by the scalar path the
//! interpreter uses ([`crate::ops::complex`], i.e. the C library's C99 function or NumPy's
//! formula over it), so special values (C99 Annex G: infinities, NaNs, signed zeros, branch
//! cuts) are NumPy's bit for bit.
//!
//! `log` avoids the cancellation of `log(hypot(x, y))` near the unit circle the way glibc does:
//! for `0.5 ≤ |z| ≤ 2` the real part is `log1p(x² + y² - 1) / 2` with `x² + y² - 1` rounded
//! once (exact squares by FMA, a two-sum). `sqrt` is glibc's `csqrt`: `r = sqrt((|z| + |x|) / 2)`, the other part
//! `y / 2r`, both without cancellation.
//!
//! complex64 widens each part to f64, computes as complex128 and rounds each part once (the
//! fallback then calls the C library's `float` functions, NumPy's for complex64).
//!
//! The measured error of each function and tier is in `benches/RESULTS-complex-ulp.md`
//! (normwise, against mpmath); the unit tests below hold every tier, on random points and on a
//! grid of special values, to a few ulps of the C library and to its special values bit for bit.

use num_complex::Complex;

use super::dispatch::{self, Tier};
use super::{VBinary, VUnary};
use crate::core::dtype::Scalar;
use crate::ops::{complex as scalar, Op};

/// Elements per chunk: six f64 arrays of this length live on the stack (12 KiB), next to the
/// caller's L1-sized block.
const CHUNK: usize = 256;

/// A complex function with a block function (see the module docs). The op table (`ops`)
/// maps source names to these variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CUnary {
    /// `sqrt(z)`, principal branch (glibc's `csqrt`)
    Sqrt,
    /// `exp(z)`
    Exp,
    /// `log(z)`, principal branch
    Log,
    /// `log10(z)`: NumPy's `log(z) * log10(e)` per part
    Log10,
    /// `log2(z)`: NumPy's `log(z) * log2(e)` per part
    Log2,
    /// `sin(z)`
    Sin,
    /// `cos(z)`
    Cos,
    /// `tan(z)`
    Tan,
    /// `sinh(z)`
    Sinh,
    /// `cosh(z)`
    Cosh,
    /// `tanh(z)`
    Tanh,
}

impl CUnary {
    /// Every function, in discriminant order.
    pub const ALL: [CUnary; 11] = [
        CUnary::Sqrt,
        CUnary::Exp,
        CUnary::Log,
        CUnary::Log10,
        CUnary::Log2,
        CUnary::Sin,
        CUnary::Cos,
        CUnary::Tan,
        CUnary::Sinh,
        CUnary::Cosh,
        CUnary::Tanh,
    ];

    /// The op this function computes (the scalar fallback's op).
    pub(crate) fn op(self) -> Op {
        match self {
            CUnary::Sqrt => Op::Sqrt,
            CUnary::Exp => Op::Exp,
            CUnary::Log => Op::Log,
            CUnary::Log10 => Op::Log10,
            CUnary::Log2 => Op::Log2,
            CUnary::Sin => Op::Sin,
            CUnary::Cos => Op::Cos,
            CUnary::Tan => Op::Tan,
            CUnary::Sinh => Op::Sinh,
            CUnary::Cosh => Op::Cosh,
            CUnary::Tanh => Op::Tanh,
        }
    }

    fn from_u8(v: u8) -> CUnary {
        CUnary::ALL[usize::from(v).min(CUnary::ALL.len() - 1)]
    }
}

/// The address of `op`'s block function on complex128 (or, with `c64`, complex64) elements:
/// an `unsafe extern "C" fn(n: usize, z: *const T, out: *mut T)` over `2n` interleaved parts
/// of `T` = f64 (f32).
pub fn complex_fn_ptr(op: CUnary, c64: bool) -> *const u8 {
    macro_rules! table {
        ($f:ident) => {
            [
                $f::<{ CUnary::Sqrt as u8 }> as *const u8,
                $f::<{ CUnary::Exp as u8 }> as *const u8,
                $f::<{ CUnary::Log as u8 }> as *const u8,
                $f::<{ CUnary::Log10 as u8 }> as *const u8,
                $f::<{ CUnary::Log2 as u8 }> as *const u8,
                $f::<{ CUnary::Sin as u8 }> as *const u8,
                $f::<{ CUnary::Cos as u8 }> as *const u8,
                $f::<{ CUnary::Tan as u8 }> as *const u8,
                $f::<{ CUnary::Sinh as u8 }> as *const u8,
                $f::<{ CUnary::Cosh as u8 }> as *const u8,
                $f::<{ CUnary::Tanh as u8 }> as *const u8,
            ]
        };
    }
    if c64 {
        table!(block_c64)[op as usize]
    } else {
        table!(block_c128)[op as usize]
    }
}

/// Block function on complex128: `out[i] = OP(z[i])`, parts interleaved.
///
/// # Safety
/// `z` readable and `out` writable for `2n` f64; the ranges are identical or disjoint.
unsafe extern "C" fn block_c128<const OP: u8>(n: usize, z: *const f64, out: *mut f64) {
    // SAFETY: forwarded caller contract; the active tier is supported.
    unsafe { run_c128(dispatch::active(), CUnary::from_u8(OP), n, z, out) }
}

/// Block function on complex64 (computed in f64, each part rounded once).
///
/// # Safety
/// `z` readable and `out` writable for `2n` f32; the ranges are identical or disjoint.
unsafe extern "C" fn block_c64<const OP: u8>(n: usize, z: *const f32, out: *mut f32) {
    // SAFETY: forwarded caller contract; the active tier is supported.
    unsafe { run_c64(dispatch::active(), CUnary::from_u8(OP), n, z, out) }
}

/// Where the fast formulas hold, per part width: glibc rescales past these (`cexp`, `csinh`,
/// `ccosh` at `(MAX_EXP - 1)·ln 2`, `ctanh` at half that), and the f64 evaluation of a
/// complex64 result must not overflow where the `float` functions do not.
struct Limits {
    /// Bound on the real argument of `exp` and the `sinh`/`cosh` argument of the others.
    hyp: f64,
    /// Bound on the `sinh`/`cosh` argument of `tanh`/`tan`.
    tanh: f64,
    /// `sqrt`, `log`: smallest part magnitude taken (below it glibc branches or rescales).
    small: f64,
    /// `sqrt`, `log`: largest part magnitude taken (`hypot` stays finite).
    large: f64,
}

const LIMITS_C128: Limits = Limits {
    hyp: 708.0,
    tanh: 350.0,
    // glibc's csqrt rescales when both parts are below 2·DBL_MIN and above DBL_MAX / 4.
    small: 1.0e-300,
    large: 1.0e300,
};

const LIMITS_C64: Limits = Limits {
    hyp: 88.0,
    tanh: 44.0,
    small: f32::MIN_POSITIVE as f64,
    large: f32::MAX as f64,
};

/// One chunk's working arrays: the input parts, four temporaries, the result's parts land in
/// `a` (real) and `b` (imaginary).
struct Work {
    re: [f64; CHUNK],
    im: [f64; CHUNK],
    a: [f64; CHUNK],
    b: [f64; CHUNK],
    c: [f64; CHUNK],
    d: [f64; CHUNK],
}

impl Work {
    fn new() -> Work {
        Work {
            re: [0.0; CHUNK],
            im: [0.0; CHUNK],
            a: [0.0; CHUNK],
            b: [0.0; CHUNK],
            c: [0.0; CHUNK],
            d: [0.0; CHUNK],
        }
    }
}

/// `out[i] = op(z[i])` on complex128 with `tier`'s kernels.
///
/// # Safety
/// `tier` supported; `z` readable and `out` writable for `2n` f64, identical or disjoint.
pub(crate) unsafe fn run_c128(tier: Tier, op: CUnary, n: usize, z: *const f64, out: *mut f64) {
    let mut w = Work::new();
    let mut done = 0;
    while done < n {
        let k = (n - done).min(CHUNK);
        for j in 0..k {
            // SAFETY: element done + j < n of the caller's ranges; the whole chunk is read
            // before any of it is written (out may be z).
            unsafe {
                w.re[j] = *z.add(2 * (done + j));
                w.im[j] = *z.add(2 * (done + j) + 1);
            }
        }
        // SAFETY: the tier is supported (caller).
        unsafe { chunk(tier, op, k, &mut w) };
        for j in 0..k {
            let (re, im) = if fast(op, w.re[j], w.im[j], &LIMITS_C128) {
                (w.a[j], w.b[j])
            } else {
                let r = match scalar::unary(op.op(), Complex::new(w.re[j], w.im[j])) {
                    Scalar::C128(r) => r,
                    _ => Complex::new(f64::NAN, f64::NAN),
                };
                (r.re, r.im)
            };
            // SAFETY: as above.
            unsafe {
                *out.add(2 * (done + j)) = re;
                *out.add(2 * (done + j) + 1) = im;
            }
        }
        done += k;
    }
}

/// `out[i] = op(z[i])` on complex64: parts widened, computed in f64, rounded once.
///
/// # Safety
/// `tier` supported; `z` readable and `out` writable for `2n` f32, identical or disjoint.
pub(crate) unsafe fn run_c64(tier: Tier, op: CUnary, n: usize, z: *const f32, out: *mut f32) {
    let mut w = Work::new();
    let mut done = 0;
    while done < n {
        let k = (n - done).min(CHUNK);
        for j in 0..k {
            // SAFETY: as in `run_c128`.
            unsafe {
                w.re[j] = f64::from(*z.add(2 * (done + j)));
                w.im[j] = f64::from(*z.add(2 * (done + j) + 1));
            }
        }
        // SAFETY: the tier is supported (caller).
        unsafe { chunk(tier, op, k, &mut w) };
        for j in 0..k {
            let (re, im) = if fast(op, w.re[j], w.im[j], &LIMITS_C64) {
                (w.a[j] as f32, w.b[j] as f32)
            } else {
                // The parts are exact widenings of the input's f32 parts.
                let z = Complex::new(w.re[j] as f32, w.im[j] as f32);
                match scalar::unary(op.op(), z) {
                    Scalar::C64(r) => (r.re, r.im),
                    _ => (f32::NAN, f32::NAN),
                }
            };
            // SAFETY: as in `run_c128`.
            unsafe {
                *out.add(2 * (done + j)) = re;
                *out.add(2 * (done + j) + 1) = im;
            }
        }
        done += k;
    }
}

/// True when the fast formula of `op` applies to `x + iy` (finite parts inside `lim`); false
/// for every NaN or infinite part.
#[inline(always)]
fn fast(op: CUnary, x: f64, y: f64, lim: &Limits) -> bool {
    // A zero part (on an axis, a branch cut) is a signed-zero case of Annex G: the C library
    // computes it, so that the other part too is NumPy's bit for bit (`sin(2j)`'s imaginary
    // part is glibc's `sinh(2)`, which the vector kernel may round the other way).
    if x == 0.0 || y == 0.0 {
        return false;
    }
    let finite = |t: f64| t.abs() < f64::INFINITY;
    match op {
        CUnary::Exp | CUnary::Sinh | CUnary::Cosh => x.abs() <= lim.hyp && finite(y),
        CUnary::Sin | CUnary::Cos => y.abs() <= lim.hyp && finite(x),
        CUnary::Tanh => x.abs() <= lim.tanh && finite(y),
        CUnary::Tan => y.abs() <= lim.tanh && finite(x),
        // Parts whose hypot cannot overflow, none zero or subnormal.
        CUnary::Log | CUnary::Log10 | CUnary::Log2 | CUnary::Sqrt => {
            let inside = |t: f64| t.abs() >= lim.small && t.abs() <= lim.large;
            inside(x) && inside(y)
        }
    }
}

/// The fast formula of `op` on the chunk's `k` elements: `w.a`, `w.b` = the result's parts
/// (garbage where [`fast`] is false).
///
/// # Safety
/// `tier` supported.
unsafe fn chunk(tier: Tier, op: CUnary, k: usize, w: &mut Work) {
    #[cfg(target_arch = "x86_64")]
    if tier >= Tier::Avx2 {
        // SAFETY: an AVX2 tier is supported only where the CPU has AVX2 and FMA.
        unsafe { chunk_fma(tier, op, k, w) };
        return;
    }
    // SAFETY: forwarded.
    unsafe { chunk_any(tier, op, k, w) }
}

/// [`chunk_any`] compiled with AVX2 and FMA: the combining loops vectorize and `mul_add` is one
/// instruction (its result is the same correctly rounded value either way).
///
/// # Safety
/// `tier` supported; the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn chunk_fma(tier: Tier, op: CUnary, k: usize, w: &mut Work) {
    // SAFETY: forwarded.
    unsafe { chunk_any(tier, op, k, w) }
}

/// # Safety
/// `tier` supported.
#[inline(always)]
unsafe fn chunk_any(tier: Tier, op: CUnary, k: usize, w: &mut Work) {
    let Work { re, im, a, b, c, d } = w;
    let (re, im) = (&re[..k], &im[..k]);
    let (a, b, c, d) = (&mut a[..k], &mut b[..k], &mut c[..k], &mut d[..k]);
    // SAFETY (every call below): the tier is supported; each slice holds k elements, and each
    // output is a different array from its inputs.
    let unary = |f: VUnary, x: &[f64], o: &mut [f64]| unsafe {
        tier.unary(f)(k, x.as_ptr(), o.as_mut_ptr())
    };
    let sincos = |x: &[f64], s: &mut [f64], co: &mut [f64]| unsafe {
        tier.sincos()(k, x.as_ptr(), s.as_mut_ptr(), co.as_mut_ptr())
    };
    // glibc's substitutions for |t| ≤ DBL_MIN (sin t = t, cos t = 1; sinh t = t, cosh t = 1).
    let tiny = |t: f64| t.abs() <= f64::MIN_POSITIVE;
    let fix_sin_cos = |t: &[f64], s: &mut [f64], co: &mut [f64]| {
        for j in 0..k {
            if tiny(t[j]) {
                s[j] = t[j];
                co[j] = 1.0;
            }
        }
    };
    match op {
        CUnary::Exp => {
            unary(VUnary::Exp, re, a);
            sincos(im, c, d);
            fix_sin_cos(im, c, d);
            for j in 0..k {
                b[j] = a[j] * c[j];
                a[j] *= d[j];
            }
        }
        CUnary::Sinh | CUnary::Cosh | CUnary::Tanh => {
            // (sinh x, cosh x) in (a, b); (sin y, cos y) in (c, d).
            unary(VUnary::Sinh, re, a);
            unary(VUnary::Cosh, re, b);
            fix_sin_cos(re, a, b);
            sincos(im, c, d);
            fix_sin_cos(im, c, d);
            for j in 0..k {
                let (sh, ch, s, co) = (a[j], b[j], c[j], d[j]);
                (a[j], b[j]) = match op {
                    CUnary::Sinh => (sh * co, ch * s),
                    CUnary::Cosh => (ch * co, sh * s),
                    // glibc's ctanh, its choice of denominator included.
                    _ => {
                        let den = if sh.abs() > co.abs() * f64::EPSILON {
                            sh * sh + co * co
                        } else {
                            co * co
                        };
                        (sh * ch / den, s * co / den)
                    }
                };
            }
        }
        CUnary::Sin | CUnary::Cos | CUnary::Tan => {
            // (sin x, cos x) in (c, d); (sinh y, cosh y) in (a, b).
            sincos(re, c, d);
            fix_sin_cos(re, c, d);
            unary(VUnary::Sinh, im, a);
            unary(VUnary::Cosh, im, b);
            fix_sin_cos(im, a, b);
            for j in 0..k {
                let (s, co, sh, ch) = (c[j], d[j], a[j], b[j]);
                (a[j], b[j]) = match op {
                    CUnary::Sin => (ch * s, sh * co),
                    // ccos(z) = ccosh(-y + ix): sinh(-y) sin x.
                    CUnary::Cos => (ch * co, -(sh * s)),
                    // glibc's ctan.
                    _ => {
                        let den = if sh.abs() > co.abs() * f64::EPSILON {
                            co * co + sh * sh
                        } else {
                            co * co
                        };
                        (s * co / den, sh * ch / den)
                    }
                };
            }
        }
        CUnary::Log | CUnary::Log10 | CUnary::Log2 => {
            // SAFETY: as above.
            unsafe {
                tier.binary(VBinary::Hypot)(k, re.as_ptr(), im.as_ptr(), a.as_mut_ptr());
                // NumPy's arctan2(x1, x2) is C's atan2(x1, x2): the ordinate first.
                tier.binary(VBinary::Arctan2)(k, im.as_ptr(), re.as_ptr(), b.as_mut_ptr());
            }
            // x² + y² - 1 without cancellation near the unit circle (glibc's `__x2y2m1`): the
            // squares exactly as two doubles each (FMA), the sum with its rounding errors
            // (Knuth's two-sum), so that only the last addition rounds.
            for j in 0..k {
                let (x, y) = (re[j], im[j]);
                let (x2, y2) = (x * x, y * y);
                let (x2l, y2l) = (x.mul_add(x, -x2), y.mul_add(y, -y2));
                let (s1, e1) = two_sum(x2, -1.0);
                let (s2, e2) = two_sum(s1, y2);
                c[j] = s2 + (e2 + e1 + x2l + y2l);
            }
            unary(VUnary::Log1p, c, d);
            unary(VUnary::Log, a, c);
            // NumPy's log10 and log2: both parts of log(z) times the constant.
            let scale = match op {
                CUnary::Log10 => std::f64::consts::LOG10_E,
                CUnary::Log2 => std::f64::consts::LOG2_E,
                _ => 1.0,
            };
            for j in 0..k {
                let h = a[j];
                let real = if (0.5..=2.0).contains(&h) {
                    0.5 * d[j]
                } else {
                    c[j]
                };
                if op != CUnary::Log {
                    a[j] = real * scale;
                    b[j] *= scale;
                } else {
                    a[j] = real;
                }
            }
        }
        CUnary::Sqrt => {
            // SAFETY: as above.
            unsafe { tier.binary(VBinary::Hypot)(k, re.as_ptr(), im.as_ptr(), c.as_mut_ptr()) };
            // glibc's csqrt: the root of (|z| + |x|) / 2, then the other part from
            // 2·re·im = y, without cancellation.
            for j in 0..k {
                let (x, y, h) = (re[j], im[j], c[j]);
                let (r, s) = if x > 0.0 {
                    let r = (0.5 * (h + x)).sqrt();
                    (r, 0.5 * (y / r))
                } else {
                    let s = (0.5 * (h - x)).sqrt();
                    ((0.5 * (y / s)).abs(), s)
                };
                a[j] = r;
                b[j] = s.copysign(y);
            }
        }
    }
}

/// `(s, e)` with `s = a + b` rounded and `s + e = a + b` exactly (Knuth's two-sum).
#[inline(always)]
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

#[cfg(test)]
mod tests {
    use super::*;

    type C = Complex<f64>;

    /// The interpreter's (the C library's) result.
    fn reference(op: CUnary, z: C) -> C {
        match scalar::unary(op.op(), z) {
            Scalar::C128(r) => r,
            other => panic!("{other:?}"),
        }
    }

    fn reference32(op: CUnary, z: Complex<f32>) -> Complex<f32> {
        match scalar::unary(op.op(), z) {
            Scalar::C64(r) => r,
            other => panic!("{other:?}"),
        }
    }

    fn apply(tier: Tier, op: CUnary, zs: &[C]) -> Vec<C> {
        let mut out = vec![C::new(0.0, 0.0); zs.len()];
        // SAFETY: the tier is supported (from `Tier::available`); `Complex<f64>` is two
        // interleaved f64 (`#[repr(C)]`), both buffers hold zs.len() elements.
        unsafe {
            run_c128(
                tier,
                op,
                zs.len(),
                zs.as_ptr().cast(),
                out.as_mut_ptr().cast(),
            )
        };
        out
    }

    fn apply32(tier: Tier, op: CUnary, zs: &[Complex<f32>]) -> Vec<Complex<f32>> {
        let mut out = vec![Complex::new(0.0f32, 0.0); zs.len()];
        // SAFETY: as in `apply`.
        unsafe {
            run_c64(
                tier,
                op,
                zs.len(),
                zs.as_ptr().cast(),
                out.as_mut_ptr().cast(),
            )
        };
        out
    }

    /// The size of one unit in the last place of `v` ≥ 0 (for 0: the smallest subnormal).
    fn ulp(v: f64) -> f64 {
        let e = ((v.abs().to_bits() >> 52) as i64).max(1) - 1075;
        if e >= -1022 {
            f64::from_bits(((e + 1023) as u64) << 52)
        } else {
            f64::from_bits(1u64 << (e + 1074))
        }
    }

    fn ulp32(v: f32) -> f64 {
        let e = ((v.abs().to_bits() >> 23) as i32).max(1) - 150;
        2f64.powi(e.max(-149))
    }

    /// Checks `got` against the reference `want` for input `z`: bit for bit when `z` has a
    /// non-finite or zero part; otherwise every part of `want` that is zero, infinite or NaN bit for
    /// bit, and the rest within `bound` ulps of `|want|` (normwise). The normwise error.
    fn check(
        op: CUnary,
        tier: Tier,
        z: C,
        got: C,
        want: C,
        ulp_of: impl Fn(f64) -> f64,
        bound: f64,
    ) -> f64 {
        let bits = |a: f64, b: f64| a.to_bits() == b.to_bits();
        let ctx = || format!("{op:?}({z}) on {tier:?} = {got}, want {want}");
        if !z.re.is_finite() || !z.im.is_finite() || z.re == 0.0 || z.im == 0.0 {
            assert!(bits(got.re, want.re) && bits(got.im, want.im), "{}", ctx());
            return 0.0;
        }
        for (g, w) in [(got.re, want.re), (got.im, want.im)] {
            if w == 0.0 || !w.is_finite() {
                assert!(bits(g, w), "special part: {}", ctx());
            }
        }
        if !want.re.is_finite() || !want.im.is_finite() {
            return 0.0;
        }
        let norm = want.re.hypot(want.im);
        let e = (got.re - want.re).hypot(got.im - want.im) / ulp_of(norm);
        assert!(e <= bound, "{e} ulp: {}", ctx());
        e
    }

    /// Normwise distance (in ulps of `|f(z)|`) from the C library's result that every tier
    /// keeps to, complex128 and complex64: the measured maximum (the test prints it) rounded
    /// up. The C library is itself up to ~4.6 ulp off (`benches/RESULTS-complex-ulp.md`), so
    /// these are sums of two errors; the accuracy against exact values is measured there.
    fn bound(op: CUnary) -> (f64, f64) {
        match op {
            CUnary::Sqrt => (2.0, 2.0),
            CUnary::Exp => (3.0, 2.0),
            CUnary::Log => (3.0, 3.0),
            CUnary::Log10 | CUnary::Log2 => (3.0, 4.0),
            CUnary::Sin | CUnary::Cos | CUnary::Sinh | CUnary::Cosh => (4.0, 3.0),
            CUnary::Tan => (5.0, 5.0),
            CUnary::Tanh => (6.0, 5.0),
        }
    }

    /// A deterministic generator (xorshift64*), so a failure reproduces.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
        fn signed(&mut self, scale: f64) -> f64 {
            (2.0 * self.unit() - 1.0) * scale
        }
        /// Magnitude log-uniform over [2^lo, 2^hi], random sign.
        fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
            let m = (lo + (hi - lo) * self.unit()).exp2();
            if self.next() & 1 == 0 {
                m
            } else {
                -m
            }
        }
    }

    /// Ordinary points, wide magnitudes, the unit circle, near 1, and near each limit.
    fn points() -> Vec<C> {
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        let mut out = Vec::new();
        for _ in 0..4000 {
            out.push(C::new(r.signed(4.0), r.signed(4.0)));
            out.push(C::new(
                r.log_uniform(-60.0, 60.0),
                r.log_uniform(-60.0, 60.0),
            ));
            out.push(C::new(
                r.log_uniform(-1020.0, 1020.0),
                r.log_uniform(-1020.0, 1020.0),
            ));
            let t = r.signed(std::f64::consts::PI);
            let rad = 1.0 + r.signed(1e-6);
            out.push(C::new(rad * t.cos(), rad * t.sin()));
            out.push(C::new(1.0 + r.signed(1e-3), r.signed(1e-3)));
            out.push(C::new(r.signed(720.0), r.signed(720.0)));
            out.push(C::new(r.signed(360.0), r.log_uniform(-30.0, 30.0)));
            out.push(C::new(r.log_uniform(-30.0, 30.0), r.signed(360.0)));
        }
        out
    }

    /// Every pair of ±0, ±subnormal, ±DBL_MIN, ordinary values, the limits, huge, ±inf, NaN.
    fn grid() -> Vec<C> {
        let mut parts = vec![
            0.0,
            5e-324,
            1e-310,
            f64::MIN_POSITIVE,
            1e-300,
            1e-20,
            0.5,
            1.0,
            std::f64::consts::FRAC_PI_2,
            2.0,
            3.0,
            44.5,
            88.5,
            350.5,
            708.0,
            709.5,
            711.0,
            1e10,
            1e300,
            f64::MAX,
            f64::INFINITY,
        ];
        parts.extend(parts.clone().iter().map(|p| -p));
        parts.push(f64::NAN);
        let mut out = Vec::new();
        for &x in &parts {
            for &y in &parts {
                out.push(C::new(x, y));
            }
        }
        out
    }

    #[test]
    fn every_function_on_every_tier_is_within_the_bound_of_the_c_library() {
        let zs: Vec<C> = points().into_iter().chain(grid()).collect();
        for tier in Tier::available() {
            for op in CUnary::ALL {
                let got = apply(tier, op, &zs);
                let mut worst = 0.0f64;
                for (&z, &g) in zs.iter().zip(&got) {
                    let e = check(op, tier, z, g, reference(op, z), ulp, bound(op).0);
                    worst = worst.max(e);
                }
                eprintln!("{op:?} on {tier:?}: {worst:.2} ulp normwise");
            }
        }
    }

    #[test]
    fn complex64_rounds_the_complex128_result_once_on_every_tier() {
        let zs: Vec<Complex<f32>> = points()
            .into_iter()
            .chain(grid())
            .map(|z| Complex::new(z.re as f32, z.im as f32))
            .collect();
        for tier in Tier::available() {
            for op in CUnary::ALL {
                let got = apply32(tier, op, &zs);
                let mut worst = 0.0f64;
                for (&z, &g) in zs.iter().zip(&got) {
                    let widen = |c: Complex<f32>| C::new(c.re.into(), c.im.into());
                    let want = reference32(op, z);
                    let ulp_of = |v: f64| ulp32(v as f32);
                    let e = check(
                        op,
                        tier,
                        widen(z),
                        widen(g),
                        widen(want),
                        ulp_of,
                        bound(op).1,
                    );
                    worst = worst.max(e);
                }
                eprintln!("c64 {op:?} on {tier:?}: {worst:.2} ulp normwise");
            }
        }
    }

    #[test]
    fn every_length_and_exact_aliasing_match_elementwise_results() {
        let zs: Vec<C> = points().into_iter().take(2 * CHUNK + 37).collect();
        let tier = dispatch::active();
        for op in CUnary::ALL {
            let whole = apply(tier, op, &zs);
            for n in [0, 1, 7, CHUNK - 1, CHUNK, CHUNK + 1, zs.len()] {
                let mut buf = zs[..n].to_vec();
                // SAFETY: out is exactly z, which the contract allows; n elements.
                unsafe { run_c128(tier, op, n, buf.as_ptr().cast(), buf.as_mut_ptr().cast()) };
                for (a, b) in buf.iter().zip(&whole) {
                    assert_eq!(
                        (a.re.to_bits(), a.im.to_bits()),
                        (b.re.to_bits(), b.im.to_bits())
                    );
                }
            }
        }
    }

    #[test]
    fn block_function_addresses_compute_their_function() {
        let zs = [
            C::new(0.3, -1.7),
            C::new(-2.5, 0.25),
            C::new(f64::INFINITY, 1.0),
        ];
        let zs32: Vec<Complex<f32>> = zs
            .iter()
            .map(|z| Complex::new(z.re as f32, z.im as f32))
            .collect();
        for op in CUnary::ALL {
            let mut out = [C::new(0.0, 0.0); 3];
            let mut out32 = [Complex::new(0.0f32, 0.0); 3];
            // SAFETY: the addresses are the block functions of their documented signatures;
            // buffers of 3 interleaved elements.
            unsafe {
                let f: unsafe extern "C" fn(usize, *const f64, *mut f64) =
                    std::mem::transmute(complex_fn_ptr(op, false));
                f(3, zs.as_ptr().cast(), out.as_mut_ptr().cast());
                let f: unsafe extern "C" fn(usize, *const f32, *mut f32) =
                    std::mem::transmute(complex_fn_ptr(op, true));
                f(3, zs32.as_ptr().cast(), out32.as_mut_ptr().cast());
            }
            for k in 0..3 {
                let (w, g) = (reference(op, zs[k]), out[k]);
                assert!(
                    (g - w).norm() <= 1e-15 * w.norm()
                        || (g.re.to_bits(), g.im.to_bits()) == (w.re.to_bits(), w.im.to_bits()),
                    "{op:?}({}) = {g}, want {w}",
                    zs[k]
                );
                let (w, g) = (reference32(op, zs32[k]), out32[k]);
                assert!(
                    (g - w).norm() <= 1e-6 * w.norm()
                        || (g.re.to_bits(), g.im.to_bits()) == (w.re.to_bits(), w.im.to_bits()),
                    "{op:?}({}) = {g}, want {w}",
                    zs32[k]
                );
            }
        }
    }
}
