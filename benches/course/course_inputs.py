"""Inputs of the course problems, shared by the Python peers (see README.md)."""

import math

import numpy as np

# Input formula u_k(i) = frac(i * G_k), reproducible bit for bit in C and Rust.
G1, G2, G3 = 0.6180339887498949, 0.7548776662466927, 0.5698402909980532

DEFAULT_SIZES = {
    "P1": 10**8, "P2": 10**7, "P3": 10**6, "P4": 1024, "P5": 13410, "P6": 4096,
    "P7": 300, "P8": 10**8, "P9": 10**8, "P10": 4000, "P11-axis0": 10000,
    "P11-axis1": 10000, "P12": 1000, "P13": 10**7, "P14-copy": 10**8, "P14-triad": 10**8,
}
# A size small enough that the warm-up on it costs nothing but JIT compilation.
TINY_SIZE = 4
P7_NLAT, P7_NLON = 250, 400
P5_X1, P5_X2 = -10.0, 10.0


def golden(n, g):
    """(i * g) % 1.0 for i < n.

    For x >= 0, x - floor(x) is exact and equals x % 1.0; it is just faster.
    Built in place, chunk by chunk, so that generating the input takes no more
    memory than the input: the peak-memory column must show the kernel's own.
    """
    x = np.arange(n, dtype=np.float64)
    x *= g
    for lo in range(0, n, 1 << 20):
        part = x[lo:lo + (1 << 20)]
        part -= np.floor(part)
    return x


def p5_initial():
    """The course's 2-D diffusion setup (COURSE.md, P5): density grid and coefficient."""
    nrows = int((P5_X2 - P5_X1) / 0.0667)
    dx = (P5_X2 - P5_X1) / nrows
    dt = 0.25 * dx**2 / 1.0
    x = P5_X1 + np.arange(nrows) * (P5_X2 - P5_X1) / nrows
    f = 1 - np.abs(1 - 4 * np.abs((x - (P5_X1 + P5_X2) / 2) / (P5_X2 - P5_X1)))
    dens = np.zeros((nrows + 2, nrows + 2))
    dens[1:-1, 1:-1] = f[:, None] * f[None, :]
    return dens, (1.0 / dx**2) * dt


def make_inputs(problem, size):
    """The inputs of README.md's formulas, identical for every tool."""
    if problem in ("P1", "P2", "P14-copy"):
        return {"a": golden(size, G1)}
    if problem in ("P3", "P13", "P14-triad"):
        return {"a": golden(size, G1), "b": golden(size, G2), "s": 3.0}
    if problem == "P4":
        shape = (size, 1024, 50)
        return {"a": golden(math.prod(shape), G1).reshape(shape),
                "b": golden(math.prod(shape), G2).reshape(shape)}
    if problem == "P5":
        dens0, coef = p5_initial()
        return {"dens0": dens0, "coef": coef, "nsteps": size}
    if problem == "P6" or problem.startswith("P11"):
        return {"a": golden(size * size, G1).reshape(size, size)}
    if problem == "P7":
        shape = (P7_NLAT, size, P7_NLON)
        n = math.prod(shape)
        return {"vlat": golden(n, G1).reshape(shape), "vlon": golden(n, G2).reshape(shape),
                "vrad": golden(n, G3).reshape(shape),
                "lat": np.linspace(-90, 90, P7_NLAT), "lon": np.linspace(0, 360, P7_NLON)}
    if problem in ("P8", "P9"):
        return {"n": size}
    if problem == "P10":
        return {"X": golden(3 * size, G1).reshape(size, 3)}
    if problem == "P12":
        return {"x": np.linspace(-2, 1, 3 * size // 2), "y": np.linspace(-1, 1, size)}
    raise KeyError(problem)


def output_like(shape, n_outputs=1):
    """Preallocated, already touched outputs for the 'out' variants."""
    outs = tuple(np.zeros(shape) for _ in range(n_outputs))
    return outs[0] if n_outputs == 1 else outs


def p7_trig(lat, lon):
    """sin/cos of latitude (broadcast as (nlat,1,1)) and longitude ((nlon,))."""
    rlat, rlon = np.radians(lat)[:, None, None], np.radians(lon)
    return np.sin(rlat), np.cos(rlat), np.sin(rlon), np.cos(rlon)


def axis_of(problem):
    return 0 if problem == "P11-axis0" else 1


def registry(tool):
    """A tool's kernel table and the decorator filling it.

    Each factory takes the inputs and returns a zero-argument callable that does
    one timed call and returns its output(s).
    """
    kernels = {}

    def kernel(problem, variant):
        def register(factory):
            kernels[tool, problem, variant] = factory
            return factory
        return register
    return kernels, kernel
