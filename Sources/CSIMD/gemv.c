// f32 weight × a few f32 activation rows, the product of a decode step (Kernels/Matmul.swift):
//   y[i·ldy + j] = Σ_k x[i, k] · w[j, k]      for weight rows j in [n0, n1)
// A decode step is bound by reading the weights. One activation row (M = 1, one sequence decoding)
// reads the weight rows one after another in memory order — a single stream, as `readSum` reads, which
// the hardware prefetcher follows; more rows use register blocks of R ≤ 4 activation rows × 4 weight
// rows (each weight read once per 4 activation rows) with a software prefetch, over panels of 64 weight
// rows that stay in L2 for every group of 4 activation rows (up to Kernels' `gemvRows`, 16: a decode prompt). Both add the same terms
// in the same order (16 columns a step, the last partial chunk masked, one accumulator a row, then a
// horizontal sum), so a sequence's result does not depend on how many decode beside it. The pool
// (pool.c) splits the weight rows over the cores — for one linear or for several on the same x as one
// job (a step's q, k, v), where OpenBLAS sgemv hands off once per call.
// The naive twin is Kernels' `matmulForwardNaive`.
#include "CSIMD.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define TARGET512G __attribute__((target("avx512f,avx512vl,avx2,fma")))
// Software prefetch into L2 of the same columns 16 rows ahead (as half_matmul.c), for R ≥ 2: one thread over
// 460 MB of f32 rows of 576 read at 0.55–0.69 of readSum's bandwidth without it, 0.9–1.1 with it (OpenBLAS
// sgemv 0.69–0.75; /tmp microbenchmark under load, session 9). At M = 1 the rows in memory order without it
// read faster than the 4-row blocks with it: one thread, best of 60, 1.09–1.33× on 4 kB pages and
// 1.40–1.67× on huge pages (docs/results/decode-session10/kern-microbench.log).
#define PF_ROWS 16

// R activation rows × C weight rows starting at weight row j; inlined with constant R and C.
TARGET512G static inline __attribute__((always_inline))
void gemv_block(float *y, size_t ldy, const float *x, size_t K, const float *w, size_t j, size_t end, int R, int C) {
    __m512 acc[4][4];
    const float *pf[4];   // the same columns PF_ROWS rows ahead, clamped to the call's rows (half_matmul.c)
    for (int c = 0; c < C; c++) pf[c] = w + (j + c + PF_ROWS < end ? j + c + PF_ROWS : end - 1) * K;
    for (int r = 0; r < R; r++) for (int c = 0; c < C; c++) acc[r][c] = _mm512_setzero_ps();
    for (size_t k = 0; k < K; k += 16) {
        __mmask16 m = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1);
        __m512 xv[4];
        for (int r = 0; r < R; r++) xv[r] = _mm512_maskz_loadu_ps(m, x + r * K + k);
        for (int c = 0; c < C; c++) {
            _mm_prefetch((const char *)(pf[c] + k), _MM_HINT_T1);
            __m512 wv = _mm512_maskz_loadu_ps(m, w + (j + c) * K + k);
            for (int r = 0; r < R; r++) acc[r][c] = _mm512_fmadd_ps(xv[r], wv, acc[r][c]);
        }
    }
    for (int r = 0; r < R; r++) for (int c = 0; c < C; c++) y[r * ldy + j + c] = _mm512_reduce_add_ps(acc[r][c]);
}

TARGET512G static inline __attribute__((always_inline))
void gemv_rows(float *y, size_t ldy, const float *x, size_t K, const float *w, size_t j, size_t je, size_t end, int R) {
    for (; j + 4 <= je; j += 4) gemv_block(y, ldy, x, K, w, j, end, R, 4);
    for (; j < je; j++) gemv_block(y, ldy, x, K, w, j, end, R, 1);
}

// M = 1: one weight row after another, one accumulator a row (gemv_block's arithmetic at R = C = 1).
TARGET512G static void gemv1(float *y, const float *x, const float *w, size_t n0, size_t n1, size_t K) {
    for (size_t j = n0; j < n1; j++) {
        const float *r = w + j * K;
        __m512 acc = _mm512_setzero_ps();
        for (size_t k = 0; k < K; k += 16) {
            __mmask16 m = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1);
            acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + k), _mm512_maskz_loadu_ps(m, r + k), acc);
        }
        y[j] = _mm512_reduce_add_ps(acc);
    }
}

TARGET512G static void gemv512(float *y, size_t ldy, const float *x, const float *w, size_t M, size_t n0, size_t n1, size_t K) {
    if (M == 1) { gemv1(y, x, w, n0, n1, K); return; }
    // Panels of 64 weight rows (≤ 1 MB at K ≤ 4096: from L2 for every group of 4 activation rows).
    for (size_t jb = n0; jb < n1; jb += 64) {
        size_t je = jb + 64 < n1 ? jb + 64 : n1;
        for (size_t i = 0; i < M; i += 4) {
            float *yi = y + i * ldy;
            const float *xi = x + i * K;
            switch (M - i < 4 ? M - i : 4) {
            case 1: gemv_rows(yi, ldy, xi, K, w, jb, je, n1, 1); break;
            case 2: gemv_rows(yi, ldy, xi, K, w, jb, je, n1, 2); break;
            case 3: gemv_rows(yi, ldy, xi, K, w, jb, je, n1, 3); break;
            default: gemv_rows(yi, ldy, xi, K, w, jb, je, n1, 4); break;
            }
        }
    }
}

size_t csimd_sgemv(float *y, size_t ldy, const float *x, const float *w, size_t M, size_t n0, size_t n1, size_t K) {
    if (!csimd_avx512_available() || n1 <= n0) return 0;
    gemv512(y, ldy, x, w, M, n0, n1, K);
    return n1 - n0;
}

typedef struct { const float *x; size_t M, K; } gemv_job_t;

static void gemv_out_rows(void *ctx, const csimd_out_t *out, size_t j0, size_t j1) {
    gemv_job_t *job = ctx;
    gemv512(out->y, out->ldy, job->x, out->w, job->M, j0, j1, job->K);
}

int csimd_sgemv_split_many(const csimd_out_t *outs, size_t count, const float *x, size_t M, size_t K, int max_threads) {
    if (!csimd_avx512_available()) return 0;
    size_t rows = 0;
    for (size_t s = 0; s < count; s++) rows += outs[s].rows;
    gemv_job_t job = { x, M, K };
    csimd_pool_run_outputs(gemv_out_rows, &job, outs, count, (double)M * rows * K, max_threads);
    return 1;
}
#else
size_t csimd_sgemv(float *y, size_t ldy, const float *x, const float *w, size_t M, size_t n0, size_t n1, size_t K) {
    (void)y; (void)ldy; (void)x; (void)w; (void)M; (void)n0; (void)n1; (void)K;
    return 0;
}
int csimd_sgemv_split_many(const csimd_out_t *outs, size_t count, const float *x, size_t M, size_t K, int max_threads) {
    (void)outs; (void)count; (void)x; (void)M; (void)K; (void)max_threads;
    return 0;
}
#endif
