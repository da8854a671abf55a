// Not a SIMD loop: the one Linux call Swift's Glibc module does not import (a GNU extension), kept
// beside the other C helpers rather than in a module of its own.
#define _GNU_SOURCE
#include <fcntl.h>
#include "CSIMD.h"

int csimd_start_writeback(int fd, int64_t offset, int64_t count) {
#if defined(__linux__)
    return sync_file_range(fd, offset, count, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd; (void)offset; (void)count;
    return 0;
#endif
}
