#include "CSIMD.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(int argc,char**argv){
  size_t K=576, N=(size_t)atoi(argv[1]); // rows of K
  int pf=argc>2;
  uint16_t *w=aligned_alloc(64,N*K*2); for(size_t i=0;i<N*K;i++) w[i]=0x3f80+(i&7);
  float *x=malloc(K*4), *y=malloc(N*4); for(size_t i=0;i<K;i++) x[i]=0.001f*i;
  double bk=1e9,br=1e9; float s=0;
  for(int r=0;r<15;r++){
    double t0=now(); csimd_half_matmul(y,N,x,w,1,0,N,K,CSIMD_HALF_BF16); double t1=now();
    s+=csimd_read_sum((const float*)w,N*K/2); double t2=now();
    if(t1-t0<bk)bk=t1-t0; if(t2-t1<br)br=t2-t1;
  }
  double bytes=N*K*2.0;
  printf("N %zu: bf16 kernel 1 thread %.1f GB/s, readSum 1 thread %.1f GB/s (%g)\n",N,bytes/bk/1e9,bytes/br/1e9,s+y[0]);
}
