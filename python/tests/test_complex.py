"""complex64 and complex128 through the Python package: NumPy's values and dtypes, NumExpr's
functions on complex arrays, and the type errors NumPy 2 gives (no order on complex numbers)."""

import numexpr
import numpy as np
import pytest

import numjit as ne

Z = np.array([1 + 2j, -0.5 + 0.25j, 3 - 4j, -2 - 1j, 0.1 + 0j, -7j, -1 + 0j, -1 - 0j])
W = np.array([2 - 1j, 4 + 0.5j, -1 + 1j, 0.5 + 3j, -3 - 0.2j, 1.5 + 1.5j, 2 + 0j, 0.5j])

FUNCTIONS = ("sqrt exp expm1 log log1p log10 sin cos tan arcsin arccos arctan sinh cosh tanh "
             "arcsinh arccosh arctanh").split()


def close(got, want, dtype):
    """Equal dtypes, and values within a few units in the last place (NaN matches NaN)."""
    assert got.dtype == want.dtype == dtype, (got.dtype, want.dtype)
    eps = np.finfo(got.real.dtype).eps
    np.testing.assert_allclose(got, want, rtol=4 * eps, atol=0, equal_nan=True)


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("expr", ["a + b", "a - b", "a * b", "a / b", "-a", "a ** 2", "a ** -1",
                                  "a ** b", "where(real(a) > 0, a, b)", "a * conj(a)", "a * 2.5j"])
def test_arithmetic_matches_numpy(expr, dtype):
    a, b = Z.astype(dtype), W.astype(dtype)
    env = {"where": np.where, "real": np.real, "conj": np.conj}
    want = np.asarray(eval(expr, env, {"a": a, "b": b}))
    close(ne.evaluate(expr), want, want.dtype)


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_parts_comparisons_and_reductions_match_numpy(dtype):
    a, b = Z.astype(dtype), W.astype(dtype)
    part = np.float32 if dtype == np.complex64 else np.float64
    for expr, want in [("real(a)", a.real), ("imag(a)", a.imag), ("abs(a)", np.abs(a))]:
        got = ne.evaluate(expr)
        assert got.dtype == part and np.array_equal(got, want), expr
    np.testing.assert_array_equal(ne.evaluate("a == b"), a == b)
    np.testing.assert_array_equal(ne.evaluate("a != a"), a != a)
    close(ne.evaluate("sum(a)"), np.asarray(a.sum()), np.dtype(dtype))
    close(ne.evaluate("mean(a)"), np.asarray(a.mean()), np.dtype(dtype))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_functions_match_numpy_and_numexpr(name):
    a = Z
    got = ne.evaluate(f"{name}(a)")
    close(got, getattr(np, name)(a), np.complex128)
    # NumExpr computes these with its own formulas: the same values to a few ULPs away from the
    # branch cuts (on them, e.g. arctan(-7j), numjit gives NumPy's side and NumExpr the other).
    theirs = numexpr.evaluate(f"{name}(a)", local_dict={"a": a[:5]})
    np.testing.assert_allclose(got[:5], theirs, rtol=1e-13, atol=1e-15)


def test_literals_and_promotion_follow_numpy():
    x32 = np.array([1.5, -2.0], np.float32)
    assert ne.evaluate("x32 + 1j").dtype == np.complex64
    assert ne.evaluate("x32 * 2.5e3j").dtype == np.complex64
    i = np.array([1, 2], np.int32)
    assert ne.evaluate("i * 1j").dtype == np.complex128
    c64 = Z[:2].astype(np.complex64)
    assert ne.evaluate("c64 + x32").dtype == np.complex64
    assert ne.evaluate("c64 + i").dtype == np.complex128
    assert ne.evaluate("1 + 2j") == 1 + 2j
    np.testing.assert_array_equal(ne.evaluate("complex(x32, x32)"), x32 + 1j * x32)


@pytest.mark.parametrize("expr", ["a < b", "a % b", "a // b", "min(a)", "max(a)", "floor(a)"])
def test_what_numpy_2_does_not_define_is_a_type_error(expr):
    a, b = Z, W  # noqa: F841 (read by the expressions)
    with pytest.raises(TypeError, match="complex128"):
        ne.evaluate(expr)


def test_complex_outputs_and_strided_inputs():
    a = np.arange(12).astype(np.complex128).reshape(3, 4) * (1 - 1j)
    out = np.empty((4, 3), np.complex128)
    ne.evaluate("b * 1j", local_dict={"b": a.T}, out=out)
    np.testing.assert_array_equal(out, a.T * 1j)
