// ggml's block_q6_K quantizer (llama.cpp's quantize_row_q6_K_ref, which llama-quantize runs without
// an importance matrix) with the sixteen 16-weight sub-blocks of a 256-weight super-block in the
// sixteen lanes of one AVX-512 vector: lane b walks sub-block b's weights in order, so every lane
// does exactly the Swift twin's sequential float operations (GGUFQuantizeK.swift, `makeQXQuants` and
// `quantizeQ6_K`: 19 trial scales, sums in weight order, no FMA) and the bytes are equal
// (CheckpointsTests.GGUFQuantizeSIMDTests). The trial-scale search is ~95 % of a Q6_K export's time
// (the output head of a Q4_0 / Q4_K_M GGUF), so it is what runs sixteen-wide here.
// A super-block with a non-finite value stops the loop: the function returns the super-blocks done
// and the Swift twin takes that one.
#include "CSIMD.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>
#define TARGET512 __attribute__((target("avx512f,avx512bw,avx512vl,f16c")))
#pragma clang fp contract(off)

// ggml's nearest_int: adding 1.5·2^23 rounds to the nearest integer (ties to even) in the low mantissa
// bits. Valid for |v| ≤ 2^22 − 1, which the callers ensure.
TARGET512 static inline __m512i nearest(__m512 v) {
    __m512i b = _mm512_castps_si512(_mm512_add_ps(v, _mm512_set1_ps(12582912.0f)));
    return _mm512_sub_epi32(_mm512_and_si512(b, _mm512_set1_epi32(0x007FFFFF)), _mm512_set1_epi32(0x00400000));
}

TARGET512 static inline __m512i clamp(__m512i l, int lo, int hi) {
    return _mm512_max_epi32(_mm512_min_epi32(l, _mm512_set1_epi32(hi)), _mm512_set1_epi32(lo));
}

// Σ over the 16 weights of each lane of w·x·l and w·l·l with w = x² (make_qx_quants, rmse_type 1), in
// weight order; codes l = clamp(nearest(iscale·x), −32, 31) go to `codes` when it is not NULL.
TARGET512 static inline void trial(const __m512 x[16], __m512 iscale, __m512 *sumLX, __m512 *sumL2, __m512i codes[16]) {
    __m512 lx = _mm512_setzero_ps(), l2 = _mm512_setzero_ps();
    for (int i = 0; i < 16; i++) {
        __m512i l = clamp(nearest(_mm512_mul_ps(iscale, x[i])), -32, 31);
        if (codes) codes[i] = l;
        __m512 fl = _mm512_cvtepi32_ps(l), w = _mm512_mul_ps(x[i], x[i]);
        lx = _mm512_add_ps(lx, _mm512_mul_ps(_mm512_mul_ps(w, x[i]), fl));
        l2 = _mm512_add_ps(l2, _mm512_mul_ps(_mm512_mul_ps(w, fl), fl));
    }
    *sumLX = lx; *sumL2 = l2;
}

