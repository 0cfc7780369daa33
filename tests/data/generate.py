#!/usr/bin/env python3
"""Generates numjit's data-driven test corpus, tests/data/*.toml, from the case definitions below.

    python tests/data/generate.py              # rewrite every TOML file (deterministic)
    python tests/data/generate.py --check      # generate in memory, fail if a file on disk differs
    python tests/data/generate.py --findings   # print where NumPy itself departs from numjit's stated rules

Needs Python >= 3.11 and NumPy 2.4 (the project's venv: /work/venv/bin/python).

Every expected value comes from NumPy, never from numjit: each case's expression is parsed with
Python's `ast` (numjit uses Python's operator precedence) and evaluated node by node with NumPy
ufuncs and reductions, with Python scalars for literals so that NEP 50 "weak scalar" promotion
applies. Along the way the generator checks numjit's stated type rules independently:

* the dtype NumPy returns must equal the dtype numjit's rules give, except for the documented
  numjit deviations (float functions of bool, bool // % ** bool, round(bool), integer ** negative
  array values, linspace of a float32 scalar); a case that hits a deviation must say `dev=True`, and the TOML gets a
  `deviation = "..."` line naming what NumPy does instead;
* an error case must be an error by the rules (kind and span), and NumPy is asked too;
* a case whose meaning the rules leave open (e.g. shifts of bool) is refused (`Unspecified`);
* tolerances are checked: each float result is recomputed with libm (Python's math module) in
  place of NumPy's transcendental functions, and with exact (fsum) and naive sequential
  summation in place of NumPy's pairwise sums; NumPy's answer must lie within half the
  tolerance written into the case, so any correct implementation passes.

Spans of error cases are computed from substrings (`at=`), never counted by hand.
"""

import ast
import math
import os
import re
import sys
import warnings
from functools import reduce
from pathlib import Path

# NumPy picks SIMD code paths (AVX-512 SVML for float64 sin/exp/log/...) by CPU at import time.
# Pin it to the AVX2 level so the last bits of transcendental results do not depend on the
# machine the generator runs on. Must happen before numpy is imported.
os.environ.setdefault("NPY_DISABLE_CPU_FEATURES", "X86_V4 AVX512_ICL AVX512_SPR")

import numpy as np  # noqa: E402

if not np.__version__.startswith("2.4"):
    sys.exit(f"generate.py needs NumPy 2.4 (the oracle numjit follows), found {np.__version__}")

warnings.simplefilter("ignore", RuntimeWarning)

HERE = Path(__file__).resolve().parent

DTYPES = ["bool", "int32", "int64", "float32", "float64"]
COMPLEX = ("complex64", "complex128")
NPDT = {d: np.dtype(d) for d in DTYPES}
INTS = ("int32", "int64")
FLOATS = ("float32", "float64")
I32MIN, I32MAX = -(2**31), 2**31 - 1
I64MIN, I64MAX = -(2**63), 2**63 - 1
nan, inf = math.nan, math.inf


class GenError(Exception):
    """A case definition is wrong (bad expression, NumPy disagrees with a stated rule, ...)."""


class Unspecified(Exception):
    """The stated rules do not say what numjit does here: such a case must not be written."""


class NjError(Exception):
    """The error numjit must report: a kind and a byte span."""

    def __init__(self, kind, span, msg=""):
        super().__init__(f"{kind} at {span}: {msg}")
        self.kind, self.span, self.msg = kind, tuple(span), msg


# Places where NumPy itself departs from the rules numjit states; printed with --findings.
FINDINGS = {}


def finding(key, text):
    FINDINGS.setdefault(key, text)


# ----------------------------------------------------------------------------------------------
# Variables
# ----------------------------------------------------------------------------------------------

_GEN_RE = re.compile(r"^\s*(linspace|arange)\s*\(([^)]*)\)\s*$")


def gen_array(spec):
    m = _GEN_RE.match(spec)
    if not m:
        raise GenError(f"bad gen spec {spec!r}")
    args = [a.strip() for a in m.group(2).split(",")]
    if m.group(1) == "linspace":
        if len(args) != 3:
            raise GenError(f"linspace needs (start, stop, n): {spec!r}")
        return np.linspace(float(args[0]), float(args[1]), int(args[2]), dtype=np.float64)
    if len(args) != 1:
        raise GenError(f"arange needs (n): {spec!r}")
    return np.arange(int(args[0]), dtype=np.int64)


def parse_view(view, ndim):
    parts = [p.strip() for p in view.split(",")]
    if len(parts) != ndim:
        raise GenError(f"view {view!r} must give one slice per axis ({ndim})")
    out = []
    for p in parts:
        fields = p.split(":")
        if not (2 <= len(fields) <= 3):
            raise GenError(f"view component {p!r} must be start:stop[:step]")
        vals = [int(f) if f.strip() else None for f in fields]
        if len(vals) == 3 and vals[2] == 0:
            raise GenError("slice step 0")
        out.append(slice(*vals))
    return tuple(out)


class Var:
    """One input array: literal data (flattened C order) or a `gen` spec, plus view and order."""

    def __init__(self, dtype, data=None, shape=None, view=None, order=None, gen=None):
        if dtype in COMPLEX or (dtype.startswith("S") and dtype[1:].isdigit()):
            NPDT.setdefault(dtype, np.dtype(dtype))
        elif dtype not in DTYPES:
            raise GenError(f"unknown dtype {dtype}")
        self.dtype, self.view, self.order, self.gen = dtype, view, order, gen
        if gen is not None:
            base = gen_array(gen).astype(NPDT[dtype])
            self.gen_shape = list(shape) if shape is not None else None
            if shape is not None:
                base = base.reshape(shape)
        else:
            if isinstance(data, np.ndarray):
                base = data.astype(NPDT[dtype]) if data.dtype != NPDT[dtype] else data.copy()
            else:
                if dtype == "bool":
                    for v in np.ravel(np.array(data, dtype=object)):
                        if not isinstance(v, (bool, np.bool_)):
                            raise GenError(f"bool data must be True/False, got {v!r}")
                base = np.array(data, dtype=NPDT[dtype])
            if shape is not None:
                base = base.reshape(shape)
        if order not in (None, "F"):
            raise GenError("order must be None or 'F'")
        # (np.ascontiguousarray would turn a 0-d array into shape (1,))
        self.logical = np.array(base, order="F" if order == "F" else "C", copy=True)
        assert self.logical.shape == base.shape
        self.value = self.logical[parse_view(view, self.logical.ndim)] if view else self.logical

    def toml_lines(self, name):
        lines = [f"[case.vars.{name}]", f'dtype = "{self.dtype}"']
        if self.gen is not None:
            lines.append(f"gen = {tstr(self.gen)}")
            if self.gen_shape is not None:
                lines.append(f"shape = {list(self.gen_shape)}")
        else:
            lines.append(f"shape = {list(self.logical.shape)}")
            lines.append("data = " + fmt_data(self.logical, self.dtype))
        if self.view:
            lines.append(f"view = {tstr(self.view)}")
        if self.order:
            lines.append(f'order = "{self.order}"')
        return lines


def _mk(dtype):
    def f(data, shape=None, view=None, order=None):
        return Var(dtype, data, shape=shape, view=view, order=order)

    return f


B, I32, I64, F32, F64 = (_mk(d) for d in DTYPES)
MK = {"bool": B, "int32": I32, "int64": I64, "float32": F32, "float64": F64}


def G(gen, dtype="float64", shape=None, view=None):
    return Var(dtype, gen=gen, shape=shape, view=view)


def S(dtype, value):
    """A 0-d array variable."""
    return Var(dtype, value, shape=[])


# ----------------------------------------------------------------------------------------------
# TOML output
# ----------------------------------------------------------------------------------------------


def tstr(s):
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def fmt_float(v):
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    r = repr(v)  # shortest round-trip form; float32 values are written as their exact double
    assert float(r) == v and ("." in r or "e" in r)
    return r


def fmt_scalar(v, dtype):
    if dtype.startswith("S") or dtype.startswith("bytes"):
        # A string element: its bytes as the characters U+0000-U+00FF (`tests/corpus.rs`).
        return tstr(bytes(v).decode("latin-1"))
    if dtype in COMPLEX:
        # A complex element is the pair [re, im] (`tests/corpus.rs` reads the parts in order).
        part = "float32" if dtype == "complex64" else "float64"
        return f"[{fmt_scalar(v.real, part)}, {fmt_scalar(v.imag, part)}]"
    if dtype == "bool":
        return "true" if bool(v) else "false"
    if dtype in INTS:
        return str(int(v))
    return fmt_float(v)


def fmt_data(arr, dtype):
    arr = np.asarray(arr)
    if arr.ndim == 0:
        return fmt_scalar(arr[()], dtype)
    items = [fmt_scalar(v, dtype) for v in arr.ravel(order="C")]
    one = "[" + ", ".join(items) + "]"
    if len(one) <= 100:
        return one
    lines, cur = [], []
    for it in items:
        if cur and len(", ".join(cur + [it])) > 96:
            lines.append("  " + ", ".join(cur) + ",")
            cur = []
        cur.append(it)
    if cur:
        lines.append("  " + ", ".join(cur) + ",")
    return "[\n" + "\n".join(lines) + "\n]"


# ----------------------------------------------------------------------------------------------
# dtype rules (numjit's, written independently of NumPy and compared against it)
# ----------------------------------------------------------------------------------------------

WEAK_KINDS = ["bool", "int", "float"]


def promote_strong(a, b):
    if a == b:
        return a
    if a == "bool":
        return b
    if b == "bool":
        return a
    if a in INTS and b in INTS:
        return "int64"
    if a in FLOATS and b in FLOATS:
        return "float64"
    return "float64"  # int32/int64 with float32 or float64: float64 (NumPy's safe casting)


def promote_weak(d, kind):
    if kind == "bool":
        return d
    if kind == "int":
        return "int64" if d == "bool" else d
    return "float64" if d in ("bool",) + INTS else d


DEFAULT_OF_KIND = {"bool": "bool", "int": "int64", "float": "float64"}


def common(ts):
    """ts: list of ('s', dtype) / ('w', kind). Returns the operands' common dtype name."""
    strong = [d for k, d in ts if k == "s"]
    weak = [d for k, d in ts if k == "w"]
    if not strong:
        return DEFAULT_OF_KIND[max(weak, key=WEAK_KINDS.index)]
    d = reduce(promote_strong, strong)
    for w in weak:
        d = promote_weak(d, w)
    return d


# ----------------------------------------------------------------------------------------------
# The evaluator: numjit expression -> NumPy value, checking the rules on the way
# ----------------------------------------------------------------------------------------------

CONSTANTS = {"pi": math.pi, "e": math.e, "inf": math.inf, "nan": math.nan}

F1 = {
    "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos, "tan": np.tan, "arcsin": np.arcsin,
    "arccos": np.arccos, "arctan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
    "arcsinh": np.arcsinh, "arccosh": np.arccosh, "arctanh": np.arctanh, "exp": np.exp,
    "expm1": np.expm1, "log": np.log, "log10": np.log10, "log2": np.log2, "log1p": np.log1p,
    "radians": np.radians, "degrees": np.degrees,
}
F2 = {"arctan2": np.arctan2, "hypot": np.hypot, "copysign": np.copysign, "nextafter": np.nextafter}
K1 = {"abs": np.abs, "ceil": np.ceil, "floor": np.floor, "trunc": np.trunc, "round": np.round,
      "sign": np.sign, "copy": np.copy, "conj": np.conj, "real": np.real, "imag": np.imag,
      "ones_like": np.ones_like}
P1 = {"isnan": np.isnan, "isfinite": np.isfinite, "isinf": np.isinf, "signbit": np.signbit}
B2 = {"fmod": np.fmod, "maximum": np.maximum, "minimum": np.minimum}
GENERATORS = {"arange": (1, 3), "linspace": (2, 3)}  # name -> (fewest, most) arguments
RED = {"sum": np.sum, "prod": np.prod, "min": np.min, "max": np.max, "mean": np.mean,
       "any": np.any, "all": np.all}
ARITY = {**{k: 1 for k in F1}, **{k: 2 for k in F2}, **{k: 1 for k in K1}, **{k: 1 for k in P1},
         **{k: 2 for k in B2}, "where": 3, **{k: 1 for k in RED}}

# libm stand-ins used by the tolerance check (mode "exact"/"seq")
ALT1 = {
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "arcsin": math.asin, "arccos": math.acos,
    "arctan": math.atan, "sinh": math.sinh, "cosh": math.cosh, "tanh": math.tanh,
    "arcsinh": math.asinh, "arccosh": math.acosh, "arctanh": math.atanh, "exp": math.exp,
    "expm1": math.expm1, "log": math.log, "log10": math.log10, "log2": math.log2,
    "log1p": math.log1p,
}
ALT2 = {"arctan2": math.atan2, "hypot": math.hypot}
TRANSCENDENTAL = set(ALT1) | set(ALT2)

BINOPS = {
    ast.Add: ("add", "+", np.add), ast.Sub: ("sub", "-", np.subtract),
    ast.Mult: ("mul", "*", np.multiply), ast.Div: ("div", "/", np.true_divide),
    ast.FloorDiv: ("floordiv", "//", np.floor_divide), ast.Mod: ("mod", "%", np.remainder),
    ast.Pow: ("pow", "**", np.power), ast.LShift: ("shl", "<<", np.left_shift),
    ast.RShift: ("shr", ">>", np.right_shift), ast.BitAnd: ("and", "&", np.bitwise_and),
    ast.BitXor: ("xor", "^", np.bitwise_xor), ast.BitOr: ("or", "|", np.bitwise_or),
}
CMPOPS = {
    ast.Lt: ("<", np.less), ast.LtE: ("<=", np.less_equal), ast.Eq: ("==", np.equal),
    ast.NotEq: ("!=", np.not_equal), ast.GtE: (">=", np.greater_equal), ast.Gt: (">", np.greater),
}
PYOPS = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "floordiv": lambda a, b: a // b, "mod": lambda a, b: a % b,
    "pow": lambda a, b: a**b, "shl": lambda a, b: a << b, "shr": lambda a, b: a >> b,
    "and": lambda a, b: a & b, "xor": lambda a, b: a ^ b, "or": lambda a, b: a | b,
}


def weak_kind(x):
    return "bool" if isinstance(x, bool) else "int" if isinstance(x, int) else "float"


class Val:
    """An evaluated node: a NumPy array (strong) or a Python scalar (weak, NEP 50)."""

    def __init__(self, x, span, from_func=False):
        self.x, self.span, self.from_func = x, span, from_func

    @property
    def weak(self):
        return not isinstance(self.x, np.ndarray)

    @property
    def t(self):
        return ("w", weak_kind(self.x)) if self.weak else ("s", self.x.dtype.name)

    @property
    def dtype(self):
        return None if self.weak else self.x.dtype.name


def span_of(node):
    return (node.col_offset, node.end_col_offset)


def as_float64(x):
    return x.astype(np.float64) if isinstance(x, np.ndarray) else float(x)


def as_int64(x):
    return x.astype(np.int64) if isinstance(x, np.ndarray) else int(x)


def same_values(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        a, b = a.astype(np.float64), b.astype(np.float64)
        return bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))
    return bool(np.all(a == b))


def alt_map(f, res_dtype, *args):
    """Elementwise libm f over float64 copies of args, rounded to res_dtype; domain/overflow
    exceptions keep NumPy's answer (returned as None entries to be filled by the caller)."""
    arrs = np.broadcast_arrays(*[np.asarray(a, dtype=np.float64) for a in args])
    shape = arrs[0].shape
    flat = [a.ravel() for a in arrs]
    out = np.empty(int(np.prod(shape)), dtype=np.float64)
    ok = np.ones(out.shape, dtype=bool)
    for i in range(out.size):
        try:
            out[i] = f(*(float(a[i]) for a in flat))
        except (ValueError, OverflowError):
            ok[i] = False
    return out.reshape(shape).astype(res_dtype), ok.reshape(shape)


