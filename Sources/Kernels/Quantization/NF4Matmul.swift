import COpenBLAS
import CSIMD
import Foundation

/// y = x · Wᵀ (+ bias) with W [N, K] held in NF4 (NF4[code] · absmax, ALGORITHMS.md §5.3), without the
/// full-precision weight ever existing at once (`nf4LinearForward`). x [M, K], y [M, N].
/// `nf4LinearNaive` (dequantize all, triple loop) is the oracle.
public struct NF4Matrix: Sendable {
    public let rows: Int
    public let cols: Int
    public let blockSize: Int
    public let packed: [UInt8]
    /// Per-block absmax as Float32 (double quantization already undone).
    public let absmax: [Float]

    public init(_ tensor: NF4Tensor) {
        precondition(tensor.shape.count == 2, "NF4Matrix: weight must be 2-D, got \(tensor.shape)")
        rows = tensor.shape[0]; cols = tensor.shape[1]
        blockSize = tensor.blockSize; packed = tensor.packed; absmax = tensor.blockAbsmax()
    }

    /// Whether this CPU runs the fused kernel (AVX-512), for the benches to say which path they timed.
    public static var fusedKernelAvailable: Bool { csimd_avx512_available() != 0 }

    /// Dequantizes rows [r0, r1) into `out` ((r1 − r0) · cols floats).
    public func dequantizeRows(_ r0: Int, _ r1: Int, into out: UnsafeMutablePointer<Float>) {
        packed.withUnsafeBufferPointer { p in
            absmax.withUnsafeBufferPointer { a in
                NF4.values.withUnsafeBufferPointer { table in
                    let start = r0 * cols, end = r1 * cols
                    var i = start
                    while i < end {
                        let blockEnd = min(end, (i / blockSize + 1) * blockSize)
                        let scale = a[i / blockSize]
                        if i & 1 == 1 { out[i - start] = table[Int(p[i >> 1] & 0x0F)] * scale; i += 1 }
                        // Whole bytes: high nibble → even element, low nibble → odd element.
                        let pairs = (blockEnd - i) / 2
                        let o = out + (i - start), bytes = p.baseAddress! + (i >> 1)
                        for j in csimd_nf4_dequantize_pairs(o, bytes, pairs, scale, table.baseAddress!)..<pairs {   // AVX2, then the tail
                            let byte = bytes[j]
                            o[2 * j] = table[Int(byte >> 4)] * scale
                            o[2 * j + 1] = table[Int(byte & 0x0F)] * scale
                        }
                        i += 2 * pairs
                        if i < blockEnd { out[i - start] = table[Int(p[i >> 1] >> 4)] * scale; i += 1 }
                    }
                }
            }
        }
    }
}

/// y = x · Wᵀ (+ bias). With AVX-512, CSIMD's fused kernel multiplies on the packed codes (each weight
/// row dequantized in registers and reused by 4 activation rows; M = 1, a decode step, reads the
/// packed weight once), weight rows split over the cores; from `nf4GemmRows` rows, 64-row panels are
/// dequantized once per call and all rows stream through an sgemm-like block (`nf4_gemm.c`).
/// Otherwise, or above `fusedRows`, each core dequantizes its own tiles of weight rows and multiplies
/// them (`tiledMatmul`), so dequantization and multiplication proceed on both cores at once.
public func nf4LinearForward(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: NF4Matrix,
                             bias: UnsafePointer<Float>?, m M: Int, tileRows: Int = 64, fusedRows: Int = nf4FusedRows) {
    let N = weight.rows
    guard M > 0, N > 0 else { return }
    if M > fusedRows || !nf4FusedMatmul(y: y, x: x, weight: weight, m: M) {
        nf4TiledMatmul(y: y, x: x, weight: weight, m: M, tileRows: tileRows)
    }
    if let bias {
        for i in 0..<M { for j in 0..<N { y[i * N + j] += bias[j] } }
    }
}

/// Rows up to which the fused kernel runs (all: it was faster than the tiled path at every M measured).
public let nf4FusedRows = Int.max

/// Activation rows from which the fused product dequantizes 64-row panels of W once into a cached f32
/// buffer and runs an sgemm-like block on them (CSIMD `nf4_gemm.c`) instead of dequantizing in
/// registers per 4 rows (`nf4_matmul.c`): one thread, CPU time, gate/up shape: 90–95 vs 83–92 GFLOP/s
/// at M = 64, 82–86 vs 87–90 at M = 32 (BENCHMARKS.md, issue 20, session 9).
public let nf4GemmRows = 64

