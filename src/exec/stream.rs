//! File-backed operands with bounded residency: the mappings `numjit::npy` registers (and the
//! caller's file mappings the C ABI finds in `/proc/self/maps` for one call: NumPy memmaps), the
//! operand whose storage order a walk follows ([`leading`]: a Fortran-ordered file is read front
//! to back), and the release-behind hook the drivers call after every kernel call.
//!
//! Why a hook on the drivers' progress rather than slab-wise evaluation: the drivers already
//! walk every operand in pieces whose order depends only on the shape (the pairwise tree's
//! leaves, the map's chunks), so dropping the pages a piece has passed changes no value and no
//! order — results stay bit for bit those of the same data in memory, at any thread count —
//! and every stage (maps, row, column and full reductions, programs) is covered at once.
//! Over a file, a map's and a copy's threads each take their items front to back
//! (`pool::for_each_item_over`): the kernel's readahead follows forward streams only.
//!
//! Each thread keeps, per mapping, the range its recent calls touched. When that range has
//! grown past [`RELEASE`], the part behind the current call is dropped from the page tables
//! (`MADV_DONTNEED`) and the range ahead is asked for ([`ahead`]: mapped in one call on a
//! read-only file, read ahead into the page cache on a new one). A range far from the last
//! one (a work item taken elsewhere) releases the old one whole. Dropping is always safe on
//! these mappings, and only ever done on them: they are shared file mappings, so a dropped page
//! is read back from the page cache or the file on the next touch, written data included
//! (the kernel moves a page's dirty bit to the page cache when it unmaps it). A page dropped
//! that another thread still reads costs that thread one fault, never a wrong value.
//!
//! What a thread holds resident is then at most [`RELEASE`] + [`GAP`] + the pages populated
//! ahead + one call per mapping it reads or writes (a column reduction's call over a file is
//! up to 128 whole rows, 41 MB for P15's 40 000 columns): measured +88 to +119 MiB of peak RSS
//! at 2 threads for files of 1 to 4 GiB (`tests/out_of_core.rs`, `examples/out_of_core.rs`),
//! whatever the files' sizes. The pending ranges left at the end of an evaluation stay below
//! that bound too.

use super::maps;
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::RwLock;

/// Bytes a thread lets pile up behind it in one mapping before dropping them: large enough
/// that one `madvise` (and the TLB shootdown it sends the other cores) serves thousands of
/// pages, small enough for the 256 MiB residency target at any thread count up to 8.
const RELEASE: usize = 8 << 20;

/// How far a call may land from the last one and still extend its range: the pool hands out
/// neighbouring chunks of a map to different threads, so one thread's calls skip a few chunks.
const GAP: usize = 4 << 20;

/// Bytes asked for ahead of the current call each time a range is released.
const AHEAD: usize = 8 << 20;

/// Bytes per piece of a plain copy (`memcpy`) from or to a file: a piece is one call for the
/// hook, so several fit in [`RELEASE`].
pub(crate) const PIECE: usize = 1 << 20;

/// Assumed page size for rounding (4 KiB on x86-64 and the usual aarch64 kernels; a larger
/// real page only makes the hints cover a little less).
const PAGE: usize = 4096;

/// Arrays smaller than this that come through the C ABI are not looked up in the process's
/// mappings: under [`RELEASE`] the hook never drops anything anyway.
pub(crate) const MIN_LOOKED_UP: usize = 16 << 20;

/// A registered mapping.
struct Region {
    start: usize,
    end: usize,
    writable: bool,
}

/// Mappings registered by `numjit::npy` (a handful at most; a list).
static REGIONS: RwLock<Vec<Region>> = RwLock::new(Vec::new());

/// How many mappings are registered: zero (the usual case) lets the drivers skip the hook with
/// one load.
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// A mapping the executor streams through; unregistered on drop, which must come before the
/// mapping itself is unmapped (the owner declares it first).
#[derive(Debug)]
pub(crate) struct Registration {
    start: usize,
    end: usize,
}

/// Registers the shared file mapping at `start..start + len` (a no-op for an empty one).
pub(crate) fn register(start: *const u8, len: usize, writable: bool) -> Registration {
    let start = start as usize;
    if len > 0 {
        let mut regions = REGIONS.write().unwrap_or_else(|e| e.into_inner());
        regions.push(Region {
            start,
            end: start + len,
            writable,
        });
        LIVE.fetch_add(1, Ordering::Release);
    }
    Registration {
        start,
        end: start + len,
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // Taking the write lock waits for every hook that may be advising this range.
        let mut regions = REGIONS.write().unwrap_or_else(|e| e.into_inner());
        let this = |r: &Region| (r.start, r.end) == (self.start, self.end);
        if let Some(i) = regions.iter().position(this) {
            regions.swap_remove(i);
            LIVE.fetch_sub(1, Ordering::Release);
        }
    }
}

