"""Memory-mapped arrays (issue #13, out of core): ``np.memmap`` and ``np.load(..., mmap_mode=...)``
arrays are plain strided memory to the C ABI, so ``evaluate`` and ``run`` read and write them in
place, with the results of the same data in memory."""

import numpy as np

import numjit


def matrix(rows=300, cols=200):
    i, j = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    return ((i * cols + j) * 0.6180339887498949) % 1.0 - 0.25


def test_evaluate_reads_np_load_mmap_arrays_like_the_same_data_in_memory(tmp_path):
    m = matrix()
    for order in ("C", "F"):
        path = tmp_path / f"m-{order}.npy"
        np.save(path, np.asarray(m, order=order))
        mapped = np.load(path, mmap_mode="r")
        assert isinstance(mapped, np.memmap)
        for expr in ("sum(m)", "mean(m, axis=0)", "sum(m, axis=1)", "(m - mean(m))**2"):
            got = numjit.evaluate(expr, local_dict={"m": mapped})
            want = numjit.evaluate(expr, local_dict={"m": np.array(m)})
            assert np.array_equal(got, want), (order, expr)


def test_run_writes_into_a_writable_memmap(tmp_path):
    m = matrix()
    src = np.memmap(tmp_path / "m.dat", dtype=np.float64, mode="w+", shape=m.shape)
    src[...] = m
    out = np.memmap(tmp_path / "d.dat", dtype=np.float64, mode="w+", shape=m.shape)
    numjit.run("d = sqrt(abs(m)) * 2 - 1", local_dict={"m": src, "d": out})
    out.flush()
    back = np.fromfile(tmp_path / "d.dat", dtype=np.float64).reshape(m.shape)
    assert np.array_equal(back, numjit.evaluate("sqrt(abs(m)) * 2 - 1", local_dict={"m": m}))


def test_evaluate_writes_out_into_an_open_memmap(tmp_path):
    m = matrix()
    out = np.lib.format.open_memmap(tmp_path / "d.npy", mode="w+", dtype=np.float64, shape=m.shape)
    numjit.evaluate("m * 2 + 1", local_dict={"m": m}, out=out)
    out.flush()
    del out
    assert np.array_equal(np.load(tmp_path / "d.npy"), m * 2 + 1)
