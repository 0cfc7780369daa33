"""``out=`` overlapping an input: numjit must give NumPy's answer (regressions of issue #18)."""

import numpy as np

import numjit


def test_out_reversed_view_of_an_input():
    # `y = x[::-1]; evaluate("y + 0", out=x)` overwrote elements of y before reading them.
    x = np.arange(6.0)
    y = x[::-1]
    want = y + 0
    numjit.evaluate("y + 0", out=x)
    np.testing.assert_array_equal(x, want)


def test_out_shifted_view_of_an_input():
    # `out=x[1:]` with the input `x[:-1]` propagated the first element along the array.
    x = np.arange(8.0)
    a, out = x[:-1], x[1:]
    want = a * 2
    numjit.evaluate("a * 2", out=out)
    np.testing.assert_array_equal(out, want)


def test_out_transposed_input():
    # `out=x` with the input `x.T` read elements already overwritten.
    x = np.arange(16.0).reshape(4, 4)
    t = x.T
    want = t + 1
    numjit.evaluate("t + 1", out=x)
    np.testing.assert_array_equal(x, want)


def test_out_that_is_the_input_itself_still_works_in_place():
    x = np.arange(5.0)
    r = numjit.evaluate("x * 3", out=x)
    assert r is x
    np.testing.assert_array_equal(x, np.arange(5.0) * 3)
