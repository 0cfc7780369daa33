"""The shared expression corpus (tests/data/*.toml, format in tests/data/README.md) through the
Python package: the same cases, inputs and NumPy-computed expectations the Rust tests use, so
the C ABI and the ctypes layer are checked on every dtype, stride pattern and error kind."""

import tomllib
from pathlib import Path

import numpy as np
import pytest

import numjit as ne

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"

# Which exception each error kind raises (python/README.md documents the mapping).
EXCEPTION = {
    "syntax": SyntaxError,
    "unknown_name": KeyError,
    "unknown_function": TypeError,
    "arity": TypeError,
    "type": TypeError,
    "broadcast": ValueError,
    "axis": np.exceptions.AxisError,
    "negative_power": ValueError,
    "output": ValueError,
    "signature": TypeError,
    "value": ValueError,
    "limit": ValueError,
}


def load_cases():
    cases = []
    for path in sorted(DATA.glob("*.toml")):
        with open(path, "rb") as f:
            cases.extend(tomllib.load(f)["case"])
    return cases


CASES = load_cases()


def parse_view(view):
    """'1:-1, ::-2' → a tuple of slices; the corpus uses NumPy's own slicing semantics."""
    def part(text):
        bounds = [int(b) if b.strip() else None for b in text.split(":")]
        return slice(*bounds)

    return tuple(part(p) for p in view.split(","))


def build(spec):
    dtype = np.dtype(spec["dtype"])
    if "gen" in spec:
        name, args = spec["gen"].rstrip(")").split("(")
        args = [float(a) for a in args.split(",")]
        values = np.linspace(args[0], args[1], int(args[2])) if name == "linspace" else np.arange(int(args[0]))
        a = values.astype(dtype)
        if "shape" in spec:
            a = a.reshape(spec["shape"])
    else:
        data = spec["data"]
        shape = spec.get("shape", [len(data)] if isinstance(data, list) else [])
        if dtype.kind == "c":
            # A complex element is the pair [re, im] (the shape is always stated).
            pairs = np.array(data, dtype=np.float64).reshape(-1, 2)
            a = (pairs[:, 0].astype(dtype) + 0j).astype(dtype)
            a.imag = pairs[:, 1]
            a.real = pairs[:, 0]
            a = a.reshape(shape)
        elif dtype.kind == "S":
            # A string element's characters are its bytes (U+0000-U+00FF).
            flat = np.ravel(np.array(data, dtype=object))
            a = np.array([x.encode("latin-1") for x in flat], dtype=dtype).reshape(shape)
        else:
            # Floats go through float64 first: float32 values are written as their exact doubles.
            a = np.array(data, dtype=np.float64 if dtype.kind == "f" else dtype).astype(dtype).reshape(shape)
    if spec.get("order") == "F":
        a = np.asfortranarray(a)
    if "view" in spec:
        a = a[parse_view(spec["view"])]
    return a


def ulp_distance(g, w):
    """Units in the last place between two floats of one width (Python ints: no overflow)."""
    width = g.dtype.itemsize * 8
    unsigned = np.uint64 if width == 64 else np.uint32

    def ordered(x):
        # Sign-magnitude bits → a line on which adjacent floats are adjacent integers.
        u = int(np.array(x).view(unsigned))
        magnitude = u & ((1 << (width - 1)) - 1)
        return -magnitude if u >> (width - 1) else magnitude

    return abs(ordered(g) - ordered(w))


def assert_matches(case, got, exp=None):
    exp = exp or case["expected"]
    want = build({"dtype": exp["dtype"], "shape": exp.get("shape", []), "data": exp["data"]})
    assert isinstance(got, np.ndarray), type(got)
    assert got.dtype == want.dtype, f"dtype {got.dtype}, expected {want.dtype}"
    assert got.shape == want.shape, f"shape {got.shape}, expected {want.shape}"
    if want.dtype.kind == "c":
        # Part by part, each within the case's tolerance.
        for part in (np.real, np.imag):
            assert_parts_match(case, part(got).ravel(), part(want).ravel())
        return
    if want.dtype.kind != "f":
        np.testing.assert_array_equal(got, want)
        return
    assert_parts_match(case, got.ravel(), want.ravel())


def assert_parts_match(case, g, w):
    """Float arrays `g` (got) and `w` (wanted) agree within the case's ULPs or rtol."""
    same = (g == w) & (np.signbit(g) == np.signbit(w)) | (np.isnan(g) & np.isnan(w))
    ulps, rtol = case.get("ulps", 0), case.get("rtol")
    for i in np.flatnonzero(~same):
        gi, wi = g[i], w[i]
        ok = not (np.isnan(gi) or np.isnan(wi)) and (
            (rtol is not None and abs(gi - wi) <= rtol * max(abs(wi), np.finfo(w.dtype).tiny))
            or (ulps > 0 and ulp_distance(gi, wi) <= ulps)
        )
        assert ok, f"element {i}: got {gi!r}, expected {wi!r} (ulps={ulps}, rtol={rtol})"


def run_program_case(case, variables):
    """A program case through ``numjit.run``: the arrays marked ``out`` are written in place."""
    outs = [name for name, spec in case["vars"].items() if spec.get("out")]
    before = {name: variables[name].copy() for name in outs}
    if "error" in case:
        with pytest.raises(ne.NumjitError) as info:
            ne.run(case["program"], local_dict=variables, global_dict={})
        assert info.value.kind == case["error"]["kind"], str(info.value)
        for name in outs:  # a failing program writes nothing
            np.testing.assert_array_equal(variables[name], before[name], err_msg=name)
        return
    got = ne.run(case["program"], local_dict=variables, global_dict={})
    if "expected" in case:
        assert_matches(case, got)
    else:
        assert got is None
    for name in outs:
        assert_matches(case, variables[name], case["outputs"][name])


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_corpus_case(case):
    variables = {name: build(spec) for name, spec in case.get("vars", {}).items()}
    if "program" in case:
        run_program_case(case, variables)
        return
    # global_dict={} so that nothing from this module can satisfy a name by accident.
    if case["name"] == "strings/error_result":
        # The one place the package departs from the Rust API: a string variable alone is
        # NumExpr's copy (numjit computes no strings; `_evaluate._Copy`).
        got = ne.evaluate(case["expr"], local_dict=variables, global_dict={})
        assert got.dtype == variables["s"].dtype and (got == variables["s"]).all()
        assert not np.shares_memory(got, variables["s"])
        return
    if "error" in case:
        err = case["error"]
        with pytest.raises(ne.NumjitError) as info:
            ne.evaluate(case["expr"], local_dict=variables, global_dict={})
        e = info.value
        assert e.kind == err["kind"], str(e)
        assert isinstance(e, EXCEPTION[err["kind"]]), type(e).__mro__
        if "span" in err:
            assert e.span == tuple(err["span"]), str(e)
        assert case["expr"] in str(e) or e.span is None
    else:
        got = ne.evaluate(case["expr"], local_dict=variables, global_dict={})
        assert_matches(case, got)


def test_corpus_is_there():
    assert len(CASES) > 1000
    assert sum("program" in c for c in CASES) >= 150
    assert len({c["name"] for c in CASES}) == len(CASES)
