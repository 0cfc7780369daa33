"""``run``: a numjit program (statements, ``for`` loops, ``swap``, slice assignment) over NumPy
arrays, updating the arrays it writes in place, in one C call (``numjit_run``).

Names are resolved as ``evaluate`` resolves them. A name the program assigns to (whole, in
part, or by ``swap``) that is found in the dicts is the caller's array and is written in place:
it must be a writeable NumPy array of a dtype numjit computes with, or ``run`` raises before
anything is written. A name it assigns that is found nowhere is the program's own intermediate.
"""

import ctypes
import sys

import numpy as np

from . import _convert, _errors
from . import _kernels as _definitions
from ._evaluate import _c_source, _forget_oldest, _lookup, _Owner, query_names
from ._lib import lib, signals_first

_ALL, _WRITTEN = 0, 1  # numjit_names


class _ProgramNames:
    """A program's C text, its names (read or written) and which it writes, with the names' C
    addresses (the bytes live here)."""

    __slots__ = ("source", "names", "written", "_bytes", "addresses")

    def __init__(self, program, definitions=""):
        # The kernels' bodies hold no program names: the names are the statements'.
        self.source = _c_source(definitions + program)
        self.names = query_names(program, lib.numjit_program_names, self.source, _ALL)
        self.written = frozenset(
            query_names(program, lib.numjit_program_names, self.source, _WRITTEN))
        self._bytes = [n.encode() for n in self.names]
        self.addresses = {n: _convert.name_address(b) for n, b in zip(self.names, self._bytes)}


_programs = {}


def _names_of(program, definitions=""):
    if not isinstance(program, str):
        raise ValueError("must specify the program as a string")
    key = (definitions, program) if definitions else program
    hit = _programs.get(key)
    if hit is None:
        hit = _ProgramNames(program, definitions)
        _forget_oldest(_programs)
        _programs[key] = hit
    return hit


def _output(name, value):
    """``value`` as an array numjit may write in place, or a clear error naming it."""
    if not isinstance(value, np.ndarray):
        raise _errors.make(
            _errors.NumjitTypeError,
            f"the program writes `{name}`, so it must be a NumPy array, not "
            f"{type(value).__name__}",
            "type",
        )
    if not value.flags.writeable:
        raise _errors.make(
            _errors.NumjitValueError,
            f"the program writes `{name}`, but that array is read-only",
            "output",
        )
    if value.dtype not in _convert.CODES:
        raise _errors.make(
            _errors.NumjitTypeError,
            f"the program writes `{name}`, whose dtype {value.dtype} numjit cannot write in "
            "place; it writes bool, int32, int64, float32 and float64 (native byte order)",
            "type",
        )
    # Misaligned data is fine: the C ABI writes it through an aligned copy.
    return value


def run(program, local_dict=None, global_dict=None):
    """Runs the numjit ``program`` and returns the value of its final expression, or ``None``
    when it ends with an assignment.

    >>> import numpy as np, numjit
    >>> u = np.zeros(5); u[2] = 1.0
    >>> v = u.copy()
    >>> numjit.run("for i in range(2):\\n    v[1:-1] = (u[:-2] + u[2:]) / 2\\n    swap(u, v)")
    >>> u
    array([0. , 0. , 0.5, 0. , 0. ])

    Variables are looked up in ``local_dict`` and then ``global_dict`` (either ``None``: the
    caller's locals / globals), as ``evaluate`` does. Arrays the program writes are updated in
    place, whatever their strides; after ``swap(u, v)`` each of the caller's arrays holds the
    value of its own name. Every shape is checked before the first write: a program that fails
    leaves every array as it was.

    The program may call the ``@numjit.kernel`` functions of the caller's module.

    Raises the ``NumjitError`` subclasses ``evaluate`` raises; writing a scalar, a read-only
    array or an array of a dtype numjit cannot write is a ``TypeError``/``ValueError``.
    """
    frame = sys._getframe(1)
    try:
        definitions = _definitions.definitions(frame.f_globals.get("__name__"))
        return _run_in(program, local_dict, global_dict, frame, definitions)
    finally:
        del frame


def _run_with(program, local_dict, definitions):
    """``run`` of ``program`` over ``local_dict`` alone, after the kernel ``definitions``
    (``numjit.dask``'s tasks, which carry their caller's kernels as text)."""
    frame = sys._getframe(1)
    try:
        return _run_in(program, local_dict, {}, frame, definitions)
    finally:
        del frame


def _run_in(program, local_dict, global_dict, frame, definitions):
    names = _names_of(program, definitions)
    found = _lookup(names.names, local_dict, global_dict, frame)
    inputs, outputs = [], []
    for name, value in found:
        if name in names.written:
            outputs.append((names.addresses[name], _output(name, value)))
        else:
            inputs.append((names.addresses[name], _convert.operand(name, value)))
    keep = []
    in_vars = _convert.variables([n for n, _ in inputs], [a for _, a in inputs], keep)
    out_vars = _convert.variables([n for n, _ in outputs], [a for _, a in outputs], keep)
    handle, err = ctypes.c_void_p(), ctypes.c_void_p()
    signals_first()
    status = lib.numjit_run(
        names.source, in_vars, len(inputs), out_vars, len(outputs),
        ctypes.byref(handle), ctypes.byref(err),
    )
    if status:
        raise _errors.take(status, err, program)
    return None if handle.value is None else np.asarray(_Owner(handle.value))
