//! The bottom layer, which every stage uses and which uses none of them: dtypes and NumPy's
//! promotion rules (`dtype`), errors with spans (`error`), shapes, broadcasting and strides
//! (`shape`), basic indexing of views (`index`), the dtype-erased view (`view`), and allocation on huge pages (`alloc`).

pub mod alloc;
pub(crate) mod dtype;
pub(crate) mod error;
pub(crate) mod index;
pub(crate) mod shape;
pub(crate) mod view;
