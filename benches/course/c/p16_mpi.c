/* P16 in C + MPI: the reference numjit's examples/mpi_area.rs is measured against.
 *
 * P9's area under 0.7x^3 - 2x^2 + 4 on [0, 3] with n points: each rank sums its block of
 * x = i*dx in a plain loop (one accumulator in index order, as the course's C does; gcc -O3
 * keeps that order without -ffast-math), then MPI_Allreduce. Median of 5 timed calls after
 * one warm-up; the Allreduce's share is reported beside the time.
 *
 *     mpicc -O3 -march=native p16_mpi.c -o p16_mpi && mpirun -n 2 ./p16_mpi [n]
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    long n = argc > 1 ? atol(argv[1]) : 100000000L;
    double dx = 3.0 / (double)n;
    long lo = rank * n / size, hi = (rank + 1) * n / size;
    enum { REPS = 6 };
    double times[REPS], comm[REPS], area = 0.0;
    for (int r = 0; r < REPS; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        double part = 0.0;
        for (long i = lo; i < hi; i++) {
            double x = (double)i * dx;
            part += (0.7 * x * x * x - 2.0 * x * x + 4.0) * dx;
        }
        double t1 = MPI_Wtime();
        MPI_Allreduce(&part, &area, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        double t2 = MPI_Wtime();
        times[r] = t2 - t0;
        comm[r] = t2 - t1;
    }
    /* The warm-up call is left out. */
    qsort(times + 1, REPS - 1, sizeof(double), by_value);
    qsort(comm + 1, REPS - 1, sizeof(double), by_value);
    double t = times[1 + (REPS - 1) / 2], c = comm[1 + (REPS - 1) / 2];
    if (rank == 0) {
        printf("P16 C + MPI: n = %ld, %d ranks\n", n, size);
        printf("  area = %.15f\n", area);
        printf("  time %.2f ms (median of %d); allreduce %.2f ms (%.0f%%)\n", t * 1e3, REPS - 1,
               c * 1e3, 100.0 * c / t);
    }
    MPI_Finalize();
    return 0;
}
