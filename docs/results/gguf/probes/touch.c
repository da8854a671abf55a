#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
static double cpu(){struct timespec t;clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(int argc,char**argv){
  size_t n=(size_t)atoi(argv[1])<<20; int hp=atoi(argv[2]);
  for(int r=0;r<3;r++){
    char*p=mmap(0,n,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);
    if(hp) madvise(p,n,MADV_HUGEPAGE);
    double c0=cpu(); memset(p,1,n); double c1=cpu(); memset(p,2,n); double c2=cpu();
    printf("hp=%d %zu MB: first touch %.1f ms (%.2f GB/s), second %.1f ms\n",hp,n>>20,(c1-c0)*1e3,n/(c1-c0)/1e9,(c2-c1)*1e3);
    munmap(p,n);
  }
}
