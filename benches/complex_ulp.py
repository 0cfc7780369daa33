"""Accuracy of numjit's complex functions against mpmath, NumPy's measured on the same points.

    PYTHONPATH=python NUMJIT_LIBRARY=target/release/libnumjit.so \\
        benches/course/.venv/bin/python benches/complex_ulp.py [--points 8000] [--output MD]

(the bench venv needs `pip install mpmath`). For every complex function numjit has, the same
random complex128 points go through `numjit.evaluate(f"{name}(z)")`, NumPy's ufunc and mpmath
(from 256 bits, doubled until two results agree, so that mpmath's own cancellations cannot
show); the error of each result is measured against mpmath's exact value, in units in
the last place (ulp):

- componentwise: |got.re - re| / ulp(re), and the same for the imaginary part, where the exact
  part is non-zero (a part that is exactly zero must come out zero: counted as "zero parts wrong");
- normwise: |got - exact| / ulp(max(|re|, |im|)), the usual measure for complex functions
  (componentwise errors of a small part next to a large one measure cancellation, not the
  function's quality).

Point sets (a quarter of the points each, seeded): `unit` (both parts uniform in [-4, 4]),
`decades` (each part ±10^U(-20, 20)), `extreme` (±10^U(-300, 300)) and `near cuts` (one part
±10^U(-30, -8), the other ±10^U(-3, 3): both sides of every branch cut, never on it). Points
where mpmath's exact result overflows or is not finite are compared as special values (same inf
or NaN pattern), not in ulp.

The column "equal to NumPy" counts the points where numjit's result is NumPy's bit for bit:
all of them for the functions numjit computes one element at a time with the C library, fewer
for those it block-stages through its vector kernels (`src/vmath/complex.rs`: a few ulps from
glibc's, special values still glibc's).

On the cuts themselves the answer depends on the sign of a zero part, which mpmath does not
model: there the script compares numjit with NumPy bit for bit (C99 Annex G's choices) on
`(±x ± 0j)` and `(±0 ± yj)` for x, y in a fixed list, and reports the disagreements.
"""

import argparse
import math
import platform
import sys
import time

import numpy as np
import mpmath
from mpmath import mp, mpc, mpf

import numjit

mp.prec = 256  # raised per point where needed (see `reference`)

FUNCTIONS = {
    # name: (numpy ufunc, mpmath function)
    "sqrt": (np.sqrt, mpmath.sqrt),
    "exp": (np.exp, mpmath.exp),
    "expm1": (np.expm1, mpmath.expm1),
    "log": (np.log, mpmath.log),
    "log1p": (np.log1p, mpmath.log1p),
    "log10": (np.log10, mpmath.log10),
    "log2": (np.log2, lambda z: mpmath.log(z, 2)),
    "sin": (np.sin, mpmath.sin),
    "cos": (np.cos, mpmath.cos),
    "tan": (np.tan, mpmath.tan),
    "arcsin": (np.arcsin, mpmath.asin),
    "arccos": (np.arccos, mpmath.acos),
    "arctan": (np.arctan, mpmath.atan),
    "sinh": (np.sinh, mpmath.sinh),
    "cosh": (np.cosh, mpmath.cosh),
    "tanh": (np.tanh, mpmath.tanh),
    "arcsinh": (np.arcsinh, mpmath.asinh),
    "arccosh": (np.arccosh, mpmath.acosh),
    "arctanh": (np.arctanh, mpmath.atanh),
}

MAX = mpf(np.finfo(np.float64).max)


def ulp(x):
    """The ulp of the double nearest the exact real `x` (subnormal spacing at the bottom)."""
    a = abs(float(x))
    if a == 0.0 or math.isinf(a):
        a = max(a, 2.0**-1074) if a == 0.0 else np.finfo(np.float64).max
    return math.ulp(a)


def reference(f, x):
    """mpmath's `f` at the double complex `x`, at twice the precision until two results agree in
    every part to 64 bits of that part: mpmath's own formulas cancel (atanh(z) as
    (log(1 + z) - log(1 - z))/2), and a part far below the other (the imaginary part of
    atan(2e277 - 2e259j), 4.6e-296 beside pi/2) comes out as 0 at too few bits."""
    z = mpc(float(x.real), float(x.imag))
    prec = 256
    with mp.workprec(prec):
        last = f(z)
    while prec < 1 << 15:
        prec *= 2
        with mp.workprec(prec):
            now = f(z)
            if all(agree(a, b) for a, b in ((last.real, now.real), (last.imag, now.imag))):
                return now
        last = now
    return last


def agree(a, b):
    """Whether two mpmath results of one part agree; a zero part only from 8192 bits on (the
    widest spread between the parts of a double complex result is about 2**2100)."""
    if a == b:
        return a != 0 or mp.prec >= 8192
    if not (mpmath.isfinite(a) and mpmath.isfinite(b)) or b == 0:
        return False
    return abs(a - b) <= abs(b) * mpf(2) ** -64


def same_special(got, exact):
    """Whether the double `got` is what the exact part rounds to: NaN for NaN, ±inf past the
    largest double, else the nearest double."""
    if mpmath.isnan(exact):
        return math.isnan(got)
    if mpmath.isinf(exact) or abs(exact) > MAX:
        return got == math.copysign(math.inf, float(mpmath.sign(exact)))
    return got == float(exact)


