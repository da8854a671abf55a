// The prefill's f32 panel GEMM (issue 20, session 11): packing alone, the panel GEMM on one thread
// (`csimd_f32_panel_gemm`) and on the pool (`csimd_f32_gemm_many`, 1 and 2 threads), against OpenBLAS sgemm
// on the same data in the same run, on the linears of SmolLM2-135M and the 0.84 B Llama shape at M = 512.
// Each figure is the median (range) of GFLOP/s over ROUNDS rounds; one-thread figures by thread CPU time,
// two-thread figures by wall time, and the split's bound (critical_path, below). `pack` is the time to
// pack every 64-row × 256-column panel of W once (what one M-pass of the GEMM packs), also as a share of
// the one-thread GEMM's time in the same round. The packed panels are checked against a scalar twin, and
// `bits` is a hash of the GEMM's output bits (equal across builds
// = bit-identical products). Build switches, passed to every file: F32_PACK=0 packs by gathers only
// (session 10's packing; default 1: contiguous 16 × 16 blocks), F32_MANY_UNIT=16 splits the pool's job in
// whole 64-row panels (session 10; default 8: chunks of 32-row multiples, so 9 panels split 4.5 / 4.5).
//   for v in "0 16" "1 16" "1 8"; do set -- $v; clang -O2 -DF32_PACK=$1 -DF32_MANY_UNIT=$2 -ISources/CSIMD/include \
//     tools/bench/f32_panel_probe.c Sources/CSIMD/nf4_matmul.c Sources/CSIMD/cpu.c \
//     Sources/CSIMD/pool.c -o /tmp/f32_panel_probe_$1_$2 -lopenblas -lpthread -lm; done
//   /tmp/f32_panel_probe_1_8 [ROUNDS=5] [M=512] [smollm2|0.84b|all]
#include "../../Sources/CSIMD/nf4_gemm.c"
#include "../../Sources/CSIMD/f32_gemm_many.c"
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

// The two-thread split without a second free core (a shared machine): the chunks pool.c (session 10's
// chunking: 4·threads chunks, rounded up to multiples of 4 units) would hand out, alternating between two
// equally fast threads, each thread's chunks timed on this one (CPU time); the slower thread's time is the
// split's critical path, reported as GFLOP/s of the whole product over it.
static double critical_path(many_job_t *job, size_t units) {
    size_t chunks = 8, rows = ((units + chunks - 1) / chunks + 3) / 4 * 4, n = (units + rows - 1) / rows;
    double t[2] = { 0, 0 };
    for (int side = 0; side < 2; side++) {
        double t0 = tcpu();
        for (size_t c = side; c < n; c += 2) many_units(job, c * rows, (c + 1) * rows < units ? (c + 1) * rows : units);
        t[side] = tcpu() - t0;
    }
    return t[0] > t[1] ? t[0] : t[1];
}

typedef struct { const char *name; size_t K; size_t n[3]; } shape_t;
static const shape_t shapes[] = {
    { "smollm2 q,k,v", 576, { 576, 192, 192 } }, { "smollm2 o", 576, { 576 } },
    { "smollm2 gate,up", 576, { 1536, 1536 } }, { "smollm2 down", 1536, { 576 } },
    { "0.84b q,k,v", 2048, { 2048, 256, 256 } }, { "0.84b o", 2048, { 2048 } },
    { "0.84b gate,up", 2048, { 5632, 5632 } }, { "0.84b down", 5632, { 2048 } },
};

// Samples of one figure over the rounds: median and range.
typedef struct { double v[64]; int n; } range_t;
static void see(range_t *r, double v) { if (r->n < 64) r->v[r->n++] = v; }
static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
static const char *fmt(range_t *r, char *buf) {
    qsort(r->v, r->n, sizeof(double), cmp);
    double med = r->n % 2 ? r->v[r->n / 2] : (r->v[r->n / 2 - 1] + r->v[r->n / 2]) / 2;
    snprintf(buf, 64, "%.1f (%.1f–%.1f)", med, r->v[0], r->v[r->n - 1]);
    return buf;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    size_t M = argc > 2 ? (size_t)atoi(argv[2]) : 512;
    const char *only = argc > 3 ? argv[3] : "all";
    printf("F32_PACK %d, F32_MANY_UNIT %d, M %zu, %d rounds; GFLOP/s median (min–max) (1 thread: CPU time; 2 threads: wall)\n",
           F32_PACK, F32_MANY_UNIT, M, rounds);
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
                    for (size_t r = 0; r < (rows <= NR / 2 ? NR / 2 : NR); r++) {
                        float want = r < rows ? w[(j + r) * K + k0 + k] : 0;
                        bad += memcmp(&bp[k * NR + r], &want, 4) != 0;
                    }
            }
        double flop = 2.0 * M * N * K;
        static range_t pack, one, blas1, many1, many2, blas2, share, path;
        pack.n = one.n = blas1.n = many1.n = many2.n = blas2.n = share.n = path.n = 0;
        csimd_out_t outs[3];
        for (size_t c = 0, r = 0; c < count; r += sh->n[c], c++) outs[c] = (csimd_out_t){ y2 + 0, 0, w + r * K, sh->n[c] };
        uint64_t h1 = 0, h2 = 0;
        for (int q = 0; q < rounds; q++) {
            double t0 = tcpu();
            for (size_t j = 0; j < N; j += NR)
                for (size_t k0 = 0; k0 < K; k0 += KC)
                    f32_pack_panel(bp, w, j, N - j < NR ? N - j : NR, K, k0, K - k0 < KC ? K - k0 : KC);
            double tp = tcpu() - t0;
            see(&pack, tp * 1e6);
            t0 = tcpu();
            csimd_f32_panel_gemm(y, N, x, M, w, N, K);
            double tg = tcpu() - t0;
            see(&one, flop / tg / 1e9);
            see(&share, 100 * tp / tg);
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
            many_job_t job = { outs, count, x, M, K };
            size_t units = 0;
            for (size_t c = 0; c < count; c++) units += units_of(outs[c].rows);
            see(&path, flop / critical_path(&job, units) / 1e9);
            openblas_set_num_threads(2);
            t0 = twall();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, x, K, w, K, 0, y, N);
            see(&blas2, flop / (twall() - t0) / 1e9);
        }
        char b[8][64];
        printf("%-16s N %5zu K %4zu | pack µs %s %s, %% of 1t GEMM %s | 1t panel %s, many %s, sgemm %s | "
               "2t many %s, sgemm %s, split's bound %s | bits %016llx %016llx\n",
               sh->name, N, K, fmt(&pack, b[0]), bad ? "MISMATCH" : "exact", fmt(&share, b[6]), fmt(&one, b[1]), fmt(&many1, b[2]),
               fmt(&blas1, b[3]), fmt(&many2, b[4]), fmt(&blas2, b[5]), fmt(&path, b[7]), (unsigned long long)h1, (unsigned long long)h2);
        fflush(stdout);
        free(x); free(w); free(y); free(y2);
    }
    return 0;
}
