//! Where the LLVM tier keeps the object files it compiles, so that a second process gets tier-2
//! code at once (Numba's `cache=True`): the directory, from [`set_object_cache_dir`] or else the
//! `NUMJIT_CACHE_DIR` environment variable (no cache when neither is set), and what the cache
//! did ([`object_cache_stats`]). The file format and its checks are in `llvm/cache.rs`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The directory set by [`set_object_cache_dir`]: `None` until set, then the setting (which may be
/// "no cache").
static DIR: Mutex<Option<Option<PathBuf>>> = Mutex::new(None);

/// Makes the LLVM tier cache the object files it compiles in `dir` (created when missing), or
/// cache nothing with `None`, from the next compile on. Overrides `NUMJIT_CACHE_DIR`.
///
/// An object is keyed by the whole LLVM module numjit builds for a kernel (so by its source,
/// operand dtypes and layouts) and by numjit's version, LLVM's version and the host CPU and its
/// features; a file that is truncated, corrupted or written for another key is ignored and
/// replaced by a fresh compile. The directory's objects are kept under `NUMJIT_CACHE_MAX_MB`
/// mebibytes (256 by default), the least recently used removed first. Without feature `llvm`
/// the setting has no effect.
///
/// The directory must be one only trusted users can write: a file there whose checks pass is
/// run as machine code (as with Numba's cache and Python's `__pycache__`).
///
/// ```
/// let dir = std::env::temp_dir().join("numjit-doc-cache");
/// numjit::set_object_cache_dir(Some(dir.clone()));
/// assert_eq!(numjit::object_cache_dir(), Some(dir));
/// numjit::set_object_cache_dir(None);
/// assert_eq!(numjit::object_cache_dir(), None);
/// ```
pub fn set_object_cache_dir(dir: Option<PathBuf>) {
    *DIR.lock().unwrap_or_else(|e| e.into_inner()) = Some(dir);
}

/// The LLVM tier's object cache directory now: the last [`set_object_cache_dir`], else
/// `NUMJIT_CACHE_DIR` when set and not empty, else none.
///
/// ```
/// numjit::set_object_cache_dir(None);
/// assert!(numjit::object_cache_dir().is_none());
/// ```
pub fn object_cache_dir() -> Option<PathBuf> {
    #[cfg(test)]
    if let Some(dir) = SCOPED.with(|s| s.borrow().clone()) {
        return Some(dir);
    }
    if let Some(setting) = DIR.lock().unwrap_or_else(|e| e.into_inner()).clone() {
        return setting;
    }
    std::env::var_os("NUMJIT_CACHE_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
}

/// What the LLVM tier's object cache has done in this process.
///
/// ```
/// let s = numjit::object_cache_stats();
/// assert!(s.hits + s.misses >= s.hits);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObjectCacheStats {
    /// Objects loaded from the cache (no LLVM compile).
    pub hits: u64,
    /// Compiles that found no file for their key.
    pub misses: u64,
    /// Files found but not used: truncated, corrupted, written for another key, or an object
    /// that did not link; each was compiled afresh and replaced.
    pub rejected: u64,
    /// Objects written to the cache.
    pub stored: u64,
    /// Objects that could not be written (the compile went on; the error is not raised).
    pub store_errors: u64,
}

/// The counts of [`ObjectCacheStats`] since the process started.
///
/// ```
/// let before = numjit::object_cache_stats();
/// assert!(numjit::object_cache_stats().misses >= before.misses);
/// ```
pub fn object_cache_stats() -> ObjectCacheStats {
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    ObjectCacheStats {
        hits: get(&COUNTS[0]),
        misses: get(&COUNTS[1]),
        rejected: get(&COUNTS[2]),
        stored: get(&COUNTS[3]),
        store_errors: get(&COUNTS[4]),
    }
}

/// One thing the cache did (counted in [`object_cache_stats`]).
#[cfg_attr(not(feature = "llvm"), allow(dead_code))]
#[derive(Debug, Clone, Copy)]
pub(crate) enum Event {
    Hit,
    Miss,
    Rejected,
    Stored,
    StoreError,
}

static COUNTS: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];

/// Counts `event`.
#[cfg_attr(not(feature = "llvm"), allow(dead_code))]
pub(crate) fn count(event: Event) {
    COUNTS[event as usize].fetch_add(1, Ordering::Relaxed);
    #[cfg(test)]
    HERE.with(|h| h.borrow_mut()[event as usize] += 1);
}

#[cfg(test)]
thread_local! {
    /// The counts of this thread's compiles alone, for tests running beside each other.
    static HERE: std::cell::RefCell<[u64; 5]> = const { std::cell::RefCell::new([0; 5]) };
}

/// [`object_cache_stats`] of this thread's compiles alone.
#[cfg(all(test, feature = "llvm"))]
pub(crate) fn thread_object_cache_stats() -> ObjectCacheStats {
    let c = HERE.with(|h| *h.borrow());
    ObjectCacheStats {
        hits: c[0],
        misses: c[1],
        rejected: c[2],
        stored: c[3],
        store_errors: c[4],
    }
}

#[cfg(test)]
thread_local! {
    /// A cache directory for this thread's compiles only (see [`scoped_dir`]): tests set one
    /// without touching the compiles of tests running beside them.
    static SCOPED: std::cell::RefCell<Option<PathBuf>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with `dir` as the cache directory of this thread's compiles.
#[cfg(all(test, feature = "llvm"))]
pub(crate) fn scoped_dir<T>(dir: &std::path::Path, f: impl FnOnce() -> T) -> T {
    let before = SCOPED.with(|s| s.replace(Some(dir.to_path_buf())));
    let out = f();
    SCOPED.with(|s| *s.borrow_mut() = before);
    out
}
