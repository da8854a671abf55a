// One thread, N rows of K f32: GEMV variants vs readSum on 4K pages and on THP, alternating; best and median GB/s.
#include "CSIMD.h"
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#define T __attribute__((target("avx512f,avx512vl,avx2,fma")))
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
// V0: blocks of 4 rows, prefetch same columns P rows ahead (current gemv.c at M=1)
T static void v0(float *y, const float *x, const float *w, size_t N, size_t K, size_t P) {
  for (size_t j = 0; j + 4 <= N; j += 4) {
    __m512 acc[4]; const float *pf[4];
    for (int c = 0; c < 4; c++) { acc[c] = _mm512_setzero_ps(); pf[c] = w + (j + c + P < N ? j + c + P : N - 1) * K; }
    for (size_t k = 0; k < K; k += 16) {
      __mmask16 m = K - k >= 16 ? 0xFFFF : (__mmask16)((1u << (K - k)) - 1);
      __m512 xv = _mm512_maskz_loadu_ps(m, x + k);
      for (int c = 0; c < 4; c++) { if (P) _mm_prefetch((const char *)(pf[c] + k), _MM_HINT_T1);
        acc[c] = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m, w + (j + c) * K + k), acc[c]); }
    }
    for (int c = 0; c < 4; c++) y[j + c] = _mm512_reduce_add_ps(acc[c]);
  }
}
// V1: rows in memory order, prefetch D floats ahead (0: none), 2 accumulators
T static void v1(float *y, const float *x, const float *w, size_t N, size_t K, size_t D) {
  const float *last = w + N * K - 16; size_t K32 = K / 32 * 32;
  for (size_t j = 0; j < N; j++) {
    const float *r = w + j * K; __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(); size_t k = 0;
    for (; k < K32; k += 32) {
      if (D) { const float *p = r + k + D; if (p > last) p = last; _mm_prefetch((const char *)p, _MM_HINT_T1); _mm_prefetch((const char *)(p + 16 <= last ? p + 16 : last), _MM_HINT_T1); }
      a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k), _mm512_loadu_ps(r + k), a0);
      a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k + 16), _mm512_loadu_ps(r + k + 16), a1);
    }
    for (; k < K; k += 16) { __mmask16 m = K - k >= 16 ? 0xFFFF : (__mmask16)((1u << (K - k)) - 1);
      a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + k), _mm512_maskz_loadu_ps(m, r + k), a0); }
    y[j] = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
  }
}
// V2: blocks of 4 rows, but prefetch as one stream: D floats ahead of the block's current position in row c
T static void v2(float *y, const float *x, const float *w, size_t N, size_t K, size_t D) {
  const float *last = w + N * K - 16;
  for (size_t j = 0; j + 4 <= N; j += 4) {
    __m512 acc[4];
    for (int c = 0; c < 4; c++) acc[c] = _mm512_setzero_ps();
    for (size_t k = 0; k < K; k += 16) {
      __mmask16 m = K - k >= 16 ? 0xFFFF : (__mmask16)((1u << (K - k)) - 1);
      __m512 xv = _mm512_maskz_loadu_ps(m, x + k);
      for (int c = 0; c < 4; c++) { const float *p = w + (j + c) * K + k + D; _mm_prefetch((const char *)(p < last ? p : last), _MM_HINT_T2);
        acc[c] = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m, w + (j + c) * K + k), acc[c]); }
    }
    for (int c = 0; c < 4; c++) y[j + c] = _mm512_reduce_add_ps(acc[c]);
  }
}
// V3: rows in memory order, one accumulator a row (the arithmetic of v0), no prefetch
T static void v3(float *y, const float *x, const float *w, size_t N, size_t K) {
  for (size_t j = 0; j < N; j++) {
    const float *r = w + j * K; __m512 a = _mm512_setzero_ps();
    for (size_t k = 0; k < K; k += 16) { __mmask16 m = K - k >= 16 ? 0xFFFF : (__mmask16)((1u << (K - k)) - 1);
      a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + k), _mm512_maskz_loadu_ps(m, r + k), a); }
    y[j] = _mm512_reduce_add_ps(a);
  }
}
static int cmp(const void*a,const void*b){double d=*(double*)a-*(double*)b; return d<0?-1:d>0;}
int main(int argc,char**argv){
  size_t K=argc>3?atoi(argv[3]):576, N=(size_t)atoi(argv[1]); int R=atoi(argv[2]);
  size_t b=(N*K*4+(2<<20)-1)/(2<<20)*(2<<20);
  float *w[2]; w[0]=aligned_alloc(2<<20,b); madvise(w[0],b,MADV_NOHUGEPAGE); w[1]=aligned_alloc(2<<20,b); madvise(w[1],b,MADV_HUGEPAGE);
  for(int v=0;v<2;v++) for(size_t i=0;i<N*K;i++) w[v][i]=(float)(i%1000)*1e-4f;
  float *x=malloc(K*4), *y=malloc(N*4); for(size_t i=0;i<K;i++) x[i]=0.001f*i;
  const char *names[]={"read","v0 pf16","v0 pf0","v1 D=16r","v1 D=0","v1 D=4r","v1 D=64r","v2 T2 16r","v3 1acc"};
  enum{NV=9}; double t[2][NV][256]; float s=0;
  for(int r=0;r<R;r++) for(int pg=0;pg<2;pg++) for(int v=0;v<NV;v++){
    const float *W=w[pg]; double t0=now();
    switch(v){case 0: s+=csimd_read_sum(W,N*K); break; case 1: v0(y,x,W,N,K,16); break; case 2: v0(y,x,W,N,K,0); break;
      case 3: v1(y,x,W,N,K,16*K); break; case 4: v1(y,x,W,N,K,0); break; case 5: v1(y,x,W,N,K,4*K); break; case 6: v1(y,x,W,N,K,64*K); break; case 7: v2(y,x,W,N,K,16*K); break; case 8: v3(y,x,W,N,K); break;}
    t[pg][v][r]=now()-t0; s+=y[N/2]; }
  double B=N*K*4.0;
  for(int v=0;v<NV;v++){ printf("%-10s",names[v]); for(int pg=0;pg<2;pg++){ qsort(t[pg][v],R,8,cmp); printf("  %s best %5.1f med %5.1f GB/s",pg?"THP":"4K ",B/t[pg][v][0]/1e9,B/t[pg][v][R/2]/1e9);} printf("\n"); }
  printf("(%g) load %s\n", s, ""); return 0;
}
