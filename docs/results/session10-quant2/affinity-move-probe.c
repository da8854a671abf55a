// sched_setaffinity move probe (issue 20, session 10): time for a thread to move itself to the other core, and sched_getcpu.
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(){ cpu_set_t all,one; sched_getaffinity(0,sizeof all,&all); double best=1,tot=0; int n=200;
 for(int i=0;i<n;i++){ int c=sched_getcpu(); CPU_ZERO(&one); CPU_SET(1-c,&one); double t0=now(); sched_setaffinity(0,sizeof one,&one); int c2=sched_getcpu(); double t1=now(); sched_setaffinity(0,sizeof all,&all); double t2=now(); if(c2==c) printf("no move\n"); double d=t1-t0; if(d<best)best=d; tot+=d; }
 printf("move: best %.1f us, mean %.1f us\n",best*1e6,tot/n*1e6);
 double t0=now(); int s=0; for(int i=0;i<1000000;i++) s+=sched_getcpu(); printf("sched_getcpu %.1f ns (%d)\n",(now()-t0)*1e3,s&1);
}
