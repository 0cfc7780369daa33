"""numjit: NumExpr-style array expressions, compiled to native code by numjit's JIT.

>>> import numpy as np, numjit as ne
>>> a = np.linspace(0, 1, 5)
>>> ne.evaluate("sin(2*pi*a)**2 + cos(2*pi*a)**2")
array([1., 1., 1., 1., 1.])

The API follows ``numexpr``: ``evaluate``, ``re_evaluate``, ``validate``, ``set_num_threads``,
``get_num_threads``; ``run`` adds numjit's programs (statements, ``for`` loops, ``swap``, slice
assignment), which update the arrays they write in place; ``@numjit.kernel`` compiles a plain
Python function with loops and branches as a numjit kernel, applied elementwise. Errors are ``NumjitError`` subclasses that are also the builtin exceptions
NumExpr raises (``SyntaxError``, ``KeyError``, ``TypeError``, ``ValueError``). The package
calls numjit's C ABI (``include/numjit.h``) through ctypes; see ``python/README.md``.
"""

import os as _os

from ._errors import (
    NumjitAxisError,
    NumjitError,
    NumjitKeyError,
    NumjitPythonSyntaxError,
    NumjitRuntimeError,
    NumjitSyntaxError,
    NumjitTypeError,
    NumjitValueError,
)
from ._evaluate import (
    evaluate,
    get_num_threads,
    get_tier,
    object_cache_dir,
    object_cache_stats,
    re_evaluate,
    set_num_threads,
    set_object_cache_dir,
    set_tier,
    validate,
)
from ._kernels import Kernel, kernel
from ._lib import VERSION as __version__
from ._run import run


def detect_number_of_cores():
    """The number of CPU cores (as ``numexpr.detect_number_of_cores``)."""
    return _os.cpu_count() or 1


ncores = detect_number_of_cores()

__all__ = [
    "evaluate",
    "run",
    "kernel",
    "Kernel",
    "re_evaluate",
    "validate",
    "set_num_threads",
    "get_num_threads",
    "set_tier",
    "get_tier",
    "set_object_cache_dir",
    "object_cache_dir",
    "object_cache_stats",
    "detect_number_of_cores",
    "ncores",
    "NumjitError",
    "NumjitSyntaxError",
    "NumjitPythonSyntaxError",
    "NumjitKeyError",
    "NumjitTypeError",
    "NumjitValueError",
    "NumjitAxisError",
    "NumjitRuntimeError",
    "__version__",
]
