"""Side-by-side course benchmarks: numjit against NumPy, NumExpr, Numba and C.

Runs every selected problem with every tool at 1 and 2 threads, each
measurement in its own worker process (warm-up call, then timed call), with
the order of the workers rotated from one round to the next so that the
machine's drift hits every tool alike. Checks that the tools agree on the
checksum, and writes a markdown report. See README.md; run through run.sh.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
BUILD = HERE / "build"
# NUMJIT_BENCH_BIN points the runner at another numjit worker (another build, a test double).
NUMJIT_BIN = Path(os.environ.get("NUMJIT_BENCH_BIN",
                                 REPO / "target" / "release" / "examples" / "bench_course"))
# NUMJIT_BASE_BIN adds the tool "numjit-base": a second numjit worker (say, the build before a
# change), measured in the same interleaved rounds for an A/B comparison. Not a peer.
NUMJIT_BASE_BIN = os.environ.get("NUMJIT_BASE_BIN")
# NUMJIT_BASE2_BIN adds a third, "numjit-base2" (say, the build before a change beside two code
# generators of the build after it).
NUMJIT_BASE2_BIN = os.environ.get("NUMJIT_BASE2_BIN")

ARRAY_VARIANTS = ("alloc", "out")


# ------------------------------------------------------------------ cases

@dataclass(frozen=True)
class Case:
    """One timed kernel: a problem at one size (see README.md for the formulas)."""
    id: str                 # what --problem gets
    title: str
    full_size: int
    quick_size: int | None  # None: skipped by --quick
    elements: object        # size -> elements processed (for ns/element)
    io_bytes: object        # size -> bytes of inputs + outputs (ideal footprint)
    traffic: int = 0        # bytes read + written per element; 0 = not memory-bound
    rel_tol: float = 1e-10  # checksum agreement, relative to max(|reference|, 1)
    variants: tuple = ARRAY_VARIANTS  # asked of every tool
    extra: tuple = ()                 # (tool, variant) pairs only that tool offers
    known: str = ""
    size_name: str = "n"

    @property
    def problem(self):
        return self.id.split("-")[0]


def linear(k):
    return lambda n: k * n


P5_INTERIOR = 299 * 299
P7_PLANE = 250 * 400

CASES = [
    Case("P1", "trig identity sin²+cos²", 10**8, 10**6, linear(1), linear(16),
         extra=(("c", "libmvec-fastmath"),), known="every element 1 (checksum = n)"),
    Case("P2", "Horner polynomial", 10**7, 10**6, linear(1), linear(16), traffic=16),
    Case("P3", "quadratic a²+b²+2ab", 10**6, 10**5, linear(1), linear(24), traffic=24,
         known="= Σ(a+b)²; 24 MB: cache-resident, tests per-call overhead"),
    Case("P4", "temporaries (2a-4.5b)+(sin a+cos b), shape (d0,1024,50)", 1024, 16,
         linear(1024 * 50), linear(24 * 1024 * 50), size_name="d0",
         known="peak memory should be inputs + output"),
    Case("P5", "2-D diffusion, 301² grid", 13410, 100, linear(P5_INTERIOR),
         lambda n: 3 * 301 * 301 * 8, size_name="steps", known="cache-resident: compute-bound"),
    Case("P6", "Laplace stencil, one step", 4096, 512, lambda n: n * n, lambda n: 16 * n * n,
         traffic=16, size_name="N (N×N)"),
    Case("P7", "spherical → Cartesian velocity, shape (250,nr,400)", 300, 10,
         linear(P7_PLANE), linear(48 * P7_PLANE), traffic=48, size_name="nr"),
    Case("P8", "slow series Σ1/k, k without digit 9", 10**8, 10**6, linear(1), linear(0),
         rel_tol=1e-12, variants=("reduce",), known="13.277605949858… at n = 10⁸"),
    Case("P9", "area under 0.7x³-2x²+4 on [0,3]", 10**8, 10**6, linear(1), linear(0),
         rel_tol=1e-12, variants=("reduce",), known="→ 8.175 as n grows"),
    Case("P10-M1000", "pairwise distances, X (M,3)", 1000, 1000, lambda m: m * m,
         lambda m: 24 * m + 8 * m * m, size_name="M"),
    Case("P10-M4000", "pairwise distances, X (M,3)", 4000, None, lambda m: m * m,
         lambda m: 24 * m + 8 * m * m, size_name="M"),
    Case("P11-axis0", "sum(c, axis=0), c (N,N)", 10000, 1000, lambda n: n * n,
         lambda n: 8 * n * n + 8 * n, traffic=8, size_name="N", known="must not be slower than axis=1"),
    Case("P11-axis1", "sum(c, axis=1), c (N,N)", 10000, 1000, lambda n: n * n,
         lambda n: 8 * n * n + 8 * n, traffic=8, size_name="N"),
    Case("P12", "Mandelbrot, ny × 1.5·ny pixels", 1000, 100, lambda n: n * (3 * n // 2),
         lambda n: n * (3 * n // 2) + 8 * (n + 3 * n // 2), rel_tol=1e-4, size_name="ny",
         known="FMA contraction may move a few boundary pixels"),
    Case("P13", "x³ + 4 sin y", 10**7, 10**6, linear(1), linear(24)),
    Case("P14-copy", "STREAM copy c = a", 10**8, 2 * 10**6, linear(1), linear(16), traffic=16),
    Case("P14-triad", "STREAM triad c = a + 3b", 10**8, 2 * 10**6, linear(1), linear(24), traffic=24),
]


def worker_problem(case):
    """P10's two cases are one problem at two sizes."""
    return "P10" if case.problem == "P10" else case.id


