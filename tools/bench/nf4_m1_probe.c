// One-core probe of the M = 1 NF4 product (CSIMD/nf4_matmul.c) on SmolLM2's shapes, by thread CPU time
// (best of R, weights cycled through > 64 MB so they come from memory): the kernel as built, two variants
// (v2: the scaled table once per 64 columns, bitwise equal — the kernel itself does this since session 12; v3: 64 columns from one 32-byte load widened
// word → dword, x reordered per 64 columns), and a plain read of the same bytes (BENCHMARKS.md "NF4 head").
// Build and run from the repository root:
//   clang -O2 -ISources/CSIMD/include tools/bench/nf4_m1_probe.c Sources/CSIMD/cpu.c Sources/CSIMD/pool.c -o /tmp/nf4_m1_probe -lpthread -lm
//   for s in "49152 576" "1536 576" "576 1536" "192 576"; do /tmp/nf4_m1_probe $s 60; done
#include "../../Sources/CSIMD/nf4_matmul.c"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <math.h>
static double tcpu(void){struct timespec t;clock_gettime(CLOCK_THREAD_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec*1e-9;}
// Variant: M = 1, C weight rows, 64 columns (one scaled table per row per 64 when shift >= 6).
TARGET512 static inline __attribute__((always_inline))
void v2_block(float *y, const float *x, size_t K, const uint8_t *packed, const float *absmax, size_t j, unsigned shift, __m512 table, int C) {
    __m512 acc[8];
    for (int c = 0; c < C; c++) acc[c] = _mm512_setzero_ps();
    for (size_t k = 0; k < K; k += 64) {
        __m512 xe0 = _mm512_loadu_ps(x + k), xo0 = _mm512_loadu_ps(x + k + 16), xe1 = _mm512_loadu_ps(x + k + 32), xo1 = _mm512_loadu_ps(x + k + 48);
        for (int c = 0; c < C; c++) {
            size_t at = (j + c) * K + k;
            __m512 t = _mm512_mul_ps(table, _mm512_set1_ps(absmax[at >> shift]));
            __m512i c0 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(packed + at / 2)));
            __m512i c1 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(packed + at / 2 + 16)));
            acc[c] = _mm512_fmadd_ps(xe0, _mm512_permutexvar_ps(_mm512_srli_epi32(c0, 4), t), acc[c]);
            acc[c] = _mm512_fmadd_ps(xo0, _mm512_permutexvar_ps(c0, t), acc[c]);
            acc[c] = _mm512_fmadd_ps(xe1, _mm512_permutexvar_ps(_mm512_srli_epi32(c1, 4), t), acc[c]);
            acc[c] = _mm512_fmadd_ps(xo1, _mm512_permutexvar_ps(c1, t), acc[c]);
        }
    }
    for (int c = 0; c < C; c++) y[j + c] = _mm512_reduce_add_ps(acc[c]);
}
TARGET512 static void v2(float *y, const float *x, const uint8_t *packed, const float *absmax, size_t n0, size_t n1, size_t K, unsigned shift, const float *values, int C) {
    const __m512 table = _mm512_loadu_ps(values);
    size_t j = n0;
    if (C == 8) for (; j + 8 <= n1; j += 8) v2_block(y, x, K, packed, absmax, j, shift, table, 8);
    for (; j + 4 <= n1; j += 4) v2_block(y, x, K, packed, absmax, j, shift, table, 4);
    for (; j < n1; j++) v2_block(y, x, K, packed, absmax, j, shift, table, 1);
}