class Ev:
    """Evaluates one expression. mode: 'np' (the oracle), 'exact' or 'seq' (tolerance checks)."""

    def __init__(self, expr, vars, mode="np"):
        self.expr, self.vars, self.mode = expr, vars, mode
        self.devs = []
        self.ulps = 0
        self.has_float_reduction = False

    def dev(self, text):
        if text not in self.devs:
            self.devs.append(text)

    def run(self):
        v = self.run_val()
        if v.weak:
            return np.asarray(v.x, dtype=NPDT[DEFAULT_OF_KIND[weak_kind(v.x)]])
        if v.x.dtype.name not in DTYPES:
            raise GenError(f"{self.expr!r}: result dtype {v.x.dtype} is not a numjit dtype")
        return v.x

    def run_val(self):
        """The expression's value as a Val (weak for an expression of literals only)."""
        try:
            tree = ast.parse(self.expr, mode="eval")
        except SyntaxError as exc:
            raise GenError(f"{self.expr!r} is not a Python expression: {exc}") from None
        return self.ev(tree.body)

    # --- helpers ------------------------------------------------------------------------------

    def expect(self, res, rule, what):
        res = np.asarray(res)
        if res.dtype.name != rule:
            raise GenError(f"{self.expr!r}: NumPy gives {res.dtype} for {what}, the stated rules "
                           f"say {rule}")
        return res

    def type_error(self, span, npfn, what):
        try:
            with np.errstate(all="ignore"):
                r = np.asarray(npfn())
            finding(f"type:{what}", f"NumPy allows {what} (result dtype {r.dtype}); the stated rules "
                                    f"make it a type error")
        except (TypeError, ValueError, OverflowError):
            pass
        raise NjError("type", span, what)

    def check_broadcast(self, span, vals):
        shapes = [v.x.shape for v in vals if not v.weak]
        try:
            np.broadcast_shapes(*shapes)
        except ValueError:
            raise NjError("broadcast", span, f"shapes {shapes}") from None

    def check_fit(self, vals, what, npfn):
        """An int literal that does not fit the (int32) dtype it meets is a type error."""
        strong = [v.dtype for v in vals if not v.weak]
        if not strong or reduce(promote_strong, strong) != "int32":
            return
        for v in vals:
            if v.weak and weak_kind(v.x) == "int" and not (I32MIN <= v.x <= I32MAX):
                try:
                    with np.errstate(all="ignore"):
                        npfn()
                    finding(f"fit:{what}", f"NumPy accepts {what} with an int32 array and an int "
                                           f"literal outside int32 (no OverflowError); the stated "
                                           f"rules make it a type error")
                except OverflowError:
                    pass
                else:
                    raise Unspecified(f"NumPy accepts an out-of-range literal in {what}")
                raise NjError("type", v.span, f"literal {v.x} does not fit int32")

    def check_func_weak(self, vals):
        # A function of literals is a Python-like scalar for numjit but a strong np.float64 for
        # NumPy: refuse cases where that would change the result dtype.
        for v in vals:
            if v.weak and v.from_func:
                strong = [w.dtype for w in vals if not w.weak]
                if strong and any(d in ("bool", "int32", "float32") for d in strong):
                    raise Unspecified("function of literals combined with a narrow array")

    # --- nodes --------------------------------------------------------------------------------

    def ev(self, node):
        if isinstance(node, ast.Constant):
            if type(node.value) not in (int, float, bool):
                raise GenError(f"literal {node.value!r} is not numjit")
            if type(node.value) is int and not (I64MIN <= node.value <= I64MAX):
                raise Unspecified("int literal outside int64")
            return Val(node.value, span_of(node))
        if isinstance(node, ast.Name):
            if node.id in self.vars:
                return Val(self.vars[node.id].value, span_of(node))
            if node.id in CONSTANTS:
                return Val(CONSTANTS[node.id], span_of(node))
            raise NjError("unknown_name", span_of(node), node.id)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node)
        if isinstance(node, ast.BinOp):
            name, sym, uf = BINOPS[type(node.op)] if type(node.op) in BINOPS else (None, None, None)
            if name is None:
                raise GenError(f"operator {type(node.op).__name__} is not numjit")
            return self.binop(node, name, sym, uf, self.ev(node.left), self.ev(node.right))
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise NjError("syntax", span_of(node), "chained comparison")
            sym, uf = CMPOPS[type(node.ops[0])] if type(node.ops[0]) in CMPOPS else (None, None)
            if sym is None:
                raise GenError("comparison operator is not numjit")
            return self.binop(node, "cmp", sym, uf, self.ev(node.left), self.ev(node.comparators[0]))
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Subscript):
            return self.subscript(node)
        raise GenError(f"{type(node).__name__} is not numjit syntax")

    def unary(self, node):
        A = self.ev(node.operand)
        sp = span_of(node)
        op = {ast.USub: "neg", ast.UAdd: "pos", ast.Invert: "invert"}.get(type(node.op))
        if op is None:
            raise GenError("`not` is not numjit")
        if A.weak:
            if isinstance(A.x, bool):
                raise Unspecified("unary operator on a bool literal")
            if op == "invert":
                if isinstance(A.x, float):
                    raise NjError("type", sp, "~ on float literal")
                return Val(~A.x, sp)
            return Val(-A.x if op == "neg" else +A.x, sp, A.from_func)
        x, d = A.x, A.dtype
        if op == "neg":
            if d == "bool":
                self.type_error(sp, lambda: np.negative(x), "-bool")
            uf = np.negative
        elif op == "pos":
            if d == "bool":
                self.type_error(sp, lambda: np.positive(x), "+bool")
            uf = np.positive
        else:
            if d in FLOATS:
                self.type_error(sp, lambda: np.invert(x), f"~{d}")
            uf = np.invert
        with np.errstate(all="ignore"):
            return Val(self.expect(uf(x), d, f"{op} {d}"), sp)

    def lit_binop(self, node, name, sym, uf, A, B):
        """Both operands are Python scalars: Python semantics (must agree with NumPy's)."""
        a, b = A.x, B.x
        sp = span_of(node)
        if name in ("shl", "shr", "and", "or", "xor") and (isinstance(a, float) or isinstance(b, float)):
            raise NjError("type", sp, f"float literal {sym}")
        if name != "cmp" and name not in ("and", "or", "xor") and (isinstance(a, bool) or isinstance(b, bool)):
            raise Unspecified("arithmetic on bool literals (Python gives int, NumPy bool)")
        if name == "pow" and isinstance(a, int) and isinstance(b, int) and b < 0:
            raise Unspecified("int literal ** negative int literal")
        try:
            r = uf(a, b) if name == "cmp" else PYOPS[name](a, b)
        except (ZeroDivisionError, OverflowError, ValueError):
            raise Unspecified(f"Python raises for {a!r} {sym} {b!r}") from None
        if isinstance(r, complex) or (type(r) is int and not (I64MIN <= r <= I64MAX)):
            raise Unspecified("literal arithmetic leaves int64/real")
        if name == "cmp":
            r = bool(r)
        with np.errstate(all="ignore"):
            na = np.asarray(a, NPDT[DEFAULT_OF_KIND[weak_kind(a)]])
            nb = np.asarray(b, NPDT[DEFAULT_OF_KIND[weak_kind(b)]])
            n = uf(na, nb)
        if not same_values(n, r) or np.asarray(n).dtype.name != DEFAULT_OF_KIND[weak_kind(r)]:
            raise Unspecified(f"Python and NumPy disagree on {a!r} {sym} {b!r}")
        return Val(r, sp, A.from_func or B.from_func)

    def binop(self, node, name, sym, uf, A, B):
        if A.weak and B.weak:
            return self.lit_binop(node, name, sym, uf, A, B)
        sp = span_of(node)
        a, b = A.x, B.x
        c = common([A.t, B.t])
        what = f"{A.dtype or weak_kind(a) + ' literal'} {sym} {B.dtype or weak_kind(b) + ' literal'}"
        self.check_func_weak([A, B])
        if name == "sub" and c == "bool":
            self.type_error(sp, lambda: uf(a, b), "bool - bool")
        if name in ("shl", "shr", "and", "or", "xor") and c in FLOATS:
            self.type_error(sp, lambda: uf(a, b), f"{sym} with {c} operands")
        if name in ("shl", "shr") and c == "bool":
            raise Unspecified("shift of bool operands (NumPy: int8)")
        self.check_fit([A, B], f"`{sym}`", lambda: uf(a, b))
        if name == "pow" and c in INTS and B.weak and not isinstance(b, bool) and b < 0:
            try:
                uf(a, b)
                finding("negpow", "NumPy accepts int ** negative literal")
            except ValueError:
                pass
            raise NjError("negative_power", sp, "integer to a negative power")
        self.check_broadcast(sp, [A, B])
        if (name == "pow" and c in FLOATS and B.weak and b == 0.5 and not A.weak
                and np.any((a == -np.inf) | ((a == 0) & np.signbit(a)))):
            finding("pow-half", "NumPy's `x ** 0.5` (scalar exponent) is sqrt(x): (-inf)**0.5 = nan "
                    "and (-0.0)**0.5 = -0.0, while with an array exponent of 0.5 NumPy gives C "
                    "pow()'s inf and +0.0")
            raise Unspecified("** 0.5 of -inf or -0.0 (NumPy is inconsistent)")
        with np.errstate(all="ignore"):
            if name in ("floordiv", "mod", "pow") and c == "bool":
                npres = uf(a, b)
                res = uf(as_int64(a), as_int64(b))
                self.dev(f"bool {sym} bool gives int64 (NumPy 2.4: {np.asarray(npres).dtype})")
                return Val(self.expect(res, "int64", what), sp)
            if name == "pow" and c in INTS and np.any(np.asarray(b) < 0):
                try:
                    uf(a, b)
                    finding("negpow-arr", "NumPy accepts int ** negative array values")
                except ValueError:
                    pass
                self.dev("integer ** negative array values gives 0 (1 for base 1, +-1 for base -1); "
                         "NumPy 2.4 raises ValueError")
                return Val(int_pow_rule(a, b, c), sp)
            res = np.asarray(uf(a, b))
            if name == "cmp":
                rule = "bool"
            elif name == "div":
                rule = c if c in FLOATS else "float64"
            else:
                rule = c
            res = self.expect(res, rule, what)
            if name == "pow" and rule in FLOATS:
                self.ulps = max(self.ulps, 4)
                if self.mode != "np":
                    alt, ok = alt_map(math.pow, res.dtype, a, b)
                    res = np.where(ok, alt, res)
            return Val(res, sp)

    def call(self, node):
        if not isinstance(node.func, ast.Name):
            raise GenError("only plain function names can be called")
        name, sp = node.func.id, span_of(node)
        if name in GENERATORS:
            return self.generator(node, name)
        if name not in ARITY:
            raise NjError("unknown_function", span_of(node.func), name)
        for kw in node.keywords:
            if kw.arg is None:
                raise GenError("**kwargs is not numjit")
            if name not in RED or kw.arg != "axis":
                raise NjError("arity", (kw.col_offset, kw.col_offset + len(kw.arg)), f"keyword {kw.arg}")
        if len(node.args) != ARITY[name]:
            raise NjError("arity", sp, f"{name} takes {ARITY[name]} arguments")
        args = [self.ev(a) for a in node.args]
        if name in RED:
            return self.reduction(node, name, args[0])
        if name == "where":
            return self.where(node, *args)
        self.check_func_weak(args)
        if all(a.weak for a in args):
            return self.lit_call(node, name, args)
        self.check_fit(args, f"{name}()", lambda: (F2 | B2 | K1 | P1 | F1)[name](*[a.x for a in args]))
        self.check_broadcast(sp, args)
        xs = [a.x for a in args]
        c = common([a.t for a in args])
        with np.errstate(all="ignore"):
            if name in F1 or name in F2:
                uf = F1.get(name) or F2.get(name)
                if c == "bool":
                    npres = np.asarray(uf(*xs))
                    res = np.asarray(uf(*[as_float64(x) for x in xs]))
                    self.dev(f"{name} of bool gives float64 (NumPy 2.4: {npres.dtype})")
                    rule = "float64"
                else:
                    res = np.asarray(uf(*xs))
                    rule = c if c in FLOATS else "float64"
                res = self.expect(res, rule, f"{name}({c})")
                if name in TRANSCENDENTAL:
                    self.ulps = max(self.ulps, 4)
                elif name in ("radians", "degrees"):
                    self.ulps = max(self.ulps, 2)
                if self.mode != "np" and name in (ALT1.keys() | ALT2.keys()):
                    alt, ok = alt_map((ALT1 | ALT2)[name], res.dtype, *xs)
                    res = np.where(ok, alt, res)
                return Val(res, sp)
            if name in K1:
                d = c
                if d == "bool" and name == "sign":
                    self.type_error(sp, lambda: np.sign(xs[0]), "sign(bool)")
                if d == "bool" and name in ("round", "conj"):
                    npres = np.asarray(K1[name](xs[0]))
                    self.dev(f"{name} of bool gives bool (NumPy 2.4: {npres.dtype})")
                    return Val(xs[0].copy(), sp)
                return Val(self.expect(K1[name](xs[0]), d, f"{name}({d})"), sp)
            if name in P1:
                return Val(self.expect(P1[name](xs[0]), "bool", f"{name}({c})"), sp)
            if name in B2:
                if name == "fmod" and c == "bool":
                    raise Unspecified("fmod of bool operands (NumPy: int8)")
                return Val(self.expect(B2[name](*xs), c, f"{name}({c})"), sp)
        raise GenError(f"unhandled function {name}")

    def generator(self, node, name):
        """arange / linspace: NumPy's array, with numjit's rules for arguments and errors. An
        argument made of literals is checked when compiling (error at the argument); one that
        depends on a 0-d variable when the inputs are bound (error at the whole call)."""
        sp = span_of(node)
        if node.keywords:
            kw = node.keywords[0]
            raise NjError("arity", (kw.col_offset, kw.col_offset + len(kw.arg)), f"keyword {kw.arg}")
        lo, hi = GENERATORS[name]
        if not lo <= len(node.args) <= hi:
            raise NjError("arity", sp, f"{name} takes {lo} to {hi} arguments")
        args = [self.ev(a) for a in node.args]
        for a, an in zip(args, node.args):
            if not a.weak and a.x.ndim > 0:
                raise NjError("type", span_of(an), f"{name} argument with {a.x.ndim} dimensions")
            if not a.weak and self.reduced(an):
                raise NjError("type", span_of(an), f"{name} argument from a reduction")
        vals = [a.x if a.weak else a.x[()] for a in args]
        kinds = [weak_kind(a.x) if a.weak else a.dtype for a in args]
        at = lambda i: span_of(node.args[i]) if args[i].weak else sp
        with np.errstate(all="ignore"):
            if name == "arange":
                is_int = all(k in ("bool", "int") + INTS for k in kinds)
                if len(vals) == 3 and vals[2] == 0:
                    try:
                        np.arange(*vals)
                        finding("arange0", "NumPy accepts arange with step 0")
                    except (ZeroDivisionError, ValueError):
                        pass
                    raise NjError("value", at(2), "arange step 0")
                if is_int:
                    vals = [int(v) for v in vals]
                else:
                    f = [float(v) for v in vals]
                    start, stop, step = ([0.0] + f + [1.0] if len(f) == 1 else f + [1.0])[:3]
                    q = (stop - start) / step
                    if math.isnan(q):
                        raise NjError("value", sp, "arange: cannot compute length")
                    if q > 2**53:
                        raise NjError("limit", sp, "arange: maximum size exceeded")
                    vals = f
                try:
                    res = np.arange(*vals)
                except ValueError:
                    raise NjError("value", sp, "arange: bad arguments") from None
                return Val(self.expect(res, "int64" if is_int else "float64", f"arange({kinds})"), sp)
            # linspace
            num = 50
            if len(vals) == 3:
                if kinds[2] in FLOATS + ("float",):
                    self.type_error(span_of(node.args[2]), lambda: np.linspace(*vals), "float num")
                num = int(vals[2])
                if num < 0:
                    raise NjError("value", at(2), f"linspace num {num}")
            if any(k == "float32" for k in kinds[:2]):
                npres = np.linspace(vals[0], vals[1], num)
                self.dev(f"linspace of a float32 scalar gives float64 (NumPy 2.4: {npres.dtype})")
            res = np.linspace(float(vals[0]), float(vals[1]), num)
            return Val(self.expect(res, "float64", f"linspace({kinds})"), sp)

    def reduced(self, node):
        """True when the expression contains a reduction (a value known only after evaluating)."""
        return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in RED
                   for n in ast.walk(node))

    def subscript(self, node):
        """Basic indexing of a variable (a view), or new axes (None, ..., :) on any expression."""
        sp = span_of(node)
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if sum(1 for i in items if isinstance(i, ast.Constant) and i.value is Ellipsis) > 1:
            second = [i for i in items if isinstance(i, ast.Constant) and i.value is Ellipsis][1]
            raise NjError("syntax", span_of(second), "two ellipses")
        A = self.ev(node.value)
        key = []
        for i in items:
            if isinstance(i, ast.Constant) and (i.value is None or i.value is Ellipsis):
                key.append(i.value)
            elif isinstance(i, ast.Slice):
                parts = [literal_int(p) if p is not None else None for p in (i.lower, i.upper, i.step)]
                key.append(slice(*parts))
            else:
                v = literal_int(i)
                if v is None:
                    raise GenError("subscripts are integer literals, slices, None or ...")
                key.append(v)
        if isinstance(node.value, ast.Name) and node.value.id in self.vars:
            return Val(A.x[tuple(key)], sp)
        full = lambda k: isinstance(k, slice) and k.start is None and k.stop is None and k.step in (None, 1)
        for i, k in zip(items, key):
            if not (k is None or k is Ellipsis or full(k)):
                raise NjError("type", span_of(i), "integer index or slice on an expression")
        ndim = 0 if A.weak else A.x.ndim
        if sum(1 for k in key if full(k)) > ndim:
            raise NjError("axis", sp, "too many indices")
        if None not in key:
            return A  # `x[:]`, `x[...]`: the value itself
        if ndim == 0:
            raise NjError("type", sp, "new axes on a 0-d expression")
        return Val(A.x[tuple(key)], sp)

    def lit_call(self, node, name, args):
        sp = span_of(node)
        xs = [a.x for a in args]
        if any(isinstance(x, bool) for x in xs):
            raise Unspecified("function of a bool literal")
        fn = (F1 | F2 | K1 | P1 | B2)[name]
        with np.errstate(all="ignore"):
            r = np.asarray(fn(*[np.asarray(x, NPDT[DEFAULT_OF_KIND[weak_kind(x)]]) for x in xs]))
        if name in TRANSCENDENTAL:
            self.ulps = max(self.ulps, 4)
        py = r.item()
        return Val(py, sp, from_func=True)

    def where(self, node, C, X, Y):
        sp = span_of(node)
        self.check_func_weak([X, Y])
        if C.weak and X.weak and Y.weak:
            raise Unspecified("where of literals only")
        self.check_fit([X, Y], "where()", lambda: np.where(True, X.x, Y.x))
        self.check_broadcast(sp, [C, X, Y])
        cond = C.x if (not C.weak and C.dtype == "bool") else (np.asarray(C.x) != 0)
        rule = common([X.t, Y.t])
        with np.errstate(all="ignore"):
            res = np.asarray(np.where(cond, X.x, Y.x))
        return Val(self.expect(res, rule, f"where(_, {X.t}, {Y.t})"), sp)

    def reduction(self, node, name, A):
        sp = span_of(node)
        axis = None
        if node.keywords:
            kv = node.keywords[0].value
            axis = literal_int(kv)
            if axis is None:
                raise Unspecified("axis must be an integer literal")
        if A.weak:
            raise Unspecified("reduction of a literal")
        x = A.x
        d = x.dtype.name
        if axis is not None and not (-x.ndim <= axis < x.ndim):
            try:
                RED[name](x, axis=axis)
                finding(f"axis0d:{name}", f"NumPy's {name} accepts axis={axis} on a {x.ndim}-d array "
                        f"(ufunc.reduce quirk for 0-d); the stated rules make it an axis error")
                raise Unspecified("NumPy accepts this out-of-range axis")
            except np.exceptions.AxisError:
                pass
            raise NjError("axis", span_of(node.keywords[0].value), f"axis {axis}")
        with np.errstate(all="ignore"):
            try:
                res = np.asarray(RED[name](x, axis=axis))
            except ValueError:
                raise NjError("value", sp, f"{name} of an empty array") from None
        if name in ("sum", "prod"):
            rule = "int64" if d in ("bool",) + INTS else d
        elif name == "mean":
            rule = "float64" if d in ("bool",) + INTS else d
        elif name in ("min", "max"):
            rule = d
        else:
            rule = "bool"
        res = self.expect(res, rule, f"{name}({d})")
        if name in ("sum", "prod", "mean") and rule in FLOATS:
            self.has_float_reduction = True
            if self.mode != "np":
                res = alt_reduce(name, x, axis, self.mode).astype(res.dtype)
        return Val(res, sp)


def literal_int(node):
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant) and type(node.operand.value) is int):
        return -node.operand.value
    return None


def int_pow_rule(a, b, dtype):
    """numjit's integer power with negative exponents: 0, except base 1 -> 1, base -1 -> +-1."""
    base, exp = np.broadcast_arrays(np.asarray(a, NPDT[dtype]), np.asarray(b, NPDT[dtype]))
    neg = exp < 0
    with np.errstate(all="ignore"):
        res = np.power(base, np.where(neg, 0, exp).astype(NPDT[dtype]))
    odd = (exp % 2) != 0
    negval = np.where(base == 1, 1, np.where(base == -1, np.where(odd, -1, 1), 0))
    return np.where(neg, negval, res).astype(NPDT[dtype])


def alt_reduce(name, x, axis, mode):
    """sum/prod/mean with float64 accumulation: exact (fsum) or naive sequential."""
    x64 = x.astype(np.float64)
    if axis is None:
        x64 = x64.reshape(-1)
        axis = 0
    axis = axis % x64.ndim
    moved = np.moveaxis(x64, axis, -1)
    outer, n = moved.shape[:-1], moved.shape[-1]
    rows = moved.reshape(int(np.prod(outer, dtype=np.int64)), n)
    out = np.empty(rows.shape[0], dtype=np.float64)
    for i, v in enumerate(rows):
        if name == "prod":
            acc = 1.0
            for t in v:
                acc *= t
            out[i] = acc
        elif mode == "exact" and np.all(np.isfinite(v)):
            out[i] = math.fsum(v)
        elif mode == "exact":
            out[i] = np.sum(v)  # inf/nan: any order gives the same
        else:
            acc = 0.0
            for t in v.tolist():
                acc += t
            out[i] = acc
    out = out.reshape(outer)
    if name == "mean":
        out = out / n if n else np.full(outer, np.nan)
    return out


# ----------------------------------------------------------------------------------------------
# Tolerances
# ----------------------------------------------------------------------------------------------


def ulp_index(a):
    """Monotonic integer index of floats (so that |i - j| counts ULPs); -0.0 and 0.0 coincide."""
    a = np.asarray(a)
    if a.dtype == np.float32:
        i = a.view(np.int32).astype(np.int64)
        return np.where(i < 0, -(i & 0x7FFFFFFF), i)
    i = a.astype(np.float64).view(np.int64).astype(object)
    return np.array([-(v & 0x7FFFFFFFFFFFFFFF) if v < 0 else v for v in i.ravel()],
                    dtype=object).reshape(a.shape)


def within(exp, got, ulps, rtol):
    exp, got = np.asarray(exp), np.asarray(got)
    if exp.shape != got.shape:
        return False, "shape"
    if exp.dtype.kind != "f":
        return bool(np.all(exp == got)), "exact"
    en, gn = np.isnan(exp), np.isnan(got)
    if np.any(en != gn):
        return False, "nan pattern"
    m = ~en
    e, g = exp[m], got[m]
    if np.any(np.isinf(e) != np.isinf(g)) or np.any(e[np.isinf(e)] != g[np.isinf(e)]):
        return False, "inf"
    if rtol is not None:
        tiny = np.finfo(exp.dtype).tiny
        bad = np.abs(g.astype(np.float64) - e.astype(np.float64)) > rtol * np.maximum(
            np.abs(e.astype(np.float64)), tiny)
        return not bool(np.any(bad)), f"rtol {rtol}"
    d = np.abs(ulp_index(g.astype(exp.dtype)) - ulp_index(e))
    worst = int(np.max(d)) if d.size else 0
    return worst <= (ulps or 0), f"{worst} ulps (allowed {ulps or 0})"


# ----------------------------------------------------------------------------------------------
# Cases and files
# ----------------------------------------------------------------------------------------------

FILES = {}  # stem -> {"title": str, "cases": [dict]}
NAMES = set()
END = object()  # `at=END`: the empty span at the end of the expression


def span_at(expr, at, nth=0):
    """Byte span of the nth occurrence of substring `at` in expr (END: empty span at the end)."""
    if at is END:
        n = len(expr.encode())
        return (n, n)
    start = -1
    for _ in range(nth + 1):
        start = expr.find(at, start + 1)
        if start < 0:
            raise GenError(f"{at!r} (occurrence {nth}) not in {expr!r}")
    b = len(expr[:start].encode())
    return (b, b + len(at.encode()))



# ----------------------------------------------------------------------------------------------
# Programs
# ----------------------------------------------------------------------------------------------


class Cell:
    """What a program name holds while the oracle runs it: an array (`.value`, as `Var`)."""

    def __init__(self, value):
        self.value = value


class Prog:
    """Runs one program with NumPy, statement by statement, as numjit's program model says it
    runs (grammar/numjit.ebnf, "Programs"): intermediates are values, outputs are written in place
    (cast as `out[...] = value` casts), `for` over `range`, `swap` exchanges what two names
    refer to, a final expression is the result. Statement values come from `Ev`, so every rule
    of the expression oracle applies to them. Cases the model leaves open are refused
    (`Unspecified`): a weak intermediate, an output written whole with a value of another dtype
    or shape and read again afterwards, transcendental functions inside loops (tolerances would
    compound), float-to-int casts of NaN, inf or out-of-range values."""

    def __init__(self, src, vars, outs):
        self.src, self.outs = src, set(outs)
        self.env = {n: v for n, v in vars.items()}
        self.ulps, self.has_float_reduction, self.devs = 0, False, []
        self.reshaped = set()  # outputs written whole with another dtype/shape
        self.depth = 0
        self.result = None

    def run(self):
        try:
            tree = ast.parse(self.src, mode="exec")
        except SyntaxError as exc:
            raise GenError(f"{self.src!r} is not Python syntax: {exc}") from None
        self.block(tree.body, top=True)
        return {n: np.array(self.env[n].value) for n in sorted(self.outs)}, self.result

    def seg(self, node):
        return ast.get_source_segment(self.src, node)

    def value(self, text):
        names = {n.id for n in ast.walk(ast.parse(text, mode="eval")) if isinstance(n, ast.Name)}
        if names & self.reshaped:
            raise Unspecified("an output written whole with another dtype or shape is read again")
        ev = Ev(text, self.env)
        v = ev.run_val()
        if ev.ulps and self.depth:
            raise Unspecified("a transcendental function inside a loop")
        self.ulps = max(self.ulps, ev.ulps)
        self.has_float_reduction |= ev.has_float_reduction
        self.devs.extend(d for d in ev.devs if d not in self.devs)
        return v

    def block(self, stmts, top=False):
        for i, st in enumerate(stmts):
            last = top and i + 1 == len(stmts)
            if isinstance(st, ast.Assign):
                if len(st.targets) != 1:
                    raise GenError("one target per assignment")
                self.assign(st.targets[0], self.seg(st.value))
            elif isinstance(st, ast.AugAssign):
                sym = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}[type(st.op)]
                self.assign(st.target, f"{self.seg(st.target)} {sym} ({self.seg(st.value)})")
            elif isinstance(st, ast.For):
                self.loop(st)
            elif isinstance(st, ast.Expr) and isinstance(st.value, ast.Call) and \
                    getattr(st.value.func, "id", None) == "swap":
                a, b = (x.id for x in st.value.args)
                if self.env[a].value.shape != self.env[b].value.shape:
                    raise NjError("broadcast", span_of(st), "swap of different shapes")
                self.env[a], self.env[b] = self.env[b], self.env[a]
            elif isinstance(st, ast.Expr) and last:
                v = self.value(self.seg(st.value))
                self.result = np.asarray(v.x, dtype=NPDT[DEFAULT_OF_KIND[weak_kind(v.x)]]) \
                    if v.weak else v.x.copy()
            else:
                raise GenError(f"statement {type(st).__name__} is not a numjit program statement")

    def assign(self, target, text):
        v = self.value(text)
        if isinstance(target, ast.Name) and target.id not in self.outs:
            if v.weak:
                raise Unspecified("an intermediate of literals only")
            self.env[target.id] = Cell(v.x)
            return
        name = target.id if isinstance(target, ast.Name) else target.value.id
        if name not in self.outs:
            raise GenError(f"{name} is written in part but is not an output")
        arr = self.env[name].value
        # Target subscripts are integer literals (the grammar): NumPy's own indexing reads them.
        view = arr if isinstance(target, ast.Name) else \
            arr[eval(f"np.s_[{self.seg(target.slice)}]", {"np": np})]
        x = np.asarray(v.x) if not v.weak else np.asarray(
            v.x, dtype=NPDT[DEFAULT_OF_KIND[weak_kind(v.x)]])
        try:
            shape = np.broadcast_shapes(x.shape, view.shape)
        except ValueError:
            shape = None
        if shape != view.shape:
            raise NjError("broadcast", span_of(target), f"{x.shape} into {view.shape}")
        if x.dtype.kind == "f" and view.dtype.kind in "iu":
            info = np.iinfo(view.dtype)
            if not np.all(np.isfinite(x)) or np.any(x < info.min) or np.any(x > info.max):
                raise Unspecified("a float-to-int cast of NaN, inf or an out-of-range value")
        if isinstance(target, ast.Name) and (x.dtype != view.dtype or x.shape != view.shape):
            self.reshaped.add(name)
        with np.errstate(all="ignore"):
            np.copyto(view, x, casting="unsafe")

    def loop(self, st):
        if not (isinstance(st.iter, ast.Call) and st.iter.func.id == "range"):
            raise GenError("for loops run over range(...)")
        bounds = [int(self.value(self.seg(a)).x) for a in st.iter.args]
        var = st.target.id
        self.depth += 1
        for i in range(*bounds):
            self.env[var] = Cell(np.array(i, dtype=np.int64))
            self.block(st.body)
        self.depth -= 1
        self.env.pop(var, None)


def register_name(file, name):
    """The case's full name, `file/name`, checked to be well formed and unique."""
    full = f"{file}/{name}"
    if full in NAMES:
        raise GenError(f"duplicate case name {full}")
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise GenError(f"case name {name!r} must be [a-z0-9_]+")
    NAMES.add(full)
    return full


def program_case(file, name, src, vars, outs, *, error=None, note=None, rtol=None):
    """Defines one program case: `outs` names the variables the program may write (outputs);
    expected are their final values and the result, if the program ends with an expression.
    error: the kind (no span: program spans are checked by the Rust unit tests) for cases that
    must fail before writing anything."""
    full = register_name(file, name)
    rec = {"name": full, "program": src, "vars": vars, "outs": list(outs), "note": note}
    # The oracle writes into copies: the TOML keeps the values before the program.
    fresh = {n: Var(v.dtype, v.logical.copy(), shape=list(v.logical.shape), view=v.view,
                    order=v.order) if v.gen is None else v for n, v in vars.items()}
    prog = Prog(src, fresh, outs)
    try:
        try:
            outputs, result = prog.run()
        except NjError as e:
            if error is None:
                raise GenError(f"{full}: the rules make this an error ({e})") from None
            if e.kind != error:
                raise GenError(f"{full}: rules give {e.kind}, case says {error}") from None
            rec["error"] = (error, None)
        else:
            if error is not None:
                raise GenError(f"{full}: no error by the rules, case says {error}")
            if prog.devs:
                raise GenError(f"{full}: deviations {prog.devs} in a program case")
            rec["outputs"], rec["expected"] = outputs, result
            floats = [a for a in [*outputs.values(), result] if a is not None and a.dtype.kind == "f"]
            if floats and prog.has_float_reduction:
                rec["ulps"], rec["rtol"] = None, rtol or 1e-12
            elif floats:
                rec["ulps"], rec["rtol"] = prog.ulps or None, rtol
            else:
                rec["ulps"], rec["rtol"] = None, None
    except Unspecified as u:
        raise GenError(f"{full}: {u}") from None
    FILES[file]["cases"].append(rec)


def begin_file(stem, title):
    FILES[stem] = {"title": title, "cases": []}
    return stem


def case(file, name, expr, vars=None, *, ulps=None, rtol=None, dev=False, error=None, at=None,
         nth=0, note=None):
    """Defines one case. error: kind (str) for error cases, with `at` = the substring (or END)
    the span covers. ulps/rtol default to what the expression needs (0 for exact operations,
    4 ULPs after a transcendental function or float **, 2 after radians/degrees, a relative
    tolerance after a float sum/prod/mean)."""
    full = register_name(file, name)
    vars = vars or {}
    rec = {"name": full, "expr": expr, "vars": vars, "note": note}
    try:
        if error is not None:
            span = span_at(expr, at, nth)
            rec["error"] = (error, span)
            if error != "syntax":
                try:
                    Ev(expr, vars).run()
                except NjError as e:
                    if (e.kind, e.span) != (error, span):
                        raise GenError(f"{full}: rules give {e.kind} at {e.span}, case says "
                                       f"{error} at {span}") from None
                else:
                    raise GenError(f"{full}: no error by the rules, case says {error}")
            else:
                try:
                    Ev(expr, vars).run()
                    raise GenError(f"{full}: syntax case evaluates fine")
                except (NjError, GenError):
                    pass
        else:
            ev = Ev(expr, vars)
            try:
                res = ev.run()
            except NjError as e:
                raise GenError(f"{full}: the rules make this an error ({e})") from None
            if ulps is not None and ulps < ev.ulps:
                raise GenError(f"{full}: ulps={ulps} but the expression needs {ev.ulps}")
            if bool(ev.devs) != bool(dev):
                raise GenError(f"{full}: deviations {ev.devs} but dev={dev}")
            rec["deviation"] = "; ".join(ev.devs) if ev.devs else None
            rec["expected"] = res
            if res.dtype.kind == "f":
                if ulps is None and rtol is None:
                    if ev.has_float_reduction:
                        rtol = 1e-12 if res.dtype == np.float64 else 1e-5
                    else:
                        ulps = ev.ulps
                for mode in ("exact", "seq"):
                    alt = Ev(expr, vars, mode).run()
                    ok, how = within(res, alt, None if ulps is None else ulps // 2,
                                     None if rtol is None else rtol / 2)
                    if not ok:
                        raise GenError(f"{full}: tolerance too tight vs {mode} recomputation "
                                       f"({how}); NumPy {res.ravel()[:8]} vs {alt.ravel()[:8]}")
                rec["ulps"], rec["rtol"] = ulps, rtol
            else:
                if ulps or rtol:
                    raise GenError(f"{full}: tolerance on a non-float result")
                rec["ulps"], rec["rtol"] = None, None
    except Unspecified as u:
        raise GenError(f"{full}: {u}") from None
    FILES[file]["cases"].append(rec)


