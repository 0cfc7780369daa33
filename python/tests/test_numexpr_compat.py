"""NumExpr's documented behaviours, checked against NumPy and, where both libraries define the
same result, against ``numexpr`` itself: name lookup, scalars, dtypes, broadcasting, ``out=``,
strides, 0-d and empty arrays, threads, ``validate``/``re_evaluate`` and error classes."""

import gc
import sys
import threading

import numexpr
import numpy as np
import pytest

import numjit as ne

GLOBAL_ARRAY = np.arange(4.0)


# --- name lookup -------------------------------------------------------------------------------


def test_names_come_from_the_callers_frame():
    a = np.arange(5.0)
    b = 2
    np.testing.assert_array_equal(ne.evaluate("a * b"), a * b)
    # Globals of the calling module are found too.
    np.testing.assert_array_equal(ne.evaluate("GLOBAL_ARRAY + 1"), GLOBAL_ARRAY + 1)


def test_locals_shadow_globals():
    GLOBAL_ARRAY = np.ones(2)  # noqa: N806 -- shadows the module's on purpose
    np.testing.assert_array_equal(ne.evaluate("GLOBAL_ARRAY * 2"), [2.0, 2.0])
    np.testing.assert_array_equal(ne.evaluate("GLOBAL_ARRAY * 2"), numexpr.evaluate("GLOBAL_ARRAY * 2"))


def helper_evaluating_its_own_locals():
    x = np.arange(3.0)  # noqa: F841 -- looked up by name
    return ne.evaluate("x + 1")


def test_names_come_from_the_immediate_caller():
    x = np.zeros(3)  # noqa: F841 -- must not be seen by the helper
    np.testing.assert_array_equal(helper_evaluating_its_own_locals(), [1.0, 2.0, 3.0])


def test_local_dict_replaces_locals_and_global_dict_globals():
    a = np.ones(3)  # noqa: F841 -- must be ignored when local_dict is given
    r = ne.evaluate("a + 1", local_dict={"a": np.full(3, 5.0)})
    np.testing.assert_array_equal(r, [6.0, 6.0, 6.0])
    r = ne.evaluate("a + g", local_dict={"a": np.zeros(2)}, global_dict={"g": 7.0})
    np.testing.assert_array_equal(r, [7.0, 7.0])
    with pytest.raises(KeyError):
        ne.evaluate("GLOBAL_ARRAY", local_dict={}, global_dict={})


def test_constants_unless_shadowed():
    assert ne.evaluate("pi", local_dict={}, global_dict={}) == np.pi
    assert ne.evaluate("pi", local_dict={"pi": 3}, global_dict={}) == 3


def test_lookup_does_not_keep_the_callers_arrays_referenced():
    # NumExpr clears its f_locals snapshot (pydata/numexpr#310) so that e.g. resize() works.
    a = np.arange(10.0)
    ne.evaluate("a + 1")
    a.resize(20, refcheck=True)
    assert a.shape == (20,)


# --- values and dtypes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, dtype",
    [(1, np.int64), (1.5, np.float64), (True, np.bool_), (np.float32(2), np.float32)],
)
def test_python_scalars_are_0d_arrays_like_numexpr(value, dtype):
    got = ne.evaluate("x", local_dict={"x": value})
    assert isinstance(got, np.ndarray) and got.shape == () and got.dtype == dtype
    assert got.dtype == numexpr.evaluate("x", local_dict={"x": value}).dtype


@pytest.mark.parametrize(
    "dtype, computes_as",
    [(np.int8, np.int32), (np.int16, np.int32), (np.uint8, np.int32), (np.uint16, np.int32),
     (np.uint32, np.int64), (np.float16, np.float32)],
)
def test_small_dtypes_are_upcast_like_numexpr(dtype, computes_as):
    x = np.arange(6).astype(dtype)
    got = ne.evaluate("x * 2")
    assert got.dtype == computes_as == numexpr.evaluate("x * 2").dtype
    np.testing.assert_array_equal(got, x.astype(computes_as) * 2)


@pytest.mark.parametrize(
    "value", [np.arange(3, dtype=np.uint64), np.ones(2, np.complex256), np.array(["a"]), np.array([None]),
              np.array(["2020-01-01"], dtype="M8[D]"), 2**64],
)
def test_unsupported_dtypes_raise_type_error_naming_them(value):
    with pytest.raises(TypeError) as info:
        ne.evaluate("x + 1", local_dict={"x": value})
    assert "x" in str(info.value) and str(np.asarray(value).dtype) in str(info.value)


