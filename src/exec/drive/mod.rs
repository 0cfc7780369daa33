//! Runs a kernel over an iteration space: chunking, threads, and deterministic reductions.
//!
//! Elementwise: the (collapsed) space is cut into work items of about [`CHUNK`] elements, run in
//! parallel. Reductions: every output element reduces its values through a fixed pairwise tree
//! whose leaves are blocks of [`BLOCK`] consecutive elements (each summed by the kernel with eight
//! accumulators, NumPy's pairwise base case). The tree depends only on the shape, never on the
//! thread count, so results are bit-identical for any number of threads; threads only decide who
//! computes which subtree. A column reduction of one row block per tile can run the map stage
//! after it on each finished tile ([`Epilogue`]), straight into the final result.
//!
//! This file: maps and plain copies, the work items and kernel calls; `rows.rs` row reductions,
//! `columns.rs` column reductions, `tree.rs` the pairwise tree and how partials combine.

mod columns;
mod rows;
mod tree;

use super::layout::Space;
use super::per_operand::PerOperand;
use crate::core::shape::Strides;
use std::cell::RefCell;

use crate::codegen::{KernelFn, StageKernel};
use columns::ColumnLayout;
pub(crate) use rows::{walk, Epilogue, Reduction, Walk};
pub(crate) use tree::Acc;
use tree::Tree;

/// Elements per parallel work item: large enough that a kernel call's fixed cost vanishes, small enough (128 KiB of f64) to balance 2–8 threads on 10⁶-element arrays.
pub(crate) const CHUNK: usize = 16 * 1024;

/// Below this many elements an evaluation stays on the calling thread: waking the pool costs
/// a few microseconds, more than computing this many elements.
pub(crate) const SERIAL_CUTOFF: usize = 64 * 1024;

/// Elements per reduction leaf: NumPy's pairwise-summation block.
pub(crate) const BLOCK: usize = 128;

/// Leaves computed per kernel call in a reduction (their partials live on the stack). The tree's
/// shape does not depend on it (a batch combines its partials by the same midpoint rule). On
/// P11's row sums (10⁴ elements a row, 1 thread, AMD EPYC Zen 4) 16 and 32 ran alike and 128, one
/// batch a row, 1.15x as long.
const LEAF_BATCH: usize = 32;

/// Operand base addresses, shareable with worker threads.
///
/// Stored as integers: the pointees are arrays the caller keeps borrowed for the whole call, and
/// each work item touches a disjoint part of the output, so sharing the addresses is sound.
#[derive(Clone)]
pub(crate) struct Bases(pub Vec<usize>);

