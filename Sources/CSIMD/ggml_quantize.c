// ggml block quantizers (llama.cpp's ggml-quants.c `quantize_row_*_ref`, which llama-quantize runs
// without an importance matrix), one 32-float block per step, 8 lanes at a time. The Swift twins in
// Checkpoints/GGUFQuantize.swift stay the definition: every float operation here is the same one in
// the same order (division for d, 1/d for id, x·id then + 8.5 as two roundings, no FMA), so the
// bytes are equal (CheckpointsTests.GGUFQuantizeSIMDTests compares them). Orders that SIMD would
// change are restored: the Q4_0/Q5_0 scale takes the *first* value of largest magnitude, and a zero
// minimum/maximum of Q4_1 keeps the sign of the first zero, as the sequential loops do.
// A block with a non-finite value, or whose d or 1/d is not finite (subnormal scales), stops the
// loop: the function returns the blocks done and the Swift twin takes that block.
#include "CSIMD.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include <string.h>
#define TARGET __attribute__((target("avx2,f16c")))

typedef struct { __m256 v[4]; float amax; int32_t first; } block_stats;

// Loads a block; amax = max |x| by the integer order of the magnitudes' bits (equal to the float
// order for finite values, and larger than any finite for inf/NaN); first = index of its first
// occurrence. Returns 0 when the block holds a non-finite value.
TARGET static inline int load_block(const float *x, block_stats *s) {
    const __m256i mag = _mm256_set1_epi32(0x7FFFFFFF);
    __m256i m = _mm256_setzero_si256(), bits[4];
    for (int k = 0; k < 4; k++) {
        s->v[k] = _mm256_loadu_ps(x + 8 * k);
        bits[k] = _mm256_and_si256(_mm256_castps_si256(s->v[k]), mag);
        m = _mm256_max_epi32(m, bits[k]);
    }
    __m128i h = _mm_max_epi32(_mm256_castsi256_si128(m), _mm256_extracti128_si256(m, 1));
    h = _mm_max_epi32(h, _mm_shuffle_epi32(h, 0x4E));
    h = _mm_max_epi32(h, _mm_shuffle_epi32(h, 0xB1));
    int32_t top = _mm_cvtsi128_si32(h);
    if (top >= 0x7F800000) return 0;
    memcpy(&s->amax, &top, 4);
    const __m256i want = _mm256_set1_epi32(top);
    uint32_t hits = 0;
    for (int k = 0; k < 4; k++)
        hits |= (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(bits[k], want))) << (8 * k);
    s->first = __builtin_ctz(hits);
    return 1;
}

TARGET static inline int finite_scale(float d, float id) { return isfinite(d) && isfinite(id); }

TARGET static inline void store_half(uint8_t *y, float f) {
    uint16_t h = _cvtss_sh(f, 0);   // round to nearest even, as DTypeConversion.floatToFloat16
    memcpy(y, &h, 2);
}

// Four vectors of 32-bit codes (0…255 after the caller's clamps) of x[0..<32]: byte j = code j | code
// j+16 << 4, the 16 bytes of a Q4/Q5 block's qs.
TARGET static inline void store_nibbles(uint8_t *y, const __m256i q[4]) {
    __m256i lo = _mm256_or_si256(q[0], _mm256_slli_epi32(q[2], 4));   // bytes 0..7
    __m256i hi = _mm256_or_si256(q[1], _mm256_slli_epi32(q[3], 4));   // bytes 8..15
    __m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi32(lo, hi), 0xD8);
    _mm_storeu_si128((__m128i *)y, _mm_packus_epi16(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1)));
}

// min(limit, trunc(x·id + offset)) per lane, as C's `MIN(limit, (int8_t)(x*id + offset))`.
TARGET static inline __m256i truncated_codes(__m256 x, __m256 id, __m256 offset, int limit) {
    __m256i t = _mm256_cvttps_epi32(_mm256_add_ps(_mm256_mul_ps(x, id), offset));
    return _mm256_min_epi32(t, _mm256_set1_epi32(limit));
}

// block_q8_0 (34 bytes): d = amax/127, q = roundf(x·id) (halves away from zero).
TARGET static size_t q8_0(uint8_t *y, const float *x, size_t blocks) {
    const __m256 sign = _mm256_set1_ps(-0.0f), half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    for (size_t b = 0; b < blocks; b++, x += 32, y += 34) {
        block_stats s;
        if (!load_block(x, &s)) return b;
        const float d = s.amax / 127;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        if (!finite_scale(d, id)) return b;
        store_half(y, d);
        const __m256 vid = _mm256_set1_ps(id);
        __m256i q[4];
        for (int k = 0; k < 4; k++) {
            __m256 v = _mm256_mul_ps(s.v[k], vid);
            __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            __m256 away = _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_sub_ps(v, t)), half, _CMP_GE_OQ);
            t = _mm256_add_ps(t, _mm256_and_ps(away, _mm256_or_ps(_mm256_and_ps(v, sign), one)));
            q[k] = _mm256_cvttps_epi32(t);
        }
        __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
        p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(y + 2), p);
    }
    return blocks;
}

