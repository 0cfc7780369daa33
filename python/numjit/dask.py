"""numjit as the chunk engine of Dask arrays: ``numjit.dask.evaluate`` and ``numjit.dask.run``.

>>> import dask.array as da, numjit.dask
>>> x = da.arange(12.0, chunks=5).reshape(3, 4)
>>> numjit.dask.evaluate("x - mean(x, axis=0)").compute()
array([[-4., -4., -4., -4.],
       [ 0.,  0.,  0.,  0.],
       [ 4.,  4.,  4.,  4.]])

The expression is written once; this module turns it into a Dask graph whose tasks run numjit
on blocks:

* elementwise parts → one ``blockwise`` layer (NumPy broadcasting, chunks unified);
* reductions anywhere (``x - mean(x, axis=0)``, ``sqrt(sum(x**2))``) → a Dask tree reduction
  whose chunk step is numjit's reduction of the fused expression over one block and whose
  combine steps are numjit's reduction of the partials;
* slices of Dask operands (``u[2:] - u[:-2]``, stencils) → an overlap layer (``boundary='none'``,
  depth from the slices' offsets) and one ``blockwise`` layer whose blocks read the halo.

The expression is parsed with ``ast.parse`` (never compiled or executed by Python) to find
reductions, slices and names; numjit compiles the rewritten text in every worker process
(its kernel cache is per process), so tasks hold only strings, tuples and scalars.
"""

import ast
import copy
import functools
import os
import sys

import dask
import dask.array as da
import numpy as np
from dask.array.core import unify_chunks
from dask.array.overlap import ensure_minimum_chunksize, overlap

import numjit
from numjit import _kernels
from numjit._evaluate import _evaluate_with, _validate_with
from numjit._run import _run_with

__all__ = ["evaluate", "run", "chunk_threads", "NotBlockwiseError"]

_REDUCTIONS = ("sum", "prod", "min", "max", "mean", "any", "all")
_GENERATORS = ("arange", "linspace")
_LETTERS = "abcdefghijklmnop"  # blockwise index letters, one per output axis (rank <= 8)


class NotBlockwiseError(ValueError):
    """The expression reads Dask operands in a way that is not expressible block by block."""


# --- threads ---------------------------------------------------------------------------------


