"""NumPy kernels of the course problems, loaded by peers_py.py for --tool numpy."""

import numpy as np

from course_inputs import axis_of, output_like, p7_trig, registry

KERNELS, kernel = registry("numpy")


@kernel("P1", "alloc")
def np_p1(d):
    a = d["a"]
    return lambda: np.sin(2 * np.pi * a)**2 + np.cos(2 * np.pi * a)**2


@kernel("P2", "alloc")
def np_p2(d):
    x = d["a"]
    return lambda: ((.25 * x + .75) * x - 1.5) * x - 2


@kernel("P2", "out")
def np_p2_out(d):
    x, y = d["a"], output_like(d["a"].shape)

    def run():
        # Same operation order as the expression, without temporaries.
        np.multiply(x, .25, out=y)
        np.add(y, .75, out=y)
        np.multiply(y, x, out=y)
        np.subtract(y, 1.5, out=y)
        np.multiply(y, x, out=y)
        np.subtract(y, 2, out=y)
        return y
    return run


@kernel("P3", "alloc")
def np_p3(d):
    a, b = d["a"], d["b"]
    return lambda: a**2 + b**2 + 2 * a * b


@kernel("P4", "alloc")
def np_p4(d):
    a, b = d["a"], d["b"]
    return lambda: (2.0 * a - 4.5 * b) + (np.sin(a) + np.cos(b))


@kernel("P5", "alloc")
def np_p5(d):
    dens0, coef, nsteps = d["dens0"], d["coef"], d["nsteps"]

    def run():
        # The course's code: slices allocate the Laplacian's temporaries each step.
        dens, densnext = dens0.copy(), np.zeros_like(dens0)
        for _ in range(nsteps):
            lapl = (dens[2:, 1:-1] + dens[:-2, 1:-1] + dens[1:-1, 2:] + dens[1:-1, :-2]
                    - 4 * dens[1:-1, 1:-1])
            densnext[1:-1, 1:-1] = dens[1:-1, 1:-1] + coef * lapl
            dens, densnext = densnext, dens
        return dens
    return run


@kernel("P6", "alloc")
def np_p6(d):
    u = d["a"]
    return lambda: 0.25 * (u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:])


@kernel("P6", "out")
def np_p6_out(d):
    u, unew = d["a"], output_like(d["a"].shape)
    inner = unew[1:-1, 1:-1]

    def run():
        np.add(u[:-2, 1:-1], u[2:, 1:-1], out=inner)
        np.add(inner, u[1:-1, :-2], out=inner)
        np.add(inner, u[1:-1, 2:], out=inner)
        np.multiply(inner, 0.25, out=inner)
        return unew
    return run


@kernel("P7", "alloc")
def np_p7(d):
    vlat, vlon, vrad = d["vlat"], d["vlon"], d["vrad"]

    def run():
        sinlat, coslat, sinlon, coslon = p7_trig(d["lat"], d["lon"])
        vx = -sinlon * vlon - sinlat * coslon * vlat + coslat * coslon * vrad
        vy = coslon * vlon - sinlat * sinlon * vlat + coslat * sinlon * vrad
        vz = coslat * vlat + sinlat * vrad
        return vx, vy, vz
    return run


@kernel("P8", "reduce")
def np_p8(d):
    n, chunk = d["n"], 1 << 20

    def run():
        # Digit test on whole chunks: one k % 10 pass per decimal digit.
        total = 0.0
        for lo in range(1, n + 1, chunk):
            k = np.arange(lo, min(lo + chunk, n + 1), dtype=np.int64)
            keep = np.ones(k.size, dtype=bool)
            rest = k.copy()
            while rest.any():
                keep &= rest % 10 != 9
                rest //= 10
            total += np.sum(1.0 / k[keep])
        return total
    return run


@kernel("P9", "reduce")
def np_p9(d):
    n = d["n"]
    dx = 3.0 / n

    def run():
        x = np.arange(n) * dx
        return np.sum((0.7 * x**3 - 2 * x**2 + 4) * dx)
    return run


@kernel("P10", "alloc")
def np_p10(d):
    X = d["X"]
    return lambda: np.sqrt(np.sum((X[:, None, :] - X[None, :, :])**2, axis=-1))


def np_axis_sum(problem):
    axis = axis_of(problem)
    kernel(problem, "alloc")(lambda d: lambda: d["a"].sum(axis=axis))

    @kernel(problem, "out")
    def with_out(d):
        out = output_like(d["a"].shape[0])
        return lambda: d["a"].sum(axis=axis, out=out)


np_axis_sum("P11-axis0")
np_axis_sum("P11-axis1")


@kernel("P12", "alloc")
def np_p12(d):
    x, y = d["x"], d["y"]

    def run():
        # The masked version: iterate only the pixels that have not escaped.
        c = x[None, :] + 1j * y[:, None]
        z = np.zeros_like(c)
        img = np.full(c.shape, 255, dtype=np.uint8)
        active = np.ones(c.shape, dtype=bool)
        for k in range(20):
            z[active] = z[active]**2 + c[active]
            escaped = active & (z.real**2 + z.imag**2 >= 4)
            img[escaped] = k
            active &= ~escaped
        return img
    return run


@kernel("P13", "alloc")
def np_p13(d):
    x, y = d["a"], d["b"]
    return lambda: x**3 + 4 * np.sin(y)


@kernel("P14-copy", "alloc")
def np_copy(d):
    return d["a"].copy


@kernel("P14-copy", "out")
def np_copy_out(d):
    a, c = d["a"], output_like(d["a"].shape)

    def run():
        np.copyto(c, a)
        return c
    return run


@kernel("P14-triad", "alloc")
def np_triad(d):
    a, b, s = d["a"], d["b"], d["s"]
    return lambda: a + s * b


@kernel("P14-triad", "out")
def np_triad_out(d):
    a, b, s, c = d["a"], d["b"], d["s"], output_like(d["a"].shape)

    def run():
        np.multiply(b, s, out=c)
        np.add(c, a, out=c)
        return c
    return run