/// Registers the caller's memory `range` (an array handed over through the C ABI, for one
/// call) when it lies in file mappings the hook may release ([`maps::file_mapped`]: shared
/// ones such as `np.memmap`, or private ones nobody can write). Found by asking the kernel,
/// which keeps the table exact (a caller's flag could be wrong or forgotten), and only for
/// arrays of [`MIN_LOOKED_UP`] bytes or more. `None` for memory that is anything else.
pub(crate) fn register_if_file_mapped(range: std::ops::Range<usize>) -> Option<Registration> {
    if range.len() < MIN_LOOKED_UP {
        return None;
    }
    let writable = maps::file_mapped(range.clone())?;
    Some(register(range.start as *const u8, range.len(), writable))
}

/// True when any of `addresses` lies in a registered mapping (a stage reads or writes a file).
pub(crate) fn any_mapped(addresses: &[usize]) -> bool {
    if LIVE.load(Ordering::Acquire) == 0 {
        return false;
    }
    let regions = REGIONS.read().unwrap_or_else(|e| e.into_inner());
    addresses
        .iter()
        .any(|&a| regions.iter().any(|r| r.start <= a && a < r.end))
}

/// Which of the operands at `addresses` the walk should follow in storage order: the first
/// that lies in a read-only mapping (an input file), else the first in a writable one (an
/// output file); `None` when none is a file (the usual case: one load).
pub(crate) fn leading(addresses: &[usize]) -> Option<usize> {
    if LIVE.load(Ordering::Acquire) == 0 {
        return None;
    }
    let regions = REGIONS.read().unwrap_or_else(|e| e.into_inner());
    let region = |a: usize| regions.iter().find(|r| r.start <= a && a < r.end);
    let mapped = |writable: bool| {
        addresses
            .iter()
            .position(|&a| region(a).is_some_and(|r| r.writable == writable))
    };
    mapped(false).or_else(|| mapped(true))
}

/// A thread's recent range in one mapping.
#[derive(Clone, Copy)]
struct Pending {
    region: usize,
    lo: usize,
    hi: usize,
}

thread_local! {
    /// One range per mapping this thread streams through (few: a list).
    static PENDING: RefCell<Vec<Pending>> = const { RefCell::new(Vec::new()) };
}

/// The hook after a kernel call on an `n0 × n1` box: `ptrs` one address per operand, `strides`
/// two byte steps per operand (as the kernels take them).
#[inline]
pub(crate) fn passed(n0: usize, n1: usize, ptrs: &[usize], strides: &[i64]) {
    if LIVE.load(Ordering::Relaxed) == 0 || n0 * n1 == 0 {
        return;
    }
    let extents = ptrs.iter().enumerate().map(|(k, &p)| {
        let span = |n: usize, s: i64| (n as i64 - 1) * s;
        let (a, b) = (span(n0, strides[2 * k]), span(n1, strides[2 * k + 1]));
        let lo = p as i64 + a.min(0) + b.min(0);
        // 8: the widest element, so the last element's bytes are inside.
        let hi = p as i64 + a.max(0) + b.max(0) + 8;
        (lo.max(0) as usize, hi.max(0) as usize)
    });
    touched(extents);
}

/// The hook after a plain copy of `bytes` bytes from `src` to `dst`.
pub(crate) fn copied(dst: usize, src: usize, bytes: usize) {
    if LIVE.load(Ordering::Relaxed) == 0 || bytes == 0 {
        return;
    }
    touched([(dst, dst + bytes), (src, src + bytes)].into_iter());
}

fn touched(extents: impl Iterator<Item = (usize, usize)>) {
    let regions = REGIONS.read().unwrap_or_else(|e| e.into_inner());
    PENDING.with(|cell| {
        let mut pending = cell.borrow_mut();
        // Ranges of mappings gone since (or of a mapping since replaced at the same address)
        // are forgotten, never advised: only registered mappings are.
        pending.retain(|p| regions.iter().any(|r| r.start == p.region));
        for (lo, hi) in extents {
            let Some(r) = regions.iter().find(|r| r.start <= lo && lo < r.end) else {
                continue;
            };
            let hi = hi.min(r.end);
            match pending.iter_mut().find(|p| p.region == r.start) {
                Some(p) => step(p, lo, hi, r),
                None => pending.push(Pending {
                    region: r.start,
                    lo,
                    hi,
                }),
            }
        }
    });
}

/// Extends `p` by the call's `lo..hi`, or releases what the call has left behind.
fn step(p: &mut Pending, lo: usize, hi: usize, r: &Region) {
    let near = lo <= p.hi + GAP && hi + GAP >= p.lo;
    if !near {
        let _ = advise(r, p.lo, p.hi, libc::MADV_DONTNEED);
        *p = Pending {
            region: p.region,
            lo,
            hi,
        };
        return;
    }
    p.lo = p.lo.min(lo);
    p.hi = p.hi.max(hi);
    if p.hi - p.lo < RELEASE {
        return;
    }
    // Keep the call's own pages; drop the side it came from, ask for the side it heads to.
    if lo - p.lo >= p.hi - hi {
        let _ = advise(r, p.lo, lo, libc::MADV_DONTNEED);
        ahead(r, hi, hi + AHEAD);
    } else {
        let _ = advise(r, hi, p.hi, libc::MADV_DONTNEED);
        ahead(r, lo.saturating_sub(AHEAD), lo);
    }
    p.lo = lo;
    p.hi = hi;
}

