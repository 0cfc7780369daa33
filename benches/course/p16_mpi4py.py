"""P16, the mpi4py + NumPy program numjit's `examples/mpi_area.rs` is measured against: P9's
area under 0.7x^3 - 2x^2 + 4 on [0, 3], each rank summing its block of x = i*dx with NumPy,
the partial sums reduced with MPI (rank order, not bit-identical to one process).

    mpirun -n 2 python benches/course/p16_mpi4py.py [n]
"""
import sys
import time

import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000_000
dx = 3.0 / n
lo, hi = rank * n // size, (rank + 1) * n // size

times, comm_times = [], []
for _ in range(6):
    comm.Barrier()
    t0 = time.perf_counter()
    x = np.arange(lo, hi, dtype=np.float64) * dx
    part = np.sum((0.7 * x**3 - 2 * x**2 + 4) * dx)
    t1 = time.perf_counter()
    area = comm.allreduce(part, op=MPI.SUM)
    t2 = time.perf_counter()
    times.append(t2 - t0)
    comm_times.append(t2 - t1)
times, comm_times = times[1:], comm_times[1:]
t = sorted(times)[len(times) // 2]
c = sorted(comm_times)[len(comm_times) // 2]
if rank == 0:
    print(f"P16 mpi4py + NumPy {np.__version__}: n = {n}, {size} ranks")
    print(f"  area = {area:.15f}")
    print(f"  time {t * 1e3:.2f} ms (median of 5); allreduce {c * 1e3:.2f} ms ({100 * c / t:.0f}%)")
