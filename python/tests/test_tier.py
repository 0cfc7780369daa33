"""The code generator switch (``set_tier``/``get_tier``, over ``numjit_set_tier``)."""

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
