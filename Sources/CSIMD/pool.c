// The split of one product over the cores, shared by the kernels whose calls are too short for a
// Dispatch hand-off (packed2.c's ternary kernels, int8_vnni.c's W8A8, nf4_matmul.c's NF4, half_matmul.c's
// 16-bit and gemv.c's f32 kernels at decode size). Products from 2^16 multiply-adds (CSIMD_POOL_MIN_WORK;
// 2^18 left SmolLM2's 192 × 576 k/v projections on one core), and several outputs over the same
// activations as one job (csimd_pool_run_outputs: a decode step's q, k, v — one hand-off, not three).
//
// A product of well under a millisecond cannot pay for waking a sleeping thread (tens of µs), so the
// helper threads spin on a job counter for about 0.1 ms after their last chunk before they sleep on a
// condition variable (as OpenBLAS's workers do); a decode step's ≈ 200 linears come closer together than
// that, so the helpers stay awake through the step. The chunks are taken from a shared counter by the
// caller and the helpers alike: when a helper is late (a loaded machine), the caller does the chunks
// itself instead of waiting for it; but a helper preempted in the middle of a chunk holds the caller up
// until it runs again, so after that has happened products run alone for ≈ 1 ms (it was 0.1 s, which kept
// SmolLM2's decoding on one core most of the time: BENCHMARKS.md, session 8). One job at a time; a
// concurrent caller runs its product alone. WHITTLE_POOL_HELPERS=N caps the helpers (0: none), and
// WHITTLE_POOL_MIN_WORK the least product split (multiply-adds, default CSIMD_POOL_MIN_WORK), for A/B runs.
//
// Each helper keeps to a core of its own, never the caller's: the caller pins a sleeping helper to a
// core no other helper holds before it wakes it, and swaps cores with the one it finds on its own core.
// Unpinned, a helper woken after ≈ 0.1 s of idleness landed on the caller's core (this VM's idle vCPU
// reads as preempted to the guest scheduler, so the wake goes to the waker's CPU) and waited there for
// the caller's whole chunk: the product ran on one core. Waking a helper pinned to the idle core takes
// 60–110 µs (probe, BENCHMARKS.md session 11). WHITTLE_POOL_PIN=0 leaves the helpers unpinned.
#define _GNU_SOURCE   // sched_getaffinity, sched_setaffinity, sched_getcpu, CPU_COUNT
#include "CSIMD.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <x86intrin.h>

typedef struct {
    csimd_rows_fn fn; void *ctx; size_t N, rows;   // chunk c is rows [c·rows, min(N, (c + 1)·rows))
    atomic_size_t next, finished; size_t chunks;
    atomic_int seats;   // helpers that may still join (the caller's thread limit − 1)
} pool_job_t;

static size_t run_chunks(pool_job_t *job) {   // returns the chunks this thread did
    size_t c, done = 0;
    for (; (c = atomic_fetch_add(&job->next, 1)) < job->chunks; done++) {
        size_t j0 = c * job->rows, j1 = j0 + job->rows < job->N ? j0 + job->rows : job->N;
        job->fn(job->ctx, j0, j1);
        atomic_fetch_add(&job->finished, 1);
    }
    return done;
}

enum { MAX_HELPERS = 7 };

static struct {
    pthread_mutex_t mu; pthread_cond_t cv;
    pool_job_t *_Atomic job; atomic_uint seq; atomic_int active; atomic_flag busy;
    int helpers; double min_work;
    int pin;                            // helpers keep to cores of their own (WHITTLE_POOL_PIN=0: not)
    atomic_int tid[MAX_HELPERS];        // each helper's thread id (0 until it has started)
    int core[MAX_HELPERS];              // the core each helper is pinned to, −1 none yet
    cpu_set_t allowed;                  // the cores this process may run on, at start
} pool = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0, ATOMIC_FLAG_INIT, 0, CSIMD_POOL_MIN_WORK, 1,
           { 0 }, { -1, -1, -1, -1, -1, -1, -1 }, { { 0 } } };

