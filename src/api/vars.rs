//! Inputs: named, borrowed ndarray views of any dtype, rank and strides, read in place.

use std::marker::PhantomData;

use ndarray::{ArrayBase, Data, DataMut, Dimension};

use crate::core::dtype::{DType, Element, Scalar};
use crate::core::error::{Error, ErrorKind, Result};
use crate::core::view::RawView;
use crate::ir::InputDecl;

fn raw_view<S, D>(a: &ArrayBase<S, D>) -> RawView
where
    S: Data,
    S::Elem: Element,
    D: Dimension,
{
    let size = std::mem::size_of::<S::Elem>() as isize;
    RawView {
        dtype: <S::Elem as Element>::DTYPE,
        ptr: a.as_ptr() as *const u8,
        shape: a.shape().into(),
        strides: a.strides().iter().map(|s| s * size).collect(),
    }
}

/// Something that can be bound to a name in [`Vars`]: a reference to any ndarray array or view
/// of `bool`, `i32`, `i64`, `f32` or `f64`, a view by value, or one such scalar (a 0-d array).
///
/// ```
/// let a = ndarray::arr1(&[1.0, 2.0]);
/// let vars = numjit::Vars::new().with("a", &a).with("k", 3_i64);
/// assert_eq!(vars.len(), 2);
/// ```
pub trait IntoVar<'a> {
    /// Converts into the engine's view.
    #[doc(hidden)]
    fn into_var(self) -> VarValue<'a>;
}

/// A bound value (opaque).
#[doc(hidden)]
pub struct VarValue<'a> {
    view: RawView,
    /// Bound with [`Vars::with_out`]: a program may write it.
    writable: bool,
    /// Storage for scalars bound by value (8 bytes, aligned for every dtype).
    _owned: Option<Box<u128>>,
    _borrow: PhantomData<&'a ()>,
}

impl VarValue<'_> {
    /// A view of memory the caller keeps alive and unaliased for the `Vars`' lifetime (files).
    pub(crate) fn borrowed(view: RawView, writable: bool) -> Self {
        VarValue {
            view,
            writable,
            _owned: None,
            _borrow: PhantomData,
        }
    }
}

impl<'a, S, D> IntoVar<'a> for &'a ArrayBase<S, D>
where
    S: Data,
    S::Elem: Element,
    D: Dimension,
{
    fn into_var(self) -> VarValue<'a> {
        VarValue {
            view: raw_view(self),
            writable: false,
            _owned: None,
            _borrow: PhantomData,
        }
    }
}

/// A result of any dtype, bound as it is: `vars.with("r", &numjit::evaluate(..)?)`.
impl<'a> IntoVar<'a> for &'a crate::Array {
    fn into_var(self) -> VarValue<'a> {
        use crate::Array;
        match self {
            Array::Bool(a) => a.into_var(),
            Array::Int32(a) => a.into_var(),
            Array::Int64(a) => a.into_var(),
            Array::Float32(a) => a.into_var(),
            Array::Float64(a) => a.into_var(),
            Array::Complex64(a) => a.into_var(),
            Array::Complex128(a) => a.into_var(),
        }
    }
}

/// A view by value: `vars.with("u", u.slice(s![1.., ..]))` needs no named temporary.
impl<'a, T: Element, D: Dimension> IntoVar<'a> for ndarray::ArrayView<'a, T, D> {
    fn into_var(self) -> VarValue<'a> {
        VarValue {
            view: raw_view(&self),
            writable: false,
            _owned: None,
            _borrow: PhantomData,
        }
    }
}

impl<'a, T: Element> IntoVar<'a> for T {
    fn into_var(self) -> VarValue<'a> {
        let bits: u128 = match self.to_scalar() {
            Scalar::Bool(b) => b as u128,
            Scalar::I32(v) => v as u32 as u128,
            Scalar::I64(v) => v as u64 as u128,
            Scalar::F32(v) => v.to_bits() as u128,
            Scalar::F64(v) => v.to_bits() as u128,
            Scalar::C64(z) => (z.im.to_bits() as u128) << 32 | z.re.to_bits() as u128,
            Scalar::C128(z) => (z.im.to_bits() as u128) << 64 | z.re.to_bits() as u128,
        };
        // Little-endian: the value's bytes sit at the start of the u128 for every width.
        let owned = Box::new(u128::from_le(bits));
        let ptr = &*owned as *const u128 as *const u8;
        VarValue {
            view: RawView {
                dtype: T::DTYPE,
                ptr,
                shape: smallvec::SmallVec::new(),
                strides: smallvec::SmallVec::new(),
            },
            writable: false,
            _owned: Some(owned),
            _borrow: PhantomData,
        }
    }
}

