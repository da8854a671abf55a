#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static double cpu(){struct timespec t;clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static void smaps(void){FILE*f=fopen("/proc/self/smaps_rollup","r");char l[256];while(fgets(l,256,f)) if(strstr(l,"FilePmd")||strstr(l,"Rss")) fputs(l,stdout);fclose(f);}
int main(int argc,char**argv){
  int fd=open(argv[1],O_RDONLY); struct stat st; fstat(fd,&st); size_t n=st.st_size;
  int align=atoi(argv[2]); int hp=argc>3?atoi(argv[3]):0;
  char*p;
  if(align){ size_t A=2<<20; char*r=mmap(0,n+A,PROT_NONE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE,-1,0);
    char*a=(char*)(((uintptr_t)r+A-1)&~(A-1)); p=mmap(a,n,PROT_READ,MAP_PRIVATE|MAP_FIXED,fd,0);
  } else p=mmap(0,n,PROT_READ,MAP_PRIVATE,fd,0);
  if(hp) madvise(p,n,MADV_HUGEPAGE);
  printf("addr %p mod2M %lu\n",p,(uintptr_t)p%(2<<20));
  double t0=now(),c0=cpu();
  size_t S=4<<20; volatile float s=0;
  for(size_t o=0;o<n;o+=S){size_t k=n-o<S?n-o:S; madvise(p+o,k,22); for(size_t i=0;i<k;i+=4096) s+=*(float*)(p+o+i); if(o==64<<20) smaps(); madvise(p+o,k,MADV_DONTNEED);}
  double t1=now(),c1=cpu();
  printf("populate+touch+drop %.3f s cpu %.3f\n",t1-t0,c1-c0);
}
