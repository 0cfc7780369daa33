//! Arrays across the boundary: the C descriptions (`numjit_array`, `numjit_array_mut`,
//! `numjit_var`), the checks that make a description safe to turn into an ndarray view, and the
//! views themselves.
//!
//! A description is (dtype, pointer to the element at index (0, …, 0), ndim, shape, byte
//! strides), NumPy's own model, so a NumPy array passes through without a copy. Checking happens
//! in [`layout`] before any view exists; building views is then mechanical.

use std::ffi::{c_char, c_void};
use std::ptr::NonNull;

use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Axis, IxDyn, ShapeBuilder};

use super::error::Failure;
use super::guard;
use crate::core::dtype::{DType, Element};
use crate::core::error::Result;

/// Element types, with the codes used in `numjit_array.dtype`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum numjit_dtype {
    /// `bool`: one byte holding 0 or 1 (any other byte value gives unspecified results).
    Bool = 0,
    /// `int32_t`.
    Int32 = 1,
    /// `int64_t`.
    Int64 = 2,
    /// `float` (IEEE binary32).
    Float32 = 3,
    /// `double` (IEEE binary64).
    Float64 = 4,
    /// `float _Complex`: two `float`, real part first (NumPy's `complex64`).
    Complex64 = 5,
    /// `double _Complex`: two `double`, real part first (NumPy's `complex128`).
    Complex128 = 6,
    /// Byte strings of `n` bytes each, NUL-padded (NumPy's `S<n>`), inputs only: the dtype
    /// field is `NUMJIT_DTYPE_BYTES | (n << NUMJIT_BYTES_SHIFT)`, 1 ≤ n < 2^24. Compared
    /// (`== != < <= > >=`) and searched (`contains`) as NumPy does, as if trailing NULs were
    /// stripped.
    Bytes = 7,
}

/// Where a bytes array's dtype field holds the length of its strings:
/// `NUMJIT_DTYPE_BYTES | (n << NUMJIT_BYTES_SHIFT)` describes NumPy's `S<n>`.
pub const NUMJIT_BYTES_SHIFT: u32 = 8;

impl From<DType> for numjit_dtype {
    fn from(d: DType) -> numjit_dtype {
        match d {
            DType::Bool => numjit_dtype::Bool,
            DType::Int32 => numjit_dtype::Int32,
            DType::Int64 => numjit_dtype::Int64,
            DType::Float32 => numjit_dtype::Float32,
            DType::Float64 => numjit_dtype::Float64,
            DType::Complex64 => numjit_dtype::Complex64,
            DType::Complex128 => numjit_dtype::Complex128,
            DType::Bytes(_) => numjit_dtype::Bytes,
        }
    }
}

/// The dtype for a code from C, which may be any number.
fn dtype_of(code: u32) -> Option<DType> {
    let n = code >> NUMJIT_BYTES_SHIFT;
    if code & ((1 << NUMJIT_BYTES_SHIFT) - 1) == numjit_dtype::Bytes as u32 && n > 0 {
        return Some(DType::Bytes(n));
    }
    DType::ALL
        .into_iter()
        .find(|d| numjit_dtype::from(*d) as u32 == code)
}

/// A read-only n-d array described by the caller (inputs) or by numjit (results).
///
/// `data` points to the element at index (0, …, 0). The byte offset of element
/// (i0, …, in-1) is `i0*strides[0] + … + in-1*strides[n-1]`; strides may be negative (reversed
/// axes) or 0 (broadcast axes). Misaligned data (an address or a stride that is no multiple of
/// the element's alignment, as NumPy allows) is accepted: numjit then reads the array into an
/// aligned copy, and writes an output into one that it copies out after a successful call (a
/// failed call leaves the output unchanged); byte strings need strides in whole strings.
/// `shape` and `strides` point to `ndim` entries each; `strides` may be
/// NULL for a C-contiguous array, and both may be NULL when `ndim` is 0 (a scalar). `data` may be
/// NULL when the array has no elements.
///
/// Borrowed: numjit reads the memory only during the call it is passed to.
///
/// Memory of a file mapping (`mmap` of a file, `MAP_SHARED`, or `MAP_PRIVATE` without write
/// access: NumPy's `np.memmap` and `np.load(..., mmap_mode="r")`) of 16 MiB or more is
/// streamed, as an output's is: numjit finds it in `/proc/self/maps` (Linux) and, during the
/// call, drops the pages it has passed from the process's page tables and reads ahead, so the
/// resident set stays bounded whatever the file's size. The data is unchanged (dropped pages
/// are read back from the file); private writable mappings are never dropped.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct numjit_array {
    /// The element type, a `numjit_dtype` value. (A plain integer so that a wrong value from C
    /// is reported as `NUMJIT_STATUS_INVALID_ARGUMENT` instead of being undefined behaviour.)
    pub dtype: u32,
    /// The element at index (0, …, 0).
    pub data: *const c_void,
    /// The number of dimensions (0 for a scalar).
    pub ndim: usize,
    /// `ndim` non-negative lengths.
    pub shape: *const isize,
    /// `ndim` byte strides, or NULL for C-contiguous.
    pub strides: *const isize,
}

