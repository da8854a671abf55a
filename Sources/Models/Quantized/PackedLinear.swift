import Kernels

/// y = x̂·Ŵᵀ + b with Ŵ ternary or 2-bit (`PackedCodes`, one scale per tensor) and x quantized at run
/// time by the activation quantizer the student was trained with (`packed2LinearForward`): int8 codes ×
/// 2-bit codes summed exactly in int32, then scaled once.
public final class PackedLinear: LinearLayer {
    public let weight: PackedCodes
    public let scale: Float
    public let activations: Quantizer
    public let bias: [Float]?
    public var inFeatures: Int { weight.cols }
    public var outFeatures: Int { weight.rows }

    public init(weight: PackedCodes, scale: Float, activations: Quantizer, bias: [Float]?) {
        precondition(weight.bits == 2, "PackedLinear: 2-bit codes only")
        self.weight = weight; self.scale = scale; self.activations = activations; self.bias = bias
    }

    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows: Int) {
        if let bias {
            bias.withUnsafeBufferPointer {
                packed2LinearForward(y: out, x: inp, weight: weight, scale: scale, activations: activations, bias: $0.baseAddress, m: rows)
            }
        } else {
            packed2LinearForward(y: out, x: inp, weight: weight, scale: scale, activations: activations, bias: nil, m: rows)
        }
    }
}