def test_lists_are_arrays():
    np.testing.assert_array_equal(ne.evaluate("x * 2", local_dict={"x": [1, 2, 3]}), [2, 4, 6])


def test_byteswapped_and_misaligned_inputs():
    x = np.arange(5, dtype=">f8")
    np.testing.assert_array_equal(ne.evaluate("x * 2"), x * 2)
    raw = np.zeros(8 * 5 + 1, np.uint8)
    y = raw[1:].view(np.float64)  # data pointer not a multiple of 8
    y[:] = np.arange(5)
    assert not y.flags.aligned
    np.testing.assert_array_equal(ne.evaluate("y + 1"), y + 1)


@pytest.mark.parametrize(
    "expr", ["a + b", "a * 2.5", "a < b", "where(a > 1, a, b)", "sqrt(a)", "a ** 2", "sum(a * b)"]
)
def test_results_agree_with_numexpr(expr):
    a = np.linspace(0.0, 3.0, 7)
    b = np.linspace(3.0, 0.0, 7)
    got, want = ne.evaluate(expr), numexpr.evaluate(expr)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-15)


# --- shapes ------------------------------------------------------------------------------------


def test_broadcasting_like_numpy():
    col, row = np.arange(3.0).reshape(3, 1), np.arange(4.0).reshape(1, 4)
    np.testing.assert_array_equal(ne.evaluate("col * 10 + row"), col * 10 + row)
    k = np.float64(3)
    np.testing.assert_array_equal(ne.evaluate("col + k"), col + k)
    with pytest.raises(ValueError):
        ne.evaluate("a + b", local_dict={"a": np.ones(3), "b": np.ones(4)})


def test_zero_d_and_empty_arrays():
    z = np.array(2.5)
    got = ne.evaluate("z * 2")
    assert got.shape == () and got == 5.0
    e = np.ones((0, 3))
    got = ne.evaluate("e * 2")
    assert got.shape == (0, 3) and got.dtype == np.float64
    assert ne.evaluate("sum(e)") == 0.0


@pytest.mark.parametrize(
    "view",
    [lambda m: m[::2, ::-1], lambda m: m.T, lambda m: np.asfortranarray(m), lambda m: m[1:, 3:1:-1],
     lambda m: np.broadcast_to(m[0], (5, 6)), lambda m: m[:, 2]],
)
def test_strided_inputs_are_read_in_place(view):
    m = np.arange(30.0).reshape(5, 6)
    v = view(m)
    np.testing.assert_array_equal(ne.evaluate("v * 2 + 1"), v * 2 + 1)
    np.testing.assert_array_equal(ne.evaluate("v * 2 + 1"), numexpr.evaluate("v * 2 + 1"))


def test_order():
    f = np.asfortranarray(np.ones((3, 4)))
    assert ne.evaluate("f * 2", order="F").flags.f_contiguous
    assert ne.evaluate("f * 2", order="A").flags.f_contiguous
    assert ne.evaluate("f * 2", order="C").flags.c_contiguous
    with pytest.raises(ValueError):
        ne.evaluate("f", order="Z")
    with pytest.raises(ValueError):
        ne.evaluate("f", casting="nope")


# --- out= --------------------------------------------------------------------------------------


def test_out_is_written_in_place_and_returned():
    a = np.arange(5.0)
    out = np.empty(5)
    assert ne.evaluate("a * 2", out=out) is out
    np.testing.assert_array_equal(out, a * 2)


def test_strided_out():
    a = np.arange(5.0)
    buf = np.full(10, -1.0)
    ne.evaluate("a + 1", out=buf[::2])
    np.testing.assert_array_equal(buf, [1, -1, 2, -1, 3, -1, 4, -1, 5, -1])
    rev = np.zeros(5)
    ne.evaluate("a + 1", out=rev[::-1])
    np.testing.assert_array_equal(rev, [5, 4, 3, 2, 1])


def test_out_may_be_an_input():
    a = np.arange(5.0)
    b = a.copy()
    ne.evaluate("a * 2 + 1", out=a)
    numexpr.evaluate("b * 2 + 1", out=b)
    np.testing.assert_array_equal(a, b)


