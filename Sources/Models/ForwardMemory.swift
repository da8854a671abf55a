import CSIMD
import Foundation

/// The eager forward allocates and frees its activations (megabytes each: a block's q, k, v, gate, up)
/// layer after layer. glibc's malloc hands a block above its mmap threshold (dynamic: the largest block
/// freed so far, at most 32 MB) back to the kernel when it is freed, and the top of the heap beyond its trim
/// threshold (twice that) too, so every layer page-faulted its activations in again and the kernel zeroed
/// them: ≈ 10 % of the CPU time of a one-thread SmolLM2 prefill (BENCHMARKS.md, "Prefill, session 10").
/// The first forward sets both thresholds once for the process: blocks under 64 MB come from the heap,
/// which keeps up to 256 MB free at its top (so a forward's activations are reused, not faulted in). The
/// cost is memory the process keeps after freeing (at most those 256 MB above what it uses).
/// `WHITTLE_MALLOC=default` leaves glibc's policy alone (A/B runs).
enum ForwardMemory {
    static let configured: Void = {
        guard ProcessInfo.processInfo.environment["WHITTLE_MALLOC"] != "default" else { return }
        _ = csimd_keep_heap(64 << 20, 256 << 20)
    }()
}