/// A writable n-d array described by the caller: where `numjit_kernel_eval_into` writes.
///
/// Same rules as `numjit_array`, and additionally no two indices may address the same memory
/// (no zero strides on axes longer than 1, no overlapping strides). It may be the very same
/// memory as an input with the same shape and strides (an in-place update like `a = 2*a + 1`);
/// any other overlap with an input gives unspecified results.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct numjit_array_mut {
    /// The element type, a `numjit_dtype` value.
    pub dtype: u32,
    /// The element at index (0, …, 0).
    pub data: *mut c_void,
    /// The number of dimensions (0 for a scalar).
    pub ndim: usize,
    /// `ndim` non-negative lengths.
    pub shape: *const isize,
    /// `ndim` byte strides, or NULL for C-contiguous.
    pub strides: *const isize,
}

/// A named input: the variable `name` of the expression is `array`.
///
/// `name` is a NUL-terminated UTF-8 string, borrowed for the call. Names must be distinct within
/// one call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct numjit_var {
    /// The variable's name as it appears in expressions.
    pub name: *const c_char,
    /// Its value.
    pub array: numjit_array,
}

/// A named output of `numjit_run`: the variable `name`, which the program may write, is `array`.
///
/// `name` is a NUL-terminated UTF-8 string, borrowed for the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct numjit_var_mut {
    /// The variable's name as it appears in the program.
    pub name: *const c_char,
    /// Its memory.
    pub array: numjit_array_mut,
}

/// More dimensions than any real array has: rejected before `shape` is read, so a garbage
/// `ndim` cannot make numjit read far past the caller's shape array. (The engine's own limit
/// is lower and reported as `NUMJIT_STATUS_LIMIT`.)
const MAX_NDIM: usize = 64;

/// A checked description: every view built from it satisfies ndarray's invariants.
#[derive(Debug, Clone)]
pub(super) struct Layout {
    pub dtype: DType,
    /// The lowest address any element occupies (an aligned dangling pointer when empty).
    low: NonNull<u8>,
    shape: Vec<usize>,
    /// Element (not byte) strides; 0 on axes of length ≤ 1, where NumPy leaves arbitrary values.
    /// Meaningless when `misaligned`.
    strides: Vec<isize>,
    /// Byte strides, 0 on axes of length ≤ 1.
    byte_strides: Vec<isize>,
    /// The address of the element at index 0.
    origin: *mut u8,
    /// True when the data is not aligned for the dtype or a stride is not a multiple of the
    /// element size (NumPy allows both: `np.empty(5, np.uint8)[1:].view(np.int32)`): then no
    /// view may be made over it, and the caller copies it element by element instead
    /// ([`Layout::read_copy`], [`Layout::write_back`]).
    pub misaligned: bool,
    /// The addresses its elements occupy, lowest to one past the highest (empty for no elements).
    pub bytes: std::ops::Range<usize>,
}

/// The raw fields shared by `numjit_array` and `numjit_array_mut`.
pub(super) struct Raw {
    pub dtype: u32,
    pub data: *const c_void,
    pub ndim: usize,
    pub shape: *const isize,
    pub strides: *const isize,
}

impl From<&numjit_array> for Raw {
    fn from(a: &numjit_array) -> Raw {
        Raw {
            dtype: a.dtype,
            data: a.data,
            ndim: a.ndim,
            shape: a.shape,
            strides: a.strides,
        }
    }
}

impl From<&numjit_array_mut> for Raw {
    fn from(a: &numjit_array_mut) -> Raw {
        Raw {
            dtype: a.dtype,
            data: a.data as *const c_void,
            ndim: a.ndim,
            shape: a.shape,
            strides: a.strides,
        }
    }
}