def select_cases(spec, quick):
    """--problems P1,P11 selects P1, P11-axis0 and P11-axis1."""
    wanted = spec.split(",") if spec else None
    chosen = [c for c in CASES if wanted is None or c.id in wanted or c.problem in wanted]
    return [c for c in chosen if not quick or c.quick_size is not None]


# ------------------------------------------------------------------ tools

@dataclass(frozen=True)
class Tool:
    name: str
    threads: tuple
    peer: bool = True

    def command(self, threads):
        """The worker's argv prefix, or None when the tool is not built."""
        if self.name in ("numjit", "numjit-base", "numjit-base2"):
            binary = {"numjit": NUMJIT_BIN, "numjit-base": Path(NUMJIT_BASE_BIN or "-"),
                      "numjit-base2": Path(NUMJIT_BASE2_BIN or "-")}[self.name]
            return [str(binary)] if binary.exists() else None
        if self.name == "c":
            binary = BUILD / ("bench_c" if threads == 1 else "bench_c_omp")
            return [str(binary)] if binary.exists() else None
        return [sys.executable, str(HERE / "peers_py.py"), "--tool", self.name]


def resolve_commands(tools):
    """Each (tool, threads) worker's argv prefix, or None, decided once at the start:
    a binary that a concurrent build creates mid-run must not join half the problems."""
    return {(t.name, n): t.command(n) for t in tools for n in t.threads}


TOOLS = [
    Tool("numjit", (1, 2), peer=False),
    Tool("numpy", (1,)),  # single-threaded by design
    Tool("numexpr", (1, 2)),
    Tool("numba", (1, 2)),
    Tool("c", (1, 2)),
] + ([Tool("numjit-base", (1, 2), peer=False)] if NUMJIT_BASE_BIN else []) + (
    [Tool("numjit-base2", (1, 2), peer=False)] if NUMJIT_BASE2_BIN else [])


# ------------------------------------------------------------ measuring

@dataclass
class Row:
    """All measurements of one (tool, variant, threads) on one case."""
    tool: str
    variant: str
    threads: int
    status: str = "ok"      # ok | unsupported | failed | not built
    error: str = ""
    times: list = field(default_factory=list)
    checksums: list = field(default_factory=list)
    peak_kib: int = 0
    base_kib: int | None = None
    version: str = ""

    @property
    def median(self):
        return statistics.median(self.times) if self.times else None


class WorkerError(Exception):
    pass


def worker_env(threads):
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS=str(threads), RAYON_NUM_THREADS=str(threads),
               NUMBA_CACHE_DIR=str(BUILD / "numba-cache"))
    return env