/// The fused product (no bias) over the cores, weight rows split between them — by CSIMD's spinning pool
/// up to `pooledRows` activation rows (one pool job, `nf4LinearsForward`), else by `splitRows` (the
/// same pool's helpers, chunks from a counter); false (nothing written) when CSIMD cannot take this shape.
func nf4FusedMatmul(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: NF4Matrix, m M: Int) -> Bool {
    let N = weight.rows, K = weight.cols, bs = weight.blockSize
    guard csimd_avx512_available() != 0, K % 32 == 0, bs >= 32, bs & (bs - 1) == 0 else { return false }
    if M >= nf4GemmRows, N * K < 1 << 31 {
        // 64-row panels dequantized once per call, split over the cores.
        // One panel per chunk (splitRows: taken from a counter by threads kept on different cores).
        let panels = (N + 63) / 64
        weight.packed.withUnsafeBufferPointer { p in
            weight.absmax.withUnsafeBufferPointer { a in
                NF4.values.withUnsafeBufferPointer { table in
                    splitRows(panels, workers: matmulWorkers(M * N * K), chunk: 1, work: M * N * K) { p0, p1 in
                        _ = csimd_nf4_gemm(y, N, x, p.baseAddress!, a.baseAddress!, M, p0 * 64, min(N, p1 * 64), N, K, bs,
                                           table.baseAddress!)
                    }
                }
            }
        }
        return true
    }
    if M <= pooledRows { return nf4LinearsForward([y], x: x, weights: [weight], m: M) }
    let xi = UnsafeMutablePointer<Float>.allocate(capacity: M * K)
    defer { xi.deallocate() }
    nf4InterleaveColumns(xi, x, count: M * K)
    weight.packed.withUnsafeBufferPointer { p in
        weight.absmax.withUnsafeBufferPointer { a in
            NF4.values.withUnsafeBufferPointer { table in
                splitRows(N, workers: matmulWorkers(M * N * K), chunk: 64, work: M * N * K) { j0, j1 in
                    _ = csimd_nf4_matmul(y, N, xi, p.baseAddress!, a.baseAddress!, M, j0, j1, K, bs, table.baseAddress!)
                }
            }
        }
    }
    return true
}

/// Several NF4 weights of the same width and block size on the same `x[M, K]` (a decode step's q, k, v or
/// gate, up): `ys[s][M, N_s] = x · W_sᵀ`, no bias, all their weight rows one job of CSIMD's spinning pool
/// (`csimd_nf4_matmul_split_many`: one hand-off instead of one per weight), each output what
/// `nf4FusedMatmul` gives that weight alone (every row the same sum). False, writing nothing, where the
/// pooled register kernel does not run (M > `pooledRows`, no AVX-512, K % 32 ≠ 0, block size).
public func nf4LinearsForward(_ ys: [UnsafeMutablePointer<Float>], x: UnsafePointer<Float>, weights: [NF4Matrix], m M: Int) -> Bool {
    guard let first = weights.first, M > 0, M <= pooledRows, csimd_avx512_available() != 0,
          weights.allSatisfy({ $0.cols == first.cols && $0.blockSize == first.blockSize }) else { return false }
    let K = first.cols, bs = first.blockSize
    guard K % 32 == 0, bs >= 32, bs & (bs - 1) == 0 else { return false }
    let xi = UnsafeMutablePointer<Float>.allocate(capacity: M * K)
    defer { xi.deallocate() }
    nf4InterleaveColumns(xi, x, count: M * K)
    return withPointers(weights.map(\.packed)) { packed in
        withPointers(weights.map(\.absmax)) { absmax in
            let ws = zip(packed, absmax).map { csimd_nf4_weight_t(packed: $0, absmax: $1) }
            return ws.withUnsafeBufferPointer { w in
                let outs = weights.indices.map {
                    csimd_out_t(y: ys[$0], ldy: weights[$0].rows, w: UnsafeRawPointer(w.baseAddress! + $0), rows: weights[$0].rows)
                }
                return NF4.values.withUnsafeBufferPointer { table in
                    csimd_nf4_matmul_split_many(outs, outs.count, xi, M, K, bs, table.baseAddress!, Int32(min(Threads.count, kernelThreads))) != 0
                }
            }
        }
    }
}

/// Each 32-value chunk as its 16 even then 16 odd elements: the order the fused kernel's nibble
/// split produces weights in. `count` is a multiple of 32.
func nf4InterleaveColumns(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
    for c in stride(from: 0, to: count, by: 32) {
        for t in 0..<16 { out[c + t] = x[c + 2 * t]; out[c + 16 + t] = x[c + 2 * t + 1] }
    }
}

/// Dequantize-into-tiles for NF4 (`tiledMatmul`).
func nf4TiledMatmul(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: NF4Matrix, m M: Int, tileRows: Int) {
    tiledMatmul(y: y, x: x, m: M, n: weight.rows, k: weight.cols, tileRows: tileRows) { weight.dequantizeRows($0, $1, into: $2) }
}