/// Named inputs of an evaluation.
///
/// Arrays are borrowed, never copied: strided and negative-stride views are read in place.
///
/// ```
/// use ndarray::{s, Array2};
/// let m = Array2::<f64>::ones((4, 6));
/// let every_other = m.slice(s![.., ..;2]);        // a strided view
/// let vars = numjit::Vars::new().with("m", &every_other);
/// let total = numjit::evaluate("sum(m)", &vars)?;
/// assert_eq!(total.as_f64().unwrap()[[]], 12.0);
/// # Ok::<(), numjit::Error>(())
/// ```
#[derive(Default)]
pub struct Vars<'a> {
    entries: Vec<(String, VarValue<'a>)>,
}

impl<'a> Vars<'a> {
    /// No variables.
    ///
    /// ```
    /// assert!(numjit::Vars::new().is_empty());
    /// ```
    pub fn new() -> Vars<'a> {
        Vars {
            entries: Vec::new(),
        }
    }

    /// Binds `name` (replacing an earlier binding of the same name) and returns `self`.
    ///
    /// ```
    /// let x = ndarray::arr1(&[1_i32, 2, 3]);
    /// let vars = numjit::Vars::new().with("x", &x);
    /// assert_eq!(numjit::evaluate("sum(x)", &vars)?.as_i64().unwrap()[[]], 6);
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn with(mut self, name: &str, value: impl IntoVar<'a>) -> Vars<'a> {
        self.insert(name, value);
        self
    }

    /// Binds `name` in place (replacing an earlier binding of the same name).
    ///
    /// ```
    /// let mut vars = numjit::Vars::new();
    /// vars.insert("k", 2.5_f64);
    /// assert_eq!(vars.len(), 1);
    /// ```
    pub fn insert(&mut self, name: &str, value: impl IntoVar<'a>) {
        let value = value.into_var();
        match self.entries.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((name.to_string(), value)),
        }
    }

    /// Binds `name` to an array of byte strings (NumPy's `S<n>`), and returns `self`: the last
    /// axis of `bytes` holds each string's `n` bytes (contiguous, NUL-padded), the other axes
    /// are the array's. Strings are compared (`== != < <= > >=`) and searched (`contains`).
    ///
    /// ```
    /// // ["abc", "b", ""] as S3
    /// let s = ndarray::arr2(&[[b'a', b'b', b'c'], [b'b', 0, 0], [0, 0, 0]]);
    /// let vars = numjit::Vars::new().with_bytes("s", &s)?;
    /// let r = numjit::evaluate("1 * ((s > b'a') | contains(s, 'bc'))", &vars)?;
    /// assert_eq!(r.as_i64().unwrap().as_slice().unwrap(), &[1, 1, 0]);
    /// # Ok::<(), numjit::Error>(())
    /// ```
    ///
    /// An error of kind `value` if `bytes` is 0-d, its last axis is empty (NumPy has no `S0`
    /// arrays) or not contiguous.
    pub fn with_bytes<S, D>(mut self, name: &str, bytes: &'a ArrayBase<S, D>) -> Result<Vars<'a>>
    where
        S: Data<Elem = u8>,
        D: Dimension,
    {
        let (Some(&n), Some(&step)) = (bytes.shape().last(), bytes.strides().last()) else {
            return Err(Error::new(
                ErrorKind::Value,
                format!("`{name}`: byte strings need an axis of bytes, but the array is 0-d"),
            ));
        };
        if n == 0 || (n > 1 && step != 1) || n > u32::MAX as usize {
            return Err(Error::new(
                ErrorKind::Value,
                format!("`{name}`: the last axis must hold each string's bytes contiguously (1 to 2^32-1 of them), but it has {n} with stride {step}"),
            ));
        }
        let rank = bytes.ndim() - 1;
        let view = RawView {
            dtype: DType::Bytes(n as u32),
            ptr: bytes.as_ptr(),
            shape: bytes.shape()[..rank].into(),
            strides: bytes.strides()[..rank].iter().copied().collect(),
        };
        let value = VarValue::borrowed(view, false);
        match self.entries.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((name.to_string(), value)),
        }
        Ok(self)
    }

    /// Binds `name` to an array a program may write (`name = ...`, `name[1:-1] = ...`,
    /// `swap(name, other)`), and returns `self`. The array stays borrowed mutably as long as
    /// the `Vars` lives.
    ///
    /// ```
    /// let x = ndarray::arr1(&[1.0, 2.0, 3.0]);
    /// let mut y = ndarray::Array1::<f64>::zeros(3);
    /// let vars = numjit::Vars::new().with("x", &x).with_out("y", &mut y);
    /// numjit::run("y = 2 * x + 1", &vars)?;
    /// drop(vars);
    /// assert_eq!(y.to_vec(), vec![3.0, 5.0, 7.0]);
    /// # Ok::<(), numjit::Error>(())
    /// ```
    ///
    /// Any [`IntoOut`] binds: an ndarray array or mutable view, or a new `.npy` file
    /// ([`npy::create`](crate::npy::create)).
    pub fn with_out<O: IntoOut + ?Sized>(mut self, name: &str, array: &'a mut O) -> Vars<'a> {
        let value = VarValue::borrowed(array.out_view().0, true);
        match self.entries.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((name.to_string(), value)),
        }
        self
    }

    /// Number of bound names.
    ///
    /// ```
    /// assert_eq!(numjit::Vars::new().with("k", 1_i64).len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing is bound.
    ///
    /// ```
    /// assert!(numjit::Vars::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The names, dtypes, ranks and layouts of the bound values — what a kernel is compiled for.
    ///
    /// ```
    /// let a = ndarray::Array2::<f32>::zeros((2, 3));
    /// let sig = numjit::Vars::new().with("a", &a).signature();
    /// assert_eq!(sig.get("a").map(|i| (i.dtype, i.rank)), Some((numjit::DType::Float32, 2)));
    /// ```
    pub fn signature(&self) -> Signature {
        Signature {
            inputs: self
                .entries
                .iter()
                .map(|(name, v)| InputSig {
                    name: name.clone(),
                    dtype: v.view.dtype,
                    rank: v.view.shape.len(),
                    contiguous: v.view.is_c_contiguous(),
                    writable: v.writable,
                })
                .collect(),
        }
    }

    /// True when `name` is bound with [`Vars::with_out`].
    pub(crate) fn is_writable(&self, name: &str) -> bool {
        self.entries.iter().any(|(n, v)| n == name && v.writable)
    }

    pub(crate) fn view(&self, name: &str) -> Option<&RawView> {
        self.entries
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| &v.view)
    }
}