def run_worker(argv, threads, timeout):
    """Runs one worker; returns its JSON line as a dict."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              env=worker_env(threads), cwd=REPO, check=False)
    except subprocess.TimeoutExpired:
        raise WorkerError(f"timed out after {timeout} s") from None
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if proc.returncode != 0 or not lines:
        err = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise WorkerError(f"exit {proc.returncode}: {err[:160]}")
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError:
        raise WorkerError(f"bad JSON: {lines[-1][:160]}") from None


def measure_once(row, command, case, size, reps, timeout):
    argv = command + ["--problem", worker_problem(case), "--threads", str(row.threads),
                               "--reps", str(reps), "--size", str(size), "--variant", row.variant]
    try:
        out = run_worker(argv, row.threads, timeout)
    except WorkerError as e:
        row.status, row.error = "failed", str(e)
        return
    if out.get("unsupported"):
        row.status = "unsupported"
        return
    missing = [k for k in ("n", "times_s", "checksum", "peak_rss_kib") if k not in out]
    if missing:
        row.status, row.error = "failed", f"JSON lacks {', '.join(missing)}"
        return
    if out["n"] != size:
        row.status, row.error = "failed", f"worker ran size {out['n']}, not {size}"
        return
    row.times += out["times_s"]
    row.checksums.append(out["checksum"])
    row.peak_kib = max(row.peak_kib, out["peak_rss_kib"])
    row.base_kib = out.get("base_rss_kib")
    row.version = out.get("version", "")


def plan_rows(case, tools, commands):
    rows = []
    for tool in tools:
        for threads in tool.threads:
            if commands[tool.name, threads] is None:
                rows.append(Row(tool.name, "—", threads, status="not built"))
                continue
            extra = tuple(v for t, v in case.extra if t == tool.name)
            rows += [Row(tool.name, v, threads) for v in case.variants + extra]
    return rows


def rotated(items, round_index, rounds):
    """Round r starts 1/rounds further along, so each job visits every position."""
    if not items:
        return items
    shift = (round_index * len(items)) // rounds % len(items)
    return items[shift:] + items[:shift]


def measure_case(case, tools, commands, size, rounds, reps, timeout, log):
    rows = plan_rows(case, tools, commands)
    for r in range(rounds):
        for row in rotated([x for x in rows if x.status == "ok"], r, rounds):
            t0 = time.monotonic()
            measure_once(row, commands[row.tool, row.threads], case, size, reps, timeout)
            log(f"  round {r + 1}/{rounds} {row.tool:8} {row.variant:16} {row.threads}t  "
                f"{describe(row)}  ({time.monotonic() - t0:.1f} s wall)")
    return rows


def describe(row):
    if row.status != "ok":
        return f"{row.status} {row.error}".strip()
    return f"{fmt_time(row.times[-1])}  checksum {row.checksums[-1]:.15g}"


# -------------------------------------------------------------- analysis

@dataclass
class CaseResult:
    case: Case
    size: int
    rows: list
    load: str  # how busy the machine was when the case started


def machine_load():
    """1-minute load average and PSI's share of time some task waited for a CPU."""
    load = f"load {os.getloadavg()[0]:.2f}"
    try:
        some = Path("/proc/pressure/cpu").read_text().split()[1]  # "avg10=12.34"
    except OSError:
        return load
    return f"{load}, CPU pressure {some.split('=')[1]} %"


def reference_checksum(rows):
    """The plain C 1-thread result if there is one, else the first other tool's."""
    ok = [r for r in rows if r.status == "ok"]
    ordered = sorted(ok, key=lambda r: (r.tool != "c", r.threads != 1, "fastmath" in r.variant))
    return ordered[0].checksums[0] if ordered else None


def checksum_error(row, ref):
    """Largest relative deviation of this row's checksums from the reference."""
    return max(abs(c - ref) / max(abs(ref), 1.0) for c in row.checksums)


def stream_limits(results):
    """GB/s of the C copy and triad at each thread count: the memory limit.

    Like STREAM itself, the best of the timed calls, not the median: the limit
    is what the machine can do, and other work on it only ever slows a call.
    """
    limits = {}
    for res in results:
        if res.case.problem != "P14":
            continue
        for r in res.rows:
            if r.tool == "c" and r.status == "ok":
                gbs = res.case.traffic * res.case.elements(res.size) / min(r.times) / 1e9
                limits[r.threads] = max(limits.get(r.threads, 0.0), gbs)
    return limits


def best_peer(rows, threads):
    peers = {t.name for t in TOOLS if t.peer}
    times = [r.median for r in rows if r.status == "ok" and r.tool in peers
             and r.threads == threads]
    return min(times) if times else None


# ------------------------------------------------------------- rendering

def fmt_time(s):
    if s is None:
        return "—"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"


def fmt_mib(kib):
    return "—" if kib is None else f"{kib / 1024:.0f}"


