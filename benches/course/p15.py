"""P15, out of core: a float64 matrix in a .npy file larger than RAM, by every tool, same run.

    PYTHONPATH=python NUMJIT_LIBRARY=target/release/libnumjit.so \\
        benches/course/.venv/bin/python benches/course/p15.py FILE.npy [--reps 3] [--output MD]

FILE.npy is an existing C-ordered float64 matrix (`examples/out_of_core.rs` with
`OUT_OF_CORE_FILE=FILE.npy` writes one larger than RAM and keeps it). For every tool and
operation a fresh worker process is started after the page cache was dropped (`sync; echo 1 >
/proc/sys/vm/drop_caches`, as root), so each one reads the file from the disk:

- `mean`: mean(m); `colmean`: mean(m, axis=0); `derived`: (m - mu)**2 < 1/48 written to a
  second file (bool: an eighth of the bytes, which fits beside the matrix on a shared disk), `mu`
  the mean, given.
- numjit: one call over `np.load(FILE, mmap_mode="r")` (streamed: numjit finds the array in
  /proc/self/maps as a file mapping, releases pages behind and reads ahead);
  numpy: the course's way, np.memmap and a Python loop over chunks of rows (64 MiB);
  numexpr: the same chunks, `ne.evaluate(..., out=)`; dask: `da.from_array(memmap)`, chunks of
  128 MB, threaded scheduler.
- The disk's bandwidth in the same run: the faster of `cat` and `dd` of the file to /dev/null,
  each after dropping the cache.

Each worker reports its time, its peak RSS (VmHWM) and its RSS after imports; the answers are
checked against NumPy's (mean, per-column means, the derived file's count of true elements).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROWS_PER_CHUNK_BYTES = 64 << 20
DASK_CHUNK_BYTES = 128 << 20
THRESHOLD = 1 / 48
TOOLS = ("numjit", "numpy", "numexpr", "dask")
OPS = ("mean", "colmean", "derived")


def status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def worker(tool, op, path, mu, out, answers):
    import numpy as np

    m = np.load(path, mmap_mode="r")
    rows, cols = m.shape
    k = max(1, ROWS_PER_CHUNK_BYTES // (cols * 8))
    if tool == "numjit":
        import numjit

        numjit.set_num_threads(2)
        # Compile outside the timed part (a small array, same signature).
        small = np.zeros((4, cols))
        numjit.evaluate("mean(m)", local_dict={"m": small})
        numjit.evaluate("mean(m, axis=0)", local_dict={"m": small})
        numjit.evaluate("(m - mu)**2 < t", local_dict={"m": small, "mu": 0.0, "t": THRESHOLD})
    elif tool == "numexpr":
        import numexpr as ne

        ne.set_num_threads(2)
    elif tool == "dask":
        import dask
        import dask.array as da

        dask.config.set(scheduler="threads", num_workers=2)
        dk = max(1, DASK_CHUNK_BYTES // (cols * 8))

        class Source:
            """The memmap behind an object that is no ndarray: `da.from_array` of an ndarray
            (a memmap included) allocated the whole 24.5 GiB array here (dask 2026.8)."""

            shape, dtype, ndim = m.shape, m.dtype, m.ndim

            def __getitem__(self, index):
                return np.asarray(m[index])

        src = Source()
    base = status_kib("VmRSS:")
    d = None
    if op == "derived":
        d = np.lib.format.open_memmap(out, mode="w+", dtype=np.bool_, shape=m.shape)
    t0 = time.perf_counter()
    if op == "mean":
        if tool == "numjit":
            value = float(numjit.evaluate("mean(m)", local_dict={"m": m}))
        elif tool == "numpy":
            total = 0.0
            for i in range(0, rows, k):
                total += m[i:i + k].sum()
            value = total / m.size
        elif tool == "numexpr":
            total = 0.0
            for i in range(0, rows, k):
                c = m[i:i + k]
                total += float(ne.evaluate("sum(c)"))
            value = total / m.size
        else:
            value = float(da.from_array(src, chunks=(dk, cols)).mean().compute())
        result = {"mean": value}
    elif op == "colmean":
        if tool == "numjit":
            value = numjit.evaluate("mean(m, axis=0)", local_dict={"m": m})
        elif tool == "numpy":
            acc = np.zeros(cols)
            for i in range(0, rows, k):
                acc += m[i:i + k].sum(axis=0)
            value = acc / rows
        elif tool == "numexpr":
            acc = np.zeros(cols)
            for i in range(0, rows, k):
                c = m[i:i + k]
                acc += ne.evaluate("sum(c, axis=0)")
            value = acc / rows
        else:
            value = da.from_array(src, chunks=(dk, cols)).mean(axis=0).compute()
        np.save(answers, value)
        result = {"colmean": str(answers)}
    else:
        t = THRESHOLD
        if tool == "numjit":
            numjit.evaluate("(m - mu)**2 < t", local_dict={"m": m, "mu": mu, "t": t}, out=d)
        elif tool == "numpy":
            for i in range(0, rows, k):
                d[i:i + k] = (m[i:i + k] - mu) ** 2 < t
        elif tool == "numexpr":
            for i in range(0, rows, k):
                c = m[i:i + k]
                ne.evaluate("(c - mu)**2 < t", out=d[i:i + k])
        else:
            x = da.from_array(src, chunks=(dk, cols))
            da.store((x - mu) ** 2 < t, d, lock=False)
        d.flush()
        result = {}
    secs = time.perf_counter() - t0
    peak = status_kib("VmHWM:")
    if op == "derived":
        del d
        dd = np.load(out, mmap_mode="r")
        result["true"] = int(sum(int(np.count_nonzero(dd[i:i + k])) for i in range(0, rows, k)))
    result.update(secs=secs, peak_kib=peak, base_kib=base, bytes=m.nbytes)
    print(json.dumps(result))


def drop_caches():
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("1\n")


def disk_bandwidth(path):
    """The faster of `cat` and `dd bs=16M` of the file to /dev/null, each after dropping the
    cache: bytes/s. `cat`'s 128 KiB reads ride the kernel's readahead and were the faster here
    (1.4 against 0.5 GB/s for a 3.8 GB file); `dd` waits for each 16 MiB read in turn."""
    rates = []
    for cmd in (["cat", str(path)], ["dd", f"if={path}", "of=/dev/null", "bs=16M", "status=none"]):
        drop_caches()
        t0 = time.perf_counter()
        with open(os.devnull, "wb") as null:
            subprocess.run(cmd, check=True, stdout=null)
        rates.append(os.path.getsize(path) / (time.perf_counter() - t0))
    return max(rates)


def load():
    return os.getloadavg()[0]


def run_worker(tool, op, path, mu, out, answers):
    drop_caches()
    cmd = [sys.executable, __file__, "--worker", tool, op, str(path), repr(mu), str(out), str(answers)]
    env = dict(os.environ, OMP_NUM_THREADS="2", RAYON_NUM_THREADS="2", NUMJIT_NUM_THREADS="2")
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.exists():
        out.unlink()
    if p.returncode != 0:
        return {"error": p.stderr.strip().splitlines()[-1:] or ["?"]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", type=Path)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--ops", default=",".join(OPS))
    ap.add_argument("--output", type=Path)
    ap.add_argument("--worker", nargs=6)
    args, _ = ap.parse_known_args()
    import numpy as np

    work = args.file.parent
    out = work / f"p15-derived-{os.getpid()}.npy"
    answers = work / f"p15-colmean-{os.getpid()}.npy"
    tools = args.tools.split(",")
    ops = args.ops.split(",")
    m = np.load(args.file, mmap_mode="r")
    size = m.nbytes
    print(f"P15: {m.shape[0]} x {m.shape[1]} float64, {size / 1e9:.2f} GB; "
          f"RAM {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB", flush=True)
    del m
    rows = []
    disk = []
    loads = [load()]
    mu = None
    ref = {}
    for rep in range(args.reps):
        disk.append(disk_bandwidth(args.file))
        print(f"  disk (cat/dd): {disk[-1] / 1e9:.3f} GB/s (load {load():.1f})", flush=True)
        for op in ops:
            # Rotate the tools each round, so no tool always follows the dd or another tool.
            order = tools[rep % len(tools):] + tools[:rep % len(tools)]
            for tool in order:
                if op == "derived" and mu is None:
                    mu = ref.get("mean", 0.25)
                r = run_worker(tool, op, args.file, mu if mu is not None else 0.0,
                               out, answers.with_name(f"{answers.stem}-{tool}.npy"))
                r.update(tool=tool, op=op, rep=rep, load=load())
                loads.append(r["load"])
                if "error" not in r:
                    if op == "mean" and tool == "numpy":
                        ref["mean"] = r["mean"]
                    gbs = r["bytes"] / r["secs"] / 1e9
                    print(f"  {op:8} {tool:8} {r['secs']:7.2f} s {gbs:6.3f} GB/s "
                          f"peak RSS {r['peak_kib'] / 1024:8.1f} MiB (after imports "
                          f"{r['base_kib'] / 1024:.1f}) load {r['load']:.1f}", flush=True)
                else:
                    print(f"  {op:8} {tool:8} FAILED {r['error']}", flush=True)
                rows.append(r)
    # Checks against NumPy's answers.
    checks = []
    means = {r["tool"]: r["mean"] for r in rows if r.get("mean") is not None}
    if "numpy" in means:
        for t, v in means.items():
            checks.append((f"mean {t}", abs(v - means["numpy"]) <= 1e-9 * abs(means["numpy"]) + 1e-12, v))
    cols = {}
    for t in tools:
        p = answers.with_name(f"{answers.stem}-{t}.npy")
        if p.exists():
            cols[t] = np.load(p)
            p.unlink()
    if "numpy" in cols:
        for t, v in cols.items():
            err = float(np.max(np.abs(v - cols["numpy"])))
            checks.append((f"colmean {t}", err <= 1e-12, err))
    trues = {r["tool"]: r["true"] for r in rows if "true" in r}
    if "numpy" in trues:
        for t, v in trues.items():
            checks.append((f"derived {t} (count of true)", v == trues["numpy"], v))
    for what, ok, v in checks:
        print(f"  check {what}: {'ok' if ok else 'FAILED'} ({v})")
    report(args, size, disk, rows, loads, checks, mu)


def report(args, size, disk, rows, loads, checks, mu):
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    dd = statistics.median(disk)
    lines = [
        "# P15 out of core: a file larger than RAM, every tool in the same run",
        "",
        f"File: {args.file.name}, {size / 1e9:.2f} GB float64 (C order); RAM "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB. CPU: {cpu}, "
        f"{os.cpu_count()} cores; load average during the run {min(loads):.1f}–{max(loads):.1f}.",
        f"Page cache dropped before every worker and every dd. Medians of {args.reps}.",
        "",
        f"Disk bandwidth (the faster of `cat` and `dd bs=16M` to /dev/null, cache dropped): median {dd / 1e9:.3f} GB/s "
        f"({', '.join(f'{d / 1e9:.3f}' for d in disk)}).",
        "",
        "| operation | tool | median s | GB/s read | % of disk | peak RSS MiB | RSS after imports MiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for op in OPS:
        for tool in TOOLS:
            rs = [r for r in rows if r["tool"] == tool and r["op"] == op and "error" not in r]
            if not rs:
                continue
            secs = statistics.median(r["secs"] for r in rs)
            peak = max(r["peak_kib"] for r in rs) / 1024
            base = min(r["base_kib"] for r in rs) / 1024
            gbs = size / secs / 1e9
            lines.append(f"| {op} | {tool} | {secs:.2f} ({min(r['secs'] for r in rs):.2f}–"
                         f"{max(r['secs'] for r in rs):.2f}) | {gbs:.3f} | {100 * gbs / (dd / 1e9):.0f} % "
                         f"| {peak:.0f} | {base:.0f} |")
    lines += ["", "Checks against NumPy's answers:", ""]
    lines += [f"- {w}: {'ok' if ok else 'FAILED'} ({v})" for w, ok, v in checks]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        args.output.write_text(text)


if __name__ == "__main__":
    if "--worker" in sys.argv:
        i = sys.argv.index("--worker")
        tool, op, path, mu, out, answers = sys.argv[i + 1:i + 7]
        worker(tool, op, path, float(mu), Path(out), Path(answers))
    else:
        main()
