// One query row of attention over cached keys and values (a decode step; Kernels/CachedAttention.swift), in
// place of two OpenBLAS sgemm calls of one row per head (SmolLM2: 540 calls a step, their set-up costing
// more than the few thousand multiply-adds each does):
//   scores:  s[j]   = scale · Σ_d q[d] · k[j·stride + d]         j < n
//   mix:     out[d] = Σ_j p[j] · v[j·stride + d]                 d < hd
// AVX-512, 16 columns a step with the last partial chunk masked. Each returns 0 without AVX-512 (the caller
// keeps sgemm). The naive twin is Kernels' `cachedAttentionForwardNaive`.
#include "CSIMD.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define TARGET512 __attribute__((target("avx512f,avx512vl,avx2,fma")))

static inline __mmask16 tail_mask(size_t left) { return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1); }

TARGET512 static void scores512(float *s, const float *q, const float *k, size_t n, size_t hd, size_t stride, float scale) {
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {   // four keys at once: independent accumulators
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        const float *k0 = k + j * stride;
        for (size_t d = 0; d < hd; d += 16) {
            __mmask16 m = tail_mask(hd - d);
            __m512 qv = _mm512_maskz_loadu_ps(m, q + d);
            a0 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(m, k0 + d), a0);
            a1 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(m, k0 + stride + d), a1);
            a2 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(m, k0 + 2 * stride + d), a2);
            a3 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(m, k0 + 3 * stride + d), a3);
        }
        s[j] = scale * _mm512_reduce_add_ps(a0);
        s[j + 1] = scale * _mm512_reduce_add_ps(a1);
        s[j + 2] = scale * _mm512_reduce_add_ps(a2);
        s[j + 3] = scale * _mm512_reduce_add_ps(a3);
    }
    for (; j < n; j++) {
        __m512 a = _mm512_setzero_ps();
        for (size_t d = 0; d < hd; d += 16) {
            __mmask16 m = tail_mask(hd - d);
            a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + d), _mm512_maskz_loadu_ps(m, k + j * stride + d), a);
        }
        s[j] = scale * _mm512_reduce_add_ps(a);
    }
}

TARGET512 static void mix512(float *out, const float *p, const float *v, size_t n, size_t hd, size_t stride) {
    for (size_t d0 = 0; d0 < hd; d0 += 64) {   // up to 64 columns in four registers, every key
        size_t w = hd - d0 < 64 ? hd - d0 : 64;
        __mmask16 m[4];
        for (int c = 0; c < 4; c++) m[c] = 16 * (size_t)c < w ? tail_mask(w - 16 * (size_t)c) : 0;
        __m512 a[4] = { _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps() };
        for (size_t j = 0; j < n; j++) {
            __m512 pj = _mm512_set1_ps(p[j]);
            const float *vj = v + j * stride + d0;
            for (int c = 0; c < 4; c++) a[c] = _mm512_fmadd_ps(pj, _mm512_maskz_loadu_ps(m[c], vj + 16 * c), a[c]);
        }
        for (int c = 0; c < 4; c++) _mm512_mask_storeu_ps(out + d0 + 16 * c, m[c], a[c]);
    }
}

int csimd_attention_scores_one(float *s, const float *q, const float *k, size_t n, size_t hd, size_t stride, float scale) {
    if (!csimd_avx512_available()) return 0;
    scores512(s, q, k, n, hd, stride, scale);
    return 1;
}

int csimd_attention_mix_one(float *out, const float *p, const float *v, size_t n, size_t hd, size_t stride) {
    if (!csimd_avx512_available()) return 0;
    mix512(out, p, v, n, hd, stride);
    return 1;
}
#else
int csimd_attention_scores_one(float *s, const float *q, const float *k, size_t n, size_t hd, size_t stride, float scale) {
    (void)s; (void)q; (void)k; (void)n; (void)hd; (void)stride; (void)scale;
    return 0;
}
int csimd_attention_mix_one(float *out, const float *p, const float *v, size_t n, size_t hd, size_t stride) {
    (void)out; (void)p; (void)v; (void)n; (void)hd; (void)stride;
    return 0;
}
#endif