static void *helper(void *arg) {
    atomic_store(&pool.tid[(intptr_t)arg], (int)syscall(SYS_gettid));
    unsigned seen = 0;
    for (;;) {
        unsigned s;
        uint64_t t0 = __rdtsc();
        while ((s = atomic_load(&pool.seq)) == seen) {
            if (__rdtsc() - t0 < 300000) { _mm_pause(); continue; }   // ≈ 0.1 ms
            pthread_mutex_lock(&pool.mu);
            while (atomic_load(&pool.seq) == seen) pthread_cond_wait(&pool.cv, &pool.mu);
            pthread_mutex_unlock(&pool.mu);
        }
        seen = s;
        atomic_fetch_add(&pool.active, 1);   // before looking at the job: its owner waits for active = 0
        pool_job_t *job = atomic_load(&pool.job);
        if (job && atomic_fetch_sub(&job->seats, 1) > 0) run_chunks(job);
        atomic_fetch_sub(&pool.active, 1);
    }
    return NULL;
}

// The helper threads (the cores this process may run on − 1, at most 7), started once; none when there
// is one core (a helper spinning beside its caller on one core would only take its time) or they
// cannot start.
static void pool_start(void) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
#if defined(__linux__) && defined(CPU_COUNT)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) cores = CPU_COUNT(&set);
#endif
    int want = cores > 8 ? MAX_HELPERS : cores > 1 ? (int)cores - 1 : 0, n = 0;
    const char *cap = getenv("WHITTLE_POOL_HELPERS");
    const char *pin = getenv("WHITTLE_POOL_PIN");
    if ((pin && pin[0] == '0') || sched_getaffinity(0, sizeof pool.allowed, &pool.allowed) != 0) pool.pin = 0;
    if (cap && cap[0] >= '0' && cap[0] <= '9' && atoi(cap) < want) want = atoi(cap);
    const char *least = getenv("WHITTLE_POOL_MIN_WORK");
    if (least && least[0] >= '0' && least[0] <= '9') pool.min_work = atof(least);
    for (; n < want; n++) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&t, &attr, helper, (void *)(intptr_t)n);
        pthread_attr_destroy(&attr);
        if (rc != 0) break;
    }
    pool.helpers = n;
}

static int pool_helpers(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, pool_start);
    return pool.helpers;
}

// After a helper held its caller up (waited more than two of the caller's own chunks and ≈ 20 µs: it
// was preempted mid-chunk), products run alone for ≈ 1 ms (TSC ticks).
static _Atomic uint64_t split_off_until;

// Whether core c is held by a helper other than h.
static int held_by_other(int c, int h) {
    for (int k = 0; k < pool.helpers; k++)
        if (k != h && pool.core[k] == c) return 1;
    return 0;
}

// Before a job (the caller holds pool.busy): every helper that has no core yet, or whose core is the
// caller's, moves to an allowed core that is neither the caller's nor another helper's. A helper that is
// asleep moves without cost; one still spinning from the last job is migrated (only when the caller has
// moved to its core since).
static void pin_helpers(void) {
    int me = sched_getcpu();
    for (int h = 0; h < pool.helpers; h++) {
        int tid = atomic_load(&pool.tid[h]);
        if (tid == 0 || (pool.core[h] >= 0 && pool.core[h] != me)) continue;
        for (int c = 0; c < CPU_SETSIZE; c++) {
            if (!CPU_ISSET(c, &pool.allowed) || c == me || held_by_other(c, h)) continue;
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(c, &one);
            if (sched_setaffinity(tid, sizeof one, &one) == 0) pool.core[h] = c;
            else pool.pin = 0;   // the allowed cores changed since start (a cpuset): leave the helpers be
            break;
        }
    }
}

// Rows [0, N) in chunks of `rows` on the caller and up to `seats` helpers (the caller holds pool.busy).
static void run_job(csimd_rows_fn fn, void *ctx, size_t N, size_t rows, int seats) {
    if (pool.pin) pin_helpers();
    pool_job_t job = { fn, ctx, N, rows, 0, 0, (N + rows - 1) / rows, seats };
    atomic_store(&pool.job, &job);
    atomic_fetch_add(&pool.seq, 1);
    pthread_mutex_lock(&pool.mu);
    pthread_cond_broadcast(&pool.cv);
    pthread_mutex_unlock(&pool.mu);
    uint64_t t0 = __rdtsc();
    size_t mine = run_chunks(&job);
    uint64_t t1 = __rdtsc();
    while (atomic_load(&job.finished) < job.chunks) _mm_pause();
    uint64_t t2 = __rdtsc();
    if (t2 - t1 > 2 * (mine ? (t1 - t0) / mine : 0) + 50000) atomic_store(&split_off_until, t2 + 3000000);
    atomic_store(&pool.job, NULL);
    while (atomic_load(&pool.active) != 0) _mm_pause();   // no helper still holds `job`
}

