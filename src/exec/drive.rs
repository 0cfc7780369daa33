//! Runs a kernel over an iteration space: chunking, threads, and deterministic reductions.
//!
//! Elementwise: the (collapsed) space is cut into work items of about [`CHUNK`] elements, run in
//! parallel. Reductions: every output element reduces its values through a fixed pairwise tree
//! whose leaves are blocks of [`BLOCK`] consecutive elements (each summed by the kernel with eight
//! accumulators, NumPy's pairwise base case). The tree depends only on the shape, never on the
//! thread count, so results are bit-identical for any number of threads; threads only decide who
//! computes which subtree. A column reduction of one row block per tile can run the map stage
//! after it on each finished tile ([`Epilogue`]), straight into the final result.

use rayon::prelude::*;

use super::layout::Space;
use super::per_operand::PerOperand;
use crate::core::shape::Strides;
use std::cell::RefCell;

use crate::codegen::{KernelFn, StageKernel};
use crate::core::dtype::{DType, Element};
use crate::ops::{scalar::float, ReduceOp};

/// Elements per parallel work item: large enough that a kernel call's fixed cost vanishes, small enough (128 KiB of f64) to balance 2–8 threads on 10⁶-element arrays.
pub(crate) const CHUNK: usize = 16 * 1024;

/// Below this many elements an evaluation stays on the calling thread: waking the pool costs
/// a few microseconds, more than computing this many elements.
pub(crate) const SERIAL_CUTOFF: usize = 64 * 1024;

/// Elements per reduction leaf: NumPy's pairwise-summation block.
pub(crate) const BLOCK: usize = 128;

/// Leaves computed per kernel call in a reduction (their partials live on the stack).
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
        // uses meanwhile (kernels never call back into the runtime).
        unsafe {
            f(
                n0 as i64,
                n1 as i64,
                ptrs.as_ptr() as *const *mut u8,
                strides.as_ptr(),
                aligned,
            )
        }
    })
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
/// dimension is the kernel's inner loop and second-to-last its outer loop.
pub(crate) fn run_map(
    kernel: &StageKernel,
    space: &Space,
    bases: &Bases,
    split_inner: bool,
    parallel: bool,
) {
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
    let row_pieces = mid.div_ceil(rows_per);
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
        call(kernel, rows, cols, &shifted(&bases.0, &off), &strides);
    };
    if parallel && items > 1 {
        super::pool::for_each_item(items, &run);
    } else {
        (0..items).for_each(run);
    }
}

/// Copies `bytes` bytes from address `src` to address `dst` (which may be the same memory,
/// never partly overlapping), in one contiguous piece per thread when `parallel`.
///
/// # Safety
/// `src` must be readable and `dst` writable for `bytes` bytes.
pub(crate) unsafe fn run_copy(dst: usize, src: usize, bytes: usize, parallel: bool) {
    // SAFETY: the caller vouches for both ranges; `ptr::copy` allows `dst == src`.
    let copy = |at: usize, n: usize| unsafe {
        std::ptr::copy((src + at) as *const u8, (dst + at) as *mut u8, n)
    };
    let threads = if parallel {
        super::pool::num_threads()
    } else {
        1
    };
    // Cache-line multiples, so no line is written by two threads.
    let piece = bytes.div_ceil(threads).next_multiple_of(64);
    if threads == 1 || piece >= bytes {
        return copy(0, bytes);
    }
    super::pool::for_each_item(bytes.div_ceil(piece), &|i| {
        copy(i * piece, piece.min(bytes - i * piece))
    });
}

/// Accumulator element types and how partials combine (the same semantics as the kernels').
pub(crate) trait Acc: Element {
    fn combine(op: ReduceOp, a: Self, b: Self) -> Self;
}

macro_rules! acc_float {
    ($t:ty) => {
        impl Acc for $t {
            #[inline]
            fn combine(op: ReduceOp, a: $t, b: $t) -> $t {
                match op {
                    ReduceOp::Sum | ReduceOp::Mean => a + b,
                    ReduceOp::Prod => a * b,
                    ReduceOp::Min => float::minimum(a, b),
                    ReduceOp::Max => float::maximum(a, b),
                    ReduceOp::Any | ReduceOp::All => {
                        unreachable!("logical reductions accumulate bools")
                    }
                }
            }
        }
    };
}
acc_float!(f32);
acc_float!(f64);