/// What messages call an array; formatted only when there is a message.
#[derive(Debug, Clone, Copy)]
pub(super) enum Subject<'a> {
    /// An input: "variable `x`".
    Variable(&'a str),
    /// The output of `numjit_kernel_eval_into`.
    Output,
    /// An output of `numjit_run`: "output `u`".
    Written(&'a str),
}

impl std::fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Variable(name) => write!(f, "variable `{name}`"),
            Subject::Output => f.write_str("the output"),
            Subject::Written(name) => write!(f, "output `{name}`"),
        }
    }
}

/// Checks a description (`what` names it in messages).
///
/// # Safety
/// `raw.shape` and `raw.strides` are NULL or point to `raw.ndim` readable `isize`s.
pub(super) unsafe fn layout(raw: &Raw, what: Subject, writable: bool) -> Result<Layout, Failure> {
    let invalid = |m: String| Failure::invalid(format!("{what}: {m}"));
    let dtype = dtype_of(raw.dtype).ok_or_else(|| {
        invalid(format!(
            "dtype code {} is not a numjit_dtype (0 bool, 1 int32, 2 int64, 3 float32, 4 float64, \
             5 complex64, 6 complex128, 7 | (n << 8) bytes of n ≥ 1)",
            raw.dtype
        ))
    })?;
    if writable && dtype.is_bytes() {
        return Err(invalid(format!(
            "{dtype} is for inputs only: numjit computes no strings"
        )));
    }
    if raw.ndim > MAX_NDIM {
        return Err(invalid(format!(
            "ndim {} is more than {MAX_NDIM}",
            raw.ndim
        )));
    }
    // SAFETY: NULL or `ndim` readable entries, by this function's contract.
    let dims = unsafe { guard::slice(raw.shape, raw.ndim, format_args!("the shape of {what}")) }?;
    let shape: Vec<usize> = dims
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            usize::try_from(d).map_err(|_| invalid(format!("shape[{i}] is {d}, a negative length")))
        })
        .collect::<Result<_, _>>()?;
    let item = dtype.size();
    let nbytes = shape
        .iter()
        .try_fold(item, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= isize::MAX as usize);
    if nbytes.is_none() {
        return Err(invalid(format!(
            "shape {shape:?} of {item}-byte elements is larger than memory can hold"
        )));
    }
    if shape.contains(&0) {
        // No element is ever read or written: no pointer, alignment or stride requirements.
        return Ok(Layout {
            dtype,
            low: dangling(dtype),
            shape: shape.clone(),
            strides: vec![0; shape.len()],
            byte_strides: vec![0; shape.len()],
            origin: dangling(dtype).as_ptr(),
            misaligned: false,
            bytes: 0..0,
        });
    }
    let byte_strides: Vec<isize> = if raw.strides.is_null() {
        c_contiguous(&shape, item)
    } else {
        // SAFETY: non-NULL and `ndim` readable entries, by this function's contract.
        unsafe { guard::slice(raw.strides, raw.ndim, format_args!("the strides of {what}")) }?
            .to_vec()
    };
    if raw.data.is_null() {
        return Err(Failure::null(&format_args!("the data of {what}")));
    }
    let addr = raw.data as usize;
    let mut misaligned = !addr.is_multiple_of(align(dtype));
    let mut strides = Vec::with_capacity(shape.len());
    let mut steps = Vec::with_capacity(shape.len());
    // Bytes from the element at index 0 down to the lowest and up to the highest element.
    let (mut below, mut above) = (0usize, 0usize);
    let overflow = || {
        invalid(format!(
            "strides {byte_strides:?} with shape {shape:?} reach outside the address space"
        ))
    };
    for (axis, (&d, &s)) in shape.iter().zip(&byte_strides).enumerate() {
        if d <= 1 {
            strides.push(0);
            steps.push(0);
            continue;
        }
        if s % item as isize != 0 {
            // Strings are read in place as rows of bytes, which needs whole strings per step.
            if dtype.is_bytes() {
                return Err(invalid(format!(
                    "strides[{axis}] is {s} bytes, not a multiple of the {item}-byte {dtype} \
                     element"
                )));
            }
            misaligned = true;
        }
        strides.push(s / item as isize);
        steps.push(s);
        let reach = (d - 1).checked_mul(s.unsigned_abs()).ok_or_else(overflow)?;
        let side = if s < 0 { &mut below } else { &mut above };
        *side = side.checked_add(reach).ok_or_else(overflow)?;
    }
    let low = addr.checked_sub(below).ok_or_else(overflow)?;
    let high = addr
        .checked_add(above)
        .and_then(|h| h.checked_add(item))
        .ok_or_else(overflow)?;
    if high - low > isize::MAX as usize {
        return Err(overflow());
    }
    if writable && overlaps(&shape, &steps, item) {
        return Err(invalid(format!(
            "strides {byte_strides:?} make different indices of shape {shape:?} share memory; \
             an output needs a distinct place for every element"
        )));
    }
    Ok(Layout {
        dtype,
        low: NonNull::new((raw.data as *mut u8).wrapping_sub(below)).ok_or_else(overflow)?,
        shape,
        strides,
        byte_strides: steps,
        origin: raw.data as *mut u8,
        misaligned,
        bytes: low..high,
    })
}

