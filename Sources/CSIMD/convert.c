// Dtype conversions, 16 elements a step. Semantics equal DTypeConversion's scalar functions
// (tests compare every F16 / BF16 code and edge-case floats): F16C's VCVTPH2PS / VCVTPS2PH
// (imm 0 = round to nearest even) behave as they do; BF16 rounding is done in integers because
// AVX512-BF16's VCVTNEPS2BF16 flushes subnormals to zero.
#include "CSIMD.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define TARGET __attribute__((target("avx2,f16c")))

TARGET static inline __m256 bf16x8_to_f32(const uint16_t *p) {
    __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}

// bits + 0x7FFF + ((bits >> 16) & 1), top half; a NaN keeps its top half with the quiet bit (0x0040).
TARGET static inline __m256i f32x8_to_bf16_in_low_halves(__m256 x) {
    __m256i bits = _mm256_castps_si256(x);
    __m256i odd = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
    __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(bits, _mm256_add_epi32(odd, _mm256_set1_epi32(0x7FFF))), 16);
    __m256i nan = _mm256_or_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(0x0040));
    __m256i isnan = _mm256_castps_si256(_mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    return _mm256_blendv_epi8(rounded, nan, isnan);
}

// Two registers of eight 32-bit lanes (values ≤ 0xFFFF) → sixteen uint16 in order.
TARGET static inline void store_u16x16(uint16_t *p, __m256i lo, __m256i hi) {
    __m256i packed = _mm256_packus_epi32(lo, hi);                 // lanes: lo0-3 hi0-3 lo4-7 hi4-7
    packed = _mm256_permute4x64_epi64(packed, 0xD8);              // → lo0-7 hi0-7
    _mm256_storeu_si256((__m256i *)p, packed);
}

TARGET static size_t bf16_to_f32(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_ps(dst + i, bf16x8_to_f32(src + i));
        _mm256_storeu_ps(dst + i + 8, bf16x8_to_f32(src + i + 8));
    }
    return i;
}

TARGET static size_t f16_to_f32(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
        _mm256_storeu_ps(dst + i + 8, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i + 8))));
    }
    return i;
}

TARGET static size_t f32_to_bf16(const float *src, uint16_t *dst, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        store_u16x16(dst + i, f32x8_to_bf16_in_low_halves(_mm256_loadu_ps(src + i)),
                     f32x8_to_bf16_in_low_halves(_mm256_loadu_ps(src + i + 8)));
    }
    return i;
}

TARGET static size_t f32_to_f16(const float *src, uint16_t *dst, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
        _mm_storeu_si128((__m128i *)(dst + i + 8), _mm256_cvtps_ph(_mm256_loadu_ps(src + i + 8), _MM_FROUND_TO_NEAREST_INT));
    }
    return i;
}

TARGET static size_t bf16_to_f16(const uint16_t *src, uint16_t *dst, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(bf16x8_to_f32(src + i), _MM_FROUND_TO_NEAREST_INT));
        _mm_storeu_si128((__m128i *)(dst + i + 8), _mm256_cvtps_ph(bf16x8_to_f32(src + i + 8), _MM_FROUND_TO_NEAREST_INT));
    }
    return i;
}

TARGET static size_t f16_to_bf16(const uint16_t *src, uint16_t *dst, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 a = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i)));
        __m256 b = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i + 8)));
        store_u16x16(dst + i, f32x8_to_bf16_in_low_halves(a), f32x8_to_bf16_in_low_halves(b));
    }
    return i;
}

#define DISPATCH(name, S, D) \
    size_t csimd_##name(const S *src, D *dst, size_t n) { return csimd_available() ? name(src, dst, n) : 0; }
#else
#define DISPATCH(name, S, D) \
    size_t csimd_##name(const S *src, D *dst, size_t n) { (void)src; (void)dst; (void)n; return 0; }
#endif

DISPATCH(bf16_to_f32, uint16_t, float)
DISPATCH(f16_to_f32, uint16_t, float)
DISPATCH(f32_to_bf16, float, uint16_t)
DISPATCH(f32_to_f16, float, uint16_t)
DISPATCH(bf16_to_f16, uint16_t, uint16_t)
DISPATCH(f16_to_bf16, uint16_t, uint16_t)
