//! Expressions across MPI ranks (feature `mpi`): every rank holds a block of rows of the
//! distributed arrays and evaluates the same expression; reductions along the distributed
//! axis combine across ranks.
//!
//! A distributed array is a global shape, a [`Partition`] of its axis 0 among the ranks of a
//! communicator, and the block of rows each rank holds (any dtype, a borrowed ndarray view
//! bound in an ordinary [`Vars`]). Every input whose rank is the partition's is distributed (its
//! local block has this rank's rows and the global extents of the other axes); inputs of lower
//! rank and scalars are the same on every rank (broadcasting aligns them with trailing axes).
//!
//! [`evaluate`] then runs on every rank:
//! - elementwise work runs on the local block (with numjit's threads inside the rank), and the
//!   result is this rank's block of the global result;
//! - generators (`arange`, `linspace`) along axis 0 produce this rank's part of the global
//!   sequence (global indices; nothing is allocated);
//! - a reduction along the distributed axis at the top of the expression (`sum(e)`, `mean(e)`,
//!   `max(e, axis=0)`, …) combines across ranks and every rank gets the value (inside the
//!   expression too: see below). On numjit's own
//!   partition ([`partition`]) a reduction along axis 0 (any reduction of a 1-d array) is
//!   **bit-identical to the single-process result** at any number of ranks and threads: the
//!   ranks' rows are whole subtrees of the single-process pairwise tree, and their roots combine
//!   in the tree's order. A reduction over all axes of more dimensions, and any with a caller's
//!   partition, combines the ranks' partials in a fixed order: deterministic for that
//!   partition. Reductions along other axes stay local.
//!
//! Why a reduction over all axes of a 2-d array is not bit-identical: the single-process tree
//! is not over rows. When every operand collapses to one dimension (C-contiguous blocks of the
//! same shape, no broadcasting) its leaves are 128 consecutive elements of the flattened
//! array, so a rank boundary after row `r` of rows of `c` elements falls between leaves only
//! when `r·c` is a multiple of 128 (for P5's 301 columns: when `r` is), and even then the
//! nodes on either side are runs of elements, not of rows, except where the tree happens to
//! split at a row boundary. When they do not collapse (`u[:, 1:-1]`), the leaves
//! are 128-element blocks of each row (⌈c/128⌉ per row), and the tree's nodes may end inside a
//! row. Reproducing the tree would need the elements of each leaf that straddles a boundary on
//! one rank (a halo of up to ⌈127/c⌉ + 1 rows) and evaluating pieces over flat runs of elements
//! or over part of a row, which a rank can do for contiguous full-shape operands but not for
//! operands broadcast along the reduced axes or generators; and which of the two trees the
//! executor builds depends on its layout decisions (`exec/layout.rs`), which `dist` would have
//! to mirror. When the bits must not depend on the rank count, reduce along axis 0 across
//! ranks and then the small result on each rank, in one expression: `sum(sum(u, axis=0))`
//! (the inner sum combines across ranks, bit-identical; the outer one is local and the same
//! on every rank): a different order than `sum(u)`.
//!
//! [`run`] runs a program (statements, `for` loops, `swap`) the same way, with slices along
//! axis 0 in the stencil form `u[2:, 1:-1]`, `u[:-2, 1:-1]`: every rank works on its rows plus
//! ghost rows of its neighbours (as many as the program's targets are offset, `u[1:-1] = …`:
//! one), refreshed by a halo exchange before each group of statements that reads an array
//! written since its last exchange. A rank may hold fewer rows than that, or none (numjit's
//! partition of a short axis leaves ranks empty): its neighbours' ghost rows then come from
//! the ranks beyond it. The outputs are bit-identical to a single-process run at any number
//! of ranks and threads (P5: `examples/mpi_diffusion.rs`).
//!
//! A reduction along the distributed axis *inside* a larger expression (`a - mean(a)`,
//! `sqrt(sum(x**2)) / n`, `x / max(abs(x))`, `u - mean(u, axis=0)`, nested:
//! `a - mean(a - mean(a))`) runs in phases, one per nesting level (`nest.rs`): each inner
//! reduction is compiled as a graph of its own, reduced on every rank's pieces and combined
//! across ranks exactly as a reduction at the top is, and its value (0-d, or for `axis=0` of a
//! 2-d array a 1-d row, which broadcasts back along axis 0) is bound as an input of the
//! reductions of the next phase and of the outer expression. A phase costs one agreement on
//! its outcome and one gather per reduction in it. So the bits are the single process's
//! wherever each reduction's are, on numjit's own partition:
//! - every inner reduction is along axis 0 (`axis=0`, or any reduction of a 1-d array): its
//!   value is the single process's bit for bit, and so is everything computed from it (the
//!   elementwise work is the same on the same values; a reduction of the next phase reads them
//!   in the same tree): `a - mean(a)`, `(a - mean(a)) / sqrt(mean((a - mean(a))**2))`,
//!   `u - mean(u, axis=0)`, `sum((u - mean(u, axis=0))**2, axis=0)` are bit-identical at any
//!   number of ranks and threads;
//! - a reduction over all axes of a 2-d array (`u - mean(u)`), and any with a caller's
//!   partition, is deterministic for the partition, as at the top, and so is what reads it.
//!
//! Every check (shapes, dtypes, the partition, what the expression reads) is agreed on by all
//! ranks before any data moves, so an error is raised on every rank, never a deadlock; with
//! inner reductions the ranks agree again after each phase (an error in the shapes of a later
//! phase, `u[:, :2] - mean(u, axis=0)`, is found once the values are known).
//! Not distributed (a clear error on every rank): slices along axis 0 in [`evaluate`] (an
//! expression's result would not be a block of rows: use [`run`] with an output). [`run`]
//! computes the reductions inside a program the same way, phase by phase before the group that
//! reads them (`r = sum(u**2)`, `u = u - mean(u)`, `u[:, :] = u - mean(u, axis=0)`), with the
//! same bits.
//!
//! ```no_run
//! use numjit::dist::{self, mpi::traits::*};
//! let universe = dist::mpi::initialize().unwrap();
//! let world = universe.world();
//! let n = 1_000_000;
//! let part = dist::partition(&[n], &world)?;
//! let rows = part.rows(world.rank() as usize);
//! let a = ndarray::Array1::from_iter(rows.map(|i| i as f64));
//! let total = dist::evaluate(&world, &part, "sum(a * 0.5)", &numjit::Vars::new().with("a", &a))?;
//! assert_eq!(total.as_f64().unwrap().sum(), 0.25 * (n * (n - 1)) as f64);
//! # Ok::<(), numjit::Error>(())
//! ```

