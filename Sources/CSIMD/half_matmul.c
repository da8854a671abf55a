// 16-bit weight × f32 product without an f32 weight (Kernels/HalfMatmul.swift):
//   y[i·ldy + j] = Σ_k x[i, k] · f32(w[j, k])      for weight rows j in [n0, n1)
// w is BF16 or F16 as a checkpoint stores it, widened to f32 in registers — BF16 is the top half of an
// f32 (AVX-512: 32 at a time by a shift and a mask, below; AVX2: zero-extend, shift left 16), F16 goes
// through VCVTPH2PS — both exact, so the result is the f32 product on the upcast weight up to the order
// of the additions (lane sums, then a horizontal sum). Register blocks of R ≤ 4 activation rows
// × 4 weight rows reuse each widened weight R times; M = 1, a decode step, reads the weight once.
// Any K: the last partial chunk is masked (AVX-512) or added in scalar (AVX2).
#include "CSIMD.h"
#include <stdlib.h>
// Software prefetch into L2 (not L1: prefetches to L1 hold the line-fill buffers the loads need) of the
// same columns 16 weight rows ahead, clamped to the rows of the call (never the other thread's chunk).
// One thread over 230 MB of BF16 rows of 576 (/tmp microbenchmark, session 9, alternating with readSum
// under load): L1 hint 8 rows ahead 0.3–0.4 of readSum's bandwidth, L2 hint 8–32 rows ahead 0.6–0.85.
#define PF_ROWS 16

#if defined(__x86_64__)
#include <immintrin.h>
#define TARGET512H __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))
#define TARGET2H __attribute__((target("avx2,fma,f16c")))

// ---- AVX-512: 16 weights a step ----------------------------------------------------------------

TARGET512H static inline __attribute__((always_inline)) __m512 widen16(const uint16_t *p, __mmask16 m, int f16) {
    __m256i h = _mm256_maskz_loadu_epi16(m, p);
    return f16 ? _mm512_cvtph_ps(h) : _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// R activation rows × C weight rows starting at weight row j; inlined with constant R, C and f16.
TARGET512H static inline __attribute__((always_inline))
void half_block512(float *y, size_t ldy, const float *x, size_t K, const uint16_t *w, size_t j, size_t end, int R, int C, int f16) {
    __m512 acc[4][4];
    const uint16_t *pf[4];
    for (int c = 0; c < C; c++) pf[c] = w + (j + c + PF_ROWS < end ? j + c + PF_ROWS : end - 1) * K;
    for (int r = 0; r < R; r++) for (int c = 0; c < C; c++) acc[r][c] = _mm512_setzero_ps();
    for (size_t k = 0; k < K; k += 16) {
        __mmask16 m = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1);
        __m512 xv[4];
        for (int r = 0; r < R; r++) xv[r] = _mm512_maskz_loadu_ps(m, x + r * K + k);
        for (int c = 0; c < C; c++) {
            if (k % 32 == 0) _mm_prefetch((const char *)(pf[c] + k), _MM_HINT_T1);
            __m512 wv = widen16(w + (j + c) * K + k, m, f16);
            for (int r = 0; r < R; r++) acc[r][c] = _mm512_fmadd_ps(xv[r], wv, acc[r][c]);
        }
    }
    for (int r = 0; r < R; r++) for (int c = 0; c < C; c++) y[r * ldy + j + c] = _mm512_reduce_add_ps(acc[r][c]);
}

TARGET512H static inline __attribute__((always_inline))
void half_rows512(float *y, size_t ldy, const float *x, size_t K, const uint16_t *w, size_t j, size_t je, size_t end, int R, int f16) {
    for (; j + 4 <= je; j += 4) half_block512(y, ldy, x, K, w, j, end, R, 4, f16);
    for (; j < je; j++) half_block512(y, ldy, x, K, w, j, end, R, 1, f16);
}

