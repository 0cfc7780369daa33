"""``evaluate``, ``validate`` and ``re_evaluate``: NumExpr's entry points over numjit's C ABI.

One call goes: expression → variable names (cached) → values from the dicts or the caller's
frame → arrays numjit can read in place (``_convert``) → compiled kernel (cached by expression
and signature) → one C call that reads the inputs in place and returns a numjit-owned result,
handed to NumPy without a copy, or writes into ``out``.
"""

import ctypes
import os
import re
import struct
import sys
import threading
import weakref

import numpy as np

from . import _convert, _errors
from . import _kernels as _definitions
from ._lib import Array, ObjectCacheStats, lib, signals_first

_ORDERS = ("C", "F", "A", "K")
_CASTINGS = ("no", "equiv", "safe", "same_kind", "unsafe")
_CACHE_SIZE = 256  # expressions (and kernels) remembered, like NumExpr's caches
_INVALID_ARGUMENT = 101

# One engine for the process; compiled kernels are cached here and, per signature, in _kernels.
_ENGINE = lib.numjit_engine_new(0)


def _forget_oldest(cache):
    """Makes room in a cache (oldest entry first, as dicts keep insertion order)."""
    if len(cache) >= _CACHE_SIZE:
        try:
            cache.pop(next(iter(cache)), None)
        except (RuntimeError, StopIteration):
            pass  # another thread changed the cache meanwhile; it is only a cache


# --- names -----------------------------------------------------------------------------------

class _Names:
    """An expression's text for C and its variable names, with the C addresses of the names
    (the bytes objects live here, so the addresses stay valid as long as this does)."""

    __slots__ = ("source", "names", "_bytes", "addresses")

    def __init__(self, source, names):
        self.source, self.names = source, names
        self._bytes = [n.encode() for n in names]
        self.addresses = {n: _convert.name_address(b) for n, b in zip(names, self._bytes)}


_names = {}


def _names_of(ex, definitions=""):
    """The parsed names of ``ex`` (numjit parses it; syntax errors are raised here). The text
    compiled is ``definitions`` (the caller's module's ``@numjit.kernel`` functions) then ``ex``."""
    if not isinstance(ex, str):
        raise ValueError("must specify expression as a string")
    key = (definitions, ex) if definitions else ex
    hit = _names.get(key)
    if hit is not None:
        return hit
    alone = _c_source(ex)
    names = query_names(ex, lib.numjit_expr_names, alone)
    entry = _Names(_c_source(definitions + ex) if definitions else alone, names)
    _forget_oldest(_names)
    _names[key] = entry
    return entry


def _c_source(ex):
    """``ex`` as a C string (NUL is refused: numjit would see only the text before it)."""
    if "\0" in ex:
        raise _errors.make(
            _errors.NumjitSyntaxError, "syntax error: the expression contains a NUL character",
            "syntax", ex,
        )
    return ex.encode()


def query_names(ex, c_function, *args):
    """The names a numjit ``*_names`` function lists for ``args``."""
    return tuple(query_text(c_function, *args, source=ex).decode().split())


def query_text(c_function, *args, source=None):
    """The text a numjit function that fills ``buf, buf_len, &needed`` writes for ``args``, as
    bytes (growing the buffer; an error's caret is drawn under ``source``)."""
    size = 256
    while True:
        buf = ctypes.create_string_buffer(size)
        needed, err = ctypes.c_size_t(), ctypes.c_void_p()
        status = c_function(*args, buf, size, ctypes.byref(needed), ctypes.byref(err))
        if status == _INVALID_ARGUMENT and needed.value > size:
            lib.numjit_error_free(err)
            size = needed.value
            continue
        if status:
            raise _errors.take(status, err, source)
        return buf.value


