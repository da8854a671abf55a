// The f32 forward's loops around exp (Kernels/SiLU.swift `swigluForward`, Kernels/Softmax.swift
// `softmaxRow`, Kernels/LogSoftmax.swift `logSumExpFast`) with AVX-512 or AVX2 lanes: a scalar `expf`
// per element cost a tenth of SmolLM2's prefill. exp is Cephes' `expf` (range reduction by ln 2 in two
// parts, degree-5 polynomial, ≤ 2 ulp on [−87, 88]); inputs below −87.3 give 0 (−∞ included).
// Each returns 0 without AVX2 (or with WHITTLE_NO_SIMD=1) so the caller runs its Swift scalar twin.
#include "CSIMD.h"
#include <math.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define TARGET512 __attribute__((target("avx512f,avx512dq,avx2,fma")))
#define TARGET256 __attribute__((target("avx2,fma")))

#define EXP_HI 88.3762626647949f
#define EXP_LO -88.3762626647949f
#define LOG2E 1.44269504088896341f
#define C1 0.693359375f
#define C2 -2.12194440e-4f
#define P0 1.9875691500e-4f
#define P1 1.3981999507e-3f
#define P2 8.3334519073e-3f
#define P3 4.1665795894e-2f
#define P4 1.6666665459e-1f
#define P5 5.0000001201e-1f

TARGET512 static inline __m512 exp512(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(EXP_LO)), _mm512_set1_ps(EXP_HI));
    __m512 fx = _mm512_roundscale_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(LOG2E), _mm512_set1_ps(0.5f)), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(C1), x);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(C2), x);
    __m512 y = _mm512_set1_ps(P0);
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(P1));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(P2));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(P3));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(P4));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(P5));
    y = _mm512_fmadd_ps(y, _mm512_mul_ps(x, x), _mm512_add_ps(x, _mm512_set1_ps(1.0f)));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(fx), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(y, _mm512_castsi512_ps(e));
}

TARGET256 static inline __m256 exp256(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(EXP_LO)), _mm256_set1_ps(EXP_HI));
    __m256 fx = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(LOG2E), _mm256_set1_ps(0.5f)));
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(C1), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(C2), x);
    __m256 y = _mm256_set1_ps(P0);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(P1));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(P2));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(P3));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(P4));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(P5));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

// The same formula on one value (the loops' tails), so a row's result does not depend on where it ends.
static inline float exp1(float x) {
    x = fminf(fmaxf(x, EXP_LO), EXP_HI);
    float fx = floorf(fmaf(x, LOG2E, 0.5f));
    x = fmaf(-fx, C1, x);
    x = fmaf(-fx, C2, x);
    float y = P0;
    y = fmaf(y, x, P1); y = fmaf(y, x, P2); y = fmaf(y, x, P3); y = fmaf(y, x, P4); y = fmaf(y, x, P5);
    y = fmaf(y, x * x, x + 1.0f);
    int32_t bits = ((int32_t)fx + 127) << 23;
    float scale;
    __builtin_memcpy(&scale, &bits, 4);
    return y * scale;
}

TARGET512 static void swiglu512(float *out, const float *gate, const float *up, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 g = _mm512_loadu_ps(gate + i);
        __m512 s = _mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), exp512(_mm512_sub_ps(_mm512_setzero_ps(), g))));
        _mm512_storeu_ps(out + i, _mm512_mul_ps(s, _mm512_loadu_ps(up + i)));
    }
    for (; i < n; i++) out[i] = gate[i] / (1.0f + exp1(-gate[i])) * up[i];
}

TARGET256 static void swiglu256(float *out, const float *gate, const float *up, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 g = _mm256_loadu_ps(gate + i);
        __m256 s = _mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), exp256(_mm256_sub_ps(_mm256_setzero_ps(), g))));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(s, _mm256_loadu_ps(up + i)));
    }
    for (; i < n; i++) out[i] = gate[i] / (1.0f + exp1(-gate[i])) * up[i];
}