TARGET512H static inline __attribute__((always_inline))
void half_matmul512_kind(float *y, size_t ldy, const float *x, const uint16_t *w, size_t M, size_t n0, size_t n1, size_t K, int f16) {
    // Panels of 128 weight rows (≤ 1 MB at K ≤ 4096: from L2 for every group of 4 activation rows).
    for (size_t jb = n0; jb < n1; jb += 128) {
        size_t je = jb + 128 < n1 ? jb + 128 : n1;
        for (size_t i = 0; i < M; i += 4) {
            float *yi = y + i * ldy;
            const float *xi = x + i * K;
            switch (M - i < 4 ? M - i : 4) {
            case 1: half_rows512(yi, ldy, xi, K, w, jb, je, n1, 1, f16); break;
            case 2: half_rows512(yi, ldy, xi, K, w, jb, je, n1, 2, f16); break;
            case 3: half_rows512(yi, ldy, xi, K, w, jb, je, n1, 3, f16); break;
            default: half_rows512(yi, ldy, xi, K, w, jb, je, n1, 4, f16); break;
            }
        }
    }
}

// BF16 without widening instructions: 32 weights are one 512-bit load whose 32-bit lanes hold an
// even column in the low half and the next odd column in the high half; `<< 16` makes the even
// column's f32 and `& 0xFFFF0000` the odd one's (2 simple ops for 32 weights). The activations come
// reordered to match (`xi`: per 32 columns, 16 even then 16 odd, zero past K; `reorder32`).
TARGET512H static inline __attribute__((always_inline))
void bf16_block512(float *y, size_t ldy, const float *xi, size_t Kp, size_t K, const uint16_t *w, size_t j, size_t end, int R, int C) {
    __m512 acc[4][4], odd[4][4];
    const __m512i high = _mm512_set1_epi32((int)0xFFFF0000u);
    const uint16_t *pf[4];
    for (int c = 0; c < C; c++) pf[c] = w + (j + c + PF_ROWS < end ? j + c + PF_ROWS : end - 1) * K;
    for (int r = 0; r < R; r++) for (int c = 0; c < C; c++) acc[r][c] = odd[r][c] = _mm512_setzero_ps();
    for (size_t k = 0; k < K; k += 32) {
        __mmask32 m = K - k >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << (K - k)) - 1);
        __m512 xe[4], xo[4];
        for (int r = 0; r < R; r++) { xe[r] = _mm512_loadu_ps(xi + r * Kp + k); xo[r] = _mm512_loadu_ps(xi + r * Kp + k + 16); }
        for (int c = 0; c < C; c++) {
            __m512i v = _mm512_maskz_loadu_epi16(m, w + (j + c) * K + k);
            _mm_prefetch((const char *)(pf[c] + k), _MM_HINT_T1);
            __m512 we = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)), wo = _mm512_castsi512_ps(_mm512_and_si512(v, high));
            if (R == 1) {   // one row: even and odd columns in separate sums, so FMA latency is not the limit
                acc[0][c] = _mm512_fmadd_ps(xe[0], we, acc[0][c]); odd[0][c] = _mm512_fmadd_ps(xo[0], wo, odd[0][c]);
            } else {
                for (int r = 0; r < R; r++) acc[r][c] = _mm512_fmadd_ps(xo[r], wo, _mm512_fmadd_ps(xe[r], we, acc[r][c]));
            }
        }
    }
    for (int r = 0; r < R; r++) for (int c = 0; c < C; c++) y[r * ldy + j + c] = _mm512_reduce_add_ps(_mm512_add_ps(acc[r][c], odd[r][c]));
}

TARGET512H static inline __attribute__((always_inline))
void bf16_rows512(float *y, size_t ldy, const float *xi, size_t Kp, size_t K, const uint16_t *w, size_t j, size_t je, size_t end, int R) {
    for (; j + 4 <= je; j += 4) bf16_block512(y, ldy, xi, Kp, K, w, j, end, R, 4);
    for (; j < je; j++) bf16_block512(y, ldy, xi, Kp, K, w, j, end, R, 1);
}

