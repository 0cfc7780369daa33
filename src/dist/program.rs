//! Programs across ranks ([`run`]): statements, `for` loops and `swap`s over the distributed
//! arrays, with halo exchange.
//!
//! Every rank runs the whole program on a *window* of the global arrays: its own rows plus
//! `depth` ghost rows on each side that has a neighbour (a rank may hold fewer rows than
//! `depth`, or none: the ghost rows then come from ranks farther away). A slice along axis 0
//! is kept only in the stencil form `a:-b` (start from the front, stop from the back, step 1),
//! so the same subscript on the window selects the window's part of the global slice, and
//! every array the program makes, whatever its length along axis 0, is indexed so that local
//! row k is global row `window.start + k`: the global computation restricted to the window. A
//! target `u[a:-b] = …` with `a, b <= depth` then writes all of this rank's rows the single
//! process writes, with the same operations in the same order, so the result is bit-identical
//! at any number of ranks.
//!
//! What stays wrong on a rank is ghost rows: those a statement writes globally but the window
//! cannot (its own edge). They are refreshed from the ranks that own them before any
//! group reads the array again: a distributed array written by a group is "dirty" (the same
//! decision on every rank, so the ranks' exchanges pair up), and a group that reads a dirty
//! array exchanges it first. A time loop with `swap` thus exchanges the one array the step
//! wrote, `depth` rows each way, once per step.
//!
//! A reduction along the distributed axis inside the program (`r = sum(u**2)` in a time loop,
//! `u = u - mean(u)`, `m[:] = max(abs(u), axis=0)`) has a value the same on every rank (0-d
//! over all axes, or a row for `axis=0` of 2-d values), which `nest` gives a slot of its own
//! and cuts out of its group (`nest.rs`: a phase per nesting level). In the dry run the hook
//! makes the slot's storage to the shape the reduction has over the dry run's views, so the
//! dry run checks what reads it (`u[:, :2] - mean(u, axis=0)` fails there, on every rank).
//! Before the group runs, the hook reduces this rank's pieces of its own rows (of the arrays
//! the program makes too: they are all indexed from the window's first row), the ranks agree
//! on the outcome and combine the pieces in the tree's order, and the value lands in its slot;
//! on numjit's own partition a reduction along axis 0 (`axis=0`, or any of a 1-d array) is so
//! bit-identical to the single process's, as in `dist::evaluate`. Its argument must read the
//! distributed arrays whole along axis 0 (a stencil slice would shift its rows against the
//! pieces').

use std::ops::Range;

use mpi::traits::*;

use crate::api::array::Array;
use crate::api::vars::{Signature, Vars};
use crate::core::dtype::DType;
use crate::core::error::{Error, ErrorKind, Result};
use crate::core::index::{IndexItem, IndexKind};
use crate::core::view::RawView;
use crate::core::window::{self, Window};
use crate::exec::program::Hook;
use crate::ir::{Graph, NodeId, NodeKind};
use crate::lower::program::{Slot, SlotKind, TargetKind};
use crate::program::{Group, Program, Step, Unit};

use super::{agree, fingerprint, rows_of, Across, Partition};

