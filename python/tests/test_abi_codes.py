"""The Python package's copies of the C ABI's codes match ``include/numjit.h`` (which
``tests/c_api.rs`` keeps identical to what the Rust definitions generate): status codes → exception
classes, dtype codes, and the numbers the wrappers test against."""

import re
from pathlib import Path

import numpy as np

from numjit import _convert, _errors, _evaluate, _run

HEADER = (Path(__file__).resolve().parents[2] / "include" / "numjit.h").read_text()


def header_enum(prefix):
    return {name: int(code) for name, code in re.findall(rf"\b{prefix}_(\w+) = (\d+),", HEADER)}


def test_every_error_status_has_an_exception_class():
    statuses = header_enum("NUMJIT_STATUS")
    assert statuses.pop("OK") == 0
    assert set(_errors._BY_STATUS) == set(statuses.values()), statuses
    assert _evaluate._INVALID_ARGUMENT == statuses["INVALID_ARGUMENT"]


def test_dtype_codes_match_the_header():
    codes = header_enum("NUMJIT_DTYPE")
    assert codes.pop("BYTES") == _convert.BYTES_CODE
    assert {np.dtype(name.lower()): code for name, code in codes.items()} == _convert.CODES
    shift = re.search(r"#define NUMJIT_BYTES_SHIFT (\d+)", HEADER)
    assert shift and int(shift.group(1)) == _convert.BYTES_SHIFT
    assert _convert.code(np.dtype("S5")) == _convert.BYTES_CODE | 5 << _convert.BYTES_SHIFT


def test_names_selectors_match_the_header():
    assert header_enum("NUMJIT_NAMES") == {"ALL": _run._ALL, "WRITTEN": _run._WRITTEN}
