/*
 * Course problems P12 (Mandelbrot) and P8 (slow series) from C: each is a numjit program that
 * defines a kernel (`def` with a loop and an early `return`) and applies it elementwise, run
 * by one numjit_run call. Checked against the same kernels written as C loops: every pixel,
 * and the sum within the rounding bound of summing n terms.
 *
 * Build and run from the repository root (after `cargo build`):
 *
 *   cc -std=c11 -Iinclude examples/c/kernels.c -Ltarget/debug -lnumjit \
 *      -Wl,-rpath,target/debug -lm -o kernels && ./kernels [WIDTH [N]]
 *
 * WIDTH is the image's width (1500 by default, the height two thirds of it); N the number of
 * terms of the series (10^8 by default). tests/c_api.rs runs it with 150 and 100000.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "numjit.h"

static const char *MANDELBROT =
    "def escape(cr, ci, maxiter):\n"
    "    zr = 0.0\n"
    "    zi = 0.0\n"
    "    for n in range(maxiter):\n"
    "        if zr*zr + zi*zi >= 4.0:\n"
    "            return n\n"
    "        zr, zi = zr*zr - zi*zi + cr, 2.0*zr*zi + ci\n"
    "    return 255\n"
    "\n"
    "img[:, :] = escape(x[None, :], y[:, None], 20)\n";

static const char *SERIES =
    "def term(k):\n"
    "    m = k\n"
    "    while m > 0:\n"
    "        if m % 10 == 9:\n"
    "            return 0.0\n"
    "        m //= 10\n"
    "    return 1.0 / k\n"
    "\n"
    "sum(term(arange(1, n + 1)))\n";

static int64_t escape(double cr, double ci, int64_t maxiter) {
    double zr = 0.0, zi = 0.0;
    for (int64_t n = 0; n < maxiter; n++) {
        if (zr * zr + zi * zi >= 4.0) return n;
        double r = zr * zr - zi * zi + cr, i = 2.0 * zr * zi + ci;
        zr = r;
        zi = i;
    }
    return 255;
}

static double term(int64_t k) {
    for (int64_t m = k; m > 0; m /= 10)
        if (m % 10 == 9) return 0.0;
    return 1.0 / (double)k;
}

static int fail(const char *what, numjit_status status, numjit_error *error) {
    fprintf(stderr, "%s failed (%s):\n%s\n", what, numjit_status_name(status),
            numjit_error_message(error));
    numjit_error_free(error);
    return 1;
}

int main(int argc, char **argv) {
    long width = argc > 1 ? atol(argv[1]) : 1500;
    long long nterms = argc > 2 ? atoll(argv[2]) : 100000000LL;
    if (width < 3 || nterms < 1) {
        fprintf(stderr, "usage: kernels [WIDTH >= 3 [N >= 1]]\n");
        return 2;
    }
    long height = width * 2 / 3;
    double *x = malloc(width * sizeof *x), *y = malloc(height * sizeof *y);
    int64_t *img = malloc(width * height * sizeof *img);
    if (!x || !y || !img) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (long j = 0; j < width; j++) x[j] = -2.0 + 3.0 * (double)j / (double)(width - 1);
    for (long i = 0; i < height; i++) y[i] = -1.0 + 2.0 * (double)i / (double)(height - 1);

    /* P12: the image is an output the program writes in place. */
    ptrdiff_t xs[1] = {width}, ys[1] = {height}, shape[2] = {height, width};
    numjit_var inputs[2] = {
        {"x", {NUMJIT_DTYPE_FLOAT64, x, 1, xs, NULL}},
        {"y", {NUMJIT_DTYPE_FLOAT64, y, 1, ys, NULL}},
    };
    numjit_var_mut outputs[1] = {{"img", {NUMJIT_DTYPE_INT64, img, 2, shape, NULL}}};
    numjit_error *error = NULL;
    numjit_status status = numjit_run(MANDELBROT, inputs, 2, outputs, 1, NULL, &error);
    if (status != NUMJIT_STATUS_OK) return fail("P12", status, error);
    long differ = 0, inside = 0;
    for (long i = 0; i < height; i++) {
        for (long j = 0; j < width; j++) {
            differ += img[i * width + j] != escape(x[j], y[i], 20);
            inside += img[i * width + j] == 255;
        }
    }
    printf("P12 Mandelbrot from C: %ld x %ld pixels, %ld stay bounded\n", height, width, inside);
    if (differ) {
        fprintf(stderr, "%ld pixels differ from the C loop\n", differ);
        return 1;
    }
    printf("every pixel equal to the C loop\n");

    /* P8: a 0-d input and the program's value as a result. */
    int64_t n = nterms;
    numjit_var scalar[1] = {{"n", {NUMJIT_DTYPE_INT64, &n, 0, NULL, NULL}}};
    numjit_result *result = NULL;
    status = numjit_run(SERIES, scalar, 1, NULL, 0, &result, &error);
    if (status != NUMJIT_STATUS_OK) return fail("P8", status, error);
    numjit_array value;
    status = numjit_result_array(result, &value);
    if (status != NUMJIT_STATUS_OK || value.dtype != NUMJIT_DTYPE_FLOAT64 || value.ndim != 0) {
        fprintf(stderr, "P8: expected a float64 scalar\n");
        return 1;
    }
    double got = *(const double *)value.data, want = 0.0;
    numjit_result_free(result);
    for (int64_t k = 1; k <= n; k++) want += term(k);
    double tol = 2.0 * (double)n * DBL_EPSILON * want;
    printf("P8 slow series from C: n = %lld, sum %.13f\n", (long long)n, got);
    if (!(fabs(got - want) <= tol)) {
        fprintf(stderr, "the sum differs from the C loop's %.13f by %.3e\n", want, got - want);
        return 1;
    }
    printf("the sum within %.1e of the C loop's\n", tol);
    free(x);
    free(y);
    free(img);
    return 0;
}