/// Byte strides of a C-contiguous array (the shape's byte size is known to fit in `isize`).
fn c_contiguous(shape: &[usize], item: usize) -> Vec<isize> {
    let mut strides = vec![0isize; shape.len()];
    let mut step = item as isize;
    for (s, &d) in strides.iter_mut().zip(shape).rev() {
        *s = step;
        step *= d.max(1) as isize;
    }
    strides
}

/// ndarray's rule for views that may be written: walking axes from the smallest byte stride up,
/// each must step past everything the smaller ones reach, an element of `item` bytes included
/// (checked here, because ndarray only checks it in debug builds, by panicking).
fn overlaps(shape: &[usize], strides: &[isize], item: usize) -> bool {
    let mut axes: Vec<(usize, usize)> = shape
        .iter()
        .zip(strides)
        .filter(|(&d, _)| d > 1)
        .map(|(&d, &s)| (s.unsigned_abs(), d))
        .collect();
    axes.sort_unstable();
    // The last byte the element at index 0 occupies.
    let mut reach = item - 1;
    for (s, d) in axes {
        if s <= reach {
            return true;
        }
        // Cannot overflow: the whole extent was checked to fit in `isize`.
        reach += (d - 1) * s;
    }
    false
}

fn align(dtype: DType) -> usize {
    match dtype {
        DType::Bool => std::mem::align_of::<bool>(),
        DType::Int32 => std::mem::align_of::<i32>(),
        DType::Int64 => std::mem::align_of::<i64>(),
        DType::Float32 => std::mem::align_of::<f32>(),
        DType::Float64 => std::mem::align_of::<f64>(),
        // NumPy aligns complex arrays to their parts.
        DType::Complex64 => std::mem::align_of::<f32>(),
        DType::Complex128 => std::mem::align_of::<f64>(),
        DType::Bytes(_) => 1,
    }
}

/// A non-NULL pointer aligned for `dtype`, for arrays without elements.
fn dangling(dtype: DType) -> NonNull<u8> {
    // An address equal to the alignment is aligned and never dereferenced.
    NonNull::new(align(dtype) as *mut u8).unwrap_or(NonNull::dangling())
}

impl Layout {
    /// The shape and strides as ndarray wants them (non-negative element strides) and the axes
    /// to invert afterwards: ndarray 0.16's `from_shape_ptr` requires non-negative strides and a
    /// pointer to the lowest element, so a reversed axis is built forward and then inverted,
    /// which moves the pointer back to index 0 and negates the stride.
    fn forward(&self) -> (ndarray::StrideShape<IxDyn>, Vec<Axis>) {
        let abs: Vec<usize> = self.strides.iter().map(|s| s.unsigned_abs()).collect();
        let reversed = (0..self.strides.len())
            .filter(|&i| self.strides[i] < 0)
            .map(Axis)
            .collect();
        (IxDyn(&self.shape).strides(IxDyn(&abs)), reversed)
    }

    /// A read-only view of byte strings (`Bytes(n)`) as `u8`s with one more axis, the `n` bytes
    /// of each string (what [`Vars::with_bytes`](crate::Vars::with_bytes) binds).
    ///
    /// # Safety
    /// As for `view`.
    pub(super) unsafe fn bytes_view<'a>(&self, n: usize) -> ArrayViewD<'a, u8> {
        let mut shape = self.shape.clone();
        shape.push(n);
        let mut abs: Vec<usize> = self.strides.iter().map(|s| s.unsigned_abs() * n).collect();
        abs.push(1);
        // SAFETY: as in `view`: `layout` checked the extent from the lowest element (whose
        // last element ends `n` bytes after its start), with strides in whole strings.
        let mut v = unsafe {
            ArrayViewD::from_shape_ptr(IxDyn(&shape).strides(IxDyn(&abs)), self.low.as_ptr())
        };
        for (axis, &s) in self.strides.iter().enumerate() {
            if s < 0 {
                v.invert_axis(Axis(axis));
            }
        }
        v
    }

