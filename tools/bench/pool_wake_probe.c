// Where and how fast a sleeping helper thread starts when another thread wakes it while busy (the case of
// CSIMD pool.c's helpers after ≈ 0.1 ms without work): for several idle times, the helper is woken by a
// condition variable while the waker spins (as a caller running its own chunk would), unpinned or pinned
// first to a core other than the waker's (sched_setaffinity on its thread id, as pool.c now does).
// Printed per wake: µs until the helper ran, and the cores of waker and helper.
//   cc -O2 tools/bench/pool_wake_probe.c -o /tmp/pool_wake_probe -lpthread && /tmp/pool_wake_probe
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static atomic_int seq, helper_tid, helper_cpu;
static atomic_ulong woke_at;

static unsigned long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000UL + t.tv_nsec;
}

static void *helper(void *unused) {
    (void)unused;
    atomic_store(&helper_tid, (int)syscall(SYS_gettid));
    int seen = 0;
    for (;;) {
        pthread_mutex_lock(&mu);
        while (atomic_load(&seq) == seen) pthread_cond_wait(&cv, &mu);
        seen = atomic_load(&seq);
        pthread_mutex_unlock(&mu);
        atomic_store(&helper_cpu, sched_getcpu());
        atomic_store(&woke_at, now_ns());
    }
    return NULL;
}

int main(void) {
    pthread_t t;
    pthread_create(&t, NULL, helper, NULL);
    while (atomic_load(&helper_tid) == 0) usleep(100);
    const double idle[] = { 0.002, 0.02, 0.15 };
    for (int pinned = 0; pinned < 2; pinned++) {
        if (!pinned) {   // undo any earlier pinning
            cpu_set_t all;
            sched_getaffinity(0, sizeof all, &all);
            sched_setaffinity(atomic_load(&helper_tid), sizeof all, &all);
        }
        for (int i = 0; i < 3; i++) {
            printf("%s, idle %.3f s: µs to start (waker core, helper core):", pinned ? "pinned" : "unpinned", idle[i]);
            for (int r = 0; r < 10; r++) {
                usleep((useconds_t)(idle[i] * 1e6));
                atomic_store(&woke_at, 0);
                unsigned long t0 = now_ns();
                int me = sched_getcpu();
                if (pinned) {
                    cpu_set_t allowed, one;
                    sched_getaffinity(0, sizeof allowed, &allowed);
                    CPU_ZERO(&one);
                    for (int c = 0; c < CPU_SETSIZE; c++)
                        if (c != me && CPU_ISSET(c, &allowed)) { CPU_SET(c, &one); break; }
                    sched_setaffinity(atomic_load(&helper_tid), sizeof one, &one);
                }
                pthread_mutex_lock(&mu);
                atomic_fetch_add(&seq, 1);
                pthread_cond_signal(&cv);
                pthread_mutex_unlock(&mu);
                while (!atomic_load(&woke_at) && now_ns() - t0 < 20000000UL) {}   // the waker keeps its core busy
                unsigned long w = atomic_load(&woke_at);
                if (w) printf(" %lu (%d, %d)", (w - t0) / 1000, me, atomic_load(&helper_cpu));
                else printf(" >20000 (%d, -)", me);
            }
            printf("\n");
        }
    }
    return 0;
}