// o[i] = exp(x[i] − m) for i < n; returns Σ o[i] (float lanes, summed in double at the end of each 16).
TARGET512 static double exp_sub512(float *o, const float *x, size_t n, float m) {
    __m512d acc = _mm512_setzero_pd();
    __m512 mv = _mm512_set1_ps(m);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(x + i), mv));
        if (o) _mm512_storeu_ps(o + i, e);
        acc = _mm512_add_pd(acc, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
        acc = _mm512_add_pd(acc, _mm512_cvtps_pd(_mm512_extractf32x8_ps(e, 1)));
    }
    double s = _mm512_reduce_add_pd(acc);
    for (; i < n; i++) { float e = exp1(x[i] - m); if (o) o[i] = e; s += e; }
    return s;
}

TARGET256 static double exp_sub256(float *o, const float *x, size_t n, float m) {
    __m256d acc = _mm256_setzero_pd();
    __m256 mv = _mm256_set1_ps(m);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv));
        if (o) _mm256_storeu_ps(o + i, e);
        acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
    double lanes[4];
    _mm256_storeu_pd(lanes, acc);
    double s = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    for (; i < n; i++) { float e = exp1(x[i] - m); if (o) o[i] = e; s += e; }
    return s;
}

TARGET512 static float max512(const float *x, size_t n) {
    __m512 m = _mm512_set1_ps(-INFINITY);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(x + i));
    float r = _mm512_reduce_max_ps(m);
    for (; i < n; i++) r = x[i] > r ? x[i] : r;
    return r;
}

TARGET256 static float max256(const float *x, size_t n) {
    __m256 m = _mm256_set1_ps(-INFINITY);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
    float lanes[8];
    _mm256_storeu_ps(lanes, m);
    float r = lanes[0];
    for (int k = 1; k < 8; k++) r = lanes[k] > r ? lanes[k] : r;
    for (; i < n; i++) r = x[i] > r ? x[i] : r;
    return r;
}

TARGET512 static void scale512(float *o, size_t n, float s) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(o + i, _mm512_mul_ps(_mm512_loadu_ps(o + i), _mm512_set1_ps(s)));
    for (; i < n; i++) o[i] *= s;
}

TARGET256 static void scale256(float *o, size_t n, float s) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(o + i, _mm256_mul_ps(_mm256_loadu_ps(o + i), _mm256_set1_ps(s)));
    for (; i < n; i++) o[i] *= s;
}
#endif

int csimd_swiglu(float *out, const float *gate, const float *up, size_t n) {
#if defined(__x86_64__)
    if (csimd_avx512_available()) { swiglu512(out, gate, up, n); return 1; }
    if (csimd_available()) { swiglu256(out, gate, up, n); return 1; }
#endif
    return 0;
}

int csimd_softmax_row(float *o, const float *x, size_t n) {
#if defined(__x86_64__)
    int wide = csimd_avx512_available();
    if (!wide && !csimd_available()) return 0;
    float m = wide ? max512(x, n) : max256(x, n);
    if (m == -INFINITY) { for (size_t i = 0; i < n; i++) o[i] = 0; return 1; }
    double s = wide ? exp_sub512(o, x, n, m) : exp_sub256(o, x, n, m);
    if (wide) scale512(o, n, (float)(1.0 / s)); else scale256(o, n, (float)(1.0 / s));
    return 1;
#else
    return 0;
#endif
}

int csimd_log_sum_exp(const float *x, size_t n, double *result) {
#if defined(__x86_64__)
    int wide = csimd_avx512_available();
    if (!wide && !csimd_available()) return 0;
    float m = wide ? max512(x, n) : max256(x, n);
    if (m == -INFINITY || m == INFINITY || m != m) return 0;   // the Swift twin's torch-like edge cases
    double s = wide ? exp_sub512(NULL, x, n, m) : exp_sub256(NULL, x, n, m);
    *result = (double)m + log(s);
    return 1;
#else
    return 0;
#endif
}