/// What a compiled kernel expects of one input.
///
/// ```
/// let sig = numjit::Signature::new().with("x", numjit::DType::Float64, 1);
/// assert_eq!(sig.get("x").unwrap().rank, 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InputSig {
    /// The variable name.
    pub name: String,
    /// Its dtype.
    pub dtype: DType,
    /// Its number of dimensions.
    pub rank: usize,
    /// Whether it is C-contiguous (kernels may specialize on it; strided inputs still work).
    pub contiguous: bool,
    /// Whether a program may write it (bound with [`Vars::with_out`]).
    pub writable: bool,
}

/// The inputs a kernel is compiled for: names with dtype, rank and layout. Sizes are not part of
/// it: one kernel evaluates arrays of any size.
///
/// ```
/// use numjit::{DType, Engine, Signature};
/// let sig = Signature::new().with("x", DType::Float64, 1);
/// let kernel = Engine::default().compile("2 * x", &sig)?;
/// let x = ndarray::arr1(&[1.0, 2.0]);
/// let y = kernel.eval(&numjit::Vars::new().with("x", &x))?;
/// assert_eq!(y.as_f64().unwrap().as_slice().unwrap(), &[2.0, 4.0]);
/// # Ok::<(), numjit::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Signature {
    inputs: Vec<InputSig>,
}

impl Signature {
    /// An empty signature.
    ///
    /// ```
    /// assert!(numjit::Signature::new().inputs().is_empty());
    /// ```
    pub fn new() -> Signature {
        Signature::default()
    }

