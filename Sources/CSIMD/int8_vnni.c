// int8 × int8 → int32 product with AVX-512 VNNI (Kernels/Quantization/Int8Matmul.swift), the same
// contract as csimd_int8_matmul:
//   out[i·ldo + j] = Σ_{p < done} a[i, p] · b[j, p]     a [M, K], b [N, K] row-major; done = K rounded down to 64
// VPDPBUSD multiplies unsigned by signed bytes and adds groups of 4 products into 32-bit lanes, 64
// products per instruction. The activations are made unsigned by flipping their sign bit (a + 128),
// and 128 · Σ_p b[j, p] is subtracted at the end: |(a + 128) · b| ≤ 255 · 128, four of them and the
// running sum stay far inside int32 for any K < 2^16, so the result equals the integer sum exactly.
// Register blocks of up to 6 activation rows × 4 weight rows (24 accumulators); weight rows outer,
// so each 4-row panel (4·K bytes) is reused from L1 by every activation block.
#include "CSIMD.h"
#include <stdlib.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define TARGETVNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2")))

int csimd_vnni_available(void) {
    static int state = -1;
    if (state < 0) {
        __builtin_cpu_init();
        state = csimd_avx512_available() && __builtin_cpu_supports("avx512vnni");
    }
    return state;
}

TARGETVNNI static inline __attribute__((always_inline))
void vnni_block(int32_t *out, size_t ldo, const uint8_t *a, const int8_t *b, const int32_t *bsum, size_t K, size_t K64, int R, int C) {
    __m512i acc[6][4];
    for (int r = 0; r < R; r++) for (int c = 0; c < C; c++) acc[r][c] = _mm512_setzero_si512();
    for (size_t p = 0; p < K64; p += 64) {
        __m512i w[4];
        for (int c = 0; c < C; c++) w[c] = _mm512_loadu_si512((const void *)(b + c * K + p));
        for (int r = 0; r < R; r++) {
            __m512i x = _mm512_loadu_si512((const void *)(a + r * K + p));
            for (int c = 0; c < C; c++) acc[r][c] = _mm512_dpbusd_epi32(acc[r][c], x, w[c]);
        }
    }
    for (int r = 0; r < R; r++) for (int c = 0; c < C; c++) out[r * ldo + c] = _mm512_reduce_add_epi32(acc[r][c]) - 128 * bsum[c];
}

// Σ_{p < K64} b[j, p] of C rows (VPDPBUSD against all-ones bytes).
TARGETVNNI static inline __attribute__((always_inline)) void vnni_row_sums(int32_t *sums, const int8_t *b, size_t K, size_t K64, int C) {
    const __m512i ones = _mm512_set1_epi8(1);
    for (int c = 0; c < C; c++) {
        __m512i s = _mm512_setzero_si512();
        for (size_t p = 0; p < K64; p += 64) s = _mm512_dpbusd_epi32(s, ones, _mm512_loadu_si512((const void *)(b + c * K + p)));
        sums[c] = _mm512_reduce_add_epi32(s);
    }
}

TARGETVNNI static inline __attribute__((always_inline))
void vnni_panel(int32_t *out, size_t ldo, const uint8_t *a, const int8_t *b, size_t M, size_t K, size_t K64, int C) {
    int32_t sums[4];
    vnni_row_sums(sums, b, K, K64, C);
    size_t i = 0;
    for (; i + 6 <= M; i += 6) vnni_block(out + i * ldo, ldo, a + i * K, b, sums, K, K64, 6, C);
    switch (M - i) {
    case 1: vnni_block(out + i * ldo, ldo, a + i * K, b, sums, K, K64, 1, C); break;
    case 2: vnni_block(out + i * ldo, ldo, a + i * K, b, sums, K, K64, 2, C); break;
    case 3: vnni_block(out + i * ldo, ldo, a + i * K, b, sums, K, K64, 3, C); break;
    case 4: vnni_block(out + i * ldo, ldo, a + i * K, b, sums, K, K64, 4, C); break;
    case 5: vnni_block(out + i * ldo, ldo, a + i * K, b, sums, K, K64, 5, C); break;
    default: break;
    }
}

