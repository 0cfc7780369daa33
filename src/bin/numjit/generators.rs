//! Array generators of the REPL — `arange linspace zeros ones full rand randn` — with NumPy's
//! meaning, except that shapes are given as separate arguments (`zeros(3, 4)`), since numjit
//! expressions have no tuples. `load` is a generator too, but reads a file (see `npy.rs`).
//! `arange` and `linspace` are evaluated by the library, so their values are the library's.
//!
//! Arguments arrive already evaluated to scalars; errors name the argument they are about so
//! the caret can point at it.

use ndarray::{ArrayD, IxDyn};
use numjit::{Array, DType, Element, Scalar};

use crate::random::Rng;

/// Every generator name, `load` included (for completion and `:help`).
pub const NAMES: [&str; 8] = [
    "arange", "linspace", "zeros", "ones", "full", "rand", "randn", "load",
];

/// The generators the library has: statements keep their calls, for numjit to compute where
/// they are used.
pub const LIBRARY: [&str; 2] = ["arange", "linspace"];

/// Why a generator refused its arguments; `arg` is the index of the argument at fault, if one is.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgError {
    pub message: String,
    pub arg: Option<usize>,
}

impl ArgError {
    fn at(arg: usize, message: impl Into<String>) -> ArgError {
        ArgError {
            message: message.into(),
            arg: Some(arg),
        }
    }

    fn call(message: impl Into<String>) -> ArgError {
        ArgError {
            message: message.into(),
            arg: None,
        }
    }
}

/// Builds the array of generator `name` (anything in [`NAMES`] but `load`).
pub fn generate(name: &str, args: &[Scalar], rng: &mut Rng) -> Result<Array, ArgError> {
    match name {
        "arange" | "linspace" => library_generator(name, args),
        "zeros" => Ok(Array::Float64(filled(&shape(args)?, |_| 0.0)?)),
        "ones" => Ok(Array::Float64(filled(&shape(args)?, |_| 1.0)?)),
        "full" => full(args),
        "rand" => Ok(Array::Float64(filled(&shape(args)?, |_| rng.uniform())?)),
        "randn" => Ok(Array::Float64(filled(&shape(args)?, |_| rng.normal())?)),
        _ => Err(ArgError::call(format!("`{name}` is not a generator"))),
    }
}

/// `arange` and `linspace` are the library's generators: the REPL evaluates the call with
/// numjit, so a sequence has the same values as the same call inside any expression (one
/// implementation, one float formula). Errors keep the argument they are about.
fn library_generator(name: &str, args: &[Scalar]) -> Result<Array, ArgError> {
    const NAMES: [&str; 3] = ["_arg0", "_arg1", "_arg2"];
    if args.len() > NAMES.len() {
        return Err(ArgError::call(format!(
            "{name} takes at most {} arguments",
            NAMES.len()
        )));
    }
    let mut vars = numjit::Vars::new();
    for (n, v) in NAMES.iter().zip(args) {
        match *v {
            Scalar::Bool(x) => vars.insert(n, x),
            Scalar::I32(x) => vars.insert(n, x),
            Scalar::I64(x) => vars.insert(n, x),
            Scalar::F32(x) => vars.insert(n, x),
            Scalar::F64(x) => vars.insert(n, x),
            Scalar::C64(x) => vars.insert(n, x),
            Scalar::C128(x) => vars.insert(n, x),
        }
    }
    let src = format!("{name}({})", NAMES[..args.len()].join(", "));
    numjit::evaluate(&src, &vars).map_err(|e| {
        // A span inside `_argK` is about argument K; any other is about the call.
        let arg = e.span().and_then(|sp| {
            let start = name.len() + 1;
            (sp.start >= start).then(|| (sp.start - start) / "_arg0, ".len())
        });
        let message = e.message().to_string();
        match arg {
            Some(k) if k < args.len() => ArgError::at(k, message),
            _ => ArgError::call(message),
        }
    })
}

