import Kernels

/// A normalisation layer: RMSNorm (Llama family) or LayerNorm (GPT-2, BERT).
public struct Norm {
    public enum Kind: Sendable { case rms, layer }
    public var kind: Kind
    public var weight: [Float]
    public var bias: [Float]?
    public var eps: Float

    public init(kind: Kind, weight: [Float], bias: [Float]?, eps: Float) {
        self.kind = kind; self.weight = weight; self.bias = bias; self.eps = eps
    }

    /// `out[rows, C] = norm(inp[rows, C])`.
    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows: Int) {
        let c = weight.count
        weight.withUnsafeBufferPointer { w in
            switch kind {
            case .rms:
                rmsNormForward(out, rstd: nil, inp, weight: w.baseAddress!, rows: rows, channels: c, eps: eps)
            case .layer:
                if let bias {
                    bias.withUnsafeBufferPointer { b in
                        layerNormForward(out, mean: nil, rstd: nil, inp, weight: w.baseAddress!, bias: b.baseAddress, rows: rows, channels: c, eps: eps)
                    }
                } else {
                    layerNormForward(out, mean: nil, rstd: nil, inp, weight: w.baseAddress!, bias: nil, rows: rows, channels: c, eps: eps)
                }
            }
        }
    }
}