def render_row(case, size, row, ref, peer_best, limits):
    if row.status != "ok":
        # An unsupported row is shown only when no variant of the tool runs.
        variant = "—" if row.status == "unsupported" else row.variant
        msg = f"failed ({row.error})" if row.status == "failed" else row.status
        return f"| {row.tool} | {variant} | {row.threads} | {msg} |" + " — |" * 8
    t = row.median
    spread = f"{fmt_time(min(row.times))} – {fmt_time(max(row.times))}"
    ns = t / case.elements(size) * 1e9
    gbs = case.traffic * case.elements(size) / t / 1e9 if case.traffic else None
    limit = limits.get(row.threads)
    vs_stream = f"{gbs / limit:.2f}" if gbs and limit else "—"
    vs_peer = f"{t / peer_best[row.threads]:.2f}×" if peer_best.get(row.threads) else "—"
    work = row.peak_kib - row.base_kib if row.base_kib is not None else None
    err = checksum_error(row, ref) if ref is not None else 0.0
    check = "ok" if err <= case.rel_tol else f"**✗ {err:.1e}**"
    return (f"| {row.tool} | {row.variant} | {row.threads} | {fmt_time(t)} | {spread} | "
            f"{ns:.3g} | {f'{gbs:.1f}' if gbs else '—'} | {vs_peer} | {vs_stream} | "
            f"{fmt_mib(row.peak_kib)} | {fmt_mib(work)} | {check} |")


