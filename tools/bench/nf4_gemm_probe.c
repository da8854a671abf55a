// One-core probe of the NF4 products at prefill sizes (issue 20, BENCHMARKS.md "NF4 and W8A8 at M = 512
// and the narrow k/v shape"), by thread CPU time, best of R (steadier than wall time on a shared machine):
// OpenBLAS sgemm (one thread) on the dequantized weight, CSIMD's register-decoding kernel (nf4_matmul.c,
// x pre-interleaved, not timed) and the panel kernel (nf4_gemm.c), with the largest |difference| of the
// panel kernel from sgemm. Build and run from the repository root:
//   clang -O2 -ISources/CSIMD/include tools/bench/nf4_gemm_probe.c Sources/CSIMD/nf4_gemm.c Sources/CSIMD/nf4_matmul.c Sources/CSIMD/cpu.c Sources/CSIMD/pool.c -o /tmp/nf4_gemm_probe -lopenblas -lpthread -lm
//   for s in "5632 2048" "2048 5632" "2048 2048" "256 2048"; do for m in 32 64 128 512; do /tmp/nf4_gemm_probe $m $s 3; done; done
#include "CSIMD.h"
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double tcpu(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static const float NF[16] = { -1.0f, -0.6961928f, -0.52507305f, -0.3949175f, -0.28444138f, -0.18477343f, -0.09105004f, 0.0f,
                              0.0795803f, 0.1609302f, 0.2461123f, 0.33791524f, 0.44070983f, 0.562617f, 0.72295684f, 1.0f };
int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: nf4_gemm_probe M N K [rounds]\n"); return 2; }
    size_t M = atoi(argv[1]), N = atoi(argv[2]), K = atoi(argv[3]), bs = 64;
    int rounds = argc > 4 ? atoi(argv[4]) : 3;
    float *x = malloc(M * K * 4), *xi = malloc(M * K * 4), *y = malloc(M * N * 4), *y2 = malloc(M * N * 4), *w = malloc(N * K * 4);
    uint8_t *p = malloc(N * K / 2); float *am = malloc(N * K / bs * 4);
    srand(1);
    for (size_t i = 0; i < M * K; i++) x[i] = rand() / (float)RAND_MAX - 0.5f;
    for (size_t i = 0; i < N * K / 2; i++) p[i] = rand() & 255;
    for (size_t i = 0; i < N * K / bs; i++) am[i] = rand() / (float)RAND_MAX;
    for (size_t e = 0; e < N * K; e++) w[e] = NF[(e & 1) ? (p[e / 2] & 15) : (p[e / 2] >> 4)] * am[e / bs];
    for (size_t c = 0; c < M * K; c += 32) for (int t = 0; t < 16; t++) { xi[c + t] = x[c + 2 * t]; xi[c + 16 + t] = x[c + 2 * t + 1]; }
    openblas_set_num_threads(1);
    double best[3] = { 1e9, 1e9, 1e9 };
    for (int r = 0; r < rounds; r++) {
        for (int q = 0; q < 3; q++) {   // the order turns each round
            int which = (q + r) % 3;
            double t0 = tcpu();
            if (which == 0) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, x, K, w, K, 0, y, N);
            else if (which == 1) csimd_nf4_matmul(y2, N, xi, p, am, M, 0, N, K, bs, NF);
            else if (!csimd_nf4_gemm(y2, N, x, p, am, M, 0, N, N, K, bs, NF)) { puts("nf4_gemm: not available"); return 1; }
            double t = tcpu() - t0;
            if (t < best[which]) best[which] = t;
        }
    }
    double md = 0;
    for (size_t i = 0; i < M * N; i++) { double d = fabs(y[i] - y2[i]); if (d > md) md = d; }
    double f = 2.0 * M * N * K / 1e9;
    printf("M %zu, N %zu, K %zu, one thread, GFLOP/s by CPU time: sgemm %.1f, nf4_matmul %.1f, nf4_gemm %.1f (%.2fx sgemm); max |gemm - sgemm| %.1e\n",
           M, N, K, f / best[0], f / best[1], f / best[2], best[0] / best[2], md);
    return 0;
}
