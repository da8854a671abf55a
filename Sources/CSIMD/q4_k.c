// ggml's block_q4_K quantizer (llama.cpp's quantize_row_q4_K_ref, which llama-quantize runs without
// an importance matrix) with the eight 32-weight sub-blocks of a 256-weight super-block in the eight
// lanes of one AVX2 vector: lane j walks sub-block j's weights in order, so every lane does exactly
// the Swift twin's sequential float operations (GGUFQuantizeK.swift, `makeQKX2Quants` with nmax 15,
// rmin −1, rdelta 0.1, nstep 20, and `quantizeQ4_K`: sums left to right, no FMA) and the bytes are
// equal (CheckpointsTests.GGUFQuantizeSIMDTests). The 21-scale least-squares search is what a Q4_K_M
// export spends its time on. A super-block with a non-finite value stops the loop: the function
// returns the super-blocks done and the Swift twin takes that one.
#include "CSIMD.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>
#define TARGET __attribute__((target("avx2,f16c")))
#pragma clang fp contract(off)

// ggml's nearest_int (ties to even through 1.5·2^23), for |v| ≤ 2^22 − 1.
TARGET static inline __m256i nearest8(__m256 v) {
    __m256i b = _mm256_castps_si256(_mm256_add_ps(v, _mm256_set1_ps(12582912.0f)));
    return _mm256_sub_epi32(_mm256_and_si256(b, _mm256_set1_epi32(0x007FFFFF)), _mm256_set1_epi32(0x00400000));
}

TARGET static inline __m256i levels(__m256 iscale, __m256 x, __m256 min) {   // clamp(nearest(iscale·(x − min)), 0, 15)
    __m256i l = nearest8(_mm256_mul_ps(iscale, _mm256_sub_ps(x, min)));
    return _mm256_max_epi32(_mm256_min_epi32(l, _mm256_set1_epi32(15)), _mm256_setzero_si256());
}

// Σ w·(scale·l + min − x)² in weight order.
TARGET static inline __m256 weighted_error(const __m256 x[32], const __m256 w[32], const __m256i l[32], __m256 scale, __m256 min) {
    __m256 e = _mm256_setzero_ps();
    for (int i = 0; i < 32; i++) {
        __m256 diff = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(scale, _mm256_cvtepi32_ps(l[i])), min), x[i]);
        e = _mm256_add_ps(e, _mm256_mul_ps(w[i], _mm256_mul_ps(diff, diff)));
    }
    return e;
}

TARGET static inline __m256 pick(__m256 keep, __m256 take, __m256 mask) { return _mm256_blendv_ps(keep, take, mask); }