/// y [M, N] = x [M, K] · Wᵀ for a weight W [N, K] that only exists in pieces: each worker owns a
/// contiguous range of weight rows and a tile buffer of `tileRows · K` floats that `fill(n0, n1, tile)`
/// writes rows [n0, n1) of W into (dequantized NF4, widened BF16 / F16), then a one-thread sgemm per
/// tile (OpenBLAS runs one thread per caller meanwhile), so filling and multiplying use every core.
/// From `tiledWideRows` activation rows tiles have at least `wideTileRows` rows (sgemm repacks all of x
/// on every call: 64-row tiles ran at 0.79–0.89× of 256-row ones at M = 512, one core; BENCHMARKS.md,
/// issue 20), and from `tiledPanelRows` with AVX-512 each tile runs CSIMD's panel blocks
/// (`csimd_f32_panel_gemm`, as NF4's `nf4_gemm.c`) instead of sgemm: 1.02–1.17× sgemm's 256-row tiles at
/// M = 512, equal at 128, 0.81–0.85× at 64 (one core).
func tiledMatmul(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, m M: Int, n N: Int, k K: Int, tileRows: Int,
                 fill: (Int, Int, UnsafeMutablePointer<Float>) -> Void) {
    let workers = matmulWorkers(M * N * K)
    let tileRows = M >= tiledWideRows ? max(tileRows, wideTileRows) : tileRows
    if workers > 1 { openblas_set_num_threads(1) }
    defer { if workers > 1 { openblas_set_num_threads(Int32(Threads.count)) } }
    splitWork(N, workers: workers, chunk: evenChunk(N, workers: workers, most: tileRows), work: M * N * K) { next in
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: tileRows * K)
        defer { buffer.deallocate() }
        while let (n0, n1) = next() {
            fill(n0, n1, buffer)
            if M < tiledPanelRows || csimd_f32_panel_gemm(y + n0, N, x, M, buffer, n1 - n0, K) == 0 {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(M), Int32(n1 - n0), Int32(K),
                            1, x, Int32(K), buffer, Int32(K), 0, y + n0, Int32(N))
            }
        }
    }
}

let tiledWideRows = 64, wideTileRows = 256, tiledPanelRows = 256

/// Workers for a product of `macs` multiply-adds: `Threads.count` (the user's thread setting), one when small.
func matmulWorkers(_ macs: Int) -> Int { macs >= 1 << 18 ? max(1, min(Threads.count, kernelThreads)) : 1 }

/// `body(start, end)` on every `chunk`-item part of 0..<count (the last one shorter), in parallel.
func splitRows(_ count: Int, workers: Int, chunk: Int, work: Int = 0, _ body: (Int, Int) -> Void) {
    splitWork(count, workers: workers, chunk: chunk, work: work) { next in
        while let (start, end) = next() { body(start, end) }
    }
}

/// The chunk length, at most `most`, that cuts `count` items into a multiple of `workers` chunks as equal
/// as possible (the 256 rows of a k/v weight: two chunks of 128 on two cores, not one of 256 on one).
func evenChunk(_ count: Int, workers: Int, most: Int) -> Int {
    let workers = max(1, workers), most = max(1, most)
    let perWorker = max(1, (count + workers * most - 1) / (workers * most))
    return max(1, (count + workers * perWorker - 1) / (workers * perWorker))
}

/// `worker(next)` on up to `workers` threads (the caller and CSIMD pool.c's helpers, each on a core of
/// its own), where each `next()` hands out the next `chunk` items of 0..<count not yet taken by any of
/// them, nil when none is left: a thread slowed by another job, or a helper still waking, does fewer
/// chunks instead of holding the product up. `work` (multiply-adds) decides whether helpers join.
func splitWork(_ count: Int, workers: Int, chunk: Int, work: Int = 0, _ worker: (_ next: () -> (Int, Int)?) -> Void) {
    let chunk = max(1, chunk), chunks = (count + chunk - 1) / chunk
    let counter = UnsafeMutablePointer<csimd_counter_t>.allocate(capacity: 1)
    defer { counter.deallocate() }
    counter.initialize(to: csimd_counter_t(next: 0))
    func seat(_: Int) {
        worker {
            let c = csimd_counter_next(counter)
            return c < chunks ? (c * chunk, min(count, c * chunk + chunk)) : nil
        }
    }
    let threads = max(1, min(workers, chunks))
    if threads > 1, onPoolSeats(threads, work: work, seat) { return }
    seat(0)
}

/// `seat(w)` once for each seat of a pool job (CSIMD `csimd_pool_run_workers`) on the caller and up to
/// `workers − 1` helpers; false when the pool ran nothing (small product, no helpers, busy).
private func onPoolSeats(_ workers: Int, work: Int, _ seat: (Int) -> Void) -> Bool {
    withoutActuallyEscaping(seat) { seat in
        var body = seat
        return withUnsafeMutablePointer(to: &body) { context in
            csimd_pool_run_workers({ context, w, _ in
                context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(w))
            }, context, Int32(workers), Double(work)) != 0
        }
    }
}

public func nf4LinearNaive(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: NF4Matrix,
                           bias: UnsafePointer<Float>?, m M: Int) {
    let N = weight.rows, K = weight.cols
    let w = UnsafeMutablePointer<Float>.allocate(capacity: N * K)
    defer { w.deallocate() }
    weight.dequantizeRows(0, N, into: w)
    for i in 0..<M {
        for j in 0..<N {
            var acc: Float = 0
            for p in 0..<K { acc += x[i * K + p] * w[j * K + p] }
            y[i * N + j] = acc + (bias?[j] ?? 0)
        }
    }
}
