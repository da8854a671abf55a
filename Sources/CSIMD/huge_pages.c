// Huge pages for the weights a decode step streams (Linux transparent huge pages). A decode step reads
// every weight once; on 4 kB pages one core's stream of weights is held back by page walks (this VM, one
// thread: readSum 14–20 GB/s on 4 kB pages, 28–32 GB/s on 2 MB pages; BENCHMARKS.md "Decoding, session
// 10"). MADV_COLLAPSE (Linux ≥ 6.1) moves the 2 MB-aligned pages that hold a range into huge pages now,
// in place (contents unchanged; other data sharing such a page moves with it), whatever the system's THP
// setting short of `never`. Each call drains every CPU's page lists first (milliseconds on a busy
// machine), so the ranges are sorted and those within 2 MB of each other collapsed in one call (SmolLM2's
// 211 weights: 0.27 s once under load, against 2.3 s one call per weight); pages already huge cost
// next to nothing. Pages that cannot be collapsed (not one mapping, file-backed, no free huge page) stay
// as they are. WHITTLE_HUGE_PAGES=0 turns it off (A/B runs).
#define _GNU_SOURCE
#include "CSIMD.h"
#include <stdint.h>
#include <stdlib.h>

#if defined(__linux__)
#include <sys/mman.h>
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

typedef struct { uintptr_t lo, hi; } span_t;

static int by_start(const void *a, const void *b) {
    uintptr_t x = ((const span_t *)a)->lo, y = ((const span_t *)b)->lo;
    return x < y ? -1 : x > y;
}

size_t csimd_huge_pages(const void *const *ptrs, const size_t *bytes, size_t count) {
    static int off = -1;
    if (off < 0) { const char *e = getenv("WHITTLE_HUGE_PAGES"); off = e && e[0] == '0'; }
    const uintptr_t huge = (uintptr_t)2 << 20;
    span_t *s = off || count == 0 ? NULL : malloc(count * sizeof *s);
    if (!s) return 0;
    size_t n = 0, done = 0;
    for (size_t i = 0; i < count; i++)
        if (ptrs[i] && bytes[i])
            s[n++] = (span_t){ (uintptr_t)ptrs[i] & ~(huge - 1), ((uintptr_t)ptrs[i] + bytes[i] + huge - 1) & ~(huge - 1) };
    qsort(s, n, sizeof *s, by_start);
    for (size_t i = 0; i < n;) {
        span_t m = s[i++];
        for (; i < n && s[i].lo <= m.hi + huge; i++) if (s[i].hi > m.hi) m.hi = s[i].hi;
        if (madvise((void *)m.lo, m.hi - m.lo, MADV_COLLAPSE) == 0) done += m.hi - m.lo;
    }
    free(s);
    return done;
}
#else
size_t csimd_huge_pages(const void *const *ptrs, const size_t *bytes, size_t count) {
    (void)ptrs; (void)bytes; (void)count;
    return 0;
}
#endif