thread_local! {
    /// Per-thread scratch for block-staged kernels, grown to the largest stage's need.
    static SCRATCH: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// Calls `kernel` on an `n0 × n1` box.
fn call(kernel: &StageKernel, n0: usize, n1: usize, ptrs: &[usize], strides: &[i64]) {
    call_fn(kernel.f, kernel.scratch_bytes, n0, n1, ptrs, strides)
}

/// The last-level cache's size in bytes (`/sys`'s `cpu0/cache/index3`, read once), `None`
/// where the system does not say.
fn last_level_cache() -> Option<usize> {
    static LLC: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    *LLC.get_or_init(|| {
        let text =
            std::fs::read_to_string("/sys/devices/system/cpu/cpu0/cache/index3/size").ok()?;
        let text = text.trim();
        let (digits, unit) = match text.strip_suffix(['K', 'M', 'G']) {
            Some(d) => (d, &text[d.len()..]),
            None => (text, ""),
        };
        let shift = match unit {
            "K" => 10,
            "M" => 20,
            "G" => 30,
            _ => 0,
        };
        digits.parse::<usize>().ok().map(|n| n << shift)
    })
}

#[cfg(test)]
thread_local! {
    /// Tests: every map with a streaming kernel streams, whatever its size.
    pub(crate) static ALWAYS_STREAM: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// True when a map writing `out_bytes` of outputs, none of which it reads, should store them
/// with its streaming kernel: they are larger than the last-level cache, so no later reader
/// finds them there anyway, and skipping the read of each output line a store would fetch
/// first saves a third of a copy's traffic. (`RESULTS-llvm-ntstore.md`.)
pub(crate) fn streams(out_bytes: usize) -> bool {
    #[cfg(test)]
    if ALWAYS_STREAM.with(|a| a.get()) {
        return true;
    }
    last_level_cache().is_some_and(|llc| out_bytes > llc)
}

/// Calls the kernel function `f`, which needs `scratch_bytes` of scratch, on an `n0 × n1` box.
fn call_fn(
    f: KernelFn,
    scratch_bytes: usize,
    n0: usize,
    n1: usize,
    ptrs: &[usize],
    strides: &[i64],
) {
    debug_assert_eq!(ptrs.len() * 2, strides.len());
    // Between chunks: a cancelled evaluation computes nothing more (its output is discarded).
    if super::cancel::is_cancelled() {
        return;
    }
    SCRATCH.with(|cell| {
        let mut buf = cell.borrow_mut();
        // u64 words plus 8 spare: room to round the start up to a 64-byte boundary.
        let words = scratch_bytes.div_ceil(8) + 8;
        if buf.len() < words {
            buf.resize(words, 0);
        }
        let aligned = (buf.as_mut_ptr() as usize).next_multiple_of(64) as *mut u8;
        // SAFETY: `ptrs` hold one address per operand of the kernel's stage and `strides` two
        // byte steps per operand; the runtime derived both from live arrays whose extents contain
        // every element of the box, and the output elements of distinct calls never overlap.
        // `aligned` starts `scratch_bytes` bytes of this thread's scratch, which no other call
        // uses meanwhile (kernels never call back into the runtime). The cancel flag is live
        // for the whole evaluation (`cancel::observing`).
        unsafe {
            f(
                n0 as i64,
                n1 as i64,
                ptrs.as_ptr() as *const *mut u8,
                strides.as_ptr(),
                aligned,
                super::cancel::flag(),
            )
        }
    });
    // File-backed operands drop the pages this call has passed (one load when there are none).
    super::stream::passed(n0, n1, ptrs, strides);
}

/// Offsets of the element with flat index `flat` in the dimensions `dims` (C order), per operand.
fn offsets(flat: usize, dims: &[usize], strides: &[Strides], out: &mut [isize]) {
    out.iter_mut().for_each(|o| *o = 0);
    let mut rest = flat;
    for d in (0..dims.len()).rev() {
        let i = rest % dims[d];
        rest /= dims[d];
        for (o, s) in out.iter_mut().zip(strides) {
            *o += i as isize * s[d];
        }
    }
}

fn shifted(bases: &[usize], offsets: &[isize]) -> PerOperand<usize> {
    let mut out = PerOperand::zeroed(bases.len());
    for ((p, b), o) in out.iter_mut().zip(bases).zip(offsets) {
        *p = (*b as isize + o) as usize;
    }
    out
}

/// Runs an elementwise (or one-block-per-row reduction) kernel over `space`, whose last
/// dimension is the kernel's inner loop and second-to-last its outer loop; with `stream`, its
/// streaming kernel where it has one.
pub(crate) fn run_map(
    kernel: &StageKernel,
    space: &Space,
    bases: &Bases,
    split_inner: bool,
    parallel: bool,
    stream: bool,
) {
    let f = kernel.streaming.filter(|_| stream).unwrap_or(kernel.f);
    // The kernel's two loops take the last two dimensions; a missing one has extent 1 (stride 0).
    let r = space.dims.len();
    let dim = |back: usize| if r >= back { space.dims[r - back] } else { 1 };
    let stride = |s: &[isize], back: usize| if r >= back { s[r - back] as i64 } else { 0 };
    let (mid, inner) = (dim(2), dim(1));
    let outer = r.saturating_sub(2);
    let outer_dims = &space.dims[..outer];
    let outer_strides: Vec<Strides> = space.strides.iter().map(|s| s[..outer].into()).collect();
    let n_outer: usize = outer_dims.iter().product();
    if n_outer * mid * inner == 0 {
        return;
    }
    let strides: Vec<i64> = space
        .strides
        .iter()
        .flat_map(|s| [stride(s, 2), stride(s, 1)])
        .collect();
    // A work item is (outer index, rows m0..m1, columns j0..j1).
    let (rows_per, cols_per) = if split_inner && inner >= CHUNK {
        (1, CHUNK)
    } else {
        ((CHUNK / inner).max(1), inner)
    };
    let (rows_per, row_pieces) = if cols_per == inner {
        even_pieces(mid, rows_per, super::pool::threads_for(parallel))
    } else {
        (rows_per, mid.div_ceil(rows_per))
    };
    let col_pieces = inner.div_ceil(cols_per);
    let items = n_outer * row_pieces * col_pieces;
    let run = |item: usize| {
        let (outer, rest) = (
            item / (row_pieces * col_pieces),
            item % (row_pieces * col_pieces),
        );
        let (m0, j0) = (
            (rest / col_pieces) * rows_per,
            (rest % col_pieces) * cols_per,
        );
        let (rows, cols) = (rows_per.min(mid - m0), cols_per.min(inner - j0));
        let mut off = PerOperand::zeroed(bases.0.len());
        offsets(outer, outer_dims, &outer_strides, &mut off);
        for (k, o) in off.iter_mut().enumerate() {
            *o += m0 as isize * strides[2 * k] as isize + j0 as isize * strides[2 * k + 1] as isize;
        }
        let ptrs = shifted(&bases.0, &off);
        call_fn(f, kernel.scratch_bytes, rows, cols, &ptrs, &strides);
    };
    if parallel && items > 1 {
        let over_a_file = super::stream::any_mapped(&bases.0);
        super::pool::for_each_item_over(items, over_a_file, &run);
    } else {
        (0..items).for_each(run);
    }
}

/// How `rows` rows split into work items of at most `at_most` rows each: as few pieces as
/// that allows, rounded up to a multiple of `threads`, of equal size (within a row). Returns
/// rows per piece and pieces.
///
/// A time loop's step is one short map, and a thread that finishes its share first waits for
/// the other at the end of every step. P5 (299 rows of 299, 2 threads) ran pieces of 54 rows
/// and a last of 29, 162 rows against 137 when the threads start together; 6 pieces of 50
/// rows took 4–5 % less time a run on both tiers (Intel Xeon, medians of 5 runs alternated:
/// LLVM 306 against 321 ms, Cranelift 421 against 441 ms).
fn even_pieces(rows: usize, at_most: usize, threads: usize) -> (usize, usize) {
    let mut pieces = rows.div_ceil(at_most.max(1));
    if pieces > 1 {
        pieces = pieces.next_multiple_of(threads.max(1)).min(rows);
    }
    let per = rows.div_ceil(pieces.max(1)).max(1);
    (per, rows.div_ceil(per))
}

/// Copies `bytes` bytes from address `src` to address `dst` (which may be the same memory,
/// never partly overlapping), in one contiguous piece per thread when `parallel`.
///
/// # Safety
/// `src` must be readable and `dst` writable for `bytes` bytes.
pub(crate) unsafe fn run_copy(dst: usize, src: usize, bytes: usize, parallel: bool) {
    let copy = |at: usize, n: usize| {
        // SAFETY: the caller vouches for both ranges; `ptr::copy` allows `dst == src`.
        unsafe { std::ptr::copy((src + at) as *const u8, (dst + at) as *mut u8, n) };
        super::stream::copied(dst + at, src + at, n);
    };
    let threads = super::pool::threads_for(parallel);
    // Cache-line multiples, so no line is written by two threads.
    let mut piece = bytes.div_ceil(threads).next_multiple_of(64).max(64);
    let over_a_file = super::stream::any_mapped(&[dst, src]);
    if over_a_file {
        // A file copied in one piece per thread would be resident whole before the
        // release-behind hook sees it.
        piece = piece.min(super::stream::PIECE);
    }
    let pieces = bytes.div_ceil(piece);
    let run = |i: usize| copy(i * piece, piece.min(bytes - i * piece));
    if pieces <= 1 {
        copy(0, bytes)
    } else if threads == 1 {
        (0..pieces).for_each(run)
    } else {
        super::pool::for_each_item_over(pieces, over_a_file, &run)
    }
}

#[cfg(test)]
mod tests {
    use super::columns::{
        column_tile, column_tree, forked_column_tree, MAX_COLUMN_TILE, MIN_COLUMN_TILE,
    };
    use super::*;
    use crate::ops::ReduceOp;

    #[test]
    fn pieces_are_even_and_shared_evenly_by_the_threads() {
        // P5 at 2 threads: six pieces of 50 rows (the last 49), not five of 54 and one of 29.
        assert_eq!(even_pieces(299, 54, 2), (50, 6));
        // Five pieces' worth of rows at 2 threads: six, of equal size.
        assert_eq!(even_pieces(250, 54, 2), (42, 6));
        assert_eq!(even_pieces(250, 54, 1), (50, 5));
        // One piece stays one; never more pieces than rows; no rows, no pieces.
        assert_eq!(even_pieces(10, 54, 2), (10, 1));
        assert_eq!(even_pieces(3, 1, 2), (1, 3));
        assert_eq!(even_pieces(0, 54, 2), (1, 0));
    }

    #[test]
    fn copies_split_across_threads_write_every_byte_once() {
        for bytes in [0, 1, 63, 64, 65, 1000, 200_003] {
            let src: Vec<u8> = (0..bytes).map(|i| (i * 7 + 1) as u8).collect();
            for parallel in [false, true] {
                let mut dst = vec![0u8; bytes + 1];
                unsafe {
                    run_copy(
                        dst.as_mut_ptr() as usize,
                        src.as_ptr() as usize,
                        bytes,
                        parallel,
                    )
                };
                assert_eq!(
                    &dst[..bytes],
                    &src[..],
                    "{bytes} bytes, parallel: {parallel}"
                );
                assert_eq!(dst[bytes], 0, "nothing past the end");
            }
        }
    }

    #[test]
    fn column_tiles_are_wide_but_leave_every_thread_a_task() {
        assert_eq!(column_tile(10_000, 1, 1), 10_000);
        assert_eq!(column_tile(10_000, 1, 2), 5_000);
        assert_eq!(column_tile(100_000, 1, 2), MAX_COLUMN_TILE);
        assert_eq!(column_tile(4_000, 4_000, 8), 4_000);
        assert_eq!(column_tile(3_000, 1, 64), MIN_COLUMN_TILE);
        assert_eq!(column_tile(7, 1, 4), 7);
        assert_eq!(column_tile(0, 1, 1), 1);
    }

    #[test]
    fn column_blocks_combine_by_a_fixed_pairwise_tree() {
        let value = |block: usize, j: usize| (block * 10 + j) as f64 * 0.1;
        let mut computed = Vec::new();
        let mut leaf = |block: usize, row: &mut [f64]| {
            computed.push(block);
            for (j, v) in row.iter_mut().enumerate() {
                *v = value(block, j);
            }
        };
        let mut row = vec![f64::NAN; 3];
        column_tree(ReduceOp::Sum, 0, 5, &mut leaf, &mut row);
        assert_eq!(computed, [0, 1, 2, 3, 4]);
        for (j, v) in row.iter().enumerate() {
            let l = |b| value(b, j);
            let expected = (l(0) + l(1)) + (l(2) + (l(3) + l(4)));
            assert_eq!(v.to_bits(), expected.to_bits(), "column {j}");
        }
        // One block is the leaf itself.
        let mut one = vec![0.0; 2];
        column_tree(
            ReduceOp::Max,
            3,
            4,
            &mut |b, r: &mut [f64]| r.fill(b as f64),
            &mut one,
        );
        assert_eq!(one, [3.0, 3.0]);
    }

    #[test]
    fn a_forked_column_tree_is_the_same_tree() {
        // Values whose sums depend on the order, so that any other tree shows in the bits.
        let value = |block: usize, j: usize| {
            1.0 / (1.0 + (block * 7 + j) as f64) * 1e3_f64.powi((block % 5) as i32)
        };
        let computed = std::sync::Mutex::new(Vec::new());
        let leaf = |block: usize, row: &mut [f64], _ptrs: &mut Vec<usize>| {
            computed.lock().unwrap().push(block);
            for (j, v) in row.iter_mut().enumerate() {
                *v = value(block, j);
            }
        };
        for blocks in [2, 3, 7, 64, 101] {
            let mut serial = vec![0.0; 4];
            column_tree(
                ReduceOp::Sum,
                0,
                blocks,
                &mut |b, r| leaf(b, r, &mut Vec::new()),
                &mut serial,
            );
            for forks in [1, 2, 3, 7] {
                computed.lock().unwrap().clear();
                let mut forked = vec![f64::NAN; 4];
                forked_column_tree(
                    ReduceOp::Sum,
                    0,
                    blocks,
                    forks,
                    &leaf,
                    &mut Vec::new(),
                    &mut forked,
                );
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&forked),
                    bits(&serial),
                    "{blocks} blocks, {forks} forks"
                );
                let mut seen = computed.lock().unwrap().clone();
                seen.sort();
                assert_eq!(seen, (0..blocks).collect::<Vec<_>>(), "each block once");
            }
        }
    }
}
