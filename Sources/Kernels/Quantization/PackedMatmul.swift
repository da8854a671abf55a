import CSIMD

/// Ternary / 2-bit weights (`PackedCodes`, 2 bits) × int8 activations → int32 (ALGORITHMS.md §4;
/// the integer form of TI's fake-quantized linear):
///   acc[m, n] = Σ_k a[m, k] · c[n, k]        a: activation codes [M, Kp] (zero past K), c ∈ {−1, 0, 1}
///   y[m, n]   = acc[m, n] · (s_a · s_w) + bias[n]
/// `packed2MatmulNaive` is the oracle of `packed2Matmul` (CSIMD's AVX2 kernel, or `packed2MatmulScalar`).

/// The naive twin: one code at a time through `PackedCodes.code`.
public func packed2MatmulNaive(out: UnsafeMutablePointer<Int32>, a: UnsafePointer<Int8>, weight w: PackedCodes, m M: Int) {
    let kp = PackedCodes.paddedColumns(bits: 2, cols: w.cols)
    for i in 0..<M {
        for j in 0..<w.rows {
            var acc: Int32 = 0
            for p in 0..<w.cols { acc += Int32(a[i * kp + p]) * w.code(row: j, col: p) }
            out[i * w.rows + j] = acc
        }
    }
}

/// The product over the cores: each takes a range of weight rows and runs the AVX2 kernel, or the
/// Swift loop without AVX2.
public func packed2Matmul(out: UnsafeMutablePointer<Int32>, a: UnsafePointer<Int8>, weight w: PackedCodes, m M: Int) {
    precondition(w.bits == 2, "packed2Matmul: 2-bit codes only (got \(w.bits))")
    let kp = PackedCodes.paddedColumns(bits: 2, cols: w.cols), n = w.rows, rb = w.rowBytes
    var asum = [Int32](repeating: 0, count: M)
    for i in 0..<M { var s: Int32 = 0; for p in 0..<kp { s += Int32(a[i * kp + p]) }; asum[i] = s }
    w.bytes.withUnsafeBufferPointer { wb in
        asum.withUnsafeBufferPointer { sums in
            parallelRanges(n, costPerItem: M * kp / 8) { j0, j1 in
                let rows = j1 - j0, wp = wb.baseAddress! + j0 * rb
                if csimd_packed2_matmul(out + j0, n, a, sums.baseAddress!, wp, M, rows, kp) == 0 {
                    packed2MatmulScalar(out: out + j0, ldo: n, a: a, asum: sums.baseAddress!, w: wp, m: M, n: rows, kp: kp)
                }
            }
        }
    }
}

/// The Swift loop of the kernel's arithmetic: Σ a · u over the stored fields, minus 2·Σ a.
func packed2MatmulScalar(out: UnsafeMutablePointer<Int32>, ldo: Int, a: UnsafePointer<Int8>, asum: UnsafePointer<Int32>,
                         w: UnsafePointer<UInt8>, m M: Int, n N: Int, kp: Int) {
    let rb = kp / 4
    var u = [Int32](repeating: 0, count: kp)
    for j in 0..<N {
        for g in 0..<(kp / 128) {
            for t in 0..<32 {
                let byte = w[j * rb + g * 32 + t]
                for k in 0..<4 { u[g * 128 + k * 32 + t] = Int32((byte >> UInt8(2 * k)) & 3) }
            }
        }
        for i in 0..<M {
            var acc: Int32 = 0
            for p in 0..<kp { acc &+= Int32(a[i * kp + p]) &* u[p] }
            out[i * ldo + j] = acc &- 2 &* asum[i]
        }
    }
}

/// Activation codes of `x[M, K]` under a symmetric (or int8) quantizer, zero-padded to `kp` columns,
/// with each row's scale — the codes the fake-quant forward rounds to (`Quantizer.quantize`).
public func quantizeActivations(_ x: UnsafePointer<Float>, m M: Int, k K: Int, kp: Int, quantizer: Quantizer) -> (codes: [Int8], rowScales: [Float]) {
    precondition([.symmetric, .int8].contains(quantizer.scheme), "quantizeActivations: symmetric or int8 quantizers only")
    let q = quantizer.quantize(x, rows: M, cols: K)
    let g = q.groupLength
    var codes = [Int8](repeating: 0, count: M * kp)
    for i in 0..<M { for p in 0..<K { codes[i * kp + p] = Int8(q.codes[i * K + p]) } }
    let scales = (0..<M).map { q.scales.isEmpty ? 0 : q.scales[($0 * K) / max(g, 1)] }
    return (codes, scales)
}

/// A linear with 2-bit packed weights: y[M, N] = x̂ · Ŵᵀ + b, x quantized by `activations` (per
/// tensor or per token), Ŵ = scale · codes (one scale per tensor).
public func packed2LinearForward(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: PackedCodes, scale: Float,
                                 activations: Quantizer, bias: UnsafePointer<Float>?, m M: Int) {
    let n = weight.rows, kp = PackedCodes.paddedColumns(bits: 2, cols: weight.cols)
    let (codes, rowScales) = quantizeActivations(x, m: M, k: weight.cols, kp: kp, quantizer: activations)
    let acc = UnsafeMutablePointer<Int32>.allocate(capacity: M * n)
    defer { acc.deallocate() }
    codes.withUnsafeBufferPointer { packed2Matmul(out: acc, a: $0.baseAddress!, weight: weight, m: M) }
    for i in 0..<M {
        let s = rowScales[i] * scale
        for j in 0..<n { y[i * n + j] = Float(acc[i * n + j]) * s + (bias?[j] ?? 0) }
    }
}
