// NF4 × f32 at many activation rows (Kernels/Quantization/NF4Matmul.swift, ALGORITHMS.md §5.3):
//   y[i·ldy + j] = Σ_k x[i·K + k] · NF4[code(j, k)] · absmax[block(j, k)]    i in [0, M), j in [n0, n1)
// The fused kernel (nf4_matmul.c) dequantizes in registers for every 4 activation rows, which costs a
// VMULPS and two VPERMPS on the FMA pipes per 32 weights per row block: ≈ 10 % below sgemm at M = 512.
// Here a panel of 64 weight rows × KC columns is dequantized once into an f32 buffer (64 kB, L1/L2) laid
// out k-major (bp[k·64 + n]), then all M activation rows stream through a 6 × 64 register block
// (24 accumulators; per k four weight vectors and six broadcasts of x), so the decoding is paid once
// per M rows and the inner loop is FMAs only, as in sgemm (Goto & van de Geijn 2008, §4: the packed
// B panel in L1, here unpacked from NF4 instead of copied).
// Decoding without moving bytes: one VPGATHERDD reads 4 code bytes (8 columns) of 16 weight rows, and
// VPERMPS, which reads only an index's low 4 bits, turns `codes >> 4s` into the 16 rows' weights at
// one column from the table scaled per row by the gathered absmax. Rows past n1 are decoded as zeros
// and masked off at the store. Needs K % 32 == 0 and a power-of-two block size ≥ 32 (so no 32-column
// chunk straddles a block) and N·K < 2^31; otherwise, or without AVX-512, returns 0.
// csimd_f32_panel_gemm runs the same blocks on an f32 tile (`tiledMatmul`: widened BF16 / F16).
#include "CSIMD.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define TARGET512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma")))
#ifndef NF4_GEMM_KC
#define NF4_GEMM_KC 256
#endif
enum { NR = 64, KC = NF4_GEMM_KC };

// Rows [j0, j0 + rows) (rows ≤ 64), columns [k0, k0 + kc) of W into bp[(k − k0)·64 + (j − j0)].
// Lanes r0…r0+15 of a 16-row group that fall inside `rows` weight rows.
static inline __mmask16 live_lanes(size_t rows, size_t r0) {
    return r0 >= rows ? 0 : rows - r0 >= 16 ? 0xFFFF : (__mmask16)((1u << (rows - r0)) - 1);
}

TARGET512 static void nf4_decode_panel(float *bp, const uint8_t *packed, const float *absmax, size_t j0, size_t rows,
                                       size_t K, size_t k0, size_t kc, unsigned shift, __m512 table) {
    const __m128i sh = _mm_cvtsi32_si128((int)shift);
    for (size_t g = 0; g < NR / 16; g++) {
        size_t r0 = g * 16;
        __mmask16 live = live_lanes(rows, r0);
        float *out = bp + r0;
        if (!live) {
            for (size_t k = 0; k < kc; k++) _mm512_storeu_ps(out + k * NR, _mm512_setzero_ps());
            continue;
        }
        // Element offsets of (row j0 + r0 + r, column 0), for the absmax index and the code bytes.
        const __m512i row = _mm512_mullo_epi32(_mm512_add_epi32(_mm512_set1_epi32((int)(j0 + r0)),
                                                                _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)),
                                               _mm512_set1_epi32((int)K));
        const __m512i rowBytes = _mm512_srli_epi32(row, 1);
        for (size_t k = k0; k < k0 + kc; k += 32) {
            __m512 scale = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), live,
                                                    _mm512_srl_epi32(_mm512_add_epi32(row, _mm512_set1_epi32((int)k)), sh), absmax, 4);
            float *o = out + (k - k0) * NR;
            for (int q = 0; q < 4; q++) {   // bytes k/2 + 4q … + 3: columns k + 8q … k + 8q + 7
                __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live,
                                                        _mm512_add_epi32(rowBytes, _mm512_set1_epi32((int)(k / 2 + 4 * q))), packed, 1);
                for (int b = 0; b < 4; b++) {   // byte b: high nibble is column 2b, low nibble 2b + 1
                    __m512 hi = _mm512_permutexvar_ps(_mm512_srli_epi32(v, 8 * b + 4), table);
                    __m512 lo = _mm512_permutexvar_ps(_mm512_srli_epi32(v, 8 * b), table);
                    _mm512_storeu_ps(o + (8 * q + 2 * b) * NR, _mm512_mul_ps(hi, scale));
                    _mm512_storeu_ps(o + (8 * q + 2 * b + 1) * NR, _mm512_mul_ps(lo, scale));
                }
            }
        }
    }
}