// One super-block: 144 bytes (half d, half dmin, 12 bytes of 6-bit scales and mins, 128 of nibbles).
TARGET static int q4_k_block(uint8_t *y, const float *x) {
    const __m256i lanes = _mm256_setr_epi32(0, 32, 64, 96, 128, 160, 192, 224);
    const __m256 zero = _mm256_setzero_ps();
    __m256 v[32], w[32];   // v[i], lane j = x[32·j + i]
    __m256 bad = zero, sumX2 = zero;
    for (int i = 0; i < 32; i++) {
        v[i] = _mm256_i32gather_ps(x + i, lanes, 4);
        __m256 a = _mm256_and_ps(v[i], _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF)));
        bad = _mm256_or_ps(bad, _mm256_cmp_ps(a, _mm256_set1_ps(__builtin_inff()), _CMP_NLT_UQ));   // inf or NaN
        sumX2 = _mm256_add_ps(sumX2, _mm256_mul_ps(v[i], v[i]));
    }
    if (_mm256_movemask_ps(bad)) return 0;
    const __m256 avX = _mm256_sqrt_ps(_mm256_div_ps(sumX2, _mm256_set1_ps(32.0f)));
    __m256 min = v[0], max = v[0], sumW, sumX;
    for (int i = 0; i < 32; i++) w[i] = _mm256_add_ps(avX, _mm256_and_ps(v[i], _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF))));
    sumW = w[0];
    sumX = _mm256_mul_ps(sumW, v[0]);
    for (int i = 1; i < 32; i++) {
        min = pick(min, v[i], _mm256_cmp_ps(v[i], min, _CMP_LT_OQ));
        max = pick(max, v[i], _mm256_cmp_ps(v[i], max, _CMP_GT_OQ));
        sumW = _mm256_add_ps(sumW, w[i]);
        sumX = _mm256_add_ps(sumX, _mm256_mul_ps(w[i], v[i]));
    }
    min = pick(min, zero, _mm256_cmp_ps(min, zero, _CMP_GT_OQ));
    const __m256 flat = _mm256_cmp_ps(max, min, _CMP_EQ_OQ);   // these lanes: levels 0, scale 0, min kept
    __m256 iscale = _mm256_div_ps(_mm256_set1_ps(15.0f), _mm256_sub_ps(max, min));
    __m256 scale = _mm256_div_ps(_mm256_set1_ps(1.0f), iscale);
    __m256i L[32], Laux[32];
    for (int i = 0; i < 32; i++) L[i] = levels(iscale, v[i], min);
    __m256 bestError = weighted_error(v, w, L, scale, min);
    for (int step = 0; step <= 20; step++) {
        iscale = _mm256_div_ps(_mm256_set1_ps(-1.0f + 0.1f * (float)step + 15.0f), _mm256_sub_ps(max, min));   // min as updated
        __m256 sumL = zero, sumL2 = zero, sumXL = zero;
        for (int i = 0; i < 32; i++) {
            Laux[i] = levels(iscale, v[i], min);
            __m256 fl = _mm256_cvtepi32_ps(Laux[i]), wl = _mm256_mul_ps(w[i], fl);
            sumL = _mm256_add_ps(sumL, wl);
            sumL2 = _mm256_add_ps(sumL2, _mm256_mul_ps(wl, fl));
            sumXL = _mm256_add_ps(sumXL, _mm256_mul_ps(wl, v[i]));
        }
        const __m256 D = _mm256_sub_ps(_mm256_mul_ps(sumW, sumL2), _mm256_mul_ps(sumL, sumL));
        const __m256 solvable = _mm256_andnot_ps(flat, _mm256_cmp_ps(D, zero, _CMP_GT_OQ));
        if (!_mm256_movemask_ps(solvable)) continue;
        __m256 thisScale = _mm256_div_ps(_mm256_sub_ps(_mm256_mul_ps(sumW, sumXL), _mm256_mul_ps(sumX, sumL)), D);
        __m256 thisMin = _mm256_div_ps(_mm256_sub_ps(_mm256_mul_ps(sumL2, sumX), _mm256_mul_ps(sumL, sumXL)), D);
        const __m256 positive = _mm256_cmp_ps(thisMin, zero, _CMP_GT_OQ);
        thisScale = pick(thisScale, _mm256_div_ps(sumXL, sumL2), positive);
        thisMin = pick(thisMin, zero, positive);
        const __m256 error = weighted_error(v, w, Laux, thisScale, thisMin);
        const __m256 better = _mm256_and_ps(solvable, _mm256_cmp_ps(error, bestError, _CMP_LT_OQ));
        if (!_mm256_movemask_ps(better)) continue;
        for (int i = 0; i < 32; i++) L[i] = _mm256_castps_si256(pick(_mm256_castsi256_ps(L[i]), _mm256_castsi256_ps(Laux[i]), better));
        bestError = pick(bestError, error, better);
        scale = pick(scale, thisScale, better);
        min = pick(min, thisMin, better);
    }
    float scales[8], mins[8];
    _mm256_storeu_ps(scales, _mm256_andnot_ps(flat, scale));
    _mm256_storeu_ps(mins, _mm256_xor_ps(min, _mm256_set1_ps(-0.0f)));   // −min (flat lanes too)
    uint8_t Lb[256];
    for (int i = 0; i < 32; i++) {   // back to weight order: Lb[32·j + i]
        int32_t column[8];
        _mm256_storeu_si256((__m256i *)column, _mm256_castps_si256(_mm256_andnot_ps(flat, _mm256_castsi256_ps(L[i]))));
        for (int j = 0; j < 8; j++) Lb[32 * j + i] = (uint8_t)column[j];
    }
    // quantize_row_q4_K_ref after the search: 6-bit scales and mins against two half super-block scales.
    float maxScale = 0, maxMin = 0;
    for (int j = 0; j < 8; j++) {
        if (scales[j] > maxScale) maxScale = scales[j];
        if (mins[j] > maxMin) maxMin = mins[j];
    }
    const float invScale = maxScale > 0 ? 63.0f / maxScale : 0.0f, invMin = maxMin > 0 ? 63.0f / maxMin : 0.0f;
    uint8_t packed[12] = {0};
    for (int j = 0; j < 8; j++) {
        int32_t q[8];
        _mm256_storeu_si256((__m256i *)q, nearest8(_mm256_setr_ps(invScale * scales[j], invMin * mins[j], 0, 0, 0, 0, 0, 0)));
        uint8_t ls = (uint8_t)q[0], lm = (uint8_t)q[1];   // C stores nearest_int in a uint8_t (mod 256) before MIN(63, ·)
        if (ls > 63) ls = 63;
        if (lm > 63) lm = 63;
        if (j < 4) { packed[j] = ls; packed[j + 4] = lm; }
        else {
            packed[j + 4] = (uint8_t)((ls & 0xF) | ((lm & 0xF) << 4));
            packed[j - 4] |= (uint8_t)((ls >> 4) << 6);
            packed[j] |= (uint8_t)((lm >> 4) << 6);
        }
    }
    const uint16_t dHalf = _cvtss_sh(maxScale / 63.0f, 0), dminHalf = _cvtss_sh(maxMin / 63.0f, 0);
    const float dAll = _cvtsh_ss(dHalf), dminAll = _cvtsh_ss(dminHalf);
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        if (j < 4) { sc = packed[j] & 63; m = packed[j + 4] & 63; }
        else { sc = (uint8_t)((packed[j + 4] & 0xF) | ((packed[j - 4] >> 6) << 4)); m = (uint8_t)((packed[j + 4] >> 4) | ((packed[j] >> 6) << 4)); }
        const float d = dAll * (float)sc;
        if (d == 0) continue;
        const __m256 dm = _mm256_set1_ps(dminAll * (float)m), vd = _mm256_set1_ps(d);
        for (int k = 0; k < 4; k++) {
            __m256 q = _mm256_div_ps(_mm256_add_ps(_mm256_loadu_ps(x + 32 * j + 8 * k), dm), vd);
            q = _mm256_min_ps(_mm256_max_ps(q, _mm256_set1_ps(-4194303.0f)), _mm256_set1_ps(4194303.0f));   // nearestInt's range
            __m256i l = _mm256_max_epi32(_mm256_min_epi32(nearest8(q), _mm256_set1_epi32(15)), _mm256_setzero_si256());
            int32_t c[8];
            _mm256_storeu_si256((__m256i *)c, l);
            for (int t = 0; t < 8; t++) Lb[32 * j + 8 * k + t] = (uint8_t)c[t];
        }
    }
    memcpy(y, &dHalf, 2);
    memcpy(y + 2, &dminHalf, 2);
    memcpy(y + 4, packed, 12);
    for (int chunk = 0; chunk < 4; chunk++)
        for (int l = 0; l < 32; l++) y[16 + 32 * chunk + l] = (uint8_t)(Lb[64 * chunk + l] | (Lb[64 * chunk + l + 32] << 4));
    return 1;
}

size_t csimd_q4_k_quantize(void *out, const float *x, size_t blocks) {
    if (!csimd_available()) return 0;
    uint8_t *y = out;
    for (size_t b = 0; b < blocks; b++)
        if (!q4_k_block(y + 144 * b, x + 256 * b)) return b;
    return blocks;
}
#else
size_t csimd_q4_k_quantize(void *out, const float *x, size_t blocks) {
    (void)out; (void)x; (void)blocks; return 0;
}
#endif