macro_rules! acc_int {
    ($t:ty) => {
        impl Acc for $t {
            #[inline]
            fn combine(op: ReduceOp, a: $t, b: $t) -> $t {
                match op {
                    ReduceOp::Sum | ReduceOp::Mean => a.wrapping_add(b),
                    ReduceOp::Prod => a.wrapping_mul(b),
                    ReduceOp::Min => a.min(b),
                    ReduceOp::Max => a.max(b),
                    ReduceOp::Any | ReduceOp::All => {
                        unreachable!("logical reductions accumulate bools")
                    }
                }
            }
        }
    };
}
acc_int!(i32);
acc_int!(i64);

impl Acc for bool {
    fn combine(op: ReduceOp, a: bool, b: bool) -> bool {
        match op {
            ReduceOp::Any | ReduceOp::Max | ReduceOp::Sum => a | b,
            _ => a & b,
        }
    }
}

/// A reduction over `space`: operand 0 is the accumulator buffer (stride 0 along reduced
/// dimensions, pre-filled with the identity); `reduced[d]` marks the reduced dimensions.
///
/// With an [`Epilogue`] ([`Reduction::run_fused`]), operand 0 is instead the final result of the
/// map stage after the reduction (same shape as the reduction's, stride 0 along reduced
/// dimensions), written through the epilogue's kernel.
pub(crate) struct Reduction<'a> {
    pub kernel: &'a StageKernel,
    pub op: ReduceOp,
    pub acc: DType,
    pub space: &'a Space,
    pub reduced: &'a [bool],
    pub bases: &'a Bases,
    pub parallel: bool,
    pub epilogue: Option<&'a Epilogue<'a>>,
    /// Per operand, the element size of one that reads memory (None for the partials and for
    /// iotas): what a column reduction may pack (see [`Packed`]).
    pub element_sizes: &'a [Option<usize>],
}

/// The elementwise stage after a reduction (P10's `sqrt` of `sum((xi - xj)**2, axis=-1)`), run
/// on every finished tile of partials straight into the final result: the reduction's own
/// buffer (P10's 4000² distances) is never allocated, filled, nor read back.
///
/// The runtime only asks for it when the partials are the reduction's values (no finalizing:
/// not a mean, not a float32 sum accumulated in float64) and the map stage reads nothing else
/// but 0-d operands.
pub(crate) struct Epilogue<'a> {
    /// The map stage's kernel: operand 0 its output, operand `partial` the reduction's value.
    pub kernel: &'a StageKernel,
    /// The map kernel's operand addresses. Operands 0 and `partial` are set per tile; the others
    /// are 0-d (stride 0).
    pub ptrs: Vec<usize>,
    pub partial: usize,
}

