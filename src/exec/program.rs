//! Runs a compiled program: binds slots, checks every shape before the first write (a dry run
//! over the same steps), then executes groups, loops and swaps.
//!
//! A group's targets are written by its fused kernel directly when they share one shape and
//! none overlaps memory the kernel reads in another arrangement; otherwise every value is
//! computed into a temporary first and then copied ("evaluate fully, then write", NumPy's
//! result for `u[1:] = u[:-1] + 1`).
//!
//! A group whose slots have the views they had on an earlier run (a time loop's steps, a
//! `swap` alternating two sets) runs with the binding it made then (`memo.rs`).

use super::memo::{Bound, Memo};
use super::{alloc, broadcast_strides, copy_broadcast, overlaps, view_of};
use crate::api::array::Array;
use crate::core::error::{Error, ErrorKind, Result};
use crate::core::index;
use crate::core::shape::{self, fmt_shape, Shape};
use crate::core::view::RawView;
use crate::interp;

use crate::lower::program::{SlotKind, TargetKind};
use crate::program::{Group, Program, Step, Unit};

struct State<'p> {
    p: &'p Program,
    views: Vec<RawView>,
    /// Temporaries' storage (by slot).
    owned: Vec<Option<Array>>,
    /// Loop variables' storage (by slot; never resized, so views may point into it).
    cells: Vec<i64>,
    result: Option<Array>,
    /// Where the result goes, when the caller gave an array for it.
    out: Option<&'p RawView>,
    /// Checking shapes only: no kernel runs and nothing is written.
    dry: bool,
    reference: bool,
    /// The groups' latest bindings (a time loop's steps bind alike).
    memo: Memo,
    /// Groups computed (what the tests count; the loop may run on a pool thread, so the
    /// count travels with the state to the caller's thread).
    #[cfg(test)]
    group_runs: usize,
    /// Groups run with a remembered binding (as `group_runs`).
    #[cfg(test)]
    memo_hits: usize,
}

#[cfg(test)]
thread_local! {
    /// Groups this thread computed, dry run included (what the tests count).
    static GROUP_RUNS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// Groups this thread ran with a remembered binding ([`Memo`]).
    static MEMO_HITS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// What a distributed run (`numjit::dist::run`) does around a program's steps: the real run
/// calls it on the caller's thread (never on the pool: it talks to other ranks), the dry run
/// only to learn the shapes of what it fills.
pub(crate) trait Hook {
    /// In the dry run, before group `grp`: gives the slots the hook fills for it their views
    /// (storage of the shape the dry run's `views` imply), so that the dry run checks what
    /// reads them.
    fn shapes(&mut self, grp: &Group, views: &mut [RawView]) -> Result<()>;
    /// After the dry run, with its outcome (the ranks agree on it before any data moves).
    fn checked(&mut self, outcome: Result<()>) -> Result<()>;
    /// Before group `grp` runs, with the slots' views at that point; it may point the slots
    /// it fills at their storage.
    fn before(&mut self, grp: &Group, views: &mut [RawView]) -> Result<()>;
    /// After group `grp` wrote its targets.
    fn after(&mut self, grp: &Group, views: &[RawView]) -> Result<()>;
}

/// The hook of an ordinary run: nothing around the steps.
struct NoHook;

impl Hook for NoHook {
    fn shapes(&mut self, _: &Group, _: &mut [RawView]) -> Result<()> {
        Ok(())
    }
    fn checked(&mut self, outcome: Result<()>) -> Result<()> {
        outcome
    }
    fn before(&mut self, _: &Group, _: &mut [RawView]) -> Result<()> {
        Ok(())
    }
    fn after(&mut self, _: &Group, _: &[RawView]) -> Result<()> {
        Ok(())
    }
}

pub(crate) fn run<'p>(
    p: &'p Program,
    caller: Vec<RawView>,
    reference: bool,
    out: Option<&'p RawView>,
) -> Result<Option<Array>> {
    let value = run_steps(p, caller, reference, out, None)?;
    // A cancelled evaluation may have skipped any part of its work: nothing it computed counts.
    super::cancel::check()?;
    Ok(value)
}

/// Runs program `p` with `hook` around its groups, all on this thread (a lone expression too,
/// as a program: dry run, then its group). The slots past the caller's that no group
/// writes (`numjit::dist`'s values of reductions across ranks) are the hook's to fill, in
/// `shapes` and `before`.
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
pub(crate) fn run_hooked(
    p: &Program,
    caller: Vec<RawView>,
    hook: &mut dyn Hook,
) -> Result<Option<Array>> {
    let value = run_steps(p, caller, false, None, Some(hook))?;
    super::cancel::check()?;
    Ok(value)
}