def _lookup(names, local_dict, global_dict, frame):
    """The values of ``names`` found in ``local_dict`` then ``global_dict`` (default: the
    caller's frame), as NumExpr looks them up. Names found in neither are left to numjit: the
    constants ``pi e inf nan`` then mean themselves, anything else is an unknown-name error
    with a caret under it."""
    clear = False
    if local_dict is None:
        local_dict = frame.f_locals
        # As NumExpr (pydata/numexpr#310): before Python 3.13, f_locals is a snapshot dict that
        # keeps the caller's arrays referenced (blocking e.g. ndarray.resize) until cleared.
        # From 3.13 it is a live view, and clearing it would delete the caller's variables.
        clear = sys.version_info < (3, 13) and local_dict is not frame.f_globals
    if global_dict is None:
        global_dict = frame.f_globals
    try:
        found = []
        for name in names:
            if name in local_dict:
                found.append((name, local_dict[name]))
            elif name in global_dict:
                found.append((name, global_dict[name]))
        return found
    finally:
        if clear:
            local_dict.clear()


def _operands(found, addresses):
    """Name addresses and arrays for the C call, and the signature that picks the kernel."""
    names, arrays, sig = [], [], []
    for name, value in found:
        a = _convert.operand(name, value)
        names.append(addresses[name])
        arrays.append(a)
        sig.append((name, _convert.code(a.dtype), a.ndim, a.flags.c_contiguous))
    return names, arrays, tuple(sig)


# --- kernels ---------------------------------------------------------------------------------


class _Kernel:
    """A compiled expression: owns a ``numjit_kernel`` handle."""

    __slots__ = ("handle", "expression", "dtype")

    def __init__(self, source, expression, names, arrays):
        handle, err = ctypes.c_void_p(), ctypes.c_void_p()
        keep = []
        vars_ = _convert.variables(names, arrays, keep)
        status = lib.numjit_compile(
            _ENGINE, source, vars_, len(names), ctypes.byref(handle), ctypes.byref(err)
        )
        if status:
            raise _errors.take(status, err, expression)
        self.handle, self.expression = handle.value, expression
        code = ctypes.c_uint32()
        lib.numjit_kernel_dtype(self.handle, ctypes.byref(code))
        self.dtype = _convert.DTYPES[code.value]

    def __del__(self, _free=lib.numjit_kernel_free):
        # `_free` is bound at definition: module globals may be gone at interpreter exit.
        if getattr(self, "handle", None):
            _free(self.handle)


_kernels = {}


def _kernel(ex, source, names, arrays, sig):
    key = (ex, sig)
    k = _kernels.get(key)
    if k is None:
        k = _Kernel(source, ex, names, arrays)
        _forget_oldest(_kernels)
        _kernels[key] = k
    return k


# --- running ---------------------------------------------------------------------------------


_RESULT = struct.Struct(_convert.ARRAY_FMT)


class _Owner:
    """Keeps a ``numjit_result`` alive for the NumPy array that views its memory (its base)."""

    __slots__ = ("handle", "__array_interface__")

    def __init__(self, handle):
        self.handle = handle
        desc = Array()
        status = lib.numjit_result_array(handle, ctypes.byref(desc))
        if status:
            raise _errors.take(status, None)
        code, data, nd, shape, strides = _RESULT.unpack_from(desc)
        vector = ctypes.c_ssize_t * nd
        self.__array_interface__ = {
            "version": 3,
            "typestr": _convert.TYPESTRS[code],
            "data": (data, False),
            "shape": tuple(vector.from_address(shape)) if nd else (),
            "strides": tuple(vector.from_address(strides)) if nd else None,
        }

    def __del__(self, _free=lib.numjit_result_free):
        _free(self.handle)


def _ordered(result, order, arrays):
    """numjit returns C order; 'F', and 'A' with all inputs in Fortran order, get a copy."""
    if order == "F" or (
        order == "A"
        and any(a.ndim > 1 for a in arrays)
        and all(a.flags.f_contiguous for a in arrays if a.ndim > 1)
    ):
        return np.asfortranarray(result)
    return result


