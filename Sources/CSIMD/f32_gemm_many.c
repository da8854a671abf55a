// The f32 linears of a prefill (many activation rows) as one job of the spinning pool (pool.c): a block's
// q, k, v or gate, up — several weights over the same x — or one weight alone, every output's weight rows
// cut into 8-row units laid end to end, the pool's chunks (multiples of 4 units: 32-row multiples) each
// running nf4_gemm.c's f32 panel blocks (`csimd_f32_panel_gemm`: a 64-row × 256-column panel of W packed
// k-major, then all M rows of x through a 6 × 64 register block; a chunk's last 32 rows, if any, through a
// 6 × 32 block). Half panels let 9 panels (SmolLM2's 576-wide o and down) split 4.5 / 4.5 over two threads
// instead of 5 / 4 (BENCHMARKS.md, "f32 panel packing, session 11"). One hand-off per group instead
// of one OpenBLAS call per linear, whose two threads then yield the core to each other (BENCHMARKS.md,
// "Prefill, session 10"). Each output element is the same sum in the same order however the rows are
// split, so an output of a group is bit-identical to that weight run alone.
#include "CSIMD.h"

#ifndef F32_MANY_UNIT   // 16: whole-panel chunks (session 10), for tools/bench/f32_panel_probe.c's A/B
#define F32_MANY_UNIT 8
#endif
enum { UNIT = F32_MANY_UNIT };

typedef struct { const csimd_out_t *outs; size_t count; const float *x; size_t M, K; } many_job_t;

static size_t units_of(size_t rows) { return (rows + UNIT - 1) / UNIT; }

// Units [u0, u1) of the outputs laid end to end, as weight rows of each output they cover.
static void many_units(void *ctx, size_t u0, size_t u1) {
    many_job_t *job = ctx;
    size_t base = 0;
    for (size_t s = 0; s < job->count && base < u1; base += units_of(job->outs[s].rows), s++) {
        const csimd_out_t *o = &job->outs[s];
        size_t n = units_of(o->rows), a = u0 > base ? u0 - base : 0, b = u1 - base < n ? u1 - base : n;
        if (a >= b) continue;
        size_t j0 = a * UNIT, j1 = b * UNIT < o->rows ? b * UNIT : o->rows;
        csimd_f32_panel_gemm(o->y + j0, o->ldy, job->x, job->M, (const float *)o->w + j0 * job->K, j1 - j0, job->K);
    }
}

int csimd_f32_gemm_many(const csimd_out_t *outs, size_t count, const float *x, size_t M, size_t K, int max_threads) {
    size_t units = 0, rows = 0;
    for (size_t s = 0; s < count; s++) {
        if ((double)outs[s].rows * (double)K >= 2147483648.0) return 0;
        units += units_of(outs[s].rows);
        rows += outs[s].rows;
    }
    if (!csimd_avx512_available() || M == 0 || K == 0) return 0;
    many_job_t job = { outs, count, x, M, K };
    if (units && !csimd_pool_split_rows(many_units, &job, units, (double)M * (double)rows * (double)K, max_threads))
        many_units(&job, 0, units);
    return 1;
}
