// One-row f32 products for decode steps (Kernels/Matmul.swift `gemvForward`): a step of a 135 M
// model is ~210 of these, each reading its weight once, so they are bound by memory bandwidth. Four
// weight rows share each load of x; two accumulators per row keep eight FMA chains in flight. The K
// tail is masked (AVX-512) or scalar (AVX2), so any K works. And the read ceiling the decoding bench
// compares against: a sum over the same bytes with the same loads and no FMA dependence on x.
#include "CSIMD.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define TARGET512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma")))
#define TARGET256 __attribute__((target("avx2,fma")))

TARGET512 static inline __attribute__((always_inline))
void gemv_rows512(float *y, const float *w, const float *x, size_t j, size_t K, int R) {
    __m512 a0[4], a1[4];
    for (int r = 0; r < R; r++) { a0[r] = _mm512_setzero_ps(); a1[r] = _mm512_setzero_ps(); }
    size_t k = 0;
    for (; k + 32 <= K; k += 32) {
        __m512 x0 = _mm512_loadu_ps(x + k), x1 = _mm512_loadu_ps(x + k + 16);
        for (int r = 0; r < R; r++) {
            const float *row = w + (j + r) * K + k;
            a0[r] = _mm512_fmadd_ps(_mm512_loadu_ps(row), x0, a0[r]);
            a1[r] = _mm512_fmadd_ps(_mm512_loadu_ps(row + 16), x1, a1[r]);
        }
    }
    for (; k < K; k += 16) {
        __mmask16 m = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1);
        __m512 x0 = _mm512_maskz_loadu_ps(m, x + k);
        for (int r = 0; r < R; r++) a0[r] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w + (j + r) * K + k), x0, a0[r]);
    }
    for (int r = 0; r < R; r++) y[j + r] = _mm512_reduce_add_ps(_mm512_add_ps(a0[r], a1[r]));
}

TARGET512 static void gemv512(float *y, const float *w, const float *x, size_t n0, size_t n1, size_t K) {
    size_t j = n0;
    for (; j + 4 <= n1; j += 4) gemv_rows512(y, w, x, j, K, 4);
    for (; j < n1; j++) gemv_rows512(y, w, x, j, K, 1);
}

TARGET256 static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

TARGET256 static inline __attribute__((always_inline))
void gemv_rows256(float *y, const float *w, const float *x, size_t j, size_t K, int R) {
    __m256 a0[4], a1[4];
    for (int r = 0; r < R; r++) { a0[r] = _mm256_setzero_ps(); a1[r] = _mm256_setzero_ps(); }
    size_t k = 0;
    for (; k + 16 <= K; k += 16) {
        __m256 x0 = _mm256_loadu_ps(x + k), x1 = _mm256_loadu_ps(x + k + 8);
        for (int r = 0; r < R; r++) {
            const float *row = w + (j + r) * K + k;
            a0[r] = _mm256_fmadd_ps(_mm256_loadu_ps(row), x0, a0[r]);
            a1[r] = _mm256_fmadd_ps(_mm256_loadu_ps(row + 8), x1, a1[r]);
        }
    }
    for (int r = 0; r < R; r++) {
        float s = hsum256(_mm256_add_ps(a0[r], a1[r]));
        for (size_t t = k; t < K; t++) s += w[(j + r) * K + t] * x[t];
        y[j + r] = s;
    }
}

TARGET256 static void gemv256(float *y, const float *w, const float *x, size_t n0, size_t n1, size_t K) {
    size_t j = n0;
    for (; j + 4 <= n1; j += 4) gemv_rows256(y, w, x, j, K, 4);
    for (; j < n1; j++) gemv_rows256(y, w, x, j, K, 1);
}

int csimd_sgemv_available(void) {
    static int state = -1;
    if (state < 0) {
        __builtin_cpu_init();
        state = csimd_avx512_available() || (csimd_available() && __builtin_cpu_supports("fma"));
    }
    return state;
}

size_t csimd_sgemv(float *y, const float *w, const float *x, size_t n0, size_t n1, size_t K) {
    if (n1 <= n0 || K == 0 || !csimd_sgemv_available()) return 0;
    if (csimd_avx512_available()) { gemv512(y, w, x, n0, n1, K); return n1 - n0; }
    if (csimd_available()) { gemv256(y, w, x, n0, n1, K); return n1 - n0; }
    return 0;
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
int csimd_sgemv_available(void) { return 0; }
size_t csimd_sgemv(float *y, const float *w, const float *x, size_t n0, size_t n1, size_t K) { return 0; }
float csimd_read_sum(const float *x, size_t n) {
    float s = 0;
    for (size_t i = 0; i < n; i++) s += x[i];
    return s;
}
#endif
