// Not SIMD loops: the Linux file calls Swift's Glibc module does not import (GNU extensions), kept
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

int csimd_set_direct(int fd, int on) {
#if defined(__linux__)
    int flags = fcntl(fd, F_GETFL);
    return flags < 0 ? -1 : fcntl(fd, F_SETFL, on ? flags | O_DIRECT : flags & ~O_DIRECT);
#else
    (void)fd;
    return on ? -1 : 0;
#endif
}
