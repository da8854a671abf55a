// 2-bit packed weights × int8 activations → int32, for ternary / 2-bit linears
// (Kernels/Quantization/PackedMatmul.swift; the layout is Kernels/Quantization/PackedCodes.swift):
//   out[i·ldo + j] = Σ_p a[i, p] · (u[j, p] − 2)      a [M, Kp] int8, Kp a multiple of 128
// where u[j, p] ∈ {0…3} is the stored 2-bit field of weight row j (code + 2). Each row is Kp/128
// groups of 32 bytes; byte t of a group holds columns t, t+32, t+64, t+96 in bits 0–1, 2–3, 4–5, 6–7.
// Every path sums exact integers and equals the Swift twin's. Three paths:
// * VNNI rows (M below CSIMD_PACKED2_TILE_M): the fields are used in place as unsigned bytes, masked
//   (& 3, & 12) before and after one 4-bit shift, so a 64-byte chunk (two groups) gives fields 0, 2 at
//   weight 1 and fields 1, 3 at weight 4; VPDPBUSD (u8 × s8) multiplies them by the activation row,
//   permuted once per row to the chunk's order, into two accumulators per weight row; 4·lo + hi = 4·Σu·a,
//   and 2·Σa removes the offset. Blocks of 4 weight rows, reduced together (one transpose-add).
// * VNNI tiles (M ≥ CSIMD_PACKED2_TILE_M): a tile of weight rows is unpacked once to int8 codes
//   {−1, 0, 1} (≈ 192 KB, L2-resident) and multiplied by all M rows with the W8A8 VNNI kernel
//   (csimd_int8_matmul_vnni, int8_vnni.c): the unpacking is amortized over M.
// * AVX2 (no AVX-512 VNNI): VPMADDUBSW multiplies the unsigned fields by the signed activations (pair
//   sums ≤ 2·3·127, no saturation), offset removed with Σa; blocks of up to 4 activation rows × 2 weight
//   rows, each weight group unpacked once for the 4 rows.
#include "CSIMD.h"
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdatomic.h>
#define TARGET __attribute__((target("avx2,f16c")))
#define TARGETVNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2")))
#define INLINE static inline __attribute__((always_inline))

TARGET static inline int32_t hsum32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

// Σ_p a[p] of one row (Kp a multiple of 32): byte pairs to int16, then to int32.
TARGET static int32_t row_sum(const int8_t *a, size_t Kp) {
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    __m256i acc = _mm256_setzero_si256();
    for (size_t p = 0; p < Kp; p += 32)
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, _mm256_loadu_si256((const __m256i *)(a + p))), ones16));
    return hsum32(acc);
}

// ---- AVX2 ----------------------------------------------------------------------------------------

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

TARGET static size_t packed2_matmul_avx2(int32_t *out, size_t ldo, const int8_t *a, const uint8_t *w,
                                         size_t M, size_t N, size_t Kp) {
    size_t rowBytes = Kp / 4;
    int32_t *asum = (int32_t *)malloc((M ? M : 1) * sizeof(int32_t));
    if (!asum) return 0;
    for (size_t i = 0; i < M; i++) asum[i] = row_sum(a + i * Kp, Kp);
    for (size_t j = 0; j < N; j += 2) {
        int cols = j + 1 < N ? 2 : 1;
        const uint8_t *w0 = w + j * rowBytes, *w1 = cols > 1 ? w0 + rowBytes : w0;
        for (size_t i = 0; i < M; i += 4) {
            int R = M - i < 4 ? (int)(M - i) : 4;
            block_rx2(out + i * ldo + j, ldo, a + i * Kp, asum + i, w0, w1, Kp, R, cols);
        }
    }
    free(asum);
    return N;
}

// ---- AVX-512 VNNI, rows --------------------------------------------------------------------------

// The activation row in the order a 64-byte chunk (groups g, g+1) unpacks to: field k, half h ↦ the
// 32 columns (g + h)·128 + 32k …; a last odd group keeps its natural order (it is read 32 bytes at a time).
static void permute_row(int8_t *xp, const int8_t *x, size_t Kp) {
    size_t G = Kp / 128, g = 0;
    for (; g + 2 <= G; g += 2)
        for (int k = 0; k < 4; k++)
            for (int h = 0; h < 2; h++) memcpy(xp + g * 128 + k * 64 + h * 32, x + (g + h) * 128 + 32 * k, 32);
    if (g < G) memcpy(xp + g * 128, x + g * 128, 128);
}

