import Foundation
import Kernels

/// Supported model families (the registry key is `model_type`, with `architectures` as fallback).
public enum ModelFamily: String, CaseIterable, Sendable, Codable {
    case llama, qwen2, mistral, gpt2, bert
}

/// What the model's head computes.
public enum ModelTask: String, Sendable, Codable {
    /// Next-token logits `[B, T, V]`.
    case causalLM
    /// Sequence-classification logits `[B, numLabels]` (BERT `[CLS]` → pooler → classifier).
    case sequenceClassification
    /// Last hidden states `[B, T, C]` (a bare `BertModel`).
    case encoder
}

/// Where each sublayer's norm sits.
public enum NormPlacement: String, Sendable, Codable {
    /// `x + f(norm(x))` (Llama, GPT-2).
    case pre
    /// `norm(x + f(x))` (BERT).
    case post
}

/// The family-independent description every forward, pass and report uses.
/// Per-layer shapes (heads, FFN width) live on each `TransformerLayer`, since pruning changes them.
public struct ModelConfig: Sendable {
    public var family: ModelFamily
    public var task: ModelTask
    public var architecture: String
    public var numLayers: Int
    public var hidden: Int
    public var numHeads: Int
    public var numKVHeads: Int
    public var headDim: Int
    /// FFN intermediate width as configured (unpruned).
    public var intermediateSize: Int
    public var vocabSize: Int
    public var numLabels: Int
    public var maxPositions: Int
    public var normEps: Float
    public var normPlacement: NormPlacement
    public var activation: Activation
    /// SwiGLU (`down(act(gate(x)) · up(x))`) versus plain `fc2(act(fc1(x)))`.
    public var gatedMLP: Bool
    /// Rotary embeddings (nil: learned absolute positions).
    public var rope: RopeConfig?
    public var tieWordEmbeddings: Bool
    /// Sliding-window attention (keys per query); applies to every layer except `fullAttentionLayers`.
    public var slidingWindow: Int?
    public var typeVocabSize: Int
    /// Layers that attend in full although `slidingWindow` is set (Qwen2: below `max_window_layers`,
    /// or `layer_types` "full_attention").
    public var fullAttentionLayers: Set<Int> = []
    /// The sliding window of layer `layer` (nil: full causal attention).
    public func slidingWindow(layer: Int) -> Int? { fullAttentionLayers.contains(layer) ? nil : slidingWindow }
    /// Queries attend only to earlier keys.
    public var isCausal: Bool { task == .causalLM }
    public var isCausalLM: Bool { task == .causalLM }
    public var isClassifier: Bool { task == .sequenceClassification }
    public var attentionScale: Float { 1 / Float(headDim).squareRoot() }
}

/// Rotary embedding settings (`rope_theta` + `rope_scaling`, or transformers 5 `rope_parameters`).
public struct RopeConfig: Sendable, Equatable {
    public var theta: Float
    public var scaling: RopeScaling
    public var dim: Int

    public init(theta: Float, scaling: RopeScaling, dim: Int) { self.theta = theta; self.scaling = scaling; self.dim = dim }

    public func inverseFrequencies(seqLen: Int) -> [Float] {
        rotaryInverseFrequencies(dim: dim, theta: theta, scaling: scaling, seqLen: seqLen)
    }
}

extension ModelConfig {
    /// The registry: reads `model_type` (or `architectures`) from `config.json` and decodes the
    /// family's typed config. Unknown families throw `ModelError.unsupportedFamily`.
    public static func from(json: [String: Any]) throws -> ModelConfig {
        let modelType = json["model_type"] as? String
        let architectures = json["architectures"] as? [String] ?? []
        guard let family = ModelConfig.family(modelType: modelType, architectures: architectures) else {
            throw ModelError.unsupportedFamily(modelType: modelType, architectures: architectures,
                                               supported: ModelFamily.allCases.map(\.rawValue))
        }
        let data = try JSONSerialization.data(withJSONObject: json)
        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            do { return try JSONDecoder().decode(T.self, from: data) } catch let DecodingError.typeMismatch(_, ctx) {
                throw ModelError.invalidConfig(key: ctx.codingPath.map(\.stringValue).joined(separator: "."), reason: "wrong type (\(ctx.debugDescription))")
            } catch let DecodingError.keyNotFound(key, _) {
                throw ModelError.invalidConfig(key: key.stringValue, reason: "required key missing")
            } catch let DecodingError.valueNotFound(_, ctx) {
                throw ModelError.invalidConfig(key: ctx.codingPath.map(\.stringValue).joined(separator: "."), reason: "must not be null")
            } catch {
                throw ModelError.invalidConfig(key: "(root)", reason: "\(error)")
            }
        }
        let arch = architectures.first ?? ""
        switch family {
        case .llama, .qwen2, .mistral: return try decode(LlamaFamilyConfig.self).modelConfig(family: family, architecture: arch)
        case .gpt2: return try decode(GPT2Config.self).modelConfig(architecture: arch)
        case .bert: return try decode(BertConfig.self).modelConfig(architecture: arch)
        }
    }

    static func family(modelType: String?, architectures: [String]) -> ModelFamily? {
        if let modelType, let f = ModelFamily(rawValue: modelType) { return f }
        for a in architectures {
            if a.hasPrefix("Llama") { return .llama }
            if a.hasPrefix("Qwen2") { return .qwen2 }
            if a.hasPrefix("Mistral") { return .mistral }
            if a.hasPrefix("GPT2") { return .gpt2 }
            if a.hasPrefix("Bert") { return .bert }
        }
        return nil
    }
}
