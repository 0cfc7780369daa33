//! numjit's own rayon pool: created on first use (never at load time), sized by
//! `NUMJIT_NUM_THREADS` or the core count, resizable with [`set_num_threads`]; and the two ways
//! work enters it besides rayon's own: [`for_each_item`] (a parallel map's chunks, with the
//! caller working too; [`for_each_item_over`]: the same, reading files forwards) and
//! [`on_pool`] (a program's time loop, run on a worker).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
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

/// The threads a piece of work shares: the pool's when it runs in `parallel`, else one.
pub(crate) fn threads_for(parallel: bool) -> usize {
    if parallel {
        num_threads()
    } else {
        1
    }
}

/// Runs `f` on one of the pool's threads while the caller waits, so that the evaluations `f`
/// makes fork from inside the pool.
///
/// `f` need not be `Send` (a program's state holds raw views): it runs entirely on that one
/// thread and the caller is blocked meanwhile, so what it borrows outlives it and nothing
/// else touches it.
pub(crate) fn on_pool<R>(f: impl FnOnce() -> R) -> R {
    struct Sent<T>(T);
    // SAFETY: see above: the value moves to the worker and back while its owner waits.
    unsafe impl<T> Send for Sent<T> {}
    impl<T> Sent<T> {
        // A method, so closures capture the whole `Sent` rather than its (unsendable) field.
        fn take(self) -> T {
            self.0
        }
    }
    let f = Sent(f);
    let flag = super::cancel::carried();
    pool()
        .install(move || flag.enter(|| Sent(f.take()())))
        .take()
}