fn run_steps<'p>(
    p: &'p Program,
    caller: Vec<RawView>,
    reference: bool,
    out: Option<&'p RawView>,
    hook: Option<&mut dyn Hook>,
) -> Result<Option<Array>> {
    if let (Some(g), None) = (p.lone_expression(), &hook) {
        return lone_expression(g, caller, reference, out);
    }
    check_outputs_apart(p, &caller)?;
    let originals = caller.clone();
    let mut cells: Vec<i64> = vec![0; p.slots.len()];
    let mut views = caller;
    for (i, slot) in p.slots.iter().enumerate().skip(views.len()) {
        let ptr = match slot.kind {
            SlotKind::LoopVar => &mut cells[i] as *mut i64 as *const u8,
            _ => std::ptr::null(),
        };
        views.push(RawView {
            dtype: slot.dtype,
            ptr,
            shape: smallvec::smallvec![0; slot.rank],
            strides: smallvec::smallvec![0; slot.rank],
        });
    }
    // Shapes first: a program that fails does so before writing anything. The same state runs
    // both passes (the loop variables' views point into `cells`, moved along, never resized).
    let fresh = |views: Vec<RawView>, cells: Vec<i64>, dry: bool| State {
        p,
        views,
        owned: (0..p.slots.len()).map(|_| None).collect(),
        cells,
        result: None,
        out,
        dry,
        reference,
        memo: Memo::default(),
        #[cfg(test)]
        group_runs: 0,
        #[cfg(test)]
        memo_hits: 0,
    };
    let mut dry = fresh(views.clone(), cells, true);
    if let Some(hook) = hook {
        let checked = dry.steps(&p.steps, hook);
        let mut state = fresh(views, dry.cells, false);
        hook.checked(checked)?;
        state.steps(&p.steps, hook)?;
        state.restore(&originals)?;
        return Ok(state.result);
    }
    dry.steps(&p.steps, &mut NoHook)?;
    let mut state = fresh(views, dry.cells, false);
    // A loop forks on the pool once per step of its body: from one of the pool's own threads
    // that is a push onto its queue, from the caller's thread a wake-up and a wait each time
    // (measured on P5's 13 410 small steps at 2 threads: `benches/course/RESULTS-session5.md`).
    let mut state =
        if p.steps.iter().any(|s| matches!(s, Step::Loop { .. })) && super::num_threads() > 1 {
            super::on_pool(move || state.steps(&p.steps, &mut NoHook).map(|()| state))?
        } else {
            state.steps(&p.steps, &mut NoHook)?;
            state
        };
    state.restore(&originals)?;
    #[cfg(test)]
    GROUP_RUNS.with(|n| n.set(n.get() + dry.group_runs + state.group_runs));
    #[cfg(test)]
    MEMO_HITS.with(|n| n.set(n.get() + state.memo_hits));
    Ok(state.result)
}