def points(n, rng):
    q = n // 4
    sign = lambda k: rng.choice([-1.0, 1.0], k)
    decade = lambda lo, hi, k: sign(k) * 10.0 ** rng.uniform(lo, hi, k)
    sets = {
        "unit": rng.uniform(-4, 4, q) + 1j * rng.uniform(-4, 4, q),
        "decades": decade(-20, 20, q) + 1j * decade(-20, 20, q),
        "extreme": decade(-300, 300, q) + 1j * decade(-300, 300, q),
    }
    small, large = decade(-30, -8, q), decade(-3, 3, q)
    half = q // 2
    cuts = np.concatenate([large[:half] + 1j * small[:half], small[half:] + 1j * large[half:]])
    sets["near cuts"] = cuts
    return sets


def bit_equal(a, b):
    """Whether two complex doubles are the same bits (any NaN equal to any NaN)."""
    same = lambda p, q: (p == q and math.copysign(1, p) == math.copysign(1, q)) or (
        math.isnan(p) and math.isnan(q)
    )
    return same(a.real, b.real) and same(a.imag, b.imag)


def measure(name, z, ours, theirs):
    """Max componentwise and normwise ulp errors of `ours` and `theirs` over the points `z`."""
    f = FUNCTIONS[name][1]
    stats = {
        who: {"comp": 0.0, "norm": 0.0, "zeros": 0, "special": 0, "worst": None}
        for who in ("numjit", "numpy")
    }
    stats["equal"] = sum(bit_equal(o, t) for o, t in zip(ours, theirs))
    for k, x in enumerate(z):
        exact = reference(f, x)
        re, im = exact.real, exact.imag
        finite = all(mpmath.isfinite(p) and abs(p) <= MAX for p in (re, im))
        for who, got in (("numjit", ours[k]), ("numpy", theirs[k])):
            s = stats[who]
            if not finite:
                if not all(same_special(g, e) for g, e in ((got.real, re), (got.imag, im))):
                    s["special"] += 1
                continue
            errs = []
            for g, e in ((got.real, re), (got.imag, im)):
                if e == 0:
                    if g != 0:
                        s["zeros"] += 1
                    continue
                errs.append(float(abs(mpf(g) - e) / ulp(e)) if math.isfinite(g) else math.inf)
            comp = max(errs, default=0.0)
            scale = max(abs(re), abs(im))
            norm = float(abs(mpc(got.real, got.imag) - exact) / ulp(scale)) if scale else 0.0
            if not (math.isfinite(got.real) and math.isfinite(got.imag)):
                norm = math.inf
            if norm > s["norm"]:
                s["worst"] = complex(x)
            s["comp"] = max(s["comp"], comp)
            s["norm"] = max(s["norm"], norm)
    return stats


def on_the_cuts(name):
    """Points with a signed zero part; numjit's results against NumPy's, bit for bit."""
    parts = [0.0, 0.5, 1.0, 1.5, 2.0, 1e-300, 1e300, math.inf]
    z = []
    for x in parts:
        for sx in (1.0, -1.0):
            for sz in (1.0, -1.0):
                z.append(complex(sx * x, sz * 0.0))
                z.append(complex(sz * 0.0, sx * x))
    z = np.array(z)
    with np.errstate(all="ignore"):
        ours = numjit.evaluate(f"{name}(z)", {"z": z})
        theirs = FUNCTIONS[name][0](z)
    same = lambda a, b: (a == b and math.copysign(1, a) == math.copysign(1, b)) or (
        math.isnan(a) and math.isnan(b)
    )
    bad = [
        (complex(x), complex(o), complex(t))
        for x, o, t in zip(z, ours, theirs)
        if not (same(o.real, t.real) and same(o.imag, t.imag))
    ]
    return len(z), bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=8000, help="points per function")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--output", help="write the markdown table here too")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    sets = points(args.points, rng)
    cpu = next(
        (l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
        platform.processor(),
    )
    lines = [
        f"Complex128 functions against mpmath (256 bits and more): {args.points} points per function "
        f"(seed {args.seed}; sets {', '.join(sets)}), CPU {cpu}, numjit "
        f"{numjit.__version__ if hasattr(numjit, '__version__') else ''}, NumPy {np.__version__}.",
        "",
        "| function | numjit max ulp (normwise) | numjit max ulp (componentwise) | NumPy normwise | NumPy componentwise | zero parts wrong (numjit / NumPy) | special values differing from the exact (numjit / NumPy) | signed-zero cut points equal to NumPy | points equal to NumPy |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    started = time.time()
    worst_all = 0.0
    for name in FUNCTIONS:
        z = np.concatenate(list(sets.values()))
        with np.errstate(all="ignore"):
            ours = numjit.evaluate(f"{name}(z)", {"z": z})
            theirs = FUNCTIONS[name][0](z)
        s = measure(name, z, ours, theirs)
        n_cut, bad = on_the_cuts(name)
        o, t = s["numjit"], s["numpy"]
        worst_all = max(worst_all, o["norm"])
        lines.append(
            f"| {name} | {o['norm']:.3g} | {o['comp']:.3g} | {t['norm']:.3g} | {t['comp']:.3g} "
            f"| {o['zeros']} / {t['zeros']} | {o['special']} / {t['special']} "
            f"| {n_cut - len(bad)}/{n_cut} | {s['equal']}/{len(z)} |"
        )
        print(lines[-1], f"(numjit's worst at {o['worst']})", file=sys.stderr)
        for x, ov, tv in bad[:4]:
            print(f"   {name}({x}): numjit {ov}, NumPy {tv}", file=sys.stderr)
    lines.append("")
    lines.append(f"Worst normwise error of numjit over all functions: {worst_all:.3g} ulp "
                 f"({time.time() - started:.0f} s).")
    text = "\n".join(lines)
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
