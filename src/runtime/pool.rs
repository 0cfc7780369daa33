//! numjit's own rayon pool: created on first use (never at load time), sized by
//! `NUMJIT_NUM_THREADS` or the core count, resizable with [`set_num_threads`].

use std::sync::{Arc, RwLock};

use rayon::{ThreadPool, ThreadPoolBuilder};

static POOL: RwLock<Option<Arc<ThreadPool>>> = RwLock::new(None);

fn default_threads() -> usize {
    std::env::var("NUMJIT_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn build(threads: usize) -> Arc<ThreadPool> {
    let pool = ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("numjit-worker-{i}"))
        .build()
        .unwrap_or_else(|_| {
            // Spawning threads failed (resource limits): a 1-thread pool still computes correctly.
            ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .expect("a one-thread pool")
        });
    Arc::new(pool)
}

/// The pool, created on first use.
pub(crate) fn pool() -> Arc<ThreadPool> {
    if let Some(p) = POOL.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
        return p.clone();
    }
    let mut slot = POOL.write().unwrap_or_else(|e| e.into_inner());
    slot.get_or_insert_with(|| build(default_threads())).clone()
}

/// Sets the number of worker threads used by later evaluations (at least 1) and returns the
/// previous number. Evaluations already running finish on the old pool.
///
/// ```
/// let before = numjit::set_num_threads(1);
/// assert_eq!(numjit::num_threads(), 1);
/// numjit::set_num_threads(before);
/// ```
pub fn set_num_threads(n: usize) -> usize {
    let previous = num_threads();
    *POOL.write().unwrap_or_else(|e| e.into_inner()) = Some(build(n.max(1)));
    previous
}

/// The number of worker threads evaluations use.
///
/// ```
/// assert!(numjit::num_threads() >= 1);
/// ```
pub fn num_threads() -> usize {
    pool().current_num_threads()
}