/// `full(d0, …, value)`: an array of the value's dtype.
fn full(args: &[Scalar]) -> Result<Array, ArgError> {
    let Some((&value, dims)) = args.split_last() else {
        return Err(ArgError::call(
            "full takes the dimensions, then the fill value",
        ));
    };
    let shape = shape(dims)?;
    Ok(match value {
        Scalar::Bool(v) => Array::Bool(filled(&shape, |_| v)?),
        Scalar::I32(v) => Array::Int32(filled(&shape, |_| v)?),
        Scalar::I64(v) => Array::Int64(filled(&shape, |_| v)?),
        Scalar::F32(v) => Array::Float32(filled(&shape, |_| v)?),
        Scalar::F64(v) => Array::Float64(filled(&shape, |_| v)?),
        Scalar::C64(v) => Array::Complex64(filled(&shape, |_| v)?),
        Scalar::C128(v) => Array::Complex128(filled(&shape, |_| v)?),
    })
}

/// Every argument as a dimension.
fn shape(args: &[Scalar]) -> Result<Vec<usize>, ArgError> {
    args.iter()
        .enumerate()
        .map(|(i, &s)| dimension(s, i))
        .collect()
}

/// A size: a non-negative integer, or a float with an integral value (so `rand(1e6)` works).
fn dimension(s: Scalar, arg: usize) -> Result<usize, ArgError> {
    let bad = || {
        ArgError::at(
            arg,
            format!("a size must be a non-negative integer, not {s}"),
        )
    };
    match s {
        Scalar::I32(v) => usize::try_from(v).map_err(|_| bad()),
        Scalar::I64(v) => usize::try_from(v).map_err(|_| bad()),
        Scalar::F32(_) | Scalar::F64(_) => {
            let v = s.as_f64();
            if v >= 0.0 && v.fract() == 0.0 {
                count_from_f64(v).map_err(|e| ArgError {
                    arg: Some(arg),
                    ..e
                })
            } else {
                Err(bad())
            }
        }
        Scalar::Bool(_) | Scalar::C64(_) | Scalar::C128(_) => Err(bad()),
    }
}

fn count_from_f64(v: f64) -> Result<usize, ArgError> {
    // 2⁵³: beyond it floats skip integers, and no memory holds that many elements anyway.
    if v < 9_007_199_254_740_992.0 {
        Ok(v as usize)
    } else {
        Err(too_big())
    }
}

fn too_big() -> ArgError {
    ArgError::call("the array would be too large")
}

/// An array of `shape` whose element at flat index `i` is `value(i)`. Allocation failure is an
/// error message, not an abort: `zeros(10**12)` is a typo the session must survive.
fn filled<T>(shape: &[usize], mut value: impl FnMut(usize) -> T) -> Result<ArrayD<T>, ArgError> {
    let count = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| {
            n.checked_mul(std::mem::size_of::<T>())
                .is_some_and(|b| b <= isize::MAX as usize)
        })
        .ok_or_else(too_big)?;
    let mut data = Vec::new();
    data.try_reserve_exact(count).map_err(|_| {
        ArgError::call(format!(
            "cannot allocate {} for {count} elements",
            crate::print::bytes(count * std::mem::size_of::<T>())
        ))
    })?;
    data.extend((0..count).map(&mut value));
    ArrayD::from_shape_vec(IxDyn(shape), data).map_err(|e| ArgError::call(e.to_string()))
}

