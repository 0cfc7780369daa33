"""Course rows P4, P9 and P11 over Dask arrays: numjit as the chunk engine (``numjit.dask``)
against plain Dask (NumPy chunks) and Dask + NumExpr in ``map_blocks`` / ``reduction``.

    python benches/course/dask_bench.py [--quick] [--rounds 5] [--output PATH]

Same inputs (``course_inputs.golden``, persisted in the workers before timing), same chunking,
same scheduler for every tool: a ``distributed.LocalCluster`` of 1 and 2 worker processes
(1 thread each, loopback) and the threaded scheduler with 1 and 2 threads. Inside a task,
numjit and NumExpr get ``cores // workers`` threads (numjit.dask's rule, ``chunk_threads``);
NumPy has one. A timed call builds the graph and persists the result in the workers (no
gather to the client, so the output is not copied). "extra MiB" is the sum over the
processes that compute of (VmHWM after the call - VmRSS before it): the memory the call
needed on top of its inputs (the output, temporaries, partials). Medians and min-max over the
rounds; tools interleaved within a round. Checksum: the sum of the result, against plain Dask.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

import dask
import dask.array as da
import numexpr as ne
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from course_inputs import G1, G2  # noqa: E402

import numjit.dask as nd  # noqa: E402

P4_EX = "(2.0*a - 4.5*b) + (sin(a) + cos(b))"
P9_EX = "sum((0.7*x**3 - 2*x**2 + 4)*dx)"


# --- inputs ----------------------------------------------------------------------------------


def golden_block(block_info=None, g=G1):
    """One block of ``golden`` for the flat indices the block covers (C order)."""
    info = block_info[None]
    shape, loc = info["shape"], info["array-location"]
    idx = np.indices([b - a for a, b in loc], dtype=np.float64)
    flat = np.zeros(idx.shape[1:])
    for k, (a, _) in enumerate(loc):
        flat = flat * shape[k] + (idx[k] + a)
    x = flat * g
    return x - np.floor(x)


def golden_array(shape, chunks, g):
    return da.map_blocks(golden_block, g=g, chunks=da.core.normalize_chunks(chunks, shape),
                         dtype=np.float64,
                         meta=np.empty((0,) * len(shape)))


# --- the three tools -------------------------------------------------------------------------


def _ne_p4(a, b, threads):
    ne.set_num_threads(threads)
    return ne.evaluate(P4_EX)


def _ne_p9(x, axis, keepdims, dx, threads):
    ne.set_num_threads(threads)
    s = ne.evaluate("sum((0.7*x**3 - 2*x**2 + 4)*dx)")
    return s.reshape((1,) * x.ndim) if keepdims else s


def _ne_sum(x, axis, keepdims, threads):
    ne.set_num_threads(threads)
    (k,) = axis
    s = ne.evaluate(f"sum(x, axis={k})")
    return np.expand_dims(s, k) if keepdims else s


def _np_sum(x, axis, keepdims, threads=None):
    return np.sum(x, axis=axis, keepdims=keepdims)


def p4(tool, inputs, threads):
    a, b = inputs["a"], inputs["b"]
    if tool == "dask":
        return (2.0 * a - 4.5 * b) + (da.sin(a) + da.cos(b))
    if tool == "dask+numexpr":
        return da.map_blocks(_ne_p4, a, b, threads=threads, dtype=np.float64)
    return nd.evaluate(P4_EX, {"a": a, "b": b}, threads=threads)


def p9(tool, inputs, threads):
    n, chunk = inputs["n"], inputs["chunk"]
    dx = 3.0 / n
    x = da.arange(n, chunks=chunk, dtype=np.float64) * dx
    if tool == "dask":
        return ((0.7 * x**3 - 2 * x**2 + 4) * dx).sum()
    if tool == "dask+numexpr":
        return da.reduction(x, chunk=lambda b, axis, keepdims: _ne_p9(b, axis, keepdims, dx,
                                                                      threads),
                            aggregate=_np_sum, axis=0, dtype=np.float64)
    return nd.evaluate(P9_EX, {"x": x, "dx": dx}, threads=threads)


def p11(axis):
    def build(tool, inputs, threads):
        c = inputs["c"]
        if tool == "dask":
            return c.sum(axis=axis)
        if tool == "dask+numexpr":
            return da.reduction(c, chunk=lambda b, axis, keepdims: _ne_sum(b, axis, keepdims,
                                                                           threads),
                                aggregate=_np_sum, axis=axis, dtype=np.float64)
        return nd.evaluate(f"sum(c, axis={axis})", {"c": c}, threads=threads)
    return build


TOOLS = ("dask", "dask+numexpr", "numjit.dask")

P5_PROGRAM = """
for step in range(nsteps):
    densnext[1:-1, 1:-1] = dens[1:-1, 1:-1] + coef*(dens[2:, 1:-1] + dens[:-2, 1:-1] + dens[1:-1, 2:] + dens[1:-1, :-2] - 4*dens[1:-1, 1:-1])
    swap(dens, densnext)