impl Reduction<'_> {
    pub fn run(&self) {
        debug_assert!(
            self.epilogue.is_none(),
            "an epilogue runs through run_fused"
        );
        match self.acc {
            DType::Bool => self.run_typed::<bool>(),
            DType::Int32 => self.run_typed::<i32>(),
            DType::Int64 => self.run_typed::<i64>(),
            DType::Float32 => self.run_typed::<f32>(),
            DType::Float64 => self.run_typed::<f64>(),
        }
    }

    /// Runs the reduction and its epilogue into the final result when the reduction runs as a
    /// column reduction of one row block per tile (every short last axis, and a non-innermost
    /// axis of at most [`BLOCK`] elements), and returns true. Otherwise does nothing and
    /// returns false (the caller materializes the reduction and runs the map stage after it).
    ///
    /// The values are bit-identical to the unfused path's: the layout is the one the
    /// accumulator buffer would get (operand 0 takes part in collapsing the columns, and a
    /// C-ordered buffer never stops dimensions from merging that the result lets merge), the
    /// partials of a tile are folded by the same kernel calls, and the map kernel computes each
    /// element from its value alone.
    pub fn run_fused(&self) -> bool {
        match self.acc {
            DType::Bool => self.run_fused_typed::<bool>(),
            DType::Int32 => self.run_fused_typed::<i32>(),
            DType::Int64 => self.run_fused_typed::<i64>(),
            DType::Float32 => self.run_fused_typed::<f32>(),
            DType::Float64 => self.run_fused_typed::<f64>(),
        }
    }

    fn run_fused_typed<T: Acc>(&self) -> bool {
        debug_assert!(self.epilogue.is_some());
        let (Some(columns), Some(layout)) = (self.kernel.columns, self.column_layout()) else {
            return false;
        };
        // An empty reduced axis leaves identities, which the map stage must still see.
        if layout.rows == 0 || layout.rows > BLOCK {
            return false;
        }
        self.run_columns::<T>(columns, &layout);
        true
    }

    fn column_layout(&self) -> Option<ColumnLayout> {
        ColumnLayout::of(self.space, self.reduced)
            .or_else(|| ColumnLayout::short_last(self.space, self.reduced))
    }

    fn run_typed<T: Acc>(&self) {
        if let Some(columns) = self.kernel.columns {
            if let Some(layout) = self.column_layout() {
                return self.run_columns::<T>(columns, &layout);
            }
        }
        let n = self.space.dims.len();
        let kept_dims: Vec<usize> = (0..n).filter(|&d| !self.reduced[d]).collect();
        let red_dims: Vec<usize> = (0..n).filter(|&d| self.reduced[d]).collect();
        let kept = self.space.select(&kept_dims).collapse();
        let red = self.space.select(&red_dims).collapse().pad_to(1);
        if kept.size() == 0 || red.size() == 0 {
            return; // nothing to reduce, or only identities
        }
        let m = *red.dims.last().unwrap_or(&1);
        let leaves = red.size() / m * m.div_ceil(BLOCK);
        if leaves == 1 {
            // One block per output element: a map over the kept dimensions whose rows each
            // reduce `m` elements straight into their accumulator.
            let mut dims = kept.dims.clone();
            dims.push(m);
            let strides = kept
                .strides
                .iter()
                .zip(&red.strides)
                .map(|(k, r)| k.iter().chain(r.last()).copied().collect());
            let space = Space {
                dims,
                strides: strides.collect(),
            };
            run_map(self.kernel, &space, self.bases, false, self.parallel);
            return;
        }
        let tree = Tree::<T>::new(self, &red, m);
        let outputs = kept.size();
        let per_output = |i: usize, parallel: bool| {
            let mut off = PerOperand::zeroed(self.bases.0.len());
            offsets(i, &kept.dims, &kept.strides, &mut off);
            let bases = shifted(&self.bases.0, &off);
            let v = tree.reduce(&bases, 0, leaves, parallel);
            // SAFETY: operand 0 at this offset is this output's accumulator (f64-aligned buffer
            // owned by the runtime); each output index is written by exactly one task.
            unsafe { *(bases[0] as *mut T) = v };
        };
        let threads = if self.parallel {
            super::pool::num_threads()
        } else {
            1
        };
        if self.parallel && outputs >= 4 * threads {
            super::pool::pool().install(|| {
                (0..outputs)
                    .into_par_iter()
                    .for_each(|i| per_output(i, false))
            });
        } else if self.parallel {
            super::pool::pool().install(|| (0..outputs).for_each(|i| per_output(i, true)));
        } else {
            (0..outputs).for_each(|i| per_output(i, false));
        }
    }
}

/// A reduction over one axis `r` followed by dimensions that collapse into one (`post`):
/// rows of `post` are contiguous runs that a column kernel folds into a row of partials.
#[derive(Clone)]
struct ColumnLayout {
    /// Dimensions before the reduced one (each index is an independent task).
    pre: Space,
    rows: usize,
    /// Per-operand stride along the reduced axis.
    row_strides: Vec<isize>,
    /// Width and per-operand stride of the collapsed dimensions after it.
    width: usize,
    post_strides: Vec<isize>,
}