// y[R rows, 16·C columns] (+)= x[R rows, kc] · bp; `mask` masks the columns past n1. C = 4 (a 64-row
// panel), or 2 for the first 32 rows alone (the f32 path's half panels, f32_gemm_many.c).
TARGET512 static inline __attribute__((always_inline))
void nf4_gemm_block(float *y, size_t ldy, const float *x, size_t ldx, const float *bp, size_t kc, int accumulate,
                    const __mmask16 *mask, int R, int C) {
    __m512 acc[6][4];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            acc[r][c] = accumulate ? _mm512_maskz_loadu_ps(mask[c], y + r * ldy + 16 * c) : _mm512_setzero_ps();
    for (size_t k = 0; k < kc; k++) {
        __m512 b[4];
        for (int c = 0; c < C; c++) b[c] = _mm512_loadu_ps(bp + k * NR + 16 * c);
        for (int r = 0; r < R; r++) {
            __m512 a = _mm512_set1_ps(x[r * ldx + k]);
            for (int c = 0; c < C; c++) acc[r][c] = _mm512_fmadd_ps(a, b[c], acc[r][c]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) _mm512_mask_storeu_ps(y + r * ldy + 16 * c, mask[c], acc[r][c]);
}

// All M activation rows (row stride ldx) against one decoded panel: 6-row blocks, then the remainder.
TARGET512 static inline __attribute__((always_inline))
void gemm_panel_rows(float *y, size_t ldy, const float *x, size_t ldx, size_t M, const float *bp, size_t kc,
                     int acc, const __mmask16 *mask, int C) {
    size_t i = 0;
    for (; i + 6 <= M; i += 6) nf4_gemm_block(y + i * ldy, ldy, x + i * ldx, ldx, bp, kc, acc, mask, 6, C);
    float *yi = y + i * ldy;
    const float *xi = x + i * ldx;
    switch (M - i) {
    case 1: nf4_gemm_block(yi, ldy, xi, ldx, bp, kc, acc, mask, 1, C); break;
    case 2: nf4_gemm_block(yi, ldy, xi, ldx, bp, kc, acc, mask, 2, C); break;
    case 3: nf4_gemm_block(yi, ldy, xi, ldx, bp, kc, acc, mask, 3, C); break;
    case 4: nf4_gemm_block(yi, ldy, xi, ldx, bp, kc, acc, mask, 4, C); break;
    case 5: nf4_gemm_block(yi, ldy, xi, ldx, bp, kc, acc, mask, 5, C); break;
    default: break;
    }
}

// The live lanes of a panel's four 16-row groups when only `rows` (≤ NR) weight rows remain.
static inline void panel_masks(__mmask16 mask[4], size_t rows) {
    for (int c = 0; c < 4; c++) mask[c] = live_lanes(rows, 16 * (size_t)c);
}

TARGET512 static void nf4_gemm_avx512(float *y, size_t ldy, const float *x, const uint8_t *packed, const float *absmax,
                                      size_t M, size_t n0, size_t n1, size_t K, unsigned shift, const float *values) {
    const __m512 table = _mm512_loadu_ps(values);
    float bp[KC * NR] __attribute__((aligned(64)));   // 64 kB
    for (size_t j = n0; j < n1; j += NR) {
        size_t rows = n1 - j < NR ? n1 - j : NR;
        __mmask16 mask[4];
        panel_masks(mask, rows);
        for (size_t k0 = 0; k0 < K; k0 += KC) {
            size_t kc = K - k0 < KC ? K - k0 : KC;
            nf4_decode_panel(bp, packed, absmax, j, rows, K, k0, kc, shift, table);
            gemm_panel_rows(y + j, ldy, x + k0, K, M, bp, kc, k0 > 0, mask, 4);
        }
    }
}

// The same blocks on an f32 tile W [rows, K] (row-major, any K) that `tiledMatmul` has just filled (widened
// BF16 / F16, dequantized NF4 without AVX-512's kernel), and the prefill's f32 linears (f32_gemm_many.c).
// Packing W k-major from contiguous row reads: 2.3–2.9× faster than one 16-row VPGATHERDD per column, 6–12 %
// → 2–6 % of a one-thread GEMM at M = 512 (BENCHMARKS.md, "f32 panel packing, session 11").
#ifndef F32_PACK   // 0: gathers only (session 10's packing), for tools/bench/f32_panel_probe.c's A/B
#define F32_PACK 1
#endif
// Columns [k, k + n) of 16 weight rows (those in `live`) at one column per VPGATHERDD: the edges.
TARGET512 static inline void f32_pack_gather(float *out, const float *base, size_t K, size_t k, size_t n, __mmask16 live) {
    const __m512i row = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32((int)K));
    for (size_t c = 0; c < n; c++)
        _mm512_storeu_ps(out + c * NR, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), live, row, base + k + c, 4));
}