    /// A read-only view.
    ///
    /// # Safety
    /// The described memory holds valid `T`s, is not written during `'a` except through an
    /// output that numjit itself writes, and `T` is the layout's dtype.
    pub(super) unsafe fn view<'a, T: Element>(&self) -> ArrayViewD<'a, T> {
        debug_assert_eq!(T::DTYPE, self.dtype);
        let (shape, reversed) = self.forward();
        // SAFETY: `layout` checked everything `from_shape_ptr` requires: non-NULL, aligned,
        // non-negative strides from the lowest element, extent and size within `isize`; the
        // memory's validity for `'a` is this function's contract.
        let mut v = unsafe { ArrayViewD::from_shape_ptr(shape, self.low.as_ptr() as *const T) };
        for axis in reversed {
            v.invert_axis(axis);
        }
        v
    }

    /// A writable view.
    ///
    /// # Safety
    /// As for `view`, and the memory is writable and not read or written by anyone else
    /// during `'a` (numjit's own reads of an identical input view aside).
    pub(super) unsafe fn view_mut<'a, T: Element>(&self) -> ArrayViewMutD<'a, T> {
        debug_assert_eq!(T::DTYPE, self.dtype);
        let (shape, reversed) = self.forward();
        // SAFETY: as in `view`; `layout(.., writable = true)` also checked that no two indices
        // share memory, which `ArrayViewMut` requires.
        let mut v = unsafe { ArrayViewMutD::from_shape_ptr(shape, self.low.as_ptr() as *mut T) };
        for axis in reversed {
            v.invert_axis(axis);
        }
        v
    }

    /// The shape.
    pub(super) fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// An aligned, C-ordered copy of the elements (the form a misaligned array is read in).
    ///
    /// # Safety
    /// The described memory holds valid `T`s, readable for the call, and `T` is the layout's
    /// dtype.
    pub(super) unsafe fn read_copy<T: Element>(&self) -> Result<ArrayD<T>> {
        debug_assert_eq!(T::DTYPE, self.dtype);
        let n: usize = self.shape.iter().product();
        let mut values = Vec::new();
        if values.try_reserve_exact(n).is_err() {
            return Err(crate::core::error::Error::new(
                crate::core::error::ErrorKind::Limit,
                format!(
                    "cannot allocate an aligned copy of a misaligned array of shape {:?} and \
                     dtype {}",
                    self.shape, self.dtype
                ),
            ));
        }
        self.each_offset(|offset| {
            // SAFETY: `layout` checked that every element lies within the described memory;
            // `read_unaligned` needs no alignment.
            values.push(unsafe { self.origin.offset(offset).cast::<T>().read_unaligned() });
        });
        Ok(ArrayD::from_shape_vec(IxDyn(&self.shape), values)
            .unwrap_or_else(|_| unreachable!("one value per index")))
    }

    /// Writes `values` (C-ordered, of the layout's shape) into the described memory, element
    /// by element.
    ///
    /// # Safety
    /// The memory is writable and nobody else reads or writes it during the call, and `T` is
    /// the layout's dtype.
    pub(super) unsafe fn write_back<T: Element>(&self, values: &ArrayD<T>) {
        debug_assert_eq!(values.shape(), &self.shape[..]);
        let values = values
            .as_slice()
            .unwrap_or_else(|| unreachable!("the copy is C-ordered"));
        let mut next = values.iter();
        self.each_offset(|offset| {
            let v = *next
                .next()
                .unwrap_or_else(|| unreachable!("one value per index"));
            // SAFETY: as in `read_copy`, and writable by this function's contract.
            unsafe { self.origin.offset(offset).cast::<T>().write_unaligned(v) };
        });
    }

    /// Calls `f` with the byte offset of every element from index 0, in C order (an odometer
    /// over the outer axes around a plain loop over the last: about a nanosecond an element).
    fn each_offset(&self, mut f: impl FnMut(isize)) {
        let Some((&inner, outer)) = self.shape.split_last() else {
            return f(0);
        };
        let step = self.byte_strides[outer.len()];
        let mut index = vec![0usize; outer.len()];
        let mut base = 0isize;
        for _ in 0..outer.iter().product::<usize>() {
            let mut offset = base;
            for _ in 0..inner {
                f(offset);
                offset += step;
            }
            for d in (0..outer.len()).rev() {
                index[d] += 1;
                base += self.byte_strides[d];
                if index[d] < outer[d] {
                    break;
                }
                base -= self.byte_strides[d] * outer[d] as isize;
                index[d] = 0;
            }
        }
    }
}
