/*
 * C reference implementations of the course problems (see ../README.md).
 *
 * Built twice by run.sh from this one source: without OpenMP (the 1-thread
 * reference, pragmas ignored) and with -fopenmp (the 2-thread reference).
 * Speaks the worker protocol of ../README.md:
 *   bench_c --problem P2 --threads 1 --reps 5 [--size N] [--variant out]
 * and prints one JSON line.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* In p1_libmvec.c: the only code compiled with -ffast-math. */
void p1_libmvec(const double *a, double *b, long n);

/* ---------------------------------------------------------------- inputs */

/* Golden-ratio-like constants of the input formula u_k(i) = frac(i * G_k). */
#define G1 0.6180339887498949
#define G2 0.7548776662466927
#define G3 0.5698402909980532

/*
 * Inputs must be bit-identical to NumPy's and Rust's, so input generation
 * must not be contracted into FMAs (gcc does by default at -O3 -march=native).
 */
#define NO_FMA __attribute__((optimize("fp-contract=off")))

/*
 * Arrays of 4 MiB and more get transparent huge pages, as NumPy asks for its
 * arrays (THP is in madvise mode here): without them the C reference would pay
 * 512 times more page faults and TLB misses than the Python peers.
 */
#define HUGE_PAGE (2L << 20)

static double *alloc_doubles(long n)
{
    size_t bytes = (size_t)n * sizeof(double);
    size_t align = bytes >= (size_t)(2 * HUGE_PAGE) ? (size_t)HUGE_PAGE : 64;
    double *p = aligned_alloc(align, (bytes + align - 1) / align * align);
    if (!p) {
        fprintf(stderr, "out of memory allocating %ld doubles\n", n);
        exit(1);
    }
    if (align == (size_t)HUGE_PAGE)
        madvise(p, (bytes + align - 1) / align * align, MADV_HUGEPAGE);
    /* The first touch, out of the timed calls. */
    memset(p, 0, bytes);
    return p;
}

/* fmod(i * g, 1.0); for x >= 0, x - floor(x) is the same exact value, and vectorizes. */
NO_FMA static double *golden(long n, double g)
{
    double *p = alloc_doubles(n);
    for (long i = 0; i < n; i++) {
        double x = (double)i * g;
        p[i] = x - floor(x);
    }
    return p;
}

/* Same arithmetic as numpy.linspace: i*step + start, last element = stop. */
NO_FMA static double *linspace(double start, double stop, long num)
{
    double *p = alloc_doubles(num);
    double step = (stop - start) / (double)(num - 1);
    for (long i = 0; i < num; i++)
        p[i] = (double)i * step + start;
    p[num - 1] = stop;
    return p;
}

/* ------------------------------------------------------------- threading */

