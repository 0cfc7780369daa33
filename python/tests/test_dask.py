"""``numjit.dask``: expressions and programs over Dask arrays, checked against NumPy on the same
data, under the threaded scheduler and a two-process ``LocalCluster`` on loopback."""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
import numjit  # noqa: E402
import numjit.dask as nd  # noqa: E402

from test_run import DIFFUSION, diffusion_setup  # noqa: E402

RNG = np.random.default_rng(15)
A = RNG.standard_normal((37, 23))
B = RNG.standard_normal((37, 23))
ROW = RNG.standard_normal(23)
U = RNG.standard_normal((29, 31))


def lazy(x, chunks):
    return da.from_array(x, chunks=chunks)


# Expressions, their NumPy meaning and the data; every case runs under every scheduler.
CASES = {
    "map": ("2.0*a - 4.5*b + sin(a) + cos(b)", lambda: 2.0*A - 4.5*B + np.sin(A) + np.cos(B),
            {"a": lazy(A, (10, 7)), "b": lazy(B, (13, 9))}),
    "mixed": ("a * row + w", lambda: A * ROW + 1.5,
              {"a": lazy(A, (10, 7)), "row": ROW, "w": 1.5}),
    "broadcast": ("col - row", lambda: A[:, :1] - ROW,
                  {"col": lazy(A[:, :1], (8, 1)), "row": lazy(ROW, 5)}),
    "new_axes": ("sqrt(sum((X[:, None, :] - X[None, :, :])**2, axis=-1))",
                 lambda: np.sqrt(((A[:, None, :3] - A[None, :, :3])**2).sum(-1)),
                 {"X": lazy(A[:, :3].copy(), (11, 3))}),
    "sum_all": ("sqrt(sum(a**2))", lambda: np.sqrt(np.sum(A**2)), {"a": lazy(A, (10, 7))}),
    "sum_axis0": ("sum(a, axis=0)", lambda: A.sum(0), {"a": lazy(A, (10, 7))}),
    "sum_axis1": ("sum(a * b, 1)", lambda: (A * B).sum(1), {"a": lazy(A, (10, 7)),
                                                            "b": lazy(B, (10, 7))}),
    "centered": ("a - mean(a, axis=0)", lambda: A - A.mean(0), {"a": lazy(A, (10, 7))}),
    "nested": ("sum(abs(a - mean(a)))", lambda: np.abs(A - A.mean()).sum(),
               {"a": lazy(A, (10, 7))}),
    "min_max": ("max(a, axis=1) - min(b)", lambda: A.max(1) - B.min(),
                {"a": lazy(A, (10, 7)), "b": lazy(B, 12)}),
    "any": ("any(a > 2.5, axis=0)", lambda: (A > 2.5).any(0), {"a": lazy(A, (10, 7))}),
    "stencil": ("u[1:-1, 1:-1] + 0.1*(u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2]"
                " - 4*u[1:-1, 1:-1])",
                lambda: U[1:-1, 1:-1] + 0.1*(U[2:, 1:-1] + U[:-2, 1:-1] + U[1:-1, 2:]
                                             + U[1:-1, :-2] - 4*U[1:-1, 1:-1]),
                {"u": lazy(U, (8, 9))}),
    "one_sided": ("u[3:] - u[:-3]", lambda: U[3:] - U[:-3], {"u": lazy(U, (5, 31))}),
    "stencil_sum": ("sum((u[1:] - u[:-1])**2, axis=0)", lambda: ((U[1:] - U[:-1])**2).sum(0),
                    {"u": lazy(U, (7, 10))}),
}


def check(name):
    ex, want, values = CASES[name]
    got = nd.evaluate(ex, values)
    assert isinstance(got, da.Array), name
    result = got.compute()
    np.testing.assert_allclose(result, want(), rtol=1e-12, atol=1e-12, err_msg=name)
    assert result.shape == np.shape(want()) and result.dtype == np.asarray(want()).dtype, name


