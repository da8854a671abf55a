// NF4 kernels (Kernels/Quantization/NF4Quantize.swift, NF4ReconstructionError.swift): quantization
// of full blocks (ALGORITHMS.md §5.2), equal to the Swift loop of `nf4Quantize` byte for byte,
//   absmax_b = max |w|;  x = w · (1 / max(absmax_b, tiny));  code = #{midpoints m : m < x}
//   byte k = code[2k] << 4 | code[2k+1]
// The count is found by a 4-step binary search over the 15 sorted midpoints; each step's candidates
// fit one 8-lane table (VPERMPS), so a step is one lookup, one compare and two integer ops. The
// clamp of x to [−1, 1] is left out: every midpoint lies inside (−1, 1), so it cannot change a count
// (a NaN compares false everywhere and gets code 0 either way). Also the block absmax alone, and the
// squared reconstruction error against dequantized codes.
#include "CSIMD.h"
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define TARGET __attribute__((target("avx2,f16c")))

typedef struct {
    __m256 m7;   // step 1: is x above midpoint 7?           → bit 3
    __m256 t2;   // step 2: midpoints 3, 11 by bit 3         → bit 2
    __m256 t1;   // step 3: midpoints 1, 5, 9, 13            → bit 1
    __m256 t0;   // step 4: midpoints 0, 2, …, 14            → bit 0
} nf4_tables;

TARGET static inline nf4_tables nf4_make_tables(const float *mid) {
    nf4_tables t;
    t.m7 = _mm256_set1_ps(mid[7]);
    t.t2 = _mm256_setr_ps(mid[3], mid[11], 0, 0, 0, 0, 0, 0);
    t.t1 = _mm256_setr_ps(mid[1], mid[5], mid[9], mid[13], 0, 0, 0, 0);
    t.t0 = _mm256_setr_ps(mid[0], mid[2], mid[4], mid[6], mid[8], mid[10], mid[12], mid[14]);
    return t;
}

// Codes 0…15 of eight scaled values, in 32-bit lanes. A true compare is −1, so idx·2 − mask appends the bit.
TARGET static inline __m256i nf4_codes8(__m256 x, const nf4_tables *t) {
    __m256i idx = _mm256_srli_epi32(_mm256_castps_si256(_mm256_cmp_ps(x, t->m7, _CMP_GT_OQ)), 31);
    __m256i above = _mm256_castps_si256(_mm256_cmp_ps(x, _mm256_permutevar8x32_ps(t->t2, idx), _CMP_GT_OQ));
    idx = _mm256_sub_epi32(_mm256_add_epi32(idx, idx), above);
    above = _mm256_castps_si256(_mm256_cmp_ps(x, _mm256_permutevar8x32_ps(t->t1, idx), _CMP_GT_OQ));
    idx = _mm256_sub_epi32(_mm256_add_epi32(idx, idx), above);
    above = _mm256_castps_si256(_mm256_cmp_ps(x, _mm256_permutevar8x32_ps(t->t0, idx), _CMP_GT_OQ));
    return _mm256_sub_epi32(_mm256_add_epi32(idx, idx), above);
}

// 32 values → 16 bytes, even element in the high nibble.
TARGET static inline void nf4_quantize32(uint8_t *out, const float *p, __m256 reciprocal, const nf4_tables *t) {
    __m256i c0 = nf4_codes8(_mm256_mul_ps(_mm256_loadu_ps(p), reciprocal), t);
    __m256i c1 = nf4_codes8(_mm256_mul_ps(_mm256_loadu_ps(p + 8), reciprocal), t);
    __m256i c2 = nf4_codes8(_mm256_mul_ps(_mm256_loadu_ps(p + 16), reciprocal), t);
    __m256i c3 = nf4_codes8(_mm256_mul_ps(_mm256_loadu_ps(p + 24), reciprocal), t);
    // Packing interleaves 128-bit halves: bytes come out as c0[0-3] c1[0-3] c2[0-3] c3[0-3] | c0[4-7] …
    __m256i bytes = _mm256_packus_epi16(_mm256_packus_epi32(c0, c1), _mm256_packus_epi32(c2, c3));
    bytes = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));   // element order
    // Adjacent pairs: 16 · even + 1 · odd in each 16-bit lane (≤ 255), then narrow to bytes.
    __m256i pairs = _mm256_maddubs_epi16(bytes, _mm256_set1_epi16(0x0110));
    __m256i narrow = _mm256_permute4x64_epi64(_mm256_packus_epi16(pairs, pairs), 0x08);
    _mm_storeu_si128((__m128i *)out, _mm256_castsi256_si128(narrow));
}