// C (1…4) weight rows against one permuted activation row: out[c] = Σ u·a − 2·asum.
TARGETVNNI INLINE void rows_block(int32_t *out, const int8_t *xp, int32_t asum, const uint8_t *w, size_t rb, size_t G, int C) {
    const __m512i m3 = _mm512_set1_epi8(3), m12 = _mm512_set1_epi8(12);
    __m512i lo[4], hi[4];
    for (int c = 0; c < 4; c++) { lo[c] = _mm512_setzero_si512(); hi[c] = _mm512_setzero_si512(); }
    size_t g = 0;
    for (; g + 2 <= G; g += 2) {
        const int8_t *x = xp + g * 128;
        __m512i x0 = _mm512_loadu_si512((const void *)x), x1 = _mm512_loadu_si512((const void *)(x + 64));
        __m512i x2 = _mm512_loadu_si512((const void *)(x + 128)), x3 = _mm512_loadu_si512((const void *)(x + 192));
        for (int c = 0; c < C; c++) {
            __m512i v = _mm512_loadu_si512((const void *)(w + c * rb + g * 32)), h = _mm512_srli_epi16(v, 4);
            lo[c] = _mm512_dpbusd_epi32(lo[c], _mm512_and_si512(v, m3), x0);    // field 0
            hi[c] = _mm512_dpbusd_epi32(hi[c], _mm512_and_si512(v, m12), x1);   // field 1, ×4
            lo[c] = _mm512_dpbusd_epi32(lo[c], _mm512_and_si512(h, m3), x2);    // field 2
            hi[c] = _mm512_dpbusd_epi32(hi[c], _mm512_and_si512(h, m12), x3);   // field 3, ×4
        }
    }
    if (g < G) {   // one group left, 256 bits wide
        const __m256i n3 = _mm256_set1_epi8(3), n12 = _mm256_set1_epi8(12);
        const int8_t *x = xp + g * 128;
        __m256i x0 = _mm256_loadu_si256((const __m256i *)x), x1 = _mm256_loadu_si256((const __m256i *)(x + 32));
        __m256i x2 = _mm256_loadu_si256((const __m256i *)(x + 64)), x3 = _mm256_loadu_si256((const __m256i *)(x + 96));
        for (int c = 0; c < C; c++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(w + c * rb + g * 32)), h = _mm256_srli_epi16(v, 4);
            __m256i l = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_and_si256(v, n3), x0);
            __m256i u = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_and_si256(v, n12), x1);
            l = _mm256_dpbusd_epi32(l, _mm256_and_si256(h, n3), x2);
            u = _mm256_dpbusd_epi32(u, _mm256_and_si256(h, n12), x3);
            lo[c] = _mm512_add_epi32(lo[c], _mm512_zextsi256_si512(l));
            hi[c] = _mm512_add_epi32(hi[c], _mm512_zextsi256_si512(u));
        }
    }
    __m512i s[4];
    for (int c = 0; c < 4; c++) s[c] = _mm512_add_epi32(_mm512_slli_epi32(lo[c], 2), hi[c]);   // 4·Σ u·a per lane
    // Transpose-add: lane c of each 128-bit quarter gets row c's partial sum, then the quarters are added.
    __m512i u0 = _mm512_add_epi32(_mm512_unpacklo_epi32(s[0], s[1]), _mm512_unpackhi_epi32(s[0], s[1]));
    __m512i u1 = _mm512_add_epi32(_mm512_unpacklo_epi32(s[2], s[3]), _mm512_unpackhi_epi32(s[2], s[3]));
    __m512i v = _mm512_add_epi32(_mm512_unpacklo_epi64(u0, u1), _mm512_unpackhi_epi64(u0, u1));
    __m256i y = _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
    __m128i z = _mm_add_epi32(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
    z = _mm_sub_epi32(_mm_srai_epi32(z, 2), _mm_set1_epi32(2 * asum));
    _mm_mask_storeu_epi32(out, (__mmask8)((1u << C) - 1), z);
}