TARGET512H static void bf16_matmul512(float *y, size_t ldy, const float *xi, const uint16_t *w, size_t M, size_t n0, size_t n1, size_t K) {
    size_t Kp = (K + 31) / 32 * 32;
    for (size_t jb = n0; jb < n1; jb += 128) {
        size_t je = jb + 128 < n1 ? jb + 128 : n1;
        for (size_t i = 0; i < M; i += 4) {
            float *yi = y + i * ldy;
            const float *xr = xi + i * Kp;
            switch (M - i < 4 ? M - i : 4) {
            case 1: bf16_rows512(yi, ldy, xr, Kp, K, w, jb, je, n1, 1); break;
            case 2: bf16_rows512(yi, ldy, xr, Kp, K, w, jb, je, n1, 2); break;
            case 3: bf16_rows512(yi, ldy, xr, Kp, K, w, jb, je, n1, 3); break;
            default: bf16_rows512(yi, ldy, xr, Kp, K, w, jb, je, n1, 4); break;
            }
        }
    }
}

// x [M, K] → [M, Kp]: per 32 columns the 16 even then the 16 odd ones, zeros past K (malloc'd; NULL without memory).
static float *reorder32(const float *x, size_t M, size_t K) {
    size_t Kp = (K + 31) / 32 * 32;
    float *xi = malloc(M * Kp * sizeof(float) + 64);
    if (!xi) return NULL;
    for (size_t i = 0; i < M; i++)
        for (size_t c = 0; c < Kp; c += 32)
            for (size_t t = 0; t < 16; t++) {
                size_t even = c + 2 * t;
                xi[i * Kp + c + t] = even < K ? x[i * K + even] : 0;
                xi[i * Kp + c + 16 + t] = even + 1 < K ? x[i * K + even + 1] : 0;
            }
    return xi;
}

TARGET512H static void half_matmul512(float *y, size_t ldy, const float *x, const uint16_t *w, size_t M, size_t n0, size_t n1, size_t K, int f16) {
    if (f16) { half_matmul512_kind(y, ldy, x, w, M, n0, n1, K, 1); return; }
    float *xi = reorder32(x, M, K);
    if (xi) { bf16_matmul512(y, ldy, xi, w, M, n0, n1, K); free(xi); }
    else half_matmul512_kind(y, ldy, x, w, M, n0, n1, K, 0);
}

// ---- AVX2 + F16C: 8 weights a step, one activation row × 4 weight rows --------------------------