// The seats a product of `work` multiply-adds gets beside its caller, or 0 when it runs alone.
static int pool_seats(double work, int max_threads) {
    int seats = max_threads > 1 ? pool_helpers() : 0;
    if (work < pool.min_work) seats = 0;
    return seats > max_threads - 1 ? max_threads - 1 : seats;
}

static int pool_acquire(int seats) {
    return seats > 0 && __rdtsc() >= atomic_load(&split_off_until) && !atomic_flag_test_and_set(&pool.busy);
}

int csimd_pool_split_rows(csimd_rows_fn fn, void *ctx, size_t N, double work, int max_threads) {
    int seats = N >= 16 ? pool_seats(work, max_threads) : 0;
    if (!pool_acquire(seats)) return 0;
    size_t chunks = 4 * (size_t)(seats + 1), rows = ((N + chunks - 1) / chunks + 3) / 4 * 4;
    run_job(fn, ctx, N, rows, seats);
    atomic_flag_clear(&pool.busy);
    return 1;
}

int csimd_pool_run_workers(csimd_rows_fn fn, void *ctx, int workers, double work) {
    int seats = pool_seats(work, workers);
    if (!pool_acquire(seats)) return 0;
    run_job(fn, ctx, (size_t)seats + 1, 1, seats);
    atomic_flag_clear(&pool.busy);
    return 1;
}

int csimd_pool_helper_core(int h) { return h >= 0 && h < pool_helpers() ? pool.core[h] : -1; }

#else
int csimd_pool_split_rows(csimd_rows_fn fn, void *ctx, size_t N, double work, int max_threads) {
    (void)fn; (void)ctx; (void)N; (void)work; (void)max_threads;
    return 0;
}
int csimd_pool_run_workers(csimd_rows_fn fn, void *ctx, int workers, double work) {
    (void)fn; (void)ctx; (void)workers; (void)work;
    return 0;
}
int csimd_pool_helper_core(int h) { (void)h; return -1; }
#endif

// ---- several outputs over the same activations as one job ----------------------------------------

typedef struct { csimd_out_fn fn; void *ctx; const csimd_out_t *outs; size_t count; } outs_job_t;

// Rows [j0, j1) of the outputs laid end to end, handed to fn output by output in local row numbers.
static void outs_rows(void *ctx, size_t j0, size_t j1) {
    outs_job_t *job = ctx;
    size_t base = 0;
    for (size_t s = 0; s < job->count && base < j1; base += job->outs[s].rows, s++) {
        size_t a = j0 > base ? j0 : base, b = j1 < base + job->outs[s].rows ? j1 : base + job->outs[s].rows;
        if (a < b) job->fn(job->ctx, &job->outs[s], a - base, b - base);
    }
}

void csimd_pool_run_outputs(csimd_out_fn fn, void *ctx, const csimd_out_t *outs, size_t count, double work, int max_threads) {
    size_t rows = 0;
    for (size_t s = 0; s < count; s++) rows += outs[s].rows;
    outs_job_t job = { fn, ctx, outs, count };
    if (rows && !csimd_pool_split_rows(outs_rows, &job, rows, work, max_threads)) outs_rows(&job, 0, rows);
}

#if defined(__linux__)
#include <sched.h>
int csimd_this_cpu(void) { return sched_getcpu(); }
int csimd_allowed_cores(void) {
    cpu_set_t allowed;
    return sched_getaffinity(0, sizeof allowed, &allowed) == 0 ? CPU_COUNT(&allowed) : -1;
}
#else
int csimd_this_cpu(void) { return -1; }
int csimd_allowed_cores(void) { return -1; }
#endif