/// Runs the program `source` on every rank of `comm` over the distributed arrays in `vars`
/// (each rank's block of rows, as for [`evaluate`](super::evaluate); outputs bound with
/// `with_out`), split by `part`: statements, `for` loops, `swap`, and slices along the
/// distributed axis 0 in the stencil form `a:-b` (`u[2:, 1:-1]`, `u[:-2, 1:-1]`), with the
/// neighbours' rows exchanged before each group of statements that reads an array written
/// since its last exchange. Every rank must call it with the same program, partition and
/// dtypes. The outputs' blocks are bit-identical to the rows of a single-process run.
///
/// Reductions of the distributed arrays along axis 0 or over all axes run inside the program
/// (`r = sum(u**2)` in a time loop, `u = u - mean(u)`, `u[:, :] = u - mean(u, axis=0)`): each
/// is combined across ranks before the group that reads it, bit-identical to one process on
/// numjit's own partition when it is along axis 0 (`axis=0`, or any reduction of a 1-d array;
/// see the module docs).
///
/// Not distributed (a clear error on every rank): a program's result (assign to an output,
/// or use [`evaluate`](super::evaluate) for an expression), reductions of a slice along
/// axis 0 (`sum(u[1:])`), such reductions in a loop's `range`, other subscripts along axis 0
/// (`u[::-1]`, `u[3]`, `u[5:10]`), and a stencil deeper than some rank's block of rows.
///
/// The compiled program is kept for later calls with the same source and signature (the last
/// 32, as [`evaluate`](super::evaluate) keeps expressions): a call per time step compiles
/// once.
///
/// Returns what the halo exchange cost this rank ([`HaloStats`]).
///
/// ```no_run
/// use numjit::dist::{self, mpi::traits::*};
/// let universe = dist::mpi::initialize().unwrap();
/// let world = universe.world();
/// let part = dist::partition(&[100, 100], &world)?;
/// let rows = part.rows(world.rank() as usize);
/// let mut u = ndarray::Array2::<f64>::from_shape_fn((rows.len(), 100), |(i, j)| (i + rows.start + j) as f64);
/// let mut next = u.clone();
/// let program = "for step in range(10):\n    next[1:-1, 1:-1] = 0.25*(u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2])\n    swap(u, next)";
/// dist::run(&world, &part, program, &numjit::Vars::new().with_out("u", &mut u).with_out("next", &mut next))?;
/// # Ok::<(), numjit::Error>(())
/// ```
pub fn run(
    comm: &impl Communicator,
    part: &Partition,
    source: &str,
    vars: &Vars,
) -> Result<HaloStats> {
    let rank = comm.rank() as usize;
    let prepared = Prepared::new(comm, part, source, vars);
    let print = fingerprint(source, part, vars);
    agree(comm, prepared.as_ref().err(), Some(print))?;
    let mut prepared = prepared?;
    let mut hook = Exchange {
        comm,
        part,
        depth: prepared.compiled.depth,
        halo: super::halo::Halo::new(part, prepared.compiled.depth, rank),
        rank,
        buffers: &prepared.buffers,
        dirty: vec![true; prepared.buffers.len()],
        stats: HaloStats::default(),
        window: prepared.window.clone(),
        plans: &prepared.compiled.plans,
        slots: &prepared.compiled.values,
        values: Values::new(),
    };
    let views = prepared.views.clone();
    let w = prepared.window.clone();
    let outcome = window::with(
        Window {
            rank: part.global.len(),
            global: part.global[0],
            offset: w.start,
            len: w.len(),
            raw_root: false,
        },
        || {
            let program = &prepared.compiled.program;
            crate::exec::program::run_hooked(program, views, &mut hook)
        },
    );
    outcome.map_err(|e| e.with_source(source))?;
    let stats = hook.stats;
    prepared.write_back();
    Ok(stats)
}

/// What the halo exchange of a [`run`] cost on one rank.
///
/// ```no_run
/// # use numjit::dist::{self, mpi::traits::*};
/// # let universe = dist::mpi::initialize().unwrap();
/// # let world = universe.world();
/// # let part = dist::partition(&[10, 10], &world)?;
/// # let mut u = ndarray::Array2::<f64>::zeros((part.rows(world.rank() as usize).len(), 10));
/// let stats = dist::run(&world, &part, "u[1:-1] = u[2:] + u[:-2]", &numjit::Vars::new().with_out("u", &mut u))?;
/// assert_eq!(stats.exchanges, 1);
/// # Ok::<(), numjit::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HaloStats {
    /// Exchanges (each refreshes the ghost rows of the arrays a group reads, all at once).
    pub exchanges: u64,
    /// Bytes this rank sent.
    pub bytes_sent: u64,
    /// Wall time in the exchanges (waiting for the neighbours included), in seconds.
    pub seconds: f64,
}

/// A distributed array's window on this rank: storage this module owns.
struct Buffer {
    /// Keeps the storage alive; `view` points into it.
    _storage: Array,
    view: RawView,
    /// The caller's view (its block of rows) and whether the program may write it.
    caller: RawView,
    writable: bool,
}

/// A program compiled for distributed arrays of one rank: checked, with its reductions across
/// ranks cut out of their groups (`nest`), kept in [`PROGRAMS`] for the next call.
struct Compiled {
    program: Program,
    depth: usize,
    plans: Vec<Plan>,
    values: ValueSlots,
}

// SAFETY: a `Plan`'s group pointer points at a group boxed inside the same `Compiled`'s
// program, which nothing changes once it is built (the cache shares it read-only); the
// pointers are only compared with the group the executor runs.
unsafe impl Send for Compiled {}
unsafe impl Sync for Compiled {}

/// Programs compiled by [`run`], so that calling it again (a step per call, or the same time
/// loop on new data) does not compile again.
static PROGRAMS: super::Cache<Compiled> = super::Cache::new();