def chunk_threads(cores=None, tasks=None):
    """numjit's threads inside one Dask task: the cores left per concurrently running task,
    ``max(1, cores // tasks)``, so that Dask's workers and numjit's pool together do not
    oversubscribe the machine.

    ``tasks`` defaults to what the current process can see: a ``distributed`` worker's
    ``nthreads`` times the workers on its host (``NUMJIT_DASK_WORKERS_PER_HOST``, default: the
    cores divided by ``nthreads``, which is how ``LocalCluster`` splits a machine), otherwise 1
    under the synchronous scheduler, else Dask's ``num_workers`` setting or the core count (the
    threaded and process schedulers' default pool sizes).

    >>> chunk_threads(cores=8, tasks=2)
    4
    >>> chunk_threads(cores=2, tasks=2)
    1
    """
    cores = cores or os.cpu_count() or 1
    if tasks is None:
        tasks = _concurrent_tasks(cores)
    return max(1, cores // max(1, tasks))


def _concurrent_tasks(cores):
    try:
        from distributed import get_worker

        nthreads = get_worker().state.nthreads
    except (ImportError, ValueError, AttributeError):
        if dask.config.get("scheduler", None) in ("sync", "synchronous", "single-threaded"):
            return 1
        return dask.config.get("num_workers", None) or cores
    hosts = os.environ.get("NUMJIT_DASK_WORKERS_PER_HOST")
    per_host = int(hosts) if hosts else max(1, cores // nthreads)
    return nthreads * per_host


_threads_set = [None]


class _Task(tuple):
    """What every task needs besides its blocks, as plain data (pickled to worker processes):
    numjit's threads (``None``: ``chunk_threads()``) and the text of the ``@numjit.kernel``
    definitions the expression may call (its caller's module's, and a program's own ``def``s),
    compiled in front of every task's text."""

    __slots__ = ()

    def __new__(cls, threads, defs):
        return super().__new__(cls, (threads, defs))

    @property
    def threads(self):
        return self[0]

    @property
    def defs(self):
        return self[1]

    def __getnewargs__(self):
        return tuple(self)


def _use_threads(threads):
    """Sizes numjit's pool once per process (and again only if the wanted size changes)."""
    n = threads or int(os.environ.get("NUMJIT_DASK_THREADS", 0)) or chunk_threads()
    if _threads_set[0] != n:
        numjit.set_num_threads(n)
        _threads_set[0] = n


# --- the expression: names, occurrences of Dask operands ---------------------------------------


def _parse(text, mode, defs=""):
    """``text``'s Python AST (parse only); a text numjit refuses gets numjit's own error."""
    try:
        return ast.parse(text, mode=mode)
    except SyntaxError:
        # numjit's message has the caret in the right place; if numjit accepts what Python
        # cannot parse, the construct is one this module does not know.
        error = _validate_with(text, {}, defs)
        if isinstance(error, Exception):
            raise error from None
        raise NotBlockwiseError(f"numjit.dask cannot parse {text!r}") from None


def _names(tree):
    """Variable names in ``tree`` in order of first use (function names excluded)."""
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    seen = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in called:
            seen.setdefault(node.id, None)
    return list(seen)


def _lookup(names, local_dict, global_dict, frame):
    """As ``numjit.evaluate``: ``local_dict`` then ``global_dict`` (``None``: the caller's)."""
    local_dict = frame.f_locals if local_dict is None else local_dict
    global_dict = frame.f_globals if global_dict is None else global_dict
    found = {}
    for name in names:
        if name in local_dict:
            found[name] = local_dict[name]
        elif name in global_dict:
            found[name] = global_dict[name]
    return found


def _bind(values):
    """Dask arrays as they are; NumPy arrays of rank >= 1 as one-chunk Dask arrays (rechunked
    to match when used); scalars and 0-d arrays stay values, handed to every task."""
    bound = {}
    for name, v in values.items():
        if isinstance(v, da.Array):
            bound[name] = v
        elif isinstance(v, np.ndarray) and v.ndim > 0:
            bound[name] = da.from_array(v, chunks=v.shape)
        else:
            bound[name] = v
    return bound


def _int(node, what):
    """A literal integer (``-1`` included) or a clear error."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_int(node.operand, what)
    raise NotBlockwiseError(f"numjit.dask needs a literal integer as {what}, not "
                            f"`{ast.unparse(node)}`")


class _Occ:
    """One place where the expression reads a Dask operand: ``name`` (the fresh variable bound
    to the block's view), ``source`` (the operand) and, per axis of the view, ``None`` (a new
    axis) or ``(source_axis, start, length, frame)``: the view's element i along that axis is
    the source's element ``start + i`` of ``frame``."""

    __slots__ = ("name", "source", "axes")

    def __init__(self, name, source, axes):
        self.name, self.source, self.axes = name, source, axes


def _subscript_axes(node, shape):
    """The view axes of ``source[...]``: slices with step 1, ``None``, one ``...``."""
    items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    consumed = sum(1 for it in items if not _is_none(it) and not _is_ellipsis(it))
    axes, j = [], 0
    for it in items:
        if _is_none(it):
            axes.append(None)
        elif _is_ellipsis(it):
            for _ in range(len(shape) - consumed):
                axes.append((j, 0, shape[j], shape[j]))
                j += 1
        elif isinstance(it, ast.Slice):
            if it.step is not None and _int(it.step, "a slice step") != 1:
                raise NotBlockwiseError(
                    f"`{ast.unparse(node)}`: only slices with step 1 are blockwise")
            lo = None if it.lower is None else _int(it.lower, "a slice bound")
            hi = None if it.upper is None else _int(it.upper, "a slice bound")
            start, stop, _ = slice(lo, hi).indices(shape[j])
            axes.append((j, start, max(0, stop - start), shape[j]))
            j += 1
        else:
            raise NotBlockwiseError(
                f"`{ast.unparse(node)}`: an integer index of a Dask operand is not blockwise; "
                "slice it outside the expression")
    if j > len(shape):
        raise NotBlockwiseError(f"`{ast.unparse(node)}`: too many indices")
    axes.extend((k, 0, shape[k], shape[k]) for k in range(j, len(shape)))
    return axes


def _is_none(node):
    return isinstance(node, ast.Constant) and node.value is None


def _is_ellipsis(node):
    return isinstance(node, ast.Constant) and node.value is Ellipsis


class _Fresh:
    """Fresh variable names that cannot clash with the user's (which never start so)."""

    def __init__(self):
        self.n = 0

    def __call__(self, kind):
        self.n += 1
        return f"_nj{kind}{self.n}"


def _occurrences(node, bound, fresh):
    """``node`` with every read of a Dask operand replaced by a fresh name, and those reads."""
    occs = []

    class Replace(ast.NodeTransformer):
        def visit_Subscript(self, sub):
            if isinstance(sub.value, ast.Name) and isinstance(bound.get(sub.value.id), da.Array):
                arr = bound[sub.value.id]
                occs.append(_Occ(fresh("v"), sub.value.id, _subscript_axes(sub, arr.shape)))
                return ast.copy_location(ast.Name(occs[-1].name, ast.Load()), sub)
            if any(isinstance(bound.get(n), da.Array) for n in _names(sub)):
                raise NotBlockwiseError(
                    f"`{ast.unparse(sub)}`: only variables may be sliced when they are Dask "
                    "arrays")
            return self.generic_visit(sub)

        def visit_Call(self, call):
            if isinstance(call.func, ast.Name) and call.func.id in _GENERATORS:
                raise NotBlockwiseError(
                    f"`{call.func.id}` makes a whole array inside every block; pass a Dask array "
                    f"(da.{call.func.id}) as a variable instead")
            call.args = [self.visit(a) for a in call.args]
            call.keywords = [self.visit(k) for k in call.keywords]
            return call

        def visit_Name(self, name):
            arr = bound.get(name.id)
            if isinstance(arr, da.Array):
                axes = [(j, 0, n, n) for j, n in enumerate(arr.shape)]
                occs.append(_Occ(fresh("v"), name.id, axes))
                return ast.copy_location(ast.Name(occs[-1].name, ast.Load()), name)
            return name

    return Replace().visit(node), occs


# --- planning the output axes ----------------------------------------------------------------


class _Axis:
    """One output axis. Plain: the operands' own chunks. Windowed (slices read neighbours or
    crop): the output is positions ``[start, start + length)`` of a frame of ``frame``
    elements, and an operand sliced at ``a`` reads position ``p + (a - start)``, at most
    ``depth`` away: the halo each block borrows from its neighbours."""

    __slots__ = ("windowed", "start", "length", "depth", "frame")

    def __init__(self, windowed, start=0, length=1, depth=0, frame=1):
        self.windowed, self.start, self.length = windowed, start, length
        self.depth, self.frame = depth, frame


def _plan_axis(k, entries, t):
    """The output axis ``k`` from the operands' ``(start, length, frame, source)`` along it
    and the slice assigned to (``t``, in ``run``)."""
    if not entries:
        if t is None or (t[1] == 0 and t[2] == t[3]):
            return _Axis(False, length=1 if t is None else t[2], frame=1 if t is None else t[3])
        return _Axis(True, t[1], t[2], 0, t[3])
    lengths = sorted({e[1] for e in entries})
    frames = sorted({e[2] for e in entries})
    if len(lengths) > 1:
        raise numjit.NumjitValueError(
            f"broadcast error: the operands have lengths {lengths} along axis {k}")
    if len(frames) > 1:
        users = ", ".join(sorted({f"`{e[3]}`" for e in entries}))
        raise NotBlockwiseError(
            f"axis {k}: {users} have lengths {frames} and are sliced to one length; blocks of "
            "different lengths cannot be aligned, so this is not blockwise")
    starts = [e[0] for e in entries]
    length, frame = lengths[0], frames[0]
    if t is not None:
        if (t[2], t[3]) != (length, frame):
            raise NotBlockwiseError(
                f"axis {k}: the assigned slice covers {t[2]} of {t[3]} elements, the value "
                f"{length} of {frame}; only slices of arrays of one length are blockwise")
        start = t[1]
    else:
        # Any start within the offsets works; the middle one needs the smallest halo.
        start = (min(starts) + max(starts)) // 2
    depth = max(abs(a - start) for a in starts)
    return _Axis(depth > 0 or start != 0 or length != frame, start, length, depth, frame)


def _plan(occs, target_axes):
    """The output axes, from every read of a Dask operand and the target's axes."""
    ndim = max([len(o.axes) for o in occs] + [len(target_axes or ())])
    entries = [[] for _ in range(ndim)]
    for o in occs:
        off = ndim - len(o.axes)
        for i, ax in enumerate(o.axes):
            if ax is None or ax[3] == 1:
                continue  # a new or a length-1 axis broadcasts
            if ax[2] == 1:
                raise NotBlockwiseError(
                    f"`{o.source}` is sliced to one element of {ax[3]} along axis {ax[0]}, which "
                    "broadcasts that element to every block: not blockwise")
            entries[off + i].append((ax[1], ax[2], ax[3], o.source))
    if target_axes is not None and len(target_axes) < ndim:
        raise numjit.NumjitValueError(
            f"broadcast error: a value of rank {ndim} cannot be assigned to rank "
            f"{len(target_axes)}")
    tgt = [None] * ndim if target_axes is None else list(target_axes)
    return [_plan_axis(k, entries[k], tgt[k]) for k in range(ndim)]


# --- one blockwise layer ---------------------------------------------------------------------


def _indices(occ, arr, ndim):
    """The blockwise index of ``occ``'s source: each source axis gets its output axis' letter."""
    off = ndim - len(occ.axes)
    idx = [""] * arr.ndim
    for i, ax in enumerate(occ.axes):
        if ax is not None:
            idx[ax[0]] = _LETTERS[off + i]
    return "".join(idx)


def _align(pairs, axes):
    """The arrays of ``pairs`` (array, index) with unified chunks, each windowed axis' chunks
    at least its halo deep (a block borrows only from its direct neighbours)."""
    chunkss, arrays = unify_chunks(*[x for pair in pairs for x in pair], warn=False)
    wanted = {}
    for k, axis in enumerate(axes):
        letter = _LETTERS[k]
        if axis.depth and letter in chunkss:
            new = ensure_minimum_chunksize(axis.depth, chunkss[letter])
            if new != chunkss[letter]:
                wanted[letter] = new
    if wanted:
        arrays = [
            a.rechunk({j: wanted[c] for j, c in enumerate(ind) if c in wanted and a.shape[j] > 1})
            for a, (_, ind) in zip(arrays, pairs)
        ]
    return arrays


def _with_halo(arr, ind, axes, cache):
    """``arr`` with the halos of its windowed axes (``boundary='none'``: none at the edges)."""
    depth = {j: axes[_LETTERS.index(c)].depth if arr.shape[j] > 1 else 0
             for j, c in enumerate(ind)}
    if not any(depth.values()):
        return arr
    key = (arr.name, tuple(sorted(depth.items())))
    if key not in cache:
        cache[key] = overlap(arr, depth=depth, boundary={j: "none" for j in depth},
                             allow_rechunk=False)
    return cache[key]


def _template(occ, arr, axes, ndim):
    """How a task cuts ``occ``'s view out of its block: per view axis ``None`` (new axis),
    ``(-1, 0)`` (the whole block) or ``(k, offset)`` (the window of output axis k, shifted)."""
    off = ndim - len(occ.axes)
    out = []
    for i, ax in enumerate(occ.axes):
        axis = None if ax is None else axes[off + i]
        if ax is None:
            out.append(None)
        elif arr.shape[ax[0]] == 1 or not axis.windowed:
            out.append((-1, 0))
        else:
            out.append((off + i, ax[1] - axis.start))
    return tuple(out)


def _scalars(node, bound):
    return {n: bound[n] for n in _names(node) if n in bound and not isinstance(bound[n], da.Array)}


def _sample_dtype(text, occs, bound, scalars, defs):
    """The dtype numjit gives ``text``: evaluated on one-element arrays of the operands'."""
    sample = dict(scalars)
    for o in occs:
        sample[o.name] = np.ones((1,) * len(o.axes), dtype=bound[o.source].dtype)
    return _evaluate_with(text, sample, defs).dtype


def _out_chunks(axis, chunks):
    """A windowed axis' output chunks: each block's part of ``[start, start + length)``."""
    out, b0 = [], 0
    for c in chunks:
        out.append(max(0, min(b0 + c, axis.start + axis.length) - max(b0, axis.start)))
        b0 += c
    return tuple(out)


def _blockwise(node, bound, fresh, task, reduce=None, target=None, reads=None):
    """One ``blockwise`` layer evaluating ``node`` (reductions already lowered) per block.

    ``reduce=(op, axes)``: each block gives its ``op`` partial (reduced axes kept, length 1).
    ``target=(name, axes)``: the block of the array assigned to, with the value written into
    its window (``run``'s slice assignment). ``reads``: ``_occurrences`` of ``node``, when the
    caller has them already. Returns the Dask array and the value's shape.
    """
    node, occs = reads or _occurrences(node, bound, fresh)
    target_axes = None if target is None else target[1]
    if target_axes is not None and any(t is None for t in target_axes):
        raise NotBlockwiseError("a new axis (None) in an assignment's target")
    axes = _plan(occs, target_axes)
    ndim = len(axes)
    shape = tuple(a.length if a.windowed else _plain_size(k, occs, ndim, target_axes)
                  for k, a in enumerate(axes))
    pairs = [(bound[o.source], _indices(o, bound[o.source], ndim)) for o in occs]
    if target is not None:
        pairs.append((bound[target[0]], _LETTERS[:ndim]))
    arrays = _align(pairs, axes) if pairs else []
    text = ast.unparse(node)
    scalars = _scalars(node, bound)
    windowed = [k for k, a in enumerate(axes) if a.windowed]
    frames = _frame_chunks(arrays, pairs, windowed, axes)

    args = _halo_args(arrays[:len(occs)], pairs, axes, windowed, frames)
    if target is not None:
        args += [arrays[-1], _LETTERS[:ndim]]
    # Blocks with halos are larger than the output's: windowed axes get their chunks here
    # (a target's block is the output block; otherwise each block's part of the window).
    adjust = {_LETTERS[k]: frames[k] if target is not None else _out_chunks(axes[k], frames[k])
              for k in windowed}
    chunk_text, keep = _reduction_text(text, reduce, ndim)
    adjust.update({_LETTERS[k]: 1 for k in keep or ()})
    dtype = (bound[target[0]].dtype if target is not None
             else _sample_dtype(chunk_text, occs, bound, scalars, task.defs))
    spec = _Spec(chunk_text, [(o.name, _template(o, arr, axes, ndim))
                              for o, arr in zip(occs, arrays)],
                 {k: (axes[k].start, axes[k].length, axes[k].depth) for k in windowed},
                 scalars, keep, target is not None, task)
    out = da.blockwise(_chunk, _LETTERS[:ndim], *args, dtype=dtype,
                       meta=np.empty((0,) * ndim, dtype), align_arrays=False,
                       adjust_chunks=adjust or None, spec=spec)
    return out, shape


def _halo_args(arrays, pairs, axes, windowed, frames):
    """``blockwise``'s arguments: each operand with its halos, then per windowed axis the
    positions along its frame (a task learns where its block starts from their first)."""
    cache, args = {}, []
    for arr, (_, ind) in zip(arrays, pairs):
        args += [_with_halo(arr, ind, axes, cache), ind]
    for k in windowed:
        args += [da.arange(axes[k].frame, chunks=(frames[k],)), _LETTERS[k]]
    return args


def _reduction_text(text, reduce, ndim):
    """The text a task evaluates (``op(text, axis=k)`` for a reduction step) and the axes
    whose length the step reduces to 1 (``None``: not a reduction)."""
    if reduce is None:
        return text, None
    op, axis = reduce
    if axis is None:
        return f"{op}({text})", tuple(range(ndim))
    k = _norm_axis(axis, ndim)
    return f"{op}({text}, axis={k})", (k,)


def _plain_size(k, occs, ndim, target_axes):
    """A plain output axis' length: the target's, or the longest operand's (others are 1)."""
    if target_axes is not None:
        return target_axes[k][2]
    sizes = [ax[2] for o in occs for i, ax in enumerate(o.axes)
             if ax is not None and ndim - len(o.axes) + i == k]
    return max(sizes, default=1)


def _frame_chunks(arrays, pairs, windowed, axes):
    """Each windowed axis' chunks over its frame (before halos)."""
    frames = {}
    for k in windowed:
        letter = _LETTERS[k]
        for arr, (_, ind) in zip(arrays, pairs):
            for j, c in enumerate(ind):
                if c == letter and arr.shape[j] == axes[k].frame:
                    frames[k] = arr.chunks[j]
        if k not in frames:  # only broadcast operands: one block
            frames[k] = (axes[k].frame,)
    return frames


def _norm_axis(axis, ndim):
    if not -ndim <= axis < ndim:
        raise numjit.NumjitAxisError(f"axis error: axis {axis} is out of bounds for rank {ndim}")
    return axis % ndim


class _Spec:
    """What a task needs, all plain data (pickled to worker processes): the expression text,
    each view's name and template, the windowed axes' ``(start, length, depth)``, the scalars,
    the reduced axes (or ``None``), whether a target block comes last, the ``_Task``."""

    __slots__ = ("fields",)

    def __init__(self, *fields):
        self.fields = fields

    def __dask_tokenize__(self):
        return repr(self.fields)

    def __getstate__(self):
        return self.fields

    def __setstate__(self, fields):
        self.fields = fields


def _chunk(*blocks, spec):
    """The task: numjit on one block (the views of its operands, halos included)."""
    text, views, windowed, scalars, keep, has_target, task = spec.fields
    _use_threads(task.threads)
    n = len(views)
    windows = {}
    for k, pos in zip(sorted(windowed), blocks[n:]):
        start, length, depth = windowed[k]
        b0, size = int(pos[0]), len(pos)
        q0, q1 = max(b0, start), min(b0 + size, start + length)
        # The block's own first element sits after its halo, which the first block lacks.
        windows[k] = (q0 - b0 + (depth if b0 > 0 else 0), max(0, q1 - q0), q0 - b0)
    local = dict(scalars)
    for (name, template), block in zip(views, blocks[:n]):
        local[name] = block[tuple(_cut(t, windows) for t in template)]
    if has_target:
        return _write(text, local, blocks[-1], windows, task.defs)
    result = _evaluate_with(text, local, task.defs)
    return result if keep is None else np.expand_dims(result, keep)


def _cut(t, windows):
    if t is None:
        return None
    k, offset = t
    if k < 0:
        return slice(None)
    base, length, _ = windows[k]
    return slice(base + offset, base + offset + length)


def _write(text, local, block, windows, defs):
    """A copy of the target's block with the value written into its window."""
    out = block.copy()
    region = out[tuple(slice(windows[k][2], windows[k][2] + windows[k][1]) if k in windows
                       else slice(None) for k in range(out.ndim))]
    shapes = [v.shape for v in local.values() if isinstance(v, np.ndarray)]
    if np.broadcast_shapes(*shapes) == region.shape:
        _evaluate_with(text, local, defs, out=region, casting="same_kind")
    else:
        np.copyto(region, _evaluate_with(text, local, defs), casting="same_kind")
    return out


# --- reductions ------------------------------------------------------------------------------


def _axis_arg(call):
    """The ``axis`` of a reduction call: a literal integer, ``None`` or absent."""
    node = call.args[1] if len(call.args) > 1 else None
    for kw in call.keywords:
        if kw.arg == "axis":
            node = kw.value
    if node is None or _is_none(node):
        return None
    return _int(node, "a reduction's axis")


def _identity(x, axis=None, keepdims=None):
    return x


def _combine(x, axis, keepdims, op, threads):
    """A combine step of the tree: numjit's ``op`` over concatenated partials (pairwise for
    sums, as within a block)."""
    _use_threads(threads)
    axes = tuple(sorted(a % x.ndim for a in axis))
    if len(axes) == x.ndim:
        r = numjit.evaluate(f"{op}(x)", {"x": x}, {})
    else:
        r = x
        for k in reversed(axes):
            r = numjit.evaluate(f"{op}(x, axis={k})", {"x": r}, {})
    return np.expand_dims(r, axes) if keepdims else r


def _reduce(op, inner, axis, bound, fresh, task, split_every):
    """``op(inner, axis)`` as a Dask tree reduction: one numjit pass per block gives a partial
    (the fused ``inner`` is never stored), numjit combines partials. ``mean`` is a ``sum``
    divided by the count. Returns the reduced Dask array and the count."""
    step = "sum" if op == "mean" else op
    node, occs = reads = _occurrences(inner, bound, fresh)
    if not _whole_reads(occs, bound):
        source = _blockwise(node, bound, fresh, task, reduce=(step, axis), reads=reads)[0]
        chunk, shape, dtype = _identity, source.shape, source.dtype
    else:
        # One operand read whole: numjit's pass is the tree's chunk step, as `np.sum` is in
        # Dask's own `sum` (a layer fewer to build and schedule than a blockwise one).
        source = bound[occs[0].source]
        shape = source.shape
        chunk_text, keep = _reduction_text(ast.unparse(node), (step, axis), len(shape))
        scalars = _scalars(node, bound)
        dtype = _sample_dtype(chunk_text, occs, bound, scalars, task.defs)
        whole = tuple((-1, 0) for _ in shape)  # `_template`'s "the whole block" per axis
        spec = _Spec(chunk_text, [(o.name, whole) for o in occs], {}, scalars, keep, False,
                     task)
        chunk = functools.partial(_whole_chunk, spec=spec)
    ndim = len(shape)
    axes = tuple(range(ndim)) if axis is None else (_norm_axis(axis, ndim),)
    combine = functools.partial(_combine, op=step, threads=task.threads)
    out_ndim = ndim - len(axes)
    result = da.reduction(
        source, chunk=chunk, combine=combine, aggregate=combine, axis=axes,
        keepdims=False, dtype=dtype, split_every=split_every, concatenate=True,
        meta=np.empty((0,) * out_ndim, dtype),
    )
    return result, int(np.prod([shape[k] for k in axes]))


def _whole_reads(occs, bound):
    """Whether the reads ``occs`` are of one Dask operand, always whole and at its own rank
    (``sum(x**2 + x)``), so that a task's blocks can be the operand's own."""
    if not occs or len({o.source for o in occs}) > 1:
        return False
    whole = [(j, 0, n, n) for j, n in enumerate(bound[occs[0].source].shape)]
    return all(list(o.axes) == whole for o in occs)


def _whole_chunk(block, axis, keepdims, spec):
    """``da.reduction``'s chunk step over one operand read whole: ``_chunk`` with the block
    for every read (``axis`` and ``keepdims`` are Dask's; the spec's text and kept axes
    already say the same)."""
    return _chunk(*(block,) * len(spec.fields[1]), spec=spec)


def _lower(node, bound, fresh, task, split_every):
    """``node`` with each reduction of a Dask value replaced by a name bound to its Dask tree
    reduction (innermost first, so ``sum(x - mean(x, axis=0))`` works)."""

    class Lower(ast.NodeTransformer):
        def visit_Call(self, call):
            self.generic_visit(call)
            if not (isinstance(call.func, ast.Name) and call.func.id in _REDUCTIONS
                    and call.args and _reads_dask(call.args[0], bound)):
                return call
            reduced, count = _reduce(call.func.id, call.args[0], _axis_arg(call), bound,
                                     fresh, task, split_every)
            name = fresh("r")
            bound[name] = reduced
            new = ast.Name(name, ast.Load())
            if call.func.id == "mean":
                new = ast.BinOp(new, ast.Div(), ast.Constant(count))
            return ast.copy_location(new, call)

    return Lower().visit(node)


def _reads_dask(node, bound):
    return any(isinstance(bound.get(n), da.Array) for n in _names(node))


# --- evaluate --------------------------------------------------------------------------------


def _samples(values):
    """One-element stand-ins with the operands' dtypes and ranks, for numjit's checks."""
    out = {}
    for name, v in values.items():
        if isinstance(v, (da.Array, np.ndarray)):
            out[name] = np.ones((1,) * v.ndim, dtype=v.dtype)
        else:
            out[name] = v
    return out


def _check(ex, values, defs, check):
    """numjit's own errors (syntax, names, types), with the caret in the user's text."""
    error = check(ex, _samples(values), defs)
    if isinstance(error, Exception):
        raise error


def _read(text, mode, local_dict, global_dict):
    """``text`` parsed (``mode`` ``"eval"``: an expression, ``"exec"``: a program), the values
    of its names, looked up for the caller of ``evaluate``/``run``, the ``@numjit.kernel``
    definitions of the caller's module (numjit compiles them in front of ``text``) and a
    program's own ``def`` kernels (taken out of the tree)."""
    if not isinstance(text, str):
        what = "expression" if mode == "eval" else "the program"
        raise ValueError(f"must specify {what} as a string")
    frame = sys._getframe(2)
    try:
        defs = _kernels.definitions(frame.f_globals.get("__name__"))
        tree = _parse(text, mode, defs)
        own = _own_kernels(tree, text) if mode == "exec" else ""
        return tree, _lookup(_names(tree), local_dict, global_dict, frame), defs, own
    finally:
        del frame


def _own_kernels(tree, text):
    """A program's own ``def`` kernels: taken out of ``tree`` (they are not statements to
    execute) and returned as their source text, for every task to compile."""
    defs = [ast.get_source_segment(text, d) for d in tree.body if isinstance(d, ast.FunctionDef)]
    tree.body = [d for d in tree.body if not isinstance(d, ast.FunctionDef)]
    return "".join(d + "\n" for d in defs)


def evaluate(ex, local_dict=None, global_dict=None, *, threads=None, split_every=None):
    """``numjit.evaluate`` over Dask arrays: returns a lazy Dask array whose tasks run numjit.

    >>> import dask.array as da, numpy as np, numjit.dask
    >>> x = da.from_array(np.arange(6.0), chunks=4)
    >>> round(float(numjit.dask.evaluate("sqrt(sum(x**2))").compute()), 6)  # sqrt(55)
    7.416198
    >>> numjit.dask.evaluate("x[2:] - x[:-2]").compute()  # a stencil: blocks read a halo
    array([2., 2., 2., 2.])

    Names are looked up as ``numjit.evaluate`` looks them up (``local_dict``, then
    ``global_dict``, either ``None``: the caller's). Operands may be Dask arrays, NumPy arrays
    (rechunked to match) and scalars, broadcast as NumPy does; without a Dask operand this is
    ``numjit.evaluate``. ``threads``: numjit's threads per task (default ``chunk_threads()``);
    ``split_every``: the reduction tree's fan-in (Dask's).

    The expression may call the ``@numjit.kernel`` functions of the caller's module (a kernel
    called with Dask arrays is the same as ``evaluate`` of that call); every task compiles
    their source text, so they work in worker processes too.

    Raises numjit's errors for the expression, and ``NotBlockwiseError`` (a ``ValueError``)
    where it reads a Dask operand in a way blocks cannot: integer indices, steps, slices of
    operands of different lengths aligned together, ``arange``/``linspace`` next to Dask
    operands.
    """
    tree, values, defs, _ = _read(ex, "eval", local_dict, global_dict)
    return _evaluate_tree(ex, tree, values, defs, threads, split_every)


def _evaluate_lazy(ex, values, defs, threads=None, split_every=None):
    """``evaluate`` of ``ex`` over ``values`` after the kernel ``defs``: a ``numjit.kernel``
    called with Dask arrays."""
    return _evaluate_tree(ex, _parse(ex, "eval", defs), values, defs, threads, split_every)


def _evaluate_tree(ex, tree, values, defs, threads, split_every):
    if not any(isinstance(v, da.Array) for v in values.values()):
        return _evaluate_with(ex, values, defs)
    _check(ex, values, defs, _validate_with)
    bound, fresh, task = _bind(values), _Fresh(), _Task(threads, defs)
    node = _lower(tree.body, bound, fresh, task, split_every)
    if isinstance(node, ast.Name) and node.id.startswith("_nj"):
        # The whole expression is one reduction: its tree is the result (a layer copying it
        # would add a task per output block, as Dask's own `x.sum()` does not).
        return bound[node.id]
    return _blockwise(node, bound, fresh, task)[0]


# --- run -------------------------------------------------------------------------------------


class _Program:
    """A program's statements executed over bindings: each assignment becomes Dask layers, a
    ``for`` loop is unrolled (one layer per statement and step), ``swap`` swaps bindings."""

    def __init__(self, bound, task, split_every, steps_per_layer):
        self.bound, self.fresh = bound, _Fresh()
        self.task, self.split_every = task, split_every
        self.steps_per_layer = steps_per_layer
        self.written, self.result = set(), None

    def value(self, node):
        """``node``'s value: a Dask array when it reads one, else numjit's 0-d result."""
        node = _lower(node, self.bound, self.fresh, self.task, self.split_every)
        if _reads_dask(node, self.bound):
            return _blockwise(node, self.bound, self.fresh, self.task)[0]
        return _evaluate_with(ast.unparse(node), _scalars(node, self.bound), self.task.defs)

    def block(self, body):
        for i, stmt in enumerate(body):
            self.result = None
            self.statement(stmt)

    def statement(self, stmt):
        # Rewriting replaces nodes in place, and a loop body is executed many times.
        stmt = copy.deepcopy(stmt)
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            self.assign(stmt.targets[0], stmt.value)
        elif isinstance(stmt, ast.AugAssign):
            load = _as_load(stmt.target)
            self.assign(stmt.target, ast.BinOp(load, stmt.op, stmt.value))
        elif isinstance(stmt, ast.For):
            self.loop(stmt)
        elif isinstance(stmt, ast.Expr) and _is_call(stmt.value, "swap"):
            a, b = (_target_name(x) for x in stmt.value.args)
            self.bound[a], self.bound[b] = self.bound[b], self.bound[a]
            self.written |= {a, b}
        elif isinstance(stmt, ast.Expr):
            self.result = self.value(stmt.value)
        else:
            raise NotBlockwiseError(
                f"numjit.dask.run: `{ast.unparse(stmt).splitlines()[0]}` is not supported "
                "(assignments, slice assignments, `+=`, `for ... in range(...)`, `swap`)")

    def assign(self, target, value):
        if isinstance(target, ast.Name):
            self.bound[target.id] = self.value(value)
            self.written.add(target.id)
            return
        name = _target_name(target.value) if isinstance(target, ast.Subscript) else None
        arr = self.bound.get(name)
        if not isinstance(arr, da.Array):
            raise NotBlockwiseError(
                f"numjit.dask.run: `{ast.unparse(target)}` must assign a slice of a Dask "
                "or NumPy array")
        value = _lower(value, self.bound, self.fresh, self.task, self.split_every)
        axes = _subscript_axes(target, arr.shape)
        self.bound[name] = _blockwise(value, self.bound, self.fresh, self.task,
                                      target=(name, axes))[0]
        self.written.add(name)

    def loop(self, stmt):
        if not (isinstance(stmt.target, ast.Name) and _is_call(stmt.iter, "range")
                and not stmt.orelse):
            raise NotBlockwiseError("numjit.dask.run: loops are `for name in range(...)`")
        values = range(*(int(self.value(a)) for a in stmt.iter.args))
        k = self.steps_per_layer
        if k > 1 and _steps_fit(stmt.body, self.bound):
            for first in range(0, len(values), k):
                self.steps(stmt, values[first:first + k])
            return
        for i in values:
            self.bound[stmt.target.id] = i
            self.block(stmt.body)

    def steps(self, stmt, values):
        """``values``' iterations of the loop as one layer: every block runs them with numjit
        on a copy of itself with a halo deep enough for all of them, then drops the halo."""
        body = [copy.deepcopy(x) for x in stmt.body]
        names = [n for n in _names(ast.Module(body, [])) if isinstance(self.bound.get(n), da.Array)]
        written = _written(body)
        shape = self.bound[names[0]].shape
        depth = [len(values) * r + e for r, e in zip(*_reach(body, shape))]
        axes = [_Axis(d > 0, 0, n, d, n) for d, n in zip(depth, shape)]
        letters = _LETTERS[:len(shape)]
        pairs = [(self.bound[n], letters) for n in names]
        arrays = _align(pairs, axes)
        windowed = [k for k, a in enumerate(axes) if a.windowed]
        args = _halo_args(arrays, pairs, axes, windowed,
                          {k: arrays[0].chunks[k] for k in windowed})
        var = stmt.target.id
        text = (f"for {var} in range(_nji0, _nji1, _njis):\n"
                + "".join(f"    {line}\n" for x in body
                          for line in ast.unparse(_relative(x, self.bound)).splitlines()))
        step = values.step
        scalars = {n: self.bound[n] for n in _names(ast.Module(body, []))
                   if n in self.bound and not isinstance(self.bound[n], da.Array) and n != var}
        scalars.update(_nji0=values.start, _nji1=values.start + len(values) * step, _njis=step)
        dtype = self.bound[written[0]].dtype
        spec = _Spec(text, names, written, tuple(depth), windowed, scalars, self.task)
        out = da.blockwise(_steps_chunk, "z" + letters, *args, new_axes={"z": len(written)},
                           adjust_chunks={letters[k]: arrays[0].chunks[k] for k in windowed},
                           dtype=dtype, meta=np.empty((0,) * (len(shape) + 1), dtype),
                           align_arrays=False, spec=spec)
        for i, name in enumerate(written):
            self.bound[name] = out[i]
        self.written |= set(written)


def _steps_fit(body, bound):
    """Whether a loop body can run several steps per layer: slice assignments (``+=`` too) and
    ``swap`` only, of Dask arrays of one shape and, for those written, one dtype."""
    for stmt in body:
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
            else getattr(stmt, "target", None) if isinstance(stmt, ast.AugAssign) else None
        if target is None and not (isinstance(stmt, ast.Expr) and _is_call(stmt.value, "swap")):
            return False
        if target is not None and not isinstance(target, ast.Subscript):
            return False
        calls = [n for n in ast.walk(stmt) if isinstance(n, ast.Call)]
        if any(isinstance(c.func, ast.Name) and c.func.id in _REDUCTIONS + _GENERATORS
               for c in calls):
            return False
    arrays = [bound[n] for n in _names(ast.Module(body, [])) if isinstance(bound.get(n), da.Array)]
    written = [bound.get(n) for n in _written(body)]
    try:
        _reach(body, arrays[0].shape if arrays else ())
    except (NotBlockwiseError, TypeError, ValueError, IndexError):
        return False  # new axes, integer indices: one layer per statement decides
    return (bool(arrays) and len({a.shape for a in arrays}) == 1
            and all(isinstance(w, da.Array) for w in written)
            and len({w.dtype for w in written}) == 1)


def _written(body):
    """The names a loop body writes, in order of first write."""
    out = {}
    for stmt in body:
        if isinstance(stmt, ast.Expr):
            for a in stmt.value.args:
                out.setdefault(_target_name(a), None)
        else:
            target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
            out.setdefault(_target_name(target.value), None)
    return list(out)


def _reach(body, shape):
    """Per axis, how far one iteration of ``body`` spreads stale values in from a block's cut
    edge (the sum over statements of the farthest offset read), and the widest strip next
    to the array's edges a statement leaves unwritten (stale at a cut edge too)."""
    reach, edge = [0] * len(shape), [0] * len(shape)
    for stmt in body:
        if isinstance(stmt, ast.Expr):
            continue
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
        t_axes = _subscript_axes(target, shape)
        value = stmt.value if isinstance(stmt, ast.Assign) else ast.BinOp(target, stmt.op, stmt.value)
        far = [0] * len(shape)
        for sub in ast.walk(value):
            if isinstance(sub, ast.Subscript) and isinstance(sub.value, ast.Name):
                for (j, a, _, _), (_, t, length, n) in zip(_subscript_axes(sub, shape), t_axes):
                    far[j] = max(far[j], abs(a - t))
                    edge[j] = max(edge[j], t, n - t - length)
        reach = [r + f for r, f in zip(reach, far)]
    return reach, edge


def _relative(stmt, bound):
    """``stmt`` with every slice of a Dask array written from the array's ends (``[1:-1]``
    whatever form it had), so that on a block it cuts the same strips at the array's edges."""

    class Rewrite(ast.NodeTransformer):
        def visit_Subscript(self, sub):
            self.generic_visit(sub)
            arr = bound.get(sub.value.id) if isinstance(sub.value, ast.Name) else None
            if not isinstance(arr, da.Array):
                return sub
            items = []
            for j, a, length, n in _subscript_axes(sub, arr.shape):
                gap = n - a - length
                items.append(ast.Slice(ast.Constant(a) if a else None,
                                       ast.Constant(-gap) if gap else None, None))
            sub.slice = ast.Tuple(items, ast.Load())
            return sub

    return ast.fix_missing_locations(Rewrite().visit(stmt))


def _steps_chunk(*blocks, spec):
    """Several loop iterations on one block with its halo: numjit runs the loop on copies of
    the written arrays, and the block's own part of each comes back (stacked)."""
    text, names, written, depth, windowed, scalars, task = spec.fields
    _use_threads(task.threads)
    n = len(names)
    local = dict(scalars)
    for name, block in zip(names, blocks[:n]):
        local[name] = block.copy() if name in written else block
    cut = [slice(None)] * blocks[0].ndim
    for k, pos in zip(windowed, blocks[n:]):
        halo = depth[k] if int(pos[0]) > 0 else 0
        cut[k] = slice(halo, halo + len(pos))
    _run_with(text, local, task.defs)
    return np.stack([local[w][tuple(cut)] for w in written])


def _is_call(node, name):
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name


def _target_name(node):
    if not isinstance(node, ast.Name):
        raise NotBlockwiseError(f"numjit.dask.run: `{ast.unparse(node)}` must be a variable")
    return node.id


def _as_load(target):
    """``target`` of ``x += e`` / ``x[s] += e`` as the value it reads."""
    node = copy.deepcopy(target)
    node.ctx = ast.Load()
    return node


def run(program, local_dict=None, global_dict=None, *, threads=None, split_every=None,
        steps_per_layer=1):
    """``numjit.run`` over Dask arrays: returns a dict of the new (lazy) values of the
    caller's variables the program writes, and its final expression's value under ``None``.

    >>> import dask.array as da, numpy as np, numjit.dask
    >>> u = da.from_array(np.array([0., 0., 1., 0., 0.]), chunks=2)
    >>> v = u.copy()
    >>> new = numjit.dask.run("for i in range(2):\\n    v[1:-1] = (u[:-2] + u[2:]) / 2\\n"
    ...                       "    swap(u, v)")
    >>> new["u"].compute()
    array([0. , 0. , 0.5, 0. , 0. ])

    Dask arrays are immutable, so where ``numjit.run`` writes the caller's arrays in place,
    this returns their new values. Each assignment is one ``blockwise`` layer (a slice
    assignment reads its halo through an overlap layer: a stencil), reductions are tree
    reductions, ``for i in range(n)`` is unrolled (``n`` a literal or a scalar variable) and
    ``swap(a, b)`` swaps two names. NumPy arrays the program reads or writes become one-chunk
    Dask arrays. ``threads`` and ``split_every`` as for ``evaluate``. The program may call the
    ``@numjit.kernel`` functions of the caller's module and define its own kernels with ``def``.

    ``steps_per_layer=k``: a ``for`` loop whose body is slice assignments and ``swap`` of
    Dask arrays of one shape (P5's time loop) runs k iterations per layer: each task copies its
    block with a halo k times as deep and runs the k iterations with ``numjit.run``, so there
    are k times fewer layers (and halo exchanges) for some recomputation in the halos. Other
    loops run one layer per statement.
    """
    tree, values, defs, own = _read(program, "exec", local_dict, global_dict)
    _check(program, values, defs, _validate_program)
    task = _Task(threads, defs + own)
    state = _Program(_bind(values), task, split_every, steps_per_layer)
    state.block(tree.body)
    out = {n: state.bound[n] for n in state.written if n in values}
    out[None] = state.result
    return out


def _validate_program(program, samples, defs):
    """numjit's checks of a program on one-element copies (``run`` writes them)."""
    try:
        _run_with(program, {k: np.array(v, copy=True) for k, v in samples.items()}, defs)
    except numjit.NumjitError as e:
        # Shape-dependent errors (an empty slice's `min`) belong to the real shapes.
        return e if e.kind in _STATIC_KINDS else None
    return None


_STATIC_KINDS = ("syntax", "unknown_name", "unknown_function", "arity", "type")
