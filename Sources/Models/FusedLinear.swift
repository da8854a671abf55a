import Kernels

/// Linears on the same rows `x[M, K]` as one product when their kernel allows it — a decode step's q, k, v
/// or gate, up: 16-bit weights of one dtype at ≤ `pooledRows` rows (`halfLinearsForward`), f32 weights at
/// one row (`gemvForward`) — so the pool splits all their weight rows in one hand-off instead of one per
/// linear. Each output is what the layer's own `forward` returns (the same kernel on the same rows).
/// nil when they cannot (quantized or mixed layers, more rows, no kernel): the caller runs them one by one.
public func fusedLinearForward(_ layers: [any LinearLayer], _ x: [Float], rows m: Int) -> [[Float]]? {
    guard let k = layers.first?.inFeatures, m > 0, layers.allSatisfy({ $0.inFeatures == k }) else { return nil }
    let halves = layers.compactMap { $0 as? HalfLinear }, floats = layers.compactMap { $0 as? Linear }
    guard halves.count == layers.count || (floats.count == layers.count && m == 1) else { return nil }
    let widths = layers.map(\.outFeatures)
    let buffer = UnsafeMutablePointer<Float>.allocate(capacity: m * widths.reduce(0, +))
    defer { buffer.deallocate() }
    var ys: [UnsafeMutablePointer<Float>] = [], offset = 0
    for n in widths { ys.append(buffer + m * offset); offset += n }
    let done: Bool = x.withUnsafeBufferPointer { xp in
        if halves.count == layers.count { return halfLinearsForward(ys, x: xp.baseAddress!, weights: halves.map(\.weight), m: m) }
        return withPointers(floats.map(\.weight)) { ws in
            gemvForward(zip(ys, zip(ws, widths)).map { GemvOutput(y: $0, weight: $1.0, rows: $1.1) }, x: xp.baseAddress!, m: 1, k: k)
        }
    }
    guard done else { return nil }
    let biases = halves.count == layers.count ? halves.map(\.bias) : floats.map(\.bias)
    return zip(ys, zip(widths, biases)).map { y, nb in
        let (n, bias) = nb
        var out = Array(UnsafeBufferPointer(start: y, count: m * n))
        if let bias { for i in 0..<m { for j in 0..<n { out[i * n + j] += bias[j] } } }
        return out
    }
}

/// `body` with the base address of every array (each valid for the call).
func withPointers<R>(_ arrays: [[Float]], _ body: ([UnsafePointer<Float>]) -> R) -> R {
    var pointers: [UnsafePointer<Float>] = []
    func nest(_ i: Int) -> R {
        if i == arrays.count { return body(pointers) }
        return arrays[i].withUnsafeBufferPointer { pointers.append($0.baseAddress!); return nest(i + 1) }
    }
    return nest(0)
}