def render_case(res, limits):
    case, size, rows = res.case, res.size, res.rows
    ref = reference_checksum(rows)
    peer_best = {t: best_peer(rows, t) for t in (1, 2)}
    facts = [f"{case.size_name} = {size:,}", f"{case.elements(size):,} elements",
             f"inputs + outputs {case.io_bytes(size) / 2**20:,.0f} MiB"]
    if case.traffic:
        facts.append(f"memory-bound, {case.traffic} B/element read + written")
    facts.append(f"checksum reference {ref!r} (tolerance {case.rel_tol:g} relative)"
                 if ref is not None else "no checksum")
    if case.known:
        facts.append(case.known)
    facts.append(f"at start: {res.load}")
    lines = [f"### {case.id}: {case.title}", "", " · ".join(facts), "",
             ("| tool | variant | threads | median | min – max | ns/elem | GB/s | vs best peer "
              "| vs STREAM | peak RSS MiB | work MiB | checksum |"),
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += [render_row(case, size, row, ref, peer_best, limits) for row in visible_rows(rows)]
    return "\n".join(lines) + "\n"


def visible_rows(rows):
    """Sorted rows; an unsupported variant is shown only when the tool has no other."""
    order = {t.name: i for i, t in enumerate(TOOLS)}
    shown, seen = [], set()
    for row in sorted(rows, key=lambda r: (r.threads, order[r.tool], r.status != "ok", r.variant)):
        key = (row.tool, row.threads)
        if row.status == "unsupported" and key in seen:
            continue
        seen.add(key)
        shown.append(row)
    return shown


SUMMARY_COLUMNS = [("numpy", 1), ("numexpr", 1), ("numexpr", 2), ("numba", 1), ("numba", 2),
                   ("c", 1), ("c", 2), ("numjit", 1), ("numjit", 2)] + (
                       [("numjit-base", 1), ("numjit-base", 2)] if NUMJIT_BASE_BIN else []) + (
                       [("numjit-base2", 1), ("numjit-base2", 2)] if NUMJIT_BASE2_BIN else [])


def render_summary(results):
    head = "| case | size | " + " | ".join(f"{t} {n}t" for t, n in SUMMARY_COLUMNS) + " |"
    lines = [head, "|---|---|" + "---|" * len(SUMMARY_COLUMNS)]
    for res in results:
        cells = []
        for tool, threads in SUMMARY_COLUMNS:
            times = [r.median for r in res.rows if r.tool == tool and r.threads == threads
                     and r.status == "ok"]
            cells.append(fmt_time(min(times)) if times else "—")
        lines.append(f"| {res.case.id} | {res.size:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def machine_description():
    info = Path("/proc/cpuinfo").read_text()
    model = next((ln.split(":", 1)[1].strip() for ln in info.splitlines()
                  if ln.startswith("model name")), platform.processor())
    cpus = sum(1 for ln in info.splitlines() if ln.startswith("processor"))
    isa = "AVX-512" if " avx512f" in info else "AVX2, no AVX-512" if " avx2" in info else "SSE"
    mem_kib = next(int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                   if ln.startswith("MemTotal"))
    return f"{model}, {cpus} logical CPUs, {mem_kib / 2**20:.1f} GiB RAM, {isa}"


def tool_versions(results):
    """What each tool's workers said they are; "not built" for a tool that never ran."""
    versions = {}
    for res in results:
        for r in res.rows:
            seen = versions.setdefault(r.tool, set())
            if r.version:
                seen.add(r.version)
    built = {r.tool for res in results for r in res.rows if r.status != "not built"}
    return "; ".join(f"{tool}: {', '.join(sorted(v)) or ('no version given' if tool in built else 'not built')}"
                     for tool, v in versions.items())


def render_report(results, args, rounds, reps, loads, started):
    """loads: machine_load() at the start and at the end of the run."""
    limits = stream_limits(results)
    stream = ", ".join(f"{t} thread{'s' if t > 1 else ''} {gbs:.1f} GB/s"
                       for t, gbs in sorted(limits.items())) or "not measured"
    mode = (f"{rounds} interleaved round(s), {reps} timed call(s) per worker process"
            + (" (--quick smoke test: sizes reduced, not interleaved)" if args.quick else ""))
    parts = [
        "# numjit course benchmarks", "",
        f"- Run: {started:%Y-%m-%d %H:%M} UTC, `runner.py {' '.join(sys.argv[1:])}`",
        f"- Machine: {machine_description()}",
        f"- Other work on the machine: {loads[0]} at start; {loads[1]} at end",
        f"- Tools: {tool_versions(results)}",
        f"- Method: {mode}; median of all timed calls; see README.md",
        f"- STREAM limit (best C copy or triad call, this run): {stream}", "",
        "## Summary: median time, best variant of each tool", "",
        render_summary(results), "## Per problem", ""]
    parts += [render_case(res, limits) for res in results]
    return "\n".join(parts)


# ------------------------------------------------------------------ main

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, 3 runs: a smoke test")
    ap.add_argument("--problems", help="comma-separated, e.g. P2,P11 (default: all)")
    ap.add_argument("--tools", help="comma-separated subset of " + ",".join(t.name for t in TOOLS))
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (full mode)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per worker process")
    ap.add_argument("--output", type=Path,
                    help="report path (default RESULTS.md, or build/RESULTS-quick.md with --quick)")
    return ap.parse_args(argv)


def plan(args):
    """(case, size, tools) triples; the C STREAM cases join any memory-bound selection."""
    names = args.tools.split(",") if args.tools else [t.name for t in TOOLS]
    tools = [t for t in TOOLS if t.name in names]
    cases = select_cases(args.problems, args.quick)
    jobs = [(c, c.quick_size if args.quick else c.full_size, tools) for c in cases]
    if any(c.traffic for c in cases) and not any(c.problem == "P14" for c in cases):
        c_only = [t for t in TOOLS if t.name == "c"]
        jobs = [(c, c.quick_size if args.quick else c.full_size, c_only)
                for c in CASES if c.problem == "P14"] + jobs
    return jobs


def main(argv):
    args = parse_args(argv)
    # --quick runs each worker once with 3 timed calls: interleaving costs a
    # process start per measurement, too slow for a 2-minute smoke test.
    rounds, reps = (1, 3) if args.quick else (args.rounds, 1)
    started = datetime.datetime.now(datetime.UTC)
    load_start = machine_load()
    commands = resolve_commands(TOOLS)
    results = []
    for case, size, tools in plan(args):
        load = machine_load()
        print(f"{case.id} ({case.size_name} = {size:,}; {load})", flush=True)
        rows = measure_case(case, tools, commands, size, rounds, reps, args.timeout,
                            lambda msg: print(msg, flush=True))
        results.append(CaseResult(case, size, rows, load))
    report = render_report(results, args, rounds, reps, (load_start, machine_load()), started)
    output = args.output or (BUILD / "RESULTS-quick.md" if args.quick else HERE / "RESULTS.md")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report)
    print("\n" + report)
    print(f"written to {output}")
    passed, failed, skipped = tally(results)
    # The closing line CI reads; a failed worker or a wrong checksum fails the run.
    print(f"course: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


def tally(results):
    """Rows whose checksum agrees, rows that failed or disagree, rows not run."""
    passed = failed = skipped = 0
    for res in results:
        ref = reference_checksum(res.rows)
        for row in res.rows:
            if row.status in ("unsupported", "not built"):
                skipped += 1
            elif row.status == "failed" or checksum_error(row, ref) > res.case.rel_tol:
                failed += 1
            else:
                passed += 1
    return passed, failed, skipped


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