impl Compiled {
    fn new(source: &str, sig: &Signature, prank: usize) -> Result<Compiled> {
        let ast = crate::parse::parse_program(source)?;
        let mut program = Program::compile(&ast, sig)?;
        let depth = check(&program, prank)?;
        let (plans, values) = nest(&mut program, prank)?;
        Ok(Compiled {
            program,
            depth,
            plans,
            values,
        })
    }
}

/// A program checked against this rank's blocks, with its windows filled.
struct Prepared {
    compiled: std::sync::Arc<Compiled>,
    /// Global rows of this rank's window.
    window: Range<usize>,
    /// The views the program runs on: the windows for distributed arrays, the caller's
    /// views for the others.
    views: Vec<RawView>,
    buffers: Vec<Buffer>,
    /// This rank's rows.
    own: Range<usize>,
}

/// The storage of the values of reductions across ranks, by slot.
type Values = Vec<(usize, Array)>;

/// The values of reductions across ranks: their slots, dtypes and ranks (each run makes its
/// own storage, [`Values`], of the shapes its dry run finds: the hook's `shapes`).
type ValueSlots = Vec<(usize, DType, usize)>;

/// The reductions across ranks a group reads (each a value in a slot of its own, filled by the
/// hook before the group runs), phase by phase (`nest.rs`).
struct Plan {
    /// The group, by address (groups are boxed: their addresses do not move).
    group: *const Group,
    phases: Vec<Vec<(usize, Across)>>,
}

impl Prepared {
    fn new(
        comm: &impl Communicator,
        part: &Partition,
        source: &str,
        vars: &Vars,
    ) -> Result<Prepared> {
        let rank = super::check_ranks(comm, part)?;
        let want = part.local_shape(rank);
        let prank = want.len();
        let sig = vars.signature();
        let compiled =
            PROGRAMS.get((source, &sig, prank), || Compiled::new(source, &sig, prank))?;
        let (program, depth) = (&compiled.program, compiled.depth);
        let own = part.rows(rank);
        let window = window_of(part, rank, depth);
        let caller = program.bind(vars).map_err(|e| e.with_source(source))?;
        let mut views = caller.clone();
        let mut buffers = Vec::new();
        for (i, ((name, dtype, r, kind), v)) in program.caller_slots().zip(&caller).enumerate() {
            if r != prank || vars.view(name).is_none() {
                continue;
            }
            if v.shape.as_slice() != want.as_slice() {
                return Err(Error::new(
                    ErrorKind::Broadcast,
                    format!(
                        "`{name}` on rank {rank} has shape {:?}, but the partition gives this rank a block of shape {want:?}",
                        v.shape.as_slice()
                    ),
                ));
            }
            let mut shape = want.clone();
            shape[0] = window.len();
            let storage = crate::exec::alloc(dtype, &shape)?;
            let view = crate::exec::view_of(&storage);
            crate::exec::copy_broadcast(v, &rows_of(&view, own.start - window.start, own.len()));
            views[i] = view.clone();
            buffers.push(Buffer {
                _storage: storage,
                view,
                caller: v.clone(),
                writable: matches!(kind, SlotKind::Caller { writable: true }),
            });
        }
        Ok(Prepared {
            compiled,
            window,
            views,
            buffers,
            own,
        })
    }

    /// Copies this rank's rows of every output back into the caller's block.
    fn write_back(&mut self) {
        for b in self.buffers.iter().filter(|b| b.writable) {
            let mine = rows_of(&b.view, self.own.start - self.window.start, self.own.len());
            crate::exec::copy_broadcast(&mine, &b.caller);
        }
    }
}

/// The global rows of `rank`'s window: its own and up to `depth` more on each side.
pub(super) fn window_of(part: &Partition, rank: usize, depth: usize) -> Range<usize> {
    let own = part.rows(rank);
    own.start.saturating_sub(depth)..(own.end + depth).min(part.global[0])
}

/// The halo exchange around a distributed program's groups, and the reductions across ranks
/// they read.
struct Exchange<'a, C: Communicator> {
    comm: &'a C,
    part: &'a Partition,
    depth: usize,
    /// What each exchange sends and receives.
    halo: super::halo::Halo,
    rank: usize,
    buffers: &'a [Buffer],
    /// `dirty[i]`: buffer i was written since its ghost rows were last refreshed.
    dirty: Vec<bool>,
    stats: HaloStats,
    /// Global rows of this rank's window.
    window: Range<usize>,
    plans: &'a [Plan],
    /// The values' slots and dtypes.
    slots: &'a ValueSlots,
    /// The values' storage, by slot (made to its shape in the dry run).
    values: Values,
}