#if F32_PACK
// 16 rows × 16 columns with contiguous loads: per 4 columns, vector j holds the 4 columns of rows
// j, j + 4, j + 8, j + 12 in its four 128-bit lanes (one load, three inserts); a 4 × 4 transpose inside
// every lane (8 shuffles) leaves column c of all 16 rows in one vector, in row order.
TARGET512 static inline void f32_pack_16x16(float *out, const float *p, size_t K) {
    for (int c = 0; c < 16; c += 4) {
        __m512 a[4];
        for (int j = 0; j < 4; j++) {
            const float *q = p + j * K + c;
            a[j] = _mm512_castps128_ps512(_mm_loadu_ps(q));
            a[j] = _mm512_insertf32x4(a[j], _mm_loadu_ps(q + 4 * K), 1);
            a[j] = _mm512_insertf32x4(a[j], _mm_loadu_ps(q + 8 * K), 2);
            a[j] = _mm512_insertf32x4(a[j], _mm_loadu_ps(q + 12 * K), 3);
        }
        __m512d t0 = _mm512_castps_pd(_mm512_unpacklo_ps(a[0], a[1])), t1 = _mm512_castps_pd(_mm512_unpackhi_ps(a[0], a[1]));
        __m512d t2 = _mm512_castps_pd(_mm512_unpacklo_ps(a[2], a[3])), t3 = _mm512_castps_pd(_mm512_unpackhi_ps(a[2], a[3]));
        _mm512_storeu_ps(out + (c + 0) * NR, _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2)));
        _mm512_storeu_ps(out + (c + 1) * NR, _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2)));
        _mm512_storeu_ps(out + (c + 2) * NR, _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3)));
        _mm512_storeu_ps(out + (c + 3) * NR, _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3)));
    }
}
#endif

// Rows [j0, j0 + rows) (rows ≤ 64), columns [k0, k0 + kc) of W into bp[(k − k0)·64 + (j − j0)]: full
// 16-row groups 16 columns at a time from contiguous row reads (f32_pack_16x16), the edges by gathers.
// Only moves values: the panel, and so the product, is the same whichever way it is filled.
TARGET512 static void f32_pack_panel(float *bp, const float *w, size_t j0, size_t rows, size_t K, size_t k0, size_t kc) {
    for (size_t g = 0; g < (rows <= NR / 2 ? 2 : 4); g++) {   // a half panel's block reads its first 32 rows only
        size_t r0 = g * 16;
        __mmask16 live = live_lanes(rows, r0);
        float *out = bp + r0;
        const float *base = w + (j0 + r0) * K;
        size_t c = 0;
#if F32_PACK
        if (live == 0xFFFF)
            for (; c + 16 <= kc; c += 16) f32_pack_16x16(out + c * NR, base + k0 + c, K);
#endif
        f32_pack_gather(out + c * NR, base, K, k0 + c, kc - c, live);
    }
}

TARGET512 static void f32_gemm_avx512(float *y, size_t ldy, const float *x, size_t M, const float *w, size_t N, size_t K) {
    float bp[KC * NR] __attribute__((aligned(64)));
    for (size_t j = 0; j < N; j += NR) {
        size_t rows = N - j < NR ? N - j : NR;
        __mmask16 mask[4];
        panel_masks(mask, rows);
        for (size_t k0 = 0; k0 < K; k0 += KC) {
            size_t kc = K - k0 < KC ? K - k0 : KC;
            f32_pack_panel(bp, w, j, rows, K, k0, kc);
            if (rows <= NR / 2) gemm_panel_rows(y + j, ldy, x + k0, K, M, bp, kc, k0 > 0, mask, 2);
            else gemm_panel_rows(y + j, ldy, x + k0, K, M, bp, kc, k0 > 0, mask, 4);
        }
    }
}

size_t csimd_f32_panel_gemm(float *y, size_t ldy, const float *x, size_t M, const float *w, size_t N, size_t K) {
    if (!csimd_avx512_available() || (double)N * K >= 2147483648.0 || N == 0 || K == 0) return 0;
    f32_gemm_avx512(y, ldy, x, M, w, N, K);
    return N;
}

size_t csimd_nf4_gemm(float *y, size_t ldy, const float *x, const uint8_t *packed, const float *absmax,
                      size_t M, size_t n0, size_t n1, size_t N, size_t K, size_t block_size, const float *values) {
    if (!csimd_avx512_available() || K % 32 != 0 || block_size < 32 || (block_size & (block_size - 1)) != 0
        || (double)N * K >= 2147483648.0) return 0;
    unsigned shift = 0;
    while (((size_t)1 << shift) < block_size) shift++;
    nf4_gemm_avx512(y, ldy, x, packed, absmax, M, n0, n1, K, shift, values);
    return n1 - n0;
}
#else
size_t csimd_f32_panel_gemm(float *y, size_t ldy, const float *x, size_t M, const float *w, size_t N, size_t K) {
    (void)y; (void)ldy; (void)x; (void)M; (void)w; (void)N; (void)K;
    return 0;
}
size_t csimd_nf4_gemm(float *y, size_t ldy, const float *x, const uint8_t *packed, const float *absmax,
                      size_t M, size_t n0, size_t n1, size_t N, size_t K, size_t block_size, const float *values) {
    (void)y; (void)ldy; (void)x; (void)packed; (void)absmax; (void)M; (void)n0; (void)n1; (void)N; (void)K; (void)block_size; (void)values;
    return 0;
}
#endif
