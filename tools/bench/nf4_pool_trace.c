// The M = 1 NF4 product (CSIMD nf4_matmul.c) through the pool (pool.c) on one weight shape, codes from
// memory (copies cycled through > 256 MB; COPIES=1 keeps one copy, in cache): wall time of
// csimd_nf4_matmul_split_many on 1 and on 2 threads (mean and best of R), then a trace of the last calls
// on 2 threads — which core ran each chunk of rows, from when to when (µs after the call, TSC at 2.6 GHz).
// Build and run from the repository root (BENCHMARKS.md, session 12):
//   clang -O2 -ISources/CSIMD/include tools/bench/nf4_pool_trace.c Sources/CSIMD/nf4_matmul.c Sources/CSIMD/pool.c Sources/CSIMD/cpu.c -o /tmp/nf4_pool_trace -lpthread -lm
//   for s in "192 576" "576 576" "1536 576" "576 1536" "49152 576"; do /tmp/nf4_pool_trace $s 3000; done
#define _GNU_SOURCE
#include "CSIMD.h"
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <x86intrin.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

typedef struct { float *y; const float *x; const uint8_t *p; const float *a; size_t K; const float *v; } ctx_t;
static uint64_t T0;
static struct { int cpu; uint64_t s, e; } ev[64];
static int nev;

static void traced_chunk(void *c, size_t j0, size_t j1) {   // one chunk of rows, timed
    ctx_t *t = c;
    uint64_t s = __rdtsc();
    csimd_nf4_matmul(t->y, 0, t->x, t->p, t->a, 1, j0, j1, t->K, 64, t->v);
    uint64_t e = __rdtsc();
    int i = __atomic_fetch_add(&nev, 1, __ATOMIC_SEQ_CST);
    if (i < 64) { ev[i].cpu = sched_getcpu(); ev[i].s = s - T0; ev[i].e = e - T0; }
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: nf4_pool_trace N K reps\n"); return 2; }
    size_t N = atol(argv[1]), K = atol(argv[2]);
    int reps = atoi(argv[3]);
    size_t copies = getenv("COPIES") ? atol(getenv("COPIES")) : (256u << 20) / (N * K / 2) + 1;
    uint8_t **P = malloc(copies * sizeof *P);
    float **A = malloc(copies * sizeof *A);
    srand(1);
    for (size_t c = 0; c < copies; c++) {
        P[c] = malloc(N * K / 2); A[c] = malloc(N * K / 64 * 4);
        for (size_t i = 0; i < N * K / 2; i++) P[c][i] = rand();
        for (size_t i = 0; i < N * K / 64; i++) A[c][i] = 0.01f * (rand() % 100);
    }
    float *x = malloc(K * 4), *y = malloc(N * 4), vals[16];
    for (int i = 0; i < 16; i++) vals[i] = (i - 8) / 8.f;
    for (size_t i = 0; i < K; i++) x[i] = rand() / (float)RAND_MAX;
    for (int th = 1; th <= 2; th++) {
        double tot = 0, best = 1e9;
        for (int r = 0; r < reps; r++) {
            size_t c = (size_t)r % copies;
            csimd_nf4_weight_t w = { P[c], A[c] };
            csimd_out_t o = { y, N, &w, N };
            double t = now();
            csimd_nf4_matmul_split_many(&o, 1, x, 1, K, 64, vals, th);
            t = now() - t; tot += t; if (t < best) best = t;
        }
        printf("N=%zu K=%zu threads %d: mean %.2f us, best %.2f us (%.1f G weights/s at the mean)\n", N, K, th, tot / reps * 1e6, best * 1e6,
               N * K / (tot / reps) / 1e9);
    }
    int pooled = 0;
    for (int r = 0; r < reps; r++) {
        ctx_t c = { y, x, P[r % copies], A[r % copies], K, vals };
        nev = 0; T0 = __rdtsc();
        int ok = csimd_pool_split_rows(traced_chunk, &c, N, (double)N * K, 2);
        if (!ok) traced_chunk(&c, 0, N);
        uint64_t end = __rdtsc() - T0;
        pooled += ok;
        if (r >= reps - 3) {
            printf("call %d (%s) %.2f us:", r, ok ? "pool" : "alone", end / 2600.0);
            for (int i = 0; i < nev && i < 64; i++) printf(" [cpu%d %.2f–%.2f]", ev[i].cpu, ev[i].s / 2600.0, ev[i].e / 2600.0);
            printf("\n");
        }
    }
    printf("%d of %d calls ran on the pool\n", pooled, reps);
}