TARGETVNNI static size_t packed2_rows_vnni(int32_t *out, size_t ldo, const int8_t *a, const uint8_t *w,
                                           size_t M, size_t N, size_t Kp) {
    size_t rb = Kp / 4, G = Kp / 128;
    int8_t *xp = (int8_t *)malloc(Kp ? Kp : 1);
    if (!xp) return 0;
    for (size_t i = 0; i < M; i++) {
        permute_row(xp, a + i * Kp, Kp);
        int32_t asum = row_sum(a + i * Kp, Kp);
        int32_t *o = out + i * ldo;
        size_t j = 0;
        for (; j + 4 <= N; j += 4) rows_block(o + j, xp, asum, w + j * rb, rb, G, 4);
        switch (N - j) {
        case 1: rows_block(o + j, xp, asum, w + j * rb, rb, G, 1); break;
        case 2: rows_block(o + j, xp, asum, w + j * rb, rb, G, 2); break;
        case 3: rows_block(o + j, xp, asum, w + j * rb, rb, G, 3); break;
        default: break;
        }
    }
    free(xp);
    return N;
}

// ---- AVX-512 VNNI, tiles -------------------------------------------------------------------------

// Weight rows [n, Kp/4 bytes each] → int8 codes [n, Kp] (field − 2).
TARGET static void unpack_rows(int8_t *codes, const uint8_t *w, size_t n, size_t Kp) {
    const __m256i mask = _mm256_set1_epi8(3), two = _mm256_set1_epi8(2);
    size_t groups = n * (Kp / 128);   // rows are contiguous: group q of the tile is at byte 32q, columns 128q…
    for (size_t q = 0; q < groups; q++) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(w + q * 32));
        for (int k = 0; k < 4; k++)
            _mm256_storeu_si256((__m256i *)(codes + q * 128 + 32 * k), _mm256_sub_epi8(_mm256_and_si256(_mm256_srli_epi16(v, 2 * k), mask), two));
    }
}

static size_t packed2_tiles_vnni(int32_t *out, size_t ldo, const int8_t *a, const uint8_t *w,
                                 size_t M, size_t N, size_t Kp) {
    size_t rb = Kp / 4, T = (192 * 1024 / Kp) / 4 * 4;
    if (T < 4) T = 4;
    if (T > N) T = N;
    int8_t *codes = (int8_t *)malloc((T ? T : 1) * Kp);
    uint8_t *au = csimd_int8_flip(a, M * Kp);   // once for all tiles
    size_t done = codes && au ? N : 0;
    for (size_t j = 0; done && j < N; j += T) {
        size_t n = N - j < T ? N - j : T;
        unpack_rows(codes, w + j * rb, n, Kp);
        if (csimd_int8_matmul_vnni_flipped(out + j, ldo, au, codes, M, n, Kp) != Kp) done = 0;
    }
    free(codes);
    free(au);
    return done;
}

// ---- the split over the cores (pool.c) --------------------------------------------------------------

typedef struct {
    int32_t *out; size_t ldo; const int8_t *a; const uint8_t *w; size_t M, Kp;
    int path;                                                                               // 0 AVX2, 1 VNNI rows, 2 VNNI tiles
    atomic_int failed;
} packed2_job_t;

static size_t run_path(int path, int32_t *out, size_t ldo, const int8_t *a, const uint8_t *w, size_t M, size_t N, size_t Kp) {
    switch (path) {
    case 1: return packed2_rows_vnni(out, ldo, a, w, M, N, Kp);
    case 2: return packed2_tiles_vnni(out, ldo, a, w, M, N, Kp);
    default: return packed2_matmul_avx2(out, ldo, a, w, M, N, Kp);
    }
}

static void packed2_rows(void *ctx, size_t j0, size_t j1) {
    packed2_job_t *job = ctx;
    if (run_path(job->path, job->out + j0, job->ldo, job->a, job->w + j0 * (job->Kp / 4), job->M, j1 - j0, job->Kp) != j1 - j0)
        atomic_store(&job->failed, 1);
}

static size_t packed2_split(int path, int32_t *out, size_t ldo, const int8_t *a, const uint8_t *w, size_t M, size_t N, size_t Kp) {
    packed2_job_t job = { out, ldo, a, w, M, Kp, path, 0 };
    if (csimd_pool_split_rows(packed2_rows, &job, N, (double)M * N * Kp, 1 << 30)) return atomic_load(&job.failed) ? 0 : N;
    return run_path(path, out, ldo, a, w, M, N, Kp);
}

