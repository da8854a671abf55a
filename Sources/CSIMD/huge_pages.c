// Huge pages for the weights a decode step streams (Linux transparent huge pages). A decode step reads
// every weight once; on 4 kB pages one core's stream of weights is held back by page walks (this VM, one
// thread: a plain read 16–20 GB/s on 4 kB pages, 31–32 GB/s on 2 MB pages; BENCHMARKS.md "Decoding,
// session 10"). MADV_COLLAPSE (Linux ≥ 6.1) moves the 2 MB pages inside a range into huge pages now, in
// place (contents unchanged), whatever the system's THP setting short of `never`. Ranges are rounded
// inward: a page reaching into a neighbouring mapping that cannot take huge pages (a thread's stack) makes
// the kernel stop the whole call there. Each call drains every CPU's page lists first (milliseconds on a
// busy machine), so the ranges are sorted and those less than a huge page apart collapsed in one call
// (SmolLM2's 211 f32 weights: 3 calls, ≈ 0.3 s once under load; one call per weight took 2.3 s); pages
// already huge cost next to nothing. A call that fails is retried range by range. Pages that cannot be
// collapsed (file-backed, as a mapped BF16 checkpoint's; no free huge page) stay as they are.
// WHITTLE_HUGE_PAGES=0 turns it off (A/B runs).
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

// The huge pages inside [lo, hi) (rounded inward: a page reaching into another mapping — a thread's stack
// is marked no-huge-page — would make the kernel stop at it); the bytes collapsed without error.
static size_t collapse(uintptr_t lo, uintptr_t hi) {
    const uintptr_t huge = (uintptr_t)2 << 20;
    lo = (lo + huge - 1) & ~(huge - 1);
    hi &= ~(huge - 1);
    if (lo >= hi) return 0;
    return madvise((void *)lo, hi - lo, MADV_COLLAPSE) == 0 ? hi - lo : 0;
}

size_t csimd_huge_pages(const void *const *ptrs, const size_t *bytes, size_t count) {
    static int off = -1;
    if (off < 0) { const char *e = getenv("WHITTLE_HUGE_PAGES"); off = e && e[0] == '0'; }
    const uintptr_t huge = (uintptr_t)2 << 20;
    span_t *s = off || count == 0 ? NULL : malloc(count * sizeof *s);
    if (!s) return 0;
    size_t n = 0, done = 0;
    for (size_t i = 0; i < count; i++)
        if (ptrs[i] && bytes[i]) s[n++] = (span_t){ (uintptr_t)ptrs[i], (uintptr_t)ptrs[i] + bytes[i] };
    qsort(s, n, sizeof *s, by_start);
    for (size_t i = 0; i < n;) {   // ranges less than a huge page apart, one call
        size_t first = i;
        span_t m = s[i++];
        for (; i < n && s[i].lo <= m.hi + huge; i++) if (s[i].hi > m.hi) m.hi = s[i].hi;
        size_t got = collapse(m.lo, m.hi);
        // Some page of the span stopped the kernel's walk (a mapping between the ranges that cannot
        // take huge pages): each range on its own, so one bad page does not cost the rest.
        for (size_t r = first; !got && i - first > 1 && r < i; r++) got += collapse(s[r].lo, s[r].hi);
        done += got;
    }
    free(s);
    return done;
}

// A block of at least 1 MB that every decode step reads (the KV cache) on huge pages from its first touch:
// 2 MB-aligned, rounded up to 2 MB, MADV_HUGEPAGE (the `madvise` THP mode faults such a range in as huge
// pages). Smaller blocks, WHITTLE_HUGE_PAGES=0 or a failed alignment: plain malloc. Either way free() frees it.
void *csimd_alloc_huge(size_t bytes) {
    const size_t huge = (size_t)2 << 20;
    const char *e = getenv("WHITTLE_HUGE_PAGES");
    if (bytes < huge / 2 || (e && e[0] == '0')) return malloc(bytes ? bytes : 1);
    size_t rounded = (bytes + huge - 1) & ~(huge - 1);
    void *p = NULL;
    if (posix_memalign(&p, huge, rounded) != 0) return malloc(bytes);
    madvise(p, rounded, MADV_HUGEPAGE);
    return p;
}
#else
size_t csimd_huge_pages(const void *const *ptrs, const size_t *bytes, size_t count) {
    (void)ptrs; (void)bytes; (void)count;
    return 0;
}
void *csimd_alloc_huge(size_t bytes) { return malloc(bytes ? bytes : 1); }
#endif
