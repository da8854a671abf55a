// NF4 × f32 product without a dequantized weight (Kernels/Quantization/NF4Matmul.swift, ALGORITHMS.md §5.3):
//   y[i·ldy + j] = Σ_k x[i, k] · NF4[code(j, k)] · absmax[block(j, k)]      for weight rows j in [n0, n1)
// The weight stays in bitsandbytes' packing (byte b of a row holds element 2b in the high nibble,
// 2b + 1 in the low). 16 bytes are 32 codes: widened to 16 lanes, `>> 4` gives the even elements and
// the low 4 bits (all VPERMPS reads of an index) the odd ones, and one VPERMPS over the 16-entry table already multiplied by the block's
// absmax turns each half into weights. The caller passes x with every 32-column chunk reordered the
// same way (16 even columns, then 16 odd: `nf4InterleaveColumns`), so no weight value is moved.
// Register blocks of R ≤ 4 activation rows × 4 weight rows (16 accumulators; 5 × 4, 4 × 6 or 6 × 4
// spill or run slower, measured at M = 120) reuse each dequantized vector R times and each activation
// load 4 times; M = 1 is the decode case, which reads the packed
// weight exactly once. Needs K % 32 == 0 and a power-of-two block size ≥ 32 (so no 32-column chunk
// straddles a block); otherwise, or without AVX-512, returns 0 and the caller takes its tiled path.
#include "CSIMD.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define TARGET512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma")))

int csimd_avx512_available(void) {
    static int state = -1;
    if (state < 0) {
        __builtin_cpu_init();
        state = csimd_available() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
                && __builtin_cpu_supports("avx512vl");
    }
    return state;
}

// R activation rows × C weight rows starting at weight row j, S = 32 or 64 columns a step (64 when
// every 64 columns share one absmax: the scaled table once per 64 instead of per 32, the same
// arithmetic — 4–11 % on one core, tools/bench/nf4_m1_probe.c's v2). Inlined with constant R, C and S,
// so the accumulator array lives in registers.
TARGET512 static inline __attribute__((always_inline))
void nf4_block(float *y, size_t ldy, const float *x, size_t K, const uint8_t *packed, const float *absmax,
               size_t j, size_t end, unsigned shift, __m512 table, int R, int C, int S) {
    __m512 acc[4][4];
    const uint8_t *pf[4];   // the same code columns 16 weight rows ahead, clamped to the call's rows (as gemv.c, half_matmul.c)
    for (int c = 0; c < C; c++) pf[c] = packed + (j + c + 16 < end ? j + c + 16 : end - 1) * K / 2;
    for (int r = 0; r < R; r++) for (int c = 0; c < C; c++) acc[r][c] = _mm512_setzero_ps();
    for (size_t k0 = 0; k0 < K; k0 += S) {
        __m512 t[4];
        for (int c = 0; c < C; c++) t[c] = _mm512_mul_ps(table, _mm512_set1_ps(absmax[((j + c) * K + k0) >> shift]));
        for (size_t k = k0; k < k0 + S; k += 32) {
            __m512 xe[4], xo[4];
            for (int r = 0; r < R; r++) { xe[r] = _mm512_loadu_ps(x + r * K + k); xo[r] = _mm512_loadu_ps(x + r * K + k + 16); }
            for (int c = 0; c < C; c++) {
                size_t at = (j + c) * K + k;
                // The same columns 16 weight rows ahead into L2 (one line = 128 codes), as the 16-bit kernels do.
                if (k % 128 == 0) _mm_prefetch((const char *)(pf[c] + k / 2), _MM_HINT_T1);
                __m512i codes = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(packed + at / 2)));
                __m512 we = _mm512_permutexvar_ps(_mm512_srli_epi32(codes, 4), t[c]);
                __m512 wo = _mm512_permutexvar_ps(codes, t[c]);   // VPERMPS reads only the index's low 4 bits: the low nibble
                for (int r = 0; r < R; r++) acc[r][c] = _mm512_fmadd_ps(xo[r], wo, _mm512_fmadd_ps(xe[r], we, acc[r][c]));
            }
        }
    }
    for (int r = 0; r < R; r++) for (int c = 0; c < C; c++) y[r * ldy + j + c] = _mm512_reduce_add_ps(acc[r][c]);
}