    /// Adds a C-contiguous input `name` of `dtype` and `rank` (replacing one of the same name).
    ///
    /// ```
    /// let sig = numjit::Signature::new().with("m", numjit::DType::Int32, 2);
    /// assert!(sig.get("m").unwrap().contiguous);
    /// ```
    pub fn with(mut self, name: &str, dtype: DType, rank: usize) -> Signature {
        let input = InputSig {
            name: name.to_string(),
            dtype,
            rank,
            contiguous: true,
            writable: false,
        };
        match self.inputs.iter_mut().find(|i| i.name == name) {
            Some(slot) => *slot = input,
            None => self.inputs.push(input),
        }
        self
    }

    /// Adds an output `name` (an array a program writes) of `dtype` and `rank`.
    ///
    /// ```
    /// let sig = numjit::Signature::new().with_out("u", numjit::DType::Float64, 2);
    /// assert!(sig.get("u").unwrap().writable);
    /// ```
    pub fn with_out(mut self, name: &str, dtype: DType, rank: usize) -> Signature {
        self = self.with(name, dtype, rank);
        if let Some(i) = self.inputs.iter_mut().find(|i| i.name == name) {
            i.writable = true;
        }
        self
    }

    /// The input called `name`.
    ///
    /// ```
    /// assert!(numjit::Signature::new().get("x").is_none());
    /// ```
    pub fn get(&self, name: &str) -> Option<&InputSig> {
        self.inputs.iter().find(|i| i.name == name)
    }

    /// All inputs, in the order they were added.
    ///
    /// ```
    /// let sig = numjit::Signature::new().with("a", numjit::DType::Bool, 0);
    /// assert_eq!(sig.inputs()[0].name, "a");
    /// ```
    pub fn inputs(&self) -> &[InputSig] {
        &self.inputs
    }

    pub(crate) fn decls(&self) -> Vec<InputDecl> {
        self.inputs
            .iter()
            .map(|i| InputDecl {
                name: i.name.clone(),
                dtype: i.dtype,
                rank: i.rank,
                view: None,
                literal: None,
            })
            .collect()
    }
}

/// A caller's output array, written in place by [`Kernel::eval_into`](crate::Kernel::eval_into).
pub trait IntoOut {
    /// The view the kernel writes through.
    #[doc(hidden)]
    fn out_view(&mut self) -> RawViewMut;
}

/// A writable dtype-erased view (opaque).
#[doc(hidden)]
pub struct RawViewMut(pub(crate) RawView);

impl<S, D> IntoOut for ArrayBase<S, D>
where
    S: DataMut,
    S::Elem: Element,
    D: Dimension,
{
    #[inline]
    fn out_view(&mut self) -> RawViewMut {
        let size = std::mem::size_of::<S::Elem>() as isize;
        RawViewMut(RawView {
            dtype: <S::Elem as Element>::DTYPE,
            ptr: self.as_mut_ptr() as *const u8,
            shape: self.shape().into(),
            strides: self.strides().iter().map(|s| s * size).collect(),
        })
    }
}

/// An array of any dtype, written in place.
impl IntoOut for crate::Array {
    fn out_view(&mut self) -> RawViewMut {
        use crate::Array;
        match self {
            Array::Bool(a) => a.out_view(),
            Array::Int32(a) => a.out_view(),
            Array::Int64(a) => a.out_view(),
            Array::Float32(a) => a.out_view(),
            Array::Float64(a) => a.out_view(),
            Array::Complex64(a) => a.out_view(),
            Array::Complex128(a) => a.out_view(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array2};

    #[test]
    fn contiguity_is_detected() {
        let m = Array2::<f64>::zeros((3, 4));
        assert!(raw_view(&m).is_c_contiguous());
        assert!(!raw_view(&m.t()).is_c_contiguous());
        assert!(!raw_view(&m.slice(s![.., ..;2])).is_c_contiguous());
        assert!(raw_view(&m.slice(s![1..2, ..])).is_c_contiguous());
    }

    #[test]
    fn scalars_are_zero_d_views() {
        let vars = Vars::new().with("k", 7_i32);
        let v = vars.view("k").unwrap();
        assert_eq!((v.dtype, v.shape.len()), (DType::Int32, 0));
        // SAFETY: `k` is an i32 scalar owned by `vars`, alive here.
        assert_eq!(unsafe { *(v.ptr as *const i32) }, 7);
    }
}