@pytest.mark.parametrize("name", sorted(CASES))
def test_threaded_scheduler_equals_numpy(name):
    with dask.config.set(scheduler="threads"):
        check(name)


def test_without_dask_operands_it_is_numjit_evaluate():
    got = nd.evaluate("a + 1", {"a": A})
    assert isinstance(got, np.ndarray) and np.array_equal(got, A + 1)


def test_names_come_from_the_callers_frame():
    x = lazy(A, 9)  # noqa: F841 -- found in this frame by evaluate
    k = 3.0  # noqa: F841
    np.testing.assert_allclose(nd.evaluate("k*x").compute(), 3.0 * A)


def test_sum_is_deterministic_across_schedulers_and_threads():
    x = lazy(np.linspace(0, 1, 200_003), 50_000)
    sums = {nd.evaluate("sum(x)", {"x": x}, threads=t).compute(scheduler=s).item()
            for t in (1, 2) for s in ("threads", "sync")}
    assert len(sums) == 1 and abs(sums.pop() - np.linspace(0, 1, 200_003).sum()) < 1e-9


def test_power_of_two_chunks_pairwise_give_numjits_sum_bit_for_bit():
    x = np.random.default_rng(2).standard_normal(1 << 15) * 1e3
    whole = numjit.evaluate("sum(x)")
    for chunks in (1 << 14, 1 << 10, 128):
        got = nd.evaluate("sum(x)", {"x": lazy(x, chunks)}, split_every=2).compute()
        assert got == whole, chunks


def test_one_chunk_sum_is_numjits_sum_bit_for_bit():
    x = np.linspace(0, 1, 100_001) ** 3
    assert nd.evaluate("sum(x)", {"x": lazy(x, x.size)}).compute() == numjit.evaluate("sum(x)")


def layer_kinds(x):
    """The kinds of ``x``'s graph layers (their names without the token)."""
    return sorted(name.rsplit("-", 1)[0] for name in x.dask.layers)


def test_a_reduction_of_one_operand_read_whole_is_dasks_own_tree():
    """numjit's pass is the tree's chunk step (no blockwise layer before it, no copy after it),
    as NumPy's is in Dask's ``sum``; several operands or a slice still go through a layer."""
    x = lazy(A, (10, 7))
    for ex, want in [("sum(x**2 + x, axis=0)", (A**2 + A).sum(0)), ("max(x)", A.max()),
                     ("sum(x, axis=-1)", A.sum(1))]:
        got = nd.evaluate(ex, {"x": x})
        kinds = layer_kinds(got)
        assert "chunk" not in kinds and "identity" not in kinds, (ex, kinds)
        assert got.name.startswith("_combine-aggregate"), (ex, got.name)
        np.testing.assert_allclose(got.compute(scheduler="threads"), want, rtol=1e-12)
    ints = lazy(np.arange(-40, 60, dtype=np.int32).reshape(10, 10), 3)
    got = nd.evaluate("sum(k*i, axis=1)", {"i": ints, "k": 3})
    assert got.dtype == np.int64 and got.compute().dtype == np.int64
    np.testing.assert_array_equal(got.compute(), 3 * np.arange(-40, 60).reshape(10, 10).sum(1))
    for ex in ("sum(x * y, axis=0)", "sum(x[1:] - x[:-1], axis=0)"):
        kinds = layer_kinds(nd.evaluate(ex, {"x": x, "y": lazy(B, (10, 7))}))
        assert "chunk" in kinds and "identity" in kinds, (ex, kinds)


def test_run_p5_diffusion_equals_the_numpy_loop():
    dens, coef, _ = diffusion_setup(0.667)
    new = nd.run(DIFFUSION, {"dens": lazy(dens, 12), "densnext": lazy(dens, 12),
                             "coef": coef, "nsteps": 12})
    assert new[None] is None and set(new) == {"dens", "densnext", None}
    np.testing.assert_array_equal(new["dens"].compute(scheduler="threads"),
                                  numpy_diffusion(dens, coef, 12))