/// Runs `run(i)` for every `i < items`, on the calling thread and the pool's workers together.
///
/// The caller starts at once, taking items from the front; workers join as they wake, taking
/// items from the back; at the end the caller spins until the items workers took are done.
/// A plain `install` instead hands everything to the pool and blocks the caller until a worker
/// wakes it, twice per call, and on this class of VM a wake-up costs a sizeable part of a whole
/// evaluation of 10⁶ elements (the P3 rows of `benches/course/RESULTS-session5.md`). Front and back keep each thread on the same
/// part of the array from one call to the next when the calls are alike (a time-stepping
/// loop), so that part stays in its core's cache.
pub(crate) fn for_each_item(items: usize, run: &(dyn Fn(usize) + Sync)) {
    let pool = pool();
    let helpers = pool.current_num_threads().min(items).saturating_sub(1);
    if helpers == 0 {
        return (0..items).for_each(run);
    }
    if items > u32::MAX as usize {
        // More items than the packed range holds (never from the drivers' chunking).
        let flag = super::cancel::carried();
        return pool.install(|| {
            use rayon::prelude::*;
            (0..items)
                .into_par_iter()
                .for_each(|i| flag.enter(|| run(i)))
        });
    }
    // SAFETY (lifetime): workers call `run` only for items they claimed, and the caller returns
    // only once every item is done, so no call outlives the borrow. A helper that starts later
    // finds no item left and touches only the shared counters, which the `Arc` keeps alive.
    let run: &'static (dyn Fn(usize) + Sync) = unsafe { std::mem::transmute(run) };
    let flag = super::cancel::carried();
    let shared = Arc::new(Items {
        range: AtomicU64::new((items as u64) << 32),
        done: AtomicUsize::new(0),
        panicked: AtomicBool::new(false),
        run,
        flag,
    });
    for _ in 0..helpers {
        let shared = shared.clone();
        pool.spawn(move || shared.work(false));
    }
    shared.work(true);
    let mut spins = 0u32;
    while shared.done.load(Ordering::Acquire) < items {
        spins += 1;
        if spins < 1 << 12 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
    if shared.panicked.load(Ordering::Relaxed) {
        panic!("a numjit worker panicked");
    }
}

/// [`for_each_item`], with every thread reading forwards when the items are work over a file
/// (`over_a_file`): the caller then walks the first half of the items from the front, the
/// workers the second half from its start (where [`for_each_item`]'s workers walk back from
/// the end), until they meet. The one place a map or a copy makes that choice.
///
/// Why over a file: a walk backwards defeats the kernel's readahead, which only follows
/// forward streams. P15's derived map (26 GB float64 file, larger than RAM, cache dropped, 2
/// threads, Intel Xeon VM): 23.0–23.2 s walking forwards against 26.3–27.0 s with one thread
/// walking back, with a third fewer page faults.
pub(crate) fn for_each_item_over(items: usize, over_a_file: bool, run: &(dyn Fn(usize) + Sync)) {
    if over_a_file {
        for_each_item(items, &|i| run(from_the_middle(items, i)))
    } else {
        for_each_item(items, run)
    }
}

/// The item that [`for_each_item`]'s `i` stands for in [`for_each_item_over`] a file: the first half
/// as it is, the second half reversed (so that taking from the back walks it forwards).
fn from_the_middle(items: usize, i: usize) -> usize {
    let half = items / 2;
    if i < half {
        i
    } else {
        half + (items - 1 - i)
    }
}

/// The work items of one [`for_each_item`] call.
struct Items {
    /// The items nobody has taken yet, `lo..hi`, as `lo | hi << 32`.
    range: AtomicU64,
    done: AtomicUsize,
    panicked: AtomicBool,
    run: &'static (dyn Fn(usize) + Sync),
    /// The caller's cancel flag, which workers observe too.
    flag: super::cancel::Carried,
}

impl Items {
    /// Takes the first (`front`) or last item left.
    fn take(&self, front: bool) -> Option<usize> {
        let mut range = self.range.load(Ordering::Relaxed);
        loop {
            let (lo, hi) = (range & 0xffff_ffff, range >> 32);
            if lo >= hi {
                return None;
            }
            let (taken, rest) = if front {
                (lo, (lo + 1) | (hi << 32))
            } else {
                (hi - 1, lo | ((hi - 1) << 32))
            };
            match self.range.compare_exchange_weak(
                range,
                rest,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(taken as usize),
                Err(now) => range = now,
            }
        }
    }

    fn work(&self, front: bool) {
        while let Some(i) = self.take(front) {
            let run = self.run;
            let item = || self.flag.enter(|| run(i));
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(item)).is_err() {
                self.panicked.store(true, Ordering::Relaxed);
            }
            // Release: the item's writes happen before the caller sees it done.
            self.done.fetch_add(1, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod item_tests {
    use super::*;

    #[test]
    fn every_item_runs_exactly_once() {
        for items in [0, 1, 2, 3, 64, 10_001] {
            let counts: Vec<AtomicUsize> = (0..items).map(|_| AtomicUsize::new(0)).collect();
            for_each_item(items, &|i| {
                counts[i].fetch_add(1, Ordering::Relaxed);
            });
            assert!(
                counts.iter().all(|c| c.load(Ordering::Relaxed) == 1),
                "{items} items"
            );
        }
    }

    #[test]
    fn walking_from_the_middle_takes_the_second_half_forwards() {
        for items in [1, 2, 3, 8, 101] {
            let mut seen: Vec<usize> = (0..items).map(|i| from_the_middle(items, i)).collect();
            // What workers taking items from the back meet: the second half in order.
            let back: Vec<usize> = seen[items / 2..].iter().rev().copied().collect();
            assert_eq!(
                back,
                (items / 2..items).collect::<Vec<_>>(),
                "{items} items"
            );
            seen.sort_unstable();
            assert_eq!(seen, (0..items).collect::<Vec<_>>(), "{items} items");
        }
        let counts: Vec<AtomicUsize> = (0..1001).map(|_| AtomicUsize::new(0)).collect();
        for_each_item_over(counts.len(), true, &|i| {
            counts[i].fetch_add(1, Ordering::Relaxed);
        });
        assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 1));
    }

    #[test]
    fn a_panicking_item_panics_the_caller_after_the_others_finish() {
        let done = AtomicUsize::new(0);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            for_each_item(100, &|i| {
                if i == 50 {
                    panic!("item 50");
                }
                done.fetch_add(1, Ordering::Relaxed);
            })
        }));
        assert!(result.is_err());
        if num_threads() > 1 {
            assert_eq!(done.load(Ordering::Relaxed), 99);
        }
    }
}