// Weight rows [j, je) against R activation rows: blocks of 4 weight rows, then single rows (end: the
// call's rows end there, which bounds the prefetch).
TARGET512 static inline __attribute__((always_inline))
void nf4_rows(float *y, size_t ldy, const float *x, size_t K, const uint8_t *packed, const float *absmax,
              size_t j, size_t je, size_t end, unsigned shift, __m512 table, int R) {
    if (shift >= 6 && K % 64 == 0) {
        for (; j + 4 <= je; j += 4) nf4_block(y, ldy, x, K, packed, absmax, j, end, shift, table, R, 4, 64);
        for (; j < je; j++) nf4_block(y, ldy, x, K, packed, absmax, j, end, shift, table, R, 1, 64);
    } else {
        for (; j + 4 <= je; j += 4) nf4_block(y, ldy, x, K, packed, absmax, j, end, shift, table, R, 4, 32);
        for (; j < je; j++) nf4_block(y, ldy, x, K, packed, absmax, j, end, shift, table, R, 1, 32);
    }
}

TARGET512 static void nf4_matmul_avx512(float *y, size_t ldy, const float *x, const uint8_t *packed, const float *absmax,
                                        size_t M, size_t n0, size_t n1, size_t K, unsigned shift, const float *values) {
    const __m512 table = _mm512_loadu_ps(values);
    // Blocks of 128 activation rows × 128 weight rows (64 kB of codes at K = 1024 … 176 kB at 2816):
    // the codes are reused from L2 by all 32 row blocks, the activations by all 32 weight-row panels.
    for (size_t ib = 0; ib < M; ib += 128) {
        size_t ie = ib + 128 < M ? ib + 128 : M;
        for (size_t jb = n0; jb < n1; jb += 128) {
            size_t je = jb + 128 < n1 ? jb + 128 : n1;
            for (size_t i = ib; i < ie; i += 4) {
                float *yi = y + i * ldy;
                const float *xi = x + i * K;
                switch (ie - i < 4 ? ie - i : 4) {
                case 1: nf4_rows(yi, ldy, xi, K, packed, absmax, jb, je, n1, shift, table, 1); break;
                case 2: nf4_rows(yi, ldy, xi, K, packed, absmax, jb, je, n1, shift, table, 2); break;
                case 3: nf4_rows(yi, ldy, xi, K, packed, absmax, jb, je, n1, shift, table, 3); break;
                default: nf4_rows(yi, ldy, xi, K, packed, absmax, jb, je, n1, shift, table, 4); break;
                }
            }
        }
    }
}

size_t csimd_nf4_matmul(float *y, size_t ldy, const float *x, const uint8_t *packed, const float *absmax,
                        size_t M, size_t n0, size_t n1, size_t K, size_t block_size, const float *values) {
    if (!csimd_avx512_available() || K % 32 != 0 || block_size < 32 || (block_size & (block_size - 1)) != 0) return 0;
    unsigned shift = 0;
    while (((size_t)1 << shift) < block_size) shift++;
    nf4_matmul_avx512(y, ldy, x, packed, absmax, M, n0, n1, K, shift, values);
    return n1 - n0;
}

// ---- several weights on the same x, split over the cores as one job (pool.c) ---------------------

typedef struct { const float *x; size_t M, K; unsigned shift; const float *values; } nf4_job_t;

static void nf4_out_rows(void *ctx, const csimd_out_t *out, size_t j0, size_t j1) {
    nf4_job_t *job = ctx;
    const csimd_nf4_weight_t *w = out->w;
    nf4_matmul_avx512(out->y, out->ldy, job->x, w->packed, w->absmax, job->M, j0, j1, job->K, job->shift, job->values);
}

int csimd_nf4_matmul_split_many(const csimd_out_t *outs, size_t count, const float *x, size_t M, size_t K, size_t block_size,
                                const float *values, int max_threads) {
    if (!csimd_avx512_available() || K % 32 != 0 || block_size < 32 || (block_size & (block_size - 1)) != 0) return 0;
    unsigned shift = 0;
    while (((size_t)1 << shift) < block_size) shift++;
    size_t rows = 0;
    for (size_t s = 0; s < count; s++) rows += outs[s].rows;
    nf4_job_t job = { x, M, K, shift, values };
    csimd_pool_run_outputs(nf4_out_rows, &job, outs, count, (double)M * rows * K, max_threads);
    return 1;
}
#else
int csimd_avx512_available(void) { return 0; }
int csimd_nf4_matmul_split_many(const csimd_out_t *outs, size_t count, const float *x, size_t M, size_t K, size_t block_size,
                                const float *values, int max_threads) {
    (void)outs; (void)count; (void)x; (void)M; (void)K; (void)block_size; (void)values; (void)max_threads;
    return 0;
}
size_t csimd_nf4_matmul(float *y, size_t ldy, const float *x, const uint8_t *packed, const float *absmax,
                        size_t M, size_t n0, size_t n1, size_t K, size_t block_size, const float *values) {
    (void)y; (void)ldy; (void)x; (void)packed; (void)absmax; (void)M; (void)n0; (void)n1; (void)K; (void)block_size; (void)values;
    return 0;
}
#endif
