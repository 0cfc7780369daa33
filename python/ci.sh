#!/usr/bin/env bash
# Builds and tests the Python package from a clean machine that has Rust, a C toolchain and
# Python >= 3.11 with pip: creates python/.venv, installs NumPy, NumExpr and pytest, builds the
# Rust library (release) into the package, installs it, and runs the pytest suite.
# Exits non-zero on any failure. Usage: bash python/ci.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11), "python/ci.sh needs Python >= 3.11 (tomllib)"'

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
VENV_PY=.venv/bin/python
"$VENV_PY" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV_PY" -m pip install --quiet --disable-pip-version-check numpy numexpr pytest "dask[array]>=2024.1" "distributed>=2024.1"
# The one documented install command (python/README.md); it runs `cargo build --release`.
"$VENV_PY" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps .

# Run from outside the source tree so the installed package, with its library, is what is tested.
cd tests
exec "../$VENV_PY" -m pytest -q -p no:cacheprovider "$@"
