import COpenBLAS
import CSIMD

/// y = x · Wᵀ (+ bias) with W [N, K] held in NF4: tiles of `tileRows` weight rows are dequantized
/// into a Float32 buffer (NF4[code] · absmax, ALGORITHMS.md §5.3) and multiplied with OpenBLAS sgemm,
/// so the full-precision weight never exists at once. x [M, K], y [M, N].
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

public func nf4LinearForward(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: NF4Matrix,
                             bias: UnsafePointer<Float>?, m M: Int, tileRows: Int = 128) {
    let N = weight.rows, K = weight.cols
    let buffer = UnsafeMutablePointer<Float>.allocate(capacity: tileRows * K)
    defer { buffer.deallocate() }
    for n0 in stride(from: 0, to: N, by: tileRows) {
        let n1 = min(N, n0 + tileRows)
        weight.dequantizeRows(n0, n1, into: buffer)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(M), Int32(n1 - n0), Int32(K),
                    1, x, Int32(K), buffer, Int32(K), 0, y + n0, Int32(N))
    }
    if let bias {
        for i in 0..<M { for j in 0..<N { y[i * N + j] += bias[j] } }
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