class _Call:
    """A validated expression with its options: what ``re_evaluate`` repeats."""

    __slots__ = ("kernel", "names", "out", "order", "casting")

    def __init__(self, kernel, names, out, order, casting):
        # `names` is the _Names entry: it keeps the name addresses valid for re_evaluate.
        self.kernel, self.names, self.order, self.casting = kernel, names, order, casting
        if out is not None:
            _check_out(out, kernel.dtype, casting)
        # Held weakly, as NumExpr does, so re_evaluate's memory does not keep `out` alive.
        self.out = None if out is None else weakref.ref(out)

    def run(self, names, arrays):
        out = None if self.out is None else self.out()
        kernel = self.kernel
        keep = []
        vars_ = _convert.variables(names, arrays, keep)
        err = ctypes.c_void_p()
        signals_first()
        if out is not None and out.dtype == kernel.dtype and not _overlaps_an_input(out, arrays):
            target = _convert.output(out, keep)
            status = lib.numjit_kernel_eval_into(
                kernel.handle, vars_, len(names), ctypes.byref(target), ctypes.byref(err)
            )
            if status:
                raise _errors.take(status, err, kernel.expression)
            return out
        handle = ctypes.c_void_p()
        status = lib.numjit_kernel_eval(
            kernel.handle, vars_, len(names), ctypes.byref(handle), ctypes.byref(err)
        )
        if status:
            raise _errors.take(status, err, kernel.expression)
        result = np.asarray(_Owner(handle.value))
        if out is None:
            return _ordered(result, self.order, arrays)
        # A different out dtype: allowed by `casting` (checked in _check_out), at the cost of
        # one copy; numjit itself only writes results of its own dtype. The copy broadcasts
        # into a larger `out`, as NumExpr's does (`evaluate('3', out=a)` fills `a`).
        try:
            fits = np.broadcast_shapes(result.shape, out.shape) == out.shape
        except ValueError:
            fits = False
        if not fits:
            raise _errors.make(
                _errors.NumjitValueError,
                f"output error: output has shape {out.shape}, but the expression gives shape "
                f"{result.shape}",
                "output",
                kernel.expression,
            )
        np.copyto(out, result, casting=self.casting)
        return out


def _overlaps_an_input(out, arrays):
    """True when ``out`` shares memory with an input other than as the very same view. Written
    in place, the result would overwrite elements before they are read (``out=x`` with the input
    ``x[::-1]``, ``x[:-1]`` or ``x.T``), so it goes through a temporary instead, which gives
    NumPy's answer. The very same view is safe: each element is read before it is written."""
    for a in arrays:
        if isinstance(a, np.ndarray) and np.may_share_memory(out, a) and not _same_view(out, a):
            return True
    return False


def _same_view(a, b):
    return (
        a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
        and a.shape == b.shape
        and a.strides == b.strides
        and a.dtype == b.dtype
    )


def _check_out(out, dtype, casting):
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a NumPy array, not {type(out).__name__}")
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    if out.dtype != dtype and not np.can_cast(dtype, out.dtype, casting):
        raise _errors.make(
            _errors.NumjitValueError,
            f"output error: the result has dtype {dtype}, which cannot be written to out of "
            f"dtype {out.dtype} with casting={casting!r}",
            "output",
        )


def _prepare(ex, local_dict, global_dict, frame, out, order, casting, definitions=None):
    if order not in _ORDERS:
        raise ValueError(f"order must be one of 'C', 'F', 'A', or 'K' (got {order!r})")
    if casting not in _CASTINGS:
        raise ValueError(
            "casting must be one of 'no', 'equiv', 'safe', 'same_kind', 'unsafe' "
            f"(got {casting!r})"
        )
    if definitions is None:
        definitions = _definitions.definitions(frame.f_globals.get("__name__"))
    names = _names_of(ex, definitions)
    found = _lookup(names.names, local_dict, global_dict, frame)
    addresses, arrays, sig = _operands(found, names.addresses)
    if len(arrays) == 1 and arrays[0].dtype.kind == "S" and ex.strip() == names.names[0]:
        # A string variable alone: NumExpr's copy. (numjit computes no strings, it only
        # compares and searches them.)
        return _Copy(names, out, order, casting), addresses, arrays
    kernel = _kernel(ex, names.source, addresses, arrays, sig)
    return _Call(kernel, names, out, order, casting), addresses, arrays


