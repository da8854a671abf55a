import CSIMD

/// Σ (w − ŵ)² and Σ w² in Double, where ŵ = NF4[code] · absmax_b in Float32 is exactly what
/// `nf4Dequantize` returns: ‖W − Ŵ‖ / ‖W‖ without materialising Ŵ. `absmax` is the per-block scale
/// after undoing double quantization. Full blocks go through CSIMD's AVX2 kernel when the CPU has it,
/// the rest through `nf4SquaredErrorScalar` (the definition; the two differ only in summation order).
public func nf4SquaredError(packed: UnsafePointer<UInt8>, absmax: UnsafePointer<Float>, input: UnsafePointer<Float>,
                            count n: Int, blockSize: Int) -> (error: Double, norm: Double) {
    var sums = (0.0, 0.0)
    let done = withUnsafeMutableBytes(of: &sums) { s in
        NF4.values.withUnsafeBufferPointer {
            csimd_nf4_squared_error(s.baseAddress!.assumingMemoryBound(to: Double.self), packed, absmax, input, n, blockSize, $0.baseAddress!)
        }
    }
    let rest = nf4SquaredErrorScalar(packed: packed + done / 2, absmax: absmax + done / blockSize, input: input + done,
                                     count: n - done, blockSize: blockSize)
    return (sums.0 + rest.error, sums.1 + rest.norm)
}

func nf4SquaredErrorScalar(packed: UnsafePointer<UInt8>, absmax: UnsafePointer<Float>, input: UnsafePointer<Float>,
                           count n: Int, blockSize: Int) -> (error: Double, norm: Double) {
    var error = 0.0, norm = 0.0
    NF4.values.withUnsafeBufferPointer { table in
        for i in 0..<n {
            let byte = packed[i / 2]
            let restored = table[Int(i % 2 == 0 ? byte >> 4 : byte & 0x0F)] * absmax[i / blockSize]
            let w = Double(input[i]), d = w - Double(restored)
            error += d * d
            norm += w * w
        }
    }
    return (error, norm)
}
