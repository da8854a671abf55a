/// One quantizer definition shared by export, the static W8A8 probe and quantization-aware
/// training, so that what is trained is what is written. A value names the scheme, the group
/// each scale covers and an optional clip; `FakeQuantize.swift` gives its forward (quantize then
/// dequantize), straight-through backward and integer codes, `FakeQuantizeNaive.swift` the test
/// oracle. Shapes: a tensor is `[rows, cols]` row-major (a weight `[out, in]`, activations `[N, C]`).
///
/// Schemes (x_c = clamp(x, −clip, clip) when `clip` is set, else x):
/// * `int8` — compressed-tensors symmetric int8 (`Int8Quantize.swift`): s = max|x_c| / 127.5
///   (0 → Float32 eps), q = clamp(round_half_even(x_c / s), −128, 127), x̂ = q·s.
/// * `uint8Asymmetric` — ALGORITHMS.md §3.5 activations: range widened to include 0,
///   Δ = (max − min)/255 (0 → eps), z = clamp(round(−min/Δ), 0, 255), q = clamp(round(x_c/Δ) + z, 0, 255),
///   x̂ = Δ(q − z).
/// * `ternary` — TWN as TernaryBERT/TI (ALGORITHMS.md §4.1): Δ = 0.7·mean|x_c|, α = mean{|x_c| : |x_c| > Δ},
///   x̂ = α·sign(x_c)·1[|x_c| > Δ]; layer-wise = per tensor, the word embedding per row.
/// * `symmetric` — `bits`-bit symmetric as TI's `SymQuantizer` (ALGORITHMS.md §4.1, activations at 8 bits):
///   with Q = 2^(bits−1) − 1, s = max|x_c| / Q, q = clamp(round_half_even(x_c / s), −Q, Q), x̂ = q·s
///   (a zero range gives 0). The level set is symmetric (no −2^(bits−1)), so 2 bits are {−s, 0, s}.
///   TI writes round(x·(Q/m))/(Q/m); we divide by the scale as the int8 exporter does, which can
///   differ from it in the last bit, and is what the exported codes reproduce exactly.
/// * `nf4` — bitsandbytes NF4 blockwise over the flattened tensor (ALGORITHMS.md §5.2–5.3),
///   `nf4Quantize` then `nf4Dequantize`; `granularity` is not used.
///
/// Rounding is half-to-even throughout (torch.round). The straight-through gradient passes where
/// −clip < x < clip and is 0 elsewhere (TI's `grad_input[input.ge(clip)] = 0`, `…le(−clip)`), so a
/// value exactly at ±clip gets none; without a clip every gradient passes.
public struct Quantizer: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    public enum Scheme: String, Sendable, Hashable, Codable, CaseIterable {
        case int8
        case uint8Asymmetric = "uint8_asymmetric"
        case ternary
        case symmetric
        case nf4
    }

    /// Which values share one scale. `token` is `row` for activations `[N, C]` (one scale per token).
    public enum Granularity: String, Sendable, Hashable, Codable, CaseIterable {
        case tensor, row, token
    }

    public var scheme: Scheme
    public var granularity: Granularity
    /// Bit width: `symmetric` 2…8; fixed for the other schemes (8, 8, 2, 4).
    public var bits: Int
    /// Values are clamped to ±clip before the range is computed (TI: 2.5); nil = no clamp.
    public var clip: Float?
    /// NF4 block size (values per absmax); unused by the other schemes.
    public var blockSize: Int

    public init(scheme: Scheme, granularity: Granularity = .tensor, bits: Int? = nil, clip: Float? = nil, blockSize: Int = 64) {
        self.scheme = scheme; self.granularity = granularity; self.clip = clip; self.blockSize = blockSize
        self.bits = bits ?? Self.defaultBits(scheme)
    }

    /// compressed-tensors int8; per `.row` for weights (output channel), `.token` for activations.
    public static func int8(_ granularity: Granularity = .row, clip: Float? = nil) -> Quantizer {
        Quantizer(scheme: .int8, granularity: granularity, clip: clip)
    }

    /// Asymmetric uint8 with one zero point per tensor (static activations, ALGORITHMS.md §3.5).
    public static func uint8Asymmetric(_ granularity: Granularity = .tensor, clip: Float? = nil) -> Quantizer {
        Quantizer(scheme: .uint8Asymmetric, granularity: granularity, clip: clip)
    }

    /// TWN ternary; `.tensor` for Linear weights, `.row` for the word embedding (TI defaults: clip 2.5).
    public static func ternary(_ granularity: Granularity = .tensor, clip: Float? = nil) -> Quantizer {
        Quantizer(scheme: .ternary, granularity: granularity, clip: clip)
    }

    /// TI/TernaryBERT symmetric `bits`-bit (TI activations: `symmetric(bits: 8, .tensor, clip: 2.5)`).
    public static func symmetric(bits: Int, _ granularity: Granularity = .tensor, clip: Float? = nil) -> Quantizer {
        Quantizer(scheme: .symmetric, granularity: granularity, bits: bits, clip: clip)
    }

    public static func nf4(blockSize: Int = 64, clip: Float? = nil) -> Quantizer {
        Quantizer(scheme: .nf4, granularity: .tensor, clip: clip, blockSize: blockSize)
    }

    static func defaultBits(_ scheme: Scheme) -> Int {
        switch scheme {
        case .int8, .uint8Asymmetric, .symmetric: return 8
        case .ternary: return 2
        case .nf4: return 4
        }
    }

    /// Why this quantizer cannot run, or nil.
    public var problem: String? {
        if let c = clip, !(c > 0 && c.isFinite) { return "clip must be a positive finite number (got \(c))" }
        switch scheme {
        case .symmetric:
            if !(2...8).contains(bits) { return "symmetric bits must be 2…8 (got \(bits))" }
        case .nf4:
            if !NF4.validBlockSizes.contains(blockSize) { return "nf4 block_size must be a power of two from 32 to 4096 (got \(blockSize))" }
            if bits != 4 { return "nf4 has 4 bits (got \(bits))" }
        case .int8, .uint8Asymmetric, .ternary:
            if bits != Self.defaultBits(scheme) { return "\(scheme.rawValue) has \(Self.defaultBits(scheme)) bits (got \(bits))" }
        }
        return nil
    }

    public func validate() throws { if let p = problem { throw QuantizerError(message: p) } }

    /// Values sharing one scale in a `[rows, cols]` tensor (NF4: one block).
    public func groupLength(rows: Int, cols: Int) -> Int {
        switch scheme {
        case .nf4: return blockSize
        default: return granularity == .tensor ? rows * cols : cols
        }
    }

    public var description: String {
        var s = "\(scheme.rawValue)"
        if scheme == .symmetric { s += "\(bits)" }
        s += scheme == .nf4 ? " block \(blockSize)" : " per \(granularity.rawValue)"
        if let c = clip { s += " clip ±\(c)" }
        return s
    }

    enum CodingKeys: String, CodingKey { case scheme, granularity, bits, clip, blockSize = "block_size" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let scheme = try c.decode(Scheme.self, forKey: .scheme)
        self.init(scheme: scheme, granularity: try c.decodeIfPresent(Granularity.self, forKey: .granularity) ?? .tensor,
                  bits: try c.decodeIfPresent(Int.self, forKey: .bits), clip: try c.decodeIfPresent(Float.self, forKey: .clip),
                  blockSize: try c.decodeIfPresent(Int.self, forKey: .blockSize) ?? 64)
        if let p = problem { throw DecodingError.dataCorruptedError(forKey: .scheme, in: c, debugDescription: p) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(scheme, forKey: .scheme)
        try c.encode(granularity, forKey: .granularity)
        try c.encode(bits, forKey: .bits)
        try c.encodeIfPresent(clip, forKey: .clip)
        if scheme == .nf4 { try c.encode(blockSize, forKey: .blockSize) }
    }
}

public struct QuantizerError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
