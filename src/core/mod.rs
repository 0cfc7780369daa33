//! The bottom layer, which every stage uses and which uses none of them: dtypes and NumPy's
//! promotion rules (`dtype`), errors with spans (`error`), shapes, broadcasting and strides
//! (`shape`), basic indexing of views (`index`), the dtype-erased view (`view`), allocation on huge pages (`alloc`), deep recursion on the heap (`stack`), and the window of a distributed evaluation (`window`).

pub mod alloc;
pub(crate) mod dtype;
pub(crate) mod error;
pub(crate) mod index;
pub(crate) mod shape;
pub(crate) mod stack;
pub(crate) mod view;
pub(crate) mod window;