def test_out_dtype_casting_like_numexpr():
    a = np.arange(5, dtype=np.int32)
    out = np.empty(5, np.float64)
    ne.evaluate("a * 2", out=out)  # int32 → float64 is a safe cast, as numexpr allows
    np.testing.assert_array_equal(out, a * 2)
    with pytest.raises(ValueError):
        ne.evaluate("a * 2.5", out=np.empty(5, np.int32))  # float64 → int32 is not safe
    out = np.empty(5, np.int32)
    ne.evaluate("a * 2.5", out=out, casting="unsafe")
    np.testing.assert_array_equal(out, (a * 2.5).astype(np.int32))


def test_bad_out_raises_value_error():
    a = np.arange(5.0)
    with pytest.raises(ValueError, match="shape"):
        ne.evaluate("a * 2", out=np.empty(4))
    with pytest.raises(ValueError):
        ne.evaluate("a * 2", out=np.broadcast_to(np.empty(1), (5,)))  # read-only
    overlapping = np.lib.stride_tricks.as_strided(np.empty(5), (5,), (0,), writeable=True)
    with pytest.raises(ValueError, match="share memory"):
        ne.evaluate("a * 2", out=overlapping)
    with pytest.raises(TypeError, match="out must be a NumPy array"):
        ne.evaluate("a * 2", out=[0.0] * 5)


def test_failed_evaluation_leaves_out_untouched():
    a, b = np.ones(3), np.ones(4)
    out = np.full(3, 7.0)
    with pytest.raises(ValueError):
        ne.evaluate("a + b", out=out)
    np.testing.assert_array_equal(out, [7.0, 7.0, 7.0])


# --- validate / re_evaluate --------------------------------------------------------------------


def test_re_evaluate_with_new_arrays():
    a = np.arange(3.0)
    ne.evaluate("a * 10")
    a = np.arange(5.0)  # same dtype and rank, another size
    np.testing.assert_array_equal(ne.re_evaluate(), a * 10)
    np.testing.assert_array_equal(ne.re_evaluate({"a": np.ones(2)}), [10.0, 10.0])
    with pytest.raises(TypeError):
        ne.re_evaluate({"a": np.ones(2, np.float32)})  # another signature


def test_re_evaluate_reuses_out():
    a = np.arange(4.0)
    out = np.empty(4)
    ne.evaluate("a + 1", out=out)
    a = a * 2
    assert ne.re_evaluate() is out
    np.testing.assert_array_equal(out, a + 1)


def test_validate_returns_the_exception():
    a = np.arange(3.0)  # noqa: F841 -- looked up by name
    assert ne.validate("a + 1") is None
    np.testing.assert_array_equal(ne.re_evaluate(), [1.0, 2.0, 3.0])
    e = ne.validate("a + nope")
    assert isinstance(e, KeyError) and "nope" in str(e)
    assert isinstance(ne.validate("a +"), SyntaxError)


def test_re_evaluate_without_a_previous_call_in_this_thread():
    caught = []

    def run():
        try:
            ne.re_evaluate({})
        except RuntimeError as e:
            caught.append(e)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert len(caught) == 1


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr, exc, kind",
    [
        ("a +", SyntaxError, "syntax"),
        ("a + nope", KeyError, "unknown_name"),
        ("foo(a)", TypeError, "unknown_function"),
        ("sin(a, a)", TypeError, "arity"),
        ("~a", TypeError, "type"),
        ("sum(a, axis=3)", np.exceptions.AxisError, "axis"),
        ("i ** -1", ValueError, "negative_power"),
        ("min(empty)", ValueError, "value"),
        # Python syntax the language leaves out: TypeError too, as NumExpr raises.
        ("(a > 1) and (a < 9)", TypeError, "syntax"),
        ("not a", TypeError, "syntax"),
        ("a < [0, 0, 0]", TypeError, "syntax"),
    ],
)
def test_error_classes_and_caret_messages(expr, exc, kind):
    variables = {"a": np.ones(3), "i": np.arange(3), "empty": np.ones(0)}
    with pytest.raises(exc) as info:
        ne.evaluate(expr, local_dict=variables)
    e = info.value
    assert isinstance(e, ne.NumjitError) and e.kind == kind
    lines = str(e).splitlines()
    assert lines[1].strip() == expr and set(lines[2].strip()) == {"^"}, str(e)


# --- threads -----------------------------------------------------------------------------------


