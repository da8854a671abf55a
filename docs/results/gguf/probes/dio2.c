#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <pthread.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int fd; size_t n, B; int T; char*buf;
void*run(void*a){long k=(long)a; for(size_t o=k*B;o<n;o+=T*B){ if(pwrite(fd,buf,B,o)<0) perror("pw");} return 0;}
int main(int argc,char**argv){
  n=78<<20; B=(size_t)atoi(argv[1])<<20; T=atoi(argv[2]); buf=aligned_alloc(4096,B); memset(buf,0x5a,B);
  fd=open("/tmp/q4probe/dio.bin",O_RDWR|O_CREAT|O_TRUNC|O_DIRECT,0644);
  double t0=now(); pthread_t th[8]; for(long i=0;i<T;i++) pthread_create(&th[i],0,run,(void*)i); for(int i=0;i<T;i++) pthread_join(th[i],0);
  double t1=now(); fsync(fd); double t2=now();
  printf("B=%zuMB T=%d: write %.0f ms (%.0f MB/s), fsync %.0f ms\n",B>>20,T,(t1-t0)*1e3,n/(t1-t0)/1e6,(t2-t1)*1e3); unlink("/tmp/q4probe/dio.bin");
}
