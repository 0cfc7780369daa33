"""numexpr 2.14's own test-suite against numjit: copy ``numexpr/tests/test_numexpr.py`` from an
installed numexpr next to this file and run pytest here. ``numexpr.evaluate`` is replaced by
``numjit.evaluate`` before the test module's ``from numexpr import evaluate`` runs, and so are
``validate`` and ``re_evaluate``, which work on the last expression ``evaluate``/``validate``
compiled (``NumExpr``, ``disassemble`` and the rest stay numexpr's own).

    cp "$(python -c 'import numexpr, os; print(os.path.dirname(numexpr.__file__))')"/tests/test_numexpr.py .
    python -m pytest -q -W ignore test_numexpr.py

On 2026-12-03 (session 12, complex `prod`): 6039 passed, 3 failed (6037 and 5 before it; 6001
and 41 on branch `complex`), each a documented deviation (python/README.md, "Where it differs
from NumExpr"): negative axes accepted (`test_axis` x2), int64 literals (`test_small_int`).
"""

import numexpr

import numjit

numexpr.evaluate = numjit.evaluate
numexpr.validate = numjit.validate
numexpr.re_evaluate = numjit.re_evaluate
