import Kernels

/// A normalisation layer: RMSNorm (Llama family) or LayerNorm (GPT-2, BERT). Values live in `Variable`s (trainable).
public struct Norm {
    public enum Kind: Sendable { case rms, layer }
    public var kind: Kind
    public let weightParameter: Variable
    public let biasParameter: Variable?
    public var eps: Float

    /// `name` is the checkpoint name without `.weight` / `.bias` (names the parameters).
    public init(kind: Kind, weight: [Float], bias: [Float]?, eps: Float, name: String = "") {
        self.kind = kind; self.eps = eps
        weightParameter = .parameter(weight, shape: [weight.count], name: name + ".weight")
        biasParameter = bias.map { .parameter($0, shape: [$0.count], name: name + ".bias") }
    }

    public var weight: [Float] { weightParameter.value }
    public var bias: [Float]? { biasParameter?.value }

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