impl ColumnLayout {
    fn of(space: &Space, reduced: &[bool]) -> Option<ColumnLayout> {
        let r = reduced.iter().position(|&x| x)?;
        let n = space.dims.len();
        let post = space.select(&(r + 1..n).collect::<Vec<_>>()).collapse();
        if post.dims.len() != 1 {
            return None; // nothing after the axis, or not one contiguous run: the tree path
        }
        Some(ColumnLayout {
            pre: space.select(&(0..r).collect::<Vec<_>>()),
            rows: space.dims[r],
            row_strides: space.strides.iter().map(|s| s[r]).collect(),
            width: post.dims[0],
            post_strides: post.strides.iter().map(|s| s[0]).collect(),
        })
    }
}

/// The longest innermost reduced axis that runs as rows of a column reduction (P10's
/// `sum(..., axis=-1)` over 3 coordinates): below it, one kernel row per output element costs
/// more than the elements (an output's setup is about ten times the work of 3 elements: the
/// P10 rows of `bash benches/course/run.sh`).
const SHORT_AXIS: usize = 16;

impl ColumnLayout {
    /// A reduction over a short innermost axis, laid out as a column reduction: the reduced
    /// axis gives the rows and the last kept axis the columns (the outputs), so a kernel call
    /// folds a whole row of outputs per reduced element.
    fn short_last(space: &Space, reduced: &[bool]) -> Option<ColumnLayout> {
        let n = space.dims.len();
        let r = reduced.iter().position(|&x| x)?;
        if r + 1 != n || n < 2 || space.dims[r] > SHORT_AXIS || space.dims[n - 2] < SHORT_AXIS {
            return None;
        }
        let c = n - 2;
        Some(ColumnLayout {
            pre: space.select(&(0..c).collect::<Vec<_>>()),
            rows: space.dims[r],
            row_strides: space.strides.iter().map(|s| s[r]).collect(),
            width: space.dims[c],
            post_strides: space.strides.iter().map(|s| s[c]).collect(),
        })
    }
}

/// Columns per task of a column reduction, at most: a row of 16 Ki partials (128 KiB of f64)
/// stays in L2, and each block row is then one long contiguous run for the prefetchers (chosen
/// against 1 Ki-column tiles by the P11 axis-0 row of `bash benches/course/run.sh`).
const MAX_COLUMN_TILE: usize = 16 * 1024;

/// Columns per task, at least (unless the row is narrower).
const MIN_COLUMN_TILE: usize = 1024;

/// The tile width for `width` columns at `pre` independent positions: the widest up to
/// [`MAX_COLUMN_TILE`] that still gives every thread a task. Each column's sum is the same
/// whatever the tiles (its blocks and their tree do not depend on them).
fn column_tile(width: usize, pre: usize, threads: usize) -> usize {
    let mut tile = width.clamp(1, MAX_COLUMN_TILE);
    while tile > MIN_COLUMN_TILE && pre * width.div_ceil(tile) < threads {
        tile = tile.div_ceil(2).max(MIN_COLUMN_TILE);
    }
    tile
}

