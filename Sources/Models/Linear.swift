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
/// Its values live in `Variable`s, so the training tape trains this very layer.
public final class Linear: LinearLayer {
    public let weightParameter: Variable
    public let biasParameter: Variable?
    public let inFeatures: Int
    public let outFeatures: Int

    /// `name` is the checkpoint name without `.weight` / `.bias` (names the parameters).
    public convenience init(weight: [Float], bias: [Float]?, inFeatures: Int, outFeatures: Int, name: String = "") {
        precondition(weight.count == inFeatures * outFeatures, "Linear: \(weight.count) weights for [\(outFeatures), \(inFeatures)]")
        precondition(bias == nil || bias!.count == outFeatures, "Linear: bias of \(bias!.count) for \(outFeatures) outputs")
        self.init(weight: .parameter(weight, shape: [outFeatures, inFeatures], name: name + ".weight"),
                  bias: bias.map { .parameter($0, shape: [outFeatures], name: name + ".bias") })
    }

    /// A layer over existing parameters (a tied `lm_head` shares the token table's variable).
    public init(weight: Variable, bias: Variable?) {
        precondition(weight.shape.count == 2, "Linear: weight of shape \(weight.shape)")
        weightParameter = weight; biasParameter = bias
        outFeatures = weight.shape[0]; inFeatures = weight.shape[1]
    }

    public var weight: [Float] {
        get { weightParameter.value }
        set { precondition(newValue.count == weightParameter.count, "Linear: \(newValue.count) weights for \(weightParameter.shape)"); weightParameter.value = newValue }
    }
    public var bias: [Float]? { biasParameter?.value }

    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows: Int) {
        if panelGemmRuns(rows: rows) { return f32LinearsForward([self], outputs: [out], x: inp, rows: rows) }
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

    /// `forward` on ≤ `gemvRows` rows with the GEMV's row blocks (a KV-cache forward's prompt, sequences
    /// decoding together: each weight read once, where OpenBLAS's GEMM packs it first); nil when the GEMV
    /// declines (no AVX-512, `WHITTLE_SGEMV=blas`) or the rows are more. Only the eager executor's cached
    /// forward asks (`EagerExecutor.linear`): `forward` itself stays OpenBLAS's at 2… rows, as the tape's products are.
    /// It is `fusedLinearForward` with this layer alone.
    public func fewRows(_ x: [Float], rows: Int) -> [Float]? {
        guard rows >= 1, rows <= gemvRows, x.count == rows * inFeatures else { return nil }
        return fusedLinearForward([self], x, rows: rows, fewRowGemv: true)?.first
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
