// Read bandwidth of the machine: T threads each summing its part of one buffer of MB megabytes with
// CSIMD's readSum (huge pages by csimd_alloc_huge unless HUGE=0), best and median of R passes. Sizes
// below the L3 read from cache; from ≈ 128 MB on, from memory (BENCHMARKS.md, session 12).
//   clang -O2 -ISources/CSIMD/include tools/bench/read_bandwidth_probe.c Sources/CSIMD/read_sum.c Sources/CSIMD/huge_pages.c Sources/CSIMD/nf4_matmul.c Sources/CSIMD/pool.c Sources/CSIMD/cpu.c -o /tmp/read_bandwidth_probe -lpthread -lm
//   for mb in 32 64 128 512; do for t in 1 2; do /tmp/read_bandwidth_probe $mb $t 15; done; done
#include "CSIMD.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static int by_value(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }
static float *buf;
static size_t n;
static long T;
static volatile float sink[8];
static void *part(void *arg) { long t = (long)arg; sink[t] = csimd_read_sum(buf + n * t / T, n * (t + 1) / T - n * t / T); return NULL; }

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: read_bandwidth_probe MB threads reps\n"); return 2; }
    size_t bytes = (size_t)atol(argv[1]) << 20;
    T = atol(argv[2]);
    int reps = atoi(argv[3]), huge = !(getenv("HUGE") && getenv("HUGE")[0] == '0');
    if (T < 1 || T > 8 || reps < 1 || reps > 100) return 2;
    n = bytes / 4;
    buf = huge ? csimd_alloc_huge(bytes) : malloc(bytes);
    srand(2);
    for (size_t i = 0; i < n; i++) buf[i] = (float)rand();   // distinct pages (no sharing of equal pages)
    double t[100];
    for (int r = 0; r < reps; r++) {
        pthread_t th[8];
        double s = now();
        for (long i = 1; i < T; i++) pthread_create(&th[i], NULL, part, (void *)i);
        part(0);
        for (long i = 1; i < T; i++) pthread_join(th[i], NULL);
        t[r] = now() - s;
    }
    qsort(t, reps, sizeof t[0], by_value);
    printf("%zu MB, %ld thread(s), huge pages %d: best %.1f GB/s, median %.1f GB/s\n", bytes >> 20, T, huge, bytes / t[0] / 1e9, bytes / t[reps / 2] / 1e9);
}
