/*
 * numjit from C: compile an expression once, evaluate it on a buffer, check the result against
 * a plain C loop, provoke an error and print its message, evaluate into a strided output, and
 * free everything.
 *
 * Build and run from the repository root (after `cargo build`):
 *
 *   cc -std=c11 -Iinclude examples/c/numjit_example.c -Ltarget/debug -lnumjit \
 *      -Wl,-rpath,target/debug -lm -o numjit_example && ./numjit_example
 *
 * tests/c_api.rs does exactly this (against the shared and the static library).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "numjit.h"

#define N 1000

/* numjit's `pi` is the double nearest to pi; M_PI is not ISO C. */
static const double PI = 3.14159265358979323846;

static int failures = 0;

/* Reports a failed call with numjit's message and frees the error; true when the call worked. */
static bool ok(numjit_status status, numjit_error *error, const char *what) {
    if (status == NUMJIT_STATUS_OK) {
        return true;
    }
    fprintf(stderr, "%s failed (%s):\n%s\n", what, numjit_status_name(status),
            numjit_error_message(error));
    numjit_error_free(error);
    failures++;
    return false;
}

static void check(bool condition, const char *what) {
    if (!condition) {
        fprintf(stderr, "check failed: %s\n", what);
        failures++;
    }
}

/* The course polynomial, as a plain C loop would compute it. */
static double horner(double x) {
    return ((.25 * x + .75) * x - 1.5) * x - 2;
}

int main(void) {
    static double x[N];
    for (int i = 0; i < N; i++) {
        x[i] = -2.0 + 4.0 * i / (N - 1);
    }
    ptrdiff_t shape[1] = {N};
    numjit_var vars[1] = {{"x", {NUMJIT_DTYPE_FLOAT64, x, 1, shape, NULL /* C-contiguous */}}};
    numjit_error *error = NULL;

    /* 1. Compile once with an engine, evaluate into a numjit-owned result. */
    numjit_engine *engine = numjit_engine_new(0);
    numjit_kernel *kernel = NULL;
    const char *poly = "((.25*x + .75)*x - 1.5)*x - 2";
    if (!ok(numjit_compile(engine, poly, vars, 1, &kernel, &error), error, "compile")) {
        return 1;
    }
    numjit_result *result = NULL;
    if (ok(numjit_kernel_eval(kernel, vars, 1, &result, &error), error, "eval")) {
        numjit_array r;
        numjit_result_array(result, &r);
        check(r.dtype == NUMJIT_DTYPE_FLOAT64 && r.ndim == 1 && r.shape[0] == N, "result is float64[N]");
        int mismatches = 0;
        for (int i = 0; i < N; i++) {
            /* Element i sits i*strides[0] bytes from data; + - * are exact, so equal bits. */
            double got = *(const double *)((const char *)r.data + i * r.strides[0]);
            mismatches += got != horner(x[i]);
        }
        check(mismatches == 0, "polynomial matches the C loop exactly");
        printf("polynomial: %d elements, %d mismatches\n", N, mismatches);
        numjit_result_free(result);
    }

    /* 2. One-shot evaluation of the trig identity through the process-wide engine. */
    const char *trig = "sin(2*pi*x)**2 + cos(2*pi*x)**2";
    if (ok(numjit_evaluate(trig, vars, 1, &result, &error), error, "evaluate")) {
        numjit_array r;
        numjit_result_array(result, &r);
        double worst = 0;
        for (int i = 0; i < N; i++) {
            double got = *(const double *)((const char *)r.data + i * r.strides[0]);
            double s = sin(2 * PI * x[i]), c = cos(2 * PI * x[i]);
            worst = fmax(worst, fabs(got - (s * s + c * c)));
        }
        check(worst <= 1e-14, "trig identity agrees with libm");
        printf("trig identity: largest difference from libm %.3g\n", worst);
        numjit_result_free(result);
    }

    /* 3. An error: the message draws the expression with a caret under the unknown name. */
    numjit_kernel *bad = NULL;
    numjit_status status = numjit_compile(engine, "2*x + y", vars, 1, &bad, &error);
    check(status == NUMJIT_STATUS_UNKNOWN_NAME && bad == NULL && error != NULL, "unknown name reported");
    size_t start = 0, end = 0;
    check(numjit_error_span(error, &start, &end) && start == 6 && end == 7, "span of `y`");
    printf("expected error (%s):\n%s\n", numjit_status_name(status), numjit_error_message(error));
    numjit_error_free(error);

    /* 4. Out-parameter evaluation: read x backwards (negative stride, pointer at the last
     *    element) and write every other double of a caller buffer (stride 16 bytes). */
    static double buffer[2 * N];
    for (int i = 0; i < 2 * N; i++) {
        buffer[i] = -1234.5; /* sentinel: the odd slots must stay untouched */
    }
    ptrdiff_t backwards[1] = {-(ptrdiff_t)sizeof(double)};
    numjit_var reversed[1] = {{"x", {NUMJIT_DTYPE_FLOAT64, &x[N - 1], 1, shape, backwards}}};
    ptrdiff_t every_other[1] = {2 * sizeof(double)};
    numjit_array_mut out = {NUMJIT_DTYPE_FLOAT64, buffer, 1, shape, every_other};
    if (ok(numjit_kernel_eval_into(kernel, reversed, 1, &out, &error), error, "eval_into")) {
        int mismatches = 0;
        for (int i = 0; i < N; i++) {
            mismatches += buffer[2 * i] != horner(x[N - 1 - i]);
            mismatches += buffer[2 * i + 1] != -1234.5;
        }
        check(mismatches == 0, "strided output matches and leaves the gaps alone");
        printf("strided output: %d mismatches\n", mismatches);
    }

    /* 5. A wrong output dtype is refused before anything is written. */
    static float small[N];
    numjit_array_mut wrong = {NUMJIT_DTYPE_FLOAT32, small, 1, shape, NULL};
    status = numjit_kernel_eval_into(kernel, vars, 1, &wrong, &error);
    check(status == NUMJIT_STATUS_OUTPUT, "float32 output for a float64 result is refused");
    numjit_error_free(error);

    /* 6. A 2-d reduction over int32 data: column sums as int64, as NumPy gives. */
    int32_t m[3][4] = {{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}};
    ptrdiff_t mshape[2] = {3, 4};
    numjit_var mvars[1] = {{"m", {NUMJIT_DTYPE_INT32, m, 2, mshape, NULL}}};
    if (ok(numjit_evaluate("sum(m, axis=0)", mvars, 1, &result, &error), error, "reduction")) {
        numjit_array r;
        numjit_result_array(result, &r);
        check(r.dtype == NUMJIT_DTYPE_INT64 && r.ndim == 1 && r.shape[0] == 4, "sums are int64[4]");
        const int64_t *sums = r.data;
        check(sums[0] == 15 && sums[3] == 24, "column sums");
        numjit_result_free(result);
    }

    numjit_kernel_free(kernel);
    numjit_engine_free(engine);
    printf("numjit %s, %zu threads: %s\n", numjit_version(), numjit_get_num_threads(),
           failures == 0 ? "all checks passed" : "FAILED");
    return failures == 0 ? 0 : 1;
}