impl Reduction<'_> {
    /// Column reduction: for every tile of columns, blocks of [`BLOCK`] rows are folded
    /// sequentially into a row of partials, and the blocks' rows are combined by a fixed
    /// pairwise tree — deterministic at any thread count, and more accurate than summing
    /// every row in turn (NumPy's order for `axis=0`). The tile's row of results is then
    /// copied into the accumulator buffer, or run through the epilogue into the final result.
    fn run_columns<T: Acc>(&self, columns: KernelFn, l: &ColumnLayout) {
        if l.rows == 0 || l.width == 0 || l.pre.size() == 0 {
            return; // the accumulators keep their identities
        }
        let packed = Packed::of(l, &self.bases.0, self.element_sizes);
        let (l, bases) = (&packed.layout, &packed.bases);
        let identity = T::from_scalar(self.op.identity(self.acc)).unwrap_or_else(|| unreachable!());
        let threads = if self.parallel {
            super::pool::num_threads()
        } else {
            1
        };
        let tile_width = column_tile(l.width, l.pre.size(), threads);
        let tiles = l.width.div_ceil(tile_width);
        let tasks = l.pre.size() * tiles;
        let blocks = l.rows.div_ceil(BLOCK);
        let size = std::mem::size_of::<T>() as i64;
        let ops = bases.len();
        // The column kernel's strides: the partials along the row, the operands by rows and columns.
        let mut strides = vec![0, size];
        for k in 1..ops {
            strides.extend([l.row_strides[k] as i64, l.post_strides[k] as i64]);
        }
        // The epilogue's strides: along the row, the result by its columns, the partials by one
        // element; everything else stays put.
        let map_strides = self.epilogue.map(|e| {
            let mut s = vec![0; 2 * e.ptrs.len()];
            s[1] = l.post_strides[0] as i64;
            s[2 * e.partial + 1] = size;
            s
        });
        // Per worker, not per tile: the tile's operand starts, a kernel's pointers, the row.
        let init = || {
            (
                vec![0isize; ops],
                Vec::<usize>::with_capacity(ops),
                vec![identity; tile_width],
            )
        };
        let run = |(starts, ptrs, row): &mut (Vec<isize>, Vec<usize>, Vec<T>), task: usize| {
            let (pre, tile) = (task / tiles, task % tiles);
            let (c0, width) = (
                tile * tile_width,
                tile_width.min(l.width - tile * tile_width),
            );
            offsets(pre, &l.pre.dims, &l.pre.strides, starts);
            for (k, o) in starts.iter_mut().enumerate() {
                *o += bases[k] as isize + c0 as isize * l.post_strides[k];
            }
            let mut leaf = |block: usize, partial: &mut [T]| {
                partial.fill(identity);
                let row0 = block * BLOCK;
                ptrs.clear();
                ptrs.push(partial.as_mut_ptr() as usize);
                ptrs.extend(
                    starts[1..]
                        .iter()
                        .zip(&l.row_strides[1..])
                        .map(|(b, s)| (b + row0 as isize * s) as usize),
                );
                call_fn(
                    columns,
                    self.kernel.scratch_bytes,
                    BLOCK.min(l.rows - row0),
                    width,
                    ptrs,
                    &strides,
                );
            };
            let result = &mut row[..width];
            column_tree(self.op, 0, blocks, &mut leaf, result);
            match (self.epilogue, &map_strides) {
                (Some(e), Some(map_strides)) => {
                    ptrs.clear();
                    ptrs.extend(&e.ptrs);
                    ptrs[0] = starts[0] as usize;
                    ptrs[e.partial] = result.as_ptr() as usize;
                    call(e.kernel, 1, width, ptrs, map_strides);
                }
                _ => {
                    for (i, v) in result.iter().enumerate() {
                        // SAFETY: operand 0 is the accumulator buffer; this task's tile of
                        // columns at this `pre` index is written by this task only, within the
                        // buffer's extent.
                        unsafe { *((starts[0] + i as isize * l.post_strides[0]) as *mut T) = *v };
                    }
                }
            }
        };
        if self.parallel && tasks > 1 {
            super::pool::pool().install(|| (0..tasks).into_par_iter().for_each_init(init, run));
        } else {
            let mut scratch = init();
            (0..tasks).for_each(|task| run(&mut scratch, task));
        }
    }
}

/// The most bytes of one operand a column reduction packs.
const MAX_PACKED: usize = 256 * 1024;

/// A column reduction's operands, with the small strided ones packed.
///
/// The column kernel's vector loop needs every operand contiguous (or constant) along the
/// columns. P10's `sum((xi - xj)**2, axis=-1)` reads `xj = x[None, :, :]` along the columns
/// with a stride of three elements, so every one of its 4000 tasks ran the scalar loop. An
/// operand that is the same for every task (its `pre` strides are 0) and small is copied once
/// into a contiguous rows × columns buffer, which every task then reads as vectors. Same
/// values in the same order: the sums are bit for bit those of the strided reads.
struct Packed {
    layout: ColumnLayout,
    bases: Vec<usize>,
    /// The packed copies, which `bases` point into.
    _buffers: Vec<Vec<u64>>,
}