@pytest.mark.parametrize("steps_per_layer, chunks", [(5, 12), (4, (7, 40)), (50, 20)])
def test_run_several_steps_per_layer_equals_the_numpy_loop(steps_per_layer, chunks):
    dens, coef, _ = diffusion_setup(0.667)
    dens[3:9, 20:30] = 2.0  # asymmetric, so that a wrong halo shows
    prog = DIFFUSION.replace("dens[1:-1, 2:]", "dens[1:-1, 2:31]")  # absolute stop
    new = nd.run(prog, {"dens": lazy(dens, chunks), "densnext": lazy(dens, chunks),
                        "coef": coef, "nsteps": 12},
                 steps_per_layer=steps_per_layer)
    layers = [n for n in new["dens"].dask.layers if "steps_chunk" in n]
    assert len(layers) == -(-12 // steps_per_layer)
    want = numpy_diffusion(dens, coef, 12)
    np.testing.assert_array_equal(new["dens"].compute(scheduler="threads"), want)


def numpy_diffusion(dens, coef, nsteps):
    """P5's time loop in NumPy (the course's code)."""
    want = dens.copy()
    for _ in range(nsteps):
        nxt = want.copy()
        nxt[1:-1, 1:-1] = want[1:-1, 1:-1] + coef * (want[2:, 1:-1] + want[:-2, 1:-1]
                                                     + want[1:-1, 2:] + want[1:-1, :-2]
                                                     - 4 * want[1:-1, 1:-1])
        want = nxt
    return want


def test_run_assignments_augmented_and_final_expression():
    new = nd.run("t = 2 * x\ny = t + 1\ny[0:3] += 10\nsum(t)",
                 {"x": lazy(ROW, 7), "y": np.zeros(23)})
    want = 2 * ROW + 1
    want[:3] += 10
    np.testing.assert_allclose(new["y"].compute(), want)
    assert "t" not in new and np.isclose(new[None].compute(), 2 * ROW.sum())


@pytest.mark.parametrize("ex, message", [
    ("u[0] + 1", "integer index"),
    ("u[::2] + 1", "step 1"),
    ("u[1:] + v[2:]", "not blockwise"),
    ("u + arange(5)", "arange"),
])
def test_not_blockwise_is_a_clear_error(ex, message):
    values = {"u": lazy(np.arange(6.0), 3), "v": lazy(np.arange(7.0), 3)}
    with pytest.raises(nd.NotBlockwiseError, match=message):
        nd.evaluate(ex, values)


def test_numjits_errors_point_into_the_users_expression():
    with pytest.raises(KeyError, match="zz"):
        nd.evaluate("u + zz", {"u": lazy(np.arange(4.0), 2)})
    with pytest.raises(TypeError):
        nd.evaluate("u & 1.5", {"u": lazy(np.arange(4.0), 2)})


def test_the_modules_examples():
    import doctest

    assert doctest.testmod(nd).failed == 0


def test_chunk_threads_rule():
    assert nd.chunk_threads(cores=2, tasks=2) == 1
    assert nd.chunk_threads(cores=8, tasks=3) == 2
    assert nd.chunk_threads(cores=2, tasks=1) == 2


# --- @numjit.kernel functions inside Dask expressions and programs ------------------------


@numjit.kernel
def escape(cr, ci, maxiter):
    zr = 0.0
    zi = 0.0
    for n in range(maxiter):
        if zr*zr + zi*zi >= 4.0:
            return n
        zr, zi = zr*zr - zi*zi + cr, 2.0*zr*zi + ci
    return 255


@numjit.kernel
def term(k):
    m = k
    while m > 0:
        if m % 10 == 9:
            return 0.0
        m //= 10
    return 1.0 / k


def numpy_escape(cr, ci, maxiter):
    c = cr + 1j * ci
    z = np.zeros_like(c)
    out = np.full(c.shape, 255, dtype=np.int64)
    for n in range(maxiter):
        done = (out == 255) & (np.abs(z) ** 2 >= 4.0)
        out[done] = n
        z = np.where(out == 255, z * z + c, z)
    return out


CR = np.linspace(-2, 1, 60)[None, :]
CI = np.linspace(-1, 1, 40)[:, None]


def test_kernel_in_an_expression_over_dask_arrays():
    cr, ci = lazy(CR, (1, 16)), lazy(CI, (9, 1))  # noqa: F841 -- read by evaluate
    got = nd.evaluate("escape(cr, ci, 20)")
    assert isinstance(got, da.Array)
    np.testing.assert_array_equal(got.compute(scheduler="threads"), numpy_escape(CR, CI, 20))


def test_kernel_called_with_dask_arrays_is_lazy():
    got = escape(lazy(CR, (1, 25)), lazy(CI, (7, 1)), 20)
    assert isinstance(got, da.Array) and got.chunks == ((7, 7, 7, 7, 7, 5), (25, 25, 10))
    np.testing.assert_array_equal(got.compute(scheduler="threads"), numpy_escape(CR, CI, 20))


def test_kernel_inside_a_reduction_p8():
    # P8's digit-filtered harmonic series up to 10^5, chunked: the kernel runs per block and
    # the tree reduction sums the blocks' partials.
    k = da.arange(1, 100_001, chunks=30_000)
    want = sum(1.0 / i for i in range(1, 100_001) if "9" not in str(i))
    got = nd.evaluate("sum(term(k))", {"k": k}).compute(scheduler="threads")
    assert abs(got - want) < 1e-12 * want


def test_program_with_its_own_kernel_and_the_modules():
    u = lazy(A, (10, 7))
    program = ("def twice(x):\n    return 2.0 * x\n"
               "v = twice(u) + term(w)\n")
    new = nd.run(program, {"u": u, "v": lazy(B, (10, 7)), "w": 4.0})
    np.testing.assert_array_equal(new["v"].compute(scheduler="threads"), 2.0 * A + 0.25)


def test_kernel_errors_point_into_the_users_text():
    x = lazy(A, 10)  # noqa: F841
    with pytest.raises(numjit.NumjitError, match="escape"):
        nd.evaluate("escape(x, x)")


@pytest.fixture(scope="module")
def cluster_client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0") as cluster:
        with distributed.Client(cluster) as client:
            yield client


def test_local_cluster_two_processes_equals_numpy(cluster_client):
    for name in sorted(CASES):
        check(name)  # the client is the default scheduler while it is open
    pids = set(cluster_client.run(lambda: __import__("os").getpid()).values())
    assert len(pids) == 2


def test_local_cluster_runs_a_program(cluster_client):
    dens, coef, _ = diffusion_setup(0.667)
    new = nd.run(DIFFUSION, {"dens": lazy(dens, 9), "densnext": lazy(dens, 9),
                             "coef": coef, "nsteps": 3}, steps_per_layer=2)
    np.testing.assert_array_equal(new["dens"].compute(), numpy_diffusion(dens, coef, 3))


def test_process_scheduler():
    ex, want, values = CASES["stencil"]
    np.testing.assert_allclose(nd.evaluate(ex, values).compute(scheduler="processes"), want())


def test_local_cluster_runs_kernels_in_worker_processes(cluster_client):
    # The workers never import this module: each task compiles the kernels' source text.
    got = nd.evaluate("escape(cr, ci, 20)", {"cr": lazy(CR, (1, 16)), "ci": lazy(CI, (9, 1))})
    np.testing.assert_array_equal(got.compute(), numpy_escape(CR, CI, 20))
    k = da.arange(1, 20_001, chunks=7_000)
    want = sum(1.0 / i for i in range(1, 20_001) if "9" not in str(i))
    assert abs(nd.evaluate("sum(term(k))", {"k": k}).compute() - want) < 1e-12 * want