def case_toml(rec):
    out = [f"# {line}" for line in (rec.get("note") or "").splitlines()]
    out += ["[[case]]", f"name = {tstr(rec['name'])}"]
    out.append(f"program = {tstr(rec['program'])}" if "program" in rec else
               f"expr = {tstr(rec['expr'])}")
    if rec.get("ulps"):
        out.append(f"ulps = {rec['ulps']}")
    if rec.get("rtol") is not None:
        out.append(f"rtol = {rec['rtol']!r}")
    if rec.get("deviation"):
        out.append(f"deviation = {tstr(rec['deviation'])}")
    for vn, v in rec["vars"].items():
        out.extend(v.toml_lines(vn))
        if vn in rec.get("outs", ()):
            out.append("out = true")
    if "error" in rec:
        kind, span = rec["error"]
        out += ["[case.error]", f'kind = "{kind}"']
        if span is not None:
            out.append(f"span = [{span[0]}, {span[1]}]")
        return "\n".join(out)
    res = rec["expected"]
    if res is not None:
        out += ["[case.expected]", f'dtype = "{res.dtype.name}"', f"shape = {list(res.shape)}",
                "data = " + fmt_data(res, res.dtype.name)]
    for vn, arr in rec.get("outputs", {}).items():
        out += [f"[case.outputs.{vn}]", f'dtype = "{arr.dtype.name}"', f"shape = {list(arr.shape)}",
                "data = " + fmt_data(arr, arr.dtype.name)]
    return "\n".join(out)


def render(stem):
    f = FILES[stem]
    head = [f"# {stem}.toml: {f['title']}",
            "# GENERATED by tests/data/generate.py from NumPy " + np.__version__ +
            " -- do not edit; change the script and rerun it.", ""]
    return "\n".join(head) + "\n\n".join(case_toml(c) for c in f["cases"]) + "\n"


# ==============================================================================================
# Case definitions
# ==============================================================================================

SHORT = {"bool": "b", "int32": "i32", "int64": "i64", "float32": "f32", "float64": "f64"}

# Two sample sets per dtype (6 values, shape [2, 3]) for operator matrices.
SA = {
    "bool": [True, False, True, False, True, True],
    "int32": [7, -7, 3, 0, I32MIN, I32MAX],
    "int64": [5, -12, 4, 0, I64MAX, I64MIN],
    "float32": [1.5, -2.25, 0.1, 3e38, -0.0, 7.0],
    "float64": [0.5, -3.75, 0.1, 1e300, -0.0, 2.0],
}
SB = {
    "bool": [True, True, False, False, True, False],
    "int32": [2, 3, -3, 5, -1, 2],
    "int64": [3, -5, 0, -7, 1, 2],
    "float32": [0.5, 4.0, -0.3, 2e38, 1.0, -0.0],
    "float64": [2.0, 0.25, -3.0, 1e10, nan, -inf],
}


def pair(da, db, shape=(2, 3)):
    return {"a": MK[da](SA[da], list(shape)), "b": MK[db](SB[db], list(shape))}


# ---------------------------------------------------------------------------------------------- arith
def define_arith():
    f = begin_file("arith", "arithmetic operators + - * / // % ** and unary - +, literals, "
                   "precedence, integer wrap-around")
    for sym, nm in (("+", "add"), ("*", "mul"), ("/", "div")):
        for da in DTYPES:
            for db in DTYPES:
                case(f, f"{nm}_{SHORT[da]}_{SHORT[db]}", f"a {sym} b", pair(da, db))
    for d in DTYPES[1:]:
        case(f, f"sub_{SHORT[d]}_{SHORT[d]}", "a - b", pair(d, d))
    for da, db in (("bool", "int32"), ("int32", "bool"), ("int32", "int64"), ("int32", "float32"),
                   ("int64", "float32"), ("float32", "float64"), ("bool", "float64"),
                   ("int64", "float64")):
        case(f, f"sub_{SHORT[da]}_{SHORT[db]}", "a - b", pair(da, db))

    # floor division and remainder: floor semantics, division by zero, INT_MIN // -1
    ia = [7, -7, 7, -7, 0, 5, -5, 1]
    ib = [2, 2, -2, -2, 3, 0, 0, -1]
    for sym, nm in (("//", "floordiv"), ("%", "mod")):
        case(f, f"{nm}_i32_i32", f"a {sym} b",
             {"a": I32(ia + [I32MIN, I32MIN]), "b": I32(ib + [-1, 1])})
        case(f, f"{nm}_i64_i64", f"a {sym} b",
             {"a": I64(ia + [I64MIN, I64MAX]), "b": I64(ib + [-1, -1])})
        fa = [7.5, -7.5, 7.5, -7.5, 1.0, -1.0, 0.0, -0.0, 5.0, 0.75, 6.0, -6.0]
        fb = [2.0, 2.0, -2.0, -2.0, 0.0, 0.0, 0.0, 3.0, 0.5, 0.25, 3.0, 3.0]
        case(f, f"{nm}_f64_f64", f"a {sym} b", {"a": F64(fa), "b": F64(fb)})
        case(f, f"{nm}_f32_f32", f"a {sym} b", {"a": F32(fa), "b": F32(fb)})
        case(f, f"{nm}_b_b", f"a {sym} b",
             {"a": B([True, True, False, False]), "b": B([True, False, True, False])}, dev=True)
        case(f, f"{nm}_i32_i64", f"a {sym} b", {"a": I32([7, -7, 100, -100, 9]),
                                                 "b": I64([-3, -3, 7, 7, 0])})
        case(f, f"{nm}_i32_f64", f"a {sym} b", {"a": I32([7, -7, 100, -100, 9]),
                                                 "b": F64([-2.5, -2.5, 0.75, 0.75, 0.0])})
        case(f, f"{nm}_f32_i32", f"a {sym} b", {"a": F32([7.5, -7.5, 1.25, -0.5]),
                                                 "b": I32([2, 2, -1, 3])})
        case(f, f"{nm}_b_i32", f"a {sym} b", {"a": B([True, False, True]), "b": I32([2, 2, -1])})
        case(f, f"{nm}_i32_weak", f"a {sym} 3", {"a": I32([10, -10, 3, -3, 0, I32MIN])})
        case(f, f"{nm}_f64_weak", f"a {sym} 2.5", {"a": F64([10.0, -10.0, 2.5, -2.5, 0.0, 7.25])})

    # powers
    case(f, "pow_i32_i32", "a ** b", {"a": I32([2, -3, 0, 1, -1, 7, 3, 0]),
                                       "b": I32([3, 3, 0, 5, 7, 11, 21, 0])},
         note="3**21 wraps around in int32")
    case(f, "pow_i64_i64", "a ** b", {"a": I64([2, -3, 10, 1, -1, 3, 0, 7]),
                                       "b": I64([62, 5, 18, 100, 99, 41, 5, 0])},
         note="3**41 wraps around in int64")
    pa = [2.0, 0.5, 9.0, 1.5, -2.0, 10.0, 0.0, 1.0, -8.0, 4.0]
    pb = [0.5, -2.0, 0.5, 3.25, 3.0, -300.0, 0.0, nan, 0.5, -0.5]
    case(f, "pow_f64_f64", "a ** b", {"a": F64(pa), "b": F64(pb)})
    case(f, "pow_f32_f32", "a ** b", {"a": F32(pa[:5] + [10.0, 0.0, 1.0, -8.0, 4.0]),
                                       "b": F32(pb[:5] + [-30.0, 0.0, nan, 0.5, -0.5])})
    case(f, "pow_b_b", "a ** b", {"a": B([True, True, False, False]),
                                   "b": B([True, False, True, False])}, dev=True)
    case(f, "pow_i32_negative_array_exponents", "a ** b",
         {"a": I32([2, 1, 1, -1, -1, 0, 5, 3]), "b": I32([-1, -3, -2, -3, -2, -1, 0, 2])}, dev=True)
    case(f, "pow_i64_negative_array_exponents", "a ** b",
         {"a": I64([7, 1, -1, -1, -2, 2]), "b": I64([-2, -7, -7, -8, -1, 3])}, dev=True)
    case(f, "pow_weak_base_negative_array_exponents", "2 ** a", {"a": I64([-1, 0, 1, 10, -5])},
         dev=True)
    case(f, "pow_i32_weak_int", "a ** 2", {"a": I32([3, -4, 0, 46341, 65536])},
         note="46341**2 and 65536**2 wrap around in int32")
    case(f, "pow_i64_weak_int", "a ** 3", {"a": I64([3, -4, 0, 2097152, 1000000])})
    case(f, "pow_i32_weak_float", "a ** 2.0", {"a": I32([3, -4, 0, 46341])})
    case(f, "pow_f64_weak_half", "a ** 0.5", {"a": F64([4.0, 2.0, 0.0, 1e300, inf, -1.0, nan])},
         note="no -inf or -0.0 here: NumPy's scalar-exponent 0.5 fast path (sqrt) differs from\n"
              "pow() there, and from NumPy's own array-exponent results")
    case(f, "pow_f32_weak_int", "a ** 3", {"a": F32([1.5, -2.0, 0.1, 1e13])})
    case(f, "pow_f64_weak_neg_int", "a ** -2", {"a": F64([2.0, -4.0, 0.0, -0.0, inf, 0.1])})
    case(f, "pow_weak_base_i32", "2 ** a", {"a": I32([0, 1, 10, 30, 31, 32])},
         note="2**31 wraps to INT_MIN, 2**32 to 0 in int32")
    case(f, "pow_weak_float_base_f32", "2.0 ** a", {"a": F32([0.0, 1.0, -1.0, 0.5, 100.0, 200.0])})
    case(f, "pow_i32_i64", "a ** b", {"a": I32([2, 3, -2]), "b": I64([40, 3, 63])})
    case(f, "pow_i32_f32", "a ** b", {"a": I32([2, 3, -2]), "b": F32([0.5, 2.0, 3.0])})
    case(f, "pow_f32_f64", "a ** b", {"a": F32([2.0, 3.0, 0.5]), "b": F64([0.5, 2.0, -3.0])})

    # unary operators
    case(f, "neg_i32", "-a", {"a": I32([1, -1, 0, I32MAX, I32MIN])}, note="-INT_MIN wraps")
    case(f, "neg_i64", "-a", {"a": I64([1, -1, 0, I64MAX, I64MIN])})
    case(f, "neg_f32", "-a", {"a": F32([1.5, -0.0, 0.0, inf, nan])})
    case(f, "neg_f64", "-a", {"a": F64([1.5, -0.0, 0.0, -inf, 5e-324])})
    case(f, "pos_i32", "+a", {"a": I32([1, -1, 0, I32MIN])})
    case(f, "pos_i64", "+a", {"a": I64([1, -1, 0, I64MIN])})
    case(f, "pos_f32", "+a", {"a": F32([1.5, -0.0, nan])})
    case(f, "pos_f64", "+a", {"a": F64([1.5, -0.0, -inf])})
    case(f, "double_neg", "--a", {"a": I32([5, -5])})
    case(f, "neg_pos", "-+a", {"a": F64([5.0, -0.0])})
    case(f, "neg_0d", "-x", {"x": S("float32", 2.5)})

    # integer wrap-around
    case(f, "i32_add_wraps", "a + 1", {"a": I32([I32MAX, -1, I32MIN])})
    case(f, "i32_sub_wraps", "a - 1", {"a": I32([I32MIN, 0])})
    case(f, "i32_mul_wraps", "a * 65536", {"a": I32([65536, 32768, -32768, 3])})
    case(f, "i64_add_wraps", "a + b", {"a": I64([I64MAX, I64MIN]), "b": I64([1, -1])})
    case(f, "i64_mul_wraps", "a * a", {"a": I64([4294967296, 3037000500, -3037000500])})

    # literals and constants only: Python scalars -> 0-d int64 / float64 / bool
    lits = [
        ("lit_int_arith", "1 + 2 * 3"), ("lit_underscore", "1_000_000 * 3"),
        ("lit_float_forms", ".25 + 1e-3"), ("lit_true_div", "7 / 2"), ("lit_floordiv", "7 // 2"),
        ("lit_floordiv_neg", "-7 // 2"), ("lit_mod_neg", "-7 % 3"), ("lit_mod_neg_divisor", "7 % -3"),
        ("lit_pow_int", "2 ** 10"), ("lit_pow_float", "2 ** 0.5"), ("lit_neg_pow", "-2 ** 2"),
        ("lit_pow_right_assoc", "2 ** 3 ** 2"), ("lit_paren_pow", "(-2) ** 2"), ("lit_pi", "pi"),
        ("lit_two_pi", "2 * pi"), ("lit_e", "e"), ("lit_inf", "inf"), ("lit_neg_inf", "-inf"),
        ("lit_nan", "nan"), ("lit_inf_minus_inf", "inf - inf"), ("lit_true", "True"),
        ("lit_false", "False"), ("lit_cmp", "1 < 2"), ("lit_cmp_float", "2.5 == 2.5"),
        ("lit_float_overflow", "1e308 * 10"), ("lit_big_int", "3000000000 * 3"),
        ("lit_mixed", "5 - 7.5"), ("lit_float_mod", "10 % 3.5"), ("lit_float_floordiv", "1.5e3 // 7"),
        ("lit_invert", "~5"), ("lit_bitand", "6 & 3"), ("lit_bitor", "6 | 3"), ("lit_bitxor", "6 ^ 3"),
        ("lit_shl", "1 << 40"), ("lit_shr_neg", "-16 >> 2"), ("lit_bool_and", "True & False"),
        ("lit_bool_or", "True | False"), ("lit_sqrt", "sqrt(2)"), ("lit_abs", "abs(-3)"),
        ("lit_round_half_even", "round(2.5)"), ("lit_floor", "floor(-2.5)"),
        ("lit_sin", "sin(pi / 6)"), ("lit_maximum_mixed", "maximum(1, 2.5)"),
        ("lit_precedence", "2 * 3 + 4.5 * 2 - 8 / 4"), ("lit_int64_max", "9223372036854775807"),
        ("lit_exp_notation", "1E3 + 2.5e-1"),
    ]
    for nm, ex in lits:
        case(f, nm, ex)

    # precedence and associativity (Python's)
    x = {"a": F64([1.5, -2.0, 3.0]), "b": F64([2.0, 0.5, -1.0]), "c": F64([0.25, 3.0, 2.0])}
    case(f, "prec_neg_pow", "-a**2", x)
    case(f, "prec_sub_left_assoc", "a - b - c", x)
    case(f, "prec_div_left_assoc", "a / b / c", x)
    case(f, "prec_pow_right_assoc", "c ** b ** 2", x)
    case(f, "prec_mul_over_add", "a + b * c - a / b", x)
    case(f, "prec_parens", "(a + b) * c", x)
    case(f, "prec_mul_neg", "a * -b", x)
    case(f, "prec_pow_neg_exponent", "b ** -a", x)
    case(f, "prec_neg_pow_mul", "-a ** 2 * 3", x)
    ix = {"a": I32([17, -17, 9]), "b": I32([5, 5, -4]), "c": I32([3, 2, 2])}
    case(f, "prec_floordiv_mul_left_assoc", "a // b * c", ix)
    case(f, "prec_mod_pow", "a % b ** 2", ix)
    case(f, "prec_mul_mod", "2 * a % 3", ix)
    case(f, "prec_pow_of_neg_literal", "a ** 2 - (-3) ** 2", ix)
    case(f, "course_horner", "((.25*x + .75)*x - 1.5)*x - 2", {"x": F64([0.0, 1.0, -2.5, 0.1, 3.0])},
         note="course problem P2")
    case(f, "course_quadratic", "a**2 + b**2 + 2*a*b",
         {"a": F64([1.0, 2.5, -3.0]), "b": F64([2.0, 0.5, 4.0])}, note="course problem P3")
    case(f, "add_0d_0d", "a + b", {"a": S("int32", 7), "b": S("float32", 0.5)})
    case(f, "mul_0d_array", "a * b", {"a": S("int64", -3), "b": I64([1, 2, 3])})


# ---------------------------------------------------------------------------------------------- dtypes
def define_dtypes():
    f = begin_file("dtypes", "result dtypes: weak Python scalars (NEP 50), 0-d arrays, "
                   "mixed promotion")
    data = {"bool": [True, False, True], "int32": [7, -7, 0], "int64": [7, -7, 0],
            "float32": [1.5, -0.25, 0.1], "float64": [1.5, -0.25, 0.1]}
    for d in DTYPES:
        a = {"a": MK[d](data[d])}
        case(f, f"weak_int_{SHORT[d]}", "a + 1", a)
        case(f, f"weak_float_{SHORT[d]}", "a * 2.5", a)
        case(f, f"weak_bool_{SHORT[d]}", "a + True", a)
        case(f, f"weak_pi_{SHORT[d]}", "a * pi", a)
        case(f, f"div_weak_int_{SHORT[d]}", "a / 2", a)
    i32 = {"a": I32([7, -7, 0, I32MAX])}
    case(f, "i32_plus_int32_max_literal", "a + 2147483647", i32)
    case(f, "i32_plus_negative_literal_fits", "a - 1 + -2147483647", i32)
    case(f, "i64_times_big_literal", "a * 3000000000", {"a": I64([1, -2, 3])})
    case(f, "bool_plus_big_literal", "a + 3000000000", {"a": B([True, False])})
    case(f, "i32_floordiv_weak_float", "a // 2.0", i32)
    case(f, "f32_mod_weak_float", "a % 2.5", {"a": F32([7.0, -7.0, 2.5])})
    case(f, "i32_pow_weak_int", "a ** 2", {"a": I32([3, -4])})
    case(f, "i32_pow_weak_float", "a ** 2.0", {"a": I32([3, -4])})
    case(f, "bool_pow_weak_int", "a ** 2", {"a": B([True, False])})
    case(f, "f32_plus_inf", "a + inf", {"a": F32([1.0, -inf])})
    case(f, "i64_plus_nan", "a + nan", {"a": I64([1, 2])})
    case(f, "i32_times_e", "a * e", {"a": I32([1, 2])})
    case(f, "f32_times_literal_expr", "a * (2 * pi)", {"a": F32([1.0, 0.25])})
    case(f, "i32_times_int_literal_expr", "a * (1 + 2)", {"a": I32([1, -5])})
    case(f, "f32_weak_float_overflows_to_inf", "a + 1e40", {"a": F32([1.0, -1.0])},
         note="NEP 50: the Python float is converted to float32 (inf)")
    case(f, "f32_lt_weak_point_one", "a < 0.1", {"a": F32([0.1, 0.09, 0.2])},
         note="0.1 is compared as float32(0.1): equal, not less")
    case(f, "f32_eq_weak_point_one", "a == 0.1", {"a": F32([0.1, 0.2])})
    case(f, "f32_eq_weak_int_rounds", "a == 16777217", {"a": F32([16777216.0, 16777218.0])},
         note="16777217 becomes float32 16777216")
    case(f, "i32_plus_weak_int_stays_i32", "a + 16777217", {"a": I32([1, -16777217])})
    case(f, "f32_plus_0d_f64_is_f64", "a + b", {"a": F32([0.1, 1.5]), "b": S("float64", 0.1)})
    case(f, "i32_plus_0d_i64_is_i64", "a + b", {"a": I32([I32MAX, 1]), "b": S("int64", 1)})
    case(f, "b_plus_0d_b", "a + b", {"a": B([True, False]), "b": S("bool", False)})
    case(f, "i32_plus_0d_f32_is_f64", "a + b", {"a": I32([16777217, 1]), "b": S("float32", 0.5)})
    case(f, "i32_plus_f32_is_f64", "a + b", {"a": I32([16777217]), "b": F32([0.5])})
    case(f, "i64_plus_f32_is_f64", "a + b", {"a": I64([2**53 + 1]), "b": F32([0.5])})
    case(f, "i64_plus_weak_float_rounds", "a + 0.5", {"a": I64([2**53 + 1, 3])})
    case(f, "i32_plus_i64", "a + b", {"a": I32([I32MAX]), "b": I64([1])})
    case(f, "i32_div_i32_is_f64", "a / b", {"a": I32([1, 7]), "b": I32([3, 2])})
    case(f, "b_div_b_is_f64", "a / b", {"a": B([True, False]), "b": B([True, True])})
    # functions
    case(f, "arctan2_i32_f32", "arctan2(a, b)", {"a": I32([1, -1]), "b": F32([2.0, 0.5])})
    case(f, "arctan2_f32_weak_int", "arctan2(a, 1)", {"a": F32([1.0, -0.5])})
    case(f, "hypot_f32_weak_int", "hypot(a, 2)", {"a": F32([1.5, -3.0])})
    case(f, "hypot_b_weak_int", "hypot(a, 1)", {"a": B([True, False])},
         note="bool with a Python int is int64: float64 by NumPy too (no deviation)")
    case(f, "maximum_i32_weak_float", "maximum(a, 2.5)", {"a": I32([1, 7])})
    case(f, "minimum_b_weak_int", "minimum(a, 1)", {"a": B([True, False])})
    case(f, "fmod_i32_weak_int", "fmod(a, 3)", {"a": I32([7, -7])})
    case(f, "copysign_i32_weak_float", "copysign(a, -1.0)", {"a": I32([1, -2, 0])})
    case(f, "sqrt_i32_is_f64", "sqrt(a)", {"a": I32([4, 2])})
    case(f, "abs_i32_keeps", "abs(a)", {"a": I32([-4, I32MIN])})
    case(f, "ceil_i64_keeps", "ceil(a)", {"a": I64([-4, I64MAX])})
    case(f, "round_i32_keeps", "round(a)", {"a": I32([-4, 5])})
    case(f, "where_i32_f32_is_f64", "where(c, a, b)",
         {"c": B([True, False]), "a": I32([1, 2]), "b": F32([0.5, 0.25])})
    case(f, "where_f32_weak_float", "where(c, a, 0.5)", {"c": B([True, False]), "a": F32([0.1, 0.2])})
    case(f, "where_i32_weak_int", "where(c, a, 2)", {"c": B([True, False]), "a": I32([5, 6])})
    case(f, "where_i32_weak_float", "where(c, a, 2.5)", {"c": B([True, False]), "a": I32([5, 6])})
    case(f, "where_weak_int_weak_float", "where(c, 1, 2.5)", {"c": B([True, False])})
    case(f, "where_weak_ints", "where(c, 1, 2)", {"c": B([True, False])})
    case(f, "where_weak_bools", "where(c, True, False)", {"c": I32([3, 0])})
    case(f, "where_b_weak_int", "where(c, a, 1)", {"c": B([True, False]), "a": B([False, False])})
    # reductions inside expressions keep their own (strong) dtype
    case(f, "i32_plus_sum_i32_is_i64", "a + sum(a)", {"a": I32([I32MAX, 1])})
    case(f, "f32_minus_mean_f32_is_f32", "a - mean(a)", {"a": F32([1.0, 2.0, 4.5])})
    case(f, "i32_times_mean_i32_is_f64", "a * mean(a)", {"a": I32([1, 2])})
    case(f, "f32_plus_max_f64", "a + max(b)", {"a": F32([1.0]), "b": F64([0.5, 0.25])})
    case(f, "lit_int_is_i64", "1")
    case(f, "lit_float_is_f64", "1.0")
    case(f, "lit_bool_is_bool", "True")
    case(f, "lit_int_plus_float", "1 + 1.0")


