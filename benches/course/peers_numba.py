"""Numba kernels of the course problems, loaded by peers_py.py for --tool numba.

Every kernel is @njit(parallel=True, fastmath=False) with prange, writing
into outputs it is given; the 'alloc' variant hands it fresh arrays each call,
the 'out' variant preallocated ones. cache=True (NUMBA_CACHE_DIR is set by the
runner) keeps the compile out of the many short-lived worker processes.
"""

import math

import numba
import numpy as np
from numba import njit, prange

from course_inputs import registry

jit = njit(parallel=True, fastmath=False, cache=True)


# ------------------------------------------------------------ elementwise

@jit
def p1(a, out):
    for i in prange(a.size):
        out[i] = math.sin(2 * math.pi * a[i])**2 + math.cos(2 * math.pi * a[i])**2


@jit
def p2(x, out):
    for i in prange(x.size):
        out[i] = ((.25 * x[i] + .75) * x[i] - 1.5) * x[i] - 2


@jit
def p3(a, b, out):
    for i in prange(a.size):
        out[i] = a[i]**2 + b[i]**2 + 2 * a[i] * b[i]


@jit
def p4(a, b, out):
    for i in prange(a.size):
        out[i] = (2.0 * a[i] - 4.5 * b[i]) + (math.sin(a[i]) + math.cos(b[i]))


@jit
def p13(x, y, out):
    for i in prange(x.size):
        out[i] = x[i]**3 + 4 * math.sin(y[i])


@jit
def p14_copy(a, out):
    for i in prange(a.size):
        out[i] = a[i]


@jit
def p14_triad(a, b, s, out):
    for i in prange(a.size):
        out[i] = a[i] + s * b[i]


# --------------------------------------------------------------- stencils

@jit
def p5(dens0, coef, nsteps, out, scratch):
    """nsteps diffusion steps from dens0; the result ends in out."""
    cur, nxt = out, scratch
    cur[:, :] = dens0
    nxt[:, :] = 0.0
    n = dens0.shape[0]
    for _ in range(nsteps):
        for i in prange(1, n - 1):
            for j in range(1, n - 1):
                lapl = cur[i + 1, j] + cur[i - 1, j] + cur[i, j + 1] + cur[i, j - 1] - 4 * cur[i, j]
                nxt[i, j] = cur[i, j] + coef * lapl
        cur, nxt = nxt, cur
    if nsteps % 2 == 1:
        out[:, :] = cur


@jit
def p6(u, unew):
    n, m = u.shape
    for i in prange(1, n - 1):
        for j in range(1, m - 1):
            unew[i, j] = 0.25 * (u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1])


@jit
def p7(vlat, vlon, vrad, lat, lon, vx, vy, vz):
    nlat, nr, nlon = vlat.shape
    sinlon, coslon = np.sin(np.radians(lon)), np.cos(np.radians(lon))
    for i in prange(nlat):
        sinlat, coslat = math.sin(math.radians(lat[i])), math.cos(math.radians(lat[i]))
        for k in range(nr):
            for j in range(nlon):
                vx[i, k, j] = (-sinlon[j] * vlon[i, k, j] - sinlat * coslon[j] * vlat[i, k, j]
                               + coslat * coslon[j] * vrad[i, k, j])
                vy[i, k, j] = (coslon[j] * vlon[i, k, j] - sinlat * sinlon[j] * vlat[i, k, j]
                               + coslat * sinlon[j] * vrad[i, k, j])
                vz[i, k, j] = coslat * vlat[i, k, j] + sinlat * vrad[i, k, j]


# ------------------------------------------------------------- reductions

@njit(cache=True)
def has_digit_9(k):
    while k > 0:
        if k % 10 == 9:
            return True
        k //= 10
    return False


@jit
def p8(n):
    s = 0.0
    for k in prange(1, n + 1):
        if not has_digit_9(k):
            s += 1.0 / k
    return s


@jit
def p9(n):
    dx = 3.0 / n
    s = 0.0
    for i in prange(n):
        x = i * dx
        s += (0.7 * x**3 - 2 * x**2 + 4) * dx
    return s


