//! Per-lane calls into Rust's `std` (the platform libm) for functions that have no vector
//! kernel yet. They keep the API complete; the accuracy table in `mod.rs` marks them.

use super::simd::{Simd, MAX_LANES};

/// Applies the scalar `f` to each lane of `v`.
#[inline(always)]
pub(crate) fn per_lane<S: Simd>(v: S, f: fn(f64) -> f64) -> S {
    let mut a = v.to_array();
    a.iter_mut().take(S::LANES).for_each(|e| *e = f(*e));
    S::from_array(&a)
}

/// Applies the scalar `f` to each pair of lanes of `x` and `y`.
#[inline(always)]
pub(crate) fn per_lane2<S: Simd>(x: S, y: S, f: fn(f64, f64) -> f64) -> S {
    let mut a = x.to_array();
    let b = y.to_array();
    for i in 0..S::LANES.min(MAX_LANES) {
        a[i] = f(a[i], b[i]);
    }
    S::from_array(&a)
}

macro_rules! std_unary {
    ($($name:ident),*) => {$(
        #[inline(always)]
        pub(crate) fn $name<S: Simd>(v: S) -> S {
            per_lane(v, f64::$name)
        }
    )*};
}
std_unary!(asin, acos, atan, sinh, cosh, tanh);

#[inline(always)]
pub(crate) fn atan2<S: Simd>(y: S, x: S) -> S {
    per_lane2(y, x, f64::atan2)
}
#[inline(always)]
pub(crate) fn pow<S: Simd>(x: S, y: S) -> S {
    per_lane2(x, y, f64::powf)
}
#[inline(always)]
pub(crate) fn hypot<S: Simd>(x: S, y: S) -> S {
    per_lane2(x, y, f64::hypot)
}

// Rust's own f64::asinh/acosh/atanh overflow for huge arguments; these are the FreeBSD msun
// formulas (s_asinh.c, e_acosh.c, e_atanh.c; Sun Microsystems 1993, "Permission to use, copy,
// modify, and distribute this software is freely granted, provided that this notice is
// preserved.") over std's log/log1p/sqrt.

const LN2: f64 = core::f64::consts::LN_2;
/// 2^28: beyond it x² + 1 rounds to x² and the inverse hyperbolics are log(2|x|).
const HUGE: f64 = 268435456.0;

fn asinh_scalar(x: f64) -> f64 {
    let a = x.abs();
    let v = if !a.is_finite() || a < 3.7e-9 {
        a
    } else if a > HUGE {
        a.ln() + LN2
    } else if a > 2.0 {
        (2.0 * a + 1.0 / ((a * a + 1.0).sqrt() + a)).ln()
    } else {
        let t = a * a;
        (a + t / (1.0 + (1.0 + t).sqrt())).ln_1p()
    };
    v.copysign(x)
}

fn acosh_scalar(x: f64) -> f64 {
    if x.is_nan() || x < 1.0 {
        f64::NAN
    } else if x > HUGE {
        if x.is_infinite() {
            x
        } else {
            x.ln() + LN2
        }
    } else if x > 2.0 {
        (2.0 * x - 1.0 / (x + (x * x - 1.0).sqrt())).ln()
    } else {
        let t = x - 1.0;
        (t + (2.0 * t + t * t).sqrt()).ln_1p()
    }
}

fn atanh_scalar(x: f64) -> f64 {
    let a = x.abs();
    let v = if a.is_nan() || a > 1.0 {
        f64::NAN
    } else if a == 1.0 {
        f64::INFINITY
    } else if a < 0.5 {
        0.5 * (2.0 * a + 2.0 * a * a / (1.0 - a)).ln_1p()
    } else {
        0.5 * (2.0 * a / (1.0 - a)).ln_1p()
    };
    v.copysign(x)
}

#[inline(always)]
pub(crate) fn asinh<S: Simd>(v: S) -> S {
    per_lane(v, asinh_scalar)
}
#[inline(always)]
pub(crate) fn acosh<S: Simd>(v: S) -> S {
    per_lane(v, acosh_scalar)
}
#[inline(always)]
pub(crate) fn atanh<S: Simd>(v: S) -> S {
    per_lane(v, atanh_scalar)
}
