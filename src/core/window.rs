//! The window of a distributed evaluation (`numjit::dist`): which rows along axis 0 of the
//! global arrays this evaluation computes, so that generators produce their part of the global
//! sequence (global indices, nothing allocated) and a root reduction can hand back its raw
//! accumulator for the ranks to combine.
//!
//! A thread-local, set around one evaluation on the calling thread: shape binding
//! (`shape::infer`) and the executor's operand set-up (`exec::Ctx::leaf_view`) both run there,
//! and nothing else reads it, so a plain evaluation never sees a window.

use std::cell::Cell;

/// Rows `offset..offset + len` of a global extent `global` along axis 0 of arrays of rank `rank`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    pub rank: usize,
    pub global: usize,
    pub offset: usize,
    pub len: usize,
    /// The root reduction returns its accumulator as it is (a mean not yet divided, a float32
    /// sum still in float64): the ranks combine accumulators, then finalize once.
    pub raw_root: bool,
}

thread_local! {
    static WINDOW: Cell<Option<Window>> = const { Cell::new(None) };
}

/// Runs `f` with `w` as this thread's window (restoring the previous one after, also on unwind).
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
pub(crate) fn with<R>(w: Window, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Window>);
    impl Drop for Restore {
        fn drop(&mut self) {
            WINDOW.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(WINDOW.with(|c| c.replace(Some(w))));
    f()
}

/// This thread's window, if a distributed evaluation is running on it.
pub(crate) fn current() -> Option<Window> {
    WINDOW.with(|c| c.get())
}

/// The window applies to an iota along `axis` of a node of rank `rank`: its axis lines up with
/// axis 0 of the distributed arrays (broadcasting aligns trailing axes).
pub(crate) fn windows_iota(w: &Window, axis: usize, rank: usize) -> bool {
    axis == 0 && rank == w.rank
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_scoped() {
        let w = Window {
            rank: 1,
            global: 10,
            offset: 4,
            len: 3,
            raw_root: false,
        };
        assert_eq!(current(), None);
        assert_eq!(with(w, current), Some(w));
        assert_eq!(current(), None);
        assert!(windows_iota(&w, 0, 1) && !windows_iota(&w, 0, 2));
    }
}
