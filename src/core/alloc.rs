//! Arrays backed by transparent huge pages, as NumPy allocates them.
//!
//! NumPy asks Linux for 2 MiB pages (`madvise(MADV_HUGEPAGE)`) for every array of 4 MiB or more.
//! On this kind of VM it matters twice: a fresh page costs one fault instead of 512, and a
//! streaming loop over 4 KiB pages spends much of its time in TLB misses (measured on
//! `benches/course`: `sum(c, axis=1)` over 800 MB and a 10⁸-element copy, see the README). The
//! engine's own results are allocated this way; these functions give callers the same for their
//! inputs and preallocated outputs.

use ndarray::{Array, Dimension, ShapeBuilder};

use crate::core::dtype::Element;

/// An array of `shape` filled with `f(index)`, on huge pages when it is 4 MiB or more.
///
/// Like `ndarray::Array::from_shape_fn`, always C-ordered.
///
/// ```
/// let a = numjit::alloc::from_shape_fn((2, 3), |(i, j)| (i * 3 + j) as f64);
/// assert_eq!(a[[1, 2]], 5.0);
/// ```
pub fn from_shape_fn<T, D, Sh, F>(shape: Sh, mut f: F) -> Array<T, D>
where
    T: Element,
    D: Dimension,
    Sh: ShapeBuilder<Dim = D>,
    F: FnMut(D::Pattern) -> T,
{
    let dim = shape.into_shape_with_order().raw_dim().clone();
    let n = dim.size();
    let mut buf: Vec<T> = Vec::with_capacity(n);
    advise_huge_pages(buf.as_mut_ptr() as *mut u8, n * std::mem::size_of::<T>());
    // `indices` run in C order, the order `from_shape_vec` reads `buf` in.
    buf.extend(ndarray::indices(dim.clone()).into_iter().map(&mut f));
    Array::from_shape_vec(dim, buf).expect("buffer length equals the shape's size")
}

/// An array of `shape` filled with `value`, on huge pages when it is 4 MiB or more.
///
/// ```
/// let mut out = numjit::alloc::full(1000, 0.0_f64);
/// let a = ndarray::Array1::linspace(0.0, 1.0, 1000);
/// let vars = numjit::Vars::new().with("a", &a);
/// numjit::Engine::default().compile("2*a", &vars.signature())?.eval_into(&vars, &mut out)?;
/// assert_eq!(out[999], 2.0);
/// # Ok::<(), numjit::Error>(())
/// ```
pub fn full<T, D, Sh>(shape: Sh, value: T) -> Array<T, D>
where
    T: Element,
    D: Dimension,
    Sh: ShapeBuilder<Dim = D>,
{
    let dim = shape.into_shape_with_order().raw_dim().clone();
    let n = dim.size();
    let mut buf: Vec<T> = Vec::with_capacity(n);
    advise_huge_pages(buf.as_mut_ptr() as *mut u8, n * std::mem::size_of::<T>());
    buf.resize(n, value);
    Array::from_shape_vec(dim, buf).expect("buffer length equals the shape's size")
}

/// Asks the kernel to back a fresh allocation of 4 MiB or more with transparent huge pages,
/// before its first touch. Advice only: where it fails or THP is off, nothing changes.
pub(crate) fn advise_huge_pages(ptr: *mut u8, bytes: usize) {
    const HUGE: usize = 2 << 20;
    if bytes < 2 * HUGE {
        return;
    }
    let start = (ptr as usize).next_multiple_of(HUGE);
    let end = (ptr as usize + bytes) / HUGE * HUGE;
    if end > start {
        #[cfg(target_os = "linux")]
        {
            extern "C" {
                fn madvise(addr: *mut std::ffi::c_void, len: usize, advice: i32) -> i32;
            }
            const MADV_HUGEPAGE: i32 = 14;
            // SAFETY: `start..end` lies within the allocation the caller just made and owns;
            // madvise only changes how the kernel backs those pages, not their contents.
            unsafe { madvise(start as *mut std::ffi::c_void, end - start, MADV_HUGEPAGE) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_shape_fn_is_c_ordered_like_ndarray() {
        let ours = from_shape_fn((3, 4, 5), |(i, j, k)| (i * 100 + j * 10 + k) as i64);
        let theirs = Array::from_shape_fn((3, 4, 5), |(i, j, k)| (i * 100 + j * 10 + k) as i64);
        assert_eq!(ours, theirs);
        assert!(ours.is_standard_layout());
    }

    #[test]
    fn large_arrays_keep_their_contents() {
        // 8 MiB: large enough to be advised.
        let n = 1 << 20;
        let a = from_shape_fn(n, |i| i as f64);
        assert_eq!(a[n - 1], (n - 1) as f64);
        assert!(full((1024, 1024), 1.5_f32).iter().all(|&v| v == 1.5));
    }
}
