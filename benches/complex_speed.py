"""Speed of complex transcendentals: numjit against NumPy and numexpr, in one run.

    PYTHONPATH=python NUMJIT_LIBRARY=target/release/libnumjit.so \\
        benches/course/.venv/bin/python benches/complex_speed.py [--n 1000000] [--repeat 15] \\
        [--threads 1] [--output MD]

For each expression, the same complex128 array `z` (10^6 elements by default, both parts uniform
in [-2, 2], seeded) goes through `numjit.evaluate`, `numexpr.evaluate` and the NumPy expression;
each is timed `--repeat` times after one warm-up call (numjit's warm-up compiles, its kernel
cache makes the timed calls compile-free) and the median is reported, in ns per element.
numjit and numexpr run with `--threads` threads (1 by default: a per-core comparison on a
shared machine), NumPy is single-threaded anyway. Every result is checked against NumPy's
(normwise, to 1e-12 relative) before it is timed, so a fast wrong answer cannot show up here;
numexpr's own error is reported (its complex `tanh` is its own, less accurate formula).
`NUMJIT_LIBRARY` may point at another build (e.g. one without block-staged complex functions)
to time that one instead.
"""

import argparse
import os
import platform
import statistics
import time

import numpy as np
import numexpr

import numjit

EXPRESSIONS = {
    # numjit / numexpr expression: NumPy function of z
    "exp(z)": lambda z: np.exp(z),
    "log(z)": lambda z: np.log(z),
    "sqrt(z)": lambda z: np.sqrt(z),
    "sin(z)": lambda z: np.sin(z),
    "cos(z)": lambda z: np.cos(z),
    "tanh(z)": lambda z: np.tanh(z),
    "log10(z)": lambda z: np.log10(z),
    "exp(z) * sin(z)": lambda z: np.exp(z) * np.sin(z),
}


def median_ns(fn, n, repeat):
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - t0)
    return statistics.median(times) / n


def rel_error(got, want):
    scale = np.maximum(np.abs(want), np.finfo(np.float64).tiny)
    return np.max(np.abs(got - want) / scale)


def check(name, got, want):
    err = rel_error(got, want)
    if not err <= 1e-12:
        raise SystemExit(f"{name}: relative error {err} against NumPy")


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--output")
    args = ap.parse_args()
    numjit.set_num_threads(args.threads)
    numexpr.set_num_threads(args.threads)
    rng = np.random.default_rng(17)
    z = rng.uniform(-2, 2, args.n) + 1j * rng.uniform(-2, 2, args.n)
    out = np.empty_like(z)
    rows = []
    for expr, np_fn in EXPRESSIONS.items():
        want = np_fn(z)
        check(f"numjit {expr}", numjit.evaluate(expr, {"z": z}, out=out), want)
        err_ne = rel_error(numexpr.evaluate(expr, {"z": z}), want)
        t_nj = median_ns(lambda: numjit.evaluate(expr, {"z": z}, out=out), args.n, args.repeat)
        t_ne = median_ns(lambda: numexpr.evaluate(expr, {"z": z}, out=out), args.n, args.repeat)
        t_np = median_ns(lambda: np_fn(z), args.n, args.repeat)
        rows.append((expr, t_nj, t_ne, t_np, err_ne))
        print(f"{expr:18} numjit {t_nj:7.2f}  numexpr {t_ne:7.2f}  NumPy {t_np:7.2f} ns/element",
              flush=True)
    load = os.getloadavg()[0]
    lines = [
        f"Complex128 functions, {args.n} elements, median of {args.repeat} runs, ns per element "
        f"(lower is better); {args.threads} thread(s) for numjit and numexpr. CPU {cpu_name()}, "
        f"load average {load:.1f} at the end, NumPy {np.__version__}, numexpr {numexpr.__version__}.",
        "",
        "| expression | numjit | numexpr | NumPy | numjit speed-up over NumPy | over numexpr | numexpr's max relative error against NumPy |",
        "|---|---|---|---|---|---|---|",
    ]
    for expr, t_nj, t_ne, t_np, err_ne in rows:
        lines.append(f"| `{expr}` | {t_nj:.2f} | {t_ne:.2f} | {t_np:.2f} | {t_np / t_nj:.1f}× | "
                     f"{t_ne / t_nj:.1f}× | {err_ne:.1e} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