static int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static int thread_count(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

static int built_with_openmp(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

static int max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* ------------------------------------------------------------ the state */

/*
 * Everything a problem needs between setup and the timed calls. The checksum
 * is generic: the sum of all elements of out[], of img, plus scalar.
 */
typedef struct {
    long size;             /* the --size parameter */
    const char *variant;
    double *in[5];
    long dim[2];           /* problem-specific extents */
    double *out[3];
    long out_len[3];
    unsigned char *img;
    long img_len;
    double *scratch;
    double scalar;         /* result of reductions (P8, P9) */
} Bench;

static void set_out(Bench *b, int k, long len)
{
    b->out[k] = alloc_doubles(len);
    b->out_len[k] = len;
}

/* ----------------------------------------------------- elementwise 1-D */

static void setup_p1(Bench *b) { b->in[0] = golden(b->size, G1); set_out(b, 0, b->size); }

static void run_p1(Bench *b)
{
    const double *a = b->in[0];
    double *out = b->out[0];
    long n = b->size;
    if (strcmp(b->variant, "libmvec-fastmath") == 0) {
        p1_libmvec(a, out, n);
        return;
    }
    const double w = 2.0 * M_PI;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        double s = sin(w * a[i]), c = cos(w * a[i]);
        out[i] = s * s + c * c;
    }
}

static void setup_p2(Bench *b) { b->in[0] = golden(b->size, G1); set_out(b, 0, b->size); }

static void run_p2(Bench *b)
{
    const double *x = b->in[0];
    double *y = b->out[0];
#pragma omp parallel for schedule(static)
    for (long i = 0; i < b->size; i++)
        y[i] = ((.25 * x[i] + .75) * x[i] - 1.5) * x[i] - 2;
}

/* P3, P4, P13 and P14-triad share the two-input setup. */
static void setup_ab(Bench *b, long n)
{
    b->in[0] = golden(n, G1);
    b->in[1] = golden(n, G2);
    set_out(b, 0, n);
}

static void setup_p3(Bench *b) { setup_ab(b, b->size); }

static void run_p3(Bench *b)
{
    const double *x = b->in[0], *y = b->in[1];
    double *c = b->out[0];
#pragma omp parallel for schedule(static)
    for (long i = 0; i < b->size; i++)
        c[i] = x[i] * x[i] + y[i] * y[i] + 2 * x[i] * y[i];
}

/* P4: shape (size, 1024, 50), elementwise, so flat. */
static void setup_p4(Bench *b) { setup_ab(b, b->size * 1024 * 50); }

static void run_p4(Bench *b)
{
    const double *x = b->in[0], *y = b->in[1];
    double *c = b->out[0];
#pragma omp parallel for schedule(static)
    for (long i = 0; i < b->out_len[0]; i++)
        c[i] = (2.0 * x[i] - 4.5 * y[i]) + (sin(x[i]) + cos(y[i]));
}

static void setup_p13(Bench *b) { setup_ab(b, b->size); }

static void run_p13(Bench *b)
{
    const double *x = b->in[0], *y = b->in[1];
    double *c = b->out[0];
#pragma omp parallel for schedule(static)
    for (long i = 0; i < b->size; i++)
        c[i] = x[i] * x[i] * x[i] + 4 * sin(y[i]);
}

static void setup_p14_copy(Bench *b) { b->in[0] = golden(b->size, G1); set_out(b, 0, b->size); }

/*
 * memcpy of each thread's share: glibc's non-temporal stores skip the
 * write-allocate read, and NumPy's copyto gets them too; a plain loop would
 * understate the machine's bandwidth, which this problem exists to measure.
 */
static void run_p14_copy(Bench *b)
{
#pragma omp parallel
    {
        long n = b->size, t = thread_id(), nt = thread_count();
        long lo = n * t / nt, hi = n * (t + 1) / nt;
        memcpy(b->out[0] + lo, b->in[0] + lo, (size_t)(hi - lo) * sizeof(double));
    }
}

static void setup_p14_triad(Bench *b) { setup_ab(b, b->size); }

static void run_p14_triad(Bench *b)
{
    const double *a = b->in[0], *bb = b->in[1];
    double *c = b->out[0];
    const double s = 3.0;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < b->size; i++)
        c[i] = a[i] + s * bb[i];
}

/* ------------------------------------------------------------- stencils */

/* P5 constants, exactly as the course computes them. */
#define P5_X1 (-10.0)
#define P5_X2 10.0

static long p5_nrows(void) { return (long)((P5_X2 - P5_X1) / 0.0667); }

static double p5_f(double x)
{
    return 1 - fabs(1 - 4 * fabs((x - (P5_X1 + P5_X2) / 2) / (P5_X2 - P5_X1)));
}

/* in[0] = initial density; out[0], out[1] = the two time levels. */
NO_FMA static void setup_p5(Bench *b)
{
    long nrows = p5_nrows(), w = nrows + 2;
    b->dim[0] = w;
    b->in[0] = alloc_doubles(w * w);
    for (long i = 1; i <= nrows; i++)
        for (long j = 1; j <= nrows; j++) {
            double xi = P5_X1 + (double)(i - 1) * (P5_X2 - P5_X1) / (double)nrows;
            double xj = P5_X1 + (double)(j - 1) * (P5_X2 - P5_X1) / (double)nrows;
            b->in[0][i * w + j] = p5_f(xi) * p5_f(xj);
        }
    set_out(b, 0, w * w);
    b->out[1] = alloc_doubles(w * w);
}

/* Runs size steps from the initial state; the result is left in out[0]. */
static void run_p5(Bench *b)
{
    long w = b->dim[0], nrows = w - 2;
    double dx = (P5_X2 - P5_X1) / (double)nrows;
    double dt = 0.25 * dx * dx / 1.0;
    double coef = (1.0 / (dx * dx)) * dt;
    double *cur = b->out[0], *next = b->out[1];
    memcpy(cur, b->in[0], (size_t)(w * w) * sizeof(double));
    memset(next, 0, (size_t)(w * w) * sizeof(double));
    for (long step = 0; step < b->size; step++) {
#pragma omp parallel for schedule(static)
        for (long i = 1; i <= nrows; i++)
            for (long j = 1; j <= nrows; j++) {
                long k = i * w + j;
                double lapl = cur[k + w] + cur[k - w] + cur[k + 1] + cur[k - 1] - 4 * cur[k];
                next[k] = cur[k] + coef * lapl;
            }
        double *t = cur;
        cur = next;
        next = t;
    }
    if (cur != b->out[0])
        memcpy(b->out[0], cur, (size_t)(w * w) * sizeof(double));
}

