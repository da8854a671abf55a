// 2-bit packed weights × int8 activations → int32, for ternary / 2-bit linears
// (Kernels/Quantization/PackedMatmul.swift; the layout is Kernels/Quantization/PackedCodes.swift):
//   out[i·ldo + j] = Σ_p a[i, p] · (u[j, p] − 2)      a [M, Kp] int8, Kp a multiple of 128
// where u[j, p] ∈ {0…3} is the stored 2-bit field of weight row j (code + 2). Each row is Kp/128
// groups of 32 bytes; byte t of a group holds columns t, t+32, t+64, t+96 in bits 0–1, 2–3, 4–5, 6–7.
// VPMADDUBSW multiplies the unsigned fields by the signed activations (pair sums ≤ 2·3·127, no
// saturation); the offset 2 is removed with Σ a[i, ·] (`asum`), so the sums are exact integers and
// equal the Swift twin's. Blocks of up to 4 activation rows × 2 weight rows: each weight group is
// unpacked once for the 4 rows.
#include "CSIMD.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define TARGET __attribute__((target("avx2,f16c")))

TARGET static inline int32_t hsum32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

// R activation rows (1…4) against 2 weight rows (w0, w1 may be the same row for an odd tail).
TARGET static inline void block_rx2(int32_t *out, size_t ldo, const int8_t *a, const int32_t *asum,
                                    const uint8_t *w0, const uint8_t *w1, size_t Kp, int R, int cols) {
    const __m256i mask = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
    __m256i acc[4][2];
    for (int r = 0; r < 4; r++) { acc[r][0] = _mm256_setzero_si256(); acc[r][1] = _mm256_setzero_si256(); }
    size_t groups = Kp / 128;
    for (size_t g = 0; g < groups; g++) {
        __m256i v0 = _mm256_loadu_si256((const __m256i *)(w0 + g * 32));
        __m256i v1 = _mm256_loadu_si256((const __m256i *)(w1 + g * 32));
        __m256i u0[4], u1[4];
        for (int k = 0; k < 4; k++) {
            u0[k] = _mm256_and_si256(_mm256_srli_epi16(v0, 2 * k), mask);
            u1[k] = _mm256_and_si256(_mm256_srli_epi16(v1, 2 * k), mask);
        }
        for (int r = 0; r < R; r++) {
            const int8_t *x = a + r * Kp + g * 128;
            __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
            for (int k = 0; k < 4; k++) {
                __m256i xk = _mm256_loadu_si256((const __m256i *)(x + 32 * k));
                s0 = _mm256_add_epi16(s0, _mm256_maddubs_epi16(u0[k], xk));   // |4 · 762| < 2^15
                s1 = _mm256_add_epi16(s1, _mm256_maddubs_epi16(u1[k], xk));
            }
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(s0, ones));
            acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(s1, ones));
        }
    }
    for (int r = 0; r < R; r++) {
        out[r * ldo] = hsum32(acc[r][0]) - 2 * asum[r];
        if (cols > 1) out[r * ldo + 1] = hsum32(acc[r][1]) - 2 * asum[r];
    }
}

TARGET static size_t packed2_matmul_avx2(int32_t *out, size_t ldo, const int8_t *a, const int32_t *asum,
                                         const uint8_t *w, size_t M, size_t N, size_t Kp) {
    size_t rowBytes = Kp / 4;
    for (size_t j = 0; j < N; j += 2) {
        int cols = j + 1 < N ? 2 : 1;
        const uint8_t *w0 = w + j * rowBytes, *w1 = cols > 1 ? w0 + rowBytes : w0;
        for (size_t i = 0; i < M; i += 4) {
            int R = M - i < 4 ? (int)(M - i) : 4;
            block_rx2(out + i * ldo + j, ldo, a + i * Kp, asum + i, w0, w1, Kp, R, cols);
        }
    }
    return N;
}

size_t csimd_packed2_matmul(int32_t *out, size_t ldo, const int8_t *a, const int32_t *asum, const uint8_t *w,
                            size_t M, size_t N, size_t Kp) {
    if (!csimd_available() || Kp % 128 != 0) return 0;
    return packed2_matmul_avx2(out, ldo, a, asum, w, M, N, Kp);
}
#else
size_t csimd_packed2_matmul(int32_t *out, size_t ldo, const int8_t *a, const int32_t *asum, const uint8_t *w,
                            size_t M, size_t N, size_t Kp) {
    (void)out; (void)ldo; (void)a; (void)asum; (void)w; (void)M; (void)N; (void)Kp;
    return 0;
}
#endif