mod halo;
mod nest;
mod program;
mod tree;

pub use program::{run, HaloStats};

/// The MPI bindings numjit is built with (rsmpi), re-exported so callers use the same version.
///
/// ```no_run
/// use numjit::dist::mpi::traits::*;
/// let universe = numjit::dist::mpi::initialize().unwrap();
/// assert!(universe.world().size() >= 1);
/// ```
pub use mpi;

use std::hash::{Hash, Hasher};
use std::ops::Range;
use std::sync::{Arc, Mutex};

use mpi::collective::SystemOperation;
use mpi::datatype::PartitionMut;
use mpi::traits::*;

use crate::api::array::Array;
use crate::api::vars::{Signature, Vars};
use crate::core::dtype::DType;
use crate::core::error::{Error, ErrorKind, Result};
use crate::core::index::IndexKind;
use crate::core::view::RawView;
use crate::core::window::{self, Window};
use crate::exec::Acc;
use crate::ir::{Graph, NodeId, NodeKind};
use crate::ops::ReduceOp;
use crate::program::{Program, Unit};
use tree::Piece;

/// How axis 0 of a distributed array is split among the ranks of a communicator.
///
/// ```no_run
/// use numjit::dist::{self, mpi::traits::*};
/// let universe = dist::mpi::initialize().unwrap();
/// let world = universe.world();
/// let part = dist::partition(&[1000, 3], &world)?;
/// assert_eq!(part.global_shape(), &[1000, 3]);
/// let mine = part.local_shape(world.rank() as usize);
/// assert_eq!(mine[1], 3);
/// # Ok::<(), numjit::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    global: Vec<usize>,
    /// Rank r holds rows `starts[r]..starts[r + 1]`.
    starts: Vec<usize>,
    /// The pieces a reduction along axis 0 is computed in, in order (each within one rank).
    pieces: Vec<Piece>,
}

/// numjit's own partition of an array of `global_shape` among the ranks of `comm`: about equal
/// blocks of rows, cut at subtree boundaries of the pairwise tree over axis 0, so that
/// reductions along axis 0 (every reduction of a 1-d array; `sum(u, axis=0)` of more
/// dimensions) are bit-identical to the single-process ones. A reduction over all axes of a
/// 2-d or larger array sums in flat order, which row blocks do not cut into subtrees: its
/// ranks' partials combine in a fixed order (deterministic, not bit-identical). Computed
/// locally, without communication.
///
/// ```no_run
/// use numjit::dist::{self, mpi::traits::*};
/// let universe = dist::mpi::initialize().unwrap();
/// let part = dist::partition(&[100_000_000], &universe.world())?;
/// assert_eq!(part.rows(0).start, 0);
/// # Ok::<(), numjit::Error>(())
/// ```
pub fn partition(global_shape: &[usize], comm: &impl Communicator) -> Result<Partition> {
    let ranks = comm.size() as usize;
    let Some(&n) = global_shape.first() else {
        return Err(Error::new(
            ErrorKind::Value,
            "a distributed array needs at least one dimension",
        ));
    };
    // The tree over axis 0 in blocks of rows is the one a 1-d reduction uses and the one every
    // reduction along axis 0 of more dimensions uses too (per column: the row and column paths
    // of `exec/drive` both split blocks of rows at the midpoint), so one cut serves all.
    let pieces = tree::cut(n, ranks);
    let starts = tree::starts(&pieces, n, ranks);
    Ok(Partition {
        global: global_shape.to_vec(),
        starts,
        pieces,
    })
}

