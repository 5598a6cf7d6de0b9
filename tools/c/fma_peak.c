/* The FMA peak of one core with 128-bit and with 256-bit vectors: ten independent chains of
 * fused multiply-adds, no memory traffic. rnnc's kernels use 128-bit vectors (Cranelift
 * 0.135 has no wider ones), so the 128-bit figure is their ceiling; PyTorch and ONNX
 * Runtime use wider vectors where the CPU has them.
 *
 *   cc -O2 -mavx2 -mfma tools/c/fma_peak.c -o /tmp/fma_peak && /tmp/fma_peak
 *   (two cores at once: /tmp/fma_peak & /tmp/fma_peak; wait)
 */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

#define CHAINS(V, FMA)                                                                      \
    for (long i = 0; i < n; i++) {                                                          \
        a0 = FMA(a0, b, c); a1 = FMA(a1, b, c); a2 = FMA(a2, b, c); a3 = FMA(a3, b, c);     \
        a4 = FMA(a4, b, c); a5 = FMA(a5, b, c); a6 = FMA(a6, b, c); a7 = FMA(a7, b, c);     \
        a8 = FMA(a8, b, c); a9 = FMA(a9, b, c);                                             \
        __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5),    \
                         "+x"(a6), "+x"(a7), "+x"(a8), "+x"(a9));                           \
    }

int main(void) {
    const long n = 200000000;
    {
        __m128 a0 = _mm_set1_ps(1), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
               a7 = a0, a8 = a0, a9 = a0;
        __m128 b = _mm_set1_ps(0.999999f), c = _mm_set1_ps(1e-7f);
        double t = now();
        CHAINS(__m128, _mm_fmadd_ps)
        t = now() - t;
        __m128 r = _mm_add_ps(_mm_add_ps(a0, a1), _mm_add_ps(a2, a9));
        printf("128-bit: %.1f GFLOP/s (f32; checksum %g)\n", n * 10 * 8 / t / 1e9, r[0]);
    }
    {
        __m256 a0 = _mm256_set1_ps(1), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
               a7 = a0, a8 = a0, a9 = a0;
        __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
        double t = now();
        CHAINS(__m256, _mm256_fmadd_ps)
        t = now() - t;
        __m256 r = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a9));
        printf("256-bit: %.1f GFLOP/s (f32; checksum %g)\n", n * 10 * 16 / t / 1e9, r[0]);
    }
    return 0;
}
