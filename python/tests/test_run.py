"""``numjit.run``: programs over NumPy arrays, written in place, checked against NumPy loops."""

import numpy as np
import pytest

import numjit


def diffusion_setup(dx):
    """Course problem P5's setup, as the course's Python computes it."""
    D, x1, x2, runtime = 1.0, -10.0, 10.0, 15.0
    nrows = int((x2 - x1) / dx)
    dx = (x2 - x1) / nrows
    dt = 0.25 * dx**2 / D
    nsteps = int(runtime / dt)
    x = x1 + (np.arange(1, nrows + 1) - 1) * (x2 - x1) / nrows
    f = 1 - abs(1 - 4 * abs((x - (x1 + x2) / 2) / (x2 - x1)))
    dens = np.zeros((nrows + 2, nrows + 2))
    dens[1:-1, 1:-1] = np.outer(f, f)
    return dens, (D / dx**2) * dt, nsteps


DIFFUSION = """
for step in range(nsteps):
    densnext[1:-1, 1:-1] = dens[1:-1, 1:-1] + coef*(dens[2:, 1:-1] + dens[:-2, 1:-1] + dens[1:-1, 2:] + dens[1:-1, :-2] - 4*dens[1:-1, 1:-1])
    swap(dens, densnext)
"""


def test_p5_diffusion_in_one_call_equals_the_numpy_loop_bit_for_bit():
    dens, coef, nsteps = diffusion_setup(0.667)
    want, want_next = dens.copy(), dens.copy()
    for _ in range(nsteps):
        lapl = (want[2:, 1:-1] + want[:-2, 1:-1] + want[1:-1, 2:] + want[1:-1, :-2]
                - 4 * want[1:-1, 1:-1])
        want_next[1:-1, 1:-1] = want[1:-1, 1:-1] + coef * lapl
        want, want_next = want_next, want
    densnext = dens.copy()
    for threads in (1, 2):
        previous = numjit.set_num_threads(threads)
        try:
            d, dn = dens.copy(), densnext.copy()
            assert numjit.run(DIFFUSION, {"dens": d, "densnext": dn, "coef": coef,
                                          "nsteps": nsteps}) is None
        finally:
            numjit.set_num_threads(previous)
        # `dens` names the latest grid after the swaps, in the caller's own array.
        assert nsteps == 126 and np.array_equal(d, want), threads


def test_names_come_from_the_callers_frame_and_the_result_is_returned():
    x = np.linspace(0, 1, 7)
    y = np.zeros(7)
    r = numjit.run("t = 2 * x\ny = t + 1\nsum(t)")
    np.testing.assert_array_equal(y, 2 * x + 1)
    assert r.shape == () and r == np.sum(2 * x)
    # `t` was nowhere in the caller's scope, so it was the program's intermediate; an array
    # of that name in scope is the caller's, and the same program writes it.
    t = np.full(7, -1.0)
    numjit.run("t = 2 * x\ny = t + 1\nsum(t)")
    np.testing.assert_array_equal(t, 2 * x)


def test_written_arrays_may_have_any_strides():
    base = np.zeros((6, 10))
    u = base[::-2, 1::3]  # reversed rows, every third column
    a = np.arange(u.size, dtype=np.float64).reshape(u.shape)
    numjit.run("u = a * 3\nu[0] = -1", {"u": u, "a": a})
    want = a * 3
    want[0] = -1
    np.testing.assert_array_equal(u, want)
    # Only the viewed elements changed.
    mask = np.zeros_like(base, dtype=bool)
    mask[::-2, 1::3] = True
    assert np.all(base[~mask] == 0)


def test_writing_what_cannot_be_written_is_an_error_before_any_write():
    a = np.arange(4.0)
    ro = np.zeros(4)
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        numjit.run("o = a + 1", {"o": ro, "a": a})
    with pytest.raises(TypeError, match="must be a NumPy array, not float"):
        numjit.run("o = a + 1", {"o": 2.5, "a": a})
    with pytest.raises(TypeError, match="int16"):
        numjit.run("o = a + 1", {"o": np.zeros(4, np.int16), "a": a})
    # A float value into an int64 array is cast as NumPy's `o[...] = value` casts it.
    o = np.zeros(4, np.int64)
    numjit.run("o = a * 1.5", {"o": o, "a": a})
    want = np.zeros(4, np.int64)
    want[...] = a * 1.5
    np.testing.assert_array_equal(o, want)
    # The second statement's shapes fail: the first statement wrote nothing.
    o, p = np.zeros(4), np.zeros(3)
    with pytest.raises(ValueError, match="broadcast"):
        numjit.run("o = a + 1\np = a * 2", {"o": o, "p": p, "a": a})
    assert not o.any() and not p.any()


def test_syntax_errors_point_into_the_program():
    with pytest.raises(SyntaxError) as info:
        numjit.run("x = 1 +\n", {})
    assert "^" in str(info.value)


def test_a_lone_expression_runs_like_evaluate():
    a = np.arange(5.0)
    np.testing.assert_array_equal(numjit.run("a * a", {"a": a}), a * a)


def test_the_docstring_examples_hold():
    import doctest

    from numjit import _run

    failures, tried = doctest.testmod(_run, verbose=False)
    assert tried > 0 and failures == 0
