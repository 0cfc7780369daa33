/*
 * Course problem P5 from C: the whole 2-D diffusion run (time loop, stencil on strided slices,
 * swap) is one numjit program, run by one numjit_run call on the caller's two grids in place.
 * Checked bit for bit against a plain C loop that adds in the same order.
 *
 * Build and run from the repository root (after `cargo build`):
 *
 *   cc -std=c11 -Iinclude examples/c/diffusion.c -Ltarget/debug -lnumjit \
 *      -Wl,-rpath,target/debug -lm -o diffusion && ./diffusion [DX]
 *
 * DX is the course's grid spacing, 0.0667 by default (299² interior points, 13 410 steps);
 * tests/c_api.rs runs it with 0.667 (29², 126 steps).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numjit.h"

static const char *PROGRAM =
    "for step in range(nsteps):\n"
    "    next[1:-1, 1:-1] = d[1:-1, 1:-1] + coef*(d[2:, 1:-1] + d[:-2, 1:-1] + d[1:-1, 2:]"
    " + d[1:-1, :-2] - 4*d[1:-1, 1:-1])\n"
    "    swap(d, next)\n";

/* The course's initial profile: a tent function of each coordinate. */
static double tent(double x, double x1, double x2) {
    return 1.0 - fabs(1.0 - 4.0 * fabs((x - (x1 + x2) / 2.0) / (x2 - x1)));
}

int main(int argc, char **argv) {
    const double D = 1.0, x1 = -10.0, x2 = 10.0, runtime = 15.0;
    double dx = argc > 1 ? atof(argv[1]) : 0.0667;
    if (!(dx > 0.0 && dx < 10.0)) {
        fprintf(stderr, "usage: diffusion [DX], 0 < DX < 10\n");
        return 2;
    }
    size_t nrows = (size_t)((x2 - x1) / dx);
    dx = (x2 - x1) / (double)nrows;
    double dt = 0.25 * (dx * dx) / D;
    int64_t nsteps = (int64_t)(runtime / dt);
    double coef = (D / (dx * dx)) * dt;
    size_t n = nrows + 2, cells = n * n;

    double *d = calloc(cells, sizeof *d), *next = calloc(cells, sizeof *next);
    double *want = calloc(cells, sizeof *want), *want_next = calloc(cells, sizeof *want_next);
    if (!d || !next || !want || !want_next) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t i = 1; i <= nrows; i++) {
        for (size_t j = 1; j <= nrows; j++) {
            double xi = x1 + ((double)i - 1.0) * (x2 - x1) / (double)nrows;
            double xj = x1 + ((double)j - 1.0) * (x2 - x1) / (double)nrows;
            d[i * n + j] = tent(xi, x1, x2) * tent(xj, x1, x2);
        }
    }
    memcpy(next, d, cells * sizeof *d);
    memcpy(want, d, cells * sizeof *d);
    memcpy(want_next, d, cells * sizeof *d);

    /* numjit: inputs are the two scalars, outputs the two grids it updates in place. */
    ptrdiff_t shape[2] = {(ptrdiff_t)n, (ptrdiff_t)n};
    numjit_var inputs[2] = {
        {"nsteps", {NUMJIT_DTYPE_INT64, &nsteps, 0, NULL, NULL}},
        {"coef", {NUMJIT_DTYPE_FLOAT64, &coef, 0, NULL, NULL}},
    };
    numjit_var_mut outputs[2] = {
        {"d", {NUMJIT_DTYPE_FLOAT64, d, 2, shape, NULL}},
        {"next", {NUMJIT_DTYPE_FLOAT64, next, 2, shape, NULL}},
    };
    numjit_error *error = NULL;
    numjit_status status = numjit_run(PROGRAM, inputs, 2, outputs, 2, NULL, &error);
    if (status != NUMJIT_STATUS_OK) {
        fprintf(stderr, "numjit_run failed (%s):\n%s\n", numjit_status_name(status),
                numjit_error_message(error));
        numjit_error_free(error);
        return 1;
    }

    /* The same run as a plain loop, the stencil's additions in the program's order. */
    for (int64_t s = 0; s < nsteps; s++) {
        for (size_t i = 1; i <= nrows; i++) {
            for (size_t j = 1; j <= nrows; j++) {
                double lapl = want[(i + 1) * n + j] + want[(i - 1) * n + j] + want[i * n + j + 1] +
                              want[i * n + j - 1] - 4 * want[i * n + j];
                want_next[i * n + j] = want[i * n + j] + coef * lapl;
            }
        }
        double *t = want;
        want = want_next;
        want_next = t;
    }

    /* After the swaps `d` names the latest grid; numjit copied it back into the caller's `d`. */
    size_t differ = 0;
    double sum = 0.0;
    for (size_t k = 0; k < cells; k++) {
        differ += memcmp(&d[k], &want[k], sizeof d[k]) != 0;
        sum += d[k];
    }
    printf("P5 diffusion from C: %zu² interior points, %lld steps, sum %.12e\n", nrows,
           (long long)nsteps, sum);

    /* A program that writes an input is refused before anything is written. */
    numjit_var_mut overlapping[2] = {
        {"d", {NUMJIT_DTYPE_FLOAT64, d, 2, shape, NULL}},
        {"next", {NUMJIT_DTYPE_FLOAT64, d, 2, shape, NULL}},
    };
    status = numjit_run(PROGRAM, inputs, 2, overlapping, 2, NULL, &error);
    if (status != NUMJIT_STATUS_INVALID_ARGUMENT) {
        fprintf(stderr, "two outputs on the same memory were not rejected\n");
        differ++;
    } else {
        printf("%s\n", numjit_error_message(error));
        numjit_error_free(error);
    }

    free(d);
    free(next);
    free(want);
    free(want_next);
    if (differ) {
        fprintf(stderr, "%zu cells differ from the C loop\n", differ);
        return 1;
    }
    printf("bit for bit equal to the C loop\n");
    return 0;
}
