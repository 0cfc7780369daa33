//! The caller's checked arrays as the engine's [`Vars`]: read-only inputs and writable outputs
//! of any dtype, viewed in place, with the checks between variables (distinct names, outputs
//! that overlap no other variable's memory). Only misaligned arrays are copied: an input into
//! an aligned array, an output into one that is written back after a successful call.

use super::array::{layout, numjit_var, numjit_var_mut, Layout, Raw, Subject};
use super::error::Failure;
use super::guard;
use crate::api::array::Array;
use crate::api::engine::Kernel;
use crate::api::vars::Vars;
use crate::core::dtype::DType;
use crate::core::error::Result;
use crate::exec::stream::{register_if_file_mapped, Registration};
use ndarray::{ArrayViewD, ArrayViewMutD};

/// A read-only view of any dtype.
pub(super) enum InputView<'a> {
    Bool(ArrayViewD<'a, bool>),
    Int32(ArrayViewD<'a, i32>),
    Int64(ArrayViewD<'a, i64>),
    Float32(ArrayViewD<'a, f32>),
    Float64(ArrayViewD<'a, f64>),
    Complex64(ArrayViewD<'a, crate::Complex32>),
    Complex128(ArrayViewD<'a, crate::Complex64>),
    /// Byte strings: the last axis holds each string's bytes.
    Bytes(ArrayViewD<'a, u8>),
    /// An aligned copy of a misaligned array.
    Copied(Array),
}

impl<'a> InputView<'a> {
    /// # Safety
    /// As for `Layout::view`.
    pub unsafe fn new(l: &Layout) -> Result<InputView<'a>> {
        if l.misaligned {
            // SAFETY: as below.
            return Ok(InputView::Copied(unsafe { aligned_copy(l) }?));
        }
        // SAFETY: each arm's `T` is the layout's dtype; the rest is this function's contract.
        Ok(unsafe {
            match l.dtype {
                DType::Bool => InputView::Bool(l.view()),
                DType::Int32 => InputView::Int32(l.view()),
                DType::Int64 => InputView::Int64(l.view()),
                DType::Float32 => InputView::Float32(l.view()),
                DType::Float64 => InputView::Float64(l.view()),
                DType::Complex64 => InputView::Complex64(l.view()),
                DType::Complex128 => InputView::Complex128(l.view()),
                DType::Bytes(n) => InputView::Bytes(l.bytes_view(n as usize)),
            }
        })
    }

    fn bind<'v>(&'v self, vars: &mut Vars<'v>, name: &str) {
        match self {
            InputView::Bool(a) => vars.insert(name, a),
            InputView::Int32(a) => vars.insert(name, a),
            InputView::Int64(a) => vars.insert(name, a),
            InputView::Float32(a) => vars.insert(name, a),
            InputView::Float64(a) => vars.insert(name, a),
            InputView::Complex64(a) => vars.insert(name, a),
            InputView::Complex128(a) => vars.insert(name, a),
            InputView::Bytes(a) => {
                let taken = std::mem::take(vars);
                *vars = taken
                    .with_bytes(name, a)
                    .unwrap_or_else(|_| unreachable!("`layout` checked the string length"));
            }
            InputView::Copied(a) => vars.insert(name, a),
        }
    }
}

/// An aligned, C-ordered copy of the array `l` describes.
///
/// # Safety
/// The memory holds valid elements of the layout's dtype, readable for the call.
unsafe fn aligned_copy(l: &Layout) -> Result<Array> {
    // SAFETY: each arm's `T` is the layout's dtype; the rest is this function's contract.
    Ok(unsafe {
        match l.dtype {
            DType::Bool => Array::Bool(l.read_copy()?),
            DType::Int32 => Array::Int32(l.read_copy()?),
            DType::Int64 => Array::Int64(l.read_copy()?),
            DType::Float32 => Array::Float32(l.read_copy()?),
            DType::Float64 => Array::Float64(l.read_copy()?),
            DType::Complex64 => Array::Complex64(l.read_copy()?),
            DType::Complex128 => Array::Complex128(l.read_copy()?),
            DType::Bytes(_) => unreachable!("`layout` keeps strings aligned (whole-string steps)"),
        }
    })
}

/// A writable view of any dtype.
pub(super) enum OutView<'a> {
    Bool(ArrayViewMutD<'a, bool>),
    Int32(ArrayViewMutD<'a, i32>),
    Int64(ArrayViewMutD<'a, i64>),
    Float32(ArrayViewMutD<'a, f32>),
    Float64(ArrayViewMutD<'a, f64>),
    Complex64(ArrayViewMutD<'a, crate::Complex32>),
    Complex128(ArrayViewMutD<'a, crate::Complex64>),
    /// A misaligned array: numjit writes an aligned copy (holding the array's values, which a
    /// program may read), and [`OutView::write_back`] copies it into the array once the call
    /// has succeeded, so a failed call leaves the array as it was.
    Staged(Array, Layout),
}

impl<'a> OutView<'a> {
    /// A misaligned array is staged in an aligned copy: of its values when `read` (a program
    /// may read what it writes), else zeros (`eval_into` writes every element).
    ///
    /// # Safety
    /// As for `Layout::view_mut`.
    pub unsafe fn new(l: &Layout, read: bool) -> Result<OutView<'a>> {
        if l.misaligned {
            let copy = match read {
                // SAFETY: readable and valid, by this function's contract.
                true => unsafe { aligned_copy(l) }?,
                false => crate::exec::alloc(l.dtype, l.shape())?,
            };
            return Ok(OutView::Staged(copy, l.clone()));
        }
        // SAFETY: each arm's `T` is the layout's dtype; the rest is this function's contract.
        Ok(unsafe {
            match l.dtype {
                DType::Bool => OutView::Bool(l.view_mut()),
                DType::Int32 => OutView::Int32(l.view_mut()),
                DType::Int64 => OutView::Int64(l.view_mut()),
                DType::Float32 => OutView::Float32(l.view_mut()),
                DType::Float64 => OutView::Float64(l.view_mut()),
                DType::Complex64 => OutView::Complex64(l.view_mut()),
                DType::Complex128 => OutView::Complex128(l.view_mut()),
                DType::Bytes(_) => unreachable!("`layout` refuses bytes outputs"),
            }
        })
    }

    fn bind<'v>(&'v mut self, vars: Vars<'v>, name: &str) -> Vars<'v> {
        match self {
            OutView::Bool(a) => vars.with_out(name, a),
            OutView::Int32(a) => vars.with_out(name, a),
            OutView::Int64(a) => vars.with_out(name, a),
            OutView::Float32(a) => vars.with_out(name, a),
            OutView::Float64(a) => vars.with_out(name, a),
            OutView::Complex64(a) => vars.with_out(name, a),
            OutView::Complex128(a) => vars.with_out(name, a),
            OutView::Staged(copy, _) => vars.with_out(name, copy),
        }
    }

    /// Copies a staged output into the caller's misaligned array (nothing to do for the others,
    /// which numjit wrote in place). Called once the call has succeeded.
    ///
    /// # Safety
    /// The array is writable and nobody else reads or writes it during the call (the contract
    /// of [`OutView::new`]).
    pub unsafe fn write_back(&self) {
        let OutView::Staged(copy, l) = self else {
            return;
        };
        // SAFETY: each arm's `T` is the layout's dtype (the copy was read with it); the rest is
        // this function's contract.
        unsafe {
            match copy {
                Array::Bool(a) => l.write_back(a),
                Array::Int32(a) => l.write_back(a),
                Array::Int64(a) => l.write_back(a),
                Array::Float32(a) => l.write_back(a),
                Array::Float64(a) => l.write_back(a),
                Array::Complex64(a) => l.write_back(a),
                Array::Complex128(a) => l.write_back(a),
            }
        }
    }

    /// `kernel.eval_into` with this view as the output (written back when staged).
    pub fn eval_into(&mut self, kernel: &Kernel, vars: &Vars) -> Result<()> {
        match self {
            OutView::Bool(a) => kernel.eval_into(vars, a),
            OutView::Int32(a) => kernel.eval_into(vars, a),
            OutView::Int64(a) => kernel.eval_into(vars, a),
            OutView::Float32(a) => kernel.eval_into(vars, a),
            OutView::Float64(a) => kernel.eval_into(vars, a),
            OutView::Complex64(a) => kernel.eval_into(vars, a),
            OutView::Complex128(a) => kernel.eval_into(vars, a),
            OutView::Staged(copy, _) => kernel.eval_into(vars, copy),
        }?;
        // SAFETY: `new`'s contract holds for the view's whole life.
        unsafe { self.write_back() };
        Ok(())
    }
}

/// The caller's named inputs (and, for `numjit_run`, outputs), checked and viewed. Bind them
/// with [`Inputs::vars`].
pub(super) struct Inputs<'a> {
    views: Vec<(&'a str, InputView<'a>)>,
    /// The addresses each input's elements occupy (what outputs must not overlap).
    bytes: Vec<std::ops::Range<usize>>,
    outputs: Vec<(&'a str, OutView<'a>)>,
    /// The arrays that lie in file mappings (`np.memmap`, a C program's `mmap`), registered
    /// for the call so the executor streams them as it does `numjit::npy` files.
    _files: Vec<Registration>,
}

impl<'a> Inputs<'a> {
    /// Checks `vars[..n]`: names non-NULL, UTF-8 and distinct; arrays valid.
    ///
    /// # Safety
    /// `vars` is NULL (only when `n` is 0) or points to `n` readable `numjit_var`s whose names
    /// and arrays satisfy their documented requirements for `'a`.
    pub unsafe fn new(vars: *const numjit_var, n: usize) -> Result<Inputs<'a>, Failure> {
        // SAFETY: NULL or `n` readable vars, by this function's contract.
        let vars = unsafe { guard::slice(vars, n, "`vars`") }?;
        let mut views: Vec<(&'a str, InputView<'a>)> = Vec::with_capacity(n);
        let mut bytes = Vec::with_capacity(n);
        for (i, var) in vars.iter().enumerate() {
            // SAFETY: NULL or NUL-terminated and unchanged for `'a`, by contract.
            let name = unsafe { guard::text(var.name, format_args!("`vars[{i}].name`")) }?;
            if views.iter().any(|(n, _)| *n == name) {
                return Err(Failure::invalid(format!(
                    "variable `{name}` is given twice"
                )));
            }
            // SAFETY: shape/strides NULL or `ndim` entries, by contract.
            let l = unsafe { layout(&Raw::from(&var.array), Subject::Variable(name), false) }?;
            // SAFETY: the memory holds valid elements of its dtype for `'a`, by contract.
            views.push((name, unsafe { InputView::new(&l) }?));
            bytes.push(l.bytes);
        }
        let files = bytes.iter().cloned().filter_map(register_if_file_mapped);
        Ok(Inputs {
            _files: files.collect(),
            views,
            bytes,
            outputs: Vec::new(),
        })
    }

    /// Inputs and writable outputs: names distinct across both, and no output's memory
    /// overlapping any other variable's (by address range: memory a program writes is reachable
    /// through one name only).
    ///
    /// # Safety
    /// As for [`Inputs::new`], and `outputs` is NULL (only when `m` is 0) or points to `m`
    /// readable `numjit_var_mut`s whose arrays are writable and used by nobody else for `'a`.
    pub unsafe fn with_outputs(
        vars: *const numjit_var,
        n: usize,
        outputs: *const numjit_var_mut,
        m: usize,
    ) -> Result<Inputs<'a>, Failure> {
        // SAFETY: this function's contract includes `Inputs::new`'s.
        let mut inputs = unsafe { Inputs::new(vars, n) }?;
        // SAFETY: NULL or `m` readable vars, by this function's contract.
        let outs = unsafe { guard::slice(outputs, m, "`outputs`") }?;
        // Every variable's address range, to check the outputs against.
        let mut ranges: Vec<(&'a str, std::ops::Range<usize>)> = (inputs.views.iter())
            .map(|(name, _)| *name)
            .zip(inputs.bytes.iter().cloned())
            .collect();
        for (i, var) in outs.iter().enumerate() {
            // SAFETY: NULL or NUL-terminated and unchanged for `'a`, by contract.
            let name = unsafe { guard::text(var.name, format_args!("`outputs[{i}].name`")) }?;
            if ranges.iter().any(|(n, _)| *n == name) {
                return Err(Failure::invalid(format!(
                    "variable `{name}` is given twice"
                )));
            }
            // SAFETY: shape/strides NULL or `ndim` entries, by contract.
            let l = unsafe { layout(&Raw::from(&var.array), Subject::Written(name), true) }?;
            let clash = ranges
                .iter()
                .find(|(_, r)| r.start < l.bytes.end && l.bytes.start < r.end);
            if let Some((other, _)) = clash {
                return Err(Failure::invalid(format!(
                    "output `{name}` overlaps the memory of `{other}`; pass memory a program \
                     writes under one name only"
                )));
            }
            ranges.push((name, l.bytes.clone()));
            inputs.stream(l.bytes.clone());
            // SAFETY: writable, valid and unshared for `'a`, by contract.
            inputs
                .outputs
                .push((name, unsafe { OutView::new(&l, true) }?));
        }
        Ok(inputs)
    }

    /// Streams the memory `bytes` (an output) during the call if it lies in a file mapping.
    pub fn stream(&mut self, bytes: std::ops::Range<usize>) {
        self._files.extend(register_if_file_mapped(bytes));
    }

    /// Copies the staged outputs (misaligned arrays) into the caller's arrays: call it once a
    /// program has run successfully.
    pub fn write_back(&self) {
        for (_, view) in &self.outputs {
            // SAFETY: `with_outputs`' contract holds for the views' whole life.
            unsafe { view.write_back() };
        }
    }

    /// The inputs (and outputs) as [`Vars`] for the engine.
    pub fn vars(&mut self) -> Vars<'_> {
        let mut vars = Vars::new();
        for (name, view) in &self.views {
            view.bind(&mut vars, name);
        }
        for (name, view) in &mut self.outputs {
            vars = view.bind(vars, name);
        }
        vars
    }
}
