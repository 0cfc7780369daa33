/* P5's stencil step four ways with AVX-512 intrinsics, to find what limits numjit's LLVM loop
 * (which runs at gcc -O3's speed, 0.45 ns a point, the same from 100² to 300² grids: not the
 * caches). Every mode computes the same operations in the same order (no FMA): the printed sums
 * are equal bit for bit.
 *   0: unaligned 64-byte loads of the five operands, unaligned store (what gcc and numjit emit)
 *   1: as 0, after peeling each row to a 64-byte aligned store
 *   2: rows i-1, i, i+1 each read once per trip by aligned loads, carried to the next trip; each
 *      operand made by a two-source permute (vpermt2pd), aligned store
 *   3: each operand by two aligned loads and one permute, nothing carried or shared
 * Build and run (needs AVX-512F):
 *   gcc -O3 -march=native -ffp-contract=off p5_alignment_probe.c -o probe && ./probe 0 && ./probe 2
 * Aligned reads of a 64-byte block that holds a needed element never cross a page, so mode 2's
 * reads past a row's end cannot fault; the buffers here are padded anyway. */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static inline double point(const double *c, long k, long w, double coef)
{
    double lapl = c[k + w] + c[k - w] + c[k + 1] + c[k - 1] - 4 * c[k];
    return c[k] + coef * lapl;
}

static const double *aligned_down(const double *p)
{
    return (const double *)((uintptr_t)p & ~(uintptr_t)63);
}

/* Lanes m..m+7 of the 16-lane concatenation of two vectors. */
static __m512i window(long m)
{
    return _mm512_add_epi64(_mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0), _mm512_set1_epi64(m));
}

static void row(int mode, const double *cur, double *next, long k, long end, long w, double coef)
{
    const __m512d four = _mm512_set1_pd(4.0), vc = _mm512_set1_pd(coef);
    if (mode == 1 || mode == 2)
        for (; k < end && ((uintptr_t)(next + k) & 63); k++)
            next[k] = point(cur, k, w, coef);
    if (mode == 2 && k + 8 <= end) {
        const double *up = aligned_down(cur + k - w), *dn = aligned_down(cur + k + w);
        __m512i iup = window((cur + k - w) - up), idn = window((cur + k + w) - dn);
        __m512i il = window(7), ir = window(1);
        __m512d U0 = _mm512_load_pd(up), D0 = _mm512_load_pd(dn);
        __m512d Cp = _mm512_load_pd(cur + k - 8), C0 = _mm512_load_pd(cur + k);
        for (; k + 8 <= end; k += 8) {
            up += 8;
            dn += 8;
            __m512d U1 = _mm512_load_pd(up), D1 = _mm512_load_pd(dn), C1 = _mm512_load_pd(cur + k + 8);
            __m512d u = _mm512_permutex2var_pd(U0, iup, U1), d = _mm512_permutex2var_pd(D0, idn, D1);
            __m512d l = _mm512_permutex2var_pd(Cp, il, C0), r = _mm512_permutex2var_pd(C0, ir, C1);
            __m512d lap = _mm512_sub_pd(_mm512_add_pd(_mm512_add_pd(_mm512_add_pd(d, u), r), l),
                                        _mm512_mul_pd(four, C0));
            _mm512_store_pd(next + k, _mm512_add_pd(C0, _mm512_mul_pd(vc, lap)));
            U0 = U1;
            D0 = D1;
            Cp = C0;
            C0 = C1;
        }
    }
    if (mode == 3 && k + 8 <= end) {
        const double *at[5] = {cur + k + w, cur + k - w, cur + k + 1, cur + k - 1, cur + k};
        __m512i idx[5];
        long lo[5], hi[5];
        for (int q = 0; q < 5; q++) {
            idx[q] = window(at[q] - aligned_down(at[q]));
            lo[q] = aligned_down(at[q]) - (cur + k);
            hi[q] = aligned_down(at[q] + 7) - (cur + k);
        }
        for (; k + 8 <= end; k += 8) {
            __m512d v[5];
            for (int q = 0; q < 5; q++)
                v[q] = _mm512_permutex2var_pd(_mm512_load_pd(cur + k + lo[q]), idx[q],
                                              _mm512_load_pd(cur + k + hi[q]));
            __m512d lap = _mm512_sub_pd(_mm512_add_pd(_mm512_add_pd(_mm512_add_pd(v[0], v[1]), v[2]), v[3]),
                                        _mm512_mul_pd(four, v[4]));
            _mm512_storeu_pd(next + k, _mm512_add_pd(v[4], _mm512_mul_pd(vc, lap)));
        }
    }
    for (; k + 8 <= end; k += 8) {
        __m512d c = _mm512_loadu_pd(cur + k);
        __m512d sum = _mm512_add_pd(_mm512_add_pd(_mm512_add_pd(_mm512_loadu_pd(cur + k + w),
                                                                _mm512_loadu_pd(cur + k - w)),
                                                  _mm512_loadu_pd(cur + k + 1)),
                                    _mm512_loadu_pd(cur + k - 1));
        __m512d lap = _mm512_sub_pd(sum, _mm512_mul_pd(four, c));
        _mm512_storeu_pd(next + k, _mm512_add_pd(c, _mm512_mul_pd(vc, lap)));
    }
    for (; k < end; k++)
        next[k] = point(cur, k, w, coef);
}

int main(int argc, char **argv)
{
    int mode = argc > 1 ? atoi(argv[1]) : 0;
    long w = argc > 2 ? atol(argv[2]) : 301, steps = argc > 3 ? atol(argv[3]) : 20000, n = w - 2;
    size_t bytes = ((size_t)(w * w) * 8 + 255) / 64 * 64;
    double *a = aligned_alloc(64, bytes), *b = aligned_alloc(64, bytes), best = 1e9;
    for (int rep = 0; rep < 5; rep++) {
        for (long i = 0; i < w * w; i++)
            a[i] = b[i] = (double)(i * 7 % 13);
        double *cur = a, *next = b;
        double t = now();
        for (long s = 0; s < steps; s++) {
            for (long i = 1; i <= n; i++)
                row(mode, cur, next, i * w + 1, i * w + n + 1, w, 0.1);
            double *swap = cur;
            cur = next;
            next = swap;
        }
        t = now() - t;
        best = t < best ? t : best;
    }
    double sum = 0;
    for (long i = 0; i < w * w; i++)
        sum += a[i];
    printf("mode %d, %ld² grid: %.3f us a step (best of 5), sum %.17g\n", mode, w, best / steps * 1e6, sum);
    return 0;
}
