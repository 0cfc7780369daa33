"""NumExpr kernels of the course problems, loaded by peers_py.py for --tool numexpr."""

import numexpr as ne
import numpy as np

from course_inputs import axis_of, output_like, p7_trig, registry

KERNELS, kernel = registry("numexpr")


def ne_elementwise(problem, expr, names, out_shape=lambda d: d["a"].shape):
    """Register the alloc and out variants of a one-expression NumExpr kernel.

    names maps the expression's names to input keys or to constants.
    """
    def local(d):
        return {k: (d[v] if isinstance(v, str) else v) for k, v in names.items()}

    kernel(problem, "alloc")(lambda d: lambda: ne.evaluate(expr, local_dict=local(d)))

    @kernel(problem, "out")
    def with_out(d):
        out = output_like(out_shape(d))
        return lambda: ne.evaluate(expr, local_dict=local(d), out=out)


ne_elementwise("P1", "sin(2*pi*a)**2 + cos(2*pi*a)**2", {"a": "a", "pi": np.pi})
ne_elementwise("P2", "((.25*a + .75)*a - 1.5)*a - 2", {"a": "a"})
ne_elementwise("P3", "a**2 + b**2 + 2*a*b", {"a": "a", "b": "b"})
ne_elementwise("P4", "(2.0*a - 4.5*b) + (sin(a) + cos(b))", {"a": "a", "b": "b"})
ne_elementwise("P13", "a**3 + 4*sin(b)", {"a": "a", "b": "b"})
ne_elementwise("P14-copy", "a", {"a": "a"})
ne_elementwise("P14-triad", "a + s*b", {"a": "a", "b": "b", "s": 3.0})
for _p in ("P11-axis0", "P11-axis1"):
    ne_elementwise(_p, f"sum(a, axis={axis_of(_p)})", {"a": "a"}, lambda d: d["a"].shape[0])


@kernel("P5", "out")
def ne_p5(d):
    dens0, coef, nsteps = d["dens0"], d["coef"], d["nsteps"]
    expr = "c + coef*(n + s + e + w - 4*c)"

    def run():
        # NumExpr cannot slice: the views are handed in from Python.
        dens, densnext = dens0.copy(), np.zeros_like(dens0)
        for _ in range(nsteps):
            ne.evaluate(expr, local_dict={
                "n": dens[2:, 1:-1], "s": dens[:-2, 1:-1], "e": dens[1:-1, 2:],
                "w": dens[1:-1, :-2], "c": dens[1:-1, 1:-1], "coef": coef},
                out=densnext[1:-1, 1:-1])
            dens, densnext = densnext, dens
        return dens
    return run


def p6_views(u):
    return {"n": u[:-2, 1:-1], "s": u[2:, 1:-1], "w": u[1:-1, :-2], "e": u[1:-1, 2:]}


@kernel("P6", "alloc")
def ne_p6(d):
    return lambda: ne.evaluate("0.25*(n + s + w + e)", local_dict=p6_views(d["a"]))


@kernel("P6", "out")
def ne_p6_out(d):
    unew = output_like(d["a"].shape)

    def run():
        ne.evaluate("0.25*(n + s + w + e)", local_dict=p6_views(d["a"]), out=unew[1:-1, 1:-1])
        return unew
    return run


P7_EXPRS = ("-sinlon*vlon - sinlat*coslon*vlat + coslat*coslon*vrad",
            "coslon*vlon - sinlat*sinlon*vlat + coslat*sinlon*vrad",
            "coslat*vlat + sinlat*vrad")


def ne_p7_run(d, outs):
    sinlat, coslat, sinlon, coslon = p7_trig(d["lat"], d["lon"])
    names = {"vlat": d["vlat"], "vlon": d["vlon"], "vrad": d["vrad"], "sinlat": sinlat,
             "coslat": coslat, "sinlon": sinlon, "coslon": coslon}
    return tuple(ne.evaluate(e, local_dict=names, out=o) for e, o in zip(P7_EXPRS, outs))


@kernel("P7", "alloc")
def ne_p7(d):
    return lambda: ne_p7_run(d, (None, None, None))


@kernel("P7", "out")
def ne_p7_out(d):
    outs = output_like(d["vlat"].shape, 3)
    return lambda: ne_p7_run(d, outs)


@kernel("P9", "reduce")
def ne_p9(d):
    n = d["n"]
    dx = 3.0 / n

    def run():
        x = np.arange(n) * dx  # NumExpr needs x materialized
        return ne.evaluate("sum((0.7*x**3 - 2*x**2 + 4)*dx)", local_dict={"x": x, "dx": dx})[()]
    return run


def ne_p10_run(X, out):
    # Per-coordinate broadcasting (M,1) against (M,): NumExpr's threads do the M^2 work.
    names = {f"x{k}": X[:, k:k + 1] for k in range(3)}
    names.update({f"y{k}": X[:, k] for k in range(3)})
    return ne.evaluate("sqrt((x0-y0)**2 + (x1-y1)**2 + (x2-y2)**2)", local_dict=names, out=out)


@kernel("P10", "alloc")
def ne_p10(d):
    return lambda: ne_p10_run(d["X"], None)


@kernel("P10", "out")
def ne_p10_out(d):
    out = output_like((len(d["X"]),) * 2)
    return lambda: ne_p10_run(d["X"], out)