impl State<'_> {
    fn steps(&mut self, steps: &[Step], hook: &mut dyn Hook) -> Result<()> {
        for step in steps {
            match step {
                Step::Group(g) if self.dry => {
                    hook.shapes(g, &mut self.views)?;
                    self.group(g)?;
                }
                Step::Group(g) => {
                    hook.before(g, &mut self.views)?;
                    self.group(g)?;
                    hook.after(g, &self.views)?;
                }
                Step::Swap { a, b, span } => {
                    let (va, vb) = (&self.views[*a], &self.views[*b]);
                    if va.shape != vb.shape {
                        return Err(Error::at(
                            ErrorKind::Broadcast,
                            *span,
                            format!(
                                "cannot swap `{}` of shape {} and `{}` of shape {}",
                                self.p.slots[*a].name,
                                fmt_shape(&va.shape),
                                self.p.slots[*b].name,
                                fmt_shape(&vb.shape)
                            ),
                        ));
                    }
                    self.views.swap(*a, *b);
                }
                Step::Loop {
                    var,
                    range,
                    body,
                    span,
                } => {
                    let args = range
                        .iter()
                        .map(|(g, code)| self.scalar(g, code.as_ref()))
                        .collect::<Result<Vec<i64>>>()?;
                    let (start, stop, step) = match args[..] {
                        [stop] => (0, stop, 1),
                        [start, stop] => (start, stop, 1),
                        [start, stop, step] => (start, stop, step),
                        _ => unreachable!("the parser allows 1 to 3 arguments"),
                    };
                    if step == 0 {
                        return Err(Error::at(
                            ErrorKind::Value,
                            *span,
                            "range() step must not be zero",
                        ));
                    }
                    // Python's trip count first, as kernel loops do: stepping the counter
                    // past `stop` would wrap near `i64::MAX` and never end.
                    for trip in 0..crate::interp::kernel::trip_count(start, stop, step) {
                        super::cancel::check()?;
                        // Exact: every value of the range lies between `start` and `stop`.
                        self.cells[*var] = start.wrapping_add((trip as i64).wrapping_mul(step));
                        self.steps(body, hook)?;
                        if self.dry {
                            break; // every iteration has the same shapes
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The value of a 0-d integer graph (a `range` argument): by constant evaluation over the
    /// bound scalars, or, for an argument that reduces an array (`range(sum(m))`), by its code.
    fn scalar(&self, g: &crate::ir::Graph, code: Option<&Unit>) -> Result<i64> {
        let views = self.bind(g)?;
        let Some(unit) = code else {
            return crate::ir::eval::scalar_value(g, g.root, Some(&views))
                .map(|v| v.as_i64())
                .ok_or_else(|| Error::new(ErrorKind::Internal, "range argument not constant"));
        };
        match super::execute(g, &unit.kernels, &views, None)? {
            Some(Array::Int64(a)) => Ok(a.iter().next().copied().unwrap_or(0)),
            _ => Err(Error::new(ErrorKind::Internal, "range argument not int64")),
        }
    }

    /// The views of a graph's inputs.
    fn bind(&self, g: &crate::ir::Graph) -> Result<Vec<RawView>> {
        graph_inputs(g, &self.views)
    }

    fn group(&mut self, grp: &Group) -> Result<()> {
        let remembers = !self.dry && !self.reference;
        if remembers {
            if let Some(b) = self.memo.get(grp, &self.views) {
                self.execute(grp, &b.inputs, &b.shapes, &b.targets)?;
                #[cfg(test)]
                {
                    self.group_runs += 1;
                    self.memo_hits += 1;
                }
                return Ok(());
            }
        }
        let g = &grp.unit.graph;
        let inputs = self.bind(g)?;
        let shapes = shape::infer(g, &inputs)?;
        // Where each value goes; temporaries and the result are made to the value's shape.
        let mut targets = Vec::with_capacity(grp.targets.len());
        let mut fresh = Vec::new();
        for (t, &root) in grp.targets.iter().zip(&g.roots) {
            let value_shape = &shapes[root];
            let dtype = g.node(root).dtype;
            let view = match (&t.kind, self.out) {
                (TargetKind::Whole(s), _) => self.views[*s].clone(),
                (TargetKind::Slice(s, items), _) => index::apply(&self.views[*s], items, t.span)?,
                (TargetKind::Result, Some(out)) => {
                    check_out(out, value_shape, dtype)?;
                    out.clone()
                }
                (TargetKind::Temp(_) | TargetKind::Result, _) => {
                    // A 0-d temporary may give a generator its length, which shape inference
                    // reads: the dry run allocates those (8 bytes), and only those.
                    if self.dry && !value_shape.is_empty() {
                        RawView {
                            dtype,
                            ptr: std::ptr::null(),
                            shape: value_shape.clone(),
                            strides: smallvec::smallvec![0; value_shape.len()],
                        }
                    } else {
                        let a = alloc(dtype, value_shape)?;
                        let v = view_of(&a);
                        fresh.push((targets.len(), a));
                        v
                    }
                }
            };
            if shape::broadcast(value_shape, &view.shape).as_ref() != Some(&view.shape) {
                return Err(Error::at(
                    ErrorKind::Broadcast,
                    t.span,
                    format!(
                        "could not broadcast a value of shape {} into a target of shape {}",
                        fmt_shape(value_shape),
                        fmt_shape(&view.shape)
                    ),
                ));
            }
            targets.push(view);
        }
        // A dry run computes groups that only make 0-d temporaries: later shapes may depend on
        // their values (generator lengths), and computing them writes nothing of the caller's.
        // A group of nothing but the result feeds no later shape: computing it there too would
        // double the cost of a program ending in a reduction (P9's `sum` over `arange`).
        let scalars_only = grp.targets.iter().zip(&g.roots).all(|(t, &r)| {
            matches!(t.kind, TargetKind::Temp(_) | TargetKind::Result) && shapes[r].is_empty()
        });
        let feeds_shapes = grp
            .targets
            .iter()
            .any(|t| matches!(t.kind, TargetKind::Temp(_)));
        if !self.dry || (scalars_only && feeds_shapes) {
            #[cfg(test)]
            {
                self.group_runs += 1;
            }
            if self.reference {
                let values = interp::interpret_roots(g, &inputs)?;
                for (v, target) in values.iter().zip(&targets) {
                    copy_broadcast(&view_of(v), target);
                }
            } else {
                self.execute(grp, &inputs, &shapes, &targets)?;
            }
        }
        // Temporaries and the result now hold their values.
        let mut fresh = fresh.into_iter().peekable();
        for (i, t) in grp.targets.iter().enumerate() {
            let owned = match fresh.peek() {
                Some((j, _)) if *j == i => fresh.next().map(|(_, a)| a),
                _ => None,
            };
            match (&t.kind, owned) {
                (TargetKind::Temp(s), Some(a)) => {
                    self.views[*s] = view_of(&a);
                    self.owned[*s] = Some(a);
                }
                (TargetKind::Temp(s), None) => self.views[*s] = targets[i].clone(),
                (TargetKind::Result, a) => self.result = a,
                _ => {}
            }
        }
        if remembers {
            let bound = Bound {
                inputs,
                shapes,
                targets,
            };
            self.memo.put(grp, &self.views, bound);
        }
        Ok(())
    }

    fn execute(
        &self,
        grp: &Group,
        inputs: &[RawView],
        shapes: &[Shape],
        targets: &[RawView],
    ) -> Result<()> {
        let unit = &grp.unit;
        let fused = |outs: &[RawView]| {
            super::execute_stores(&unit.graph, &unit.kernels, inputs, shapes, outs)
        };
        let same_shape = targets.iter().all(|t| t.shape == targets[0].shape);
        if same_shape && !aliased(unit, inputs, targets) {
            return fused(targets);
        }
        if same_shape {
            // Evaluate fully, then write.
            let temps = targets
                .iter()
                .map(|t| alloc(t.dtype, &t.shape))
                .collect::<Result<Vec<Array>>>()?;
            let views: Vec<RawView> = temps.iter().map(view_of).collect();
            fused(&views)?;
            for (a, t) in temps.iter().zip(targets) {
                copy_broadcast(&view_of(a), t);
            }
            return Ok(());
        }
        // Targets of several shapes: one fused pass per shape, in order of appearance. Straight
        // into the targets when no target overlaps what the group reads; else into temporaries,
        // all written after the last pass.
        let mut parts: Vec<Vec<usize>> = Vec::new();
        for (i, t) in targets.iter().enumerate() {
            match parts.iter_mut().find(|p| targets[p[0]].shape == t.shape) {
                Some(p) => p.push(i),
                None => parts.push(vec![i]),
            }
        }
        // Element for element is not enough here: a later pass would read what an earlier one
        // wrote (`o = o * 0.5` then `o + a[:, None]` read the halved, int-cast `o`).
        let direct = !aliased_at_all(unit, inputs, targets);
        let mut temps: Vec<(usize, Array)> = Vec::new();
        for part in &parts {
            let u = grp.part(part)?;
            let shapes = shape::infer(&u.graph, inputs)?;
            let outs: Vec<RawView> = if direct {
                part.iter().map(|&i| targets[i].clone()).collect()
            } else {
                let owned: Vec<Array> = part
                    .iter()
                    .map(|&i| alloc(targets[i].dtype, &targets[i].shape))
                    .collect::<Result<_>>()?;
                let views = owned.iter().map(view_of).collect();
                temps.extend(part.iter().copied().zip(owned));
                views
            };
            super::execute_stores(&u.graph, &u.kernels, inputs, &shapes, &outs)?;
        }
        for (i, a) in &temps {
            copy_broadcast(&view_of(a), &targets[*i]);
        }
        Ok(())
    }

    /// After swaps, a caller name may refer to another caller array: copy values back so
    /// that each of the caller's arrays holds the value of its own name.
    fn restore(&mut self, originals: &[RawView]) -> Result<()> {
        let moved: Vec<usize> = (0..originals.len())
            .filter(|&i| self.views[i].ptr != originals[i].ptr)
            .collect();
        let values = moved
            .iter()
            .map(|&i| {
                let v = &self.views[i];
                let a = alloc(v.dtype, &v.shape)?;
                copy_broadcast(v, &view_of(&a));
                Ok(a)
            })
            .collect::<Result<Vec<Array>>>()?;
        for (&i, a) in moved.iter().zip(&values) {
            copy_broadcast(&view_of(a), &originals[i]);
        }
        Ok(())
    }
}

/// An `output` error when two of the caller's writable arrays share memory: the groups check
/// what they write against what they read, not against each other, and which write would win
/// depends on fusion and chunking.
fn check_outputs_apart(p: &Program, caller: &[RawView]) -> Result<()> {
    let writable: Vec<usize> = (0..caller.len())
        .filter(|&i| matches!(p.slots[i].kind, SlotKind::Caller { writable: true }))
        .collect();
    for (k, &a) in writable.iter().enumerate() {
        if let Some(&b) = writable[k + 1..]
            .iter()
            .find(|&&b| overlaps(&caller[a], &caller[b]))
        {
            return Err(Error::new(
                ErrorKind::Output,
                format!(
                    "outputs `{}` and `{}` share memory; pass arrays that do not overlap",
                    p.slots[a].name, p.slots[b].name
                ),
            ));
        }
    }
    Ok(())
}

/// The views of a graph's inputs: the slots' views, then views of them (`u[1:-1]`; a derived
/// input comes after its base).
pub(crate) fn graph_inputs(g: &crate::ir::Graph, slots: &[RawView]) -> Result<Vec<RawView>> {
    let mut views: Vec<RawView> = Vec::with_capacity(g.inputs.len());
    for (i, decl) in g.inputs.iter().enumerate() {
        let v = match (&decl.view, &decl.literal) {
            (Some(v), _) => index::apply(&views[v.base], &v.items, v.span)?,
            // The graph owns the bytes for as long as any evaluation of it runs.
            (None, Some(bytes)) => RawView {
                dtype: decl.dtype,
                ptr: bytes.as_ptr(),
                shape: Default::default(),
                strides: Default::default(),
            },
            (None, None) => slots[i].clone(),
        };
        views.push(v);
    }
    Ok(views)
}

/// The shape of a lone expression's result for the caller's views, from the shapes alone;
/// `None` for other programs (whose result may depend on statements run before it).
pub(crate) fn result_shape(p: &Program, caller: Vec<RawView>) -> Result<Option<Vec<usize>>> {
    let Some(grp) = p.lone_expression() else {
        return Ok(None);
    };
    let g = &grp.unit.graph;
    let shapes = crate::core::shape::infer(g, &graph_inputs(g, &caller)?)?;
    Ok(Some(shapes[g.root].to_vec()))
}

/// A program that is one expression: no dry run (nothing is written before the executor has
/// checked every shape) and no program state, so that it costs what a bare kernel call costs.
fn lone_expression(
    grp: &Group,
    caller: Vec<RawView>,
    reference: bool,
    out: Option<&RawView>,
) -> Result<Option<Array>> {
    let g = &grp.unit.graph;
    // Without subscripts the graph's inputs are the caller's views: no second vector per call.
    let inputs = if g.inputs.len() == caller.len() && g.inputs.iter().all(|d| d.view.is_none()) {
        caller
    } else {
        graph_inputs(g, &caller)?
    };
    #[cfg(test)]
    GROUP_RUNS.with(|n| n.set(n.get() + 1));
    if !reference {
        return super::execute(g, &grp.unit.kernels, &inputs, out);
    }
    let value = interp::interpret(g, &inputs)?;
    match out {
        None => Ok(Some(value)),
        Some(out) => {
            let v = view_of(&value);
            check_out(out, &v.shape, v.dtype)?;
            copy_broadcast(&v, out);
            Ok(None)
        }
    }
}

/// A caller's array for the result must have exactly the result's shape and dtype.
fn check_out(out: &RawView, shape: &[usize], dtype: crate::core::dtype::DType) -> Result<()> {
    if out.shape.as_slice() == shape && out.dtype == dtype {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Output,
        format!(
            "output has shape {} and dtype {}, but the expression gives shape {} and dtype {dtype}",
            fmt_shape(&out.shape),
            out.dtype,
            fmt_shape(shape),
        ),
    ))
}

/// True when a target overlaps memory the group's kernel reads through a different view (the
/// same element read and written by the same element is fine).
fn aliased(unit: &Unit, inputs: &[RawView], targets: &[RawView]) -> bool {
    let read = group_reads(unit, inputs);
    targets.iter().any(|t| {
        read.iter().any(|r| {
            overlaps(t, r)
                && !(r.ptr == t.ptr
                    && r.dtype.size() == t.dtype.size()
                    // A read of more dimensions than the target (a reduction's input) cannot
                    // map element for element.
                    && r.shape.len() <= t.shape.len()
                    && broadcast_strides(&r.shape, &r.strides, &t.shape) == t.strides)
        })
    })
}

/// True when a target overlaps anything the group reads, even element for element.
fn aliased_at_all(unit: &Unit, inputs: &[RawView], targets: &[RawView]) -> bool {
    let read = group_reads(unit, inputs);
    targets.iter().any(|t| read.iter().any(|r| overlaps(t, r)))
}

/// The views a group's graph reads.
fn group_reads<'a>(unit: &Unit, inputs: &'a [RawView]) -> Vec<&'a RawView> {
    unit.graph
        .nodes
        .iter()
        .filter_map(|n| match n.kind {
            crate::ir::NodeKind::Input(i) => Some(&inputs[i]),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{GROUP_RUNS, MEMO_HITS};
    use crate::{Engine, Vars};

    fn group_runs(src: &str, vars: &Vars) -> (f64, usize) {
        let k = Engine::default().compile(src, &vars.signature()).unwrap();
        GROUP_RUNS.with(|n| n.set(0));
        let r = k.run(vars).unwrap().unwrap().to_f64()[[]];
        (r, GROUP_RUNS.with(|n| n.get()))
    }

    #[test]
    fn a_final_reduction_is_computed_once() {
        // The result feeds no shape: the real run computes it, the dry run does not.
        let vars = Vars::new().with("n", 1000_i64).with("dx", 0.5);
        let (r, runs) = group_runs("x = arange(n) * dx\nsum(x)", &vars);
        assert_eq!((r, runs), (0.5 * 999.0 * 1000.0 / 2.0, 1));
        // Neither after a loop that writes what it reads.
        let mut u = ndarray::Array1::from_elem(8, 1.0);
        let vars = vars.with_out("u", &mut u);
        let (r, runs) = group_runs("for i in range(3):\n    u = 2*u\nsum(u)", &vars);
        assert_eq!((r, runs), (64.0, 4));
    }

    #[test]
    fn a_time_loop_binds_each_set_of_views_once() {
        // A stencil step and a reduction, a swap between them: the slots alternate between two
        // sets of views, each bound once; the other 7 of 9 steps run both groups from memory,
        // with the bits of binding every step (the reference interpreter binds every time).
        let init = ndarray::Array2::from_shape_fn((12, 9), |(i, j)| ((i * 7 + j * 3) % 11) as f64);
        let src = "for step in range(9):\n    next[1:-1, 1:-1] = u[1:-1, 1:-1] + 0.1*(u[2:, 1:-1] + u[:-2, 1:-1] - 2*u[1:-1, 1:-1])\n    swap(u, next)\n    r = sum(u) * step";
        let run = |reference: bool| {
            let (mut u, mut next, mut r) = (init.clone(), init.clone(), ndarray::arr0(0.0_f64));
            let vars = Vars::new()
                .with_out("u", &mut u)
                .with_out("next", &mut next)
                .with_out("r", &mut r);
            let k = Engine::default().compile(src, &vars.signature()).unwrap();
            MEMO_HITS.with(|n| n.set(0));
            if reference {
                k.run_reference(&vars).unwrap();
            } else {
                k.run(&vars).unwrap();
            }
            drop(vars);
            (
                u.mapv(f64::to_bits),
                r[()].to_bits(),
                MEMO_HITS.with(|n| n.get()),
            )
        };
        let (u, r, hits) = run(false);
        assert_eq!(hits, 2 * 7);
        let (want_u, want_r, no_hits) = run(true);
        assert_eq!((u, r, no_hits), (want_u, want_r, 0));
        // A generator's length is a value, which the views do not show: never remembered.
        let mut s = ndarray::arr0(0.0_f64);
        let vars = Vars::new().with("dx", 0.5).with_out("s", &mut s);
        let src = "for i in range(5):\n    s = s + sum(arange(i) * dx)";
        let k = Engine::default().compile(src, &vars.signature()).unwrap();
        MEMO_HITS.with(|n| n.set(0));
        k.run(&vars).unwrap();
        drop(vars);
        assert_eq!(
            (s[()], MEMO_HITS.with(|n| n.get())),
            (0.5 * (1 + 3 + 6) as f64, 0)
        );
    }
}