impl<C: Communicator> Exchange<'_, C> {
    fn buffer(&self, v: &RawView) -> Option<usize> {
        self.buffers.iter().position(|b| b.view.ptr == v.ptr)
    }

    /// The reductions across ranks group `grp` reads, phase by phase.
    fn plan(&self, grp: &Group) -> Option<&'_ Plan> {
        self.plans.iter().find(|p| std::ptr::eq(p.group, grp))
    }

    /// The storage of the value in `slot`.
    fn storage(&self, slot: usize) -> Result<&Array> {
        (self.values.iter().find(|(s, _)| *s == slot))
            .map(|(_, a)| a)
            .ok_or_else(|| Error::new(ErrorKind::Internal, "a value without a slot"))
    }

    /// Points every value slot of `plan` at its storage.
    fn bind_values(&self, plan: &Plan, views: &mut [RawView]) -> Result<()> {
        for (slot, _) in plan.phases.iter().flatten() {
            views[*slot] = crate::exec::view_of(self.storage(*slot)?);
        }
        Ok(())
    }

    /// This rank's pieces' accumulators of `across` (a reduction of the distributed arrays'
    /// rows, along axis 0 or over all axes), over its own rows of the window-aligned arrays in
    /// `views`.
    fn partials(&self, across: &Across, views: &[RawView]) -> Result<Vec<(Array, usize)>> {
        let g = &across.raw.graph;
        let prank = self.part.global.len();
        let w = &self.window;
        // Every array a program makes along the distributed axis is indexed from the window's
        // first row; one of another length (`t = u[1:-1]`) holds other global rows than the
        // pieces', which the tree of this reduction does not cut.
        let aligned = |v: &RawView| v.shape.len() == prank && v.shape[0] == w.len();
        for node in &g.nodes {
            if let NodeKind::Input(i) = node.kind {
                let Some(v) = views.get(root_slot(g, i)) else {
                    continue; // a literal
                };
                if v.shape.len() == prank && !aligned(v) {
                    return Err(Error::at(
                        ErrorKind::Value,
                        g.node(g.root).span,
                        "a reduction across ranks in a program reads an array whose rows are not the distributed arrays' rows (a slice along axis 0 assigned to an intermediate): reduce the whole arrays",
                    ));
                }
            }
        }
        if self.part.pieces.is_empty() {
            return Err(Error::at(
                ErrorKind::Value,
                g.node(g.root).span,
                "a reduction across ranks in a distributed program over arrays of no rows is not distributed",
            ));
        }
        let mut out = Vec::new();
        for p in self
            .part
            .pieces
            .iter()
            .filter(|p| self.part.owner(p.lo) == self.rank)
        {
            let slots: Vec<RawView> = views
                .iter()
                .map(|v| {
                    if aligned(v) {
                        rows_of(v, p.lo - w.start, p.hi - p.lo)
                    } else {
                        v.clone()
                    }
                })
                .collect();
            let inputs = crate::exec::program::graph_inputs(g, &slots)?;
            let piece = Window {
                rank: prank,
                global: self.part.global[0],
                offset: p.lo,
                len: p.hi - p.lo,
                raw_root: true,
            };
            let (value, count) = window::with(piece, || {
                let shapes = crate::core::shape::infer(g, &inputs)?;
                let count = match g.node(g.root).kind {
                    NodeKind::Reduce {
                        arg, axis: None, ..
                    } => shapes[arg].iter().product(),
                    _ => p.hi - p.lo,
                };
                let value = crate::exec::execute(g, &across.raw.kernels, &inputs, None)?
                    .ok_or_else(|| Error::new(ErrorKind::Internal, "no accumulator"))?;
                Ok::<_, Error>((value, count))
            })?;
            out.push((value, count));
        }
        Ok(out)
    }
}

