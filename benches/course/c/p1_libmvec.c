/*
 * P1 with sin and cos in split loops, the one kernel built with -ffast-math.
 *
 * gcc folds sin(t) and cos(t) of one argument into a sincos call, which it
 * cannot vectorize; with each function alone in its loop and -ffast-math
 * (glibc's math.h then declares the SIMD variants), gcc calls glibc's libmvec
 * (_ZGVdN4v_sin / _ZGVdN4v_cos on AVX2, the 8-wide ones on AVX-512).
 * Blocks keep the intermediate in L1 so the split costs no memory traffic.
 */
#include <math.h>

#define BLOCK 1024

void p1_libmvec(const double *restrict a, double *restrict b, long n)
{
    const double w = 2.0 * M_PI;
#pragma omp parallel for schedule(static)
    for (long start = 0; start < n; start += BLOCK) {
        long end = start + BLOCK < n ? start + BLOCK : n;
        for (long i = start; i < end; i++) {
            double s = sin(w * a[i]);
            b[i] = s * s;
        }
        for (long i = start; i < end; i++) {
            double c = cos(w * a[i]);
            b[i] += c * c;
        }
    }
}