// One super-block: 210 bytes (ql[128], qh[64], scales[16], half d). Returns 0 on a non-finite value.
TARGET512 static int q6_k_block(uint8_t *y, const float *x) {
    const __m512i lanes = _mm512_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240);
    __m512 v[16];   // v[i], lane b = x[16·b + i]
    __m512 amax = _mm512_setzero_ps(), max = _mm512_setzero_ps();
    __mmask16 bad = 0;
    for (int i = 0; i < 16; i++) {
        v[i] = _mm512_i32gather_ps(lanes, x + i, 4);
        __m512 a = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v[i]), _mm512_set1_epi32(0x7FFFFFFF)));
        bad |= _mm512_cmp_ps_mask(a, _mm512_set1_ps(__builtin_inff()), _CMP_NLT_UQ);   // inf or NaN
        __mmask16 larger = _mm512_cmp_ps_mask(a, amax, _CMP_GT_OQ);   // strictly: the first largest wins
        amax = _mm512_mask_mov_ps(amax, larger, a);
        max = _mm512_mask_mov_ps(max, larger, v[i]);
    }
    if (bad) return 0;
    // make_qx_quants(16, 32, …): lanes below GROUP_MAX_EPS give scale 0 and codes 0 (not 0 + 32).
    const __mmask16 live = _mm512_cmp_ps_mask(amax, _mm512_set1_ps(1e-15f), _CMP_GE_OQ);
    __m512i codes[16];
    __m512 sumLX, sumL2;
    trial(v, _mm512_div_ps(_mm512_set1_ps(-32.0f), max), &sumLX, &sumL2, codes);
    __m512 scale = _mm512_maskz_div_ps(_mm512_cmp_ps_mask(sumL2, _mm512_setzero_ps(), _CMP_NEQ_UQ), sumLX, sumL2);
    __m512 best = _mm512_mul_ps(scale, sumLX);
    for (int step = -9; step <= 9; step++) {
        if (step == 0) continue;
        const float t = 32.0f + 0.1f * (float)step;
        const __m512 iscale = _mm512_div_ps(_mm512_set1_ps(-t), max);
        trial(v, iscale, &sumLX, &sumL2, NULL);
        __mmask16 better = live & _mm512_cmp_ps_mask(sumL2, _mm512_setzero_ps(), _CMP_GT_OQ)
            & _mm512_cmp_ps_mask(_mm512_mul_ps(sumLX, sumLX), _mm512_mul_ps(best, sumL2), _CMP_GT_OQ);
        if (!better) continue;
        for (int i = 0; i < 16; i++)
            codes[i] = _mm512_mask_mov_epi32(codes[i], better, clamp(nearest(_mm512_mul_ps(iscale, v[i])), -32, 31));
        scale = _mm512_mask_mov_ps(scale, better, _mm512_div_ps(sumLX, sumL2));
        best = _mm512_mask_mov_ps(best, better, _mm512_mul_ps(scale, sumLX));
    }
    float scales[16];
    _mm512_storeu_ps(scales, _mm512_maskz_mov_ps(live, scale));
    int8_t L[256];
    for (int i = 0; i < 16; i++) {   // back to weight order: L[16·b + i]
        int8_t column[16];
        _mm_storeu_si128((__m128i *)column, _mm512_cvtepi32_epi8(_mm512_maskz_add_epi32(live, codes[i], _mm512_set1_epi32(32))));
        for (int b = 0; b < 16; b++) L[16 * b + i] = column[b];
    }
    // quantize_row_q6_K_ref after the search: one scale for the super-block, an int8 per sub-block.
    float maxScale = 0, maxAbsScale = 0;
    for (int b = 0; b < 16; b++) {
        float a = scales[b] < 0 ? -scales[b] : scales[b];
        if (a > maxAbsScale) { maxAbsScale = a; maxScale = scales[b]; }
    }
    if (maxAbsScale < 1e-15f) { memset(y, 0, 210); return 1; }
    const float iscale = -128.0f / maxScale;
    const uint16_t dHalf = _cvtss_sh(1.0f / iscale, 0);
    const float dAll = _cvtsh_ss(dHalf);
    int8_t sc[16];
    for (int b = 0; b < 16; b++) {
        int q = _mm_cvtsi128_si32(_mm512_castsi512_si128(nearest(_mm512_set1_ps(iscale * scales[b]))));
        sc[b] = (int8_t)(q < 127 ? q : 127);
    }
    for (int b = 0; b < 16; b++) {
        const float d = dAll * (float)sc[b];
        if (d == 0) continue;
        __m512 q = _mm512_div_ps(_mm512_loadu_ps(x + 16 * b), _mm512_set1_ps(d));
        q = _mm512_min_ps(_mm512_max_ps(q, _mm512_set1_ps(-4194303.0f)), _mm512_set1_ps(4194303.0f));   // nearestInt's range
        _mm_storeu_si128((__m128i *)(L + 16 * b), _mm512_cvtepi32_epi8(_mm512_add_epi32(clamp(nearest(q), -32, 31), _mm512_set1_epi32(32))));
    }
    for (int half = 0; half < 2; half++) {
        const int8_t *l = L + 128 * half;
        uint8_t *ql = y + 64 * half, *qh = y + 128 + 32 * half;
        for (int k = 0; k < 32; k++) {
            uint8_t a = (uint8_t)l[k], b = (uint8_t)l[k + 32], c = (uint8_t)l[k + 64], d = (uint8_t)l[k + 96];
            ql[k] = (uint8_t)((a & 0xF) | ((c & 0xF) << 4));
            ql[k + 32] = (uint8_t)((b & 0xF) | ((d & 0xF) << 4));
            qh[k] = (uint8_t)((a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((d >> 4) << 6));
        }
    }
    memcpy(y + 192, sc, 16);
    memcpy(y + 208, &dHalf, 2);
    return 1;
}

size_t csimd_q6_k_quantize(void *out, const float *x, size_t blocks) {
    if (!csimd_avx512_available()) return 0;
    uint8_t *y = out;
    for (size_t b = 0; b < blocks; b++)
        if (!q6_k_block(y + 210 * b, x + 256 * b)) return b;
    return blocks;
}
#else
size_t csimd_q6_k_quantize(void *out, const float *x, size_t blocks) {
    (void)out; (void)x; (void)blocks; return 0;
}
#endif
