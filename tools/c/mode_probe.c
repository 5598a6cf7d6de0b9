/* Is a slow run of an rnnc kernel rnnc's doing or the machine's? Times b1-256 (compiled ahead
 * of time, so the probe is plain C) and, between batches of calls in the same process, an FMA
 * loop and 128-bit reads of buffers sized for L2, L3 and memory. Each round prints one line;
 * the summary compares rounds in which the kernel ran fast (within 15% of the fastest round)
 * with rounds in which it ran slow (30% or more above it).
 *
 *   printf 'name = "b1_256"\ninput_size = 256\nhidden_size = 256\n' > /tmp/b1_256.toml
 *   cargo run --release --bin rnnc -- /tmp/b1_256.toml -o /tmp/aot
 *   cc -O2 -mavx2 -mfma tools/c/mode_probe.c /tmp/aot/b1_256.o -I/tmp/aot -o /tmp/mode_probe
 *   /tmp/mode_probe 120        # rounds, about 0.4 s each
 */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "b1_256.h"

#define SEQ_LEN 100
#define CALLS 100

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static float uniform(void) { return (float)rand() / RAND_MAX * 0.125f - 0.0625f; }

/* GFLOP/s of ten independent 128-bit FMA chains (no memory traffic). */
static double fma_rate(void) {
    __m128 a0 = _mm_set1_ps(1), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0,
           a8 = a0, a9 = a0;
    const __m128 b = _mm_set1_ps(1.0000001f), c = _mm_set1_ps(1e-7f);
    const long n = 5000000;
    double t = now();
    for (long i = 0; i < n; i++) {
        a0 = _mm_fmadd_ps(a0, b, c); a1 = _mm_fmadd_ps(a1, b, c); a2 = _mm_fmadd_ps(a2, b, c);
        a3 = _mm_fmadd_ps(a3, b, c); a4 = _mm_fmadd_ps(a4, b, c); a5 = _mm_fmadd_ps(a5, b, c);
        a6 = _mm_fmadd_ps(a6, b, c); a7 = _mm_fmadd_ps(a7, b, c); a8 = _mm_fmadd_ps(a8, b, c);
        a9 = _mm_fmadd_ps(a9, b, c);
        __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5),
                         "+x"(a6), "+x"(a7), "+x"(a8), "+x"(a9));
    }
    t = now() - t;
    volatile float sink = _mm_cvtss_f32(a0) + _mm_cvtss_f32(a9);
    (void)sink;
    return n * 10.0 * 8 / t / 1e9;
}

/* GB/s of `passes` reads of buf[0..n) with 128-bit loads, eight accumulators in registers
 * (as tools/c/stream_peak.c reads). */
static double read_rate(const float *p, long n, int passes) {
    __m128 a0 = _mm_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    double t = now();
    for (int r = 0; r < passes; r++)
        for (long i = 0; i + 32 <= n; i += 32) {
            a0 = _mm_add_ps(a0, _mm_loadu_ps(p + i)); a1 = _mm_add_ps(a1, _mm_loadu_ps(p + i + 4));
            a2 = _mm_add_ps(a2, _mm_loadu_ps(p + i + 8)); a3 = _mm_add_ps(a3, _mm_loadu_ps(p + i + 12));
            a4 = _mm_add_ps(a4, _mm_loadu_ps(p + i + 16)); a5 = _mm_add_ps(a5, _mm_loadu_ps(p + i + 20));
            a6 = _mm_add_ps(a6, _mm_loadu_ps(p + i + 24)); a7 = _mm_add_ps(a7, _mm_loadu_ps(p + i + 28));
        }
    t = now() - t;
    __m128 s = _mm_add_ps(_mm_add_ps(_mm_add_ps(a0, a1), _mm_add_ps(a2, a3)),
                          _mm_add_ps(_mm_add_ps(a4, a5), _mm_add_ps(a6, a7)));
    volatile float sink = _mm_cvtss_f32(s);
    (void)sink;
    return (double)passes * n * sizeof(float) / t / 1e9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, n, sizeof *v, cmp);
    return n ? v[n / 2] : 0;
}

