// The chunks of one long product (milliseconds: Kernels' `splitRows`, run by Dispatch) shared by the
// threads that run it, taken one at a time from a counter, and those threads kept on different cores.
//
// Why the cores: after an OpenBLAS sgemm on two threads (a model's attention, or the f32 side of a bench),
// OpenBLAS's worker spins on sched_yield for 2^28 cycles (≈ 0.1 s, 0.3.21's thread timeout) and keeps its
// core busy, so the scheduler wakes our second thread on the caller's core, and with 2 tasks against 1
// its load balancer leaves them there for tens of milliseconds: the product ran on one core (NF4 at
// M = 128 at 0.72× f32 sgemm in one quiet run, 1.34× in the next; BENCHMARKS.md, session 10). So before each
// chunk a thread looks at the core it is on (sched_getcpu); when another thread of the same product
// still working is on that core, the later of the two moves itself to a core none of them is on
// (sched_setaffinity; there the spinner yields to it), and takes back its own affinity when it leaves.
// Taking chunks from a counter also means a thread slowed by another process does fewer of them.
#define _GNU_SOURCE   // sched_getcpu, sched_setaffinity, CPU_SET
#include "CSIMD.h"

#if defined(__linux__)
#include <sched.h>

static _Thread_local cpu_set_t saved_mask;   // this thread's affinity before it moved
static _Thread_local int moved;
static size_t total_moves;   // csimd_spread_moves

// A core of this thread's affinity mask that no other working thread of `s` is on, or −1.
static int free_core(const csimd_spread_t *s, int w) {
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return -1;
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, &allowed)) continue;
        int taken = 0;
        for (int v = 0; v < CSIMD_SPREAD_THREADS; v++)
            if (v != w && __atomic_load_n(&s->cpu[v], __ATOMIC_RELAXED) == c) taken = 1;
        if (!taken) return c;
    }
    return -1;
}

size_t csimd_spread_next(csimd_spread_t *s, int w) {
    size_t c = __atomic_fetch_add(&s->next, 1, __ATOMIC_RELAXED);
    if (c >= s->chunks || w < 0 || w >= CSIMD_SPREAD_THREADS || moved || !s->spread) return c;
    int cpu = sched_getcpu();
    __atomic_store_n(&s->cpu[w], cpu, __ATOMIC_RELAXED);
    for (int v = 0; v < w; v++) {   // of two threads on one core, the later (higher w) moves
        if (cpu < 0 || __atomic_load_n(&s->cpu[v], __ATOMIC_RELAXED) != cpu) continue;
        int target = free_core(s, w);
        if (target < 0 || sched_getaffinity(0, sizeof saved_mask, &saved_mask) != 0) break;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(target, &one);
        if (sched_setaffinity(0, sizeof one, &one) == 0) {
            moved = 1;
            __atomic_store_n(&s->cpu[w], target, __ATOMIC_RELAXED);
            __atomic_add_fetch(&s->moves, 1, __ATOMIC_RELAXED);
            __atomic_add_fetch(&total_moves, 1, __ATOMIC_RELAXED);
        }
        break;
    }
    return c;
}

void csimd_spread_leave(csimd_spread_t *s, int w) {
    if (w >= 0 && w < CSIMD_SPREAD_THREADS) __atomic_store_n(&s->cpu[w], -1, __ATOMIC_RELAXED);
    if (moved) {
        sched_setaffinity(0, sizeof saved_mask, &saved_mask);
        moved = 0;
    }
}

size_t csimd_spread_moves(void) { return __atomic_load_n(&total_moves, __ATOMIC_RELAXED); }
int csimd_this_cpu(void) { return sched_getcpu(); }
int csimd_allowed_cores(void) {
    cpu_set_t allowed;
    return sched_getaffinity(0, sizeof allowed, &allowed) == 0 ? CPU_COUNT(&allowed) : -1;
}
#else
size_t csimd_spread_moves(void) { return 0; }
int csimd_this_cpu(void) { return -1; }
int csimd_allowed_cores(void) { return -1; }
size_t csimd_spread_next(csimd_spread_t *s, int w) {
    (void)w;
    return __atomic_fetch_add(&s->next, 1, __ATOMIC_RELAXED);
}
void csimd_spread_leave(csimd_spread_t *s, int w) { (void)s; (void)w; }
#endif

void csimd_spread_init(csimd_spread_t *s, size_t chunks, int spread) {
    s->next = 0;
    s->chunks = chunks;
    s->spread = spread;
    s->moves = 0;
    for (int v = 0; v < CSIMD_SPREAD_THREADS; v++) s->cpu[v] = -1;
}