def test_numexprs_tuning_keywords_are_accepted():
    a = np.arange(4)
    for opt in ("none", "moderate", "aggressive"):
        got = ne.evaluate("a / 2", optimization=opt, truediv="auto", sanitize=True)
        assert np.array_equal(got, a / 2)
    assert ne.validate("a + 1", optimization="moderate") is None
    # NumExpr 2.14 on Python 3 divides truly whatever `truediv` says; so does numjit.
    assert np.array_equal(ne.evaluate("a / 2", truediv=False), a / 2)
    with pytest.raises(ValueError, match="truediv"):
        ne.evaluate("a / 2", truediv="floor")
    with pytest.raises(ValueError, match="optimization"):
        ne.evaluate("a / 2", optimization="fast")


def test_other_syntax_errors_are_not_type_errors():
    for expr in ("a +", "a + (", "a @ a"):
        with pytest.raises(SyntaxError) as info:
            ne.evaluate(expr, local_dict={"a": np.ones(1)})
        assert not isinstance(info.value, TypeError), expr


NUMPY_OF = {"copy": np.copy, "conj": np.conj, "real": np.real, "imag": np.imag,
            "ones_like": np.ones_like, "nextafter": np.nextafter}


@pytest.mark.parametrize("name", list(NUMPY_OF))
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.int64])
def test_numexprs_real_array_functions_give_numpys_results(name, dtype):
    if name == "nextafter" and np.dtype(dtype).kind == "i":
        pytest.skip("numexpr has nextafter for floats only")
    a = np.array([0, -1, 2, 1e-300]).astype(dtype)
    variables = {"a": a}
    if name == "nextafter":  # on floats only
        variables["b"] = np.array([1.0, -np.inf, 2.0, -1.0], dtype)
    args = tuple(variables.values())
    expr = f"{name}({', '.join(variables)})"
    got = ne.evaluate(expr, local_dict=variables)
    want = np.asarray(NUMPY_OF[name](*args))
    assert got.dtype == want.dtype and np.array_equal(got, want), (got, want)
    if name != "nextafter":
        # NumExpr computes these in complex128 (real, imag: float64): same values, other dtype.
        theirs = numexpr.evaluate(expr, local_dict={"a": a})
        assert np.array_equal(np.real(theirs).astype(got.dtype), got)


def test_set_num_threads_returns_the_previous_number():
    before = ne.get_num_threads()
    try:
        assert ne.set_num_threads(1) == before
        assert ne.get_num_threads() == 1
        assert ne.set_num_threads(3) == 1
        assert ne.get_num_threads() == 3
        with pytest.raises(ValueError):
            ne.set_num_threads(0)
    finally:
        ne.set_num_threads(before)


def test_results_do_not_depend_on_the_thread_count():
    a = np.linspace(0, 1, 300_001)
    before = ne.set_num_threads(1)
    try:
        one = ne.evaluate("sum(sin(a) * a)"), ne.evaluate("exp(a) - a")
        ne.set_num_threads(4)
        four = ne.evaluate("sum(sin(a) * a)"), ne.evaluate("exp(a) - a")
    finally:
        ne.set_num_threads(before)
    assert one[0] == four[0]
    np.testing.assert_array_equal(one[1], four[1])


def test_python_threads_evaluate_concurrently():
    results, errors = {}, []

    def work(i):
        try:
            x = np.full(10_000, float(i))
            for _ in range(20):
                r = ne.evaluate("x * 2 + 1")
            results[i] = r
        except Exception as e:  # noqa: BLE001 -- reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i, r in results.items():
        np.testing.assert_array_equal(r, np.full(10_000, 2.0 * i + 1))


# --- memory ------------------------------------------------------------------------------------


def test_results_own_their_memory():
    a = np.arange(1000.0)
    r = ne.evaluate("a * 2")
    base = r.base
    assert base is not None  # numjit's buffer, freed with the array
    del r
    gc.collect()
    assert sys.getrefcount(base) == 2  # only `base` here: nothing else holds the buffer
    r = ne.evaluate("a * 2")
    r[0] = 99.0  # results are writable, like NumExpr's
    assert r[0] == 99.0


