/// Static W8A8 linear: the arithmetic of a compressed-tensors checkpoint with static asymmetric
/// per-tensor input activations (ALGORITHMS.md §3.5; `input_scale`, `input_zero_point`):
///   activation codes  q_x[m, k] = clamp(round(x/Δx) + z, −128, 127)      z: int8 zero point
///   y[m, n]           = Δx · Δw[n] · (Σ_k q_x[m, k]·q_w[n, k] − z · Σ_k q_w[n, k]) + b[n]
/// which is Σ_k x̂·ŵ + b with x̂ = Δx(q_x − z), ŵ = Δw q_w. The int8 code is the uint8 code of
/// `AsymmetricUInt8Params` minus 128 (and z = its zero point − 128), so x̂ is the same value.
/// `int8StaticLinearNaive` (dequantize, multiply in Double) is the oracle of `int8StaticLinearForward`.

/// The int8 activation codes of `x [count]` with static parameters.
public func int8StaticCodes(_ q: UnsafeMutablePointer<Int8>, _ x: UnsafePointer<Float>, count: Int, _ p: AsymmetricUInt8Params) {
    for i in 0..<count { q[i] = Int8(p.code(x[i]) - 128) }
}

public func int8StaticLinearForward(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, input p: AsymmetricUInt8Params,
                                    weight: UnsafePointer<Int8>, weightScale: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                    m M: Int, n N: Int, k K: Int) {
    let xq = UnsafeMutablePointer<Int8>.allocate(capacity: M * K)
    let acc = UnsafeMutablePointer<Int32>.allocate(capacity: M * N)
    defer { xq.deallocate(); acc.deallocate() }
    int8StaticCodes(xq, x, count: M * K, p)
    int8Matmul(out: acc, a: xq, b: weight, m: M, n: N, k: K)
    let z = Int32(p.zeroPoint) - 128
    for j in 0..<N {
        var colsum: Int32 = 0
        for c in 0..<K { colsum &+= Int32(weight[j * K + c]) }
        let s = p.scale * weightScale[j], offset = z &* colsum, b = bias?[j] ?? 0
        for i in 0..<M { y[i * N + j] = Float(acc[i * N + j] &- offset) * s + b }
    }
}

public func int8StaticLinearNaive(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, input p: AsymmetricUInt8Params,
                                  weight: UnsafePointer<Int8>, weightScale: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                  m M: Int, n N: Int, k K: Int) {
    for i in 0..<M {
        for j in 0..<N {
            var sum = 0.0
            for c in 0..<K {
                sum += Double(p.fakeQuantize(x[i * K + c])) * Double(Float(weight[j * K + c]) * weightScale[j])
            }
            y[i * N + j] = Float(sum) + (bias?[j] ?? 0)
        }
    }
}
