"""@numjit.kernel: Python functions as numjit kernels, over NumPy arrays and in strings."""

import numpy as np
import pytest

import numjit


@numjit.kernel
def escape(cr, ci, maxiter):
    zr = 0.0
    zi = 0.0
    for n in range(maxiter):
        if zr * zr + zi * zi >= 4.0:
            return n
        zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
    return 255


@numjit.kernel
def term(k):
    m = k
    while m > 0:
        if m % 10 == 9:
            return 0.0
        m //= 10
    return 1.0 / k


@numjit.kernel
def twice_term(k):  # calls a kernel defined before it
    """Twice the term (a docstring is Python's: the kernel leaves it out)."""
    return 2.0 * term(k)


def test_mandelbrot_matches_the_python_function_pixel_for_pixel():
    x = np.linspace(-2, 1, 150)
    y = np.linspace(-1, 1, 100)
    img = escape(x[None, :], y[:, None], 20)
    assert img.shape == (100, 150) and img.dtype == np.int64
    want = np.array([[escape.__wrapped__(cr, ci, 20) for cr in x] for ci in y])
    np.testing.assert_array_equal(img, want)


def test_the_slow_series_runs_in_a_string_with_no_array_of_terms():
    n = 100_000
    got = numjit.evaluate("sum(term(arange(1, n + 1)))")
    want = sum(1.0 / k for k in range(1, n + 1) if "9" not in str(k))
    assert got.shape == () and abs(float(got) - want) < 1e-12
    assert abs(float(numjit.evaluate("sum(twice_term(arange(1, n + 1)))")) - 2 * want) < 1e-11


def test_kernels_reach_programs_and_keep_numpy_dtypes():
    k = np.arange(1, 30, dtype=np.int32)
    out = np.zeros(29)
    numjit.run("out[:] = term(k)")
    np.testing.assert_allclose(out, [0.0 if "9" in str(v) else 1.0 / v for v in k])
    assert term(np.float32(8.0)).dtype == np.float32


@numjit.kernel
def invert(a):
    return ~a


def test_errors_are_numjit_errors_with_the_kernel_line():
    invert(np.array([1, 2]))  # defined on integers
    with pytest.raises(numjit.NumjitTypeError, match="(?s)not defined for float64.*return ~a"):
        invert(np.array([1.5, 2.5]))
    with pytest.raises(TypeError, match="takes 3 arguments but 1 were given"):
        escape(np.zeros(3))

    with pytest.raises(numjit.NumjitSyntaxError, match="a kernel statement is"):

        @numjit.kernel
        def not_a_kernel(a):
            print(a)
            return a

    # A failed definition leaves the module's kernels as they were.
    assert float(numjit.evaluate("term(9)")) == 0.0