# ---------------------------------------------------------------------------------------------- compare/logic
def define_compare_logic():
    f = begin_file("compare_logic", "comparisons, & | ^ ~ (logical on bool, bitwise on ints), "
                   "shifts, where")
    for da in DTYPES:
        for db in DTYPES:
            case(f, f"lt_{SHORT[da]}_{SHORT[db]}", "a < b", pair(da, db))
    cdata = {
        "bool": ([True, False, True, False], [True, True, False, False]),
        "int32": ([1, 2, 3, I32MIN, I32MAX], [2, 2, 2, I32MAX, I32MIN]),
        "int64": ([1, 2, 3, I64MIN, I64MAX], [2, 2, 2, I64MAX, I64MIN]),
        "float32": ([1.0, 2.0, nan, -0.0, inf, nan], [2.0, 2.0, 1.0, 0.0, inf, nan]),
        "float64": ([1.0, 2.0, nan, -0.0, -inf, nan], [2.0, 2.0, 1.0, 0.0, -inf, nan]),
    }
    for sym, nm in (("<=", "le"), ("==", "eq"), ("!=", "ne"), (">=", "ge"), (">", "gt")):
        for d in DTYPES:
            a, b = cdata[d]
            case(f, f"{nm}_{SHORT[d]}", f"a {sym} b", {"a": MK[d](a), "b": MK[d](b)})
    case(f, "eq_i64_f64_rounding", "a == b", {"a": I64([I64MAX, 2**53 + 1]),
                                              "b": F64([9.223372036854776e18, 9007199254740992.0])},
         note="int64 and float64 compare as float64")
    case(f, "gt_i32_weak_float", "a > 2.5", {"a": I32([2, 3])})
    case(f, "eq_b_weak_int", "a == 1", {"a": B([True, False])})
    case(f, "ne_f64_weak_nan", "a != nan", {"a": F64([1.0, nan])})
    case(f, "lt_weak_left", "0 < a", {"a": F32([-1.0, 1.0, -0.0])})
    case(f, "le_0d", "a <= b", {"a": S("int32", 3), "b": I32([2, 3, 4])})

    for d, (x, y) in {
        "bool": ([True, True, False, False], [True, False, True, False]),
        "int32": ([12, -1, I32MIN, 0x5555], [10, 7, -1, 0x3333]),
        "int64": ([12, -1, I64MIN, 2**40 + 5], [10, 7, -1, 2**40 + 3]),
    }.items():
        for sym, nm in (("&", "and"), ("|", "or"), ("^", "xor")):
            case(f, f"{nm}_{SHORT[d]}", f"a {sym} b", {"a": MK[d](x), "b": MK[d](y)})
        case(f, f"invert_{SHORT[d]}", "~a", {"a": MK[d](x)})
    case(f, "and_b_i32", "a & b", {"a": B([True, False, True]), "b": I32([3, 3, 2])})
    case(f, "or_i32_i64", "a | b", {"a": I32([1, -1]), "b": I64([2**40, 0])})
    case(f, "xor_i64_b", "a ^ b", {"a": I64([5, 5]), "b": B([True, False])})
    case(f, "and_i32_weak", "a & 255", {"a": I32([1000, -1, 255])})
    case(f, "xor_b_weak_true", "a ^ True", {"a": B([True, False])})
    case(f, "logic_combo", "(a > 0) & (b < 0) | ~(a == b)",
         {"a": F64([1.0, -1.0, 2.0, 0.0]), "b": F64([-1.0, -1.0, 2.0, 0.0])})
    case(f, "bitwise_precedence", "a | b ^ c & d",
         {"a": I32([1]), "b": I32([6]), "c": I32([12]), "d": I32([10])},
         note="& binds tighter than ^, ^ tighter than |")
    case(f, "bitand_before_compare", "a & b == c",
         {"a": I32([6, 7]), "b": I32([3, 3]), "c": I32([2, 2])},
         note="Python precedence: (a & b) == c")
    case(f, "compare_of_sums", "a + 1 < b * 2", {"a": F64([1.0, 5.0]), "b": F64([1.0, 3.0])})
    case(f, "neg_before_compare", "-a < b", {"a": I32([1, -5]), "b": I32([0, 0])})
    case(f, "shift_precedence", "a << 1 + 1", {"a": I32([1, 3])}, note="a << (1 + 1)")

    sh32 = [0, 1, 31, 32, 33, -1, 100]
    case(f, "shl_i32", "a << b", {"a": I32([1, 1, 1, 1, 3, 1, -1]), "b": I32(sh32)},
         note="shift counts >= 32 or negative give 0 (NumPy)")
    case(f, "shr_i32", "a >> b", {"a": I32([-8, 8, -8, 8, -8, -8, 8]), "b": I32(sh32)},
         note="shift counts >= 32 or negative give 0 or -1 (NumPy)")
    sh64 = [0, 1, 63, 64, 65, -1, 1000]
    case(f, "shl_i64", "a << b", {"a": I64([1, 1, 1, 1, 3, 1, -1]), "b": I64(sh64)})
    case(f, "shr_i64", "a >> b", {"a": I64([-8, 8, -8, 8, -8, -8, 8]), "b": I64(sh64)})
    case(f, "shl_i32_i64", "a << b", {"a": I32([1, 5]), "b": I64([40, 2])})
    case(f, "shl_i32_weak", "a << 3", {"a": I32([1, -1, 2**28])})
    case(f, "shr_i64_weak", "a >> 1", {"a": I64([-1, -3, 3])})
    case(f, "shl_weak_left", "1 << a", {"a": I32([0, 30, 31, 32])})
    case(f, "shl_i32_b", "a << b", {"a": I32([3, 3]), "b": B([True, False])})

    case(f, "where_cond_b", "where(c, a, b)", {"c": B([True, False, True]), "a": F64([1.0, 2.0, 3.0]),
                                               "b": F64([-1.0, -2.0, -3.0])})
    case(f, "where_cond_i32", "where(c, a, b)", {"c": I32([0, 5, -1]), "a": F64([1.0, 2.0, 3.0]),
                                                 "b": F64([-1.0, -2.0, -3.0])})
    case(f, "where_cond_i64", "where(c, a, b)", {"c": I64([I64MIN, 0, 1]), "a": I64([1, 2, 3]),
                                                 "b": I64([-1, -2, -3])})
    case(f, "where_cond_f32", "where(c, a, b)", {"c": F32([0.0, -0.0, nan, 0.5]), "a": I32([1, 2, 3, 4]),
                                                 "b": I32([-1, -2, -3, -4])},
         note="nan is nonzero (true); -0.0 is zero (false)")
    case(f, "where_cond_f64", "where(c, a, b)", {"c": F64([5e-324, 0.0, -inf]), "a": B([True, True, True]),
                                                 "b": B([False, False, False])})
    case(f, "where_compare_cond", "where(a > 0, a, -a)", {"a": F64([1.5, -2.5, 0.0, -0.0])})
    case(f, "where_nested", "where(a > 1, 1, where(a < -1, -1, 0))", {"a": F32([2.0, -2.0, 0.5])})
    case(f, "where_weak_true_cond", "where(True, a, b)", {"a": I32([1, 2]), "b": I32([3, 4])})


# ---------------------------------------------------------------------------------------------- functions
FDATA = {
    "sqrt": [0.0, 0.25, 2.0, 9.0, 1e-300, 1e300, 123.456, -1.0],
    "sin": [0.0, 0.5, -1.25, 3.0, 10.0, -100.0, 12345.678, 0.7853981633974483],
    "arcsin": [0.0, 0.5, -0.5, 0.99, -0.99, 1.0, -1.0, 1.5],
    "arctan": [0.0, 0.5, -2.0, 10.0, 1e10, -1e-10, 1.0, -1.0],
    "sinh": [0.0, 0.5, -1.25, 3.0, 20.0, -20.0, 710.0, -0.001],
    "arcsinh": [0.0, 0.5, -2.0, 10.0, 1e10, -1e-10, 1e300, -3.0],
    "arccosh": [1.0, 1.5, 2.0, 10.0, 1e10, 0.5, 100.0, 1e300],
    "exp": [0.0, 0.5, -1.0, 10.0, -10.0, 1e-10, 700.0, -740.0],
    "log": [1.0, 0.5, 2.0, 10.0, 1e-300, 1e300, 0.0, -1.0],
    "log1p": [0.0, 1e-10, -0.5, 1.0, 100.0, 1e300, -1.0, -2.0],
    "radians": [0.0, 180.0, -90.0, 45.0, 360.0, 1e300, 0.5, 57.29577951308232],
    "degrees": [0.0, math.pi, -math.pi / 2, 1.0, 1e300, 0.5, -3.0, 1e-300],
}
for _k, _src in (("cos", "sin"), ("tan", "sin"), ("arccos", "arcsin"), ("arctanh", "arcsin"),
                 ("cosh", "sinh"), ("tanh", "sinh"), ("expm1", "exp"), ("log10", "log"),
                 ("log2", "log")):
    FDATA[_k] = FDATA[_src]
IDATA32 = [0, 1, -1, 2, 10, -7, 100, -30000]
IDATA64 = [0, 1, -1, 3, -10, 1000, 123456, -54321]
K1DATA = {
    "float64": [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -0.0, 0.0, 3.7, -3.7, 1e300, nan, inf, -inf,
                4503599627370497.0, 0.49999999999999994],
    "float32": [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -0.0, 0.0, 3.7, -3.7, 3e38, nan, inf, -inf,
                8388609.0, 0.49999997],
    "int32": [I32MIN, -7, -1, 0, 1, 7, I32MAX],
    "int64": [I64MIN, -7, -1, 0, 1, 7, I64MAX],
    "bool": [True, False],
}
P1DATA = {
    "float64": [nan, inf, -inf, 0.0, -0.0, 1.0, -1.0, 5e-324, -5e-324, 1e308],
    "float32": [nan, inf, -inf, 0.0, -0.0, 1.0, -1.0, 1e-45, -1e-45, 3e38],
    "int32": [I32MIN, -1, 0, 1, I32MAX],
    "int64": [I64MIN, -1, 0, 1, I64MAX],
    "bool": [True, False],
}
B2DATA = {  # name -> dtype -> (a, b)
    "arctan2": {
        "float": ([0.0, -0.0, 1.0, -1.0, 1.0, -1.0, 2.0, 0.0, 3.0, -3.0],
                  [1.0, 1.0, 0.0, 0.0, -1.0, -1.0, 2.0, -0.0, 4.0, -4.0]),
        "int": ([1, -1, 0, 0, 5, -7, 0], [1, 1, 1, -1, 0, -3, 0]),
    },
    "hypot": {
        "float": ([3.0, -5.0, 0.0, 1.5, 1e-3, -0.0, 7.0], [4.0, 12.0, 0.0, 2.5, 1e-3, 2.0, -24.0]),
        "int": ([3, 5, -8, 0, 1000000], [4, 12, 15, 0, 1]),
    },
    "copysign": {
        "float": ([1.0, 1.0, -2.5, 0.0, inf, 3.0, -0.0, nan], [-0.0, 0.0, 1.0, -1.0, -2.0, -inf, 5.0, -1.0]),
        "int": ([1, -2, 3, 0, 7], [-1, 1, 0, -5, -7]),
    },
    "nextafter": {
        "float": ([1.0, 1.0, 0.0, -0.0, 0.0, inf, -inf, nan, 2.5, 1e-300],
                  [2.0, 0.0, 1.0, 1.0, -0.0, 0.0, -inf, 1.0, nan, -1.0]),
        "int": ([1, 1, 0, -3, 7], [2, 0, -1, -3, 100]),
    },
    "fmod": {
        "float": ([5.5, -5.5, 5.5, -5.5, 1.0, 0.0, 3.0, -0.0, 1e30, 7.0],
                  [2.0, 2.0, -2.0, -2.0, 0.0, 1.0, inf, 2.0, 3.0, 0.75]),
        "int": ([7, -7, 7, -7, 5, 0, 1], [3, 3, -3, -3, 0, 5, -1]),
    },
    "maximum": {
        "float": ([1.0, nan, 2.0, -0.0, 0.0, inf, -inf, 3.0, nan],
                  [2.0, 1.0, nan, 0.0, -0.0, 1.0, -1.0, 3.0, nan]),
        "int": ([1, -5, 7, 0], [2, -7, 7, -1]),
    },
}
B2DATA["minimum"] = B2DATA["maximum"]
BOOL_PAIR = ([True, True, False, False], [True, False, True, False])


def define_functions():
    f = begin_file("functions", "every function on every dtype where it is defined")
    for name in F1:
        case(f, f"{name}_f64", f"{name}(a)", {"a": F64(FDATA[name])})
        case(f, f"{name}_f32", f"{name}(a)", {"a": F32(FDATA[name])})
        case(f, f"{name}_i32", f"{name}(a)", {"a": I32(IDATA32)})
        case(f, f"{name}_i64", f"{name}(a)", {"a": I64(IDATA64)})
        case(f, f"{name}_b", f"{name}(a)", {"a": B([True, False])}, dev=True)
    for name in K1:
        for d in DTYPES:
            if d == "bool" and name == "sign":
                continue  # a type error: errors.toml
            case(f, f"{name}_{SHORT[d]}", f"{name}(a)", {"a": MK[d](K1DATA[d])},
                 dev=(d == "bool" and name in ("round", "conj")))
    for name in P1:
        for d in DTYPES:
            case(f, f"{name}_{SHORT[d]}", f"{name}(a)", {"a": MK[d](P1DATA[d])})
    for name in ("arctan2", "hypot", "copysign", "nextafter", "fmod", "maximum", "minimum"):
        fa, fb = B2DATA[name]["float"]
        ia, ib = B2DATA[name]["int"]
        case(f, f"{name}_f64", f"{name}(a, b)", {"a": F64(fa), "b": F64(fb)})
        case(f, f"{name}_f32", f"{name}(a, b)", {"a": F32(fa), "b": F32(fb)})
        i32a = [I32MIN if v == 1000000 and name != "hypot" else v for v in ia]
        case(f, f"{name}_i32", f"{name}(a, b)", {"a": I32(i32a), "b": I32(ib)})
        case(f, f"{name}_i64", f"{name}(a, b)", {"a": I64(ia), "b": I64(ib)})
        if name != "fmod":
            case(f, f"{name}_b", f"{name}(a, b)", {"a": B(BOOL_PAIR[0]), "b": B(BOOL_PAIR[1])},
                 dev=name in F2)
    case(f, "fmod_i32_int_min_by_minus_one", "fmod(a, b)", {"a": I32([I32MIN, I32MIN, 7]),
                                                            "b": I32([-1, 0, 0])})
    case(f, "fmod_i64_int_min_by_minus_one", "fmod(a, b)", {"a": I64([I64MIN, I64MIN]),
                                                            "b": I64([-1, 0])})
    case(f, "arctan2_i32_f32", "arctan2(a, b)", {"a": I32([1, -2]), "b": F32([0.5, -0.5])})
    case(f, "hypot_f32_f64", "hypot(a, b)", {"a": F32([3.0, 0.1]), "b": F64([4.0, 0.2])})
    case(f, "maximum_i32_i64", "maximum(a, b)", {"a": I32([I32MAX, -1]), "b": I64([0, -2**40])})
    case(f, "minimum_b_i32", "minimum(a, b)", {"a": B([True, False]), "b": I32([0, -1])})
    case(f, "copysign_f32_i32", "copysign(a, b)", {"a": F32([1.5, 2.5]), "b": I32([-1, 0])})
    case(f, "where_f64", "where(c, a, b)", {"c": B([True, False]), "a": F64([1.0, 2.0]),
                                           "b": F64([3.0, 4.0])})
    case(f, "where_i32_i64", "where(c, a, b)", {"c": B([True, False]), "a": I32([1, 2]),
                                                "b": I64([3, 4])})
    case(f, "where_b_f32", "where(c, a, b)", {"c": B([True, False]), "a": B([True, True]),
                                              "b": F32([3.5, 4.5])})
    # compositions, including the course problems
    a01 = F64([0.0, 0.1, 0.25, 0.3, 0.5, 0.77, 0.999])
    case(f, "course_trig_identity", "sin(2*pi*a)**2 + cos(2*pi*a)**2", {"a": a01},
         note="course problem P1")
    case(f, "course_x3_plus_4siny", "x**3 + 4*sin(y)", {"x": F64([1.0, -2.0, 0.5]),
                                                       "y": F64([0.0, 1.0, -3.0])},
         note="course problem P13")
    case(f, "course_temporaries", "(2.0*a - 4.5*b) + (sin(a) + cos(b))",
         {"a": F64([0.5, 1.5, -2.0]), "b": F64([1.0, -0.25, 3.0])}, note="course problem P4")
    case(f, "course_tent", "1 - abs(1 - 4*abs((x-(x1+x2)/2)/(x2-x1)))",
         {"x": F64([-10.0, -5.0, -2.5, 0.0, 2.5, 5.0, 10.0]), "x1": S("float64", -10.0),
          "x2": S("float64", 10.0)}, note="course problem P5 initial condition")
    case(f, "course_velocity_x", "-sinlon*vlon - sinlat*coslon*vlat + coslat*coslon*vrad",
         {"sinlon": F64([0.0, 1.0]), "coslon": F64([1.0, 0.0]), "sinlat": F64([0.5], [1, 1]),
          "coslat": F64([0.8660254037844386], [1, 1]), "vlon": F64([1.0, 2.0, 3.0, 4.0], [2, 2]),
          "vlat": F64([0.5, -0.5, 1.5, -1.5], [2, 2]), "vrad": F64([2.0, 2.0, 1.0, 1.0], [2, 2])},
         note="course problem P7 (vx), small")
    case(f, "hypot_plus_sqrt", "sqrt(a**2 + b**2) + hypot(a, b)",
         {"a": F64([3.0, 5.0, 8.0]), "b": F64([4.0, 12.0, 15.0])})
    case(f, "exp_log_roundtrip", "exp(log(a))", {"a": F64([1.0, 2.0, 10.0, 0.5])})
    case(f, "arctan2_of_sin_cos", "arctan2(sin(a), cos(a))", {"a": F64([0.5, -1.0, 2.5, -3.0])})
    case(f, "degrees_of_radians", "degrees(radians(a))", {"a": F64([0.0, 90.0, -45.0, 360.0])}, ulps=4)
    case(f, "where_sqrt_signed", "where(a >= 0, sqrt(abs(a)), -sqrt(abs(a)))",
         {"a": F64([4.0, -9.0, 0.0, 2.0])})
    case(f, "funcs_of_f32_stay_f32", "sqrt(a) * exp(-a) + log1p(a)", {"a": F32([0.5, 1.0, 2.0])})
    case(f, "mixed_int_float_funcs", "sqrt(i) + floor(f)", {"i": I32([4, 9]), "f": F32([1.5, -1.5])})
    case(f, "round_abs_sign_chain", "sign(a) * round(abs(a))", {"a": F64([-2.5, 2.5, -0.0, 3.5])})
    case(f, "isnan_or_isinf", "isnan(a) | isinf(a)", {"a": F64([nan, inf, 1.0, -inf])})
    case(f, "maximum_minimum_clip", "minimum(maximum(a, 0), 1)", {"a": F64([-0.5, 0.5, 1.5, nan])})
    case(f, "signbit_of_neg_zero_product", "signbit(a * b)", {"a": F64([-0.0, 0.0, -1.0]),
                                                             "b": F64([1.0, -1.0, 0.0])})
    case(f, "funcs_in_0d", "sin(x) + cos(x)", {"x": S("float64", 0.5)})


# ---------------------------------------------------------------------------------------------- edge values
def edge64(extra=()):
    return [nan, inf, -inf, 0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308,
            -2.2250738585072014e-308, 1.0, -1.0, 0.5] + list(extra)


def edge32(extra=()):
    return [nan, inf, -inf, 0.0, -0.0, 1e-45, -1e-45, 1.1754943508222875e-38,
            -1.1754943508222875e-38, 1.0, -1.0, 0.5] + list(extra)


EDGE_EXTRA = {  # name -> (f64 extras, f32 extras)
    "sqrt": ([1e308, 4.0], [3e38, 4.0]),
    "exp": ([709.0, 710.0, -745.0, -746.0], [88.0, 89.0, -103.0, -104.0]),
    "expm1": ([709.0, 710.0, -40.0, 1e-300], [88.0, 89.0, -20.0, 1e-30]),
    "log": ([1e308], [3e38]), "log10": ([1e308, 1000.0], [3e38, 1000.0]),
    "log2": ([1e308, 1024.0], [3e38, 1024.0]), "log1p": ([1e308, -0.5], [3e38, -0.5]),
    "sinh": ([710.0, -711.0], [89.0, -90.0]), "cosh": ([710.0, -711.0], [89.0, -90.0]),
    "tanh": ([20.0, -20.0], [10.0, -10.0]), "arcsinh": ([1e308, -1e308], [3e38, -3e38]),
    "arccosh": ([1e308], [3e38]), "arctan": ([1e308, -1e308], [3e38, -3e38]),
    "radians": ([1e308], [3e38]), "degrees": ([1e308, 1e306], [3e38, 1e36]),
}


def define_edge_values():
    f = begin_file("edge_values", "nan, +-0, +-inf, subnormals, extremes for each function and "
                   "operator, float64 and float32")
    for name in F1:
        x64, x32 = EDGE_EXTRA.get(name, ((), ()))
        case(f, f"{name}_f64", f"{name}(a)", {"a": F64(edge64(x64))})
        case(f, f"{name}_f32", f"{name}(a)", {"a": F32(edge32(x32))})
    for name in ("sin", "cos", "tan"):
        case(f, f"{name}_f64_huge_args", f"{name}(a)",
             {"a": F64([1e22, -1e22, 1.7976931348623157e308, 2.0**60, 1e6 * math.pi])},
             note="needs full-range argument reduction (as libm)")
        case(f, f"{name}_f32_huge_args", f"{name}(a)",
             {"a": F32([1e22, -1e22, 3.4028234663852886e38, 2.0**60, 1e6])})
    for name in K1:
        case(f, f"{name}_f64", f"{name}(a)", {"a": F64(edge64([1e308, -1e308, 2.5, -2.5, 0.5000000000000001]))})
        case(f, f"{name}_f32", f"{name}(a)", {"a": F32(edge32([3e38, -3e38, 2.5, -2.5, 8388607.5]))})
    for name in P1:
        case(f, f"{name}_f64", f"{name}(a)", {"a": F64(edge64([1.7976931348623157e308]))})
        case(f, f"{name}_f32", f"{name}(a)", {"a": F32(edge32([3.4028234663852886e38]))})
    # binary functions and operators over a grid of special values
    sp = [nan, inf, -inf, 0.0, -0.0, 1.0, -1.0, 5e-324]
    sp32 = [nan, inf, -inf, 0.0, -0.0, 1.0, -1.0, 1e-45]
    ga = [x for x in sp for _ in sp]
    gb = [y for _ in sp for y in sp]
    ga32 = [x for x in sp32 for _ in sp32]
    gb32 = [y for _ in sp32 for y in sp32]
    for ex, nm in (("a + b", "add"), ("a - b", "sub"), ("a * b", "mul"), ("a / b", "div"),
                   ("a // b", "floordiv"), ("a % b", "mod"), ("a ** b", "pow"),
                   ("arctan2(a, b)", "arctan2"), ("hypot(a, b)", "hypot"), ("fmod(a, b)", "fmod"),
                   ("nextafter(a, b)", "nextafter"),
                   ("maximum(a, b)", "maximum"), ("minimum(a, b)", "minimum"),
                   ("a < b", "lt"), ("a == b", "eq"), ("a >= b", "ge"), ("a != b", "ne")):
        case(f, f"{nm}_f64_grid", ex, {"a": F64(ga, [8, 8]), "b": F64(gb, [8, 8])})
        case(f, f"{nm}_f32_grid", ex, {"a": F32(ga32, [8, 8]), "b": F32(gb32, [8, 8])})
    case(f, "copysign_f64_grid", "copysign(a, b)",
         {"a": F64([x for x in sp[1:] for _ in sp[1:]], [7, 7]),
          "b": F64([y for _ in sp[1:] for y in sp[1:]], [7, 7])},
         note="no nan sign operands: a nan's sign bit is not portable through TOML")
    case(f, "mod_tiny_negative_rounds_to_divisor", "a % b", {"a": F64([-1e-20, 1e-20, -5.0, 5.0]),
                                                            "b": F64([1.0, -1.0, inf, -inf])},
         note="NumPy/Python floor-mod: -1e-20 % 1.0 == 1.0, -5 % inf == inf")
    case(f, "floordiv_by_inf", "a // b", {"a": F64([5.0, -5.0, inf, 0.0]),
                                         "b": F64([inf, inf, 1.0, -inf])})
    case(f, "div_f32_subnormal_results", "a / b", {"a": F32([1e-38, 1.0, 3e38]),
                                                  "b": F32([1e5, 3e38, 1e-5])})
    case(f, "mul_f64_underflow_to_subnormal", "a * b", {"a": F64([1e-300, 1e-300, -1e-160]),
                                                       "b": F64([1e-10, 1e-30, 1e-160])})
    case(f, "add_f64_overflow", "a + b", {"a": F64([1.7976931348623157e308, -1.7976931348623157e308]),
                                         "b": F64([1.7976931348623157e308, -1e292])})
    case(f, "round_f64_half_even_large", "round(a)", {"a": F64([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, 2**52 + 0.5 - 0.5, 1e16 + 2])})
    case(f, "sign_f64_specials", "sign(a)", {"a": F64([nan, -0.0, 0.0, -inf, 5e-324, -5e-324])})
    case(f, "sign_f32_specials", "sign(a)", {"a": F32([nan, -0.0, 0.0, inf, 1e-45, -1e-45])})
    case(f, "maximum_zero_ties", "maximum(a, b)", {"a": F64([-0.0, 0.0]), "b": F64([0.0, -0.0])},
         note="ties of signed zeros give the second operand (NumPy)")
    case(f, "minimum_zero_ties", "minimum(a, b)", {"a": F64([-0.0, 0.0]), "b": F64([0.0, -0.0])})
    case(f, "maximum_zero_ties_f32", "maximum(a, b)", {"a": F32([-0.0, 0.0]), "b": F32([0.0, -0.0])})
    case(f, "abs_int_min", "abs(a)", {"a": I32([I32MIN, -1])}, note="abs(INT_MIN) wraps to INT_MIN")
    case(f, "abs_int64_min", "abs(a)", {"a": I64([I64MIN, -1])})
    case(f, "int64_to_f64_conversion", "sqrt(a)", {"a": I64([2**53 + 1, I64MAX, I64MIN])})
    case(f, "nan_literal_propagates", "a + nan * 0", {"a": F32([1.0, inf])})
    case(f, "inf_times_zero", "a * 0", {"a": F64([inf, -inf, 1.0, -1.0])})