impl Packed {
    fn of(l: &ColumnLayout, bases: &[usize], element_sizes: &[Option<usize>]) -> Packed {
        let mut packed = Packed {
            layout: l.clone(),
            bases: bases.to_vec(),
            _buffers: Vec::new(),
        };
        if l.pre.size() < 2 {
            return packed; // read once anyway: a copy would cost as much as the reads
        }
        for (k, size) in element_sizes.iter().enumerate() {
            let Some(size) = *size else { continue };
            let post = l.post_strides[k];
            let bytes = l.rows * l.width * size;
            let shared = l.pre.strides[k].iter().all(|&s| s == 0);
            if post == 0 || post == size as isize || !shared || bytes > MAX_PACKED {
                continue;
            }
            let mut buffer = vec![0u64; bytes.div_ceil(8)];
            let to = buffer.as_mut_ptr() as *mut u8;
            for r in 0..l.rows {
                for c in 0..l.width {
                    let from =
                        bases[k] as isize + r as isize * l.row_strides[k] + c as isize * post;
                    // SAFETY: `from` is element (r, c) of operand k, inside the array the
                    // runtime bound to it; the buffer holds rows × width elements.
                    unsafe {
                        std::ptr::copy_nonoverlapping(
                            from as *const u8,
                            to.add((r * l.width + c) * size),
                            size,
                        )
                    };
                }
            }
            packed.bases[k] = to as usize;
            packed.layout.row_strides[k] = (l.width * size) as isize;
            packed.layout.post_strides[k] = size as isize;
            packed._buffers.push(buffer);
        }
        packed
    }
}

/// Combines row blocks `lo..hi` of a column reduction into `out`, splitting at the midpoint.
/// `leaf(block, row)` computes one block's row of partials (from the identity).
fn column_tree<T: Acc>(
    op: ReduceOp,
    lo: usize,
    hi: usize,
    leaf: &mut dyn FnMut(usize, &mut [T]),
    out: &mut [T],
) {
    if hi - lo == 1 {
        return leaf(lo, out);
    }
    let mid = lo + (hi - lo) / 2;
    column_tree(op, lo, mid, leaf, out);
    let mut b = out.to_vec();
    column_tree(op, mid, hi, leaf, &mut b);
    for (x, y) in out.iter_mut().zip(b) {
        *x = T::combine(op, *x, y);
    }
}

/// The pairwise tree over the leaves of one output element.
///
/// What is the same for every batch of leaves is computed once here: a row of 10⁴ elements
/// is only three batches, so per-batch set-up shows (P11's `sum(c, axis=1)`).
struct Tree<'a, T> {
    r: &'a Reduction<'a>,
    red: &'a Space,
    m: usize,
    /// Per operand, the byte stride along the innermost reduced dimension.
    s_inner: Vec<isize>,
    /// Per operand, the strides of the reduced dimensions before it (whose index is a row).
    outer_strides: Vec<Strides>,
    /// Kernel strides for a call on whole blocks: leaves by block, elements by element.
    block_strides: Vec<i64>,
    /// Kernel strides for a call on a row's short last block.
    tail_strides: Vec<i64>,
    _t: std::marker::PhantomData<T>,
}

impl<'a, T: Acc> Tree<'a, T> {
    fn new(r: &'a Reduction<'a>, red: &'a Space, m: usize) -> Self {
        let s_inner: Vec<isize> = red.strides.iter().map(|s| s[s.len() - 1]).collect();
        let outer_strides = red
            .strides
            .iter()
            .map(|s| s[..s.len() - 1].into())
            .collect();
        let mut block_strides = vec![std::mem::size_of::<T>() as i64, 0];
        let mut tail_strides = vec![0, 0];
        for s in &s_inner[1..] {
            block_strides.extend([(*s * BLOCK as isize) as i64, *s as i64]);
            tail_strides.extend([0, *s as i64]);
        }
        Tree {
            r,
            red,
            m,
            s_inner,
            outer_strides,
            block_strides,
            tail_strides,
            _t: std::marker::PhantomData,
        }
    }

    fn blocks_per_row(&self) -> usize {
        self.m.div_ceil(BLOCK)
    }

