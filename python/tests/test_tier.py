"""The code generator switch (``set_tier``/``get_tier``, over ``numjit_set_tier``) and the LLVM
tier's object cache (``set_object_cache_dir``, ``object_cache_dir``, ``object_cache_stats``)."""

import numpy as np
import pytest

import numjit


def test_the_tier_is_set_by_name_and_results_do_not_change():
    a = np.linspace(0, 1, 1001)
    before = numjit.set_tier("cranelift")
    try:
        assert numjit.get_tier() == "cranelift"
        want = numjit.evaluate("sin(a)**2 + a*3")
        assert numjit.set_tier("auto") == "cranelift"
        assert numjit.get_tier() == "auto"
        # Auto compiles with Cranelift first: the same bits either way.
        np.testing.assert_array_equal(numjit.evaluate("sin(a)**2 + a*3 + 0"), want)
    finally:
        numjit.set_tier(before)


def test_an_unknown_tier_is_a_value_error_and_changes_nothing():
    before = numjit.get_tier()
    with pytest.raises(ValueError, match="unknown tier 'gcc'"):
        numjit.set_tier("gcc")
    assert numjit.get_tier() == before


def test_the_object_cache_directory_is_set_read_back_and_cleared(tmp_path):
    before = numjit.set_object_cache_dir(tmp_path / "objects")
    try:
        assert numjit.object_cache_dir() == str(tmp_path / "objects")
        assert numjit.set_object_cache_dir(b"/tmp/numjit bytes") == str(tmp_path / "objects")
        assert numjit.object_cache_dir() == "/tmp/numjit bytes"
        long = "/tmp/" + "d" * 300
        numjit.set_object_cache_dir(long)
        assert numjit.object_cache_dir() == long
        assert numjit.set_object_cache_dir(None) == long
        assert numjit.object_cache_dir() is None
        numjit.set_object_cache_dir("")
        assert numjit.object_cache_dir() is None
        with pytest.raises(ValueError, match="NUL byte"):
            numjit.set_object_cache_dir("/tmp/a\0b")
        assert numjit.object_cache_dir() is None
    finally:
        numjit.set_object_cache_dir(before)


def test_the_object_cache_counts_are_a_dict_of_counts():
    stats = numjit.object_cache_stats()
    assert list(stats) == ["hits", "misses", "rejected", "stored", "store_errors"]
    assert all(isinstance(v, int) and v >= 0 for v in stats.values())


def test_an_llvm_build_stores_its_objects_in_the_directory_set(tmp_path):
    before_tier = numjit.get_tier()
    try:
        numjit.set_tier("llvm")
    except ValueError:
        pytest.skip("the library was built without feature llvm")
    before_dir = numjit.set_object_cache_dir(tmp_path)
    try:
        counts = numjit.object_cache_stats()
        a = np.arange(1000.0)
        # An expression no other test compiles, so its object is new to this directory.
        got = numjit.evaluate(f"a * {tmp_path.stat().st_ino % 1000 + 0.5} - 7.25")
        np.testing.assert_array_equal(got, a * (tmp_path.stat().st_ino % 1000 + 0.5) - 7.25)
        after = numjit.object_cache_stats()
        assert after["misses"] > counts["misses"] and after["stored"] > counts["stored"]
        assert any(tmp_path.iterdir()), "an object file in the directory"
    finally:
        numjit.set_object_cache_dir(before_dir)
        numjit.set_tier(before_tier)