/// Converts every element to `to`, with NumPy's `astype` rules (what `dtype=` asks for).
pub fn cast(a: Array, to: DType) -> Array {
    if a.dtype() == to {
        return a;
    }
    fn each<S: Element, T: Element>(a: &ArrayD<S>) -> ArrayD<T> {
        // `Scalar::cast(T::DTYPE)` always yields a `T` scalar, so `from_scalar` cannot fail.
        a.mapv(|v| T::from_scalar(v.to_scalar().cast(T::DTYPE)).expect("cast yields T"))
    }
    macro_rules! to {
        ($src:expr) => {
            match to {
                DType::Bool => Array::Bool(each($src)),
                DType::Int32 => Array::Int32(each($src)),
                DType::Int64 => Array::Int64(each($src)),
                DType::Float32 => Array::Float32(each($src)),
                DType::Float64 => Array::Float64(each($src)),
                DType::Complex64 => Array::Complex64(each($src)),
                DType::Complex128 => Array::Complex128(each($src)),
                DType::Bytes(_) => unreachable!("`dtype=` names numbers and bool only"),
            }
        };
    }
    match &a {
        Array::Bool(x) => to!(x),
        Array::Int32(x) => to!(x),
        Array::Int64(x) => to!(x),
        Array::Float32(x) => to!(x),
        Array::Float64(x) => to!(x),
        Array::Complex64(x) => to!(x),
        Array::Complex128(x) => to!(x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, args: &[Scalar]) -> Result<Array, ArgError> {
        generate(name, args, &mut Rng::seeded(0))
    }

    #[test]
    fn arange_is_int_for_ints_and_float_otherwise() {
        let a = run("arange", &[Scalar::I64(5)]).unwrap();
        assert_eq!(a.as_i64().unwrap().as_slice().unwrap(), &[0, 1, 2, 3, 4]);
        let a = run("arange", &[Scalar::I64(5), Scalar::I64(0), Scalar::I64(-2)]).unwrap();
        assert_eq!(a.as_i64().unwrap().as_slice().unwrap(), &[5, 3, 1]);
        let a = run(
            "arange",
            &[Scalar::I64(0), Scalar::F64(1.0), Scalar::F64(0.25)],
        )
        .unwrap();
        assert_eq!(
            a.as_f64().unwrap().as_slice().unwrap(),
            &[0.0, 0.25, 0.5, 0.75]
        );
        // The library's error, about the call (its lengths bind with the whole call).
        let e = run("arange", &[Scalar::I64(0), Scalar::I64(1), Scalar::I64(0)]).unwrap_err();
        assert!(e.message.contains("step cannot be zero"), "{}", e.message);
    }

    #[test]
    fn linspace_ends_on_stop() {
        let a = run(
            "linspace",
            &[Scalar::I64(0), Scalar::I64(1), Scalar::I64(3)],
        )
        .unwrap();
        assert_eq!(a.as_f64().unwrap().as_slice().unwrap(), &[0.0, 0.5, 1.0]);
        let a = run(
            "linspace",
            &[Scalar::F64(0.1), Scalar::F64(0.7), Scalar::I64(7)],
        )
        .unwrap();
        assert_eq!(a.as_f64().unwrap()[[6]], 0.7);
    }

    #[test]
    fn shapes_and_fill_values() {
        let a = run(
            "full",
            &[Scalar::I64(2), Scalar::I64(3), Scalar::Bool(true)],
        )
        .unwrap();
        assert_eq!((a.shape(), a.dtype()), (&[2usize, 3][..], DType::Bool));
        assert_eq!(run("zeros", &[]).unwrap().shape(), &[] as &[usize]);
        let e = run("ones", &[Scalar::I64(2), Scalar::F64(1.5)]).unwrap_err();
        assert_eq!(e.arg, Some(1));
        assert!(run("zeros", &[Scalar::I64(-1)]).is_err());
        assert!(run("zeros", &[Scalar::I64(1 << 40), Scalar::I64(1 << 40)]).is_err());
    }

    #[test]
    fn rand_depends_on_the_seed_only() {
        let a = generate("rand", &[Scalar::I64(4)], &mut Rng::seeded(3)).unwrap();
        let b = generate("rand", &[Scalar::I64(4)], &mut Rng::seeded(3)).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn cast_follows_astype() {
        let a = run(
            "linspace",
            &[Scalar::I64(0), Scalar::I64(2), Scalar::I64(3)],
        )
        .unwrap();
        let b = cast(a, DType::Int32);
        assert_eq!(b, Array::Int32(ndarray::arr1(&[0, 1, 2]).into_dyn()));
    }
}