impl Partition {
    /// A caller's partition: rank r holds `rows_per_rank[r]` rows, in rank order. Checked to
    /// cover axis 0 exactly, with one count per rank of `comm`.
    ///
    /// ```no_run
    /// use numjit::dist::{self, mpi::traits::*};
    /// let universe = dist::mpi::initialize().unwrap();
    /// let world = universe.world();
    /// let counts = vec![10; world.size() as usize];
    /// let part = dist::Partition::new(&[10 * world.size() as usize], &counts, &world)?;
    /// assert_eq!(part.rows(0), 0..10);
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn new(
        global_shape: &[usize],
        rows_per_rank: &[usize],
        comm: &impl Communicator,
    ) -> Result<Partition> {
        let ranks = comm.size() as usize;
        let Some(&n) = global_shape.first() else {
            return Err(Error::new(
                ErrorKind::Value,
                "a distributed array needs at least one dimension",
            ));
        };
        if rows_per_rank.len() != ranks {
            return Err(Error::new(
                ErrorKind::Value,
                format!(
                    "the partition has {} ranks, but the communicator has {ranks}",
                    rows_per_rank.len()
                ),
            ));
        }
        let covered = rows_per_rank
            .iter()
            .try_fold(0usize, |a, &c| a.checked_add(c));
        if covered != Some(n) {
            return Err(Error::new(
                ErrorKind::Value,
                format!(
                    "the partition covers {} rows, but the array has {n}",
                    rows_per_rank.iter().fold(0u128, |a, &c| a + c as u128)
                ),
            ));
        }
        let mut starts = vec![0];
        for c in rows_per_rank {
            starts.push(starts[starts.len() - 1] + c);
        }
        let pieces = (0..ranks)
            .filter(|&r| starts[r + 1] > starts[r])
            .enumerate()
            .map(|(i, r)| Piece {
                lo: starts[r],
                hi: starts[r + 1],
                leaves: (i, i + 1),
            })
            .collect();
        Ok(Partition {
            global: global_shape.to_vec(),
            starts,
            pieces,
        })
    }

    /// The global shape.
    ///
    /// ```no_run
    /// # use numjit::dist::{self, mpi::traits::*};
    /// # let universe = dist::mpi::initialize().unwrap();
    /// let part = dist::partition(&[6, 2], &universe.world())?;
    /// assert_eq!(part.global_shape(), &[6, 2]);
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn global_shape(&self) -> &[usize] {
        &self.global
    }

    /// The global rows `rank` holds (empty for a rank past the communicator's size).
    ///
    /// ```no_run
    /// # use numjit::dist::{self, mpi::traits::*};
    /// # let universe = dist::mpi::initialize().unwrap();
    /// let part = dist::partition(&[6, 2], &universe.world())?;
    /// assert_eq!(part.rows(0).start, 0);
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn rows(&self, rank: usize) -> Range<usize> {
        match (self.starts.get(rank), self.starts.get(rank + 1)) {
            (Some(&a), Some(&b)) => a..b,
            _ => 0..0,
        }
    }

    /// The shape of the block `rank` holds.
    ///
    /// ```no_run
    /// # use numjit::dist::{self, mpi::traits::*};
    /// # let universe = dist::mpi::initialize().unwrap();
    /// let part = dist::partition(&[6, 2], &universe.world())?;
    /// assert_eq!(part.local_shape(0)[1], 2);
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn local_shape(&self, rank: usize) -> Vec<usize> {
        let mut s = self.global.clone();
        s[0] = self.rows(rank).len();
        s
    }

    fn ranks(&self) -> usize {
        self.starts.len() - 1
    }

    /// The rank holding global row `row`.
    fn owner(&self, row: usize) -> usize {
        self.starts[1..].partition_point(|&s| s <= row)
    }
}

