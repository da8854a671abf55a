// The decoding bench's memory-read ceiling (Kernels/Matmul.swift `readSum`): a sum over a decode
// step's weight bytes with the widest loads the CPU has and no dependence between the four
// accumulators, which a memory-bound decode step cannot beat.
#include "CSIMD.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define TARGET512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma")))
#define TARGET256 __attribute__((target("avx2,fma")))

TARGET256 static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

TARGET512 static float read512(const float *x, size_t n) {
    __m512 a[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    size_t i = 0;
    for (; i + 64 <= n; i += 64)
        for (int r = 0; r < 4; r++) a[r] = _mm512_add_ps(a[r], _mm512_loadu_ps(x + i + 16 * r));
    float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a[0], a[1]), _mm512_add_ps(a[2], a[3])));
    for (; i < n; i++) s += x[i];
    return s;
}

TARGET256 static float read256(const float *x, size_t n) {
    __m256 a[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int r = 0; r < 4; r++) a[r] = _mm256_add_ps(a[r], _mm256_loadu_ps(x + i + 8 * r));
    float s = hsum256(_mm256_add_ps(_mm256_add_ps(a[0], a[1]), _mm256_add_ps(a[2], a[3])));
    for (; i < n; i++) s += x[i];
    return s;
}

float csimd_read_sum(const float *x, size_t n) {
    if (csimd_avx512_available()) return read512(x, n);
    if (csimd_available()) return read256(x, n);
    float s = 0;
    for (size_t i = 0; i < n; i++) s += x[i];
    return s;
}

#else
float csimd_read_sum(const float *x, size_t n) {
    float s = 0;
    for (size_t i = 0; i < n; i++) s += x[i];
    return s;
}
#endif