@jit
def p11_axis0(c, nband, out):
    """Contiguous bands of rows into per-thread accumulator rows: no strided reads."""
    nrow, ncol = c.shape
    acc = np.zeros((nband, ncol))
    for t in prange(nband):
        for i in range(t * nrow // nband, (t + 1) * nrow // nband):
            for j in range(ncol):
                acc[t, j] += c[i, j]
    for j in range(ncol):
        s = 0.0
        for t in range(nband):
            s += acc[t, j]
        out[j] = s


@jit
def p11_axis1(c, out):
    """Four partial sums per row: one running sum is bound by the add's latency."""
    ncol = c.shape[1]
    for i in prange(c.shape[0]):
        s0 = s1 = s2 = s3 = 0.0
        for j in range(0, ncol - 3, 4):
            s0 += c[i, j]
            s1 += c[i, j + 1]
            s2 += c[i, j + 2]
            s3 += c[i, j + 3]
        s = (s0 + s1) + (s2 + s3)
        for j in range(ncol - ncol % 4, ncol):
            s += c[i, j]
        out[i] = s


# ---------------------------------------------------------- P10 and P12

@jit
def p10(X, D):
    m = X.shape[0]
    for i in prange(m):
        for j in range(m):
            d0, d1, d2 = X[i, 0] - X[j, 0], X[i, 1] - X[j, 1], X[i, 2] - X[j, 2]
            D[i, j] = math.sqrt(d0 * d0 + d1 * d1 + d2 * d2)


@njit(cache=True)
def escape_index(cr, ci):
    zr = zi = 0.0
    for k in range(20):
        zr, zi = zr * zr - zi * zi + cr, 2 * zr * zi + ci
        if zr * zr + zi * zi >= 4:
            return k
    return 255


@jit
def p12(x, y, img):
    for i in prange(y.size):
        for j in range(x.size):
            img[i, j] = escape_index(x[j], y[i])


# --------------------------------------------------------------- registry

def flat(d, *keys):
    return tuple(d[k].reshape(-1) for k in keys)


def zeros_like_a(d):
    return (np.zeros(d["a"].shape),)


# problem -> (kernel, its input arguments, fresh zeroed outputs for it)
ARRAY_PROBLEMS = {
    "P1": (p1, lambda d: flat(d, "a"), zeros_like_a),
    "P2": (p2, lambda d: flat(d, "a"), zeros_like_a),
    "P3": (p3, lambda d: flat(d, "a", "b"), zeros_like_a),
    "P4": (p4, lambda d: flat(d, "a", "b"), lambda d: (np.zeros(d["a"].size),)),
    "P13": (p13, lambda d: flat(d, "a", "b"), zeros_like_a),
    "P14-copy": (p14_copy, lambda d: flat(d, "a"), zeros_like_a),
    "P14-triad": (p14_triad, lambda d: (*flat(d, "a", "b"), d["s"]), zeros_like_a),
    "P6": (p6, lambda d: (d["a"],), zeros_like_a),
    "P7": (p7, lambda d: tuple(d[k] for k in ("vlat", "vlon", "vrad", "lat", "lon")),
           lambda d: tuple(np.zeros(d["vlat"].shape) for _ in range(3))),
    "P10": (p10, lambda d: (d["X"],), lambda d: (np.zeros((len(d["X"]),) * 2),)),
    "P11-axis0": (p11_axis0, lambda d: (d["a"], numba.get_num_threads()), lambda d: (np.zeros(d["a"].shape[1]),)),
    "P11-axis1": (p11_axis1, lambda d: (d["a"],), lambda d: (np.zeros(d["a"].shape[0]),)),
    "P12": (p12, lambda d: (d["x"], d["y"]),
            lambda d: (np.zeros((d["y"].size, d["x"].size), dtype=np.uint8),)),
}


def result(outs):
    return outs[0] if len(outs) == 1 else outs


def alloc_factory(fn, args_of, outputs_of):
    def factory(d):
        args = args_of(d)

        def run():
            outs = outputs_of(d)
            fn(*args, *outs)
            return result(outs)
        return run
    return factory


def out_factory(fn, args_of, outputs_of):
    def factory(d):
        args, outs = args_of(d), outputs_of(d)

        def run():
            fn(*args, *outs)
            return result(outs)
        return run
    return factory


def p5_factory(d):
    out, scratch = np.zeros_like(d["dens0"]), np.zeros_like(d["dens0"])

    def run():
        p5(d["dens0"], d["coef"], d["nsteps"], out, scratch)
        return out
    return run


KERNELS, kernel = registry("numba")
kernel("P5", "out")(p5_factory)
kernel("P8", "reduce")(lambda d: lambda: p8(d["n"]))
kernel("P9", "reduce")(lambda d: lambda: p9(d["n"]))
for _problem, _spec in ARRAY_PROBLEMS.items():
    kernel(_problem, "alloc")(alloc_factory(*_spec))
    kernel(_problem, "out")(out_factory(*_spec))