// Weight rows [j0, j1) against the activations already made unsigned (au).
TARGETVNNI static void vnni_rows(int32_t *out, size_t ldo, const uint8_t *au, const int8_t *b, size_t M, size_t j0, size_t j1, size_t K) {
    size_t K64 = K / 64 * 64, j = j0;
    for (; j + 4 <= j1; j += 4) vnni_panel(out + j, ldo, au, b + j * K, M, K, K64, 4);
    for (; j < j1; j++) vnni_panel(out + j, ldo, au, b + j * K, M, K, K64, 1);
}

// The activations once as unsigned bytes (sign bit flipped = a + 128); NULL when allocation fails.
TARGETVNNI static uint8_t *flipped(const int8_t *a, size_t n) {
    uint8_t *au = (uint8_t *)aligned_alloc(64, (n + 63) / 64 * 64);
    if (!au) return NULL;
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    size_t t = 0;
    for (; t + 64 <= n; t += 64) _mm512_storeu_si512((void *)(au + t), _mm512_xor_si512(_mm512_loadu_si512((const void *)(a + t)), flip));
    for (; t < n; t++) au[t] = (uint8_t)(a[t] ^ 0x80);
    return au;
}

size_t csimd_int8_matmul_vnni(int32_t *out, size_t ldo, const int8_t *a, const int8_t *b, size_t M, size_t N, size_t K) {
    if (!csimd_vnni_available() || K < 64) return 0;
    uint8_t *au = flipped(a, M * K);
    if (!au) return 0;
    vnni_rows(out, ldo, au, b, M, 0, N, K);
    free(au);
    return K / 64 * 64;
}

uint8_t *csimd_int8_flip(const int8_t *a, size_t n) { return csimd_vnni_available() ? flipped(a, n) : NULL; }

size_t csimd_int8_matmul_vnni_flipped(int32_t *out, size_t ldo, const uint8_t *au, const int8_t *b, size_t M, size_t N, size_t K) {
    if (!csimd_vnni_available() || K < 64) return 0;
    vnni_rows(out, ldo, au, b, M, 0, N, K);
    return K / 64 * 64;
}

// ---- split over the cores (pool.c): chunks of weight rows, a multiple of 4 ------------------------

typedef struct { int32_t *out; size_t ldo; const uint8_t *au; const int8_t *b; size_t M, K; } int8_job_t;

static void int8_rows(void *ctx, size_t j0, size_t j1) {
    int8_job_t *job = ctx;
    vnni_rows(job->out, job->ldo, job->au, job->b, job->M, j0, j1, job->K);
}

size_t csimd_int8_matmul_vnni_split(int32_t *out, size_t ldo, const int8_t *a, const int8_t *b, size_t M, size_t N, size_t K,
                                    int max_threads) {
    if (!csimd_vnni_available() || K < 64) return 0;
    uint8_t *au = flipped(a, M * K);
    if (!au) return 0;
    int8_job_t job = { out, ldo, au, b, M, K };
    if (!csimd_pool_split_rows(int8_rows, &job, N, (double)M * N * K, max_threads)) vnni_rows(out, ldo, au, b, M, 0, N, K);
    free(au);
    return K / 64 * 64;
}
#else
int csimd_vnni_available(void) { return 0; }
uint8_t *csimd_int8_flip(const int8_t *a, size_t n) { (void)a; (void)n; return NULL; }
size_t csimd_int8_matmul_vnni_flipped(int32_t *out, size_t ldo, const uint8_t *au, const int8_t *b, size_t M, size_t N, size_t K) {
    (void)out; (void)ldo; (void)au; (void)b; (void)M; (void)N; (void)K;
    return 0;
}
size_t csimd_int8_matmul_vnni(int32_t *out, size_t ldo, const int8_t *a, const int8_t *b, size_t M, size_t N, size_t K) {
    (void)out; (void)ldo; (void)a; (void)b; (void)M; (void)N; (void)K;
    return 0;
}
size_t csimd_int8_matmul_vnni_split(int32_t *out, size_t ldo, const int8_t *a, const int8_t *b, size_t M, size_t N, size_t K,
                                    int max_threads) {
    (void)out; (void)ldo; (void)a; (void)b; (void)M; (void)N; (void)K; (void)max_threads;
    return 0;
}
#endif