/* P6: u = frac(flat index * G1) on size x size; out[0] has a zero boundary. */
static void setup_p6(Bench *b)
{
    b->in[0] = golden(b->size * b->size, G1);
    set_out(b, 0, b->size * b->size);
}

static void run_p6(Bench *b)
{
    long n = b->size;
    const double *u = b->in[0];
    double *unew = b->out[0];
#pragma omp parallel for schedule(static)
    for (long i = 1; i < n - 1; i++)
        for (long j = 1; j < n - 1; j++) {
            long k = i * n + j;
            unew[k] = 0.25 * (u[k - n] + u[k + n] + u[k - 1] + u[k + 1]);
        }
}

/* ---------------------------------------------------------- P7 velocity */

#define P7_NLAT 250
#define P7_NLON 400

/* in[0..2] = vlat, vlon, vrad of shape (NLAT, size, NLON); in[3], in[4] = lat, lon. */
static void setup_p7(Bench *b)
{
    long n = (long)P7_NLAT * b->size * P7_NLON;
    b->in[0] = golden(n, G1);
    b->in[1] = golden(n, G2);
    b->in[2] = golden(n, G3);
    b->in[3] = linspace(-90, 90, P7_NLAT);
    b->in[4] = linspace(0, 360, P7_NLON);
    for (int k = 0; k < 3; k++)
        set_out(b, k, n);
}

static void run_p7(Bench *b)
{
    long nr = b->size;
    double sinlon[P7_NLON], coslon[P7_NLON];
    for (int j = 0; j < P7_NLON; j++) {
        double r = b->in[4][j] * (M_PI / 180.0);
        sinlon[j] = sin(r);
        coslon[j] = cos(r);
    }
    const double *vlat = b->in[0], *vlon = b->in[1], *vrad = b->in[2];
    double *vx = b->out[0], *vy = b->out[1], *vz = b->out[2];
#pragma omp parallel for schedule(static)
    for (long i = 0; i < P7_NLAT; i++) {
        double r = b->in[3][i] * (M_PI / 180.0);
        double sinlat = sin(r), coslat = cos(r);
        for (long k = 0; k < nr; k++) {
            long base = (i * nr + k) * P7_NLON;
            for (long j = 0; j < P7_NLON; j++) {
                long q = base + j;
                vx[q] = -sinlon[j] * vlon[q] - sinlat * coslon[j] * vlat[q] + coslat * coslon[j] * vrad[q];
                vy[q] = coslon[j] * vlon[q] - sinlat * sinlon[j] * vlat[q] + coslat * sinlon[j] * vrad[q];
                vz[q] = coslat * vlat[q] + sinlat * vrad[q];
            }
        }
    }
}

/* ----------------------------------------------------------- reductions */

static int has_digit_9(long k)
{
    for (; k > 0; k /= 10)
        if (k % 10 == 9)
            return 1;
    return 0;
}

static void setup_none(Bench *b) { (void)b; }

static void run_p8(Bench *b)
{
    double s = 0;
#pragma omp parallel for schedule(static) reduction(+ : s)
    for (long k = 1; k <= b->size; k++)
        if (!has_digit_9(k))
            s += 1.0 / (double)k;
    b->scalar = s;
}

static void run_p9(Bench *b)
{
    long n = b->size;
    double dx = 3.0 / (double)n, s = 0;
#pragma omp parallel for schedule(static) reduction(+ : s)
    for (long i = 0; i < n; i++) {
        double x = (double)i * dx;
        s += (0.7 * x * x * x - 2 * x * x + 4) * dx;
    }
    b->scalar = s;
}

/* P11: c = frac(flat index * G1), size x size. */
static void setup_p11(Bench *b)
{
    b->in[0] = golden(b->size * b->size, G1);
    set_out(b, 0, b->size);
    b->scratch = alloc_doubles((long)max_threads() * b->size);
}

/*
 * axis=0 without strided access: each thread streams a contiguous band of
 * rows into a private accumulator row, then the accumulators are added.
 */