/// Asks for `lo..hi` of the read-only region `r` before the thread gets there: mapped now in
/// one call where the kernel can (`MADV_POPULATE_READ`, Linux 5.14: one system call instead of
/// a fault per 64 KiB), else read ahead into the page cache (`MADV_WILLNEED`). `sum(a)` over a
/// 4.3 GB file in the page cache (REPL `:time`, 2 threads, loaded machine, same bits): 1.6–2.0
/// s with readahead only, 1.0–1.7 s populated; over the same data in memory 0.23 s, the rest
/// being the page-table work every pass over a mapping pays. A writable region (a new file)
/// only gets the readahead: populating it would map its pages read-only first.
fn ahead(r: &Region, lo: usize, hi: usize) {
    #[cfg(target_os = "linux")]
    if !r.writable && advise(r, lo, hi, libc::MADV_POPULATE_READ) {
        return;
    }
    let _ = advise(r, lo, hi, libc::MADV_WILLNEED);
}

/// `madvise` on the whole pages of `lo..hi` within the region `r`; false if it failed.
///
/// The caller holds the registry's read lock, so `r` stays mapped meanwhile.
fn advise(r: &Region, lo: usize, hi: usize, advice: libc::c_int) -> bool {
    let lo = lo.max(r.start).next_multiple_of(PAGE);
    let hi = (hi.min(r.end) / PAGE) * PAGE;
    if hi <= lo {
        return true;
    }
    // SAFETY: `lo..hi` lies inside a registered shared file mapping that stays mapped while the
    // registry is read-locked. DONTNEED there loses no data (pages are read back from the page
    // cache or the file, written ones included) and WILLNEED only starts readahead; a failure
    // only means the hint was not taken.
    unsafe { libc::madvise(lo as *mut libc::c_void, hi - lo, advice) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_through_a_mapping_releases_what_it_passed() {
        let len = 64 << 20;
        let (path, file) = maps::temp_file("stream", len);
        let mut map = unsafe { memmap2::MmapMut::map_mut(&file).unwrap() };
        let p = map.as_mut_ptr();
        let reg = register(p, len, true);
        let chunk = 128 << 10;
        let mut peak = 0;
        for at in (0..len).step_by(chunk) {
            map[at..at + chunk].fill(1);
            // As a kernel call of one row of `chunk` bytes would report it.
            passed(1, chunk, &[p as usize + at], &[0, 1]);
            if (at / chunk) % 8 == 7 {
                peak = peak.max(resident_mapped(&map));
            }
        }
        assert!(peak <= (RELEASE + GAP + chunk) / PAGE + 2, "{peak} pages");
        drop(reg);
        // Nothing was lost: written pages come back from the page cache.
        assert!(map.iter().step_by(4096).all(|&b| b == 1));
        drop(map);
        std::fs::remove_file(&path).unwrap();
    }

    /// Pages of `map` in this process's page tables, from /proc/self/smaps' `Rss` of the range.
    fn resident_mapped(map: &memmap2::MmapMut) -> usize {
        let start = format!("{:x}-", map.as_ptr() as usize);
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut lines = smaps.lines().skip_while(|l| !l.starts_with(&start));
        lines
            .find_map(|l| l.strip_prefix("Rss:"))
            .map(|v| {
                v.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<usize>()
                    .unwrap()
                    / 4
            })
            .unwrap_or(0)
    }

    #[test]
    fn a_mapping_made_elsewhere_is_found_in_this_process() {
        let len = MIN_LOOKED_UP + (1 << 20);
        let (path, file) = maps::temp_file("lookup", len);
        let map = unsafe { memmap2::Mmap::map(&file).unwrap() };
        let p = map.as_ptr() as usize;
        let started = std::time::Instant::now();
        let found = register_if_file_mapped(p + 8..p + len);
        eprintln!("lookup: {:?}", started.elapsed());
        assert!(found.is_some());
        assert!(any_mapped(&[p + 4096]));
        drop(found);
        let v = vec![1u8; len];
        let range = v.as_ptr() as usize..v.as_ptr() as usize + len;
        assert!(register_if_file_mapped(range).is_none(), "heap memory");
        drop(map);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn unregistered_memory_is_never_advised() {
        let mut v = vec![7u8; 64 << 20];
        passed(1, v.len(), &[v.as_mut_ptr() as usize], &[0, 1]);
        assert!(v.iter().all(|&b| b == 7));
    }
}