"""
P5_LAYERS = (1, 5, 20, 60)  # numjit.dask.run's steps_per_layer


def p5(tool, inputs, threads):
    """P5's time loop over a Dask grid: one layer per step, or k steps per layer."""
    k = int(tool.split("=")[1])
    new = nd.run(P5_PROGRAM, dict(inputs), threads=threads, steps_per_layer=k)
    return new["dens"]


def p5_inputs(n, steps):
    dens = golden_array((n, n), (n // 2, n // 2), G1)
    # Zero boundary, as the course's grid; pad adds one-element chunks, merged back.
    dens = da.pad(dens[1:-1, 1:-1], 1).rechunk(n // 2)
    return {"dens": dens, "densnext": dens, "coef": 0.25, "nsteps": steps}


def problems(quick):
    """name → (builder, inputs maker, description)."""
    d0 = 64 if quick else 1024
    n9 = 10**7 if quick else 10**8
    n11 = 2000 if quick else 10000
    n5, steps5 = (402, 20) if quick else (2002, 60)
    return {
        "P5": (p5, lambda: p5_inputs(n5, steps5),
               f"diffusion on a {n5}² grid (2×2 chunks), {steps5} steps; tools are "
               "numjit.dask.run's steps per layer"),
        "P4": (p4, lambda: {"a": golden_array((d0, 1024, 50), (d0 // 8, 1024, 50), G1),
                            "b": golden_array((d0, 1024, 50), (d0 // 8, 1024, 50), G2)},
               f"a, b shape ({d0}, 1024, 50), chunks ({d0 // 8}, 1024, 50)"),
        "P9": (p9, lambda: {"n": n9, "chunk": n9 // 10},
               f"n = {n9:.0e}, x = da.arange(n) * dx in chunks of {n9 // 10:.0e} (made in the task)"),
        "P11-axis0": (p11(0), lambda: {"c": golden_array((n11, n11), (n11 // 4, n11), G1)},
                      f"c {n11}x{n11}, chunks ({n11 // 4}, {n11})"),
        "P11-axis1": (p11(1), lambda: {"c": golden_array((n11, n11), (n11 // 4, n11), G1)},
                      f"c {n11}x{n11}, chunks ({n11 // 4}, {n11})"),
    }


# --- measuring -------------------------------------------------------------------------------


def _rss():
    """(VmRSS, VmHWM) of this process in bytes; resets the high-water mark afterwards."""
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS", "VmHWM")):
                k, v = line.split(":")
                fields[k] = int(v.split()[0]) * 1024
    return fields["VmRSS"], fields["VmHWM"]


def _reset_hwm():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _rss()[0]


class Threads:
    """The threaded scheduler with ``workers`` threads; memory is this process'."""

    def __init__(self, workers):
        self.workers = workers
        self.name = f"threads ×{workers}"

    def __enter__(self):
        self._cfg = dask.config.set(scheduler="threads", num_workers=self.workers)
        self._cfg.__enter__()
        return self

    def __exit__(self, *exc):
        self._cfg.__exit__(*exc)

    def persist(self, x):
        return x.persist()

    def reset(self):
        return _reset_hwm()

    def peak(self):
        return _rss()[1]


class Cluster:
    """A ``LocalCluster`` of ``workers`` processes with one thread each, on loopback."""

    def __init__(self, workers):
        self.workers = workers
        self.name = f"LocalCluster {workers} proc × 1 thread"

    def __enter__(self):
        import distributed

        self.cluster = distributed.LocalCluster(
            n_workers=self.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address="127.0.0.1:0", memory_limit=0)
        self.client = distributed.Client(self.cluster)
        self._wait = distributed.wait
        return self

    def __exit__(self, *exc):
        self.client.close()
        self.cluster.close()

    def persist(self, x):
        y = self.client.persist(x)
        self._wait(y)
        return y

    def reset(self):
        self._settle()
        return sum(self.client.run(_reset_hwm).values())

    def _settle(self, timeout=10.0):
        """Waits until the workers hold only the inputs: a result let go of is freed by the
        workers a little later, which must not fall inside the next measurement."""
        held = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = sum(len(v) for v in self.client.has_what().values())
            if held is not None and now == held and now <= self.inputs:
                return
            held = now
            time.sleep(0.1)

    inputs = 0

    def peak(self):
        return sum(v[1] for v in self.client.run(_rss).values())


def measure(sched, build, make, tools, rounds, threads):
    inputs = make()
    inputs = {k: sched.persist(v) if isinstance(v, da.Array) else v for k, v in inputs.items()}
    sched.inputs = sum(v.npartitions for v in inputs.values() if isinstance(v, da.Array))
    times = {t: [] for t in tools}
    extra = {t: [] for t in tools}
    sums = {}
    for tool in tools:  # warm-up: imports, JIT compilation, the workers' first allocations
        y = sched.persist(build(tool, inputs, threads))
        sums[tool] = float(y.sum().compute())
        del y
    for r in range(rounds):
        order = tools[r % len(tools):] + tools[:r % len(tools)]
        for tool in order:
            before = sched.reset()
            t0 = time.perf_counter()
            y = sched.persist(build(tool, inputs, threads))
            times[tool].append(time.perf_counter() - t0)
            extra[tool].append(sched.peak() - before)
            del y
    del inputs
    return times, extra, sums


def fmt_t(s):
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def report_rows(problem, sched, times, extra, sums):
    ref = sums.get("dask", sums[next(iter(sums))])
    peers = [t for t in times if t in TOOLS and t != "numjit.dask"] or list(times)
    best_peer = min(statistics.median(times[t]) for t in peers)
    rows = []
    for tool in times:
        med = statistics.median(times[tool])
        dev = abs(sums[tool] - ref) / max(abs(ref), 1.0)
        rows.append(
            f"| {problem} | {sched} | {tool} | {fmt_t(med)} | {fmt_t(min(times[tool]))} – "
            f"{fmt_t(max(times[tool]))} | "
            f"{'—' if tool in peers else f'{med / best_peer:.2f}×'} | "
            f"{max(extra[tool]) / 2**20:.0f} | {'ok' if dev < 1e-10 else f'✗ {dev:.1e}'} |")
    return rows


def main():
    if os.environ.get("MALLOC_MMAP_THRESHOLD_") != "65536":
        # Large blocks from mmap go back to the system when freed, so VmHWM - VmRSS is what a
        # call allocated, not hidden by what malloc kept from earlier calls (workers inherit it).
        os.environ["MALLOC_MMAP_THRESHOLD_"] = "65536"
        os.execv(sys.executable, [sys.executable] + sys.argv)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--problems", default="P4,P9,P11-axis0,P11-axis1,P5")
    ap.add_argument("--schedulers", default="cluster,threads")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--output", default=None)
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    probs = problems(args.quick)
    lines = [
        "# Course rows over Dask arrays: numjit.dask vs plain Dask vs Dask + NumExpr",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
        f"{_cpu()} ({cores} cores), Python {platform.python_version()}, NumPy {np.__version__}, "
        f"Dask {dask.__version__}, NumExpr {ne.__version__}; load average at start "
        f"{os.getloadavg()[0]:.2f}. `python benches/course/dask_bench.py"
        f"{' --quick' if args.quick else ''} --rounds {args.rounds}`; medians of "
        f"{args.rounds} interleaved rounds.",
        "",
    ]
    for name in args.problems.split(","):
        lines.append(f"- {name}: {probs[name][2]}")
    lines += ["", "| problem | scheduler | tool | median | min – max | vs best peer | extra MiB | "
              "checksum |", "|---|---|---|---|---|---|---|---|"]
    for kind in args.schedulers.split(","):
        for workers in (int(w) for w in args.workers.split(",")):
            threads = max(1, cores // workers)
            sched = Cluster(workers) if kind == "cluster" else Threads(workers)
            with sched:
                for name in args.problems.split(","):
                    build, make, _ = probs[name]
                    tools = ([f"steps/layer={k}" for k in P5_LAYERS] if name == "P5"
                             else list(TOOLS))
                    times, extra, sums = measure(sched, build, make, tools, args.rounds,
                                                 threads)
                    rows = report_rows(name, sched.name, times, extra, sums)
                    print("\n".join(rows), flush=True)
                    lines += rows
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)


def _cpu():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines()
                    if line.startswith("Model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