def test_misaligned_out_is_written_as_numexpr_does():
    raw = np.zeros(8 * 5 + 1, np.uint8)
    out = raw[1:].view(np.float64)
    assert not out.flags.aligned
    assert ne.evaluate("a + 1", local_dict={"a": np.arange(5.0)}, out=out) is out
    assert out.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert raw[0] == 0  # nothing written outside it
    # Packed records: fields at odd offsets, strides no multiple of the element size.
    rec = np.zeros(4, dtype=np.dtype([("c", "u1"), ("x", "<f8"), ("n", "<i4")], align=False))
    rec["n"] = [1, 2, 3, 4]
    ne.evaluate("n * 2.5", {"n": rec["n"]}, out=rec["x"])
    ne.evaluate("n - 1", {"n": rec["n"]}, out=rec["n"])
    assert rec["x"].tolist() == [2.5, 5.0, 7.5, 10.0]
    assert rec["n"].tolist() == [0, 1, 2, 3] and rec["c"].tolist() == [0, 0, 0, 0]


def test_a_program_updates_a_misaligned_array_and_a_failing_one_leaves_it():
    raw = np.zeros(8 * 4 + 1, np.uint8)
    u = raw[1:].view(np.float64)
    u[:] = [1.0, 2.0, 3.0, 4.0]
    ne.run("u += 1\nu[1:] = u[:-1] * 2", {"u": u})
    assert u.tolist() == [2.0, 4.0, 6.0, 8.0]
    with pytest.raises(ValueError):  # a shape error, found after the aligned copy was made
        ne.run("u += 1\nu[1:] = u", {"u": u})
    assert u.tolist() == [2.0, 4.0, 6.0, 8.0]


def test_nul_in_expression_is_a_syntax_error():
    with pytest.raises(SyntaxError):
        ne.evaluate("1\0 + nope")


def test_portable_layout_path(monkeypatch):
    # The array-interface path used when the object-layout probe fails must give the same results.
    from numjit import _convert

    monkeypatch.setattr(_convert, "FAST_LAYOUT", False)
    m = np.arange(30.0).reshape(5, 6)
    v, z = m[::2, ::-1], np.array(3.0)
    np.testing.assert_array_equal(ne.evaluate("v * z + 1"), v * z + 1)
    out = np.zeros((6, 3)).T
    ne.evaluate("v - 1", out=out)
    np.testing.assert_array_equal(out, v - 1)


# --- byte strings (#17) ----------------------------------------------------------------------

_STRINGS = np.array([b"foo", b"bar", b"", b"  ", b"foo\0", b"fo"])
_OTHERS = np.array([b"foo", b"", b"x", b" ", b"foo", b"foobar"])


@pytest.mark.parametrize(
    "expr",
    [
        "s < t", "s <= t", "s == t", "s != t", "s >= t", "s > t",
        "s >= b'foo'", "'fo' < t", 's == "bar"', "contains(s, b'o')", "contains(b'foo bar', s)",
        "contains(t, s)", "where(s == b'foo', x, -x)", "(s > b'a') & (x < 2)",
    ],
)
def test_strings_match_numexpr(expr):
    env = {"s": _STRINGS, "t": _OTHERS, "x": np.arange(6.0)}
    got = ne.evaluate(expr, local_dict=env)
    want = numexpr.evaluate(expr, local_dict=env)
    assert got.dtype == want.dtype and np.array_equal(got, want), (got, want)


def test_strings_broadcast_views_and_scalars():
    g = np.array([[b"a", b"bb", b"ccc"], [b"", b"bb", b"a"]])
    assert ne.evaluate("g == r", {"g": g, "r": g[0]}).tolist() == (g == g[0]).tolist()
    assert ne.evaluate("g >= b'b'", {"g": g.T}).tolist() == (g.T >= b"b").tolist()
    assert ne.evaluate("g[::-1, ::2] < b'b'").tolist() == (g[::-1, ::2] < b"b").tolist()
    # A field of a structured array: strides that are not whole strings are copied first.
    rec = np.zeros(3, dtype=[("n", "i4"), ("s", "S3")])
    rec["s"] = [b"ab", b"x", b"ab"]
    assert ne.evaluate("s == b'ab'", {"s": rec["s"]}).tolist() == [True, False, True]
    # Python bytes are 0-d S arrays, compared as NumPy compares (trailing NULs ignored).
    assert ne.evaluate("a == b", {"a": b"foo", "b": b"foo\0\0"})[()] is np.True_
    assert ne.evaluate("contains(b'abc', b'ab')")[()]


def test_a_string_variable_alone_is_a_copy_as_in_numexpr():
    s = b"\0\0foo\0"
    r = ne.evaluate("s")
    assert r.tobytes() == s
    got = ne.evaluate("a", {"a": _STRINGS})
    assert np.array_equal(got, _STRINGS) and not np.shares_memory(got, _STRINGS)


