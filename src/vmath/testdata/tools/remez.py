"""Minimax polynomial fitting (Remez exchange) with mpmath, used for numjit vmath's kernels.

fit(f, basis, a, b, w) returns coefficients c (rounded to double) minimizing
max_{x in [a,b]} |w(x)·(f(x) - sum_j c_j·basis_j(x))|, plus the achieved max error (after
rounding the coefficients to double). Usage examples at the bottom (python3 remez.py NAME).
"""
import sys
from mpmath import mp, mpf, matrix, lu_solve, cos, pi, exp, log, atan, asin, sqrt, sinh, tanh, expm1, log1p, atanh

mp.prec = 160


def _err(f, basis, w, c, x):
    return w(x) * (f(x) - sum(cj * bj(x) for cj, bj in zip(c, basis)))


def fit(f, basis, a, b, w=lambda x: 1, iters=40, grid=6000):
    a, b = mpf(a), mpf(b)
    n = len(basis)
    # Chebyshev extrema as the first reference.
    ref = [(a + b) / 2 - (b - a) / 2 * cos(pi * i / n) for i in range(n + 1)]
    xs = [(a + b) / 2 - (b - a) / 2 * cos(pi * i / grid) for i in range(grid + 1)]
    best = None
    for _ in range(iters):
        M = matrix(n + 1, n + 1)
        rhs = matrix(n + 1, 1)
        for i, x in enumerate(ref):
            for j in range(n):
                M[i, j] = basis[j](x)
            M[i, n] = (-1) ** i / w(x)
            rhs[i] = f(x)
        sol = lu_solve(M, rhs)
        c = [sol[j] for j in range(n)]
        E = abs(sol[n])
        errs = [_err(f, basis, w, c, x) for x in xs]
        # Pick alternating extrema: split the grid into runs of constant sign, take each run's max.
        runs = []
        cur = [0]
        for i in range(1, len(xs)):
            if (errs[i] >= 0) == (errs[cur[0]] >= 0):
                cur.append(i)
            else:
                runs.append(cur)
                cur = [i]
        runs.append(cur)
        ext = [max(r, key=lambda i: abs(errs[i])) for r in runs]
        while len(ext) > n + 1:
            # Drop the smallest end or merge: remove the extremum with the smallest |err| at an end.
            if abs(errs[ext[0]]) < abs(errs[ext[-1]]):
                ext.pop(0)
            else:
                ext.pop()
        m = max(abs(e) for e in errs)
        best = (c, m)
        if len(ext) < n + 1:
            break
        ref = [xs[i] for i in ext]
        if m - E < E * mpf("1e-6"):
            break
    c, m = best
    cd = [float(v) for v in c]
    md = max(abs(_err(f, basis, w, [mpf(v) for v in cd], x)) for x in xs)
    return cd, float(md)


def show(name, cd, md):
    print(f"// {name}: max weighted error {md:.3e} (2^{float(log(md, 2)) if md > 0 else -999:.1f})")
    for v in cd:
        print(f"    {v!r},")


if __name__ == "__main__":
    which = sys.argv[1]
    ln2 = log(2)
    if which == "exp":
        # exp(r) = 1 + r + r^2·P(r), |r| <= ln2/2; P fitted relative to exp(r) (absolute error of
        # r^2·P counts against exp(r) >= 0.7).
        deg = int(sys.argv[2]) if len(sys.argv) > 2 else 10
        f = lambda r: exp(r) - 1 - r
        basis = [(lambda k: (lambda r: r**(k + 2)))(k) for k in range(deg + 1)]
        h = ln2 / 2 + mpf("1e-6")
        cd, md = fit(f, basis, -h, h, w=lambda r: 1 / exp(r))
        show("exp", cd, md)
    elif which == "log":
        # log(1+f) = 2·atanh(s), s = f/(2+f); 2atanh(s) = 2s + s^3·R(s^2), fitted relative.
        deg = int(sys.argv[2]) if len(sys.argv) > 2 else 7
        sm = (sqrt(2) - 1) / (sqrt(2) + 1) + mpf("1e-6")
        # in s: 2atanh(s) - 2s = sum c_k s^(2k+3); error relative to 2atanh(s)
        f = lambda s: 2 * atanh(s) - 2 * s
        basis = [(lambda k: (lambda s: s**(2 * k + 3)))(k) for k in range(deg + 1)]
        cd, md = fit(f, basis, mpf("1e-9"), sm, w=lambda s: 1 / (2 * atanh(s)))
        show("log R(z)", cd, md)
    if which == "logdd":
        # log1p(f) = 2s + (2/3)s^3 + s^5·Q(s^2): fit Q relative to 2·atanh(s).
        deg = int(sys.argv[2]) if len(sys.argv) > 2 else 8
        sm = (sqrt(2) - 1) / (sqrt(2) + 1) + mpf("1e-6")
        f = lambda s: 2 * atanh(s) - 2 * s - 2 * s**3 / 3
        basis = [(lambda k: (lambda s: s**(2 * k + 5)))(k) for k in range(deg + 1)]
        cd, md = fit(f, basis, mpf("1e-6"), sm, w=lambda s: 1 / (2 * atanh(s)))
        show("log dd Q(z)", cd, md)
    if which == "asin":
        # asin(x) = x + x^3·R(x^2) on [0, 1/2], fitted relative to asin(x).
        deg = int(sys.argv[2]) if len(sys.argv) > 2 else 10
        f = lambda x: asin(x) - x
        basis = [(lambda k: (lambda x: x**(2 * k + 3)))(k) for k in range(deg + 1)]
        cd, md = fit(f, basis, mpf("1e-6"), mpf("0.5000001"), w=lambda x: 1 / asin(x))
        show("asin R(z)", cd, md)