// ---- entry points --------------------------------------------------------------------------------

size_t csimd_packed2_matmul_avx2(int32_t *out, size_t ldo, const int8_t *a, const uint8_t *w, size_t M, size_t N, size_t Kp) {
    if (!csimd_available() || Kp % 128 != 0) return 0;
    return packed2_split(0, out, ldo, a, w, M, N, Kp);
}
size_t csimd_packed2_matmul_vnni_rows(int32_t *out, size_t ldo, const int8_t *a, const uint8_t *w, size_t M, size_t N, size_t Kp) {
    if (!csimd_vnni_available() || Kp % 128 != 0) return 0;
    return packed2_split(1, out, ldo, a, w, M, N, Kp);
}
size_t csimd_packed2_matmul_vnni_tiles(int32_t *out, size_t ldo, const int8_t *a, const uint8_t *w, size_t M, size_t N, size_t Kp) {
    if (!csimd_vnni_available() || Kp % 128 != 0) return 0;
    return packed2_split(2, out, ldo, a, w, M, N, Kp);
}
size_t csimd_packed2_matmul(int32_t *out, size_t ldo, const int8_t *a, const uint8_t *w, size_t M, size_t N, size_t Kp) {
    if (csimd_vnni_available() && Kp % 128 == 0)
        return packed2_split(M >= CSIMD_PACKED2_TILE_M ? 2 : 1, out, ldo, a, w, M, N, Kp);
    return csimd_packed2_matmul_avx2(out, ldo, a, w, M, N, Kp);
}

// x_c = clamp(x, −clip, clip); q = clamp(round_half_even(x_c / scale), lo, hi), IEEE division as the Swift twin.
TARGET static size_t quantize_avx2(int8_t *q, const float *x, size_t n, float clip, float scale, float lo, float hi) {
    const __m256 s = _mm256_set1_ps(scale), c = _mm256_set1_ps(clip), nc = _mm256_set1_ps(-clip);
    const __m256 l = _mm256_set1_ps(lo), u = _mm256_set1_ps(hi);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_div_ps(_mm256_min_ps(_mm256_max_ps(_mm256_loadu_ps(x + i), nc), c), s);
        v = _mm256_round_ps(_mm256_min_ps(_mm256_max_ps(v, l), u), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m256i codes = _mm256_cvtps_epi32(v);
        __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(codes), _mm256_extracti128_si256(codes, 1));
        _mm_storel_epi64((__m128i *)(q + i), _mm_packs_epi16(w16, w16));
    }
    return i;
}
size_t csimd_packed2_quantize(int8_t *q, const float *x, size_t n, float clip, float scale, float lo, float hi) {
    return csimd_available() ? quantize_avx2(q, x, n, clip, scale, lo, hi) : 0;
}
#else
size_t csimd_packed2_matmul_avx2(int32_t *out, size_t ldo, const int8_t *a, const uint8_t *w, size_t M, size_t N, size_t Kp) {
    (void)out; (void)ldo; (void)a; (void)w; (void)M; (void)N; (void)Kp; return 0;
}
size_t csimd_packed2_matmul_vnni_rows(int32_t *out, size_t ldo, const int8_t *a, const uint8_t *w, size_t M, size_t N, size_t Kp) {
    (void)out; (void)ldo; (void)a; (void)w; (void)M; (void)N; (void)Kp; return 0;
}
size_t csimd_packed2_matmul_vnni_tiles(int32_t *out, size_t ldo, const int8_t *a, const uint8_t *w, size_t M, size_t N, size_t Kp) {
    (void)out; (void)ldo; (void)a; (void)w; (void)M; (void)N; (void)Kp; return 0;
}
size_t csimd_packed2_matmul(int32_t *out, size_t ldo, const int8_t *a, const uint8_t *w, size_t M, size_t N, size_t Kp) {
    (void)out; (void)ldo; (void)a; (void)w; (void)M; (void)N; (void)Kp; return 0;
}
size_t csimd_packed2_quantize(int8_t *q, const float *x, size_t n, float clip, float scale, float lo, float hi) {
    (void)q; (void)x; (void)n; (void)clip; (void)scale; (void)lo; (void)hi; return 0;
}
#endif