static void run_p11_axis0(Bench *b)
{
    long n = b->size;
    const double *c = b->in[0];
    int used = 1;
#pragma omp parallel
    {
        double *acc = b->scratch + (long)thread_id() * n;
        memset(acc, 0, (size_t)n * sizeof(double));
#pragma omp single
        used = thread_count();
#pragma omp for schedule(static)
        for (long i = 0; i < n; i++)
            for (long j = 0; j < n; j++)
                acc[j] += c[i * n + j];
    }
    for (long j = 0; j < n; j++) {
        double s = 0;
        for (int t = 0; t < used; t++)
            s += b->scratch[t * n + j];
        b->out[0][j] = s;
    }
}

/*
 * A single running sum is bound by the latency of the add (4 cycles an element);
 * 16 independent partial sums let gcc keep 4 AVX2 chains in flight, as NumPy's
 * pairwise sum does.
 */
#define LANES 16

static double row_sum(const double *row, long n)
{
    double acc[LANES] = {0};
    long j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++)
            acc[k] += row[j + k];
    double s = 0;
    for (int k = 0; k < LANES; k++)
        s += acc[k];
    for (; j < n; j++)
        s += row[j];
    return s;
}

static void run_p11_axis1(Bench *b)
{
    long n = b->size;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++)
        b->out[0][i] = row_sum(b->in[0] + i * n, n);
}

/* ------------------------------------------------------ P10 and P12 */

/* X[i][k] = frac((3i + k) * G1), shape (size, 3); D is size x size. */
static void setup_p10(Bench *b)
{
    b->in[0] = golden(3 * b->size, G1);
    set_out(b, 0, b->size * b->size);
}

static void run_p10(Bench *b)
{
    long m = b->size;
    const double *x = b->in[0];
    double *d = b->out[0];
#pragma omp parallel for schedule(static)
    for (long i = 0; i < m; i++)
        for (long j = 0; j < m; j++) {
            double d0 = x[3 * i] - x[3 * j], d1 = x[3 * i + 1] - x[3 * j + 1], d2 = x[3 * i + 2] - x[3 * j + 2];
            d[i * m + j] = sqrt(d0 * d0 + d1 * d1 + d2 * d2);
        }
}

/* size rows (y in [-1, 1]) by 3*size/2 columns (x in [-2, 1]). */
static void setup_p12(Bench *b)
{
    long ny = b->size, nx = 3 * b->size / 2;
    b->dim[0] = ny;
    b->dim[1] = nx;
    b->in[0] = linspace(-2, 1, nx);
    b->in[1] = linspace(-1, 1, ny);
    b->img_len = nx * ny;
    b->img = calloc((size_t)b->img_len, 1);
}

static unsigned char escape_index(double cr, double ci)
{
    double zr = 0, zi = 0;
    for (int k = 0; k < 20; k++) {
        double t = zr * zr - zi * zi + cr;
        zi = 2 * zr * zi + ci;
        zr = t;
        if (zr * zr + zi * zi >= 4)
            return (unsigned char)k;
    }
    return 255;
}

static void run_p12(Bench *b)
{
    long ny = b->dim[0], nx = b->dim[1];
#pragma omp parallel for schedule(dynamic, 8)
    for (long i = 0; i < ny; i++)
        for (long j = 0; j < nx; j++)
            b->img[i * nx + j] = escape_index(b->in[0][j], b->in[1][i]);
}

/* ------------------------------------------------------------ registry */

typedef struct {
    const char *name;
    long default_size;
    const char *variants; /* comma-separated */
    void (*setup)(Bench *);
    void (*run)(Bench *);
} Problem;

static const Problem PROBLEMS[] = {
    {"P1", 100000000, "out,libmvec-fastmath", setup_p1, run_p1},
    {"P2", 10000000, "out", setup_p2, run_p2},
    {"P3", 1000000, "out", setup_p3, run_p3},
    {"P4", 1024, "out", setup_p4, run_p4},
    {"P5", 13410, "out", setup_p5, run_p5},
    {"P6", 4096, "out", setup_p6, run_p6},
    {"P7", 300, "out", setup_p7, run_p7},
    {"P8", 100000000, "reduce", setup_none, run_p8},
    {"P9", 100000000, "reduce", setup_none, run_p9},
    {"P10", 4000, "out", setup_p10, run_p10},
    {"P11-axis0", 10000, "out", setup_p11, run_p11_axis0},
    {"P11-axis1", 10000, "out", setup_p11, run_p11_axis1},
    {"P12", 1000, "out", setup_p12, run_p12},
    {"P13", 10000000, "out", setup_p13, run_p13},
    {"P14-copy", 100000000, "out", setup_p14_copy, run_p14_copy},
    {"P14-triad", 100000000, "out", setup_p14_triad, run_p14_triad},
};

