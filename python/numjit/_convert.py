"""Python values → arrays numjit can read in place → C descriptions (``numjit_var``).

Arrays of the seven dtypes numjit computes with are passed zero-copy: the C side gets the
array's own data pointer, shape and byte strides (negative and zero strides included). Other
values are converted once, following NumExpr (which calls ``np.asarray`` on every operand and
then casts to the types its virtual machine has):

* Python ``bool``/``int``/``float``/``complex`` → 0-d ``bool``/``int64``/``float64``/``complex128``
  (``np.asarray``'s types);
  lists and other array-likes → ``np.asarray``.
* ``int8``, ``int16``, ``uint8``, ``uint16`` → ``int32``; ``uint32`` → ``int64``;
  ``float16`` → ``float32``: value-preserving, as NumExpr does.
* Byte strings (``S<n>``, what ``np.asarray(b"...")`` gives) are passed in place too: numjit
  compares and searches them. Unicode strings (``U<n>``) → ``ValueError``, as NumExpr.
* ``uint64`` (NumExpr wraps it to int64 silently), objects, datetimes → an error naming the
  dtype that is a ``TypeError`` (numjit's) and a ``ValueError`` (NumExpr's).
* Byte-swapped or misaligned arrays are copied to native, aligned ones.
"""

import ctypes
import struct

import numpy as np

from . import _errors
from ._lib import Array, Var

# numjit_dtype codes (include/numjit.h).
CODES = {
    np.dtype(np.bool_): 0,
    np.dtype(np.int32): 1,
    np.dtype(np.int64): 2,
    np.dtype(np.float32): 3,
    np.dtype(np.float64): 4,
    np.dtype(np.complex64): 5,
    np.dtype(np.complex128): 6,
}
DTYPES = {code: dtype for dtype, code in CODES.items()}
# NumPy's S<n>: NUMJIT_DTYPE_BYTES | (n << NUMJIT_BYTES_SHIFT).
BYTES_CODE, BYTES_SHIFT = 7, 8


def code(dt):
    """The numjit_dtype code of a dtype ``operand`` returns."""
    c = CODES.get(dt)
    return c if c is not None else BYTES_CODE | (dt.itemsize << BYTES_SHIFT)
TYPESTRS = {code: dtype.str for code, dtype in DTYPES.items()}  # for __array_interface__

# Value-preserving casts to a dtype numjit has, as NumExpr makes them.
_UPCAST = {
    np.dtype(np.int8): np.dtype(np.int32),
    np.dtype(np.int16): np.dtype(np.int32),
    np.dtype(np.uint8): np.dtype(np.int32),
    np.dtype(np.uint16): np.dtype(np.int32),
    np.dtype(np.uint32): np.dtype(np.int64),
    np.dtype(np.float16): np.dtype(np.float32),
}


def operand(name, value):
    """``value`` as an ndarray numjit can read in place (converted only when it must be)."""
    a = value if type(value) is np.ndarray else np.asarray(value)
    dt = a.dtype
    if dt in CODES:
        # `dt in CODES` is false for byte-swapped dtypes ('>f8' != '<f8'), so these are native.
        if not a.flags.aligned:
            a = a.copy()
        return a
    if dt.kind == "S":
        # Strides in whole strings (a structured array's field may have others): else a copy.
        if dt.itemsize == 0 or any(s % dt.itemsize for s in a.strides):
            a = np.array(a, dtype=f"S{max(1, dt.itemsize)}")
        return a
    if dt.kind == "U":
        raise _errors.make(
            _errors.NumjitDTypeError,
            f"variable `{name}` has dtype {dt}: numjit, as NumExpr, does not support Unicode "
            "strings; encode them as bytes, e.g. with np.char.encode(a) or .astype('S')",
            "type",
        )
    native = dt if dt.isnative else dt.newbyteorder("=")
    target = native if native in CODES else _UPCAST.get(native)
    if target is None:
        raise _errors.make(
            _errors.NumjitDTypeError,
            f"variable `{name}` has dtype {dt}, which numjit does not support; it computes with "
            "bool, int32, int64, float32, float64, complex64 and complex128 (smaller ints and "
            "float16 are converted "
            "automatically); convert it, e.g. with .astype(np.float64)",
            "type",
        )
    return a.astype(target)


