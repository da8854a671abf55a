#include "CSIMD.h"
#include <stdlib.h>

// The CPU is asked once; WHITTLE_NO_SIMD=1 forces the Swift scalar paths (tests compare both).
int csimd_available(void) {
    static int state = -1;
    if (state < 0) {
        int have = 0;
#if defined(__x86_64__)
        __builtin_cpu_init();
        have = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
#endif
        const char *off = getenv("WHITTLE_NO_SIMD");
        state = (have && !(off && off[0] && off[0] != '0')) ? 1 : 0;
    }
    return state;
}
