import Kernels

/// `whittle.quantization` (docs/ARCHITECTURE.md "Packed low-bit weights"): what the `qat` pass wrote.
///   format             `whittle-packed` — the listed weights as `PackedCodes` (U8 `[rows, row bytes]`)
///                      with F32 `<weight>.scales` (one per tensor, or per row); or `compressed-tensors`
///                      — the listed weights in the int-quantized layout (`Int8Layout`, 8-bit students).
///   weights            every quantized tensor: its quantizer (the grid of its codes) and `[rows, cols]`.
///   activations        the activation quantizer of training (absent: full-precision activations),
///   activation_sites   applied at these sites (`CapturePoint` names) in every forward of the model.
public struct QuantizationSettings: Codable, Equatable, Sendable {
    public static let packedFormat = "whittle-packed", int8Format = "compressed-tensors"

    public struct Weight: Codable, Equatable, Sendable {
        public var quantizer: Quantizer
        public var shape: [Int]
        public init(quantizer: Quantizer, shape: [Int]) { self.quantizer = quantizer; self.shape = shape }
    }

    public var format: String
    public var weights: [String: Weight]
    public var activations: Quantizer?
    public var activationSites: [CapturePoint]

    public init(format: String, weights: [String: Weight], activations: Quantizer?, activationSites: [CapturePoint]) {
        self.format = format; self.weights = weights; self.activations = activations; self.activationSites = activationSites
    }

    enum CodingKeys: String, CodingKey { case format, weights, activations, activationSites = "activation_sites" }

    /// The activation quantization as hooks, leaving out `except` (sites whose consumers quantize
    /// their input themselves).
    public func hooks(except: Set<CapturePoint> = []) -> [SiteHook] {
        guard let a = activations else { return [] }
        let points = Set(activationSites).subtracting(except)
        if points.isEmpty { return [] }
        let t = SiteTransform.fakeQuantize(a)
        return [SiteHook(points, .transform { _ in t })]
    }
}