@pytest.mark.parametrize("expr", ["s + s", "s < x", "sum(s)", "-s", "where(s, x, x)", "sqrt(s)"])
def test_anything_else_on_strings_is_a_type_error_with_a_caret(expr):
    with pytest.raises(ne.NumjitTypeError) as info:
        ne.evaluate(expr, {"s": _STRINGS, "x": np.arange(6.0)})
    assert info.value.span is not None and expr in str(info.value)


def test_unicode_arrays_are_value_errors_as_in_numexpr():
    u = np.array(["a", "b"])
    with pytest.raises(ValueError):
        numexpr.evaluate("u == u")
    with pytest.raises(ValueError, match="Unicode"):
        ne.evaluate("u == u")


# --- the rest of NumExpr's test-suite (#17) ---------------------------------------------------


def test_axis_none_is_all_axes():
    y = np.arange(12.0).reshape(3, 4)
    for f in ("sum", "prod", "min", "max", "mean", "any", "all"):
        assert ne.evaluate(f"{f}(y**2, axis=None)") == ne.evaluate(f"{f}(y**2)")
    with pytest.raises(SyntaxError, match="axis=None"):
        ne.evaluate("y + None")


def test_truediv_is_accepted_and_ignored_as_in_numexpr_on_python_3():
    x = np.arange(10, dtype="i4")
    for truediv in (False, True, "auto"):
        np.testing.assert_array_equal(ne.evaluate("x/2", truediv=truediv), x / 2)
    with pytest.raises(ValueError):
        ne.evaluate("x/2", truediv="yes")


def test_sanitized_text_numexpr_refuses_is_also_a_value_error():
    for ex in ("lambda x: x", "import os;", "os. cpu_count()", "__builtins__"):
        with pytest.raises(ValueError):
            ne.evaluate(ex)
        with pytest.raises(ValueError):
            numexpr.evaluate(ex)
    # Without sanitizing NumExpr raises SyntaxError; numjit's syntax errors are SyntaxErrors.
    with pytest.raises(SyntaxError):
        ne.evaluate("import os;", sanitize=False)
    # Subscripts are numjit's own and never refused.
    a = np.arange(4.0)
    assert ne.evaluate("a[1:] - a[:-1]").tolist() == [1.0, 1.0, 1.0]


def test_out_of_another_dtype_is_broadcast_and_cast_same_kind_by_default():
    a = np.empty(5, dtype=np.uint8)[1:].view(np.int32)  # unaligned, 1 element
    ne.evaluate("3", out=a)
    assert a.tolist() == [3]
    b = np.zeros((2, 3), np.float32)
    ne.evaluate("x * 2", {"x": np.arange(3.0)}, out=b)
    assert b.tolist() == [[0.0, 2.0, 4.0]] * 2


def test_re_evaluate_and_validate_as_numexpr_suite_uses_them():
    a = np.array([1.0, 2.0, 3.0])
    assert ne.validate("2*a + 1") is None
    assert ne.re_evaluate().tolist() == [3.0, 5.0, 7.0]
    out = np.zeros(3)
    assert ne.evaluate("a + 1", {"a": a}, out=out) is out
    assert ne.re_evaluate({"a": np.array([4.0, 5.0, 6.0])}) is out
    assert out.tolist() == [5.0, 6.0, 7.0]


def test_string_ops_numexpr_has_no_opcode_for_are_also_its_not_implemented_error():
    env = {"s": _STRINGS, "n": np.arange(6, dtype="i4")}
    for expr, opcode in (("s + s", "add_sss"), ("s >= n", "ge_bsi"), ("s < n", "gt_bis"),
                         ("-s", "neg_ss"), ("contains(n, s)", "contains_bis")):
        with pytest.raises(NotImplementedError, match=f"'{opcode}'"):
            numexpr.evaluate(expr, local_dict=env)
        with pytest.raises(NotImplementedError, match=f"'{opcode}'") as info:
            ne.evaluate(expr, local_dict=env)
        assert isinstance(info.value, TypeError) and info.value.span is not None
    # A string with a number in arithmetic: NumExpr's TypeError, and numjit's.
    with pytest.raises(TypeError) as info:
        ne.evaluate("s + n", local_dict=env)
    assert not isinstance(info.value, NotImplementedError)