class _Copy:
    """``evaluate("s")`` of a byte-string array ``s``: a copy, as NumExpr gives."""

    __slots__ = ("names", "out", "order", "casting")

    def __init__(self, names, out, order, casting):
        self.names, self.order, self.casting = names, order, casting
        if out is not None and not isinstance(out, np.ndarray):
            raise TypeError(f"out must be a NumPy array, not {type(out).__name__}")
        self.out = None if out is None else weakref.ref(out)

    def run(self, names, arrays):
        out = None if self.out is None else self.out()
        if out is None:
            return _ordered(np.array(arrays[0], order="C"), self.order, arrays)
        np.copyto(out, arrays[0], casting=self.casting)
        return out


# The last validated expression of each thread, for re_evaluate (NumExpr keeps it per thread
# too, so threads evaluating different expressions do not disturb each other).
_last = threading.local()


# --- the public functions --------------------------------------------------------------------


def _check_numexpr_options(optimization, truediv):
    """NumExpr's tuning keywords, accepted so that calls written for it keep working: numjit
    always optimizes (CSE, folding), and its ``/`` is always true division (Python 3's)."""
    if optimization not in ("none", "moderate", "aggressive"):
        raise ValueError(
            f"optimization must be 'none', 'moderate' or 'aggressive' (got {optimization!r})"
        )
    # NumExpr 2.14 parses with Python 3, where `/` is true division whatever `truediv` says
    # (`evaluate("x/2", truediv=False)` of int32 x is float64 there too).
    if truediv not in ("auto", True, False):
        raise ValueError(f"truediv must be False, True or 'auto' (got {truediv!r})")


# NumExpr 2.14's sanitizer (necompiler.py): what it refuses, with ValueError, before parsing.
_NUMEXPR_FORBIDDEN = re.compile(
    r"[\;\[\:]|(^|[^\w])__[\w]+__($|[^\w])"
    r"|\.\b(?!(real|imag|(\d*[eE]?[+-]?\d+)|(\d*[eE]?[+-]?\d+j)|(\d*j))\b)"
)


def _numexpr_would_refuse(ex, sanitize):
    """True when NumExpr with these settings refuses ``ex`` unparsed (``ValueError``)."""
    if sanitize is None:
        sanitize = bool(int(os.environ.get("NUMEXPR_SANITIZE", "1")))
    if not sanitize or not isinstance(ex, str):
        return False
    text = re.sub(r"(\'[^\']*\')", "", re.sub(r"\s+", "", ex))
    return _NUMEXPR_FORBIDDEN.search(text) is not None


def _as_sanitize_error(e):
    """A syntax error as the ``ValueError`` NumExpr's sanitizer raises (same message)."""
    cls = (
        _errors.NumjitSanitizePythonSyntaxError
        if isinstance(e, _errors.NumjitPythonSyntaxError)
        else _errors.NumjitSanitizeSyntaxError
    )
    new = cls(*e.args)
    new.kind, new.span, new.expression = e.kind, e.span, e.expression
    return new


def _prepare_sanitized(ex, local_dict, global_dict, frame, out, order, casting, sanitize):
    """``_prepare``, with syntax errors in text NumExpr's sanitizer refuses as ValueErrors."""
    try:
        return _prepare(ex, local_dict, global_dict, frame, out, order, casting)
    except _errors.NumjitSyntaxError as e:
        if _numexpr_would_refuse(ex, sanitize):
            raise _as_sanitize_error(e) from None
        raise


