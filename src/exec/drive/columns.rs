//! Column reductions: a reduced axis followed by contiguous rows, folded block by block into a
//! row of partials per tile of columns, small shared operands packed once.

use rayon::prelude::*;

use super::super::layout::Space;

use crate::codegen::KernelFn;
use crate::ops::ReduceOp;

use super::*;

/// A reduction over one axis `r` followed by dimensions that collapse into one (`post`):
/// rows of `post` are contiguous runs that a column kernel folds into a row of partials.
#[derive(Clone)]
pub(super) struct ColumnLayout {
    /// Dimensions before the reduced one (each index is an independent task).
    pub(super) pre: Space,
    pub(super) rows: usize,
    /// Per-operand stride along the reduced axis.
    pub(super) row_strides: Vec<isize>,
    /// Width and per-operand stride of the collapsed dimensions after it.
    pub(super) width: usize,
    pub(super) post_strides: Vec<isize>,
}

impl ColumnLayout {
    pub(super) fn of(space: &Space, reduced: &[bool]) -> Option<ColumnLayout> {
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
pub(super) const SHORT_AXIS: usize = 16;

impl ColumnLayout {
    /// A reduction over a short innermost axis, laid out as a column reduction: the reduced
    /// axis gives the rows and the last kept axis the columns (the outputs), so a kernel call
    /// folds a whole row of outputs per reduced element.
    pub(super) fn short_last(space: &Space, reduced: &[bool]) -> Option<ColumnLayout> {
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
pub(super) const MAX_COLUMN_TILE: usize = 16 * 1024;

/// Columns per task, at least (unless the row is narrower).
pub(super) const MIN_COLUMN_TILE: usize = 1024;

/// The tile width for `width` columns at `pre` independent positions: the widest up to
/// [`MAX_COLUMN_TILE`] that still gives every thread a task. Each column's sum is the same
/// whatever the tiles (its blocks and their tree do not depend on them).
pub(super) fn column_tile(width: usize, pre: usize, threads: usize) -> usize {
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
    pub(super) fn run_columns<T: Acc>(&self, columns: KernelFn, l: &ColumnLayout) {
        if l.rows == 0 || l.width == 0 || l.pre.size() == 0 {
            return; // the accumulators keep their identities
        }
        let packed = Packed::of(l, &self.bases.0, self.element_sizes);
        let (l, bases) = (&packed.layout, &packed.bases);
        let identity = T::from_scalar(self.op.identity(self.acc)).unwrap_or_else(|| unreachable!());
        let threads = super::super::pool::threads_for(self.parallel);
        let mut tile_width = column_tile(l.width, l.pre.size(), threads);
        let blocks = l.rows.div_ceil(BLOCK);
        // Whole rows per call: a file, read in storage order, one pass front to back (tiles
        // would walk it once per tile); and in memory, rows that fit one tile at half as many
        // positions as threads or fewer, whose threads then take row blocks rather than narrower
        // tiles: each reads whole rows, one long run each (P11's axis 0 at two threads, AMD
        // EPYC Zen 5, five runs alternated: 11.4–11.7 against 12.5–14.2 ms; under more load
        // from other tenants 15.8–16.8 against 16.4–17.3 ms, every run faster). Same sums: a
        // column's blocks and their tree do not depend on the tiles or the threads.
        let whole_rows = streamed_width(l, bases)
            || (l.width <= MAX_COLUMN_TILE && 2 * l.pre.size() <= threads && blocks >= threads);
        if whole_rows {
            tile_width = l.width;
        }
        let tiles = l.width.div_ceil(tile_width);
        let tasks = l.pre.size() * tiles;
        // Threads a task's tree of row blocks forks to, beyond its own, for whole rows with
        // fewer tasks than threads. Each thread then reads its subtrees' rows front to back, as
        // a full reduction's threads read their halves.
        let forks = if whole_rows && blocks > 1 && tasks < threads {
            threads / tasks - 1
        } else {
            0
        };
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
            let leaf = |block: usize, partial: &mut [T], ptrs: &mut Vec<usize>| {
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
            if forks > 0 {
                // Whole rows in fewer tasks than threads: the threads left idle take subtrees of
                // the blocks (same tree, same sums), each thread one stream front to back.
                let flag = crate::exec::cancel::carried();
                super::super::pool::pool().install(|| {
                    flag.enter(|| {
                        forked_column_tree(self.op, 0, blocks, forks, &leaf, ptrs, result)
                    })
                });
            } else {
                column_tree(self.op, 0, blocks, &mut |b, p| leaf(b, p, ptrs), result);
            }
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
            let flag = crate::exec::cancel::carried();
            super::super::pool::pool().install(|| {
                (0..tasks)
                    .into_par_iter()
                    .for_each_init(init, |scratch, task| flag.enter(|| run(scratch, task)))
            });
        } else {
            let mut scratch = init();
            (0..tasks).for_each(|task| run(&mut scratch, task));
        }
    }
}

/// The most bytes of one operand a column reduction packs.
pub(super) const MAX_PACKED: usize = 256 * 1024;

/// A column reduction's operands, with the small strided ones packed.
///
/// The column kernel's vector loop needs every operand contiguous (or constant) along the
/// columns. P10's `sum((xi - xj)**2, axis=-1)` reads `xj = x[None, :, :]` along the columns
/// with a stride of three elements, so every one of its 4000 tasks ran the scalar loop. An
/// operand that is the same for every task (its `pre` strides are 0) and small is copied once
/// into a contiguous rows × columns buffer, which every task then reads as vectors. Same
/// values in the same order: the sums are bit for bit those of the strided reads.
pub(super) struct Packed {
    pub(super) layout: ColumnLayout,
    pub(super) bases: Vec<usize>,
    /// The packed copies, which `bases` point into.
    pub(super) _buffers: Vec<Vec<u64>>,
}

impl Packed {
    pub(super) fn of(l: &ColumnLayout, bases: &[usize], element_sizes: &[Option<usize>]) -> Packed {
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

/// The most bytes of one operand a column reduction's call may read when it takes whole rows
/// of a file (a call's bytes are resident until the release-behind hook sees it).
const MAX_STREAMED_CALL: usize = 64 << 20;

/// True when the operands include a file mapping and a block of whole rows stays within
/// [`MAX_STREAMED_CALL`] for each operand.
fn streamed_width(l: &ColumnLayout, bases: &[usize]) -> bool {
    let fits = l
        .post_strides
        .iter()
        .all(|s| BLOCK * l.width * s.unsigned_abs() <= MAX_STREAMED_CALL);
    fits && super::super::stream::any_mapped(bases)
}

/// One block's row of partials: `leaf(block, row, pointer_scratch)`, callable from any thread.
pub(super) type BlockLeaf<'a, T> = dyn Fn(usize, &mut [T], &mut Vec<usize>) + Sync + 'a;

/// [`column_tree`] with its top levels run in parallel: `forks` more threads take subtrees
/// (one for the right half of each split, the others shared by the halves), each with its own
/// pointer scratch. The tree and the order of every combination are [`column_tree`]'s, so the sums are
/// bit for bit the same at any thread count.
pub(super) fn forked_column_tree<T: Acc>(
    op: ReduceOp,
    lo: usize,
    hi: usize,
    forks: usize,
    leaf: &BlockLeaf<'_, T>,
    ptrs: &mut Vec<usize>,
    out: &mut [T],
) {
    if forks == 0 || hi - lo < 2 {
        return column_tree(op, lo, hi, &mut |b, p| leaf(b, p, ptrs), out);
    }
    let mid = lo + (hi - lo) / 2;
    let mut b = out.to_vec();
    // One more thread for the right half; the rest split between the halves.
    let (left, right) = ((forks - 1) / 2, (forks - 1) - (forks - 1) / 2);
    let flag = crate::exec::cancel::carried();
    let capacity = ptrs.capacity();
    rayon::join(
        || forked_column_tree(op, lo, mid, left, leaf, ptrs, out),
        || {
            flag.enter(|| {
                let mut own = Vec::with_capacity(capacity);
                forked_column_tree(op, mid, hi, right, leaf, &mut own, &mut b)
            })
        },
    );
    combine_rows(op, out, b);
}

/// Combines row blocks `lo..hi` of a column reduction into `out`, splitting at the midpoint.
/// `leaf(block, row)` computes one block's row of partials (from the identity).
pub(super) fn column_tree<T: Acc>(
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
    combine_rows(op, out, b);
}

/// `out[j] = op(out[j], b[j])`: a node of the column tree, left operand first.
fn combine_rows<T: Acc>(op: ReduceOp, out: &mut [T], b: Vec<T>) {
    for (x, y) in out.iter_mut().zip(b) {
        *x = T::combine(op, *x, y);
    }
}