TARGET static inline float nf4_absmax(const float *p, size_t n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps();
    for (size_t j = 0; j < n; j += 16) {
        // MAXPS returns its second operand when either is NaN: a NaN input is skipped, as Swift's max(m, |w|) does.
        a = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(p + j)), a);
        b = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(p + j + 8)), b);
    }
    a = _mm256_max_ps(a, b);
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

TARGET static size_t nf4_quantize_avx2(uint8_t *packed, float *absmax, const float *input, size_t n,
                                       size_t block_size, const float *midpoints, float tiny) {
    nf4_tables t = nf4_make_tables(midpoints);
    size_t blocks = n / block_size;
    for (size_t b = 0; b < blocks; b++) {
        const float *p = input + b * block_size;
        float m = nf4_absmax(p, block_size);
        absmax[b] = m;
        __m256 reciprocal = _mm256_set1_ps(1.0f / (m > tiny ? m : tiny));
        uint8_t *out = packed + b * block_size / 2;
        for (size_t j = 0; j < block_size; j += 32) nf4_quantize32(out + j / 2, p + j, reciprocal, &t);
    }
    return blocks * block_size;
}

// Eight codes of 4 packed bytes (high nibble first) → NF4 values · scale, as nf4Dequantize computes them.
TARGET static inline __m256 nf4_dequantize8(const uint8_t *p, __m256 lo, __m256 hi, __m256 scale) {
    int32_t four;
    memcpy(&four, p, 4);
    __m128i doubled = _mm_shuffle_epi8(_mm_cvtsi32_si128(four), _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, -1, -1, -1, -1, -1, -1, -1, -1));
    __m256i codes = _mm256_and_si256(_mm256_srlv_epi32(_mm256_cvtepu8_epi32(doubled), _mm256_setr_epi32(4, 0, 4, 0, 4, 0, 4, 0)),
                                     _mm256_set1_epi32(15));
    // VPERMPS uses the low 3 bits of each code; bit 3, moved to the sign, picks the upper table.
    __m256 v = _mm256_blendv_ps(_mm256_permutevar8x32_ps(lo, codes), _mm256_permutevar8x32_ps(hi, codes),
                                _mm256_castsi256_ps(_mm256_slli_epi32(codes, 28)));
    return _mm256_mul_ps(v, scale);
}

