#!/usr/bin/env bash
# The course benchmarks in one command (see README.md):
#   bash benches/course/run.sh [--quick] [--problems P1,P2,...] [runner.py options]
# Sets up the Python peers' venv, builds numjit's bench_course example and the
# C references, then hands every argument to runner.py.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="$HERE/.venv"
BUILD="$HERE/build"
PYTHON="${PYTHON:-python3.11}"

setup_venv() {
    # Reused when it already imports all three peers.
    if ! "$VENV/bin/python" -c "import numpy, numexpr, numba" 2>/dev/null; then
        echo "== creating $VENV"
        "$PYTHON" -m venv "$VENV"
        "$VENV/bin/pip" install --quiet numpy numexpr numba
    fi
}

build_numjit() {
    # The runner shows numjit as "not built" while the example does not exist yet.
    # NUMJIT_BENCH_FEATURES (e.g. `llvm`) builds the worker with those cargo features.
    local features=()
    [ -n "${NUMJIT_BENCH_FEATURES:-}" ] && features=(--features "$NUMJIT_BENCH_FEATURES")
    echo "== cargo build --release --example bench_course ${features[*]}"
    if ! (cd "$REPO" && cargo build --release --example bench_course "${features[@]}"); then
        echo "== numjit's bench_course did not build; it will be reported as not built" >&2
        rm -f "$REPO/target/release/examples/bench_course"
    fi
}

build_c() {
    # gcc -O3 -march=native as the course measured it; -ffast-math only for the
    # libmvec variant of P1, which lives alone in p1_libmvec.c.
    echo "== gcc -O3 -march=native (1 thread) and -fopenmp (2 threads)"
    mkdir -p "$BUILD"
    local flags=(-O3 -march=native -Wall -Wextra -Wno-unknown-pragmas)
    gcc "${flags[@]}" -c "$HERE/c/bench_c.c" -o "$BUILD/bench_c.o"
    gcc "${flags[@]}" -ffast-math -c "$HERE/c/p1_libmvec.c" -o "$BUILD/p1_libmvec.o"
    gcc "$BUILD/bench_c.o" "$BUILD/p1_libmvec.o" -lm -o "$BUILD/bench_c"
    gcc "${flags[@]}" -fopenmp -c "$HERE/c/bench_c.c" -o "$BUILD/bench_c_omp.o"
    gcc "${flags[@]}" -fopenmp -ffast-math -c "$HERE/c/p1_libmvec.c" -o "$BUILD/p1_libmvec_omp.o"
    gcc -fopenmp "$BUILD/bench_c_omp.o" "$BUILD/p1_libmvec_omp.o" -lm -o "$BUILD/bench_c_omp"
}

setup_venv
build_numjit
build_c
exec "$VENV/bin/python" "$HERE/runner.py" "$@"