// block_q4_0 (18 bytes): d = max/−8 (max: the first value of largest magnitude), q = min(15, trunc(x·id + 8.5)).
TARGET static size_t q4_0(uint8_t *y, const float *x, size_t blocks) {
    const __m256 offset = _mm256_set1_ps(8.5f);
    for (size_t b = 0; b < blocks; b++, x += 32, y += 18) {
        block_stats s;
        if (!load_block(x, &s)) return b;
        const float max = s.amax != 0 ? x[s.first] : 0.0f;
        const float d = max / -8;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        if (!finite_scale(d, id)) return b;
        store_half(y, d);
        const __m256 vid = _mm256_set1_ps(id);
        __m256i q[4];
        for (int k = 0; k < 4; k++) q[k] = truncated_codes(s.v[k], vid, offset, 15);
        store_nibbles(y + 2, q);
    }
    return blocks;
}

// block_q5_0 (22 bytes): d = max/−16, q = min(31, trunc(x·id + 16.5)); low nibbles as Q4_0, the
// fifth bits in qh (bit j of code j).
TARGET static size_t q5_0(uint8_t *y, const float *x, size_t blocks) {
    const __m256 offset = _mm256_set1_ps(16.5f);
    const __m256i low = _mm256_set1_epi32(15);
    for (size_t b = 0; b < blocks; b++, x += 32, y += 22) {
        block_stats s;
        if (!load_block(x, &s)) return b;
        const float max = s.amax != 0 ? x[s.first] : 0.0f;
        const float d = max / -16;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        if (!finite_scale(d, id)) return b;
        store_half(y, d);
        const __m256 vid = _mm256_set1_ps(id);
        __m256i q[4];
        uint32_t qh = 0;
        for (int k = 0; k < 4; k++) {
            __m256i c = truncated_codes(s.v[k], vid, offset, 31);
            qh |= (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_slli_epi32(c, 27))) << (8 * k);
            q[k] = _mm256_and_si256(c, low);
        }
        memcpy(y + 2, &qh, 4);
        store_nibbles(y + 6, q);
    }
    return blocks;
}

// The first element equal to `value` (only asked for ±0, whose sign the sequential loop keeps).
static inline float first_equal(const float *x, float value) {
    for (int j = 0; j < 32; j++) if (x[j] == value) return x[j];
    return value;
}

// block_q4_1 (20 bytes): d = (max − min)/15, m = min, q = min(15, trunc((x − min)·id + 0.5)).
TARGET static size_t q4_1(uint8_t *y, const float *x, size_t blocks) {
    const __m256 offset = _mm256_set1_ps(0.5f);
    for (size_t b = 0; b < blocks; b++, x += 32, y += 20) {
        block_stats s;
        if (!load_block(x, &s)) return b;
        __m256 lo = _mm256_min_ps(_mm256_min_ps(s.v[0], s.v[1]), _mm256_min_ps(s.v[2], s.v[3]));
        __m256 hi = _mm256_max_ps(_mm256_max_ps(s.v[0], s.v[1]), _mm256_max_ps(s.v[2], s.v[3]));
        __m128 l = _mm_min_ps(_mm256_castps256_ps128(lo), _mm256_extractf128_ps(lo, 1));
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(hi), _mm256_extractf128_ps(hi, 1));
        l = _mm_min_ps(l, _mm_movehl_ps(l, l)); l = _mm_min_ss(l, _mm_shuffle_ps(l, l, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h)); h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
        float min = _mm_cvtss_f32(l), max = _mm_cvtss_f32(h);
        if (min == 0) min = first_equal(x, 0);
        if (max == 0) max = first_equal(x, 0);
        const float d = (max - min) / 15;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        if (!finite_scale(d, id)) return b;
        store_half(y, d);
        store_half(y + 2, min);
        const __m256 vid = _mm256_set1_ps(id), vmin = _mm256_set1_ps(min);
        __m256i q[4];
        for (int k = 0; k < 4; k++) q[k] = truncated_codes(_mm256_sub_ps(s.v[k], vmin), vid, offset, 15);
        store_nibbles(y + 4, q);
    }
    return blocks;
}

size_t csimd_ggml_quantize(int type, void *out, const float *x, size_t blocks) {
    if (!csimd_available()) return 0;
    switch (type) {
    case CSIMD_GGML_Q8_0: return q8_0(out, x, blocks);
    case CSIMD_GGML_Q4_0: return q4_0(out, x, blocks);
    case CSIMD_GGML_Q4_1: return q4_1(out, x, blocks);
    case CSIMD_GGML_Q5_0: return q5_0(out, x, blocks);
    case CSIMD_GGML_Q4_K: return csimd_q4_k_quantize(out, x, blocks);
    case CSIMD_GGML_Q6_K: return csimd_q6_k_quantize(out, x, blocks);
    default: return 0;
    }
}
#else
size_t csimd_ggml_quantize(int type, void *out, const float *x, size_t blocks) {
    (void)type; (void)out; (void)x; (void)blocks; return 0;
}
#endif
