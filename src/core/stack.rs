//! Deep recursion on the heap: passes that recurse along a program's chain of statements
//! (`t = t + 1` 10⁴ times is a chain of 10⁴ nodes) continue on fresh stack segments instead of
//! overflowing the caller's thread.

/// Stack left below which [`deep`] continues on a fresh segment: several frames of any of its
/// callers and the deepest non-recursive call below them (an inlined kernel) fit in it.
const RED_ZONE: usize = 256 << 10;
/// The size of each fresh segment.
const SEGMENT: usize = 4 << 20;

/// Runs `f`, on a fresh stack segment when less than [`RED_ZONE`] is left (a few nanoseconds
/// otherwise). Call it at the head of a function that recurses as deep as its input.
pub(crate) fn deep<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(RED_ZONE, SEGMENT, f)
}