// Variant 3: 64 columns per step from one 32-byte load widened word -> dword (4 nibbles a lane);
// xr holds each 64-column chunk reordered: 16 of element 4i+1, 4i, 4i+3, 4i+2 (shifts 0, 4, 8, 12).
TARGET512 static inline __attribute__((always_inline))
void v3_block(float *y, const float *x, size_t K, const uint8_t *packed, const float *absmax, size_t j, unsigned shift, __m512 table, int C) {
    __m512 acc[4];
    for (int c = 0; c < C; c++) acc[c] = _mm512_setzero_ps();
    for (size_t k = 0; k < K; k += 64) {
        __m512 x0 = _mm512_loadu_ps(x + k), x1 = _mm512_loadu_ps(x + k + 16), x2 = _mm512_loadu_ps(x + k + 32), x3 = _mm512_loadu_ps(x + k + 48);
        for (int c = 0; c < C; c++) {
            size_t at = (j + c) * K + k;
            __m512 t = _mm512_mul_ps(table, _mm512_set1_ps(absmax[at >> shift]));
            __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(packed + at / 2)));
            acc[c] = _mm512_fmadd_ps(x0, _mm512_permutexvar_ps(w, t), acc[c]);
            acc[c] = _mm512_fmadd_ps(x1, _mm512_permutexvar_ps(_mm512_srli_epi32(w, 4), t), acc[c]);
            acc[c] = _mm512_fmadd_ps(x2, _mm512_permutexvar_ps(_mm512_srli_epi32(w, 8), t), acc[c]);
            acc[c] = _mm512_fmadd_ps(x3, _mm512_permutexvar_ps(_mm512_srli_epi32(w, 12), t), acc[c]);
        }
    }
    for (int c = 0; c < C; c++) y[j + c] = _mm512_reduce_add_ps(acc[c]);
}
TARGET512 static void v3(float *y, const float *x, const uint8_t *packed, const float *absmax, size_t n0, size_t n1, size_t K, unsigned shift, const float *values) {
    const __m512 table = _mm512_loadu_ps(values);
    size_t j = n0;
    for (; j + 4 <= n1; j += 4) v3_block(y, x, K, packed, absmax, j, shift, table, 4);
    for (; j < n1; j++) v3_block(y, x, K, packed, absmax, j, shift, table, 1);
}
TARGET512 static float readsum(const uint8_t*p,size_t n){__m512i a=_mm512_setzero_si512();for(size_t i=0;i<n;i+=64)a=_mm512_add_epi32(a,_mm512_loadu_si512(p+i));return (float)_mm512_reduce_add_epi32(a);}
int main(int argc,char**argv){
  size_t N=atol(argv[1]),K=atol(argv[2]); int reps=atoi(argv[3]);
  size_t copies = (64u<<20)/(N*K/2)+1;
  uint8_t **P=malloc(copies*sizeof(void*)); float **A=malloc(copies*sizeof(void*));
  for(size_t c=0;c<copies;c++){P[c]=malloc(N*K/2);A[c]=malloc(N*K/64*4);for(size_t i=0;i<N*K/2;i++)P[c][i]=rand();for(size_t i=0;i<N*K/64;i++)A[c][i]=0.01f*(rand()%100);}
  float *x=malloc(K*4),*y=malloc(N*4),*y2=malloc(N*4),vals[16];for(int i=0;i<16;i++)vals[i]=(i-8)/8.f;for(size_t i=0;i<K;i++)x[i]=rand()/(float)RAND_MAX;
  double best=1e9,b2=1e9,b8=1e9,bestr=1e9; volatile float s=0;
  for(int r=0;r<reps;r++){ size_t c=r%copies; double t=tcpu(); csimd_nf4_matmul(y,N,x,P[c],A[c],1,0,N,K,64,vals); t=tcpu()-t; if(t<best)best=t;
     c=(r+1)%copies; t=tcpu(); v2(y2,x,P[c],A[c],0,N,K,6,vals,4); t=tcpu()-t; if(t<b2)b2=t;
     c=(r+2)%copies; t=tcpu(); v2(y2,x,P[c],A[c],0,N,K,6,vals,8); t=tcpu()-t; if(t<b8)b8=t;
     c=(r+3)%copies; t=tcpu(); s+=readsum(P[c],N*K/2); t=tcpu()-t; if(t<bestr)bestr=t;}
  double b3=1e9; float *xr=malloc(K*4); int off[4]={1,0,3,2};
  for(size_t k=0;k<K;k+=64) for(int sh=0;sh<4;sh++) for(int i=0;i<16;i++) xr[k+16*sh+i]=x[k+4*i+off[sh]];
  // x in the current kernel's layout: per 32 columns, 16 even then 16 odd
  float *xi=malloc(K*4); for(size_t k=0;k<K;k+=32) for(int i=0;i<16;i++){xi[k+i]=x[k+2*i]; xi[k+16+i]=x[k+2*i+1];}
  for(int r=0;r<reps;r++){ size_t c=r%copies; double t=tcpu(); v3(y2,xr,P[c],A[c],0,N,K,6,vals); t=tcpu()-t; if(t<b3)b3=t; }
  csimd_nf4_matmul(y,N,xi,P[0],A[0],1,0,N,K,64,vals); v3(y2,xr,P[0],A[0],0,N,K,6,vals);
  double md=0; for(size_t i=0;i<N;i++){double d=fabs(y[i]-y2[i]); if(d>md)md=d;}
  printf("v3 %.3f ms (%.1f GB/s), max |diff| vs now %.3g\n", b3*1e3, N*K/2/b3/1e9, md);
  csimd_nf4_matmul(y,N,x,P[0],A[0],1,0,N,K,64,vals); v2(y2,x,P[0],A[0],0,N,K,6,vals,4);
  int same4 = memcmp(y,y2,N*4)==0; v2(y2,x,P[0],A[0],0,N,K,6,vals,8); int same8 = memcmp(y,y2,N*4)==0;
  printf("N=%zu K=%zu: now %.3f ms (%.1f GB/s), v2 C=4 %.3f ms (%.1f GB/s, bitwise %s), v2 C=8 %.3f ms (%.1f GB/s, %s), read %.3f ms (%.1f GB/s)\n",N,K,
    best*1e3,N*K/2/best/1e9,b2*1e3,N*K/2/b2/1e9,same4?"same":"DIFF",b8*1e3,N*K/2/b8/1e9,same8?"same":"DIFF",bestr*1e3,N*K/2/bestr/1e9);
}