impl<C: Communicator> Hook for Exchange<'_, C> {
    /// Makes each value's storage to the shape of its reduction over the dry run's views: 0-d,
    /// or a row for `axis=0` of 2-d values (which every rank knows, rows or none).
    fn shapes(&mut self, grp: &Group, views: &mut [RawView]) -> Result<()> {
        let Some(plan) = self.plan(grp) else {
            return Ok(());
        };
        let mut made = Vec::new();
        for phase in &plan.phases {
            for (slot, across) in phase {
                let g = &across.raw.graph;
                let inputs = crate::exec::program::graph_inputs(g, views)?;
                let shape = crate::core::shape::infer(g, &inputs)?[g.root].to_vec();
                let dtype = (self.slots.iter().find(|(s, ..)| s == slot))
                    .map(|&(_, dtype, _)| dtype)
                    .ok_or_else(|| Error::new(ErrorKind::Internal, "a value without a slot"))?;
                let storage = crate::exec::alloc(dtype, &shape)?;
                // Later phases read this value: their shapes depend on it.
                views[*slot] = crate::exec::view_of(&storage);
                made.push((*slot, storage));
            }
        }
        for (slot, storage) in made {
            match self.values.iter_mut().find(|(s, _)| *s == slot) {
                Some(v) => v.1 = storage,
                None => self.values.push((slot, storage)),
            }
        }
        Ok(())
    }

    fn checked(&mut self, outcome: Result<()>) -> Result<()> {
        agree(self.comm, outcome.as_ref().err(), None)?;
        outcome
    }

    fn before(&mut self, grp: &Group, views: &mut [RawView]) -> Result<()> {
        let g = &grp.unit.graph;
        let nslots = views.len();
        let mut stale = Vec::new();
        for node in &g.nodes {
            let NodeKind::Input(i) = node.kind else {
                continue;
            };
            let s = root_slot(g, i);
            if s >= nslots {
                continue;
            }
            if let Some(b) = self.buffer(&views[s]) {
                if self.dirty[b] && !stale.contains(&b) {
                    stale.push(b);
                }
            }
        }
        if !stale.is_empty() && self.depth > 0 && self.part.ranks() > 1 {
            let bufs: Vec<&RawView> = stale.iter().map(|&b| &self.buffers[b].view).collect();
            let t = std::time::Instant::now();
            let sent = self.halo.exchange(self.comm, &bufs);
            self.stats.exchanges += 1;
            self.stats.bytes_sent += sent as u64;
            self.stats.seconds += t.elapsed().as_secs_f64();
        }
        for b in stale {
            self.dirty[b] = false;
        }
        let Some(plan) = self.plan(grp) else {
            return Ok(());
        };
        self.bind_values(plan, views)?;
        // A phase at a time, as `dist::evaluate` does: every rank reduces its pieces, the ranks
        // agree on the outcome, combine, and the values land in their slots.
        for phase in &plan.phases {
            let mine: Result<Vec<_>> = phase
                .iter()
                .map(|(_, across)| self.partials(across, views))
                .collect();
            agree(self.comm, mine.as_ref().err(), None)?;
            for ((slot, across), p) in phase.iter().zip(mine?) {
                let storage = self.storage(*slot)?;
                let value = super::combine(self.comm, self.part, across, p, storage.shape())?;
                crate::exec::copy_broadcast(
                    &crate::exec::view_of(&value),
                    &crate::exec::view_of(storage),
                );
            }
        }
        Ok(())
    }

    fn after(&mut self, grp: &Group, views: &[RawView]) -> Result<()> {
        for t in &grp.targets {
            if let TargetKind::Whole(s) | TargetKind::Slice(s, _) = &t.kind {
                if let Some(b) = self.buffer(&views[*s]) {
                    self.dirty[b] = true;
                }
            }
        }
        Ok(())
    }
}

/// The slot a graph input reads (through any chain of subscripts).
fn root_slot(g: &Graph, mut i: usize) -> usize {
    while let Some(v) = &g.inputs[i].view {
        i = v.base;
    }
    i
}

/// Checks that the program can run on windows (see the module docs) and returns the halo
/// depth its targets need.
fn check(p: &Program, prank: usize) -> Result<usize> {
    let distributed: Vec<bool> = p.slots.iter().map(|s| s.rank == prank).collect();
    let mut depth = 0;
    check_steps(p, &p.steps, &distributed, prank, &mut depth)?;
    Ok(depth)
}

fn check_steps(
    p: &Program,
    steps: &[Step],
    distributed: &[bool],
    prank: usize,
    depth: &mut usize,
) -> Result<()> {
    for step in steps {
        match step {
            Step::Group(grp) => {
                let g = &grp.unit.graph;
                crossing(g, distributed, prank)?;
                for t in &grp.targets {
                    match &t.kind {
                        TargetKind::Result => {
                            return Err(Error::at(
                                ErrorKind::Value,
                                t.span,
                                "numjit::dist::run returns no value: assign it to an output (an expression alone: numjit::dist::evaluate)",
                            ))
                        }
                        TargetKind::Slice(s, items) if distributed[*s] => {
                            if matches!(p.slots[*s].kind, SlotKind::Temp) {
                                return Err(Error::at(
                                    ErrorKind::Value,
                                    t.span,
                                    "a partial assignment to an intermediate along the distributed axis is not distributed: bind it as an output",
                                ));
                            }
                            let (a, b) = stencil(items, prank)?;
                            *depth = (*depth).max(a).max(b);
                        }
                        _ => {}
                    }
                }
            }
            Step::Loop { range, body, .. } => {
                for (g, _) in range {
                    if let Some(&id) = crossing(g, distributed, prank)?.first() {
                        return Err(Error::at(
                            ErrorKind::Value,
                            g.node(id).span,
                            "a reduction along the distributed axis in a loop's range is not distributed: assign it to an intermediate first",
                        ));
                    }
                }
                check_steps(p, body, distributed, prank, depth)?;
            }
            Step::Swap { .. } => {}
        }
    }
    Ok(())
}

