"""``@numjit.kernel``: a plain Python function compiled by numjit as a kernel.

The function's source (read with ``inspect``) is numjit's kernel language, which is Python's
syntax for scalar code: assignments, ``if``/``elif``/``else``, ``while``, ``for`` over
``range``, ``break``, ``continue``, ``return``. The decorator registers it under its name for
the ``evaluate``/``run`` strings of the module that defines it, and returns a callable that
applies it elementwise to NumPy arrays (broadcasting them) in one compiled, parallel pass.
"""

import ast
import inspect
import sys
import textwrap

# Per module: kernel name -> its source, in definition order (a redefinition keeps its place,
# so the kernels defined after it call the new one).
_registry = {}
# Per module: its kernels' sources joined, made when the kernels change (every `evaluate` of
# the module asks for it).
_joined = {}


def definitions(module):
    """The definitions of ``module``'s kernels, to put before a program's text ("" if none)."""
    return _joined.get(module, "")


def _rejoin(module):
    kernels = _registry.get(module, {})
    _joined[module] = "".join(s if s.endswith("\n") else s + "\n" for s in kernels.values())


def _source(fn):
    """The ``def`` block of ``fn``, dedented, without its decorators."""
    try:
        text = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError) as e:
        raise TypeError(
            f"numjit.kernel needs the source of {fn!r}: define it in a file, not interactively"
        ) from e
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith("def ")), None)
    if start is None:
        raise TypeError(f"numjit.kernel: {fn!r} is not a `def` function")
    lines = lines[start:]
    # A docstring is Python's, not the kernel's: its lines are dropped (numjit has no strings).
    tree = ast.parse("".join(lines))
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.FunctionDef) else []
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str) and len(body) > 1:
        first, last = body[0].lineno - 1, body[0].end_lineno
        lines = lines[:first] + lines[last:]
    return "".join(lines)


class Kernel:
    """A numjit kernel made from a Python function: ``k(a, b)`` evaluates it over arrays.

    >>> import numpy as np, numjit
    >>> @numjit.kernel
    ... def clip(a, lo, hi):
    ...     if a < lo:
    ...         return lo
    ...     if a > hi:
    ...         return hi
    ...     return a
    >>> clip(np.array([-2.0, 0.5, 3.0]), 0.0, 1.0)  # doctest: +SKIP
    array([0. , 0.5, 1. ])
    """

    def __init__(self, fn):
        self.__wrapped__ = fn
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__
        self.source = _source(fn)
        self.module = fn.__module__
        self.nparams = len(inspect.signature(fn).parameters)
        kernels = _registry.setdefault(self.module, {})
        previous = kernels.get(self.__name__)
        kernels[self.__name__] = self.source
        _rejoin(self.module)
        try:
            # Parses and checks the definitions now (types are checked per call).
            _check(self.module)
        except Exception:
            if previous is None:
                del kernels[self.__name__]
            else:
                kernels[self.__name__] = previous
            _rejoin(self.module)
            raise

    def __call__(self, *args):
        if len(args) != self.nparams:
            raise TypeError(
                f"{self.__name__}() takes {self.nparams} argument"
                f"{'' if self.nparams == 1 else 's'} but {len(args)} were given"
            )
        from ._evaluate import _evaluate_with

        names = [f"_numjit_arg{i}" for i in range(len(args))]
        call = f"{self.__name__}({', '.join(names)})"
        if any(type(a).__module__.startswith("dask.") for a in args):
            # Dask arrays: a lazy Dask array whose tasks run the kernel block by block.
            from .dask import _evaluate_lazy

            return _evaluate_lazy(call, dict(zip(names, args)), definitions(self.module))
        return _evaluate_with(call, dict(zip(names, args)), definitions(self.module))

    def __repr__(self):
        return f"<numjit.kernel {self.module}.{self.__name__}>"


def _check(module):
    """Compiles the module's kernel definitions alone, raising numjit's error if they fail."""
    from ._run import run

    run(definitions(module), {}, {})


def kernel(fn):
    """Makes ``fn`` a numjit kernel (see ``Kernel``); use as a decorator."""
    return Kernel(fn)
