import Checkpoints
import Kernels
import Tensors

/// y = x·Wᵀ + b with W kept as the checkpoint stores it, BF16 or F16 (a view of the mapped file: no f32
/// copy), multiplied in f32 on the exactly widened values (`halfLinearForward`): the f32 `Linear` on the
/// upcast weight, up to summation order. Inference only (the training tape refuses it, as it refuses the
/// quantized linears); a BF16 / F16 checkpoint gets these from `loadCompressed`.
public final class HalfLinear: LinearLayer {
    public let weight: HalfMatrix
    public let bias: [Float]?
    public var inFeatures: Int { weight.cols }
    public var outFeatures: Int { weight.rows }

    public init(weight: HalfMatrix, bias: [Float]?) {
        precondition(bias == nil || bias!.count == weight.rows, "HalfLinear: bias of \(bias!.count) for \(weight.rows) outputs")
        self.weight = weight; self.bias = bias
    }

    /// On a stored 2-D BF16 / F16 tensor (`holds`).
    public convenience init(_ tensor: Tensor, bias: [Float]?) { self.init(weight: HalfMatrix(tensor), bias: bias) }

    /// Whether `tensor` can be a `HalfMatrix` (2-D BF16 or F16).
    public static func holds(_ tensor: Tensor) -> Bool {
        tensor.shape.count == 2 && (tensor.dtype == .BF16 || tensor.dtype == .F16)
    }

    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows: Int) {
        if let bias {
            bias.withUnsafeBufferPointer { halfLinearForward(y: out, x: inp, weight: weight, bias: $0.baseAddress, m: rows) }
        } else {
            halfLinearForward(y: out, x: inp, weight: weight, bias: nil, m: rows)
        }
    }
}

extension WeightReader {
    /// `name.weight` as a `HalfLinear` when it is stored as 2-D BF16 / F16 (the shape checked against
    /// `expected`); nil for any other dtype, so the caller loads it as f32. The bias stays f32.
    func halfLinear(_ name: String, _ expected: [Int]) throws -> HalfLinear? {
        guard let spec = store.spec(name + ".weight"), spec.dtype == .BF16 || spec.dtype == .F16 else { return nil }
        _ = try floatsShapeOnly(name + ".weight", expected)
        let tensor = try store.tensor(name + ".weight")
        guard HalfLinear.holds(tensor) else { return nil }
        return HalfLinear(tensor, bias: try optional(name + ".bias", [expected[0]]))
    }
}

extension FamilyWeights {
    /// Whether the token table is stored as BF16 / F16 (then, with `halfWeights`, it stays in the store).
    var tokenTableIsHalf: Bool {
        guard let spec = reader.store.spec(layout.tokenEmbedding) else { return false }
        return spec.dtype == .BF16 || spec.dtype == .F16
    }
}
