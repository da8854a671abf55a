// Session 10 (issue 20): SmolLM2 f32 decode step's linears on the pool vs a 2-thread read; usage: step ROUNDS m|c|h (malloc, malloc + MADV_COLLAPSE, 2 MB-aligned + MADV_HUGEPAGE).
// Build: clang -O2 -I Sources/CSIMD/include step.c Sources/CSIMD/*.c -lpthread -lm
// Microbench: SmolLM2-135M f32 decode step's linears via csimd_sgemv_split_many vs 2-thread read of the same arrays.
#include "CSIMD.h"
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <sys/mman.h>
static int huge; static int collfail;
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static double cpunow(void){struct timespec t;clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec*1e-9;}
#define L 30
enum { H = 576, KV = 192, F = 1536, V = 49152 };
static float *W[L][7], *head;
static size_t rowsOf[7] = {H, KV, KV, H, F, F, H}, colsOf[7] = {H, H, H, H, H, H, F};
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
static float *alloc_w(size_t n){ float *p;
  if(huge=='h'){ size_t b=(n*4+(2<<20)-1)/(2<<20)*(2<<20); p=aligned_alloc(2<<20,b); madvise(p,b,MADV_HUGEPAGE); }
  else { p=(float*)((char*)malloc(n*4+64)+32); }
  for(size_t i=0;i<n;i++) p[i]=(float)((i*2654435761u)%1000)*1e-4f;
  if(huge=='c'){ uintptr_t a=((uintptr_t)p)&~(uintptr_t)((2<<20)-1), e=((uintptr_t)(p+n)+(2<<20)-1)&~(uintptr_t)((2<<20)-1); for(;a<e;a+=2<<20) if(madvise((void*)a,2<<20,MADV_COLLAPSE)) collfail++; }
  return p; }
typedef struct { int t; } targ;
static volatile float sink[2];
static void *readT(void *a){ int t=((targ*)a)->t; float s=0;
  for(int l=0;l<L;l++) for(int q=0;q<7;q++){ size_t n=rowsOf[q]*colsOf[q]; size_t lo=n*t/2, hi=n*(t+1)/2; s+=csimd_read_sum(W[l][q]+lo,hi-lo);} 
  size_t n=(size_t)V*H; s+=csimd_read_sum(head+n*t/2, n/2); sink[t]=s; return NULL; }
static double readpass(void){ pthread_t th; targ a0={0},a1={1}; double t0=now(); pthread_create(&th,NULL,readT,&a1); readT(&a0); pthread_join(th,NULL); return now()-t0; }
static float x[F], y[V], y2[V];
static double step(void){
  double t0=now();
  for(int l=0;l<L;l++){
    csimd_out_t qkv[3]={{y,0,W[l][0],H},{y+H,0,W[l][1],KV},{y+H+KV,0,W[l][2],KV}};
    csimd_sgemv_split_many(qkv,3,x,1,H,2);
    csimd_out_t o[1]={{y,0,W[l][3],H}}; csimd_sgemv_split_many(o,1,x,1,H,2);
    csimd_out_t gu[2]={{y,0,W[l][4],F},{y+F,0,W[l][5],F}}; csimd_sgemv_split_many(gu,2,x,1,H,2);
    csimd_out_t d[1]={{y,0,W[l][6],H}}; csimd_sgemv_split_many(d,1,x,1,F,2);
  }
  csimd_out_t hd[1]={{y,0,head,V}}; csimd_sgemv_split_many(hd,1,x,1,H,2);
  return now()-t0;
}
static double headonly(void){ double t0=now(); csimd_out_t hd[1]={{y,0,head,V}}; csimd_sgemv_split_many(hd,1,x,1,H,2); return now()-t0; }
static void *f(void*a){ int t=*(int*)a; size_t n=(size_t)V*H; sink[t]=csimd_read_sum(head+n*t/2,n/2); return NULL;}
static double headread(void){ pthread_t th; double t0=now();
  int a1=1,a0=0; pthread_create(&th,NULL,f,&a1); f(&a0); pthread_join(th,NULL); return now()-t0; }
static int cmp(const void*a,const void*b){double d=*(double*)a-*(double*)b; return d<0?-1:d>0;}
int main(int argc,char**argv){
  int rounds = argc>1?atoi(argv[1]):20; huge = argc>2?argv[2][0]:'m';
  double bytes=0;
  for(int l=0;l<L;l++) for(int q=0;q<7;q++){ W[l][q]=alloc_w(rowsOf[q]*colsOf[q]); bytes+=4.0*rowsOf[q]*colsOf[q]; }
  head=alloc_w((size_t)V*H); bytes+=4.0*V*H;
  for(int i=0;i<F;i++) x[i]=0.001f*(i%97);
  double s[200], r[200], h[200], hr[200];
  step(); readpass();
  double c0=cpunow(), cs=0, cr=0;
  for(int i=0;i<rounds;i++){ double a=cpunow(); s[i]=step(); double b=cpunow(); r[i]=readpass(); double c=cpunow(); h[i]=headonly(); hr[i]=headread(); cs+=b-a; cr+=c-b; }
  (void)c0;
  qsort(s,rounds,8,cmp); qsort(r,rounds,8,cmp); qsort(h,rounds,8,cmp); qsort(hr,rounds,8,cmp);
  {FILE*f=fopen("/proc/self/smaps_rollup","r"); char l[256]; while(fgets(l,256,f)) if(strstr(l,"AnonHuge")) printf("%c fails %d %s",huge,collfail,l); fclose(f);}
  printf("bytes %.0f MB; step best %.2f med %.2f ms (%.1f / %.1f GB/s); read best %.2f med %.2f ms (%.1f / %.1f GB/s); step/read best %.3f med %.3f; cpu step %.2f read %.2f ms\n",
    bytes/1e6, s[0]*1e3, s[rounds/2]*1e3, bytes/s[0]/1e9, bytes/s[rounds/2]/1e9, r[0]*1e3, r[rounds/2]*1e3, bytes/r[0]/1e9, bytes/r[rounds/2]/1e9, r[0]/s[0], r[rounds/2]/s[rounds/2], cs/rounds*1e3, cr/rounds*1e3);
  double hb=4.0*V*H;
  printf("head: gemv best %.2f med %.2f ms (%.1f GB/s), read best %.2f med %.2f ms (%.1f GB/s); ratio best %.3f med %.3f\n",
    h[0]*1e3,h[rounds/2]*1e3,hb/h[0]/1e9,hr[0]*1e3,hr[rounds/2]*1e3,hb/hr[0]/1e9,hr[0]/h[0],hr[rounds/2]/h[rounds/2]);
  (void)y2; return 0;
}
