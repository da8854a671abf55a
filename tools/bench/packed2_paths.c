// The packed ternary kernel's paths alone (no Swift, no activation quantization): each path of
// Sources/CSIMD/packed2.c against a plain C sum on odd shapes (exact int32 equality), then the time of
// each path (best of 5 batches; the split over the cores included) on the bench's shapes.
//   cd Sources/CSIMD && clang -O2 -I include -o /tmp/packed2_paths ../../tools/bench/packed2_paths.c *.c -lpthread && /tmp/packed2_paths
// Prefix with `taskset -c 1` for one core (the kernel then starts no helper thread).
#include "CSIMD.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static unsigned long long state = 88172645463325252ULL;
static unsigned rnd(void) { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return (unsigned)state; }
typedef size_t (*path_fn)(int32_t *, size_t, const int8_t *, const uint8_t *, size_t, size_t, size_t);

int main(void) {
    path_fn paths[] = { csimd_packed2_matmul_avx2, csimd_packed2_matmul_vnni_rows, csimd_packed2_matmul_vnni_tiles, csimd_packed2_matmul };
    const char *names[] = { "avx2", "vnni rows", "vnni tiles", "dispatch" };
    size_t checks[][3] = { {1, 1, 128}, {3, 5, 128}, {7, 9, 256}, {5, 13, 384}, {1, 1536, 384}, {2, 384, 1536}, {4, 17, 640}, {9, 33, 384}, {17, 31, 1536}, {40, 130, 1536} };
    int bad = 0;
    for (int s = 0; s < 10; s++) {
        size_t M = checks[s][0], N = checks[s][1], K = checks[s][2];
        int8_t *a = malloc(M * K); uint8_t *w = malloc(N * K / 4); int32_t *ref = malloc(4 * M * N), *o = malloc(4 * M * N);
        for (size_t i = 0; i < M * K; i++) a[i] = (int8_t)rnd();
        for (size_t i = 0; i < N * K / 4; i++) w[i] = (uint8_t)rnd();
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < N; j++) {
                int32_t acc = 0;
                for (size_t p = 0; p < K; p++) acc += a[i * K + p] * (((w[j * K / 4 + p / 128 * 32 + p % 32] >> (2 * (p % 128 / 32))) & 3) - 2);
                ref[i * N + j] = acc;
            }
        for (int q = 0; q < 4; q++) {
            memset(o, 0x55, 4 * M * N);
            size_t done = paths[q](o, N, a, w, M, N, K);
            if (done == 0) continue;   // the CPU lacks the path's instructions
            if (done != N || memcmp(o, ref, 4 * M * N)) { printf("MISMATCH %s M=%zu N=%zu K=%zu\n", names[q], M, N, K); bad = 1; }
        }
        free(a); free(w); free(ref); free(o);
    }
    printf(bad ? "FAILED\n" : "every path equals the plain sum\n");
    size_t shapes[][3] = { {1, 384, 384}, {1, 1536, 384}, {1, 384, 1536}, {1, 5632, 2048}, {16, 1536, 384}, {16, 384, 1536}, {128, 1536, 384}, {128, 384, 1536}, {128, 5632, 2048} };
    for (int s = 0; s < 9; s++) {
        size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        int8_t *a = malloc(M * K); uint8_t *w = malloc(N * K / 4); int32_t *o = malloc(4 * M * N);
        for (size_t i = 0; i < M * K; i++) a[i] = (int8_t)rnd();
        for (size_t i = 0; i < N * K / 4; i++) w[i] = (uint8_t)rnd();
        printf("M=%3zu N=%4zu K=%4zu:", M, N, K);
        for (int q = 0; q < 3; q++) {
            int calls = (int)(2e7 / (double)(M * N * K)) + 1;
            double best = 1e9;
            for (int r = 0; r < 5; r++) {
                double t0 = now();
                for (int c = 0; c < calls; c++) paths[q](o, N, a, w, M, N, K);
                double t = (now() - t0) / calls;
                if (t < best) best = t;
            }
            printf("  %s %.1f µs (%.0f GMAC/s)", names[q], best * 1e6, M * N * K / best * 1e-9);
        }
        printf("\n");
        free(a); free(w); free(o);
    }
    return bad;
}
