/* P5 in C + MPI: the reference numjit's examples/mpi_diffusion.rs is measured against.
 *
 * The course's 2-D diffusion (a 301^2 grid with a zero border, 13 410 explicit steps), rows in
 * equal blocks as benches/course/p5_mpi4py.py splits them: each rank keeps its rows plus one
 * ghost row per neighbour, exchanged with MPI_Sendrecv before every step, then updates its
 * interior rows with the course's stencil in the course's operation order. The exchange's
 * share of the time is measured around the Sendrecv calls. Median of 3 whole runs.
 *
 *     mpicc -O3 -march=native p5_mpi.c -o p5_mpi && mpirun -n 2 ./p5_mpi [--small] [STEPS]
 */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double f(double x, double x1, double x2) {
    return 1.0 - fabs(1.0 - 4.0 * fabs((x - (x1 + x2) / 2.0) / (x2 - x1)));
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int small = 0;
    long steps_arg = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--small") == 0)
            small = 1;
        else
            steps_arg = atol(argv[i]);
    }
    const double D = 1.0, x1 = -10.0, x2 = 10.0, runtime = 15.0;
    double dx = small ? 0.667 : 0.0667;
    int nrows = (int)((x2 - x1) / dx);
    dx = (x2 - x1) / nrows;
    double dt = 0.25 * dx * dx / D;
    long nsteps = steps_arg >= 0 ? steps_arg : (long)(runtime / dt);
    double coef = (D / (dx * dx)) * dt;
    int n = nrows + 2;

    /* This rank's rows lo..hi, and the window with one ghost row a side. */
    int lo = 0;
    for (int r = 0; r < rank; r++)
        lo += n / size + (r < n % size);
    int hi = lo + n / size + (rank < n % size);
    int wlo = lo > 0 ? lo - 1 : 0, whi = hi + 1 < n ? hi + 1 : n;
    int rows = whi - wlo;
    double *d = calloc((size_t)rows * n, sizeof(double));
    double *next = calloc((size_t)rows * n, sizeof(double));
    double *init = calloc((size_t)rows * n, sizeof(double));
    for (int i = wlo; i < whi; i++)
        for (int j = 1; j < n - 1; j++)
            if (i >= 1 && i < n - 1) {
                double xi = x1 + (i - 1.0) * (x2 - x1) / nrows;
                double xj = x1 + (j - 1.0) * (x2 - x1) / nrows;
                init[(size_t)(i - wlo) * n + j] = f(xi, x1, x2) * f(xj, x1, x2);
            }
    int up = rank > 0 ? rank - 1 : MPI_PROC_NULL, down = rank + 1 < size ? rank + 1 : MPI_PROC_NULL;
    /* Interior rows this rank updates, in window coordinates. */
    int ilo = (lo > 1 ? lo : 1) - wlo, ihi = (hi < n - 1 ? hi : n - 1) - wlo;

    enum { RUNS = 3 };
    double times[RUNS], exch[RUNS];
    for (int run = 0; run < RUNS; run++) {
        memcpy(d, init, (size_t)rows * n * sizeof(double));
        memcpy(next, init, (size_t)rows * n * sizeof(double));
        double exchange = 0.0;
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        for (long s = 0; s < nsteps; s++) {
            double e0 = MPI_Wtime();
            /* First own row up, the ghost row below from below; last own row down, the ghost
             * row above from above. MPI_PROC_NULL makes the edges' halves no-ops (the last
             * rank has no row below its window: it passes its own last row, untouched). */
            double *below = d + (size_t)((down == MPI_PROC_NULL ? hi - 1 : hi) - wlo) * n;
            MPI_Sendrecv(d + (size_t)(lo - wlo) * n, n, MPI_DOUBLE, up, 0, below, n, MPI_DOUBLE,
                         down, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Sendrecv(d + (size_t)(hi - 1 - wlo) * n, n, MPI_DOUBLE, down, 1, d, n,
                         MPI_DOUBLE, up, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            exchange += MPI_Wtime() - e0;
            for (int i = ilo; i < ihi; i++) {
                const double *c = d + (size_t)i * n, *a = c - n, *b = c + n;
                double *o = next + (size_t)i * n;
                for (int j = 1; j < n - 1; j++)
                    o[j] = c[j] + coef * (b[j] + a[j] + c[j + 1] + c[j - 1] - 4.0 * c[j]);
            }
            double *t = d;
            d = next;
            next = t;
        }
        times[run] = MPI_Wtime() - t0;
        exch[run] = exchange;
    }
    /* The slowest rank's figures. */
    double tmax[RUNS], emax[RUNS];
    MPI_Reduce(times, tmax, RUNS, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    MPI_Reduce(exch, emax, RUNS, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    /* Sum and centre of the final field, as the other programs print them. */
    double local = 0.0, centre = 0.0, sum = 0.0, centre_all = 0.0;
    for (int i = lo; i < hi; i++)
        for (int j = 0; j < n; j++)
            local += d[(size_t)(i - wlo) * n + j];
    if (n / 2 >= lo && n / 2 < hi)
        centre = d[(size_t)(n / 2 - wlo) * n + n / 2];
    MPI_Reduce(&local, &sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(&centre, &centre_all, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        qsort(tmax, RUNS, sizeof(double), by_value);
        qsort(emax, RUNS, sizeof(double), by_value);
        double t = tmax[RUNS / 2], e = emax[RUNS / 2];
        printf("P5 C + MPI: %d^2 grid, %ld steps, %d ranks\n", n, nsteps, size);
        printf("  sum %.6e, centre %.6e\n", sum, centre_all);
        printf("  time %.1f ms (median of %d runs), %.1f us per step; exchange %.1f ms (%.0f%%, "
               "slowest rank)\n",
               t * 1e3, RUNS, t * 1e6 / (double)nsteps, e * 1e3, 100.0 * e / t);
    }
    free(d);
    free(next);
    free(init);
    MPI_Finalize();
    return 0;
}
