import CSIMD

/// Ternary / 2-bit weights (`PackedCodes`, 2 bits) × int8 activations → int32 (ALGORITHMS.md §4;
/// the integer form of TI's fake-quantized linear):
///   acc[m, n] = Σ_k a[m, k] · c[n, k]        a: activation codes [M, Kp] (zero past K), c ∈ {−1, 0, 1}
///   y[m, n]   = acc[m, n] · (s_a · s_w) + bias[n]
/// `packed2MatmulNaive` is the oracle of `packed2Matmul` (CSIMD's kernels, or `packed2MatmulScalar`).

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

/// The instructions `packed2Matmul` runs on this CPU (for benches).
public var packed2KernelName: String { csimd_vnni_available() == 1 ? "AVX-512 VNNI" : csimd_available() == 1 ? "AVX2" : "Swift scalar" }

/// The product: CSIMD's kernel (AVX-512 VNNI rows or tiles, else AVX2; it splits large products over
/// the cores itself), or the Swift loop over the cores without AVX2.
public func packed2Matmul(out: UnsafeMutablePointer<Int32>, a: UnsafePointer<Int8>, weight w: PackedCodes, m M: Int) {
    precondition(w.bits == 2, "packed2Matmul: 2-bit codes only (got \(w.bits))")
    let kp = PackedCodes.paddedColumns(bits: 2, cols: w.cols), n = w.rows, rb = w.rowBytes
    w.bytes.withUnsafeBufferPointer { wb in
        if csimd_packed2_matmul(out, n, a, wb.baseAddress!, M, n, kp) == n { return }
        let asum = (0..<M).map { i in (0..<kp).reduce(Int32(0)) { $0 &+ Int32(a[i * kp + $1]) } }
        parallelRanges(n, costPerItem: M * kp / 8) { j0, j1 in
            packed2MatmulScalar(out: out + j0, ldo: n, a: a, asum: asum, w: wb.baseAddress! + j0 * rb, m: M, n: j1 - j0, kp: kp)
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
/// with each row's scale — the codes the fake-quant forward rounds to (`Quantizer.quantize`): per group
/// (the tensor, or a row) s from the clipped |x| maximum, q = clamp(round_half_even(x_c / s), lo, hi),
/// by CSIMD where it can (the same IEEE division and rounding) and the Swift loop for the rest.
public func quantizeActivations(_ x: UnsafePointer<Float>, m M: Int, k K: Int, kp: Int, quantizer: Quantizer) -> (codes: [Int8], rowScales: [Float]) {
    precondition([.symmetric, .int8].contains(quantizer.scheme), "quantizeActivations: symmetric or int8 quantizers only")
    let clip = quantizer.clip ?? .infinity
    let int8 = quantizer.scheme == .int8
    let hi: Float = int8 ? 127 : symmetricLevels(bits: quantizer.bits), lo: Float = int8 ? -128 : -hi
    let perTensor = quantizer.granularity == .tensor
    var codes = [Int8](repeating: 0, count: M * kp), rowScales = [Float](repeating: 0, count: M)
    guard M > 0, K > 0 else { return (codes, rowScales) }
    func scale(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        let m = min(absMax(p, n), clip)          // max |clamp(x, ±clip)|
        return int8 ? int8SymmetricScale(absmax: m) : m / hi
    }
    let tensorScale = perTensor ? scale(x, M * K) : 0
    codes.withUnsafeMutableBufferPointer { q in
        for i in 0..<M {
            let row = x + i * K, out = q.baseAddress! + i * kp
            let s = perTensor ? tensorScale : scale(row, K)
            rowScales[i] = s
            if s == 0 { continue }              // symmetric: a zero range gives 0 codes
            for p in csimd_packed2_quantize(out, row, K, clip, s, lo, hi)..<K {
                out[p] = Int8(min(max((min(max(row[p], -clip), clip) / s).rounded(.toNearestOrEven), lo), hi))
            }
        }
    }
    return (codes, rowScales)
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
        let s = rowScales[i] * scale, o = y + i * n, r = acc + i * n
        if let bias { for j in 0..<n { o[j] = Float(r[j]) * s + bias[j] } } else { for j in 0..<n { o[j] = Float(r[j]) * s } }
    }
}