enum { KERNEL, FMA, L2, L3, MEM, PROBES };
static const char *names[PROBES] = {"b1-256 us/call", "FMA GFLOP/s", "L2 (256 KiB) GB/s",
                                    "L3 (4 MiB) GB/s", "memory (256 MiB) GB/s"};

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 60;
    if (rounds < 4 || rounds > 100000) {
        fprintf(stderr, "rounds must be in 4..100000, got %s\n", argv[1]);
        return 2;
    }
    const long sizes[B1_256_NUM_PARAMS] = B1_256_PARAM_SIZES;
    const float *params[B1_256_NUM_PARAMS];
    for (int i = 0; i < B1_256_NUM_PARAMS; i++) {
        float *p = malloc(sizes[i] * sizeof *p);
        if (!p) return 1;
        for (long j = 0; j < sizes[i]; j++) p[j] = uniform();
        params[i] = p;
    }
    float *packed = malloc(B1_256_PACKED_SIZE * sizeof(float));
    float *input = malloc(SEQ_LEN * B1_256_INPUT_SIZE * sizeof(float));
    float *output = malloc(SEQ_LEN * B1_256_OUTPUT_SIZE * sizeof(float));
    float *h_n = malloc(B1_256_NUM_LAYER_DIRECTIONS * B1_256_STATE_H_SIZE * sizeof(float));
    float *work = malloc(B1_256_WORK_SIZE(SEQ_LEN, 1) * sizeof(float));
    long n_l2 = 64 << 10, n_l3 = 1 << 20, n_mem = 64 << 20;
    float *l2 = malloc(n_l2 * sizeof(float)), *l3 = malloc(n_l3 * sizeof(float));
    float *mem = malloc(n_mem * sizeof(float));
    double *v = malloc((size_t)rounds * PROBES * sizeof(double));
    if (!packed || !input || !output || !h_n || !work || !l2 || !l3 || !mem || !v) return 1;
    for (long i = 0; i < SEQ_LEN * B1_256_INPUT_SIZE; i++) input[i] = uniform() * 16;
    for (long i = 0; i < n_l2; i++) l2[i] = 1;
    for (long i = 0; i < n_l3; i++) l3[i] = 1;
    for (long i = 0; i < n_mem; i++) mem[i] = 1;
    b1_256_pack(params, packed);

    printf("round %16s %12s %18s %16s %22s\n", names[0], names[1], names[2], names[3], names[4]);
    for (int r = 0; r < rounds; r++) {
        double *row = v + (size_t)r * PROBES;
        double t = now();
        for (int c = 0; c < CALLS; c++)
            b1_256_forward(packed, input, NULL, NULL, output, h_n, work, SEQ_LEN, 1);
        row[KERNEL] = (now() - t) / CALLS * 1e6;
        row[FMA] = fma_rate();
        row[L2] = read_rate(l2, n_l2, 400);
        row[L3] = read_rate(l3, n_l3, 25);
        row[MEM] = read_rate(mem, n_mem, 1);
        printf("%5d %16.1f %12.1f %18.1f %16.1f %22.1f\n", r, row[KERNEL], row[FMA], row[L2],
               row[L3], row[MEM]);
    }

    double fastest = v[KERNEL];
    for (int r = 1; r < rounds; r++)
        if (v[(size_t)r * PROBES + KERNEL] < fastest) fastest = v[(size_t)r * PROBES + KERNEL];
    double *fast = malloc(rounds * sizeof(double)), *slow = malloc(rounds * sizeof(double));
    if (!fast || !slow) return 1;
    int nf = 0, ns = 0;
    for (int r = 0; r < rounds; r++) {
        double k = v[(size_t)r * PROBES + KERNEL];
        nf += k <= 1.15 * fastest;
        ns += k >= 1.30 * fastest;
    }
    printf("\n%d fast rounds (kernel within 15%% of the fastest, %.1f us), %d slow (30%% or more "
           "above it)\n%-24s %12s %12s\n", nf, fastest, ns, "median of", "fast", "slow");
    for (int p = 0; p < PROBES; p++) {
        int f = 0, s = 0;
        for (int r = 0; r < rounds; r++) {
            double k = v[(size_t)r * PROBES + KERNEL], x = v[(size_t)r * PROBES + p];
            if (k <= 1.15 * fastest) fast[f++] = x;
            if (k >= 1.30 * fastest) slow[s++] = x;
        }
        printf("%-24s %12.1f %12.1f\n", names[p], median(fast, f), s ? median(slow, s) : 0.0);
    }
    return 0;
}
