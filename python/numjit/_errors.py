"""numjit's exceptions: one class per Python exception family, all under ``NumjitError``.

Each class also derives from the builtin exception NumExpr (and NumPy) raise in the same
situation, so ``except KeyError`` / ``except ValueError`` code written for ``numexpr`` keeps
working, while ``except numjit.NumjitError`` catches everything numjit reports. The message is
numjit's: the expression with a caret under the offending part.
"""

import ctypes
import re

import numpy as np

from ._lib import lib


class NumjitError(Exception):
    """Base class of the errors numjit reports.

    Attributes: ``kind`` (the stable name of the C status, e.g. ``"broadcast"``), ``span``
    (``(start, end)`` byte offsets into the expression, or ``None``) and ``expression``.
    """

    kind = "unknown"
    span = None
    expression = None

    def __str__(self):
        # KeyError's default __str__ shows repr(message), which would print "\n" literally.
        return str(self.args[0]) if self.args else ""


class NumjitSyntaxError(NumjitError, SyntaxError):
    """The text is not an expression (status ``syntax``)."""


class NumjitPythonSyntaxError(NumjitSyntaxError, TypeError):
    """Python syntax that numjit's language leaves out: ``and``/``or``/``not``/``is``/``lambda``
    and list literals. Also a ``TypeError``, which NumExpr raises for them (``(x > 1) and
    (x < 9)``, ``a < [0, 0, 0]``)."""


class NumjitSanitizeSyntaxError(NumjitSyntaxError, ValueError):
    """A syntax error in text that NumExpr's sanitizer (on by default, ``sanitize=None``
    follows ``NUMEXPR_SANITIZE``) refuses with a ``ValueError`` before parsing it: ``;``, ``:``
    outside a subscript, ``__dunder__``, attribute access (``os.cpu_count()``, ``lambda x:
    x``). numjit never hands text to Python, so nothing needs sanitizing; the error is a
    ``ValueError`` too so that code written for NumExpr catches it."""


class NumjitSanitizePythonSyntaxError(NumjitPythonSyntaxError, ValueError):
    """``NumjitSanitizeSyntaxError`` for Python syntax numjit leaves out (``lambda``)."""


class NumjitKeyError(NumjitError, KeyError):
    """A name that is neither a variable nor a constant (status ``unknown_name``)."""


class NumjitTypeError(NumjitError, TypeError):
    """Wrong function, argument count or operand types (``unknown_function``, ``arity``,
    ``type``, ``signature``), or an array dtype numjit cannot take."""


class NumjitDTypeError(NumjitTypeError, ValueError):
    """An array whose dtype numjit cannot take (object, Unicode, uint64, …): a ``TypeError``
    as numjit reports dtypes, and a ``ValueError``, which NumExpr raises for them (``unknown
    type object``, and for ``__builtins__`` and other names bound to non-arrays)."""


class NumjitStringOpError(NumjitTypeError, NotImplementedError):
    """An operation on byte strings that NumExpr has no opcode for (`s + s`, `s >= n`):
    a ``TypeError`` as numjit reports it, and the ``NotImplementedError`` NumExpr raises, whose
    message also names NumExpr's missing opcode (``'add_sss'``)."""


class NumjitValueError(NumjitError, ValueError):
    """Shapes, outputs or values the expression cannot work with (``broadcast``, ``output``,
    ``value``, ``negative_power``, ``limit``, ``invalid_argument``)."""


class NumjitAxisError(NumjitError, np.exceptions.AxisError):
    """A reduction axis outside the operand's rank (``axis``); a ValueError and an IndexError,
    like NumPy's own AxisError."""


class NumjitRuntimeError(NumjitError, RuntimeError):
    """A bug in numjit (``internal``, ``panic``, ``null_argument``)."""


class NumjitFileError(NumjitError, OSError):
    """A file that cannot be opened or created, or is no ``.npy`` numjit reads (``file``; no C
    function opens files yet, so the Python package does not raise it today)."""


