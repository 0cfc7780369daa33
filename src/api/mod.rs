//! The Rust front end: [`Engine`](engine::Engine) and [`Kernel`](engine::Kernel) (compile through
//! the cache, evaluate, run), [`Vars`](vars::Vars) and [`Signature`](vars::Signature) (the caller's
//! arrays), [`Array`](array::Array) (results), and the kernel cache.

pub(crate) mod array;
pub(crate) mod cache;
pub(crate) mod cancel;
pub(crate) mod engine;
pub(crate) mod kernels;
pub(crate) mod sigint;
pub(crate) mod vars;
