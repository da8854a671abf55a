// int8 × int8 → int32 matrix product for W8A8 linears (Kernels/Quantization/Int8Matmul.swift):
//   out[i·ldo + j] = Σ_{p < done} a[i, p] · b[j, p]     a [M, K], b [N, K] row-major; done = K rounded down to 16
// Products are exact in 16 bits (|a·b| ≤ 2^14) and VPMADDWD adds pairs into 32-bit lanes, so the sums
// equal the Swift loop's integer sums exactly; the Swift caller adds the last K mod 16 columns.
// Blocks of 2 activation rows × 4 weight rows keep 8 accumulators in registers, so each loaded
// 16-column slice is used 4 (a) or 2 (b) times.
#include "CSIMD.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define TARGET __attribute__((target("avx2,f16c")))

TARGET static inline __m256i widen16(const int8_t *p) { return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)p)); }

TARGET static inline int32_t hsum(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

// R activation rows (1 or 2) against 4 weight rows.
TARGET static inline void block_rx4(int32_t *out, size_t ldo, const int8_t *a, const int8_t *b, size_t K, size_t K16, int R) {
    __m256i acc[2][4];
    for (int r = 0; r < 2; r++) for (int c = 0; c < 4; c++) acc[r][c] = _mm256_setzero_si256();
    for (size_t p = 0; p < K16; p += 16) {
        __m256i w0 = widen16(b + p), w1 = widen16(b + K + p), w2 = widen16(b + 2 * K + p), w3 = widen16(b + 3 * K + p);
        for (int r = 0; r < R; r++) {
            __m256i x = widen16(a + r * K + p);
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(x, w0));
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(x, w1));
            acc[r][2] = _mm256_add_epi32(acc[r][2], _mm256_madd_epi16(x, w2));
            acc[r][3] = _mm256_add_epi32(acc[r][3], _mm256_madd_epi16(x, w3));
        }
    }
    for (int r = 0; r < R; r++) for (int c = 0; c < 4; c++) out[r * ldo + c] = hsum(acc[r][c]);
}

TARGET static inline int32_t dot1(const int8_t *a, const int8_t *b, size_t K16) {
    __m256i acc = _mm256_setzero_si256();
    for (size_t p = 0; p < K16; p += 16) acc = _mm256_add_epi32(acc, _mm256_madd_epi16(widen16(a + p), widen16(b + p)));
    return hsum(acc);
}

TARGET static size_t int8_matmul_avx2(int32_t *out, size_t ldo, const int8_t *a, const int8_t *b, size_t M, size_t N, size_t K) {
    size_t K16 = K / 16 * 16;
    size_t j = 0;
    for (; j + 4 <= N; j += 4) {
        size_t i = 0;
        for (; i + 2 <= M; i += 2) block_rx4(out + i * ldo + j, ldo, a + i * K, b + j * K, K, K16, 2);
        if (i < M) block_rx4(out + i * ldo + j, ldo, a + i * K, b + j * K, K, K16, 1);
    }
    for (; j < N; j++)
        for (size_t i = 0; i < M; i++) out[i * ldo + j] = dot1(a + i * K, b + j * K, K16);
    return K16;
}

size_t csimd_int8_matmul(int32_t *out, size_t ldo, const int8_t *a, const int8_t *b, size_t M, size_t N, size_t K) {
    if (!csimd_available()) return 0;
    return int8_matmul_avx2(out, ldo, a, b, M, N, K);
}
#else
size_t csimd_int8_matmul(int32_t *out, size_t ldo, const int8_t *a, const int8_t *b, size_t M, size_t N, size_t K) {
    (void)out; (void)ldo; (void)a; (void)b; (void)M; (void)N; (void)K;
    return 0;
}
#endif