    /// Reduces leaves `lo..hi`, splitting at the midpoint: the tree's shape depends on `leaves` only.
    fn reduce(&self, bases: &[usize], lo: usize, hi: usize, parallel: bool) -> T {
        if hi - lo <= LEAF_BATCH {
            return self.batch(bases, lo, hi);
        }
        let mid = lo + (hi - lo) / 2;
        let (a, b) = if parallel && (hi - lo) * BLOCK >= 2 * SERIAL_CUTOFF {
            rayon::join(
                || self.reduce(bases, lo, mid, true),
                || self.reduce(bases, mid, hi, true),
            )
        } else {
            (
                self.reduce(bases, lo, mid, false),
                self.reduce(bases, mid, hi, false),
            )
        };
        T::combine(self.r.op, a, b)
    }

    /// Computes leaves `lo..hi` (at most [`LEAF_BATCH`]) with as few kernel calls as possible and
    /// combines them with the same midpoint rule.
    fn batch(&self, bases: &[usize], lo: usize, hi: usize) -> T {
        let identity =
            T::from_scalar(self.r.op.identity(self.r.acc)).unwrap_or_else(|| unreachable!());
        let mut vals = [identity; LEAF_BATCH];
        let nb = self.blocks_per_row();
        let outer_dims = &self.red.dims[..self.red.dims.len() - 1];
        let mut off = PerOperand::<isize>::zeroed(bases.len());
        let mut ptrs = PerOperand::<usize>::zeroed(bases.len());
        let mut leaf = lo;
        while leaf < hi {
            let (row, b0) = (leaf / nb, leaf % nb);
            // Full blocks of this row within the batch, then (maybe) the row's short last block.
            let row_end = hi.min((row + 1) * nb);
            let full_end = if self.m.is_multiple_of(BLOCK) {
                row_end
            } else {
                row_end.min(row * nb + nb - 1)
            };
            offsets(row, outer_dims, &self.outer_strides, &mut off);
            for (k, p) in ptrs.iter_mut().enumerate() {
                *p =
                    (bases[k] as isize + off[k] + (b0 * BLOCK) as isize * self.s_inner[k]) as usize;
            }
            ptrs[0] = vals.as_mut_ptr() as usize + (leaf - lo) * std::mem::size_of::<T>();
            if full_end > leaf {
                call(
                    self.r.kernel,
                    full_end - leaf,
                    BLOCK,
                    &ptrs,
                    &self.block_strides,
                );
                leaf = full_end;
            } else {
                call(
                    self.r.kernel,
                    1,
                    self.m - b0 * BLOCK,
                    &ptrs,
                    &self.tail_strides,
                );
                leaf += 1;
            }
        }
        pairwise(self.r.op, &vals[..hi - lo])
    }
}

/// Combines `v` by splitting at the midpoint, recursively (the tree depends on `v.len()` only).
fn pairwise<T: Acc>(op: ReduceOp, v: &[T]) -> T {
    fn tree<T: Copy>(v: &[T], f: &impl Fn(T, T) -> T) -> T {
        if v.len() == 1 {
            return v[0];
        }
        let mid = v.len() / 2;
        f(tree(&v[..mid], f), tree(&v[mid..], f))
    }
    // One monomorphic tree per op, so the combine inlines instead of matching `op` per node
    // (this ran for every batch of leaves: 7 % of `sum(c, axis=1)` on 10 000²).
    match op {
        ReduceOp::Sum | ReduceOp::Mean => tree(v, &|a, b| T::combine(ReduceOp::Sum, a, b)),
        ReduceOp::Prod => tree(v, &|a, b| T::combine(ReduceOp::Prod, a, b)),
        ReduceOp::Min => tree(v, &|a, b| T::combine(ReduceOp::Min, a, b)),
        ReduceOp::Max => tree(v, &|a, b| T::combine(ReduceOp::Max, a, b)),
        ReduceOp::Any => tree(v, &|a, b| T::combine(ReduceOp::Any, a, b)),
        ReduceOp::All => tree(v, &|a, b| T::combine(ReduceOp::All, a, b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
