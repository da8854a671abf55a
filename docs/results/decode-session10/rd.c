#include "CSIMD.h"
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sys/mman.h>
#define T __attribute__((target("avx512f,avx512vl,avx2,fma")))
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
T static float r1(const float *x, size_t n){ __m512 a=_mm512_setzero_ps(); for(size_t i=0;i+16<=n;i+=16) a=_mm512_add_ps(a,_mm512_loadu_ps(x+i)); return _mm512_reduce_add_ps(a);}
T static float r2(const float *x, size_t n){ __m512 a=_mm512_setzero_ps(),b=a; for(size_t i=0;i+32<=n;i+=32){ a=_mm512_add_ps(a,_mm512_loadu_ps(x+i)); b=_mm512_add_ps(b,_mm512_loadu_ps(x+i+16));} return _mm512_reduce_add_ps(_mm512_add_ps(a,b));}
T static float rrow(const float *x, size_t n){ float s=0; for(size_t j=0;j+576<=n;j+=576){ __m512 a=_mm512_setzero_ps(); for(size_t k=0;k<576;k+=16) a=_mm512_add_ps(a,_mm512_loadu_ps(x+j+k)); s+=_mm512_reduce_add_ps(a);} return s;}
T static float rfma(const float *x, size_t n, const float *v){ float s=0; for(size_t j=0;j+576<=n;j+=576){ __m512 a=_mm512_setzero_ps(); for(size_t k=0;k<576;k+=16) a=_mm512_fmadd_ps(_mm512_loadu_ps(v+k),_mm512_loadu_ps(x+j+k),a); s+=_mm512_reduce_add_ps(a);} return s;}
static int cmp(const void*a,const void*b){double d=*(double*)a-*(double*)b; return d<0?-1:d>0;}
int main(int argc,char**argv){ size_t N=atoi(argv[1])*576; int R=atoi(argv[2]); size_t b=(N*4+(2<<20)-1)/(2<<20)*(2<<20);
  float *w[2]; w[0]=aligned_alloc(2<<20,b); madvise(w[0],b,MADV_NOHUGEPAGE); w[1]=aligned_alloc(2<<20,b); madvise(w[1],b,MADV_HUGEPAGE);
  for(int v=0;v<2;v++) for(size_t i=0;i<N;i++) w[v][i]=(float)(i%1000)*1e-4f;
  float v[576]; for(int i=0;i<576;i++) v[i]=1;
  const char*nm[]={"readSum","1 acc","2 acc","per row","fma per row"}; enum{NV=5}; static double t[2][NV][256]; float s=0;
  for(int r=0;r<R;r++) for(int pg=0;pg<2;pg++) for(int k=0;k<NV;k++){ double t0=now(); const float*W=w[pg];
    switch(k){case 0:s+=csimd_read_sum(W,N);break;case 1:s+=r1(W,N);break;case 2:s+=r2(W,N);break;case 3:s+=rrow(W,N);break;case 4:s+=rfma(W,N,v);break;} t[pg][k][r]=now()-t0;}
  for(int k=0;k<NV;k++){ printf("%-12s",nm[k]); for(int pg=0;pg<2;pg++){ qsort(t[pg][k],R,8,cmp); printf("  %s best %5.1f med %5.1f",pg?"THP":"4K ",N*4.0/t[pg][k][0]/1e9,N*4.0/t[pg][k][R/2]/1e9);} printf("\n"); } printf("%g\n",s); }