def evaluate(ex, local_dict=None, global_dict=None, out=None, order="K", casting="same_kind", *,
             optimization="aggressive", truediv="auto", sanitize=None):
    """Evaluates the array expression ``ex`` and returns the result, like ``numexpr.evaluate``.

    Variables are looked up in ``local_dict`` and then ``global_dict``; either left ``None``
    means the caller's locals / globals. Arrays are read in place whatever their strides.

    ``out``: an array to write the result into (same shape; same dtype, or one ``casting``
    allows, which costs a copy); it is returned. ``order``: numjit produces C-ordered results;
    ``'F'`` (and ``'A'`` when all inputs are Fortran-ordered) returns a Fortran-ordered copy.
    ``casting`` (default ``'same_kind'``, NumExpr 2.14's) applies to ``out`` only (inputs are
    never cast unsafely). NumExpr's
    ``optimization``, ``truediv`` and ``sanitize`` are accepted: numjit always optimizes and
    divides truly (as NumExpr does on Python 3, whatever ``truediv`` says), and never hands the
    text to Python; a syntax error in text NumExpr's sanitizer would refuse is also a
    ``ValueError``, as NumExpr's refusal is.

    Raises ``NumjitError`` subclasses that are also ``SyntaxError``, ``KeyError``,
    ``TypeError`` or ``ValueError`` (see the package documentation for the mapping).
    """
    _check_numexpr_options(optimization, truediv)
    frame = sys._getframe(1)
    try:
        call, names, arrays = _prepare_sanitized(
            ex, local_dict, global_dict, frame, out, order, casting, sanitize
        )
    finally:
        del frame
    _last.call = call
    return call.run(names, arrays)


def _evaluate_with(ex, local_dict, definitions, out=None, casting="safe"):
    """``evaluate`` of ``ex`` over ``local_dict`` alone, after the kernel ``definitions`` (a
    ``numjit.kernel`` call, ``numjit.dask``'s tasks)."""
    frame = sys._getframe(1)
    try:
        call, names, arrays = _prepare(ex, local_dict, {}, frame, out, "K", casting, definitions)
    finally:
        del frame
    return call.run(names, arrays)


def _validate_with(ex, local_dict, definitions):
    """``validate`` of ``ex`` over ``local_dict`` alone, after the kernel ``definitions``."""
    frame = sys._getframe(1)
    try:
        _prepare(ex, local_dict, {}, frame, None, "K", "safe", definitions)
    except Exception as e:  # noqa: BLE001 -- returning the exception is the point
        return e
    finally:
        del frame
    return None


def validate(ex, local_dict=None, global_dict=None, out=None, order="K", casting="safe", *,
             optimization="aggressive", truediv="auto", sanitize=None):
    """Checks and compiles ``ex`` for the current variables without evaluating it; returns
    ``None`` on success or the exception ``evaluate`` would raise (NumExpr's contract). A
    successful ``validate`` can be followed directly by ``re_evaluate``."""
    frame = sys._getframe(1)
    try:
        _check_numexpr_options(optimization, truediv)
        call, _, _ = _prepare_sanitized(
            ex, local_dict, global_dict, frame, out, order, casting, sanitize
        )
    except Exception as e:  # noqa: BLE001 -- returning the exception is the point
        return e
    finally:
        del frame
    _last.call = call
    return None


def re_evaluate(local_dict=None, global_dict=None):
    """Evaluates this thread's last ``evaluate``/``validate`` expression again with the current
    values of its variables (which must have the same dtypes and ranks; sizes may differ), and
    the same ``out``, ``order`` and ``casting``. Skips parsing, lookup of the kernel and checks
    of the options."""
    call = getattr(_last, "call", None)
    if call is None:
        raise RuntimeError(
            "A previous evaluate() execution was not found, please call `validate` or "
            "`evaluate` once before `re_evaluate`"
        )
    frame = sys._getframe(1)
    try:
        found = _lookup(call.names.names, local_dict, global_dict, frame)
    finally:
        del frame
    addresses, arrays, _ = _operands(found, call.names.addresses)
    return call.run(addresses, arrays)


