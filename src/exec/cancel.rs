//! The cancel flag an evaluation observes: the calling thread's, handed to the pool's workers
//! with each work item, read by the kernels at every loop trip and by the executor between
//! chunks and program loop iterations.
//!
//! A flag is a `u32` (nonzero: cancelled) that a [`crate::CancelToken`] owns; evaluations
//! outside a token's scope observe [`NEVER`], which stays zero.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::core::error::{Error, ErrorKind, Result};

/// The flag of evaluations no token covers.
static NEVER: AtomicU32 = AtomicU32::new(0);

thread_local! {
    /// The flag this thread's evaluations observe. It points at [`NEVER`] or at a flag that
    /// [`observing`] keeps alive until it restores the previous one.
    static FLAG: Cell<*const AtomicU32> = const { Cell::new(&NEVER) };
}

/// The flag the current thread observes, for the kernels' last argument.
pub(crate) fn flag() -> *const AtomicU32 {
    FLAG.with(Cell::get)
}

/// True once the evaluation running on this thread was cancelled.
pub(crate) fn is_cancelled() -> bool {
    // SAFETY: `FLAG` always points at a live flag (see `observing`).
    unsafe { (*flag()).load(Ordering::Relaxed) != 0 }
}

/// `Err(cancelled)` once the evaluation running on this thread was cancelled.
pub(crate) fn check() -> Result<()> {
    if is_cancelled() {
        Err(cancelled())
    } else {
        Ok(())
    }
}

/// The error of a cancelled evaluation.
pub(crate) fn cancelled() -> Error {
    Error::new(ErrorKind::Cancelled, "the evaluation was cancelled")
}

/// Runs `f` with this thread observing `flag` (the pointer the caller captured with [`flag`]
/// on the thread that started the evaluation), then restores what it observed before.
///
/// # Safety
/// `flag` must stay alive until `f` returns.
unsafe fn observing_raw<R>(flag: *const AtomicU32, f: impl FnOnce() -> R) -> R {
    struct Restore(*const AtomicU32);
    impl Drop for Restore {
        fn drop(&mut self) {
            FLAG.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(FLAG.with(|c| c.replace(flag)));
    f()
}

/// This thread's flag, to hand to the workers of a parallel call that waits for them (a
/// `rayon::join` or `install`): they [`enter`](Carried::enter) it around their part.
#[derive(Clone, Copy)]
pub(crate) struct Carried(usize);

/// The flag this thread observes, for its workers.
pub(crate) fn carried() -> Carried {
    Carried(flag() as usize)
}

impl Carried {
    /// Runs `f` observing the carried flag. The evaluation that carried it waits for this
    /// work (every parallel call of the drivers joins before returning), so the flag is live.
    pub(crate) fn enter<R>(self, f: impl FnOnce() -> R) -> R {
        // SAFETY: see above.
        unsafe { observing_raw(self.0 as *const AtomicU32, f) }
    }
}

/// Runs `f` with this thread's evaluations observing `flag`.
pub(crate) fn observing<R>(flag: &AtomicU32, f: impl FnOnce() -> R) -> R {
    // SAFETY: `flag` is borrowed for the whole call.
    unsafe { observing_raw(flag, f) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_observes_its_flag_and_restores_the_previous_one() {
        assert!(!is_cancelled());
        let outer = AtomicU32::new(0);
        let inner = AtomicU32::new(1);
        observing(&outer, || {
            assert!(check().is_ok());
            observing(&inner, || {
                assert_eq!(check().unwrap_err().kind(), ErrorKind::Cancelled)
            });
            assert!(!is_cancelled());
            outer.store(1, Ordering::Relaxed);
            assert!(is_cancelled());
        });
        assert!(!is_cancelled(), "outside every scope: never cancelled");
    }
}