/// Evaluates `expr` on every rank of `comm` over the distributed arrays in `vars` (each rank's
/// block, see the [module docs](self)), split by `part`. Every rank must call it with the same
/// expression, partition and dtypes. The result is this rank's block of an elementwise result,
/// or, for a reduction along the distributed axis, the whole value (the same on every rank).
/// Reductions along the distributed axis inside the expression (`a - mean(a)`) are combined
/// across ranks first, a phase per nesting level (see the [module docs](self)).
///
/// ```no_run
/// use numjit::dist::{self, mpi::traits::*};
/// let universe = dist::mpi::initialize().unwrap();
/// let world = universe.world();
/// let n = 100_000;
/// let part = dist::partition(&[n], &world)?;
/// let dx = 3.0 / n as f64;
/// let vars = numjit::Vars::new().with("dx", dx);
/// let area = dist::evaluate(&world, &part, &format!("sum((0.7*(arange({n})*dx)**3 + 4)*dx)"), &vars)?;
/// let alone = numjit::evaluate(&format!("sum((0.7*(arange({n})*dx)**3 + 4)*dx)"), &vars)?;
/// assert_eq!(area.as_f64().unwrap().sum().to_bits(), alone.as_f64().unwrap().sum().to_bits());
/// # Ok::<(), numjit::Error>(())
/// ```
pub fn evaluate(
    comm: &impl Communicator,
    part: &Partition,
    expr: &str,
    vars: &Vars,
) -> Result<Array> {
    let rank = comm.rank() as usize;
    let prepared = Prepared::new(comm, part, expr, vars);
    let print = fingerprint(expr, part, vars);
    // Both outcomes are agreed on first: a failed rank must not leave the others waiting.
    agree(comm, prepared.as_ref().err(), Some(print))?;
    let mut prepared = prepared?;
    // The inner reductions, a phase at a time: every rank reduces its pieces, the ranks agree
    // on the outcome, then combine, and the values become inputs of the later phases. With no
    // rows anywhere the whole expression runs locally below (every rank holds the same nothing).
    let compiled = prepared.compiled.clone();
    if !part.pieces.is_empty() {
        for phase in &compiled.phases {
            let mine: Result<Vec<_>> = phase
                .iter()
                .map(|(_, across)| prepared.partials(rank, across))
                .collect();
            agree(comm, mine.as_ref().err(), None)?;
            for ((input, across), (p, shape)) in phase.iter().zip(mine?) {
                let value = prepared.combine(comm, across, p, &shape)?;
                prepared.values.push((*input, value));
            }
        }
    }
    let mine = prepared.local(rank);
    agree(comm, mine.as_ref().err(), None)?;
    let mine = mine?;
    match (mine, &compiled.across) {
        (Local::Block(a), _) => Ok(a),
        (Local::Partials(p, shape), Some(across)) => prepared.combine(comm, across, p, &shape),
        (Local::Partials(..), None) => Err(Error::new(
            ErrorKind::Internal,
            "partials without a reduction across ranks",
        )),
    }
}

/// A reduction along the distributed axis at the root of a graph: the expression's, or an inner
/// reduction's own (`nest.rs`).
struct Across {
    op: ReduceOp,
    acc: DType,
    /// The reduction's own dtype (what the accumulators finalize into).
    dtype: DType,
    /// The root's graph with the accumulator's dtype, run once per piece.
    raw: Unit,
}

/// An expression checked against this rank's block, ready to run.
struct Prepared<'a> {
    part: &'a Partition,
    compiled: Arc<Compiled>,
    /// The caller's views, in slot order; `distributed[i]`: slot i is a block of rows.
    caller: Vec<RawView>,
    distributed: Vec<bool>,
    /// The values of the inner reductions combined so far, by the input they are bound to.
    values: Vec<(usize, Array)>,
}

/// An expression compiled and checked for arrays distributed with a partition of some rank.
struct Compiled {
    program: Program,
    /// The inner reductions along the distributed axis, phase by phase (`nest.rs`): the input
    /// each value is bound to, and the reduction.
    phases: Vec<Vec<(usize, Across)>>,
    /// The expression with its inner reductions read as inputs, when it has any and is not a
    /// reduction across ranks itself (else the program's group, or `across`, computes it).
    outer: Option<Unit>,
    /// The reduction across ranks the expression ends with, if any.
    across: Option<Across>,
}

/// Compiled expressions or programs by source, signature and the distributed arrays' rank,
/// newest last, at most [`CACHED`]: compiling costs milliseconds on Cranelift (the raw
/// reduction is a second graph) and tens of them on LLVM, far more than a small call's
/// evaluation or one step of a time loop.
struct Cache<V>(Mutex<Vec<CacheEntry<V>>>);

type CacheEntry<V> = ((String, Signature, usize), Arc<V>);

/// Entries kept in a [`Cache`].
const CACHED: usize = 32;

impl<V> Cache<V> {
    const fn new() -> Cache<V> {
        Cache(Mutex::new(Vec::new()))
    }

    /// The entry for `(source, sig, rank)`, made by `make` (errors are not kept) if missing.
    fn get(
        &self,
        (source, sig, rank): (&str, &Signature, usize),
        make: impl FnOnce() -> Result<V>,
    ) -> Result<Arc<V>> {
        let key = (source.to_string(), sig.clone(), rank);
        // A panic while holding the lock cannot leave the list inconsistent (single pushes
        // and removals), so a poisoned lock is still usable.
        let lock = || self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, c)) = lock().iter().find(|(k, _)| *k == key) {
            return Ok(c.clone());
        }
        let made = Arc::new(make().map_err(|e| e.with_source(source))?);
        let mut cache = lock();
        if cache.len() == CACHED {
            cache.remove(0);
        }
        cache.push((key, made.clone()));
        Ok(made)
    }
}

static CACHE: Cache<Compiled> = Cache::new();

impl Compiled {
    fn get(expr: &str, sig: &Signature, rank: usize) -> Result<Arc<Compiled>> {
        CACHE.get((expr, sig, rank), || Compiled::new(expr, sig, rank))
    }

