// The prefill's f32 panel GEMM (issue 20, session 11): packing alone, the panel GEMM on one thread
// (`csimd_f32_panel_gemm`) and on the pool (`csimd_f32_gemm_many`, 1 and 2 threads), against OpenBLAS sgemm
// on the same data in the same run, on the linears of SmolLM2-135M and the 0.84 B Llama shape at M = 512.
// Each figure is the range (min–max GFLOP/s) over ROUNDS rounds; one-thread figures by thread CPU time,
// two-thread figures by wall time. `pack` is the time to pack every 64-row × 256-column panel of W once
// (what one M-pass of the GEMM packs), also as a share of the one-thread GEMM's time. The packed panels
// are checked against a scalar twin, and `bits` is a hash of the GEMM's output bits (equal across builds
// = bit-identical products). F32_PACK selects the packing (0: gathers, the session-10 kernel; 1: a
// 16 × 16 transpose of full row loads; 2: 128-bit row loads, 4 × 4 transposes inside lanes).
//   for v in 0 1 2; do clang -O2 -DF32_PACK=$v -ISources/CSIMD/include tools/bench/f32_panel_probe.c \
//     Sources/CSIMD/f32_gemm_many.c Sources/CSIMD/nf4_matmul.c Sources/CSIMD/cpu.c Sources/CSIMD/pool.c \
//     -o /tmp/f32_panel_probe$v -lopenblas -lpthread -lm; done
//   /tmp/f32_panel_probe2 [ROUNDS=5] [M=512] [smollm2|0.84b|all]
#include "../../Sources/CSIMD/nf4_gemm.c"
#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double tcpu(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static double twall(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static uint64_t state = 11;
static float rnd(void) {   // SplitMix64 → uniform in [−1, 1)
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull; z = (z ^ (z >> 27)) * 0x94D049BB133111EBull; z ^= z >> 31;
    return (float)((double)(z >> 11) / 4503599627370496.0 - 1.0);
}
static uint64_t hash(const float *y, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) { uint32_t b; memcpy(&b, &y[i], 4); h = (h ^ b) * 1099511628211ull; }
    return h;
}

typedef struct { const char *name; size_t K; size_t n[3]; } shape_t;
static const shape_t shapes[] = {
    { "smollm2 q,k,v", 576, { 576, 192, 192 } }, { "smollm2 o", 576, { 576 } },
    { "smollm2 gate,up", 576, { 1536, 1536 } }, { "smollm2 down", 1536, { 576 } },
    { "0.84b q,k,v", 2048, { 2048, 256, 256 } }, { "0.84b o", 2048, { 2048 } },
    { "0.84b gate,up", 2048, { 5632, 5632 } }, { "0.84b down", 5632, { 2048 } },
};

typedef struct { double lo, hi; } range_t;
static void see(range_t *r, double v) { if (v < r->lo) r->lo = v; if (v > r->hi) r->hi = v; }

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    size_t M = argc > 2 ? (size_t)atoi(argv[2]) : 512;
    const char *only = argc > 3 ? argv[3] : "all";
    printf("F32_PACK %d, M %zu, %d rounds; GFLOP/s min–max (1 thread: CPU time; 2 threads: wall)\n", F32_PACK, M, rounds);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const shape_t *sh = &shapes[s];
        if (strcmp(only, "all") && strncmp(sh->name, only, strlen(only))) continue;
        size_t K = sh->K, N = 0, count = 0;
        for (; count < 3 && sh->n[count]; count++) N += sh->n[count];
        float *x = malloc(M * K * 4), *w = malloc(N * K * 4), *y = malloc(M * N * 4), *y2 = malloc(M * N * 4);
        for (size_t i = 0; i < M * K; i++) x[i] = rnd();
        for (size_t i = 0; i < N * K; i++) w[i] = rnd();
        // Packing checked against the scalar twin, every panel and column chunk.
        static float bp[KC * NR] __attribute__((aligned(64)));
        size_t bad = 0;
        for (size_t j = 0; j < N; j += NR)
            for (size_t k0 = 0; k0 < K; k0 += KC) {
                size_t rows = N - j < NR ? N - j : NR, kc = K - k0 < KC ? K - k0 : KC;
                f32_pack_panel(bp, w, j, rows, K, k0, kc);
                for (size_t k = 0; k < kc; k++)
                    for (size_t r = 0; r < NR; r++) {
                        float want = r < rows ? w[(j + r) * K + k0 + k] : 0;
                        bad += memcmp(&bp[k * NR + r], &want, 4) != 0;
                    }
            }
        double flop = 2.0 * M * N * K;
        range_t pack = { 1e9, 0 }, one = { 1e9, 0 }, blas1 = { 1e9, 0 }, many1 = { 1e9, 0 }, many2 = { 1e9, 0 }, blas2 = { 1e9, 0 };
        csimd_out_t outs[3];
        for (size_t c = 0, r = 0; c < count; r += sh->n[c], c++) outs[c] = (csimd_out_t){ y2 + 0, 0, w + r * K, sh->n[c] };
        uint64_t h1 = 0, h2 = 0;
        for (int q = 0; q < rounds; q++) {
            double t0 = tcpu();
            for (size_t j = 0; j < N; j += NR)
                for (size_t k0 = 0; k0 < K; k0 += KC)
                    f32_pack_panel(bp, w, j, N - j < NR ? N - j : NR, K, k0, K - k0 < KC ? K - k0 : KC);
            double tp = tcpu() - t0;
            see(&pack, tp * 1e3);
            t0 = tcpu();
            csimd_f32_panel_gemm(y, N, x, M, w, N, K);
            see(&one, flop / (tcpu() - t0) / 1e9);
            h1 = hash(y, M * N);
            openblas_set_num_threads(1);
            t0 = tcpu();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, x, K, w, K, 0, y, N);
            see(&blas1, flop / (tcpu() - t0) / 1e9);
            // Each output separately (its own ldy), as f32LinearsForward passes them.
            float *yo = y2;
            for (size_t c = 0; c < count; c++) { outs[c].y = yo; outs[c].ldy = sh->n[c]; yo += M * sh->n[c]; }
            t0 = tcpu();
            csimd_f32_gemm_many(outs, count, x, M, K, 1);
            see(&many1, flop / (tcpu() - t0) / 1e9);
            t0 = twall();
            csimd_f32_gemm_many(outs, count, x, M, K, 2);
            see(&many2, flop / (twall() - t0) / 1e9);
            h2 = hash(y2, M * N);
            openblas_set_num_threads(2);
            t0 = twall();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, x, K, w, K, 0, y, N);
            see(&blas2, flop / (twall() - t0) / 1e9);
        }
        printf("%-16s N %5zu K %4zu | pack %.2f–%.2f ms (%s) | 1t panel %.1f–%.1f, many %.1f–%.1f, sgemm %.1f–%.1f | "
               "2t many %.1f–%.1f, sgemm %.1f–%.1f | bits %016llx %016llx\n",
               sh->name, N, K, pack.lo, pack.hi, bad ? "MISMATCH" : "exact", one.lo, one.hi, many1.lo, many1.hi, blas1.lo, blas1.hi,
               many2.lo, many2.hi, blas2.lo, blas2.hi, (unsigned long long)h1, (unsigned long long)h2);
        printf("%-16s pack share of the 1-thread panel GEMM: %.1f–%.1f %%\n", sh->name,
               100 * pack.lo * 1e-3 / (flop / one.hi / 1e9), 100 * pack.hi * 1e-3 / (flop / one.lo / 1e9));
        fflush(stdout);
        free(x); free(w); free(y); free(y2);
    }
    return 0;
}
