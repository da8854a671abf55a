import Foundation

/// Shape letters used across the kernels (llm.c convention):
/// B batch, T sequence length, C channels (hidden), OC output channels, V vocabulary,
/// NH query heads, NKV key/value heads, HD head dimension, N rows (= B·T), F FFN width.
///
/// Work at least this large (elements) is split over the machine's cores.
public let parallelThreshold = 1 << 15

/// Number of worker chunks used for large elementwise loops.
public let kernelThreads = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))

/// Runs `body(start, end)` over `0..<count`, split across cores when `count · costPerItem` is large.
@inline(__always)
public func parallelRanges(_ count: Int, costPerItem: Int = 1, _ body: (Int, Int) -> Void) {
    let chunks = count * costPerItem >= parallelThreshold ? min(kernelThreads, count) : 1
    if chunks <= 1 { body(0, count); return }
    DispatchQueue.concurrentPerform(iterations: chunks) { c in
        let start = count * c / chunks, end = count * (c + 1) / chunks
        if start < end { body(start, end) }
    }
}
