import Foundation
import Kernels

/// The `whittle` section of `config.json` (docs/ARCHITECTURE.md "The whittle section"): what our
/// passes changed that stock loaders need not know, applied inside the model when it loads
/// (`TransformerLayer.structure`). Stock loaders ignore the section: removed sublayers and pruned
/// units are zeroed on disk, so they compute the same function.
///
/// ```json
/// {"whittle": {"layout": "zeroed", "skipped_sublayers": [{"layer": 1, "kind": "attention"}],
///              "dropped_layers": [3], "original_num_layers": 4,
///              "pruned_heads": {"0": [2]}, "pruned_neurons": {"1": [5, 9]},
///              "masked_heads": {"0": [2]}, "masked_neurons": {"1": [5, 9]},
///              "attention": {"normaliser": "clipped_softmax", "gamma": -0.03, "zeta": 1},
///              "quantization": {"format": "whittle-packed", "weights": {"…query.weight": {"shape": [384, 384],
///                               "quantizer": {"scheme": "ternary", "granularity": "tensor", "bits": 2, "clip": 2.5}}},
///                               "activations": {"scheme": "symmetric", "bits": 8, "granularity": "tensor", "clip": 2.5},
///                               "activation_sites": ["attentionInput", "query", …]}}}
/// ```
public struct WhittleConfig: Codable, Equatable, Sendable {
    /// `zeroed` or `sliced` (how a pruning pass wrote its result).
    public var layout: String?
    public var skippedSublayers: [SublayerID]?
    /// Layers removed entirely (numbering of the input model) and how many there were.
    public var droppedLayers: [Int]?
    public var originalNumLayers: Int?
    /// Pruned units in the input model's numbering (provenance).
    public var prunedHeads: [String: [Int]]?
    public var prunedNeurons: [String: [Int]]?
    /// Pruned units still present in the stored tensors, by layer (stored numbering): every forward
    /// scales them by 0.
    public var maskedHeads: [String: [Int]]?
    public var maskedNeurons: [String: [Int]]?
    /// The attention normaliser of every layer.
    public var attention: AttentionSettings?
    /// Gated attention in every layer: its tensors are `<layer>.self_attn.gate.*` (per family:
    /// `FamilyLayout.attentionGate`), loaded with the model.
    public var attentionGate: AttentionGateSettings?
    /// A quantization-aware-trained student (`qat`): how its weights are stored and the activation
    /// quantization it was trained with, which every forward of the loaded model applies.
    public var quantization: QuantizationSettings?

    public struct AttentionSettings: Codable, Equatable, Sendable {
        /// `softmax` or `clipped_softmax`.
        public var normaliser: String
        public var gamma: Float?
        public var zeta: Float?
        /// The α parametrisation (ALGORITHMS.md §3.1): γ = −α / T_max, ζ = 1, with T_max the
        /// training sequence length (`max_seq_length`). Used when `gamma` is absent.
        public var alpha: Float?
        public var maxSeqLength: Int?
        public init(normaliser: String, gamma: Float? = nil, zeta: Float? = nil, alpha: Float? = nil, maxSeqLength: Int? = nil) {
            self.normaliser = normaliser; self.gamma = gamma; self.zeta = zeta; self.alpha = alpha; self.maxSeqLength = maxSeqLength
        }
        enum CodingKeys: String, CodingKey { case normaliser, gamma, zeta, alpha, maxSeqLength = "max_seq_length" }
    }

    enum CodingKeys: String, CodingKey {
        case layout, skippedSublayers = "skipped_sublayers", droppedLayers = "dropped_layers", originalNumLayers = "original_num_layers"
        case prunedHeads = "pruned_heads", prunedNeurons = "pruned_neurons", maskedHeads = "masked_heads", maskedNeurons = "masked_neurons"
        case attention, attentionGate = "attention_gate", quantization
    }

    public init() {}

    /// Reads the section of a parsed `config.json` (absent: empty). Errors name the key.
    public static func read(from config: [String: Any]) throws -> WhittleConfig {
        guard let section = config["whittle"] else { return WhittleConfig() }
        guard JSONSerialization.isValidJSONObject(section) else {
            throw ModelError.invalidConfig(key: "whittle", reason: "must be an object")
        }
        do {
            return try JSONDecoder().decode(WhittleConfig.self, from: try JSONSerialization.data(withJSONObject: section))
        } catch let DecodingError.typeMismatch(_, ctx), let DecodingError.valueNotFound(_, ctx), let DecodingError.dataCorrupted(ctx) {
            throw ModelError.invalidConfig(key: (["whittle"] + ctx.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }).joined(separator: ".").replacingOccurrences(of: ".[", with: "["),
                                           reason: ctx.debugDescription)
        } catch let DecodingError.keyNotFound(key, ctx) {
            throw ModelError.invalidConfig(key: (["whittle"] + ctx.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: "."), reason: "required key missing")
        }
    }

    /// The section as a `config.json` value.
    public var jsonObject: [String: Any] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = try! encoder.encode(self)
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    /// The normaliser the section names (nil: not set).
    public func attentionVariant() throws -> AttentionVariant? {
        guard let a = attention else { return nil }
        switch a.normaliser {
        case "softmax": return .standard
        case "clipped_softmax":
            if a.gamma == nil, let alpha = a.alpha {
                guard let t = a.maxSeqLength, t > 0 else {
                    throw ModelError.invalidConfig(key: "whittle.attention.max_seq_length", reason: "alpha needs the training sequence length T_max (> 0)")
                }
                return .clippedSoftmax(alpha: alpha, maxSeqLength: t)
            }
            guard let gamma = a.gamma, let zeta = a.zeta else {
                throw ModelError.invalidConfig(key: "whittle.attention", reason: "clipped_softmax needs \"gamma\" and \"zeta\" (or \"alpha\" and \"max_seq_length\")")
            }
            return .clippedSoftmax(gamma: gamma, zeta: zeta)
        default:
            throw ModelError.invalidConfig(key: "whittle.attention.normaliser", reason: "'\(a.normaliser)' (supported: softmax, clipped_softmax)")
        }
    }

    /// Each layer's structure for a model of `layers` layers.
    public func structures(layers: Int) throws -> [LayerStructure] {
        var out = [LayerStructure](repeating: LayerStructure(), count: layers)
        func layer(_ i: Int, _ key: String) throws -> Int {
            guard (0..<layers).contains(i) else { throw ModelError.invalidConfig(key: "whittle.\(key)", reason: "layer \(i) is outside 0..<\(layers)") }
            return i
        }
        for s in skippedSublayers ?? [] {
            let i = try layer(s.layer, "skipped_sublayers")
            if s.kind == .attention { out[i].skipAttention = true } else { out[i].skipMLP = true }
        }
        for (key, list, isHeads) in [("masked_heads", maskedHeads, true), ("masked_neurons", maskedNeurons, false)] {
            for (name, units) in list ?? [:] {
                guard let l = Int(name) else { throw ModelError.invalidConfig(key: "whittle.\(key).\(name)", reason: "keys are layer numbers") }
                let i = try layer(l, key)
                if isHeads { out[i].maskedHeads = units.sorted() } else { out[i].maskedNeurons = units.sorted() }
            }
        }
        if let variant = try attentionVariant() { for i in out.indices { out[i].attention = variant } }
        return out
    }
}
