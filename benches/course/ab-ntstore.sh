#!/bin/bash
# Interleaved A/B of RESULTS-llvm-ntstore.md: numjit's course worker from main with
# NUMJIT_TIER=llvm (.base/llvm-before.sh), from this branch with NUMJIT_TIER=llvm
# (.base/llvm-after.sh) and with NUMJIT_TIER=cranelift (.base/cranelift.sh): each a
# two-line script `NUMJIT_TIER=... exec <bench_course binary> "$@"`. Prints one JSON line
# (every timed call) per worker.
cd /work/wt-ntstore
for round in 1 2 3 4; do
  for spec in "P2 10000000 20" "P14-triad 30000000 10" "P7 300 4"; do
    set -- $spec
    for tool in llvm-before llvm-after cranelift; do
      for t in 1 2; do
        out=$(RAYON_NUM_THREADS=$t OMP_NUM_THREADS=$t timeout 300 nice -n 19 .base/$tool.sh --problem $1 --threads $t --reps $3 --size $2 --variant out 2>/dev/null | tail -1)
        echo "$round $1 $tool $t $out"
      done
    done
  done
done