# ---------------------------------------------------------------------------------------------- broadcast
def define_broadcast():
    f = begin_file("broadcast", "broadcasting between ranks 0..8 and empty arrays")
    ar = lambda d, shape: MK[d](np.arange(1, int(np.prod(shape)) + 1).tolist() if d != "bool" else
                                [bool(i % 2) for i in range(int(np.prod(shape)))], list(shape))
    case(f, "0d_plus_2d", "a + b", {"a": S("float64", 0.5), "b": F64([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3])})
    case(f, "2d_times_0d", "a * b", {"a": I32([1, 2, 3, 4, 5, 6], [2, 3]), "b": S("int32", -2)})
    case(f, "0d_plus_0d", "a + b", {"a": S("int64", 5), "b": S("int64", 6)})
    case(f, "col_plus_row", "a + b", {"a": F64([1.0, 2.0, 3.0], [3, 1]), "b": F64([10.0, 20.0, 30.0, 40.0], [1, 4])})
    case(f, "row_times_col", "a * b", {"a": I64([1, 2, 3, 4], [4]), "b": I64([1, 10, 100], [3, 1])})
    case(f, "rank3_plus_rank2", "a + b", {"a": ar("float32", (2, 1, 3)), "b": ar("float32", (4, 3))})
    case(f, "ones_broadcast_1", "a - b", {"a": F64([1.0], [1]), "b": F64([1.0, 2.0, 3.0, 4.0, 5.0])})
    case(f, "ones_broadcast_2", "a - b", {"a": F64([1.0, 2.0, 3.0, 4.0, 5.0]), "b": F64([1.0], [1])})
    case(f, "rank5_with_ones", "a * b", {"a": ar("int32", (2, 1, 3, 1, 2)), "b": ar("int32", (1, 4, 1, 5, 1))})
    case(f, "rank8_outer", "a * b + c", {"a": ar("float64", (1, 2, 1, 2, 1, 2, 1, 2)),
                                         "b": ar("float64", (2, 1, 2, 1, 2, 1, 2, 1)),
                                         "c": S("float64", 0.5)})
    case(f, "rank8_reduce_last_axis", "sum(a * b, axis=-1)",
         {"a": ar("int64", (2, 1, 2, 1, 2, 1, 2, 3)), "b": ar("int64", (1, 2, 1, 2, 1, 2, 1, 3))})
    case(f, "rank8_plus_rank1", "a + b", {"a": ar("int32", (1, 1, 1, 1, 1, 1, 2, 3)), "b": ar("int32", (3,))})
    case(f, "rank4_bool_and", "a & b", {"a": ar("bool", (2, 1, 3, 1)), "b": ar("bool", (1, 2, 1, 2))})
    case(f, "where_three_shapes", "where(c, x, y)", {"c": B([True, False, True], [3, 1]),
                                                     "x": F64([1.0, 2.0, 3.0, 4.0], [1, 4]),
                                                     "y": S("float64", -1.0)})
    case(f, "where_cond_0d", "where(c, x, y)", {"c": S("bool", False), "x": I32([1, 2]), "y": I32([3, 4])})
    case(f, "arctan2_col_row", "arctan2(a, b)", {"a": F64([1.0, -1.0, 0.5], [3, 1]), "b": F64([1.0, -2.0])},
         note="(3,1) with (2,)")
    case(f, "maximum_rank3_rank1", "maximum(a, b)", {"a": ar("int64", (2, 1, 3)), "b": I64([2, 4, 6])})
    case(f, "minus_mean_axis0", "a - mean(a, axis=0)", {"a": F64([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0], [3, 4])})
    case(f, "sum_axis1_over_max", "sum(a, axis=1) / max(a)", {"a": F64([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3])})
    case(f, "col_minus_row_compare", "a - b < 0", {"a": I32([1, 2, 3], [3, 1]), "b": I32([2, 2], [2])})
    case(f, "empty_plus_empty", "a + b", {"a": F64([], [0]), "b": F64([], [0])})
    case(f, "empty_plus_0d", "a + b", {"a": I32([], [0]), "b": S("int32", 1)})
    case(f, "empty_2d_plus_col", "a * b", {"a": F64([], [3, 0]), "b": F64([1.0, 2.0, 3.0], [3, 1])})
    case(f, "empty_2d_plus_empty_row", "a * b", {"a": F32([], [3, 0]), "b": F32([], [0])})
    case(f, "empty_row_with_col", "a + b", {"a": I64([], [1, 0]), "b": I64([1, 2, 3], [3, 1])})
    case(f, "sin_of_empty", "sin(a)", {"a": F64([], [0])})
    case(f, "where_of_empty", "where(a > 0, a, b)", {"a": F64([], [2, 0]), "b": S("float64", 1.0)})
    case(f, "compare_empty", "a < b", {"a": I32([], [0, 3]), "b": I32([1, 2, 3])})
    case(f, "empty_sum", "sum(a)", {"a": F64([], [0])})
    case(f, "empty_prod", "prod(a)", {"a": I32([], [3, 0])})
    case(f, "empty_any", "any(a)", {"a": B([], [0])})
    case(f, "empty_all", "all(a)", {"a": B([], [0])})
    case(f, "empty_mean_is_nan", "mean(a)", {"a": F64([], [0])})
    case(f, "empty_sum_axis1", "sum(a, axis=1)", {"a": F64([], [3, 0])})
    case(f, "empty_sum_axis0", "sum(a, axis=0)", {"a": F64([], [3, 0])})
    case(f, "empty_mean_axis1", "mean(a, axis=1)", {"a": F32([], [3, 0])})
    case(f, "empty_min_axis0_ok", "min(a, axis=0)", {"a": I32([], [3, 0])},
         note="reduces the length-3 axis: an empty result, not an error")
    case(f, "empty_max_axis0_ok", "max(a, axis=0)", {"a": F64([], [3, 0])})
    case(f, "empty_any_axis1", "any(a, axis=1)", {"a": F64([], [2, 0])})
    case(f, "empty_all_axis1", "all(a, axis=1)", {"a": I64([], [2, 0])})


# ---------------------------------------------------------------------------------------------- strides
def define_strides():
    f = begin_file("strides", "strided, negative-stride and Fortran-order inputs (views of the "
                   "given data)")
    r12 = list(range(12))
    f12 = [float(v) for v in r12]
    case(f, "step2_plus_reversed", "a + b", {"a": F64(f12, view="::2"), "b": F64(f12[:6], view="::-1")})
    case(f, "range_step", "a * 10", {"a": I32(r12, view="1:9:3")})
    case(f, "negative_step_with_bounds", "a - 1", {"a": I64(r12, view="9:2:-2")},
         note="NumPy slicing: a negative step with explicit bounds. ndarray's Slice{start, end, step}\n"
              "means something else; the harness must convert (see README)")
    case(f, "negative_start", "a + 0.5", {"a": F64(f12, view="-1::-3")},
         note="NumPy slicing: a negative step with explicit bounds. ndarray's Slice{start, end, step}\n"
              "means something else; the harness must convert (see README)")
    case(f, "negative_start_stop", "a * 2", {"a": F32(f12, view="-5:-1")})
    case(f, "stop_only", "-a", {"a": I32(r12, view=":-7")})
    case(f, "step_larger_than_extent", "a + 1", {"a": F64(f12, view="::20")})
    case(f, "empty_view", "a + 1", {"a": F64(f12, view="3:3")})
    case(f, "empty_view_2d", "a * 2", {"a": I32(r12, [3, 4], view="2:2, :")})
    case(f, "2d_step_reverse", "a * 2", {"a": F64(list(map(float, range(24))), [4, 6], view="::2, ::-1")})
    case(f, "2d_reverse_both", "a - b", {"a": I32(r12, [3, 4], view="::-1, ::-1"), "b": I32(r12, [3, 4])})
    case(f, "2d_inner_slice", "a + b", {"a": F32(list(map(float, range(20))), [4, 5], view="1:3, 1:4"),
                                        "b": F32([0.5] * 6, [2, 3])})
    case(f, "3d_mixed_view", "a * 3", {"a": I64(list(range(60)), [3, 4, 5], view="::-1, 1:, ::2")})
    case(f, "3d_view_plus_view", "a + b",
         {"a": F64(list(map(float, range(24))), [2, 3, 4], view=":, ::-1, 1:3"),
          "b": F64(list(map(float, range(100, 124))), [2, 3, 4], view="::-1, :, ::2")})
    case(f, "fortran_2d", "a * 2 + 1", {"a": F64(list(map(float, range(6))), [2, 3], order="F")})
    case(f, "fortran_plus_c", "a - b", {"a": I32(list(range(12)), [3, 4], order="F"),
                                        "b": I32(list(range(12)), [3, 4])})
    case(f, "fortran_3d", "sqrt(a)", {"a": F64(list(map(float, range(24))), [2, 3, 4], order="F")})
    case(f, "fortran_with_view", "a + 1", {"a": I64(list(range(20)), [4, 5], order="F", view="1:, ::-2")})
    case(f, "fortran_broadcast_row", "a * b", {"a": F32(list(map(float, range(12))), [3, 4], order="F"),
                                               "b": F32([1.0, 10.0, 100.0, 1000.0])})
    case(f, "view_broadcast", "a + b", {"a": F64(list(map(float, range(24))), [4, 6], view="::2, :"),
                                        "b": F64(list(map(float, range(6))), [6], view="::-1")})
    case(f, "view_col_broadcast", "a * b", {"a": I32(r12, [12, 1], view="::4, :"),
                                            "b": I32([1, 2, 3])})
    case(f, "bool_view", "a & b", {"a": B([bool(i % 3) for i in range(12)], view="::-2"),
                                   "b": B([bool(i % 2) for i in range(6)])})
    case(f, "where_views", "where(c, x, y)", {"c": B([True, False] * 4, view="::-1"),
                                              "x": F64(list(map(float, range(16))), view="::2"),
                                              "y": F64(list(map(float, range(8))), view="::-1")})
    case(f, "same_var_twice", "a * a + a", {"a": I32(r12, [3, 4], view="::-1, 1::2")})
    case(f, "sum_axis0_of_view", "sum(a, axis=0)", {"a": F64(list(map(float, range(24))), [4, 6], view="::-1, ::2")})
    case(f, "sum_axis1_of_view", "sum(a, axis=1)", {"a": I32(list(range(24)), [4, 6], view="1:, ::-1")})
    case(f, "mean_fortran_axis1", "mean(a, axis=1)", {"a": F64(list(map(float, range(12))), [3, 4], order="F")})
    case(f, "min_negative_stride", "min(a)", {"a": I64([5, 3, 9, -4, 7, 1], view="::-1")})
    case(f, "max_axis_neg1_view", "max(a, axis=-1)", {"a": F32(list(map(float, range(30))), [5, 6], view="::2, 4:0:-1")},
         note="NumPy slicing: a negative step with explicit bounds. ndarray's Slice{start, end, step}\n"
              "means something else; the harness must convert (see README)")
    case(f, "any_view", "any(a > 10, axis=0)", {"a": I32(r12, [3, 4], view=":, ::-1")})
    case(f, "prod_view_3d", "prod(a, axis=1)", {"a": I64(list(range(1, 25)), [2, 3, 4], view=":, ::-1, ::3")})