/// Checks that subscripts of distributed slots are in stencil form, and returns the reductions
/// along the distributed axis (over all axes, or along axis 0: values the same on every rank),
/// which the hook computes across ranks before the group runs.
fn crossing(g: &Graph, distributed: &[bool], prank: usize) -> Result<Vec<NodeId>> {
    let slots = distributed.len();
    // `along0[i]`: input i's axis 0 is the distributed axis.
    let mut along0 = vec![false; g.inputs.len()];
    for (i, decl) in g.inputs.iter().enumerate() {
        along0[i] = match &decl.view {
            None => i < slots && distributed[i],
            Some(v) => {
                if along0[v.base] {
                    stencil(&v.items, g.inputs[v.base].rank)?;
                }
                along0[v.base]
            }
        };
    }
    // `tainted[n]`: node n's axis 0 is the distributed axis (from a distributed input or a
    // generator over the global rows).
    let mut tainted = vec![false; g.nodes.len()];
    let mut out = Vec::new();
    for (id, node) in g.nodes.iter().enumerate() {
        tainted[id] = match &node.kind {
            NodeKind::Input(i) => along0[*i],
            NodeKind::Iota { axis, .. } => *axis == 0 && node.rank == prank,
            NodeKind::Reduce { arg, axis, .. } => {
                if tainted[*arg] && matches!(axis, None | Some(0)) {
                    out.push(id);
                    false
                } else {
                    tainted[*arg]
                }
            }
            _ => g.args(id).iter().any(|&a| tainted[a]),
        };
    }
    Ok(out)
}

/// Cuts every group at its reductions across ranks (`nest.rs`): each value gets a slot of its
/// own, past every graph's inputs (a program's graphs read slot `i` as input `i`), which the
/// hook fills before the group runs. Returns the groups' plans and the values' slots and dtypes.
fn nest(p: &mut Program, prank: usize) -> Result<(Vec<Plan>, ValueSlots)> {
    let distributed: Vec<bool> = p.slots.iter().map(|s| s.rank == prank).collect();
    fn widest(steps: &[Step], n: &mut usize) {
        for step in steps {
            match step {
                Step::Group(grp) => *n = (*n).max(grp.unit.graph.inputs.len()),
                Step::Loop { range, body, .. } => {
                    for (g, _) in range {
                        *n = (*n).max(g.inputs.len());
                    }
                    widest(body, n);
                }
                Step::Swap { .. } => {}
            }
        }
    }
    let mut next = p.slots.len();
    widest(&p.steps, &mut next);
    let mut plans = Vec::new();
    let mut values = Vec::new();
    fn walk(
        steps: &mut [Step],
        distributed: &[bool],
        prank: usize,
        next: &mut usize,
        plans: &mut Vec<Plan>,
        values: &mut ValueSlots,
    ) -> Result<()> {
        for step in steps {
            match step {
                Step::Group(grp) => {
                    let g = &grp.unit.graph;
                    let cut = crossing(g, distributed, prank)?;
                    if cut.is_empty() {
                        continue;
                    }
                    let split = super::nest::split_at(g, |_, id| cut.contains(&id), *next);
                    let mut phases = Vec::new();
                    for phase in split.phases {
                        let mut reductions = Vec::new();
                        for inner in phase {
                            whole_rows(&inner.graph, distributed)?;
                            let decl = &inner.graph.inputs[inner.input];
                            values.push((inner.input, decl.dtype, decl.rank));
                            reductions.push((inner.input, Across::new(&inner.graph)?));
                            *next = (*next).max(inner.input + 1);
                        }
                        phases.push(reductions);
                    }
                    grp.unit = Unit::compile(split.outer)?;
                    plans.push(Plan {
                        group: &**grp as *const Group,
                        phases,
                    });
                }
                Step::Loop { body, .. } => {
                    walk(body, distributed, prank, next, plans, values)?;
                }
                Step::Swap { .. } => {}
            }
        }
        Ok(())
    }
    walk(
        &mut p.steps,
        &distributed,
        prank,
        &mut next,
        &mut plans,
        &mut values,
    )?;
    // The values' slots, and unused ones before them (the executor gives every slot a view).
    while p.slots.len() < next {
        let i = p.slots.len();
        let (dtype, rank, name) = match values.iter().find(|(s, ..)| *s == i) {
            Some(&(_, dtype, rank)) => (dtype, rank, format!("value@{i}")),
            None => (crate::core::dtype::DType::Float64, 0, String::new()),
        };
        p.slots.push(Slot {
            name,
            dtype,
            rank,
            kind: SlotKind::Temp,
        });
    }
    Ok((plans, values))
}

