//! `.npy` files as arrays, memory-mapped: evaluate over files larger than RAM in one call.
//!
//! [`open`] maps an existing file read-only as an input (bind it with [`Vars::with`]);
//! [`create`] makes a new file of a shape and dtype as an output (bind it with
//! [`Vars::with_out`] or pass it to [`Kernel::eval_into`]), written beside its path and renamed
//! into place by [`Output::finish`] only. While a mapped file takes part in an evaluation, the
//! executor walks it in the order it is stored, releases the pages it has passed and reads
//! ahead (see `exec/stream.rs`), so the resident set stays bounded whatever the file's size.
//! Results are bit for bit those of the same data in memory in the file's order: for a
//! C-ordered file, the same array in memory; for a Fortran-ordered one, which is read front to
//! back too, its transpose in C order (a reduction's pairwise tree follows the storage order,
//! as NumPy's does).
//!
//! ```
//! use numjit::{npy, DType, Vars};
//! let dir = std::env::temp_dir().join(format!("numjit-npy-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! // A 1000 × 300 float64 file, filled by an expression streamed to disk.
//! let mut m = npy::create(dir.join("m.npy"), DType::Float64, &[1000, 300])?;
//! let vars = Vars::new().with("i", 1000_i64).with("j", 300_i64);
//! numjit::Engine::default()
//!     .compile("arange(i)[:, None] * 1.0 + arange(j)[None, :]", &vars.signature())?
//!     .eval_into(&vars, &mut m)?;
//! m.finish()?;
//! // Read it back mapped: the mean and the per-column means, one call each.
//! let m = npy::open(dir.join("m.npy"))?;
//! let vars = Vars::new().with("m", &m);
//! assert_eq!(numjit::evaluate("mean(m)", &vars)?.as_f64().unwrap()[[]], 499.5 + 149.5);
//! assert_eq!(numjit::evaluate("mean(m, axis=0)", &vars)?.as_f64().unwrap()[[3]], 502.5);
//! # drop(m); std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What remains unguarded: a file truncated by another process while it is mapped makes the
//! next read of the lost pages raise `SIGBUS` (the mapping cannot know); [`create`] reserves
//! the output's blocks up front, so a full disk is an error there rather than mid-evaluation,
//! where the file system supports it.
//!
//! [`Vars::with`]: crate::Vars::with
//! [`Vars::with_out`]: crate::Vars::with_out
//! [`Kernel::eval_into`]: crate::Kernel::eval_into

mod create;
mod open;

pub use create::{create, Output};
pub use open::{open, File};

use std::path::Path;

use crate::core::error::{Error, ErrorKind};

/// A `file` error naming `path`.
fn error(path: &Path, message: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::File, format!("`{}`: {message}", path.display()))
}