def set_num_threads(nthreads):
    """Sets the number of threads numjit evaluates with and returns the previous number."""
    n = int(nthreads)
    if n < 1:
        raise ValueError(f"the number of threads must be at least 1, not {n}")
    return lib.numjit_set_num_threads(n)


def get_num_threads():
    """The number of threads numjit evaluates with."""
    return lib.numjit_get_num_threads()


def set_tier(name):
    """Makes the code generator ``name`` compile every expression compiled from now on and
    returns the previous one's name: ``"cranelift"`` (the default: compiles in well under a
    millisecond), ``"llvm"`` (full vector width, the same bits; a library built with feature
    ``llvm``, else ``NumjitValueError``) or ``"auto"`` (Cranelift first, LLVM once a kernel has
    run 100 ms). ``NUMJIT_TIER`` sets the initial one.

    >>> before = set_tier("cranelift")
    >>> get_tier()
    'cranelift'
    """
    before = get_tier()
    err = ctypes.c_void_p()
    status = lib.numjit_set_tier(str(name).encode(), ctypes.byref(err))
    if status:
        raise _errors.take(status, err, str(name))
    return before


def get_tier():
    """The name of the code generator compiling now (see ``set_tier``)."""
    name = lib.numjit_get_tier()
    if name is None:
        raise _errors.make(
            _errors.NumjitValueError,
            "NUMJIT_TIER names no tier (expected cranelift, llvm or auto)",
            "value",
        )
    return name.decode()


def set_object_cache_dir(path):
    """Makes the LLVM tier cache the machine code it compiles in the directory ``path`` (a
    ``str``, ``bytes`` or path-like; created when missing), or cache nothing with ``None``, from
    the next compile on, and returns the previous directory (``None`` for none). Overrides
    ``NUMJIT_CACHE_DIR``. Objects are keyed by the kernel, numjit's and LLVM's versions and the
    CPU; a damaged or foreign file is compiled afresh. The directory must be one only trusted
    users can write: its objects run as machine code. Without the ``llvm`` build it has no
    effect, as ``numba``'s ``cache=True`` has none on code it does not compile.

    >>> import tempfile
    >>> before = set_object_cache_dir(tempfile.gettempdir() + "/numjit-cache")
    >>> object_cache_dir().endswith("numjit-cache")
    True
    >>> _ = set_object_cache_dir(before)
    """
    before = object_cache_dir()
    raw = None if path is None else os.fsencode(path)
    if raw is not None and b"\0" in raw:
        raise _errors.make(
            _errors.NumjitValueError, f"the cache directory {path!r} holds a NUL byte", "value"
        )
    err = ctypes.c_void_p()
    status = lib.numjit_set_object_cache_dir(raw, ctypes.byref(err))
    if status:
        raise _errors.take(status, err)
    return before


def object_cache_dir():
    """The LLVM tier's object cache directory now (``set_object_cache_dir``, else
    ``NUMJIT_CACHE_DIR``), or ``None`` when nothing is cached."""
    raw = query_text(lib.numjit_get_object_cache_dir)
    return os.fsdecode(raw) if raw else None


def object_cache_stats():
    """What the LLVM tier's object cache did in this process, as a dict of counts: ``hits``
    (objects loaded, no compile), ``misses``, ``rejected`` (damaged or foreign files, compiled
    afresh), ``stored`` and ``store_errors``.

    >>> list(object_cache_stats())
    ['hits', 'misses', 'rejected', 'stored', 'store_errors']
    """
    stats = ObjectCacheStats()
    err = ctypes.c_void_p()
    status = lib.numjit_get_object_cache_stats(ctypes.byref(stats), ctypes.byref(err))
    if status:
        raise _errors.take(status, err)
    return {name: getattr(stats, name) for name, _ in stats._fields_}