    fn new(expr: &str, sig: &Signature, rank: usize) -> Result<Compiled> {
        let ast = crate::parse::parse_program(expr)?;
        let program = Program::compile(&ast, sig)?;
        let Some(group) = program.lone_expression() else {
            return Err(Error::new(
                ErrorKind::Value,
                "numjit::dist evaluates one expression; programs are not distributed yet",
            ));
        };
        let g = &group.unit.graph;
        check_reads(g, rank)?;
        let crosses = |g: &Graph, id: NodeId| crosses(g, id, rank);
        let nest::Phases { phases, outer } = nest::split(g, crosses);
        let phases = phases
            .into_iter()
            .map(|phase| {
                phase
                    .into_iter()
                    .map(|inner| Ok((inner.input, Across::new(&inner.graph)?)))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        let across = if crosses(&outer, outer.root) {
            Some(Across::new(&outer)?)
        } else {
            None
        };
        let outer = if phases.is_empty() || across.is_some() {
            None
        } else {
            Some(Unit::compile(outer)?)
        };
        Ok(Compiled {
            program,
            phases,
            outer,
            across,
        })
    }
}

enum Local {
    Block(Array),
    Partials(Vec<(Array, usize)>, Vec<usize>),
}

/// Per piece of this rank, the accumulators (flattened) and the count of values reduced; and
/// the reduction's shape.
type Partials = (Vec<(Array, usize)>, Vec<usize>);

/// This rank's index, after checking that `part` has one piece per rank of `comm`.
pub(crate) fn check_ranks(comm: &impl Communicator, part: &Partition) -> Result<usize> {
    if part.ranks() != comm.size() as usize {
        return Err(Error::new(
            ErrorKind::Value,
            format!(
                "the partition has {} ranks, but the communicator has {}",
                part.ranks(),
                comm.size()
            ),
        ));
    }
    Ok(comm.rank() as usize)
}

impl<'a> Prepared<'a> {
    fn new(
        comm: &impl Communicator,
        part: &'a Partition,
        expr: &str,
        vars: &Vars,
    ) -> Result<Prepared<'a>> {
        let rank = check_ranks(comm, part)?;
        let want = part.local_shape(rank);
        let compiled = Compiled::get(expr, &vars.signature(), want.len())?;
        let program = &compiled.program;
        let caller = program.bind(vars).map_err(|e| e.with_source(expr))?;
        let mut distributed = Vec::with_capacity(caller.len());
        for ((name, _, r, _), v) in program.caller_slots().zip(&caller) {
            if r > want.len() {
                return Err(Error::new(
                    ErrorKind::Broadcast,
                    format!(
                        "`{name}` has {r} dimensions, more than the distributed arrays' {}",
                        want.len()
                    ),
                ));
            }
            let is_block = r == want.len();
            if is_block && v.shape.as_slice() != want.as_slice() {
                return Err(Error::new(
                    ErrorKind::Broadcast,
                    format!(
                        "`{name}` on rank {rank} has shape {:?}, but the partition gives this rank a block of shape {want:?}",
                        v.shape.as_slice()
                    ),
                ));
            }
            distributed.push(is_block);
        }
        Ok(Prepared {
            part,
            compiled,
            caller,
            distributed,
            values: Vec::new(),
        })
    }

    fn graph(&self) -> Result<&crate::program::Group> {
        self.compiled
            .program
            .lone_expression()
            .ok_or_else(|| Error::new(ErrorKind::Internal, "not a lone expression"))
    }

    /// The graph's inputs for global rows `rows` of this rank's block, with the inner
    /// reductions' values combined so far.
    fn inputs(&self, g: &Graph, rank: usize, rows: &Range<usize>) -> Result<Vec<RawView>> {
        let first = self.part.rows(rank).start;
        let slots: Vec<RawView> = g
            .inputs
            .iter()
            .enumerate()
            .map(|(i, decl)| match self.caller.get(i) {
                Some(v) if self.distributed[i] => rows_of(v, rows.start - first, rows.len()),
                Some(v) => v.clone(),
                None => match self.values.iter().find(|(j, _)| *j == i) {
                    Some((_, a)) => crate::exec::view_of(a),
                    // A view or a literal (made from its base by `graph_inputs`), or a value
                    // the graph does not read.
                    None => RawView::empty(decl.dtype, decl.rank),
                },
            })
            .collect();
        crate::exec::program::graph_inputs(g, &slots)
    }

    /// The window of an evaluation of global rows `rows`.
    fn window(&self, rows: &Range<usize>, raw_root: bool) -> Window {
        Window {
            rank: self.part.global.len(),
            global: self.part.global[0],
            offset: rows.start,
            len: rows.len(),
            raw_root,
        }
    }

    /// Runs `unit` on global rows `rows` (this rank's).
    fn run(&self, unit: &Unit, rank: usize, rows: Range<usize>, raw: bool) -> Result<Array> {
        let inputs = self.inputs(&unit.graph, rank, &rows)?;
        window::with(self.window(&rows, raw), || {
            crate::exec::execute(&unit.graph, &unit.kernels, &inputs, None)
        })?
        .ok_or_else(|| Error::new(ErrorKind::Internal, "evaluation produced no array"))
    }

    /// This rank's part: its block of the result, or its pieces' accumulators.
    fn local(&self, rank: usize) -> Result<Local> {
        if self.part.pieces.is_empty() {
            // No rows anywhere: the single-process value of an empty reduction (or its error),
            // inner ones included.
            let group = self.graph()?;
            return Ok(Local::Block(self.run(&group.unit, rank, 0..0, false)?));
        }
        if let Some(across) = &self.compiled.across {
            let (p, shape) = self.partials(rank, across)?;
            return Ok(Local::Partials(p, shape));
        }
        let unit = match &self.compiled.outer {
            Some(unit) => unit,
            None => &self.graph()?.unit,
        };
        Ok(Local::Block(self.run(
            unit,
            rank,
            self.part.rows(rank),
            false,
        )?))
    }

    /// This rank's pieces' accumulators of the reduction `across` (each with the count of
    /// values it reduced), and the reduction's shape.
    fn partials(&self, rank: usize, across: &Across) -> Result<Partials> {
        // The result's shape (so the accumulators per piece) from the shapes of one row, which
        // every rank can bind, also one holding no rows (nothing is read: shapes only). Here,
        // not after: an error must be agreed on before the ranks gather.
        let first = self.part.rows(rank).start;
        let shapes = self.shapes(&across.raw, rank, first..first + 1)?;
        let out_shape = shapes[across.raw.graph.root].to_vec();
        let mut out = Vec::new();
        for p in self
            .part
            .pieces
            .iter()
            .filter(|p| self.part.owner(p.lo) == rank)
        {
            let shapes = self.shapes(&across.raw, rank, p.lo..p.hi)?;
            let count = match across.raw.graph.node(across.raw.graph.root).kind {
                NodeKind::Reduce {
                    arg, axis: None, ..
                } => shapes[arg].iter().product(),
                _ => p.hi - p.lo,
            };
            out.push((self.run(&across.raw, rank, p.lo..p.hi, true)?, count));
        }
        Ok((out, out_shape))
    }

    /// Every node's shape for global rows `rows` of this rank's block.
    fn shapes(
        &self,
        unit: &Unit,
        rank: usize,
        rows: Range<usize>,
    ) -> Result<Vec<crate::core::shape::Shape>> {
        let inputs = self.inputs(&unit.graph, rank, &rows)?;
        window::with(self.window(&rows, true), || {
            crate::core::shape::infer(&unit.graph, &inputs)
        })
    }

    /// Gathers every piece's accumulators on every rank, combines them in the tree's order and
    /// finalizes once, as the single process does.
    fn combine(
        &self,
        comm: &impl Communicator,
        across: &Across,
        mine: Vec<(Array, usize)>,
        out_shape: &[usize],
    ) -> Result<Array> {
        combine(comm, self.part, across, mine, out_shape)
    }
}

/// Gathers every piece's accumulators (`mine`: this rank's) on every rank, combines them in the
/// tree's order and finalizes once, as the single process does. Collective.
fn combine(
    comm: &impl Communicator,
    part: &Partition,
    across: &Across,
    mine: Vec<(Array, usize)>,
    out_shape: &[usize],
) -> Result<Array> {
    let rank = comm.rank() as usize;
    let pieces = &part.pieces;
    // One word per accumulator (two per complex one), then the count reduced, per piece.
    let k: usize = out_shape.iter().product::<usize>() * words_per(across.acc);
    let mut send: Vec<u64> = Vec::with_capacity(mine.len() * (k + 1));
    for (a, count) in &mine {
        push_words(a, &mut send)?;
        send.push(*count as u64);
    }
    let per_rank: Vec<mpi::Count> = (0..part.ranks())
        .map(|r| {
            let n = pieces.iter().filter(|p| part.owner(p.lo) == r).count();
            (n * (k + 1)) as mpi::Count
        })
        .collect();
    let displs: Vec<mpi::Count> = per_rank
        .iter()
        .scan(0, |at, &c| {
            let d = *at;
            *at += c;
            Some(d)
        })
        .collect();
    if send.len() != per_rank[rank] as usize {
        return Err(Error::new(
            ErrorKind::Internal,
            "a rank's partials do not match its pieces",
        ));
    }
    let mut all = vec![0u64; pieces.len() * (k + 1)];
    {
        let mut recv = PartitionMut::new(&mut all[..], &per_rank[..], &displs[..]);
        comm.all_gather_varcount_into(&send[..], &mut recv);
    }
    let count: usize = all.chunks(k + 1).map(|c| c[k] as usize).sum();
    let words: Vec<u64> = all
        .chunks(k + 1)
        .flat_map(|c| c[..k].iter().copied())
        .collect();
    let accs = combine_words(across.op, across.acc, pieces, &words, k, out_shape)?;
    // What the single process does to its accumulators, once, on the combined ones.
    Ok(crate::exec::finalize(accs, across.op, across.dtype, count))
}

/// Rows `start..start + len` of a block (a view along axis 0).
fn rows_of(v: &RawView, start: usize, len: usize) -> RawView {
    let mut out = v.clone();
    out.shape[0] = len;
    // A zero-length view keeps its base: nothing is read through it.
    if len > 0 {
        out.ptr = v.ptr.wrapping_offset(start as isize * v.strides[0]);
    }
    out
}

/// Reads along the distributed axis that a rank's block alone can serve: whole rows. A slice
/// along axis 0 needs neighbours' rows (a halo), which `run` exchanges for programs.
fn check_reads(g: &Graph, rank: usize) -> Result<()> {
    for decl in &g.inputs {
        let Some(view) = &decl.view else { continue };
        let mut base = view.base;
        while let Some(v) = &g.inputs[base].view {
            base = v.base;
        }
        if g.inputs[base].rank != rank {
            continue;
        }
        let whole = match view.items.first().map(|i| i.kind) {
            None => true,
            Some(IndexKind::Slice { start, stop, step }) => {
                start.is_none() && stop.is_none() && matches!(step, None | Some(1))
            }
            Some(_) => false,
        };
        if !whole {
            return Err(Error::at(
                ErrorKind::Value,
                view.span,
                "a subscript along the distributed axis 0 in an expression: its result is not a block of rows; run it as a program with an output (numjit::dist::run exchanges the halo)",
            ));
        }
    }
    Ok(())
}

/// Node `id` of `g` is a reduction along the distributed axis (of arrays of rank `rank`): one
/// that combines across ranks.
fn crosses(g: &Graph, id: NodeId, rank: usize) -> bool {
    match g.node(id).kind {
        NodeKind::Reduce { arg, axis, .. } => {
            g.node(arg).rank == rank && matches!(axis, None | Some(0))
        }
        _ => false,
    }
}

impl Across {
    /// The reduction at the root of `g` (which [`crosses`]), with its raw graph compiled.
    fn new(g: &Graph) -> Result<Across> {
        let root = g.node(g.root);
        let NodeKind::Reduce { op, arg, .. } = root.kind else {
            return Err(Error::new(
                ErrorKind::Internal,
                "a reduction across ranks without a reduction at its root",
            ));
        };
        let acc = op.acc_dtype(g.node(arg).dtype);
        let mut raw = g.clone();
        raw.nodes[raw.root].dtype = acc;
        Ok(Across {
            op,
            acc,
            dtype: root.dtype,
            raw: Unit::compile(crate::opt::optimize(&raw))?,
        })
    }
}

/// How many 64-bit words one accumulator of `acc` travels in.
fn words_per(acc: DType) -> usize {
    if acc.is_complex() {
        2
    } else {
        1
    }
}

/// Accumulators as 64-bit words, the form they travel in.
trait Word: Acc {
    fn to_word(self) -> u64;
    fn from_word(w: u64) -> Self;
}

impl Word for f64 {
    fn to_word(self) -> u64 {
        self.to_bits()
    }
    fn from_word(w: u64) -> f64 {
        f64::from_bits(w)
    }
}
impl Word for f32 {
    fn to_word(self) -> u64 {
        self.to_bits() as u64
    }
    fn from_word(w: u64) -> f32 {
        f32::from_bits(w as u32)
    }
}
impl Word for i64 {
    fn to_word(self) -> u64 {
        self as u64
    }
    fn from_word(w: u64) -> i64 {
        w as i64
    }
}
impl Word for i32 {
    fn to_word(self) -> u64 {
        self as u32 as u64
    }
    fn from_word(w: u64) -> i32 {
        w as u32 as i32
    }
}
impl Word for bool {
    fn to_word(self) -> u64 {
        self as u64
    }
    fn from_word(w: u64) -> bool {
        w != 0
    }
}

fn push_words(a: &Array, out: &mut Vec<u64>) -> Result<()> {
    match a {
        Array::Bool(a) => out.extend(a.iter().map(|v| v.to_word())),
        Array::Int32(a) => out.extend(a.iter().map(|v| v.to_word())),
        Array::Int64(a) => out.extend(a.iter().map(|v| v.to_word())),
        Array::Float32(a) => out.extend(a.iter().map(|v| v.to_word())),
        Array::Float64(a) => out.extend(a.iter().map(|v| v.to_word())),
        // A complex product's accumulator: its parts' bits, real part first.
        Array::Complex128(a) => out.extend(a.iter().flat_map(|z| [z.re.to_word(), z.im.to_word()])),
        // Complex accumulators are complex128 (`ReduceOp::acc_dtype`).
        Array::Complex64(_) => {
            return Err(Error::new(
                ErrorKind::Internal,
                "complex64 accumulators do not cross ranks",
            ))
        }
    }
    Ok(())
}

fn combine_words(
    op: ReduceOp,
    acc: DType,
    pieces: &[Piece],
    words: &[u64],
    k: usize,
    shape: &[usize],
) -> Result<Array> {
    fn typed<T: Word>(
        op: ReduceOp,
        pieces: &[Piece],
        words: &[u64],
        k: usize,
        shape: &[usize],
    ) -> Result<ndarray::ArrayD<T>> {
        let values: Vec<T> = words.iter().map(|&w| T::from_word(w)).collect();
        let v = tree::combine(pieces, &values, k, &tree::combiner::<T>(op));
        ndarray::ArrayD::from_shape_vec(shape, v)
            .map_err(|e| Error::new(ErrorKind::Internal, format!("combined accumulators: {e}")))
    }
    Ok(match acc {
        DType::Bool => Array::Bool(typed(op, pieces, words, k, shape)?),
        DType::Int32 => Array::Int32(typed(op, pieces, words, k, shape)?),
        DType::Int64 => Array::Int64(typed(op, pieces, words, k, shape)?),
        DType::Float32 => Array::Float32(typed(op, pieces, words, k, shape)?),
        DType::Float64 => Array::Float64(typed(op, pieces, words, k, shape)?),
        DType::Complex128 => {
            let values: Vec<crate::Complex64> = words
                .chunks_exact(2)
                .map(|p| crate::Complex64::new(f64::from_word(p[0]), f64::from_word(p[1])))
                .collect();
            let v = tree::combine(pieces, &values, k / 2, &tree::combiner(op));
            Array::Complex128(ndarray::ArrayD::from_shape_vec(shape, v).map_err(|e| {
                Error::new(ErrorKind::Internal, format!("combined accumulators: {e}"))
            })?)
        }
        DType::Complex64 | DType::Bytes(_) => {
            return Err(Error::new(
                ErrorKind::Internal,
                format!("{acc} accumulators do not cross ranks"),
            ))
        }
    })
}

/// What every rank must agree on: the expression, the variables' names, dtypes and ranks (and
/// the shapes of those that are not blocks), the partition.
fn fingerprint(expr: &str, part: &Partition, vars: &Vars) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    expr.hash(&mut h);
    part.hash_into(&mut h);
    for input in vars.signature().inputs() {
        // Not the layout: ranks may hold contiguous and strided blocks alike.
        (&input.name, input.dtype, input.rank).hash(&mut h);
        // Inputs that are not blocks are the same on every rank, shape included.
        if input.rank < part.global.len() {
            if let Some(v) = vars.view(&input.name) {
                v.shape.as_slice().hash(&mut h);
            }
        }
    }
    h.finish()
}

