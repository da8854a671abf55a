// Whether the machine's two vCPUs share a core's execution units (SMT siblings): the same FMA-only and
// VPERMPS-only loops on one thread, then on two at once; scaling 2.0 means two cores of their own
// (BENCHMARKS.md, session 12).
//   clang -O2 tools/bench/core_scaling_probe.c -o /tmp/core_scaling_probe -lpthread && /tmp/core_scaling_probe
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

typedef struct { int permute; float out; } loop_t;

__attribute__((target("avx512f"))) static void *spin(void *arg) {
    loop_t *l = arg;
    __m512 a[8];
    for (int i = 0; i < 8; i++) a[i] = _mm512_set1_ps((float)i);
    const __m512 b = _mm512_set1_ps(1.0000001f), c = _mm512_set1_ps(1e-7f);
    const __m512i idx = _mm512_set1_epi32(3);
    for (long it = 0; it < 25000000L; it++)
        for (int i = 0; i < 8; i++) a[i] = l->permute ? _mm512_permutexvar_ps(idx, a[i]) : _mm512_fmadd_ps(a[i], b, c);
    float s = 0;
    for (int i = 0; i < 8; i++) s += _mm512_reduce_add_ps(a[i]);
    l->out = s;
    return NULL;
}

int main(void) {
    for (int permute = 0; permute < 2; permute++) {
        loop_t a = { permute, 0 }, b = { permute, 0 };
        double t = now();
        spin(&a);
        double one = now() - t;
        pthread_t th;
        t = now();
        pthread_create(&th, NULL, spin, &b);
        spin(&a);
        pthread_join(th, NULL);
        double two = now() - t;
        printf("%s: one thread %.3f s, two threads (each the same loop) %.3f s -> scaling %.2f\n", permute ? "VPERMPS" : "FMA", one, two, 2 * one / two);
    }
}
