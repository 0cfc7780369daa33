"""Worker for the Python peers (NumPy, NumExpr, Numba) of the course problems.

One worker process per measurement, speaking the protocol of README.md:

    peers_py.py --tool numpy --problem P2 --threads 1 --reps 5 [--size N] [--variant alloc|out|reduce]

prints one JSON line. Each tool's kernels live in peers_<tool>.py and only the
requested one is imported: Numba's import alone costs 0.3 s, NumExpr's 0.15 s,
and the runner starts hundreds of workers.
"""

import argparse
import importlib
import json
import sys
import time

import numpy as np

from course_inputs import DEFAULT_SIZES, TINY_SIZE, make_inputs


def set_threads(tool, threads):
    """Returns False when the tool cannot run that many threads."""
    if tool == "numpy":
        return threads == 1  # NumPy's elementwise loops are single-threaded
    if tool == "numexpr":
        import numexpr
        numexpr.set_num_threads(threads)
        return True
    import numba
    if threads > numba.config.NUMBA_NUM_THREADS:
        return False
    numba.set_num_threads(threads)
    return True


def tool_version(tool):
    if tool == "numpy":
        return f"numpy {np.__version__}"
    if tool == "numexpr":
        import numexpr
        return f"numexpr {numexpr.__version__} ({'VML' if numexpr.use_vml else 'no VML'})"
    import numba
    return f"numba {numba.__version__} (threading layer {numba.threading_layer()})"


def status_kib(field):
    """A field of /proc/self/status in KiB (VmHWM = peak RSS)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def checksum(result):
    """The sum of every element of every output, in float64."""
    if isinstance(result, tuple):
        return sum(checksum(r) for r in result)
    return float(np.sum(result, dtype=np.float64))


def measure(args, factory):
    # A tiny run first: imports and JIT compilation are not the problem's memory.
    factory(make_inputs(args.problem, TINY_SIZE))()
    base = status_kib("VmHWM")
    run = factory(make_inputs(args.problem, args.size))
    result = run()  # warm-up
    times = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - t0)
    return {"times_s": times, "checksum": checksum(result),
            "peak_rss_kib": status_kib("VmHWM"), "base_rss_kib": base}


def default_variant(problem):
    return "reduce" if problem in ("P8", "P9") else "alloc"


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tool", required=True, choices=("numpy", "numexpr", "numba"))
    ap.add_argument("--problem", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--size", type=int)
    ap.add_argument("--variant")
    args = ap.parse_args(argv)
    args.size = args.size or DEFAULT_SIZES.get(args.problem)
    args.variant = args.variant or default_variant(args.problem)
    return args


def main(argv):
    args = parse_args(argv)
    kernels = importlib.import_module(f"peers_{args.tool}").KERNELS
    factory = kernels.get((args.tool, args.problem, args.variant))
    head = {"tool": args.tool, "problem": args.problem}
    if factory is None or not set_threads(args.tool, args.threads):
        print(json.dumps({**head, "unsupported": True}))
        return
    stats = measure(args, factory)
    print(json.dumps({**head, "variant": args.variant, "threads": args.threads, "n": args.size,
                      **stats, "version": tool_version(args.tool)}))


if __name__ == "__main__":
    main(sys.argv[1:])
