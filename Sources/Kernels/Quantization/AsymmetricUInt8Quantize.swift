/// Asymmetric uint8 quantization (ALGORITHMS.md §3.5, Quantizable Transformers' static activations):
///   range widened to include 0:  lo = min(x_min, 0), hi = max(x_max, 0)
///   Δ = (hi − lo)/255 (0 → Float32 eps),  z = clamp(round(−lo/Δ), 0, 255)
///   q = clamp(round(x/Δ) + z, 0, 255),  x̂ = Δ(q − z)
/// Rounding half-to-even (torch.round). Widening to 0 makes 0 exact (x̂(0) = 0).
public struct AsymmetricUInt8Params: Equatable, Hashable, Sendable {
    public var scale: Float
    public var zeroPoint: Float

    public init(scale: Float, zeroPoint: Float) { self.scale = scale; self.zeroPoint = zeroPoint }

    /// Δ and z from an observed range.
    public init(min lo: Float, max hi: Float) {
        let lo = Swift.min(lo, 0), hi = Swift.max(hi, 0)
        var scale = (hi - lo) / 255
        if scale == 0 { scale = Float.ulpOfOne }
        self.init(scale: scale, zeroPoint: Swift.min(Swift.max((-lo / scale).rounded(.toNearestOrEven), 0), 255))
    }

    /// The code q ∈ 0…255 (as a Float) of one value.
    @inline(__always)
    public func code(_ x: Float) -> Float {
        Swift.min(Swift.max((x / scale).rounded(.toNearestOrEven) + zeroPoint, 0), 255)
    }

    /// x̂ = Δ(q − z).
    @inline(__always)
    public func fakeQuantize(_ x: Float) -> Float { scale * (code(x) - zeroPoint) }
}

/// Codes of one group of `n` values with the range taken from the group; returns its parameters.
func uint8AsymmetricQuantizeGroup(codes: UnsafeMutablePointer<Int32>, x: UnsafePointer<Float>, count n: Int) -> AsymmetricUInt8Params {
    var lo = Float.infinity, hi = -Float.infinity
    for i in 0..<n { lo = min(lo, x[i]); hi = max(hi, x[i]) }
    let p = AsymmetricUInt8Params(min: lo, max: hi)
    for i in 0..<n { codes[i] = Int32(p.code(x[i])) }
    return p
}

/// In place over `count` values with given (calibrated) parameters: the static probe's activations.
public func uint8AsymmetricFakeQuantize(_ x: UnsafeMutablePointer<Float>, count n: Int, _ p: AsymmetricUInt8Params) {
    for i in 0..<n { x[i] = p.fakeQuantize(x[i]) }
}
