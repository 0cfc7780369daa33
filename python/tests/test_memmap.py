"""Memory-mapped arrays (issue #13, out of core): ``np.memmap`` and ``np.load(..., mmap_mode=...)``
arrays are plain strided memory to the C ABI, so ``evaluate`` and ``run`` read and write them in
place, with the results of the same data in memory."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

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


# The child's measured part: NumPy memmaps of a file several times the bound, read and written
# through numjit, with the peak RSS (VmHWM, reset after the warm-up) reported back.
_CHILD = r"""
import json, sys
import numpy as np
import numjit

path, out, rows, cols = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
numjit.set_num_threads(2)
small = np.zeros((64, cols))
for e in ("sum(m)", "mean(m, axis=0)", "sum(m, axis=1)", "sqrt(abs(m - mu)) * 2 - 1"):
    numjit.evaluate(e, local_dict={"m": small, "mu": 0.0})
    numjit.evaluate(e, local_dict={"m": np.asfortranarray(small.T), "mu": 0.0})

def status(field):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith(field)) / 1024

with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
start = status("VmRSS:")
m = np.load(path, mmap_mode="r")
got = {"sum": float(numjit.evaluate("sum(m)", local_dict={"m": m})),
       "colmean": numjit.evaluate("mean(m, axis=0)", local_dict={"m": m})[:5].tolist(),
       "rowsum": numjit.evaluate("sum(m, axis=1)", local_dict={"m": m})[:5].tolist()}
d = np.lib.format.open_memmap(out, mode="w+", dtype=np.float64, shape=m.shape)
numjit.evaluate("sqrt(abs(m - mu)) * 2 - 1", local_dict={"m": m, "mu": got["sum"] / m.size}, out=d)
d.flush()
del d
# The same bytes as a Fortran-ordered (cols, rows) memmap: walked in storage order.
f = np.memmap(path, dtype=np.float64, mode="r", offset=m.offset, shape=(cols, rows), order="F")
got["fsum"] = float(numjit.evaluate("sum(f)", local_dict={"f": f}))
got["fcolmean"] = numjit.evaluate("mean(f, axis=1)", local_dict={"f": f})[:5].tolist()
got["growth"] = status("VmHWM:") - start
print(json.dumps(got))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="Linux: resets the peak RSS")
def test_memmaps_larger_than_the_bound_are_streamed_with_bounded_rss(tmp_path):
    """A 1 GiB np.load(mmap_mode="r") array (four times the 256 MiB bound of issue #13) and a
    1 GiB open_memmap output: numjit finds them in /proc/self/maps as file mappings and
    releases their pages behind it, so the child's peak RSS grows by less than the bound (it
    grew by the whole files before). On tmpfs where there is one: mapped pages count in RSS
    there too (RssShmem), and nothing waits for a disk."""
    base = Path("/dev/shm") if os.path.isdir("/dev/shm") else tmp_path
    rows, cols = 3355, 40_000
    path = base / f"numjit-memmap-{os.getpid()}.npy"
    out = base / f"numjit-memmap-out-{os.getpid()}.npy"
    try:
        m = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(rows, cols))
        total, colsum, rowsum = 0.0, np.zeros(cols), np.zeros(rows)
        for i in range(0, rows, 200):
            block = matrix(min(200, rows - i), cols) + i * 1e-3
            m[i:i + len(block)] = block
            total += block.sum()
            colsum += block.sum(axis=0)
            rowsum[i:i + len(block)] = block.sum(axis=1)
        m.flush()
        del m
        child = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(out), str(rows), str(cols)],
                               capture_output=True, text=True, timeout=600)
        assert child.returncode == 0, child.stderr
        got = json.loads(child.stdout.strip().splitlines()[-1])
        n = rows * cols
        assert got["sum"] == pytest.approx(total, rel=1e-12)
        assert got["colmean"] == pytest.approx((colsum / rows)[:5].tolist(), rel=1e-12)
        assert got["rowsum"] == pytest.approx(rowsum[:5].tolist(), rel=1e-12)
        assert got["fsum"] == pytest.approx(total, rel=1e-12)
        assert got["fcolmean"] == pytest.approx((colsum / rows)[:5].tolist(), rel=1e-12)
        d = np.load(out, mmap_mode="r")
        mu = got["sum"] / n
        for i in (0, rows // 2, rows - 1):
            m = np.load(path, mmap_mode="r")
            assert np.array_equal(d[i], np.sqrt(np.abs(m[i] - mu)) * 2 - 1)
        del d, m
        print(f"peak RSS growth {got['growth']:.1f} MiB over two 1 GiB memmaps")
        assert got["growth"] <= 256, f"peak RSS grew by {got['growth']:.1f} MiB"
    finally:
        for p in (path, out):
            if p.exists():
                p.unlink()
