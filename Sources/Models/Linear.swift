import Kernels

/// A linear map `y[N,OC] = x[N,C]·Wᵀ + b`. Layers hold `any LinearLayer`, so a quantized
/// implementation (int8, NF4, fake-quant) can replace the f32 `Linear` without touching model code.
public protocol LinearLayer: AnyObject {
    var inFeatures: Int { get }
    var outFeatures: Int { get }
    /// `out[rows, outFeatures] = inp[rows, inFeatures] · Wᵀ + b`.
    func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows: Int)
}

/// The f32 linear layer: `weight [outFeatures, inFeatures]` row-major (PyTorch layout), optional bias.
public final class Linear: LinearLayer {
    public var weight: [Float]
    public var bias: [Float]?
    public let inFeatures: Int
    public let outFeatures: Int

    public init(weight: [Float], bias: [Float]?, inFeatures: Int, outFeatures: Int) {
        precondition(weight.count == inFeatures * outFeatures, "Linear: \(weight.count) weights for [\(outFeatures), \(inFeatures)]")
        precondition(bias == nil || bias!.count == outFeatures, "Linear: bias of \(bias!.count) for \(outFeatures) outputs")
        self.weight = weight
        self.bias = bias
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
    }

    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows: Int) {
        weight.withUnsafeBufferPointer { w in
            if let bias {
                bias.withUnsafeBufferPointer { b in
                    matmulForward(out, inp, w.baseAddress!, b.baseAddress, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures)
                }
            } else {
                matmulForward(out, inp, w.baseAddress!, nil, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures)
            }
        }
    }

    /// Number of stored parameters.
    public var parameterCount: Int { weight.count + (bias?.count ?? 0) }
}

extension LinearLayer {
    /// Convenience: applies the layer to `rows` rows and returns a new array.
    public func callAsFunction(_ x: [Float], rows: Int) -> [Float] {
        precondition(x.count == rows * inFeatures, "LinearLayer: \(x.count) inputs for [\(rows), \(inFeatures)]")
        return [Float](unsafeUninitializedCapacity: rows * outFeatures) { y, count in
            x.withUnsafeBufferPointer { forward(y.baseAddress!, $0.baseAddress!, rows: rows) }
            count = rows * outFeatures
        }
    }
}