impl Partition {
    fn hash_into(&self, h: &mut impl Hasher) {
        self.global.hash(h);
        self.starts.hash(h);
    }
}

/// The kinds an error can travel between ranks as (by position).
const KINDS: [ErrorKind; 14] = [
    ErrorKind::Syntax,
    ErrorKind::UnknownName,
    ErrorKind::UnknownFunction,
    ErrorKind::Arity,
    ErrorKind::Type,
    ErrorKind::Broadcast,
    ErrorKind::Axis,
    ErrorKind::NegativePower,
    ErrorKind::Output,
    ErrorKind::Signature,
    ErrorKind::Value,
    ErrorKind::Limit,
    ErrorKind::Internal,
    ErrorKind::Cancelled,
];

/// Bytes of an error message sent to the other ranks (longer ones are cut).
const MESSAGE_BYTES: usize = 1024;

/// Every rank learns whether all succeeded (and, with `print`, agree on it); if not, every rank
/// returns the error of the lowest failed rank (or a disagreement). Collective: every rank
/// calls it at the same point, whatever its own outcome.
fn agree(comm: &impl Communicator, err: Option<&Error>, print: Option<u64>) -> Result<()> {
    let rank = comm.rank() as u64;
    let mine = if err.is_some() { rank } else { u64::MAX };
    let mut first = 0u64;
    comm.all_reduce_into(&mine, &mut first, SystemOperation::min());
    if first == u64::MAX {
        if let Some(print) = print {
            let (mut lo, mut hi) = (0u64, 0u64);
            comm.all_reduce_into(&print, &mut lo, SystemOperation::min());
            comm.all_reduce_into(&print, &mut hi, SystemOperation::max());
            if lo != hi {
                return Err(Error::new(
                    ErrorKind::Signature,
                    "the ranks differ in the expression, the variables' names, dtypes or dimensions, or the partition",
                ));
            }
        }
        return Ok(());
    }
    // The failed rank's kind and message, to every rank.
    let mut buf = [0u8; MESSAGE_BYTES + 1];
    if let Some(e) = err.filter(|_| first == rank) {
        buf[0] = KINDS.iter().position(|k| *k == e.kind()).unwrap_or(12) as u8;
        let text = e.to_string();
        let n = text.len().min(MESSAGE_BYTES);
        buf[1..=n].copy_from_slice(&text.as_bytes()[..n]);
    }
    comm.process_at_rank(first as mpi::Rank)
        .broadcast_into(&mut buf[..]);
    if let Some(e) = err.filter(|_| first == rank) {
        return Err(e.clone());
    }
    let end = buf[1..]
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(MESSAGE_BYTES);
    let text = String::from_utf8_lossy(&buf[1..1 + end]);
    let kind = KINDS
        .get(buf[0] as usize)
        .copied()
        .unwrap_or(ErrorKind::Internal);
    Err(Error::new(kind, format!("rank {first}: {text}")))
}
