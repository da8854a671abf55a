#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static double cpu(){struct timespec t;clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(int argc,char**argv){
  const char*mode=argv[1]; const char*path=argv[2]; size_t n=strtoull(argv[3],0,10);
  size_t B=(getenv("MB")?atoi(getenv("MB")):8)<<20; char*buf=aligned_alloc(4096,B); memset(buf,0x5a,B);
  double t0=now(),c0=cpu();
  int fd=open(path,O_RDWR|O_CREAT|O_TRUNC,0644);
  if(!strcmp(mode,"write")){
    for(size_t d=0;d<n;){size_t k=n-d<B?n-d:B; d+=write(fd,buf,k); if(argc>4) sync_file_range(fd,d-k,k,SYNC_FILE_RANGE_WRITE);}
  } else if(!strcmp(mode,"mmap")||!strcmp(mode,"mmapfa")){
    if(!strcmp(mode,"mmapfa")) fallocate(fd,0,0,n); else ftruncate(fd,n);
    char*p=mmap(0,n,PROT_READ|PROT_WRITE,MAP_SHARED,fd,0);
    for(size_t d=0;d<n;d+=B){size_t k=n-d<B?n-d:B; memcpy(p+d,buf,k); if(argc>4) sync_file_range(fd,d,k,SYNC_FILE_RANGE_WRITE);}
    munmap(p,n);
  } else if(!strcmp(mode,"direct")){
    close(fd); fd=open(path,O_RDWR|O_CREAT|O_TRUNC|O_DIRECT,0644);
    for(size_t d=0;d<n;){size_t k=n-d<B?n-d:B; k=(k+4095)&~4095UL; ssize_t w=write(fd,buf,k); if(w<0){perror("w");return 1;} d+=w;}
    ftruncate(fd,n);
  } else if(!strcmp(mode,"pwrite")){
    ftruncate(fd,n);
    for(size_t d=0;d<n;d+=B){size_t k=n-d<B?n-d:B; pwrite(fd,buf,k,d);}
  }
  double t1=now(),c1=cpu();
  fsync(fd); close(fd);
  double t2=now(),c2=cpu();
  printf("%s: write %.3f s (cpu %.3f), fsync %.3f s (cpu %.3f)\n",mode,t1-t0,c1-c0,t2-t1,c2-c1);
  unlink(path);
}