TARGET2H static inline __attribute__((always_inline)) __m256 widen8(const uint16_t *p, int f16) {
    __m128i h = _mm_loadu_si128((const __m128i *)p);
    return f16 ? _mm256_cvtph_ps(h) : _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

TARGET2H static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

TARGET2H static inline float half_value(uint16_t h, int f16) {
    if (!f16) { union { uint32_t u; float f; } v = { (uint32_t)h << 16 }; return v.f; }
    return _cvtsh_ss(h);
}

TARGET2H static inline __attribute__((always_inline))
void half_block2(float *y, const float *x, size_t K, const uint16_t *w, size_t j, int C, int f16) {
    __m256 acc[4];
    for (int c = 0; c < C; c++) acc[c] = _mm256_setzero_ps();
    size_t k = 0;
    for (; k + 8 <= K; k += 8) {
        __m256 xv = _mm256_loadu_ps(x + k);
        for (int c = 0; c < C; c++) acc[c] = _mm256_fmadd_ps(xv, widen8(w + (j + c) * K + k, f16), acc[c]);
    }
    for (int c = 0; c < C; c++) {
        float s = hsum8(acc[c]);
        for (size_t t = k; t < K; t++) s += x[t] * half_value(w[(j + c) * K + t], f16);
        y[j + c] = s;
    }
}

TARGET2H static inline __attribute__((always_inline))
void half_matmul2_kind(float *y, size_t ldy, const float *x, const uint16_t *w, size_t M, size_t n0, size_t n1, size_t K, int f16) {
    for (size_t jb = n0; jb < n1; jb += 128) {
        size_t je = jb + 128 < n1 ? jb + 128 : n1;
        for (size_t i = 0; i < M; i++) {
            size_t j = jb;
            for (; j + 4 <= je; j += 4) half_block2(y + i * ldy, x + i * K, K, w, j, 4, f16);
            for (; j < je; j++) half_block2(y + i * ldy, x + i * K, K, w, j, 1, f16);
        }
    }
}

TARGET2H static void half_matmul2(float *y, size_t ldy, const float *x, const uint16_t *w, size_t M, size_t n0, size_t n1, size_t K, int f16) {
    if (f16) half_matmul2_kind(y, ldy, x, w, M, n0, n1, K, 1);
    else half_matmul2_kind(y, ldy, x, w, M, n0, n1, K, 0);
}

size_t csimd_half_matmul_avx2(float *y, size_t ldy, const float *x, const uint16_t *w, size_t M, size_t n0, size_t n1, size_t K, int kind) {
    if (!csimd_available() || n1 <= n0) return 0;
    half_matmul2(y, ldy, x, w, M, n0, n1, K, kind == CSIMD_HALF_F16);
    return n1 - n0;
}

size_t csimd_half_matmul(float *y, size_t ldy, const float *x, const uint16_t *w, size_t M, size_t n0, size_t n1, size_t K, int kind) {
    if (!csimd_avx512_available()) return csimd_half_matmul_avx2(y, ldy, x, w, M, n0, n1, K, kind);
    if (n1 <= n0) return 0;
    half_matmul512(y, ldy, x, w, M, n0, n1, K, kind == CSIMD_HALF_F16);
    return n1 - n0;
}

// ---- split over the cores (pool.c) -------------------------------------------------------------

// xi: the activations reordered once for the AVX-512 BF16 kernel (NULL: each chunk takes csimd_half_matmul).
typedef struct { const float *x, *xi; size_t M, K; int kind; } half_job_t;

static void half_out_rows(void *ctx, const csimd_out_t *out, size_t j0, size_t j1) {
    half_job_t *job = ctx;
    if (job->xi) bf16_matmul512(out->y, out->ldy, job->xi, out->w, job->M, j0, j1, job->K);
    else csimd_half_matmul(out->y, out->ldy, job->x, out->w, job->M, j0, j1, job->K, job->kind);
}

int csimd_half_matmul_split_many(const csimd_out_t *outs, size_t count, const float *x, size_t M, size_t K, int kind, int max_threads) {
    if (!csimd_available()) return 0;
    size_t rows = 0;
    for (size_t s = 0; s < count; s++) rows += outs[s].rows;
    float *xi = kind == CSIMD_HALF_BF16 && csimd_avx512_available() ? reorder32(x, M, K) : NULL;
    half_job_t job = { x, xi, M, K, kind };
    csimd_pool_run_outputs(half_out_rows, &job, outs, count, (double)M * rows * K, max_threads);
    free(xi);
    return 1;
}

size_t csimd_half_matmul_split(float *y, size_t ldy, const float *x, const uint16_t *w, size_t M, size_t N, size_t K, int kind,
                               int max_threads) {
    csimd_out_t out = { y, ldy, w, N };
    return N > 0 && csimd_half_matmul_split_many(&out, 1, x, M, K, kind, max_threads) ? N : 0;
}
#else
size_t csimd_half_matmul_avx2(float *y, size_t ldy, const float *x, const uint16_t *w, size_t M, size_t n0, size_t n1, size_t K, int kind) {
    (void)y; (void)ldy; (void)x; (void)w; (void)M; (void)n0; (void)n1; (void)K; (void)kind;
    return 0;
}
size_t csimd_half_matmul(float *y, size_t ldy, const float *x, const uint16_t *w, size_t M, size_t n0, size_t n1, size_t K, int kind) {
    (void)y; (void)ldy; (void)x; (void)w; (void)M; (void)n0; (void)n1; (void)K; (void)kind;
    return 0;
}
size_t csimd_half_matmul_split(float *y, size_t ldy, const float *x, const uint16_t *w, size_t M, size_t N, size_t K, int kind,
                               int max_threads) {
    (void)y; (void)ldy; (void)x; (void)w; (void)M; (void)N; (void)K; (void)kind; (void)max_threads;
    return 0;
}
int csimd_half_matmul_split_many(const csimd_out_t *outs, size_t count, const float *x, size_t M, size_t K, int kind, int max_threads) {
    (void)outs; (void)count; (void)x; (void)M; (void)K; (void)kind; (void)max_threads;
    return 0;
}
#endif