# Status code → exception class; the numbers are include/numjit.h's numjit_status.
_BY_STATUS = {
    1: NumjitSyntaxError,  # syntax
    2: NumjitKeyError,  # unknown_name: NumExpr raises KeyError from its dict lookup
    3: NumjitTypeError,  # unknown_function: calling something that is not a function
    4: NumjitTypeError,  # arity: Python's own error for a wrong argument count
    5: NumjitTypeError,  # type: an operation undefined for the operand types
    6: NumjitValueError,  # broadcast: as NumPy and NumExpr
    7: NumjitAxisError,  # axis: NumPy's AxisError
    8: NumjitValueError,  # negative_power: NumPy raises ValueError for int ** negative int
    9: NumjitValueError,  # output: wrong out= shape or dtype
    10: NumjitTypeError,  # signature: re_evaluate with arrays of other dtypes or ranks
    11: NumjitValueError,  # value: e.g. min() of an empty array, as NumPy
    12: NumjitValueError,  # limit: too many dimensions or too deep nesting
    13: NumjitRuntimeError,  # internal
    14: NumjitRuntimeError,  # cancelled: numjit_cancel from another thread
    15: NumjitFileError,  # file: a .npy that cannot be read or written
    100: NumjitRuntimeError,  # null_argument: the wrapper passed NULL, a bug here
    101: NumjitValueError,  # invalid_argument: e.g. an out= whose elements overlap
    102: NumjitRuntimeError,  # panic
}


_CANCELLED = 14


def make(cls, message, kind, expression=None, span=None):
    """An exception of ``cls`` with numjit's attributes set."""
    e = cls(message)
    e.kind, e.expression, e.span = kind, expression, span
    return e


def take(status, handle, expression=None):
    """Turns a failed call's status and error object into an exception, freeing the object."""
    kind = lib.numjit_status_name(status).decode()
    try:
        message = lib.numjit_error_message(handle).decode("utf-8", "replace") if handle else kind
        start, end = ctypes.c_size_t(), ctypes.c_size_t()
        has_span = bool(handle) and lib.numjit_error_span(handle, ctypes.byref(start), ctypes.byref(end))
    finally:
        lib.numjit_error_free(handle)
    span = (start.value, end.value) if has_span else None
    if status == _CANCELLED:
        # A Ctrl-C cancelled the call (numjit_set_cancel_on_sigint) and left Python's own
        # handler pending: run it now, so KeyboardInterrupt (or the user's handler) comes from
        # this call rather than from some later bytecode.
        ctypes.pythonapi.PyErr_CheckSignals()
    cls = _BY_STATUS.get(status, NumjitRuntimeError)
    if cls is NumjitSyntaxError and _is_python_only(expression, span):
        cls = NumjitPythonSyntaxError
    opcode = _numexpr_string_opcode(message) if kind == "type" else None
    if opcode is not None:
        cls = NumjitStringOpError
        message += f"\n(NumExpr: couldn't find matching opcode for '{opcode}')"
    return make(cls, message, kind, expression, span)


# NumExpr's names for operators, its kind letters, and how it swaps `<`/`<=` into `>`/`>=`.
_NUMEXPR_OPS = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow", "%": "mod",
                "&": "and", "|": "or", "<<": "lshift", ">>": "rshift"}
_NUMEXPR_COMPARE = {"==": ("eq", False), "!=": ("ne", False), ">": ("gt", False),
                    ">=": ("ge", False), "<": ("gt", True), "<=": ("ge", True)}
_NUMEXPR_KINDS = {"bool": "b", "int32": "i", "int64": "l", "float32": "f", "float64": "d",
                  "complex64": "c", "complex128": "c"}
_STRING_TYPE_ERROR = re.compile(
    r"^type error: (?:operator `([^`]+)`|`(contains)`) is not defined for (\S+)(?: and (\S+))?: "
    r"byte strings"
)


def _numexpr_string_opcode(message):
    """The opcode NumExpr reports missing for the string operation numjit refused
    (``'add_sss'``, ``'gt_bis'`` for ``s < n``), or ``None`` where NumExpr raises something
    else (a string with a number in arithmetic is its ``TypeError`` too)."""
    m = _STRING_TYPE_ERROR.match(message)
    if m is None:
        return None
    symbol, contains, *types = m.groups()
    kinds = ["s" if t.startswith("S") else _NUMEXPR_KINDS.get(t, "?") for t in types if t]
    if contains:
        return "contains_b" + "".join(kinds)
    if symbol in _NUMEXPR_COMPARE and len(kinds) == 2:
        name, swap = _NUMEXPR_COMPARE[symbol]
        return f"{name}_b" + "".join(reversed(kinds) if swap else kinds)
    if symbol == "-" and kinds == ["s"]:
        return "neg_ss"
    if symbol in _NUMEXPR_OPS and kinds == ["s", "s"]:
        return f"{_NUMEXPR_OPS[symbol]}_sss"
    return None


# Python's words numjit reserves without giving them a meaning (the grammar's `reserved`).
_PYTHON_ONLY = (b"and", b"or", b"not", b"is", b"lambda")


def _is_python_only(expression, span):
    """True when the syntax error's span is a Python-only word or a list literal's `[`."""
    if span is None or not isinstance(expression, str):
        return False
    text = expression.encode("utf-8")[span[0]:span[1]]
    return text in _PYTHON_ONLY or text.startswith(b"[")
