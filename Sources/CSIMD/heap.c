// glibc's malloc thresholds for a process that allocates and frees the same large activations layer after
// layer (Models' `ForwardMemory`): blocks under `mmap_threshold` bytes come from the heap, whose top keeps up
// to `trim_threshold` free bytes instead of returning them to the kernel. Returns 0 where it cannot be set.
#include "CSIMD.h"
#if defined(__GLIBC__)
#include <malloc.h>
int csimd_keep_heap(int mmap_threshold, int trim_threshold) {
    return mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1 && mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1;
}
#else
int csimd_keep_heap(int mmap_threshold, int trim_threshold) {
    (void)mmap_threshold; (void)trim_threshold;
    return 0;
}
#endif