/// A reduction across ranks in a program reads the distributed arrays' rows whole: a slice
/// along axis 0 of its pieces' rows would read rows of other pieces.
fn whole_rows(g: &Graph, distributed: &[bool]) -> Result<()> {
    // The graph keeps all its group's inputs: check those it reads.
    let read = |i: usize| g.nodes.iter().any(|n| n.kind == NodeKind::Input(i));
    for (i, decl) in g.inputs.iter().enumerate() {
        let Some(view) = decl.view.as_ref().filter(|_| read(i)) else {
            continue;
        };
        let s = root_slot(g, view.base);
        if !distributed.get(s).copied().unwrap_or(false) {
            continue;
        }
        // `crossing` has checked the subscript's stencil form.
        if stencil(&view.items, g.inputs[view.base].rank)? != (0, 0) {
            return Err(Error::at(
                ErrorKind::Value,
                view.span,
                "a reduction across ranks in a distributed program reads the distributed arrays whole along axis 0: a slice there is not distributed (assign the sliced values to an output first)",
            ));
        }
    }
    Ok(())
}

/// The offsets `(a, b)` of a subscript along axis 0 of an array of rank `rank` that selects
/// rows `a..len - b` whatever the length (the stencil form); an error for any other.
fn stencil(items: &[IndexItem], rank: usize) -> Result<(usize, usize)> {
    let consumed = items
        .iter()
        .filter(|i| matches!(i.kind, IndexKind::Index(_) | IndexKind::Slice { .. }))
        .count();
    let not = |span| {
        Error::at(
            ErrorKind::Value,
            span,
            "along the distributed axis 0 numjit::dist::run takes slices `a:-b` (a >= 0 rows from the front, b > 0 from the back, step 1) only: other subscripts read rows of other ranks far away",
        )
    };
    match items.first().map(|i| (i.kind, i.span)) {
        None => Ok((0, 0)),
        Some((IndexKind::Ellipsis, _)) if consumed < rank => Ok((0, 0)),
        Some((IndexKind::Slice { start, stop, step }, s)) => {
            if !matches!(step, None | Some(1)) {
                return Err(not(s));
            }
            let a = match start {
                None => 0,
                Some(a) if a >= 0 => a as usize,
                _ => return Err(not(s)),
            };
            let b = match stop {
                None => 0,
                Some(b) if b < 0 => b.unsigned_abs() as usize,
                _ => return Err(not(s)),
            };
            Ok((a, b))
        }
        Some((_, s)) => Err(not(s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signature of writable 8 × 4 float64 arrays `u` and `next`.
    fn u_and_next() -> Signature {
        let mut u = ndarray::Array2::<f64>::zeros((8, 4));
        let mut next = u.clone();
        let vars = Vars::new()
            .with_out("u", &mut u)
            .with_out("next", &mut next);
        vars.signature()
    }

    /// The halo depth `check` gives a program over 2-d `u` and `next`, or its error.
    fn depth(src: &str) -> Result<usize> {
        let mut p = Program::compile(&crate::parse::parse_program(src)?, &u_and_next())?;
        let depth = check(&p, 2)?;
        nest(&mut p, 2)?;
        Ok(depth)
    }

    /// `run` finds a program it compiled before (same source, signature and rank of the
    /// distributed arrays) instead of compiling it again; another rank of arrays, another
    /// signature or another source is another entry, and a program that fails to compile is
    /// not kept.
    #[test]
    fn programs_are_compiled_once_per_source_signature_and_rank() {
        let sig = u_and_next();
        let compiles = std::cell::Cell::new(0);
        let get = |src: &str, sig: &Signature, prank: usize| {
            PROGRAMS.get((src, sig, prank), || {
                compiles.set(compiles.get() + 1);
                Compiled::new(src, sig, prank)
            })
        };
        // A source of its own: other tests' runs share the cache.
        let src = "for k in range(3):\n    next[1:-1] = u[2:] + u[:-2] + 0.0625\n    swap(u, next)";
        let first = get(src, &sig, 2).map_err(|e| e.to_string());
        let again = get(src, &sig, 2).map_err(|e| e.to_string());
        assert!(matches!((&first, &again), (Ok(a), Ok(b)) if std::sync::Arc::ptr_eq(a, b)));
        assert_eq!(compiles.get(), 1);
        assert_eq!(first.map(|c| c.depth), Ok(1));
        // 1-d `u` and `next` (another rank) and another signature are other entries.
        assert!(get(src, &sig, 1).is_ok());
        let mut f = ndarray::Array2::<f32>::zeros((8, 4));
        let mut g = f.clone();
        let other = Vars::new().with_out("u", &mut f).with_out("next", &mut g);
        assert!(get(src, &other.signature(), 2).is_ok());
        assert_eq!(compiles.get(), 3);
        for _ in 0..2 {
            let bad = get("next[1:-1] = u[2:] +", &sig, 2).map(|_| ());
            assert!(bad.is_err_and(|e| e.to_string().contains("next[1:-1] = u[2:] +")));
        }
        assert_eq!(compiles.get(), 5);
    }

    #[test]
    fn depth_is_the_largest_target_offset() {
        for (src, want) in [
            ("next[1:-1, 1:-1] = u[2:, 1:-1] + u[:-2, 1:-1]", 1),
            ("next[2:-2] = u[4:] + u[:-4]", 2),
            ("next[:-3] = u[3:]", 3),
            ("next = u * 2", 0),
            ("next[..., 1:] = u[..., :-1]", 0),
            ("t = u[2:] - u[:-2]\nnext[1:-1] = t", 1),
        ] {
            assert_eq!(depth(src).map_err(|e| e.to_string()), Ok(want), "{src}");
        }
    }

    #[test]
    fn reductions_across_ranks_get_slots_of_their_own() {
        let src = "for i in range(3):\n    next[1:-1] = u[2:] - mean(u - mean(u)) + sum(u[:, 1:])\n    swap(u, next)";
        let mut p =
            Program::compile(&crate::parse::parse_program(src).unwrap(), &u_and_next()).unwrap();
        let before = p.slots.len();
        let (plans, values) = nest(&mut p, 2).unwrap();
        assert_eq!(plans.len(), 1);
        let depths: Vec<usize> = plans[0].phases.iter().map(Vec::len).collect();
        assert_eq!(depths, [2, 1]);
        assert_eq!(values.len(), 3);
        for &(s, dtype, rank) in &values {
            assert!(
                s >= before && s < p.slots.len(),
                "{s} {before} {}",
                p.slots.len()
            );
            assert_eq!(
                (dtype, rank, p.slots[s].rank),
                (crate::DType::Float64, 0, 0)
            );
        }
        // No reduction across ranks is left in the group.
        let Step::Loop { body, .. } = &p.steps[0] else {
            panic!("a loop")
        };
        let Step::Group(grp) = &body[0] else {
            panic!("a group")
        };
        let distributed: Vec<bool> = p.slots.iter().map(|s| s.rank == 2).collect();
        assert_eq!(crossing(&grp.unit.graph, &distributed, 2).unwrap(), []);
    }

    #[test]
    fn other_reads_along_axis_0_are_errors() {
        for src in [
            "next[:] = u[::-1]",
            "next[0] = u[1]",
            "next[1:3] = u[2:4]",
            "next[:] = u[-8:]",
            "u * 2",
            "next[:] = u - sum(u[1:])",
            "for i in range(sum(u > 0)):\n    next[:] = u",
        ] {
            let e = depth(src).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Value, "{src}: {e}");
        }
        // Along axis 0 of 2-d values: a row, in a slot of rank 1.
        let src = "next[:] = u - max(u, axis=0)";
        assert_eq!(depth(src).map_err(|e| e.to_string()), Ok(0));
        let mut p =
            Program::compile(&crate::parse::parse_program(src).unwrap(), &u_and_next()).unwrap();
        let (_, values) = nest(&mut p, 2).unwrap();
        assert!(matches!(values[..], [(s, crate::DType::Float64, 1)] if p.slots[s].rank == 1));
        // Along other axes anything goes.
        assert_eq!(
            depth("next[:, ::-1] = u[:, 1:2] + sum(u, axis=1)[:, None]").ok(),
            None
        );
        assert_eq!(
            depth("next[:, ::-1] = u[:, 1:2] * 2").map_err(|e| e.to_string()),
            Ok(0)
        );
    }
}