# --- an array's own layout ---------------------------------------------------------------------
#
# The portable way to get an array's data pointer, shape and strides as C pointers is
# `a.__array_interface__` plus new ctypes arrays for shape and strides: several microseconds per
# array, as much as the whole evaluation of 1000 elements. The fast way reads them from the
# array object itself: NumPy's `PyArrayObject_fields` (data, nd, dimensions, strides right after
# the object header) is part of its C ABI, so the layout is stable. It is used only after an
# import-time probe confirms it on this interpreter (it would not hold on, e.g., a
# free-threaded build's larger object header); otherwise the portable path is used.


class _ArrayFields(ctypes.Structure):
    _fields_ = [
        ("ob_refcnt", ctypes.c_ssize_t),
        ("ob_type", ctypes.c_void_p),
        ("data", ctypes.c_void_p),
        ("nd", ctypes.c_int),
        ("dimensions", ctypes.c_void_p),
        ("strides", ctypes.c_void_p),
    ]


def _fast_layout(a):
    """(data, shape pointer, strides pointer) read from the array object; valid while it lives."""
    f = _ArrayFields.from_address(id(a))
    return f.data or 0, f.dimensions or 0, f.strides or 0


def _portable_layout(a, keep):
    """(data, shape pointer, strides pointer) through the array interface; the pointed-to
    buffers are appended to ``keep``, which must outlive the C call."""
    info = a.__array_interface__
    nd = a.ndim
    if not nd:
        return info["data"][0], 0, 0
    shape = (ctypes.c_ssize_t * nd)(*a.shape)
    strides = (ctypes.c_ssize_t * nd)(*a.strides)
    keep.extend((shape, strides))
    return info["data"][0], ctypes.addressof(shape), ctypes.addressof(strides)


def _fast_layout_works():
    probes = [np.arange(24.0).reshape(2, 3, 4)[:, ::-1, ::2], np.array(1.5), np.ones((0, 3), np.int32)]
    sizeof = ctypes.sizeof(ctypes.c_ssize_t)
    try:
        for a in probes:
            data, dims, strides = _fast_layout(a)
            nd = _ArrayFields.from_address(id(a)).nd
            if nd != a.ndim or data != a.__array_interface__["data"][0]:
                return False
            if nd and (
                tuple((ctypes.c_ssize_t * nd).from_address(dims)) != a.shape
                or tuple((ctypes.c_ssize_t * nd).from_address(strides)) != a.strides
            ):
                return False
            if sizeof != 8:
                return False
        return True
    except (ValueError, OverflowError):
        return False


FAST_LAYOUT = _fast_layout_works()

# numjit_var / numjit_array as raw bytes: packing all fields in one call is several times faster
# than setting ctypes structure fields one by one.
ARRAY_FMT = "@I4xPNPP"  # dtype, (padding), data, ndim, shape, strides
_VAR_FMT = "@P" + ARRAY_FMT[1:]  # name, then the array
assert struct.calcsize(_VAR_FMT) == ctypes.sizeof(Var)
assert struct.calcsize(ARRAY_FMT) == ctypes.sizeof(Array)


def _pack(fmt, buf, offset, prefix, a, keep):
    data, dims, strides = _fast_layout(a) if FAST_LAYOUT else _portable_layout(a, keep)
    struct.pack_into(fmt, buf, offset, *prefix, code(a.dtype), data, a.ndim, dims, strides)


def variables(name_addresses, arrays, keep):
    """A ``numjit_var[]`` describing ``arrays`` (zero-copy) under the given names (addresses of
    NUL-terminated bytes). ``arrays``, the names and ``keep`` must outlive the C call."""
    vars_ = (Var * len(arrays))()
    size = ctypes.sizeof(Var)
    for i, (name, a) in enumerate(zip(name_addresses, arrays)):
        _pack(_VAR_FMT, vars_, i * size, (name,), a, keep)
    return vars_


def output(a, keep):
    """A ``numjit_array_mut`` for writing into ``a`` in place."""
    desc = Array()
    _pack(ARRAY_FMT, desc, 0, (), a, keep)
    return desc


def name_address(name_bytes):
    """The address of a bytes object's NUL-terminated buffer (valid while the object lives)."""
    return ctypes.cast(ctypes.c_char_p(name_bytes), ctypes.c_void_p).value