TARGET static inline double sum4(__m256d x) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(x), _mm256_extractf128_pd(x, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

TARGET static size_t nf4_error_avx2(double *sums, const uint8_t *packed, const float *absmax, const float *input,
                                    size_t n, size_t block_size, const float *values) {
    __m256 lo = _mm256_loadu_ps(values), hi = _mm256_loadu_ps(values + 8);
    __m256d e0 = _mm256_setzero_pd(), e1 = _mm256_setzero_pd(), w0 = _mm256_setzero_pd(), w1 = _mm256_setzero_pd();
    size_t blocks = n / block_size;
    for (size_t b = 0; b < blocks; b++) {
        __m256 scale = _mm256_set1_ps(absmax[b]);
        for (size_t j = b * block_size; j < (b + 1) * block_size; j += 8) {
            __m256 w = _mm256_loadu_ps(input + j), r = nf4_dequantize8(packed + j / 2, lo, hi, scale);
            __m256d wl = _mm256_cvtps_pd(_mm256_castps256_ps128(w)), wh = _mm256_cvtps_pd(_mm256_extractf128_ps(w, 1));
            __m256d dl = _mm256_sub_pd(wl, _mm256_cvtps_pd(_mm256_castps256_ps128(r)));
            __m256d dh = _mm256_sub_pd(wh, _mm256_cvtps_pd(_mm256_extractf128_ps(r, 1)));
            e0 = _mm256_add_pd(e0, _mm256_mul_pd(dl, dl)); e1 = _mm256_add_pd(e1, _mm256_mul_pd(dh, dh));
            w0 = _mm256_add_pd(w0, _mm256_mul_pd(wl, wl)); w1 = _mm256_add_pd(w1, _mm256_mul_pd(wh, wh));
        }
    }
    sums[0] += sum4(_mm256_add_pd(e0, e1));
    sums[1] += sum4(_mm256_add_pd(w0, w1));
    return blocks * block_size;
}

size_t csimd_nf4_quantize(uint8_t *packed, float *absmax, const float *input, size_t n,
                          size_t block_size, const float *midpoints, float tiny) {
    if (!csimd_available() || block_size == 0 || block_size % 32 != 0) return 0;
    return nf4_quantize_avx2(packed, absmax, input, n, block_size, midpoints, tiny);
}

TARGET static size_t nf4_absmax_avx2(float *absmax, const float *input, size_t n, size_t block_size) {
    size_t blocks = n / block_size;
    for (size_t b = 0; b < blocks; b++) absmax[b] = nf4_absmax(input + b * block_size, block_size);
    return blocks * block_size;
}

size_t csimd_nf4_absmax(float *absmax, const float *input, size_t n, size_t block_size) {
    if (!csimd_available() || block_size == 0 || block_size % 32 != 0) return 0;
    return nf4_absmax_avx2(absmax, input, n, block_size);
}

size_t csimd_nf4_squared_error(double *sums, const uint8_t *packed, const float *absmax, const float *input,
                               size_t n, size_t block_size, const float *values) {
    if (!csimd_available() || block_size == 0 || block_size % 32 != 0) return 0;
    return nf4_error_avx2(sums, packed, absmax, input, n, block_size, values);
}
#else
size_t csimd_nf4_quantize(uint8_t *packed, float *absmax, const float *input, size_t n,
                          size_t block_size, const float *midpoints, float tiny) {
    (void)packed; (void)absmax; (void)input; (void)n; (void)block_size; (void)midpoints; (void)tiny;
    return 0;
}

size_t csimd_nf4_absmax(float *absmax, const float *input, size_t n, size_t block_size) {
    (void)absmax; (void)input; (void)n; (void)block_size;
    return 0;
}

size_t csimd_nf4_squared_error(double *sums, const uint8_t *packed, const float *absmax, const float *input,
                               size_t n, size_t block_size, const float *values) {
    (void)sums; (void)packed; (void)absmax; (void)input; (void)n; (void)block_size; (void)values;
    return 0;
}
#endif

// Dequantization of `pairs` whole bytes of one block: out[2j] = values[byte_j >> 4] · scale,
// out[2j+1] = values[byte_j & 15] · scale (float multiply, as nf4Dequantize), 8 bytes a step;
// the 16-entry table lookup is two 8-lane permutes and a blend on bit 3 of the code.
#if defined(__x86_64__)
__attribute__((target("avx2,f16c")))
static size_t nf4_dequantize_pairs(float *out, const uint8_t *bytes, size_t pairs, float scale, const float *values) {
    const __m256 low = _mm256_loadu_ps(values), high = _mm256_loadu_ps(values + 8), s = _mm256_set1_ps(scale);
    const __m128i nibble = _mm_set1_epi8(0x0F);
    const __m256i seven = _mm256_set1_epi32(7);
    size_t j = 0;
    for (; j + 8 <= pairs; j += 8) {
        __m128i b = _mm_loadl_epi64((const __m128i *)(bytes + j));
        __m128i codes = _mm_unpacklo_epi8(_mm_and_si128(_mm_srli_epi16(b, 4), nibble), _mm_and_si128(b, nibble));
        for (int h = 0; h < 2; h++) {
            __m256i idx = _mm256_cvtepu8_epi32(h ? _mm_srli_si128(codes, 8) : codes);
            __m256 v = _mm256_blendv_ps(_mm256_permutevar8x32_ps(low, idx), _mm256_permutevar8x32_ps(high, idx),
                                        _mm256_castsi256_ps(_mm256_cmpgt_epi32(idx, seven)));
            _mm256_storeu_ps(out + 2 * j + 8 * h, _mm256_mul_ps(v, s));
        }
    }
    return j;
}
size_t csimd_nf4_dequantize_pairs(float *out, const uint8_t *bytes, size_t pairs, float scale, const float *values) {
    return csimd_available() ? nf4_dequantize_pairs(out, bytes, pairs, scale, values) : 0;
}
#else
size_t csimd_nf4_dequantize_pairs(float *out, const uint8_t *bytes, size_t pairs, float scale, const float *values) {
    (void)out; (void)bytes; (void)pairs; (void)scale; (void)values; return 0;
}
#endif
