import Foundation

/// `nf4Quantize` split over the cores in runs of whole blocks (blocks are independent).
public func nf4QuantizeParallel(packed: UnsafeMutablePointer<UInt8>, absmax: UnsafeMutablePointer<Float>,
                                input: UnsafePointer<Float>, count n: Int, blockSize: Int) {
    let blocks = (n + blockSize - 1) / blockSize
    let workers = min(ProcessInfo.processInfo.activeProcessorCount, max(1, n / (1 << 18)))
    guard workers > 1 else {
        nf4Quantize(packed: packed, absmax: absmax, input: input, count: n, blockSize: blockSize)
        return
    }
    let blocksPerWorker = (blocks + workers - 1) / workers
    DispatchQueue.concurrentPerform(iterations: workers) { w in
        let first = w * blocksPerWorker
        let last = min(blocks, first + blocksPerWorker)
        guard first < last else { return }
        let start = first * blockSize
        let end = min(n, last * blockSize)
        nf4Quantize(packed: packed + start / 2, absmax: absmax + first, input: input + start,
                    count: end - start, blockSize: blockSize)
    }
}
