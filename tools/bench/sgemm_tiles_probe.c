// One-core probe for `tiledMatmul` (Kernels/Quantization/NF4Matmul.swift; issue 20): OpenBLAS sgemm
// y[M, N] = x[M, K] · Wᵀ called once per tile of T weight rows, as the tiled path does, by thread CPU
// time (best of 3): every call repacks all of x, so small tiles lose to one call; last, CSIMD's panel
// blocks on 256-row tiles (`csimd_f32_panel_gemm`, what the tiled path runs from M = 64 with AVX-512).
// Build and run:
//   clang -O2 -ISources/CSIMD/include tools/bench/sgemm_tiles_probe.c Sources/CSIMD/nf4_gemm.c Sources/CSIMD/nf4_matmul.c Sources/CSIMD/cpu.c Sources/CSIMD/pool.c -o /tmp/sgemm_tiles_probe -lopenblas -lpthread
//   /tmp/sgemm_tiles_probe 512 2048 2048; /tmp/sgemm_tiles_probe 512 5632 2048; /tmp/sgemm_tiles_probe 128 2048 5632
#include "CSIMD.h"
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double tcpu(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: sgemm_tiles_probe M N K\n"); return 2; }
    size_t M = atoi(argv[1]), N = atoi(argv[2]), K = atoi(argv[3]);
    float *x = malloc(M * K * 4), *y = malloc(M * N * 4), *w = malloc(N * K * 4);
    for (size_t i = 0; i < M * K; i++) x[i] = (float)(i % 7) - 3;
    for (size_t i = 0; i < N * K; i++) w[i] = (float)(i % 5) - 2;
    openblas_set_num_threads(1);
    size_t tiles[] = { 64, 128, 256, 512, N };
    printf("M %zu, N %zu, K %zu, one thread, GFLOP/s by CPU time:", M, N, K);
    for (int ti = 0; ti < 5; ti++) {
        size_t T = tiles[ti];
        double best = 1e9;
        for (int q = 0; q < 3; q++) {
            double t0 = tcpu();
            for (size_t n0 = 0; n0 < N; n0 += T) {
                size_t n = N - n0 < T ? N - n0 : T;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, n, K, 1, x, K, w + n0 * K, K, 0, y + n0, N);
            }
            double t = tcpu() - t0;
            if (t < best) best = t;
        }
        printf(" tile %zu: %.1f;", T, 2.0 * M * N * K / best / 1e9);
    }
    float *y2 = malloc(M * N * 4);
    double best = 1e9;
    for (int q = 0; q < 3; q++) {
        double t0 = tcpu();
        for (size_t n0 = 0; n0 < N; n0 += 256) {
            size_t n = N - n0 < 256 ? N - n0 : 256;
            if (!csimd_f32_panel_gemm(y2 + n0, N, x, M, w + n0 * K, n, K)) { printf(" panel: unavailable\n"); return 0; }
        }
        double t = tcpu() - t0;
        if (t < best) best = t;
    }
    double md = 0;
    for (size_t i = 0; i < M * N; i++) md = fmax(md, fabs(y[i] - y2[i]));
    printf(" panel blocks, 256-row tiles: %.1f (max |diff| %.1e)\n", 2.0 * M * N * K / best / 1e9, md);
    return 0;
}
