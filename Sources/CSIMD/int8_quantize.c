// Symmetric int8 quantization of one row (Kernels/Quantization/Int8Quantize.swift, as
// compressed-tensors computes it): q = clamp(round_half_even(x / scale), −128, 127), with IEEE
// division (not a reciprocal) so each code equals the Swift loop's; and the reconstruction error
// sums Σ (x − q·scale)² and Σ x² in double, q·scale rounded to float first as the Swift twin does.
#include "CSIMD.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define TARGET __attribute__((target("avx2,f16c")))

TARGET static size_t quantize_row(const float *x, float scale, int8_t *q, size_t n) {
    const __m256 s = _mm256_set1_ps(scale), lo = _mm256_set1_ps(-128.0f), hi = _mm256_set1_ps(127.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + i), s);
        v = _mm256_round_ps(_mm256_min_ps(_mm256_max_ps(v, lo), hi), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m256i codes = _mm256_cvtps_epi32(v);
        __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(codes), _mm256_extracti128_si256(codes, 1));
        _mm_storel_epi64((__m128i *)(q + i), _mm_packs_epi16(w16, w16));
    }
    return i;
}

TARGET static size_t squared_error(double *sums, const float *x, const int8_t *q, float scale, size_t n) {
    const __m256 s = _mm256_set1_ps(scale);
    __m256d num = _mm256_setzero_pd(), den = _mm256_setzero_pd();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 w = _mm256_loadu_ps(x + i);
        __m256 r = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(q + i)))), s);
        for (int h = 0; h < 2; h++) {
            __m256d wd = _mm256_cvtps_pd(h ? _mm256_extractf128_ps(w, 1) : _mm256_castps256_ps128(w));
            __m256d rd = _mm256_cvtps_pd(h ? _mm256_extractf128_ps(r, 1) : _mm256_castps256_ps128(r));
            __m256d d = _mm256_sub_pd(wd, rd);
            num = _mm256_add_pd(num, _mm256_mul_pd(d, d));
            den = _mm256_add_pd(den, _mm256_mul_pd(wd, wd));
        }
    }
    double a[4], b[4];
    _mm256_storeu_pd(a, num); _mm256_storeu_pd(b, den);
    sums[0] += (a[0] + a[1]) + (a[2] + a[3]);
    sums[1] += (b[0] + b[1]) + (b[2] + b[3]);
    return i;
}

size_t csimd_int8_quantize_row(const float *x, float scale, int8_t *q, size_t n) {
    return csimd_available() ? quantize_row(x, scale, q, n) : 0;
}
size_t csimd_int8_squared_error(double *sums, const float *x, const int8_t *q, float scale, size_t n) {
    return csimd_available() ? squared_error(sums, x, q, scale, n) : 0;
}
#else
size_t csimd_int8_quantize_row(const float *x, float scale, int8_t *q, size_t n) { (void)x; (void)scale; (void)q; (void)n; return 0; }
size_t csimd_int8_squared_error(double *sums, const float *x, const int8_t *q, float scale, size_t n) {
    (void)sums; (void)x; (void)q; (void)scale; (void)n; return 0;
}
#endif
