/* Read bandwidth of one core from each level of the memory hierarchy, with 128-bit and
 * 256-bit loads: what a batch-1 recurrence, which reads all of W_hh once per step, can
 * reach at best. Buffers of 16 KiB (L1), 256 KiB (W_hh of H = 256: fits the 512 KiB L2),
 * 1 MiB (H = 512), 4 MiB (H = 1024) and 64 MiB (memory), each read over and over; eight
 * independent accumulators.
 *
 *   cc -O2 -mavx2 -mfma tools/c/stream_peak.c -o /tmp/stream_peak && /tmp/stream_peak
 */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* One pass of `reps` reads of n floats with vectors of type V (W floats), eight
 * accumulators held in registers. */
#define READ(NAME, V, W, ZERO, LOAD, ADD)                                                  \
    static float NAME(const float *p, size_t n, int reps) {                                \
        V a0 = ZERO(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;      \
        for (int r = 0; r < reps; r++)                                                     \
            for (size_t i = 0; i < n; i += 8 * W) {                                        \
                a0 = ADD(a0, LOAD(p + i)); a1 = ADD(a1, LOAD(p + i + W));                  \
                a2 = ADD(a2, LOAD(p + i + 2 * W)); a3 = ADD(a3, LOAD(p + i + 3 * W));      \
                a4 = ADD(a4, LOAD(p + i + 4 * W)); a5 = ADD(a5, LOAD(p + i + 5 * W));      \
                a6 = ADD(a6, LOAD(p + i + 6 * W)); a7 = ADD(a7, LOAD(p + i + 7 * W));      \
            }                                                                              \
        V s = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));           \
        return s[0];                                                                       \
    }

READ(read128, __m128, 4, _mm_setzero_ps, _mm_load_ps, _mm_add_ps)
READ(read256, __m256, 8, _mm256_setzero_ps, _mm256_load_ps, _mm256_add_ps)

int main(void) {
    const size_t sizes[] = {16 << 10, 256 << 10, 1 << 20, 4 << 20, 64 << 20};
    for (int k = 0; k < 5; k++) {
        size_t bytes = sizes[k], n = bytes / sizeof(float);
        float *p = aligned_alloc(64, bytes);
        for (size_t i = 0; i < n; i++) p[i] = (float)(i & 7);
        int reps = (int)((2u << 30) / bytes); /* about 2 GiB read per measurement */
        double best128 = 0, best256 = 0;
        float sink = 0;
        for (int trial = 0; trial < 5; trial++) {
            double t = now();
            sink += read128(p, n, reps);
            t = now() - t;
            if (reps * (double)bytes / t > best128) best128 = reps * (double)bytes / t;
            t = now();
            sink += read256(p, n, reps);
            t = now() - t;
            if (reps * (double)bytes / t > best256) best256 = reps * (double)bytes / t;
        }
        printf("%5zu KiB: 128-bit loads %.1f GB/s, 256-bit loads %.1f GB/s (best of 5; sink %g)\n",
               bytes >> 10, best128 / 1e9, best256 / 1e9, sink);
        free(p);
    }
    return 0;
}