# ---------------------------------------------------------------------------------------------- reductions
def define_reductions():
    f = begin_file("reductions", "sum prod min max mean any all: dtypes, every axis, NaN, "
                   "use inside expressions")
    rdata = {
        "bool": [True, False, True, True, False, True],
        "int32": [3, -1, 4, 1, -5, 9],
        "int64": [3, -1, 4, 1, -5, 9],
        "float32": [0.5, -1.25, 4.0, 1.0, -5.5, 9.0],
        "float64": [0.5, -1.25, 4.0, 1.0, -5.5, 9.0],
    }
    for name in RED:
        for d in DTYPES:
            case(f, f"{name}_{SHORT[d]}", f"{name}(a)", {"a": MK[d](rdata[d], [2, 3])})
    case(f, "mean_f32_inexact", "mean(a)", {"a": F32([0.1, 0.2, 0.3, 0.7, 1e-3])})
    case(f, "sum_f64_inexact", "sum(a)", {"a": F64([0.1, 0.2, 0.3, 1e-17, 3.3, -0.7, 1e3])})
    case(f, "sum_i32_to_i64_no_wrap", "sum(a)", {"a": I32([I32MAX, I32MAX, I32MAX])})
    case(f, "sum_i64_wraps", "sum(a)", {"a": I64([I64MAX, 1, 1])})
    case(f, "prod_i64_wraps", "prod(a)", {"a": I64([2**40, 2**30, 3])})
    case(f, "prod_i32_to_i64", "prod(a)", {"a": I32([65536, 65536, 3])})

    a1 = {"a": F64([3.0, -1.0, 4.0, 1.0, -5.0])}
    for name in RED:
        case(f, f"{name}_1d_axis0", f"{name}(a, axis=0)", a1)
        case(f, f"{name}_1d_axis_neg1", f"{name}(a, axis=-1)", a1)
    a2 = {"a": I32([3, -1, 4, 1, -5, 9, 2, -6, 5, 3, 0, 8], [3, 4])}
    for name in RED:
        for ax in (0, 1, -1, -2):
            case(f, f"{name}_2d_axis{ax}".replace("-", "neg"), f"{name}(a, axis={ax})", a2)
    a3 = {"a": F64([float((i * 7) % 11 - 5) for i in range(24)], [2, 3, 4])}
    for name in ("sum", "prod", "min", "max", "mean", "any", "all"):
        for ax in (0, 1, 2, -1, -3):
            case(f, f"{name}_3d_axis{ax}".replace("-", "neg"), f"{name}(a, axis={ax})", a3)
    case(f, "sum_3d_all", "sum(a)", a3)
    case(f, "any_3d_bool_axis1", "any(a, axis=1)", {"a": B([bool((i * 5) % 7 == 0) for i in range(24)], [2, 3, 4])})
    case(f, "all_3d_bool_axis_neg1", "all(a, axis=-1)", {"a": B([(i % 5) != 0 for i in range(24)], [2, 3, 4])})

    nanv = {"a": F64([1.0, nan, 3.0, -inf, 2.0, 0.0], [2, 3])}
    case(f, "max_propagates_nan", "max(a)", nanv)
    case(f, "min_propagates_nan", "min(a)", nanv)
    case(f, "max_nan_axis0", "max(a, axis=0)", nanv)
    case(f, "min_nan_axis1", "min(a, axis=1)", nanv)
    case(f, "sum_nan_axis1", "sum(a, axis=1)", nanv)
    case(f, "mean_nan_axis0", "mean(a, axis=0)", nanv)
    case(f, "any_nan_is_true", "any(a)", {"a": F64([0.0, nan, -0.0])})
    case(f, "all_with_neg_zero", "all(a)", {"a": F32([1.0, -0.0, nan])})
    case(f, "sum_inf_minus_inf", "sum(a)", {"a": F64([inf, -inf, 1.0])})
    case(f, "max_f32_inf", "max(a)", {"a": F32([-inf, -3e38, -inf])})
    case(f, "min_i64_extremes", "min(a)", {"a": I64([I64MAX, I64MIN, 0])})
    case(f, "max_bool", "max(a, axis=0)", {"a": B([False, False, True, False], [2, 2])})
    case(f, "sum_0d", "sum(x)", {"x": S("float64", 2.5)})
    case(f, "max_0d", "max(x)", {"x": S("int32", -3)})
    case(f, "mean_0d", "mean(x)", {"x": S("int32", 7)})
    case(f, "any_0d", "any(x)", {"x": S("float32", 0.0)})

    m = {"a": F64([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.5], [3, 4])}
    case(f, "center_columns", "a - mean(a, axis=0)", m)
    case(f, "neg_sum", "-sum(a)", m)
    case(f, "norm", "sqrt(sum(x**2))", {"x": F64([3.0, 4.0, 12.0])})
    case(f, "sum_axis1_over_max", "sum(a, axis=1) / max(a)", m)
    case(f, "range_per_row", "max(a, axis=1) - min(a, axis=1)", m)
    case(f, "nested_sums", "sum(sum(a, axis=0))", m)
    case(f, "mean_of_bool", "mean(a > 4)", m)
    case(f, "sum_of_bool_is_count", "sum(a > 4)", m)
    case(f, "dot_rows", "sum(a * b, axis=-1)", {"a": F64([1.0, 2.0, 3.0, 4.0], [2, 2]),
                                                "b": F64([0.5, 0.25, -1.0, 2.0], [2, 2])})
    case(f, "any_isnan_axis0", "any(isnan(a), axis=0)", {"a": F64([1.0, nan, 3.0, 4.0], [2, 2])})
    case(f, "all_positive_axis1", "all(a > 0, axis=1)", {"a": I32([1, 2, -3, 4], [2, 2])})
    case(f, "sum_where", "sum(where(a > 0, a, 0))", {"a": I64([3, -1, 4, -1, 5])})
    case(f, "prod_plus_one_axis0", "prod(a + 1, axis=0)", {"a": I32([1, 2, 3, 4, 5, 6], [2, 3])})
    case(f, "mean_times_two", "mean(a, axis=0) * 2", {"a": F32([1.0, 2.0, 3.0, 4.0], [2, 2])})
    case(f, "two_sums", "sum(a) + sum(b)", {"a": I32([1, 2]), "b": F64([0.5, 0.25])})
    case(f, "min_equals", "min(a) == a", {"a": I32([4, 2, 2, 7])})
    case(f, "max_abs_diff", "max(abs(a - b))", {"a": F64([1.0, 5.0, -3.0]), "b": F64([1.5, 2.0, -3.0])})
    case(f, "sum_over_count_equals_mean", "sum(a) / 4 - mean(a)", {"a": F64([1.0, 2.0, 3.0, 6.0])})
    case(f, "area_under_curve", "sum((0.7*x**3 - 2*x**2 + 4)*dx)",
         {"x": F64([i * 0.3 for i in range(10)]), "dx": S("float64", 0.3)}, note="course problem P9, small")
    case(f, "axis_sums_course", "sum(c, axis=0) + sum(c, axis=1)",
         {"c": F64([float(i) for i in range(9)], [3, 3])}, note="course problem P11, small")
    case(f, "sum_f32_axis0", "sum(a, axis=0)", {"a": F32([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [3, 2])})
    case(f, "prod_f64_axis1", "prod(a, axis=1)", {"a": F64([1.5, 2.0, -0.5, 1e200, 1e200, 1.0], [2, 3])})
    case(f, "reduction_of_broadcast", "sum(a + b, axis=0)", {"a": F64([1.0, 2.0, 3.0], [3, 1]),
                                                             "b": F64([10.0, 20.0])})
    case(f, "mean_i64_large", "mean(a)", {"a": I64([I64MAX, I64MAX])},
         note="mean converts to float64 before summing (NumPy): no wrap")


# ---------------------------------------------------------------------------------------------- errors
def define_errors():
    f = begin_file("errors", "error kinds and spans")
    abc = {"a": F64([1.0, 2.0]), "b": F64([3.0, 4.0]), "c": F64([5.0, 6.0])}
    E = lambda name, expr, kind, at, vars=abc, nth=0, note=None: case(
        f, name, expr, vars, error=kind, at=at, nth=nth, note=note)
    # syntax: only clear situations
    E("syntax_trailing_operator", "1 +", "syntax", END)
    E("syntax_trailing_operator_var", "a *", "syntax", END)
    E("syntax_chained_comparison", "a < b < c", "syntax", "a < b < c")
    E("syntax_chained_comparison_mixed", "a < b == c", "syntax", "a < b == c")
    E("syntax_unclosed_paren", "(a + 1", "syntax", "(")
    E("syntax_unclosed_outer_paren", "2 * (a - (b + 1)", "syntax", "(", nth=0)
    E("syntax_unknown_char_dollar", "a $ b", "syntax", "$")
    E("syntax_unknown_char_question", "a + ?b", "syntax", "?")
    E("syntax_keyword_if", "if", "syntax", "if")
    E("syntax_keyword_after_operator", "1 + if", "syntax", "if")
    # unknown names and functions
    E("unknown_name", "b + 1", "unknown_name", "b", {"a": F64([1.0])})
    E("unknown_name_near_constant", "a * pi2", "unknown_name", "pi2", {"a": F64([1.0])})
    E("unknown_name_in_call", "sin(x) + a", "unknown_name", "x", {"a": F64([1.0])})
    E("unknown_name_case_sensitive", "a + Pi", "unknown_name", "Pi", {"a": F64([1.0])})
    E("unknown_function", "foo(a)", "unknown_function", "foo")
    E("unknown_function_nested", "2 * sine(a)", "unknown_function", "sine")
    E("unknown_function_cbrt", "sqrt(a) + cbrt(a)", "unknown_function", "cbrt")
    E("unknown_function_median", "median(a, axis=0)", "unknown_function", "median")
    # arity and keywords
    E("arity_too_many", "sin(a, b)", "arity", "sin(a, b)")
    E("arity_too_few", "1 + arctan2(a)", "arity", "arctan2(a)")
    E("arity_where_two", "where(a > 0, a)", "arity", "where(a > 0, a)")
    E("arity_sum_empty", "sum()", "arity", "sum()")
    E("arity_hypot_three", "hypot(a, b, c)", "arity", "hypot(a, b, c)")
    E("unknown_keyword", "sum(a, axes=0)", "arity", "axes")
    E("keyword_on_elementwise", "sin(a, axis=0)", "arity", "axis")
    E("unknown_keyword_keepdims", "max(a, keepdims=1)", "arity", "keepdims")
    # type errors: one per (op, dtype) where undefined
    bb = {"a": B([True, False]), "b": B([True, True])}
    E("type_sub_bool_bool", "a - b", "type", "a - b", bb)
    E("type_sub_bool_literal", "a - True", "type", "a - True", bb)
    E("type_neg_bool", "-a", "type", "-a", bb)
    E("type_pos_bool", "+a", "type", "+a", bb, note="NumPy has no positive loop for bool")
    E("type_sign_bool", "sign(a)", "type", "sign(a)", bb)
    E("type_sign_bool_nested", "2 * sign(a)", "type", "sign(a)", bb)
    for d in FLOATS:
        v = {"a": MK[d]([1.0, 2.0]), "b": MK[d]([3.0, 4.0]), "i": I32([1, 2])}
        s = SHORT[d]
        E(f"type_invert_{s}", "~a", "type", "~a", v)
        E(f"type_and_{s}", "a & b", "type", "a & b", v)
        E(f"type_or_{s}", "a | b", "type", "a | b", v)
        E(f"type_xor_{s}", "a ^ b", "type", "a ^ b", v)
        E(f"type_shl_{s}", "a << b", "type", "a << b", v)
        E(f"type_shr_{s}", "a >> b", "type", "a >> b", v)
        E(f"type_shl_int_by_{s}", "i << a", "type", "i << a", v)
        E(f"type_and_int_{s}", "i & a", "type", "i & a", v)
    iv = {"a": I32([1, 2]), "b": F64([1.0, 2.0])}
    E("type_shl_float_literal", "a << 1.5", "type", "a << 1.5", iv)
    E("type_and_float_literal", "a & 1.5", "type", "a & 1.5", iv)
    E("type_invert_inside", "sqrt(a) + ~b", "type", "~b", iv)
    E("type_shr_weak_int_by_float", "1 >> b", "type", "1 >> b", iv)
    E("type_literal_too_big_for_i32", "a + 3000000000", "type", "3000000000", iv)
    E("type_literal_too_big_mul", "a * 2147483648", "type", "2147483648", iv)
    E("type_literal_too_big_mod", "a % 4294967296", "type", "4294967296", iv)
    E("type_literal_too_big_in_call", "maximum(a, 3000000000)", "type", "3000000000", iv)
    # broadcast
    E("broadcast_1d", "a + b", "broadcast", "a + b", {"a": F64([1.0, 2.0, 3.0]), "b": F64([1.0] * 4)})
    E("broadcast_2d", "a * b", "broadcast", "a * b",
      {"a": F64([1.0] * 6, [2, 3]), "b": F64([1.0] * 6, [3, 2])})
    E("broadcast_inner", "a + b * c", "broadcast", "b * c",
      {"a": F64([1.0] * 3), "b": F64([1.0] * 3), "c": F64([1.0] * 2)})
    E("broadcast_outer", "a + b * c", "broadcast", "a + b * c",
      {"a": F64([1.0] * 2), "b": F64([1.0] * 3), "c": F64([1.0] * 3)})
    E("broadcast_in_function_arg", "sin(a + b)", "broadcast", "a + b",
      {"a": F64([1.0] * 3), "b": F64([1.0] * 2)})
    E("broadcast_where", "where(c, a, b)", "broadcast", "where(c, a, b)",
      {"c": B([True] * 3), "a": F64([1.0] * 3), "b": F64([1.0] * 4)})
    E("broadcast_maximum", "maximum(a, b)", "broadcast", "maximum(a, b)",
      {"a": I32([1] * 6, [2, 3]), "b": I32([1, 2])})
    E("broadcast_row_mean", "a - mean(a, axis=1)", "broadcast", "a - mean(a, axis=1)",
      {"a": F64([1.0] * 12, [3, 4])}, note="(3,4) - (3,): the reduced axis must be kept by hand")
    E("broadcast_empty_vs_two", "a + b", "broadcast", "a + b", {"a": F64([], [0]), "b": F64([1.0, 2.0])})
    # axis
    m2 = {"a": F64([1.0] * 6, [2, 3])}
    E("axis_too_large", "sum(a, axis=2)", "axis", "2", m2)
    E("axis_too_negative", "mean(a, axis=-3)", "axis", "-3", m2)
    E("axis_1d", "max(a, axis=1)", "axis", "1", {"a": F64([1.0, 2.0])})
    E("axis_3d", "any(a > 0, axis=3)", "axis", "3", {"a": F64([1.0] * 8, [2, 2, 2])})
    E("axis_0d_sum", "sum(x, axis=1)", "axis", "1", {"x": S("float64", 1.0)})
    E("axis_0d_mean", "mean(x, axis=0)", "axis", "0", {"x": S("float64", 1.0)})
    E("axis_inside_expression", "1 + prod(a, axis=-5)", "axis", "-5", m2)
    # negative power
    E("negative_power_i32", "a ** -1", "negative_power", "a ** -1", {"a": I32([1, 2])})
    E("negative_power_i64_nested", "2 * a ** -3", "negative_power", "a ** -3", {"a": I64([1, 2])})
    E("negative_power_in_sum", "sum(a ** -2) + 1", "negative_power", "a ** -2", {"a": I32([1, 2])})
    # value
    E("min_of_empty", "min(a)", "value", "min(a)", {"a": F64([], [0])})
    E("max_of_empty_i32", "max(a)", "value", "max(a)", {"a": I32([], [0])})
    E("min_of_empty_inside", "1 + min(a)", "value", "min(a)", {"a": F64([], [0])})
    E("max_of_empty_axis1", "max(a, axis=1)", "value", "max(a, axis=1)", {"a": F64([], [3, 0])})
    E("min_of_empty_view", "min(a)", "value", "min(a)", {"a": F64([1.0, 2.0, 3.0], view="2:1")})


# ---------------------------------------------------------------------------------------------- generators
def define_generators():
    f = begin_file("generators", "arange and linspace (never materialized), new axes on expressions")
    n = lambda v, d="int64": {"n": S(d, v)}
    # arange: NumPy's lengths and dtypes; floats use NumPy's fill loop start + i*((start+step)-start)
    case(f, "arange_stop", "arange(5)")
    case(f, "arange_start_stop", "arange(-2, 3)")
    case(f, "arange_step", "arange(2, 10, 3)")
    case(f, "arange_negative_step", "arange(10, 0, -3)")
    case(f, "arange_empty", "arange(5, 1)")
    case(f, "arange_empty_negative_stop", "arange(-3)")
    case(f, "arange_float_stop", "arange(3.0)")
    case(f, "arange_float_half", "arange(0.5, 3, 0.5)")
    case(f, "arange_float_fill_loop", "arange(0.1, 2.3, 0.3)",
         note="element i is 0.1 + i*((0.1 + 0.3) - 0.1), which differs from 0.1 + i*0.3")
    case(f, "arange_float_tenth", "arange(1, 2, 0.1)")
    case(f, "arange_float_negative", "arange(1.5, -1.5, -0.25)")
    case(f, "arange_constant_expressions", "arange(-90, 2*45 + 1, 30)")
    case(f, "arange_pi", "arange(0, 2*pi, pi/4)")
    case(f, "arange_near_2_53", "arange(9007199254740990, 9007199254740995)")
    case(f, "arange_near_2_53_to_float", "arange(9007199254740990, 9007199254740995) * 1.0")
    case(f, "arange_var", "arange(n)", n(7))
    case(f, "arange_var_zero", "arange(n)", n(0))
    case(f, "arange_var_i32", "arange(k, 3*k, k)", {"k": S("int32", 2)})
    case(f, "arange_var_f32_is_f64", "arange(x)", {"x": S("float32", 2.5)})
    case(f, "arange_var_step", "arange(1, 2, s)", {"s": S("float64", 0.125)})
    case(f, "arange_times_float", "arange(5) * 2.5")
    case(f, "arange_floordiv", "arange(-5, 5) // 3")
    case(f, "arange_plus_i32_array", "arange(3) + a", {"a": I32([10, 20, 30])})
    case(f, "arange_in_where", "where(arange(8) % 3 == 0, arange(8), -1)")
    case(f, "sum_arange_var", "sum(arange(n))", n(1001))
    case(f, "mean_arange_var", "mean(arange(n) % 7)", n(100))
    # linspace: i*step + start, the last of num > 1 points exactly `stop`
    case(f, "linspace_quarters", "linspace(0, 1, 5)")
    case(f, "linspace_end_pinned_48", "linspace(0, 3, 48)",
         note="47 * (3/47) is 2.9999999999999996: NumPy sets the last point to 3 exactly")
    case(f, "linspace_end_pinned_95", "linspace(0, 3, 95)")
    case(f, "linspace_var_end_pinned", "linspace(0, 3, n)", n(48))
    case(f, "linspace_var_i32", "linspace(0, 3, n)", n(95, "int32"))
    case(f, "linspace_decreasing", "linspace(2, -1, 7)")
    case(f, "linspace_tenths", "linspace(0.1, 0.7, 7)")
    case(f, "linspace_default_num", "linspace(-1, 1)")
    case(f, "linspace_one", "linspace(-1, 1, 1)")
    case(f, "linspace_zero", "linspace(3, 5, 0)")
    case(f, "linspace_constant", "linspace(5, 5, 4)")
    case(f, "linspace_negative_zero_start", "linspace(-0.0, 1, 3)")
    case(f, "linspace_huge_range", "linspace(-1e300, 1e300, 9)")
    case(f, "linspace_to_inf", "linspace(0, inf, 3)")
    case(f, "linspace_nan", "linspace(0, nan, 3)")
    case(f, "linspace_var_bounds", "linspace(lo, hi, n)",
         {"lo": S("float64", -0.3), "hi": S("float64", 1.7), "n": S("int64", 13)})
    case(f, "linspace_var_one", "linspace(lo, hi, n)",
         {"lo": S("float64", 2.5), "hi": S("float64", 4.0), "n": S("int64", 1)})
    case(f, "linspace_f32_bound", "linspace(x, 1, 3)", {"x": S("float32", 0.1)}, dev=True,
         note="NumPy gives float32 when a bound is a float32 scalar; numjit's generators are float64")
    case(f, "sin_linspace", "sin(linspace(0, pi, 9))")
    case(f, "linspace_times_array", "linspace(-1, 1, 4) * a", {"a": F32([1.0, 2.0, 3.0, 4.0])})
    case(f, "mean_linspace", "mean(linspace(0, 1, 101))")
    case(f, "area_under_curve", "sum((0.7*linspace(0, 3, n)**3 - 2*linspace(0, 3, n)**2 + 4)*dx)",
         {"n": S("int64", 3001), "dx": S("float64", 0.001)}, note="course problem P9, no x array")
    # new axes on expressions
    ab = {"a": F64([1.0, 2.0, 3.0]), "b": F64([0.5, -1.0, 2.0, 4.0, 0.25, 8.0], [2, 3])}
    case(f, "outer_linspace_arange", "linspace(-1, 1, 5)[:, None] * arange(3)")
    case(f, "grid_aranges", "arange(4)[:, None] - arange(3)")
    case(f, "grid_where", "where(arange(4)[:, None] > arange(3), 1, 0)")
    case(f, "expand_sum", "(a + b)[None, ...]", ab)
    case(f, "expand_trailing", "(a * 2)[..., None] + a", ab)
    case(f, "expand_function", "sin(a)[:, None, None] + b", ab)
    case(f, "expand_full_slices", "(b - a)[:, None, :]", ab)
    case(f, "expand_identity", "(a + 1)[:]", ab)
    case(f, "expand_sum_axis0", "sum(linspace(0, 1, 5)[:, None] * a, axis=0)", ab)
    case(f, "expand_with_scalar_reduction", "(a - mean(a))[:, None] * a", ab)
    # errors
    E = lambda name, expr, kind, at, vars=ab, nth=0, note=None: case(
        f, name, expr, vars, error=kind, at=at, nth=nth, note=note)
    E("arange_step_zero", "arange(0, 5, 0)", "value", "0", nth=1)
    E("arange_step_zero_float", "1 + arange(0.0, 5.0, 0.0)", "value", "0.0", nth=1)
    E("arange_step_zero_var", "arange(0, 5, s)", "value", "arange(0, 5, s)", {"s": S("int64", 0)},
      note="a step from a variable is checked when the inputs are bound: the span is the call")
    E("arange_nan", "arange(nan)", "value", "arange(nan)")
    E("arange_inf", "arange(0, inf)", "limit", "arange(0, inf)")
    E("arange_array_argument", "arange(a)", "type", "a", nth=2)
    E("arange_reduction_argument", "arange(sum(a))", "type", "sum(a)")
    E("arange_no_arguments", "arange()", "arity", "arange()")
    E("arange_four_arguments", "arange(1, 2, 3, 4)", "arity", "arange(1, 2, 3, 4)")
    E("linspace_one_argument", "linspace(1)", "arity", "linspace(1)")
    E("linspace_keyword", "linspace(0, 1, num=5)", "arity", "num")
    E("linspace_negative_num", "linspace(0, 1, -2)", "value", "-2")
    E("linspace_negative_num_var", "linspace(0, 1, n)", "value", "linspace(0, 1, n)", n(-2))
    E("linspace_float_num", "linspace(0, 1, 2.5)", "type", "2.5")
    E("linspace_float_num_var", "linspace(0, 1, x)", "type", "x", {"x": S("float64", 3.0)})
    E("linspace_array_bound", "linspace(0, a, 3)", "type", "a", nth=1)
    E("expand_integer_index", "(a + 1)[0]", "type", "0")
    E("expand_slice", "(a + 1)[None, 1:]", "type", "1:")
    E("expand_too_many", "(a + 1)[:, :]", "axis", "(a + 1)[:, :]")
    E("expand_zero_d", "(2 * pi)[None]", "type", "(2 * pi)[None]")
    E("expand_two_ellipses", "(a + 1)[..., None, ...]", "syntax", "...", nth=1)


# ---------------------------------------------------------------------------------------------- big
def define_big():
    f = begin_file("big", "large generated inputs (>= 100 000 elements): chunking across threads")
    lin = lambda n, shape=None, view=None, dtype="float64", lo=0, hi=1: G(
        f"linspace({lo}, {hi}, {n})", dtype, shape, view)
    case(f, "sum_linspace", "sum(a)", {"a": lin(100001)})
    case(f, "sum_sin_times_arange", "sum(sin(a)*b)", {"a": lin(100001), "b": G("arange(100001)")})
    case(f, "trig_identity_sum", "sum(sin(2*pi*a)**2 + cos(2*pi*a)**2)", {"a": lin(200000)})
    case(f, "mean_arange_i64", "mean(a)", {"a": G("arange(200000)", "int64")})
    case(f, "sum_arange_i32_to_i64", "sum(a * 3)", {"a": G("arange(700000)", "int32", view="::-7")})
    case(f, "max_mod_axis1", "max(a % 997, axis=1)", {"a": G("arange(300000)", "int64", [300, 1000])})
    case(f, "min_cos_axis0", "min(cos(a), axis=0)", {"a": lin(120000, [400, 300], lo=-10, hi=10)})
    case(f, "sum_3d_axis_neg1", "sum(a, axis=-1)", {"a": lin(120000, [50, 40, 60], lo=-1, hi=1)})
    case(f, "sum_3d_axis1_view", "sum(a, axis=1)",
         {"a": G("arange(240000)", "float32", [60, 40, 100], view="::2, :, ::-1")})
    case(f, "any_all_thresholds", "any(a > 0.99999) & all(a >= 0) & ~all(a < 1)", {"a": lin(100001)})
    case(f, "sum_strided_view", "sum(a)", {"a": G("arange(300001)", "float64", view="::3")})
    case(f, "sum_alternating_where", "sum(where(a % 2 == 0, a, -a))", {"a": G("arange(100001)", "int64")})
    case(f, "prod_wraps_i64", "prod(a % 7 + 1)", {"a": G("arange(100003)", "int64")})
    case(f, "sum_f32", "sum(a)", {"a": lin(100001, dtype="float32")})
    case(f, "variance_axis0", "sum((a - mean(a, axis=0))**2)", {"a": lin(100000, [1000, 100], lo=-3, hi=5)})
    case(f, "norm", "sqrt(sum(x**2))", {"x": lin(100000, lo=-2, hi=2)})
    case(f, "count_bool", "sum(a >= 50000)", {"a": G("arange(100000)", "int32")})
    case(f, "any_nan_sqrt", "any(isnan(sqrt(a - 50000)))", {"a": G("arange(100000)", "float64")})
    case(f, "min_axis_neg1_2d", "min(a - 50000, axis=-1)", {"a": G("arange(100000)", "int64", [100, 1000])})
    case(f, "mean_axis0_2d_f32", "mean(a, axis=0)", {"a": lin(100000, [1000, 100], dtype="float32", lo=0.5, hi=1.5)},
         rtol=1e-4, note="NumPy sums float32 rows one after another in float32 along axis 0")
    case(f, "broadcast_big_with_row", "sum(a * b)", {"a": lin(100000, [1000, 100]),
                                                     "b": G("linspace(-1, 1, 100)")})
    case(f, "area_under_curve", "sum((0.7*x**3 - 2*x**2 + 4)*dx)",
         {"x": G("linspace(0, 3, 100001)"), "dx": S("float64", 3e-5)}, note="course problem P9")


# ==============================================================================================
# Findings probe and main
# ==============================================================================================



def define_programs():
    f = begin_file("programs", "programs: outputs, intermediates, slices, loops, swap, aliasing, casts, "
                               "failing programs that must write nothing")
    P = lambda name, src, vars, outs=(), **kw: program_case(f, name, src, vars, outs, **kw)  # noqa: E731
    v6 = [0.5, -1.25, 2.0, 3.5, -0.0, 7.0]
    # One output, every dtype pair of its two inputs; the output has the value's dtype.
    for da in DTYPES:
        for db in DTYPES:
            a = MK[da]([True, False, True, True] if da == "bool" else [1, 0, 3, 7], [4])
            b = MK[db]([False, True, True, False] if db == "bool" else [2, 5, 0, 4], [4])
            rule = common([("s", da), ("s", db)])
            o = MK[rule]([False] * 4 if rule == "bool" else [0] * 4, [4])
            expr = "a | b" if rule == "bool" else "a * b + a"
            P(f"out_{da}_{db}", f"o = {expr}", {"a": a, "b": b, "o": o}, ["o"])
    # Casting into the output's dtype, as `out[...] = value` does.
    for dv in DTYPES:
        for do in DTYPES:
            if dv == do:
                continue
            vals = [True, False, True] if dv == "bool" else [3, -2, 0] if dv in INTS else [2.75, -1.5, 0.0]
            P(f"cast_{dv}_into_{do}", "o = a", {"a": MK[dv](vals), "o": MK[do]([False] * 3 if do == "bool" else [0] * 3)}, ["o"])
    # Several outputs in one pass; intermediates computed inline.
    a, b = F64(v6), F64([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    z = lambda n=6: F64([0.0] * n)  # noqa: E731
    P("two_outputs", "o = a * 2\np = a - b", {"a": a, "b": b, "o": z(), "p": z()}, ["o", "p"])
    P("three_outputs_chain", "o = a + 1\np = o * 2\nq = p - o", {"a": a, "o": z(), "p": z(), "q": z()}, ["o", "p", "q"])
    P("intermediate", "t = a * b\no = t + t", {"a": a, "b": b, "o": z()}, ["o"])
    P("intermediate_chain", "t = a + b\nu = t * t\no = u - t", {"a": a, "b": b, "o": z()}, ["o"])
    P("intermediate_rebound", "t = a\nt = t * 2\no = t + 1", {"a": a, "o": z()}, ["o"])
    P("result_only", "t = a * 3\nt - b", {"a": a, "b": b})
    P("output_and_result", "o = a + b\nsum(o)", {"a": a, "b": b, "o": z()}, ["o"])
    P("output_then_read", "o = a * a\np = o + b", {"a": a, "b": b, "o": z(), "p": z()}, ["o", "p"])
    P("semicolons", "o = a + 1; p = a - 1", {"a": a, "o": z(), "p": z()}, ["o", "p"])
    P("comment_lines", "# double it\no = 2 * a  # inline\n", {"a": a, "o": z()}, ["o"])
    P("same_output_twice", "o = a\no = o * 3", {"a": a, "o": z()}, ["o"])
    P("read_before_write", "o = o + a\no = o * 2", {"a": a, "o": F64([1.0] * 6)}, ["o"])
    # Augmented assignment.
    for op in "+-*/":
        P(f"augmented_{'add sub mul div'.split()['+-*/'.index(op)]}", f"o {op}= a", {"a": a, "o": F64([4.0] * 6)}, ["o"])
    P("augmented_int", "o += 3\no *= a", {"a": I64([1, 2, 3]), "o": I64([5, 6, 7])}, ["o"])
    P("augmented_slice", "o[1:-1] += a[1:-1]", {"a": a, "o": F64([1.0] * 6)}, ["o"])
    # Slice outputs, strides, broadcasting into targets.
    P("slice_interior", "o[1:-1] = a[:-2] + a[2:]", {"a": a, "o": z()}, ["o"])
    P("slice_step", "o[::2] = a[1::2]", {"a": a, "o": z()}, ["o"])
    P("slice_reversed", "o[::-1] = a", {"a": a, "o": z()}, ["o"])
    P("slice_index_row", "o[1] = a", {"a": F64([1.0, 2.0, 3.0]), "o": F64([0.0] * 6, [2, 3])}, ["o"])
    P("slice_2d_interior", "o[1:-1, 1:-1] = a[1:-1, 1:-1] * 2",
      {"a": F64(list(range(16)), [4, 4]), "o": F64([0.0] * 16, [4, 4])}, ["o"])
    P("slice_2d_columns", "o[:, ::2] = a[:, 1::2]",
      {"a": F64(list(range(12)), [3, 4]), "o": F64([0.0] * 12, [3, 4])}, ["o"])
    P("broadcast_scalar_into_output", "o = s", {"s": S("float64", 2.5), "o": z()}, ["o"])
    P("broadcast_row_into_output", "o = r", {"r": F64([1.0, 2.0, 3.0]), "o": F64([0.0] * 6, [2, 3])}, ["o"])
    P("broadcast_literal_into_slice", "o[2:4] = 9", {"o": I32([1, 2, 3, 4, 5])}, ["o"])
    P("strided_output_view", "o = a * 10", {"a": F64([1.0, 2.0, 3.0]), "o": F64([0.0] * 6, view="::2")}, ["o"])
    P("reversed_output_view", "o = a + 1", {"a": F64([1.0, 2.0, 3.0]), "o": F64([0.0] * 3, view="::-1")}, ["o"])
    P("fortran_output", "o = a * 2", {"a": F64(list(range(6)), [2, 3]), "o": F64([0.0] * 6, [2, 3], order="F")}, ["o"])
    P("output_0d", "o = sum(a)", {"a": a, "o": S("float64", 0.0)}, ["o"])
    P("output_empty", "o = a * 2", {"a": F64([]), "o": F64([])}, ["o"])
    # Aliasing: every value is computed before it is written, as NumPy evaluates.
    P("alias_shift_right", "u[1:] = u[:-1] + 1", {"u": F64([1.0, 2.0, 3.0, 4.0])}, ["u"])
    P("alias_shift_left", "u[:-1] = u[1:] * 2", {"u": F64([1.0, 2.0, 3.0, 4.0])}, ["u"])
    P("alias_reverse_in_place", "u[::-1] = u", {"u": I64([1, 2, 3, 4, 5])}, ["u"])
    P("alias_whole_from_reversed", "u = u[::-1] * 1", {"u": I64([1, 2, 3, 4, 5])}, ["u"])
    P("alias_same_elements", "u = u * 2 + 1", {"u": F64(v6)}, ["u"])
    P("alias_two_outputs_swap_values", "u = v\nv = u", {"u": F64([1.0, 2.0]), "v": F64([3.0, 4.0])}, ["u", "v"])
    P("alias_stencil_in_place", "u[1:-1] = (u[:-2] + u[2:]) / 2", {"u": F64([0.0, 4.0, 8.0, 4.0, 0.0])}, ["u"])
    P("alias_reduction_of_output", "u = u - mean(u)", {"u": F64([1.0, 2.0, 3.0, 6.0])}, ["u"])
    P("alias_sum_axis_into_row", "u[0] = sum(u, axis=0)", {"u": F64(list(range(6)), [2, 3])}, ["u"])
    # Loops.
    n3 = S("int64", 3)
    P("loop_accumulate", "for i in range(n):\n    o = o + a", {"n": n3, "a": a, "o": z()}, ["o"])
    P("loop_variable", "for i in range(5):\n    o = o + i", {"o": I64([0, 10])}, ["o"])
    P("loop_variable_float", "for i in range(4):\n    o = o * 2 + i", {"o": F64([0.5, 1.0])}, ["o"])
    P("loop_variable_promotes_f32", "for i in range(3):\n    o = o + a * i", {"a": F32([0.5, 1.5]), "o": F64([0.0, 0.0])}, ["o"])
    P("loop_start_stop", "for i in range(2, 6):\n    o = o + i", {"o": I64([0])}, ["o"])
    P("loop_step", "for i in range(1, 10, 3):\n    o = o * 10 + i", {"o": I64([0])}, ["o"])
    P("loop_negative_step", "for i in range(5, 0, -2):\n    o = o * 10 + i", {"o": I64([0])}, ["o"])
    P("loop_empty_range", "for i in range(0):\n    o = o + 1", {"o": I64([7])}, ["o"])
    P("loop_empty_backwards", "for i in range(3, 5, -1):\n    o = o + 1", {"o": I64([7])}, ["o"])
    P("loop_bound_from_variable_expr", "for i in range(n * 2 - 1):\n    o = o + 1", {"n": n3, "o": I32([0, 1])}, ["o"])
    P("loop_nested", "for i in range(3):\n    for j in range(i):\n        o = o + j + 10 * i", {"o": I64([0])}, ["o"])
    P("loop_slice_stencil", "for i in range(3):\n    u[1:-1] = (u[:-2] + u[2:]) / 2", {"u": F64([0.0, 0.0, 8.0, 0.0, 0.0])}, ["u"])
    P("loop_two_outputs", "for i in range(4):\n    o = o + p\n    p = p * 2", {"o": I64([0]), "p": I64([1])}, ["o", "p"])
    P("loop_intermediate_inside", "for i in range(3):\n    t = o * 2\n    o = t + a", {"a": a, "o": z()}, ["o"])
    P("loop_intermediate_before", "t = a * 2\nfor i in range(3):\n    o = o + t", {"a": a, "o": z()}, ["o"])
    P("loop_intermediate_of_written_memory", "t = o + 1\nfor i in range(3):\n    o = o + t", {"o": F64([1.0, 2.0])}, ["o"])
    P("loop_then_result", "for i in range(3):\n    u = 2 * u\nsum(u)", {"u": F64([1.0] * 8)}, ["u"])
    P("loop_reduction_inside", "for i in range(3):\n    o = o + sum(a)", {"a": a, "o": S("float64", 0.0)}, ["o"])
    # swap.
    P("swap_once", "swap(u, v)", {"u": F64([1.0, 2.0]), "v": F64([3.0, 4.0])}, ["u", "v"])
    P("swap_twice", "swap(u, v)\nswap(u, v)", {"u": F64([1.0, 2.0]), "v": F64([3.0, 4.0])}, ["u", "v"])
    P("swap_then_write", "swap(u, v)\nu = u + 10", {"u": F64([1.0, 2.0]), "v": F64([3.0, 4.0])}, ["u", "v"])
    P("swap_loop_odd", "for i in range(3):\n    v = u + 1\n    swap(u, v)", {"u": F64([0.0, 1.0]), "v": F64([0.0, 0.0])}, ["u", "v"])
    P("swap_loop_even", "for i in range(4):\n    v = u * 2\n    swap(u, v)", {"u": I64([1, 3]), "v": I64([0, 0])}, ["u", "v"])
    P("swap_diffusion_1d", "for i in range(n):\n    v[1:-1] = u[1:-1] + 0.25 * (u[:-2] - 2 * u[1:-1] + u[2:])\n    swap(u, v)",
      {"n": S("int64", 7), "u": F64([0.0, 0.0, 0.0, 16.0, 0.0, 0.0, 0.0]), "v": F64([0.0] * 7)}, ["u", "v"])
    grid = [0.0] * 36
    grid[14], grid[21] = 8.0, 4.0
    P("swap_diffusion_2d",
      "for step in range(n):\n    v[1:-1, 1:-1] = u[1:-1, 1:-1] + c*(u[2:, 1:-1] + u[:-2, 1:-1] + u[1:-1, 2:] + u[1:-1, :-2] - 4*u[1:-1, 1:-1])\n    swap(u, v)",
      {"n": S("int64", 5), "c": S("float64", 0.2), "u": F64(grid, [6, 6]), "v": F64(grid, [6, 6])}, ["u", "v"])
    P("swap_three_way_rotation", "for i in range(2):\n    swap(a, b)\n    swap(b, c)",
      {"a": I32([1]), "b": I32([2]), "c": I32([3])}, ["a", "b", "c"])
    # Generators and reductions inside programs.
    P("generator_intermediate", "x = arange(n) * dx\nsum(x)", {"n": S("int64", 100), "dx": S("float64", 0.5)})
    P("generator_into_output", "o = linspace(0, 1, 5) * 4", {"o": F64([0.0] * 5)}, ["o"])
    P("area_under_curve", "x = arange(n) * dx\nsum((0.7*x**3 - 2*x**2 + 4)*dx)", {"n": S("int64", 1000), "dx": S("float64", 0.003)})
    P("mean_centre", "m = mean(a)\no = a - m", {"a": a, "o": z()}, ["o"])
    P("axis_sums_two_outputs", "r = sum(a, axis=1)\nc = sum(a, axis=0)",
      {"a": F64(list(range(12)), [3, 4]), "r": F64([0.0] * 3), "c": F64([0.0] * 4)}, ["r", "c"])
    P("min_max_outputs", "lo = min(a)\nhi = max(a)", {"a": I32([4, -2, 9, 0]), "lo": S("int32", 0), "hi": S("int32", 0)}, ["lo", "hi"])
    P("where_into_output", "o = where(a > 1, a, -a)", {"a": a, "o": z()}, ["o"])
    P("functions_outside_loop", "o = sqrt(abs(a)) + floor(b / 4)", {"a": a, "b": b, "o": z()}, ["o"])
    P("transcendental_output", "o = sin(a) ** 2 + cos(a) ** 2", {"a": a, "o": z()}, ["o"])
    P("bool_outputs", "m = a > 1\nn = (a > 1) & (b < 5)", {"a": a, "b": b, "m": B([False] * 6), "n": B([False] * 6)}, ["m", "n"])
    P("int32_output_arith", "o = a * 3 - 7", {"a": I32([1, 2, 3]), "o": I32([0, 0, 0])}, ["o"])
    P("float32_output", "o = a / 3", {"a": F32([1.0, 2.0, 4.0]), "o": F32([0.0] * 3)}, ["o"])
    # The course programs at toy size: P6 Laplace (one step), P5b heat, P9 area.
    lap = [float((i * 7) % 5) for i in range(25)]
    P("laplace_step", "o[1:-1, 1:-1] = 0.25*(u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:])",
      {"u": F64(lap, [5, 5]), "o": F64(lap, [5, 5])}, ["o"])
    P("heat_steps", "for k in range(4):\n    u[1:-1, 1:-1] += 0.1*((u[1:-1, 2:] - 2*u[1:-1, 1:-1] + u[1:-1, :-2]) + (u[2:, 1:-1] - 2*u[1:-1, 1:-1] + u[:-2, 1:-1]))",
      {"u": F64(lap, [5, 5])}, ["u"])
    # Strided and Fortran-ordered inputs and outputs across a loop.
    P("loop_strided_output", "for i in range(3):\n    o = o + a", {"a": F64([1.0, 2.0]), "o": F64([0.0] * 4, view="::2")}, ["o"])
    P("loop_fortran_swap", "for i in range(3):\n    v = u * 2\n    swap(u, v)",
      {"u": F64(list(range(6)), [2, 3], order="F"), "v": F64([0.0] * 6, [2, 3])}, ["u", "v"])
    # Dtype × program shape: a loop over every dtype of the output.
    for d in ("int32", "int64", "float32", "float64"):
        P(f"loop_accumulate_{d}", "for i in range(4):\n    o += a", {"a": MK[d]([1, 2, 3]), "o": MK[d]([0, 0, 0])}, ["o"])
        P(f"slice_stencil_{d}", "o[1:-1] = a[:-2] + a[2:] - a[1:-1]", {"a": MK[d]([1, 4, 9, 16, 25]), "o": MK[d]([0] * 5)}, ["o"])
        P(f"swap_loop_{d}", "for i in range(3):\n    v = u + u\n    swap(u, v)", {"u": MK[d]([1, 2]), "v": MK[d]([0, 0])}, ["u", "v"])
    P("loop_variable_in_slice_value", "for i in range(3):\n    o[1:] = o[:-1] + i", {"o": I64([1, 0, 0, 0])}, ["o"])
    P("loop_then_read_output", "for i in range(2):\n    o = o + 1\np = o * 3", {"o": F64([0.5]), "p": F64([0.0])}, ["o", "p"])
    P("bool_loop_toggle", "for i in range(3):\n    m = ~m", {"m": B([True, False])}, ["m"])
    P("floor_div_mod_outputs", "o = a // 3\np = a % 3", {"a": I64([-7, -1, 0, 5, 9]), "o": I64([0] * 5), "p": I64([0] * 5)}, ["o", "p"])
    P("int_power_output", "o = a ** 2 + a ** 3", {"a": I32([-3, 0, 2, 5]), "o": I32([0] * 4)}, ["o"])
    # Failing programs: nothing may be written, not even by statements before the failing one.
    P("error_broadcast_target", "p = a + 1\no = b", {"a": a, "b": F64([1.0, 2.0]), "o": z(), "p": z()}, ["o", "p"], error="broadcast")
    P("error_broadcast_slice_target", "o[1:] = a", {"a": a, "o": z()}, ["o"], error="broadcast")
    P("error_broadcast_in_loop", "o = a\nfor i in range(3):\n    o[1:] = o", {"a": a, "o": z()}, ["o"], error="broadcast")
    P("error_swap_shapes", "o = a\nswap(o, p)", {"a": a, "o": z(), "p": F64([0.0] * 3)}, ["o", "p"], error="broadcast")
    P("error_unknown_name", "o = a\np = nope + 1", {"a": a, "o": z(), "p": z()}, ["o", "p"], error="unknown_name")
    P("error_type_after_write", "o = a\np = b << 1", {"a": a, "b": b, "o": z(), "p": z()}, ["o", "p"], error="type")
    P("error_in_loop_body_after_writes", "o = a + 1\nfor i in range(n):\n    o = o * 2\n    p = b", {"n": n3, "a": a, "b": F64([1.0] * 4), "o": z(), "p": z()}, ["o", "p"], error="broadcast")
    P("error_broadcast_operands", "o = a + 1\np = a + b", {"a": a, "b": F64([1.0] * 4), "o": z(), "p": z()}, ["o", "p"], error="broadcast")


def probe_findings():
    """Re-checks, with NumPy, the places where NumPy departs from numjit's stated rules."""
    out = []
    with np.errstate(all="ignore"):
        x = np.array([-np.inf, -0.0])
        out.append(f"scalar exponent 0.5: {x ** 0.5} vs array exponent: {np.power(x, np.full(2, 0.5))}")
        out.append(f"int32 < 3000000000 -> {np.array([1], np.int32) < 3000000000} (no OverflowError)")
        out.append(f"where(True, int32, 3000000000) -> {np.where(True, np.array([1], np.int32), 3000000000)}")
        out.append(f"sum(0-d, axis=0) -> {np.sum(np.array(3.0), axis=0)}; mean raises AxisError")
        out.append(f"bool << bool -> {np.left_shift(np.array([True]), np.array([True])).dtype}; "
                   f"fmod(bool, bool) -> {np.fmod(np.array([True]), np.array([True])).dtype}")
        b = np.array([True])
        try:
            +b
        except TypeError as exc:
            out.append(f"+bool raises TypeError: {exc}")
        for k in ("sin", "sqrt", "radians"):
            out.append(f"{k}(bool) -> {getattr(np, k)(b).dtype}")
        out.append(f"round(bool) -> {np.round(b).dtype}; bool//bool -> {(b // b).dtype}; "
                   f"bool%bool -> {(b % b).dtype}; bool**bool -> {(b ** b).dtype}")
        out.append(f"max([-0.0, 0.0]) -> {np.max(np.array([-0.0, 0.0]))}, "
                   f"max([0.0, -0.0]) -> {np.max(np.array([0.0, -0.0]))} (order-dependent)")
    return out


# --------------------------------------------------------------------------- kernels

# What kernel bodies may call, as Python scalar functions with numjit's meaning (floats stay
# floats: `floor(2.5)` is 2.0, as NumPy's).
KERNEL_SCOPE = {
    "sqrt": math.sqrt, "sin": math.sin, "cos": math.cos, "exp": math.exp, "log": math.log,
    "abs": abs, "minimum": min, "maximum": max, "pi": math.pi, "e": math.e,
    "where": lambda c, x, y: x if c else y,
    "floor": lambda x: float(math.floor(x)) if isinstance(x, float) else x,
}
KERNEL_TRANSCENDENTAL = ("sqrt(", "sin(", "cos(", "exp(", "log(")


def kernel_case(file, name, defs, call, vars, dtype, *, error=None, reduce=False):
    """Defines one kernel case: `defs` (the `def` blocks) run as Python on Python scalars,
    element by element over the broadcast `call` arguments, are the oracle; `dtype` is the
    result dtype numjit's typing gives (stated by the case, checked by the harness). `call` is
    `f(args)` over the variables, or `sum(f(args))` with `reduce`. error: a kind the case
    states (the rules live in src/lower/kernel.rs; spans are checked by tests/def_kernels.rs)."""
    full = register_name(file, name)
    program = defs.rstrip("\n") + "\n\n" + call
    rec = {"name": full, "program": program, "vars": vars, "outs": [], "note": None}
    if error is not None:
        rec["error"] = (error, None)
        FILES[file]["cases"].append(rec)
        return
    scope = dict(KERNEL_SCOPE)
    exec(defs, scope)  # noqa: S102 -- the generator's own kernel texts
    inner = call[4:-1] if reduce else call
    fname, args = inner.split("(", 1)
    args = [a.strip() for a in args[:-1].split(",")] if args[:-1].strip() else []
    values = []
    for a in args:
        if a in vars:
            values.append(vars[a].value)
        else:
            values.append(np.array(eval(a, {}, {})))  # noqa: S307 -- a literal argument
    arrays = np.broadcast_arrays(*values) if values else []
    shape = arrays[0].shape if arrays else ()
    fn = scope[fname]
    out = [fn(*[x[idx].item() for x in arrays]) for idx in np.ndindex(shape)]
    for v in out:
        if isinstance(v, int) and not isinstance(v, bool) and not -2**63 <= v < 2**63:
            raise GenError(f"{full}: the result {v} overflows int64")
    result = np.array(out, dtype=NPDT[dtype]).reshape(shape)
    if reduce:
        result = np.array(np.sum(result))
    rec["outputs"], rec["expected"] = {}, result
    floats = result.dtype.kind == "f"
    uses = any(t in defs for t in KERNEL_TRANSCENDENTAL)
    rec["ulps"] = 4 if floats and uses and not reduce else None
    rec["rtol"] = 1e-12 if floats and reduce else None
    FILES[file]["cases"].append(rec)


def define_kernels():
    f = begin_file("kernels", "kernels: `def` blocks with locals, branches and loops, applied "
                              "elementwise, in reductions, typed per call; failing kernels")
    K = lambda name, defs, call, vars, dtype, **kw: kernel_case(f, name, defs, call, vars, dtype, **kw)  # noqa: E731
    xs = [-3.5, -1.0, -0.25, 0.0, 0.5, 2.0, 7.25, 10.0]
    ks = [-17, -10, -9, -1, 0, 1, 9, 10, 19, 99, 123, 1000]
    fx, ik = F64(xs), I64(ks)
    ik32 = I32(ks)
    flags = B([True, False, False, True, True, False, True, False])
    # Straight-line code: assignment, augmented and tuple assignment, every arithmetic dtype.
    lines = {
        "identity": ("def f(a):\n    return a\n", "float64"),
        "affine": ("def f(a):\n    t = a * 2\n    t += 1\n    return t - 0.5\n", "float64"),
        "swap": ("def f(a):\n    p = a\n    q = a + 1\n    p, q = q, p\n    return p - q\n", "float64"),
        "tuple_uses_old_values": ("def f(a):\n    p = a\n    q = 2 * a\n    p, q = q, p + q\n    return p * 10 + q\n", "float64"),
        "chain_of_locals": ("def f(a):\n    b = a * a\n    c = b - a\n    d = c / 4\n    return d + b\n", "float64"),
        "augmented_every_op": ("def f(a):\n    t = a\n    t += 3\n    t -= 1\n    t *= 2\n    t /= 4\n    return t\n", "float64"),
        "constants": ("def f(a):\n    return a * pi + e\n", "float64"),
        "functions": ("def f(a):\n    return sqrt(abs(a)) + minimum(a, 1.0) + floor(a)\n", "float64"),
        "transcendental": ("def f(a):\n    return sin(a) * cos(a) + exp(-abs(a))\n", "float64"),
        "where": ("def f(a):\n    return where(a > 0, a, -a)\n", "float64"),
        "pass_statement": ("def f(a):\n    pass\n    return a + 1\n", "float64"),
        "inline_body": ("def f(a): return a * 3\n", "float64"),
        "semicolons": ("def f(a):\n    t = a; u = t * 2; t = u + 1\n    return t\n", "float64"),
    }
    for name, (defs, dtype) in lines.items():
        K(name, defs, "f(x)", {"x": fx}, dtype)
    # Integers: Python's // and % (by constants, negative divisors too), powers, shifts.
    ints = {
        "floordiv_mod_by_constants": "def f(k):\n    return k // 7 * 1000 + k % 7\n",
        "floordiv_mod_negative_divisor": "def f(k):\n    return k // -3 * 1000 + k % -3\n",
        "digit_sum": "def f(k):\n    m = abs(k)\n    s = 0\n    while m > 0:\n        s += m % 10\n        m //= 10\n    return s\n",
        "digit_count": "def f(k):\n    m = abs(k)\n    n = 1\n    while m >= 10:\n        m //= 10\n        n += 1\n    return n\n",
        "reverse_digits": "def f(k):\n    m = abs(k)\n    r = 0\n    while m > 0:\n        r = r * 10 + m % 10\n        m //= 10\n    return r\n",
        "bit_ops": "def f(k):\n    return (k & 12) | (k ^ 5)\n",
        "square_and_power": "def f(k):\n    return k * k + k ** 2\n",
        "collatz_steps": "def f(k):\n    m = abs(k) + 1\n    n = 0\n    while m != 1:\n        if m % 2 == 0:\n            m //= 2\n        else:\n            m = 3 * m + 1\n        n += 1\n    return n\n",
        "gcd_with_12": "def f(k):\n    a = abs(k)\n    b = 12\n    while b != 0:\n        a, b = b, a % b\n    return a\n",
    }
    # With int32 arguments, an accumulator started from a literal (`s = 0`) is int64: the
    # literal's own dtype, promoted with what is added to it.
    int32_stays = {"floordiv_mod_by_constants", "floordiv_mod_negative_divisor", "bit_ops", "square_and_power"}
    for name, defs in ints.items():
        K(name, defs, "f(k)", {"k": ik}, "int64")
        K(name + "_int32", defs, "f(k)", {"k": ik32}, "int32" if name in int32_stays else "int64")
    # Branches: if / elif / else, nested, early returns, truthiness.
    branches = {
        "if_else": ("def f(a):\n    if a < 0:\n        return -a\n    else:\n        return a\n", "float64"),
        "elif_chain": ("def f(a):\n    if a < -2:\n        return 0\n    elif a < 0:\n        return 1\n    elif a == 0:\n        return 2\n    elif a < 5:\n        return 3\n    else:\n        return 4\n", "int64"),
        "nested_if": ("def f(a):\n    if a > 0:\n        if a > 5:\n            return 2.0\n        return 1.0\n    return 0.0\n", "float64"),
        "if_without_else": ("def f(a):\n    t = a\n    if a < 0:\n        t = 0.0\n    return t\n", "float64"),
        "truthiness_of_numbers": ("def f(a):\n    if a:\n        return 1\n    return 0\n", "int64"),
        "bool_result": ("def f(a):\n    return a > 1\n", "bool"),
        "bool_local": ("def f(a):\n    big = a > 1\n    small = a < -1\n    return big | small\n", "bool"),
        "mixed_returns_promote": ("def f(a):\n    if a > 0:\n        return 1\n    return a / 2\n", "float64"),
        "local_widened_later": ("def f(a):\n    t = 0\n    if a > 0:\n        t = a\n    return t\n", "float64"),
        "inline_if": ("def f(a):\n    if a > 0: return a\n    return 0.0\n", "float64"),
    }
    for name, (defs, dtype) in branches.items():
        K(name, defs, "f(x)", {"x": fx}, dtype)
    K("bool_parameter", "def f(c, a):\n    if c:\n        return a\n    return -a\n", "f(c, x)",
      {"c": flags, "x": fx}, "float64")
    K("bool_param_and_int", "def f(c, k):\n    t = k\n    if c:\n        t = t * 2\n    return t\n", "f(c, k)",
      {"c": B([True, False] * 6), "k": ik}, "int64")
    # Loops: for over range (1, 2, 3 arguments, negative step, empty), while, break, continue.
    loops = {
        "for_sum": ("def f(k):\n    s = 0\n    for i in range(5):\n        s += i * k\n    return s\n", "int64"),
        "for_start_stop": ("def f(k):\n    s = 0\n    for i in range(2, 6):\n        s += i\n    return s + k\n", "int64"),
        "for_step": ("def f(k):\n    s = 0\n    for i in range(1, 20, 4):\n        s = s * 10 + i % 10\n    return s + k\n", "int64"),
        "for_negative_step": ("def f(k):\n    s = 0\n    for i in range(10, 0, -3):\n        s = s * 100 + i\n    return s - k\n", "int64"),
        "for_empty_range": ("def f(k):\n    s = k\n    for i in range(5, 2):\n        s = 0\n    return s\n", "int64"),
        "for_data_dependent_bound": ("def f(k):\n    s = 0\n    for i in range(abs(k) % 7):\n        s += i\n    return s\n", "int64"),
        "for_variable_after_loop": ("def f(k):\n    i = -1\n    for i in range(abs(k) % 5):\n        pass\n    return i\n", "int64"),
        "nested_for": ("def f(k):\n    s = 0\n    for i in range(4):\n        for j in range(i, 4):\n            s += i * j\n    return s + k\n", "int64"),
        "while_countdown": ("def f(k):\n    m = abs(k)\n    n = 0\n    while m > 0:\n        m -= 3\n        n += 1\n    return n\n", "int64"),
        "while_true_break": ("def f(k):\n    n = 0\n    while True:\n        n += 1\n        if n * n > abs(k):\n            break\n    return n\n", "int64"),
        "continue_skips": ("def f(k):\n    s = 0\n    for i in range(10):\n        if i % 3 == 0:\n            continue\n        s += i\n    return s + k\n", "int64"),
        "break_inner_only": ("def f(k):\n    s = 0\n    for i in range(4):\n        for j in range(10):\n            if j > i:\n                break\n            s += 1\n    return s + k\n", "int64"),
        "return_from_loop": ("def f(k):\n    for i in range(100):\n        if i * i >= abs(k):\n            return i\n    return -1\n", "int64"),
        "while_with_else_branch": ("def f(k):\n    m = abs(k)\n    while m > 1:\n        if m % 2 == 0:\n            m //= 2\n        else:\n            m -= 1\n    return m\n", "int64"),
    }
    for name, (defs, dtype) in loops.items():
        K(name, defs, "f(k)", {"k": ik}, dtype)
    floats_loops = {
        "newton_sqrt": ("def f(a):\n    x = abs(a) + 1.0\n    for i in range(30):\n        x = 0.5 * (x + (abs(a) + 1.0) / x)\n    return x\n", "float64"),
        "series_until_small": ("def f(a):\n    t = 1.0\n    s = 0.0\n    n = 0\n    while t > 1e-12:\n        s += t\n        n += 1\n        t = t / (abs(a) + 2.0)\n    return s\n", "float64"),
        "halving_count": ("def f(a):\n    v = abs(a) * 1000.0\n    n = 0\n    while v > 1.0:\n        v /= 2.0\n        n += 1\n    return n\n", "int64"),
    }
    for name, (defs, dtype) in floats_loops.items():
        K(name, defs, "f(x)", {"x": fx}, dtype)
    # The course kernels at toy size.
    mandel = ("def escape(cr, ci, maxiter):\n    zr = 0.0\n    zi = 0.0\n    for n in range(maxiter):\n"
              "        if zr*zr + zi*zi >= 4.0:\n            return n\n"
              "        zr, zi = zr*zr - zi*zi + cr, 2.0*zr*zi + ci\n    return 255\n")
    K("mandelbrot", mandel, "escape(cr, ci, 20)",
      {"cr": F64(np.linspace(-2, 1, 12).reshape(1, 12)), "ci": F64(np.linspace(-1, 1, 8).reshape(8, 1))}, "int64")
    K("mandelbrot_int32_maxiter", mandel, "escape(cr, ci, m)",
      {"cr": F64(np.linspace(-2, 1, 9)), "ci": F64([0.1] * 9), "m": I32(5, shape=[])}, "int64")
    series = ("def term(k):\n    m = k\n    while m > 0:\n        if m % 10 == 9:\n            return 0.0\n"
              "        m //= 10\n    return 1.0 / k\n")
    K("slow_series_terms", series, "term(k)", {"k": I64(list(range(1, 40)))}, "float64")
    K("slow_series_sum", series, "sum(term(k))", {"k": I64(list(range(1, 2000)))}, "float64", reduce=True)
    # Kernels calling kernels; broadcasting; reductions over kernel values.
    two = "def sq(a):\n    return a * a\ndef f(a, b):\n    return sq(a) + sq(b) - 2 * a * b\n"
    K("kernel_calls_kernel", two, "f(x, y)", {"x": fx, "y": F64([1.0] * 8)}, "float64")
    three = two + "def g(a):\n    return f(a, 1.0) + sq(2.0)\n"
    K("call_chain_of_three", three, "g(x)", {"x": fx}, "float64")
    K("broadcast_2d", "def f(a, b):\n    return a * 10 + b\n", "f(x, y)",
      {"x": F64([[1.0], [2.0], [3.0]]), "y": F64([0.5, 0.25])}, "float64")
    K("broadcast_scalar_literal", "def f(a, b):\n    return a * b\n", "f(x, 3)", {"x": fx}, "float64")
    K("int_and_float_params", "def f(k, a):\n    return k * a\n", "f(k, x)",
      {"k": I64([1, 2, 3, 4, 5, 6, 7, 8]), "x": fx}, "float64")
    K("int32_and_int64", "def f(a, b):\n    return a - b\n", "f(k, j)",
      {"k": I32([1, 2, 3]), "j": I64([10, 20, 30])}, "int64")
    K("weak_literal_keeps_int32", "def f(k):\n    return k * 2 + 1\n", "f(k)", {"k": ik32}, "int32")
    K("sum_of_kernel", "def f(a):\n    if a > 0:\n        return a\n    return 0.0\n", "sum(f(x))",
      {"x": fx}, "float64", reduce=True)
    K("sum_of_int_kernel", "def f(k):\n    return k % 5\n", "sum(f(k))", {"k": ik}, "int64", reduce=True)
    K("zero_size", "def f(a):\n    return a + 1\n", "f(x)", {"x": F64([])}, "float64")
    K("zero_d", "def f(a):\n    return a * 2\n", "f(x)", {"x": F64(1.5, shape=[])}, "float64")
    K("strided_argument", "def f(a):\n    return a - 1\n", "f(x)",
      {"x": F64(list(range(12)), view="::3")}, "float64")
    more = {
        "three_way_rotation": ("def f(a):\n    p = a\n    q = a + 1\n    r = a + 2\n    p, q, r = q, r, p\n    return p * 100 + q * 10 + r\n", "float64"),
        "while_continue": ("def f(a):\n    n = 0\n    s = 0.0\n    while n < 6:\n        n += 1\n        if n % 2 == 1:\n            continue\n        s += a * n\n    return s\n", "float64"),
        "clip": ("def f(a):\n    if a < -1:\n        return -1.0\n    if a > 1:\n        return 1.0\n    return a\n", "float64"),
        "sign_as_int": ("def f(a):\n    if a > 0:\n        return 1\n    elif a < 0:\n        return -1\n    return 0\n", "int64"),
        "loop_accumulates_float": ("def f(a):\n    s = 0.0\n    for i in range(1, 6):\n        s = s * a + i\n    return s\n", "float64"),
    }
    for name, (defs, dtype) in more.items():
        K(name, defs, "f(x)", {"x": fx}, dtype)
    K("comparison_chain_by_and", "def f(a):\n    return (a > -1) & (a < 1)\n", "f(x)", {"x": fx}, "bool")
    # Failing kernels: the kind each must raise (before anything runs).
    E = lambda name, defs, call, kind, vars=None: K(name, defs, call, vars or {"x": fx}, "float64", error=kind)  # noqa: E731
    E("missing_return", "def f(a):\n    t = a\n", "f(x)", "type")
    E("missing_return_on_a_path", "def f(a):\n    if a > 0:\n        return a\n", "f(x)", "type")
    E("recursion", "def f(a):\n    return f(a)\n", "f(x)", "type")
    E("calls_a_later_kernel", "def f(a):\n    return g(a)\ndef g(a):\n    return a\n", "f(x)", "type")
    E("reads_a_program_variable", "def f(a):\n    return a + x\n", "f(x)", "unknown_name")
    E("read_before_assignment", "def f(a):\n    s = t\n    t = 1\n    return s\n", "f(x)", "unknown_name")
    E("reduction_inside", "def f(a):\n    return sum(a)\n", "f(x)", "type")
    E("generator_inside", "def f(a):\n    return a + linspace(0, 1, 3)\n", "f(x)", "type")
    E("subscript_inside", "def f(a):\n    return a[0]\n", "f(x)", "type")
    E("bool_and_float_in_one_local", "def f(a):\n    t = a > 0\n    t = 1.5\n    return t\n", "f(x)", "type")
    E("float_range", "def f(a):\n    for i in range(a):\n        pass\n    return 0\n", "f(x)", "type")
    E("wrong_argument_count", "def f(a, b):\n    return a\n", "f(x)", "arity")
    E("keyword_argument", "def f(a):\n    return a\n", "f(a=x)", "arity")
    E("break_outside_loop", "def f(a):\n    break\n    return a\n", "f(x)", "syntax")
    E("bare_return", "def f(a):\n    return\n", "f(x)", "syntax")
    E("expression_statement", "def f(a):\n    a + 1\n    return a\n", "f(x)", "syntax")
    E("array_assignment", "def f(a):\n    x[0] = 1\n    return a\n", "f(x)", "syntax")
    E("name_of_a_function", "def sin(a):\n    return a\n", "sin(x)", "type")
    E("defined_twice", "def f(a):\n    return a\ndef f(a):\n    return a\n", "f(x)", "type")
    E("invert_a_float", "def f(a):\n    return ~a\n", "f(x)", "type")
    E("unknown_function", "def f(a):\n    return nope(a)\n", "f(x)", "unknown_function")
    E("and_keyword", "def f(a):\n    return a > 0 and a < 1\n", "f(x)", "syntax")


# ----------------------------------------------------------------------------------------------
# complex.toml: complex64 and complex128, straight from NumPy
# ----------------------------------------------------------------------------------------------


def _np_complex(re, im):
    """numjit's `complex(re, im)`: the parts as given (not `re + 1j*im`, which turns an infinite
    `im` into a NaN real part)."""
    re, im = np.asarray(re), np.asarray(im)
    part = np.result_type(re, im, np.float32) if re.dtype.kind == "f" or im.dtype.kind == "f" else np.float64
    if part == np.float16:
        part = np.float32
    shape = np.broadcast_shapes(re.shape, im.shape)
    out = np.empty(shape, np.complex64 if part == np.float32 else np.complex128)
    out.real, out.imag = re, im
    return out[()] if out.ndim == 0 else out


# The names a complex case may call: NumPy's, as numjit spells them.
COMPLEX_NS = {name: getattr(np, name) for name in (
    "sqrt exp expm1 log log1p log10 sin cos tan arcsin arccos arctan sinh cosh tanh arcsinh "
    "arccosh arctanh real imag conj abs where isnan isinf isfinite sum mean any all log2 sign "
    "round").split()}
COMPLEX_NS["complex"] = _np_complex
COMPLEX_NS["sum"] = lambda a, axis=None: np.sum(a, axis=axis)[()]
COMPLEX_NS["mean"] = lambda a, axis=None: np.mean(a, axis=axis)[()]
COMPLEX_NS["prod"] = lambda a, axis=None: np.prod(a, axis=axis)[()]

COMPLEX_TRANSCENDENTAL = ("sqrt", "exp", "expm1", "log", "log1p", "log10", "log2", "sign", "sin", "cos", "tan", "arc",
                  "sinh", "cosh", "tanh", "**")


def complex_case(file, name, expr, vars, *, ulps=None, error=None, at=None, note=None):
    """A case on complex numbers: the expected value is NumPy's, evaluated directly (Python's
    grammar is numjit's; literals are Python scalars, so NEP 50 applies). Not run through the
    type-rule checker above, which knows real dtypes only: the corpus compares dtypes anyway."""
    full = register_name(file, name)
    rec = {"name": full, "expr": expr, "vars": vars, "note": note}
    if error is not None:
        rec["error"] = (error, span_at(expr, at))
    else:
        env = dict(COMPLEX_NS)
        env.update({n: v.value for n, v in vars.items()})
        with np.errstate(all="ignore"):
            res = np.asarray(eval(expr, {"__builtins__": {}}, env))
        rec["expected"] = res
        reduces = any(f in expr for f in ("sum(", "mean(", "prod("))
        if res.dtype.kind in "fc":
            if reduces:
                rec["ulps"], rec["rtol"] = None, (1e-12 if res.dtype in (np.float64, np.complex128) else 1e-5)
            else:
                if ulps is None:
                    ulps = 2 if any(t in expr for t in COMPLEX_TRANSCENDENTAL) else 0
                rec["ulps"], rec["rtol"] = ulps or None, None
        else:
            rec["ulps"], rec["rtol"] = None, None
    FILES[file]["cases"].append(rec)


def define_complex():
    f = begin_file("complex", "complex64 and complex128: literals, promotion, arithmetic, `==`/`!=`, "
                   "`where`, parts, reductions, every complex function on a grid of special values "
                   "(branch cuts, signed zeros, inf and NaN parts), and the type errors")
    C128 = lambda data, shape: Var("complex128", np.array(data, np.complex128), shape=shape)  # noqa: E731
    C64 = lambda data, shape: Var("complex64", np.array(data, np.complex64), shape=shape)  # noqa: E731
    za = [1 + 2j, -0.5 + 0.25j, 3 - 4j, -2 - 1j, 0.1 + 0j, 0 - 7j]
    zb = [2 - 1j, 4 + 0.5j, -1 + 1j, 0.5 + 3j, -3 - 0.2j, 1.5 + 1.5j]
    for dt, mk in (("c128", C128), ("c64", C64)):
        a, b = mk(za, [2, 3]), mk(zb, [2, 3])
        ab = {"a": a, "b": b}
        for nm, ex in (("add", "a + b"), ("sub", "a - b"), ("mul", "a * b"), ("div", "a / b"),
                       ("neg", "-a"), ("pos", "+a"), ("pow", "a ** b"), ("pow_2", "a ** 2"),
                       ("pow_3", "a ** 3"), ("pow_neg_int", "a ** -2"), ("pow_half", "a ** 0.5"),
                       ("pow_int_7", "a ** 7"), ("pow_complex_literal", "a ** (0.5 + 1j)"),
                       ("eq", "a == b"), ("ne", "a != b"), ("eq_self", "a == a"),
                       ("where", "where(real(a) > 0, a, b)"), ("where_literal", "where(a == b, a, 1j)"),
                       ("real", "real(a)"), ("imag", "imag(a)"), ("conj", "conj(a)"),
                       ("abs", "abs(a)"), ("conj_times_self", "a * conj(a)"),
                       ("sum", "sum(a)"), ("mean", "mean(a)"), ("sum_axis0", "sum(a, axis=0)"),
                       ("sum_axis1", "sum(a, axis=1)"), ("mean_axis1", "mean(a, axis=1)"),
                       ("any", "any(a)"), ("sum_in_expression", "a - mean(a)"),
                       ("prod", "prod(a)"), ("prod_axis0", "prod(a, axis=0)"),
                       ("prod_axis1", "prod(a, axis=1)"), ("prod_in_expression", "a / prod(a)"),
                       ("weak_imag", "a * 2j"), ("weak_float", "a + 1.5"), ("weak_int", "a * 3"),
                       ("isnan", "isnan(a / 0)"), ("isinf", "isinf(a / 0)"), ("isfinite", "isfinite(a)")):
            complex_case(f, f"{nm}_{dt}", ex, ab)
        bad = {"a": a, "b": b}
        for nm, ex, at in (("lt", "a < b", "a < b"), ("mod", "a % b", "a % b"),
                           ("floordiv", "a // b", "a // b"), ("min", "min(a)", "min(a)"),
                           ("max", "max(a)", "max(a)"), ("floor", "floor(a)", "floor(a)"),
                           ("maximum", "maximum(a, b)", "maximum(a, b)"), ("invert", "~a", "~a"),
                           ("arctan2", "arctan2(a, b)", "arctan2(a, b)")):
            complex_case(f, f"error_{nm}_{dt}", ex, bad, error="type", at=at)
    # Promotion: complex with every real dtype, both complex dtypes, weak literals.
    x64 = Var("float64", [1.5, -2.0, 0.0])
    x32 = Var("float32", [1.5, -2.0, 0.0])
    i32 = Var("int32", [1, -2, 3])
    i64 = Var("int64", [1, -2, 3])
    bb = Var("bool", [True, False, True])
    c64 = C64([1 + 1j, 2 - 1j, -0.5j], [3])
    c128 = C128([1 + 1j, 2 - 1j, -0.5j], [3])
    for nm, v in (("f64", x64), ("f32", x32), ("i32", i32), ("i64", i64), ("b", bb), ("c128", c128)):
        complex_case(f, f"promote_c64_{nm}", "z + x", {"z": c64, "x": v})
        complex_case(f, f"promote_c128_{nm}", "z * x", {"z": c128, "x": v})
        complex_case(f, f"imag_literal_{nm}", "x + 2.5e3j", {"x": v})
    complex_case(f, "literals_only", "(1+2j) * (3-4j) / 2j", {})
    complex_case(f, "literal_imag_capital", "x * 1J", {"x": x64})
    complex_case(f, "complex_f64", "complex(x, y)", {"x": x64, "y": Var("float64", [0.5, inf, -0.0])})
    complex_case(f, "complex_f32", "complex(x, y)", {"x": x32, "y": Var("float32", [0.5, inf, -0.0])})
    complex_case(f, "complex_int", "complex(x, 1)", {"x": i32})
    complex_case(f, "abs_of_complex", "abs(complex(x, 2.0))", {"x": x64})
    complex_case(f, "where_complex_condition", "where(z, 1.0, 2.0)", {"z": C128([0j, 1j, -0.0 + 0j], [3])})
    complex_case(f, "real_of_real", "real(x) + imag(x)", {"x": x64})
    complex_case(f, "sum_c64_3", "sum(z)", {"z": c64})
    # Products of many factors 1 + ix (exact, and no overflow): more than one leaf of the
    # runtime's tree, contiguous, reversed and strided, every axis.
    lin = lambda dt, n, shape, view=None: Var(dt, gen=f"linspace(-0.004, 0.012, {n})", shape=shape, view=view)  # noqa: E731
    for nm, ex, var in (
            ("prod_many", "prod(1 + x*1j)", lin("float64", 6000, [6000])),
            ("prod_many_reversed", "prod(x*1j - 1)", lin("float64", 6000, [6000], "::-3")),
            ("prod_many_axis0", "prod(1 + x*1j, axis=0)", lin("float64", 6000, [200, 30])),
            ("prod_many_axis1", "prod(1 + x*1j, axis=1)", lin("float64", 6000, [30, 200])),
            ("prod_many_axis1_strided", "prod(1 + x*1j, axis=1)", lin("float64", 6000, [30, 200], ":, ::2")),
            ("prod_many_c64", "prod(1 + x*1j)", lin("float32", 600, [600])),
            ("prod_many_c64_axis0", "prod(1 + x*1j, axis=0)", lin("float32", 600, [200, 3]))):
        complex_case(f, nm, ex, {"x": var})
    complex_case(f, "prod_empty", "prod(z)", {"z": Var("complex128", np.zeros(0, np.complex128), shape=[0])})
    complex_case(f, "prod_of_real_times_imag", "prod(x * 1j)", {"x": x64})
    complex_case(f, "zero_0d", "z * 2", {"z": Var("complex128", np.array(1 - 1j), shape=[])})
    complex_case(f, "strided", "z * 1j", {"z": Var("complex128", np.array(za, np.complex128), shape=[2, 3], view="::-1, ::2")})
    complex_case(f, "error_complex_of_complex", "complex(z, x)", {"z": c128, "x": x64}, error="type", at="complex(z, x)")
    # Every function on a grid of special values: branch cuts on both sides (signed zeros),
    # infinite and NaN parts (C99 Annex G).
    parts = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -3.0, 1e-300, 1e300, inf, -inf, nan]
    grid = np.array([complex(r, i) for r in parts for i in parts], np.complex128)
    small = np.array([complex(r, i) for r in parts[:10] for i in parts[:10]], np.complex128)
    for fn in ("sqrt", "exp", "expm1", "log", "log1p", "log10", "log2", "sign", "round", "sin", "cos", "tan", "arcsin",
               "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh"):
        complex_case(f, f"{fn}_special_c128", f"{fn}(z)", {"z": Var("complex128", grid, shape=[grid.size])})
        complex_case(f, f"{fn}_finite_c64", f"{fn}(z)", {"z": Var("complex64", small.astype(np.complex64), shape=[small.size])})
    for nm, ex in (("mul", "z * w"), ("div", "z / w"), ("add", "z + w"), ("pow", "z ** w"), ("eq", "z == w")):
        zz = np.repeat(grid[::7], grid[::7].size)
        ww = np.tile(grid[::7], grid[::7].size)
        complex_case(f, f"{nm}_special_c128", ex, {"z": Var("complex128", zz, shape=[zz.size]),
                                                    "w": Var("complex128", ww, shape=[ww.size])})


def _contains(h, n):
    """numexpr's `contains`: each string ends at its first NUL (a C string), then a substring
    test. NumPy's `np.strings.find` keeps interior NULs; on strings without them the two agree,
    which `string_case` checks."""
    def one(h, n):
        return n.split(b"\0")[0] in h.split(b"\0")[0]
    return np.vectorize(one, otypes=[bool])(h, n)[()]


def _contains_numpy(h, n):
    return (np.strings.find(np.asarray(h), np.asarray(n)) >= 0)[()]


class _BytesLiterals(ast.NodeTransformer):
    """numjit reads `'abc'` as `b'abc'` (as numexpr does): so does the oracle."""

    def visit_Constant(self, node):
        if isinstance(node.value, str):
            return ast.copy_location(ast.Constant(node.value.encode()), node)
        return node


STRING_NS = {name: getattr(np, name) for name in ("where", "sum", "any", "all")}
STRING_NS["sum"] = lambda a, axis=None: np.sum(a, axis=axis)[()]


def string_case(file, name, expr, vars, *, error=None, at=None, note=None):
    """A case on byte strings (`S<n>`): comparisons are NumPy's own, evaluated directly;
    `contains` is numexpr's (C strings), which must equal NumPy's `np.strings.find(...) >= 0`
    unless the case declares the deviation (a `note` naming it: strings with interior NULs)."""
    full = register_name(file, name)
    rec = {"name": full, "expr": expr, "vars": vars, "note": note}
    if error is not None:
        rec["error"] = (error, span_at(expr, at))
    else:
        tree = ast.fix_missing_locations(_BytesLiterals().visit(ast.parse(expr, mode="eval")))
        code = compile(tree, full, "eval")
        env = dict(STRING_NS)
        env.update({n: v.value for n, v in vars.items()})
        res = np.asarray(eval(code, {"__builtins__": {}}, dict(env, contains=_contains)))
        numpy_res = np.asarray(eval(code, {"__builtins__": {}}, dict(env, contains=_contains_numpy)))
        if not np.array_equal(res, numpy_res):
            if not note or "NUL" not in note:
                raise GenError(f"{full}: numexpr's contains differs from NumPy's find here")
            rec["deviation"] = "contains stops at a string's first NUL (numexpr's C strings); NumPy's find keeps interior NULs"
        rec["expected"] = res
        rec["ulps"], rec["rtol"] = None, None
    FILES[file]["cases"].append(rec)


def define_strings():
    f = begin_file("strings", "byte strings (NumPy's S<n>, numexpr's strings): string literals, "
                   "== != < <= > >= between strings of any lengths (trailing NULs ignored), "
                   "contains, their results in bool expressions, broadcasting, views, 0-d, and the "
                   "errors for everything else")
    Sv = lambda data, shape=None, view=None, order=None, n=None: Var(  # noqa: E731
        f"S{n or max(1, max(len(x) for x in np.ravel(np.array(data, dtype=object))))}",
        np.array(data, dtype=f"S{n or max(1, max(len(x) for x in np.ravel(np.array(data, dtype=object))))}"),
        shape=shape, view=view, order=order)
    s1 = Sv([b"foo", b"bar", b"", b"  ", b"foo\0", b"fo"])
    s2 = Sv([b"foo", b"", b"x", b" ", b"foo", b"foobar"])
    for nm, ex in (("lt", "a < b"), ("le", "a <= b"), ("eq", "a == b"), ("ne", "a != b"),
                   ("ge", "a >= b"), ("gt", "a > b")):
        string_case(f, f"{nm}_arrays", ex, {"a": s1, "b": s2})
        string_case(f, f"{nm}_literal", ex.replace("b", "b'foo'"), {"a": s1})
        string_case(f, f"{nm}_literal_first", ex.replace("a", "'fo'"), {"b": s2})
    string_case(f, "prefixes", "(a < b) & (a <= b) & ~(a == b) & ~(a >= b) & ~(a > b)",
                {"a": Sv([b"foo", b"foo", b"foo\0a"], n=6), "b": Sv([b"foobar", b"foo\0bar", b"foo\0bar"])})
    string_case(f, "trailing_nuls_equal", "a == b", {"a": Sv([b"foo"], shape=[]), "b": Sv([b"foo\0\0"], shape=[], n=5)})
    string_case(f, "high_bytes_unsigned", "a < b", {"a": Sv([b"a", b"\xff", b"\x80b"]), "b": Sv([b"\xff", b"a", b"\x80a"])})
    string_case(f, "empty_literal", "(a == b'') & (b == b'pepe2')",
                {"a": Sv([b"", b"pepe"]), "b": Sv([b"pepe2", b""])})
    string_case(f, "double_quotes_and_escapes", 'a == b"\\x41\\tb\\\'\\"\\0"',
                {"a": Sv([b"A\tb'\"", b"A\tb'\"x", b"A"])})
    string_case(f, "plain_string_literal", "a == 'bar'", {"a": s1})
    string_case(f, "literals_only", "('abc' < 'abd') & contains(b'abc', b'bc')", {})
    string_case(f, "contains_literal_needle", "contains(a, b'o')", {"a": s1})
    string_case(f, "contains_literal_haystack", "contains(b'test abc here', a)",
                {"a": Sv([b"abc", b"ab c", b" abc", b" abc ", b"\tabc", b"c h", b""])})
    string_case(f, "contains_arrays", "contains(h, n)",
                {"h": Sv([b"abckkk", b"adef", b"xyz", b"x11abcp", b"za", b"abc"]),
                 "n": Sv([b"abc", b"def", b"aterr", b"oot", b"zu", b"ab"])})
    string_case(f, "contains_empty_needle", "contains(a, b'')", {"a": s1})
    string_case(f, "contains_long_needle", "contains(a, b)",
                {"a": Sv([b"1" + b"a" * 40], shape=[]), "b": Sv([b"a" * 40], shape=[])})
    string_case(f, "contains_interior_nul", "contains(h, b'c')", {"h": Sv([b"ab\0c", b"abc", b"c"])},
                note="a haystack ends at its first NUL, as numexpr's (NumPy's find keeps interior NULs)")
    # Broadcasting, views, layouts, 0-d.
    grid = Sv([b"a", b"bb", b"ccc", b"", b"bb", b"a"], shape=[2, 3])
    string_case(f, "broadcast_rows", "g == r", {"g": grid, "r": Sv([b"a", b"bb", b"a"])})
    string_case(f, "broadcast_column", "g >= c", {"g": grid, "c": Sv([b"b", b"bb"], shape=[2, 1])})
    string_case(f, "broadcast_0d_var", "contains(g, c)", {"g": grid, "c": Sv([b"b"], shape=[])})
    string_case(f, "view_reversed_strided", "g < b'bb'", {"g": Sv([b"a", b"bb", b"ccc", b"", b"bb", b"a", b"zz", b"q"], shape=[2, 4], view="::-1, ::2")})
    string_case(f, "view_fortran", "g != b'bb'", {"g": Sv([b"a", b"bb", b"ccc", b"", b"bb", b"a"], shape=[2, 3], order="F")})
    string_case(f, "subscript_in_expression", "s[1:] == s[:-1]", {"s": Sv([b"a", b"a", b"b", b"b", b"b"])})
    big = np.array([b"foo", b"bar", b"", b"  "] * 2000, dtype="S3")
    string_case(f, "many_elements", "sum((s > b'a') & (s != b'foo'))", {"s": Var("S3", big, shape=[big.size])})
    # Results that combine with numbers.
    x = Var("float64", [0.5, 1.5, 2.5, 3.5, 4.5, 5.5])
    string_case(f, "where", "where(s == b'foo', x, -x)", {"s": s1, "x": x})
    string_case(f, "and_number_compare", "(s > b'a') & (x < 2)", {"s": s1, "x": x})
    string_case(f, "sum_of_compare", "sum(s == b'foo')", {"s": s1})
    string_case(f, "any_contains_axis", "any(contains(g, b'b'), axis=1)", {"g": grid})
    string_case(f, "compare_as_number", "(s == b'foo') * 2 + 1", {"s": s1})
    # Errors: anything but comparisons and contains.
    for nm, ex, at in (("add", "s + s", "s + s"), ("lt_number", "s < 1", "s < 1"),
                       ("eq_array_number", "s == x", "s == x"), ("neg", "-s", "-s"),
                       ("sum", "sum(s)", "sum(s)"), ("where_condition", "where(s, 1, 2)", "where(s, 1, 2)"),
                       ("result", "s", "s"), ("literal_result", "'abc'", "'abc'"),
                       ("where_branches", "where(x > 1, s, s)", "where(x > 1, s, s)"),
                       ("contains_number", "contains(x, b'a')", "contains(x, b'a')"),
                       ("sqrt", "sqrt(s)", "sqrt(s)"), ("invert", "~s", "~s"),
                       ("and", "s & s", "s & s")):
        string_case(f, f"error_{nm}", ex, {"s": s1, "x": x}, error="type", at=at)
    string_case(f, "error_contains_arity", "contains(s)", {"s": s1}, error="arity", at="contains(s)")
    string_case(f, "error_unterminated", "s == 'abc", {"s": s1}, error="syntax", at="'")
    string_case(f, "error_unknown_escape", "s == 'a\\qb'", {"s": s1}, error="syntax", at="\\q")
    string_case(f, "error_bad_hex", "s == 'a\\x4g'", {"s": s1}, error="syntax", at="\\x4g")


DEFINERS = [define_arith, define_dtypes, define_compare_logic, define_functions, define_edge_values,
            define_broadcast, define_strides, define_reductions, define_errors, define_generators,
            define_big, define_programs, define_kernels, define_complex, define_strings]


def main(argv):
    for d in DEFINERS:
        d()
    total = 0
    outputs = {}
    for stem, fd in FILES.items():
        outputs[HERE / f"{stem}.toml"] = render(stem)
        total += len(fd["cases"])
    if "--check" in argv:
        stale = [p.name for p, text in outputs.items() if not p.exists() or p.read_text() != text]
        if stale:
            sys.exit(f"out of date: {', '.join(stale)} (run tests/data/generate.py)")
    else:
        for p, text in outputs.items():
            p.write_text(text)
        for old in HERE.glob("*.toml"):
            if old not in outputs:
                old.unlink()
    for stem, fd in FILES.items():
        cases = fd["cases"]
        n_err = sum(1 for c in cases if "error" in c)
        n_dev = sum(1 for c in cases if c.get("deviation"))
        print(f"{stem + '.toml':20s} {len(cases):4d} cases ({n_err} errors, {n_dev} deviations)")
    print(f"{'total':20s} {total:4d} cases")
    if "--findings" in argv:
        print("\nNumPy departs from the stated rules (found while generating):")
        for k in sorted(FINDINGS):
            print(" -", FINDINGS[k])
        print("\nProbes:")
        for line in probe_findings():
            print(" -", line)


if __name__ == "__main__":
    main(sys.argv[1:])
