#!/usr/bin/env bash
# P16 (area under a curve) and P5 (2-D diffusion) across MPI ranks, every program in one run:
# numjit (examples/mpi_area.rs, examples/mpi_diffusion.rs, feature `mpi`), the C + MPI
# references (c/p16_mpi.c, c/p5_mpi.c, gcc -O3 -march=native as the course builds C) and the
# mpi4py + NumPy programs (p16_mpi4py.py, p5_mpi4py.py), at each rank count, ranks × 1 thread,
# then numjit at 2 threads a rank.
#   bash benches/course/mpi.sh [RANKS...]        (default: 1 2)
# Needs Open MPI (`apt-get install libopenmpi-dev openmpi-bin libclang-dev`); installs mpi4py
# into the course venv (benches/course/.venv) when it is missing.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
BUILD="$HERE/build"
VENV="$HERE/.venv"
RANKS=("${@:-1 2}")
# shellcheck disable=SC2206
RANKS=(${RANKS[*]})
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --bind-to none)

mkdir -p "$BUILD"
echo "== building: numjit's MPI examples (release), the C references (mpicc -O3 -march=native)"
(cd "$REPO" && cargo build --release --features mpi --example mpi_area --example mpi_diffusion)
mpicc -O3 -march=native -Wall -Wextra "$HERE/c/p16_mpi.c" -o "$BUILD/p16_mpi"
mpicc -O3 -march=native -Wall -Wextra "$HERE/c/p5_mpi.c" -o "$BUILD/p5_mpi" -lm
PY=""
if [ -x "$VENV/bin/python" ]; then
    "$VENV/bin/python" -c "import mpi4py" 2>/dev/null || "$VENV/bin/pip" install --quiet mpi4py numpy
    PY="$VENV/bin/python"
fi

EXAMPLES="$REPO/target/release/examples"
echo "== machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; $(mpirun --version | head -1)"
for k in "${RANKS[@]}"; do
    echo "== P16, $k ranks x 1 thread (load: $(cut -d' ' -f1-3 /proc/loadavg))"
    "${MPIRUN[@]}" -n "$k" "$EXAMPLES/mpi_area" --threads 1
    "${MPIRUN[@]}" -n "$k" "$BUILD/p16_mpi"
    [ -n "$PY" ] && "${MPIRUN[@]}" -n "$k" "$PY" "$HERE/p16_mpi4py.py"
    echo "== P5, $k ranks x 1 thread (load: $(cut -d' ' -f1-3 /proc/loadavg))"
    "${MPIRUN[@]}" -n "$k" "$EXAMPLES/mpi_diffusion" --threads 1
    "${MPIRUN[@]}" -n "$k" "$BUILD/p5_mpi"
    [ -n "$PY" ] && "${MPIRUN[@]}" -n "$k" "$PY" "$HERE/p5_mpi4py.py"
    echo "== numjit at 2 threads a rank, $k ranks (load: $(cut -d' ' -f1-3 /proc/loadavg))"
    "${MPIRUN[@]}" -n "$k" "$EXAMPLES/mpi_area" --threads 2
    "${MPIRUN[@]}" -n "$k" "$EXAMPLES/mpi_diffusion" --threads 2
done