static const Problem *find_problem(const char *name)
{
    for (size_t i = 0; i < sizeof PROBLEMS / sizeof PROBLEMS[0]; i++)
        if (strcmp(PROBLEMS[i].name, name) == 0)
            return &PROBLEMS[i];
    return NULL;
}

static int has_variant(const Problem *p, const char *variant)
{
    size_t len = strlen(variant);
    for (const char *s = p->variants; *s;) {
        const char *end = strchr(s, ',');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        if (n == len && strncmp(s, variant, n) == 0)
            return 1;
        s += n + (end != NULL);
    }
    return 0;
}

/* What runs without --variant: the first of the problem's list. */
static const char *default_variant(const Problem *p)
{
    return strncmp(p->variants, "reduce", strlen("reduce")) == 0 ? "reduce" : "out";
}

/* ------------------------------------------------------------ harness */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A field of /proc/self/status in KiB (VmHWM = peak RSS), or -1. */
static long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    size_t len = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, len) == 0 && line[len] == ':')
            kib = atol(line + len + 1);
    if (f)
        fclose(f);
    return kib;
}

/*
 * Compensated (Kahan-Babuska-Neumaier) summation: a plain running sum of 1e8
 * elements drifts by ~1e-10 relative, the order of the checksum tolerance.
 */
typedef struct {
    double sum, comp;
} Sum;

static void add(Sum *s, double x)
{
    double t = s->sum + x;
    s->comp += fabs(s->sum) >= fabs(x) ? (s->sum - t) + x : (x - t) + s->sum;
    s->sum = t;
}

static double checksum(const Bench *b)
{
    Sum s = {b->scalar, 0};
    for (int k = 0; k < 3; k++)
        for (long i = 0; i < b->out_len[k]; i++)
            add(&s, b->out[k][i]);
    for (long i = 0; i < b->img_len; i++)
        add(&s, b->img[i]);
    return s.sum + s.comp;
}

typedef struct {
    const char *problem, *variant;
    int threads, reps;
    long size;
} Args;

static void usage(void)
{
    fprintf(stderr, "usage: bench_c --problem P --threads T --reps R [--size N] [--variant V]\n");
    exit(2);
}

static Args parse_args(int argc, char **argv)
{
    Args a = {NULL, NULL, 1, 5, -1};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--problem") == 0)
            a.problem = argv[i + 1];
        else if (strcmp(argv[i], "--threads") == 0)
            a.threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--reps") == 0)
            a.reps = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--size") == 0)
            a.size = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--variant") == 0)
            a.variant = argv[i + 1];
        else
            usage();
    }
    if (!a.problem || a.reps < 1 || a.threads < 1 || argc % 2 == 0)
        usage();
    return a;
}

static void print_unsupported(const char *problem)
{
    printf("{\"tool\":\"c\",\"problem\":\"%s\",\"unsupported\":true}\n", problem);
}

int main(int argc, char **argv)
{
    Args args = parse_args(argc, argv);
    const Problem *p = find_problem(args.problem);
    if (!p) {
        print_unsupported(args.problem);
        return 0;
    }
    const char *variant = args.variant ? args.variant : default_variant(p);
    if (!has_variant(p, variant) || (!built_with_openmp() && args.threads != 1)) {
        /* The serial build cannot run 2 threads: that is bench_c_omp's job. */
        print_unsupported(args.problem);
        return 0;
    }
#ifdef _OPENMP
    omp_set_num_threads(args.threads);
#endif
    Bench b = {.size = args.size > 0 ? args.size : p->default_size, .variant = variant};
    long base_kib = status_kib("VmHWM");
    p->setup(&b);
    p->run(&b); /* warm-up */
    double *times = malloc((size_t)args.reps * sizeof(double));
    for (int r = 0; r < args.reps; r++) {
        double t0 = now();
        p->run(&b);
        times[r] = now() - t0;
    }
    printf("{\"tool\":\"c\",\"problem\":\"%s\",\"variant\":\"%s\",\"threads\":%d,\"n\":%ld,\"times_s\":[",
           p->name, variant, args.threads, b.size);
    for (int r = 0; r < args.reps; r++)
        printf("%s%.9g", r ? "," : "", times[r]);
    printf("],\"checksum\":%.17g,\"peak_rss_kib\":%ld,\"base_rss_kib\":%ld,\"version\":\"gcc %s\"}\n",
           checksum(&b), status_kib("VmHWM"), base_kib, __VERSION__);
    return 0;
}
