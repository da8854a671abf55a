// One query row of attention over cached keys and values (a decode step; Kernels/CachedAttention.swift), for
// all heads of one sequence at once, in place of two OpenBLAS sgemm calls of one row per head:
//   scores:  s[h·n + j]   = scale · Σ_d q[h·hd + d] · k[j·stride + g(h)·hd + d]     j < n, h < heads
//   mix:     out[h·hd + d] = Σ_j p[h·n + j] · v[j·stride + g(h)·hd + d]             d < hd
// with stride = kv_heads·hd (one cache row holds every kv head) and g(h) = h / (heads / kv_heads).
// The cache rows are cold (a step streams hundreds of MB of weights between two visits to a layer), so
// both kernels walk the rows once, in memory order, every head's columns of a row together: one stream the
// hardware prefetcher follows. Per head, with a stride of kv_heads·hd, the same rows were 1.3 % of a SmolLM2
// step's samples each for scores and mix, mostly waiting on loads (BENCHMARKS.md, "f32 decode step,
// session 11"). AVX-512, 16 columns a step with the last partial chunk masked; each returns 0 without it
// (the caller keeps sgemm). The naive twin is Kernels' `cachedAttentionForwardNaive`.
#include "CSIMD.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define TARGET512 __attribute__((target("avx512f,avx512vl,avx2,fma")))

static inline __mmask16 tail_mask(size_t left) { return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1); }

TARGET512 static void scores512(float *s, const float *q, const float *k, size_t n, size_t heads, size_t kv_heads, size_t hd, float scale) {
    size_t group = heads / kv_heads, stride = kv_heads * hd;
    for (size_t j = 0; j < n; j++) {
        const float *row = k + j * stride;
        for (size_t h = 0; h < heads; h++) {
            const float *kh = row + (h / group) * hd, *qh = q + h * hd;
            __m512 a = _mm512_setzero_ps();
            for (size_t d = 0; d < hd; d += 16) {
                __mmask16 m = tail_mask(hd - d);
                a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, qh + d), _mm512_maskz_loadu_ps(m, kh + d), a);
            }
            s[h * n + j] = scale * _mm512_reduce_add_ps(a);
        }
    }
}

TARGET512 static void mix512(float *out, const float *p, const float *v, size_t n, size_t heads, size_t kv_heads, size_t hd) {
    size_t group = heads / kv_heads, stride = kv_heads * hd;
    for (size_t i = 0; i < heads * hd; i++) out[i] = 0;
    for (size_t j = 0; j < n; j++) {
        const float *row = v + j * stride;
        for (size_t h = 0; h < heads; h++) {
            const float *vh = row + (h / group) * hd;
            float *oh = out + h * hd;
            __m512 pj = _mm512_set1_ps(p[h * n + j]);
            for (size_t d = 0; d < hd; d += 16) {
                __mmask16 m = tail_mask(hd - d);
                __m512 o = _mm512_maskz_loadu_ps(m, oh + d);
                _mm512_mask_storeu_ps(oh + d, m, _mm512_fmadd_ps(pj, _mm512_maskz_loadu_ps(m, vh + d), o));
            }
        }
    }
}

int csimd_attention_scores_one(float *s, const float *q, const float *k, size_t n, size_t heads, size_t kv_heads, size_t hd, float scale) {
    if (!csimd_avx512_available() || kv_heads == 0 || heads % kv_heads != 0) return 0;
    scores512(s, q, k, n, heads, kv_heads, hd, scale);
    return 1;
}

int csimd_attention_mix_one(float *out, const float *p, const float *v, size_t n, size_t heads, size_t kv_heads, size_t hd) {
    if (!csimd_avx512_available() || kv_heads == 0 || heads % kv_heads != 0) return 0;
    mix512(out, p, v, n, heads, kv_heads, hd);
    return 1;
}
#else
int csimd_attention_scores_one(float *s, const float *q, const float *k, size_t n, size_t heads, size_t kv_heads, size_t hd, float scale) {
    (void)s; (void)q; (void)k; (void)n; (void)heads; (void)kv_heads; (void)hd; (void)scale;
    return 0;
}
int csimd_attention_mix_one(float *out, const float *p, const float *v, size_t n, size_t heads, size_t kv_heads, size_t hd) {
    (void)out; (void)p; (void)v; (void)n; (void)heads; (void)kv_heads; (void)hd;
    return 0;
}
#endif
