"""The bundled C library (``include/numjit.h``), loaded with ctypes.

Only this module knows the C signatures; everything else calls the thin wrappers below through
the ``lib`` object. The structures mirror the header's ``numjit_array``/``numjit_var`` and
``numjit_object_cache_stats`` exactly.
"""

import ctypes
import os
import sys
import threading
from ctypes import POINTER, c_bool, c_char_p, c_size_t, c_ssize_t, c_uint32, c_void_p
from pathlib import Path

_LIBNAME = {"darwin": "libnumjit.dylib", "win32": "numjit.dll"}.get(sys.platform, "libnumjit.so")


class Array(ctypes.Structure):
    """``numjit_array``: dtype code, pointer to element (0, …, 0), ndim, shape, byte strides."""

    _fields_ = [
        ("dtype", c_uint32),
        ("data", c_void_p),
        ("ndim", c_size_t),
        ("shape", POINTER(c_ssize_t)),
        ("strides", POINTER(c_ssize_t)),
    ]


# ``numjit_array_mut`` has the same layout; only the constness of ``data`` differs in C.
ArrayMut = Array


class Var(ctypes.Structure):
    """``numjit_var``: a NUL-terminated UTF-8 name and its array."""

    _fields_ = [("name", c_char_p), ("array", Array)]


class ObjectCacheStats(ctypes.Structure):
    """``numjit_object_cache_stats``: what the LLVM tier's object cache did in this process."""

    _fields_ = [
        ("hits", ctypes.c_uint64),
        ("misses", ctypes.c_uint64),
        ("rejected", ctypes.c_uint64),
        ("stored", ctypes.c_uint64),
        ("store_errors", ctypes.c_uint64),
    ]


def _load():
    # NUMJIT_LIBRARY lets a developer point at target/debug/libnumjit.so without reinstalling.
    path = os.environ.get("NUMJIT_LIBRARY") or str(Path(__file__).with_name(_LIBNAME))
    try:
        return ctypes.CDLL(path)
    except OSError as e:
        raise ImportError(
            f"numjit: cannot load its native library {path} ({e}); "
            "reinstall the package (see python/README.md) or set NUMJIT_LIBRARY"
        ) from e


lib = _load()

_handle = c_void_p
_out_handle = POINTER(c_void_p)
_signatures = {
    "numjit_engine_new": ([c_size_t], _handle),
    "numjit_engine_free": ([_handle], None),
    "numjit_compile": ([_handle, c_char_p, POINTER(Var), c_size_t, _out_handle, _out_handle], c_uint32),
    "numjit_kernel_free": ([_handle], None),
    "numjit_kernel_dtype": ([_handle, POINTER(c_uint32)], c_uint32),
    "numjit_kernel_eval": ([_handle, POINTER(Var), c_size_t, _out_handle, _out_handle], c_uint32),
    "numjit_kernel_eval_into": ([_handle, POINTER(Var), c_size_t, POINTER(ArrayMut), _out_handle], c_uint32),
    "numjit_evaluate": ([c_char_p, POINTER(Var), c_size_t, _out_handle, _out_handle], c_uint32),
    "numjit_error_status": ([_handle], c_uint32),
    "numjit_error_message": ([_handle], c_char_p),
    "numjit_error_span": ([_handle, POINTER(c_size_t), POINTER(c_size_t)], c_bool),
    "numjit_error_free": ([_handle], None),
    "numjit_status_name": ([c_uint32], c_char_p),
    "numjit_result_array": ([_handle, POINTER(Array)], c_uint32),
    "numjit_result_free": ([_handle], None),
    "numjit_set_num_threads": ([c_size_t], c_size_t),
    "numjit_get_num_threads": ([], c_size_t),
    "numjit_version": ([], c_char_p),
    "numjit_set_tier": ([c_char_p, _out_handle], c_uint32),
    "numjit_get_tier": ([], c_char_p),
    "numjit_set_object_cache_dir": ([c_char_p, _out_handle], c_uint32),
    "numjit_get_object_cache_dir": ([c_char_p, c_size_t, POINTER(c_size_t), _out_handle], c_uint32),
    "numjit_get_object_cache_stats": ([POINTER(ObjectCacheStats), _out_handle], c_uint32),
    "numjit_set_cancel_on_sigint": ([c_bool], None),
    "numjit_expr_names": ([c_char_p, c_char_p, c_size_t, POINTER(c_size_t), _out_handle], c_uint32),
    "numjit_program_names": (
        [c_char_p, c_uint32, c_char_p, c_size_t, POINTER(c_size_t), _out_handle], c_uint32),
    # numjit_var_mut has numjit_var's layout (only the constness of the data pointer differs).
    "numjit_run": (
        [c_char_p, POINTER(Var), c_size_t, POINTER(Var), c_size_t, _out_handle, _out_handle],
        c_uint32),
}
for _name, (_args, _ret) in _signatures.items():
    _f = getattr(lib, _name)
    _f.argtypes = _args
    _f.restype = _ret

VERSION = lib.numjit_version().decode()

def signals_first():
    """Runs Python's handler of a signal that is already pending (KeyboardInterrupt raises
    here). numjit's own SIGINT hook only covers the native call: a Ctrl-C during the call's
    preparation would otherwise wait for the call to return, which an endless kernel never
    does."""
    ctypes.pythonapi.PyErr_CheckSignals()


# Ctrl-C during a call on the main thread (where Python delivers KeyboardInterrupt) cancels the
# evaluation within a millisecond or so, then Python's handler runs: see _errors.take.
if threading.current_thread() is threading.main_thread():
    lib.numjit_set_cancel_on_sigint(True)
