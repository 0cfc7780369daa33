"""P5, the mpi4py + NumPy program numjit's `examples/mpi_diffusion.rs` is measured against: the
course's 2-D diffusion (301^2 grid, 13 410 steps), rows split into equal blocks, each rank
holding one ghost row per neighbour, exchanged with `Sendrecv` before every step; the step is
the course's NumPy expression on the rank's block.

    mpirun -n 2 python benches/course/p5_mpi4py.py [--small] [STEPS]
"""
import sys
import time

import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
args = [a for a in sys.argv[1:] if a != "--small"]
small = "--small" in sys.argv[1:]

D, x1, x2, runtime = 1.0, -10.0, 10.0, 15.0
dx = 0.667 if small else 0.0667
nrows = int((x2 - x1) / dx)
dx = (x2 - x1) / nrows
dt = 0.25 * dx**2 / D
nsteps = int(args[0]) if args else int(runtime / dt)
coef = (D / dx**2) * dt
n = nrows + 2


def f(x):
    return 1 - abs(1 - 4 * abs((x - (x1 + x2) / 2) / (x2 - x1)))


x = x1 + (np.arange(n) - 1.0) * (x2 - x1) / nrows
init = np.zeros((n, n))
init[1:-1, 1:-1] = np.outer(f(x[1:-1]), f(x[1:-1]))

counts = [n // size + (r < n % size) for r in range(size)]
lo = sum(counts[:rank])
hi = lo + counts[rank]
wlo, whi = max(lo - 1, 0), min(hi + 1, n)  # the window: own rows and one ghost row a side
up = rank - 1 if rank > 0 else MPI.PROC_NULL
down = rank + 1 if rank < size - 1 else MPI.PROC_NULL


def run():
    dens = init[wlo:whi].copy()
    nxt = dens.copy()
    first, last = lo - wlo, hi - wlo  # own rows in the window
    comm_time = 0.0
    for _ in range(nsteps):
        t = time.perf_counter()
        # own first row up, ghost row from below; own last row down, ghost row from above
        if rank > 0 or rank < size - 1:
            if down != MPI.PROC_NULL:
                comm.Sendrecv(dens[last - 1], dest=down, recvbuf=dens[last], source=down)
            if up != MPI.PROC_NULL:
                comm.Sendrecv(dens[first], dest=up, recvbuf=dens[first - 1], source=up)
        comm_time += time.perf_counter() - t
        lapl = dens[2:, 1:-1] + dens[:-2, 1:-1] + dens[1:-1, 2:] + dens[1:-1, :-2] - 4 * dens[1:-1, 1:-1]
        nxt[1:-1, 1:-1] = dens[1:-1, 1:-1] + coef * lapl
        dens, nxt = nxt, dens
    return dens[first:last], comm_time


times, comm_times = [], []
for _ in range(3):
    comm.Barrier()
    t0 = time.perf_counter()
    mine, c = run()
    comm.Barrier()
    times.append(time.perf_counter() - t0)
    comm_times.append(c)
t = sorted(times)[1]
c = comm.allreduce(sorted(comm_times)[1], op=MPI.MAX)
blocks = comm.gather(mine, root=0)
if rank == 0:
    dens = np.concatenate(blocks)
    print(f"P5 mpi4py + NumPy {np.__version__}: {nrows}^2 interior, {nsteps} steps, {size} ranks")
    print(f"  time {t * 1e3:.1f} ms (median of 3), {t * 1e6 / nsteps:.2f} us per step;"
          f" halo exchange {c * 1e3:.1f} ms ({100 * c / t:.1f}%, slowest rank)")
    c0 = nrows // 2 + 1
    print(f"  final density: sum {dens.sum():.6e}, centre {dens[c0, c0]:.6e}")
