import Kernels

/// `rope_scaling` (transformers 4) or `rope_parameters` (transformers 5) object.
struct RopeParametersJSON: Decodable {
    var ropeType: String?
    var type: String?
    var ropeTheta: Float?
    var factor: Float?
    var lowFreqFactor: Float?
    var highFreqFactor: Float?
    var originalMaxPositionEmbeddings: Int?
    var partialRotaryFactor: Float?
    enum CodingKeys: String, CodingKey {
        case ropeType = "rope_type", type, ropeTheta = "rope_theta", factor
        case lowFreqFactor = "low_freq_factor", highFreqFactor = "high_freq_factor"
        case originalMaxPositionEmbeddings = "original_max_position_embeddings"
        case partialRotaryFactor = "partial_rotary_factor"
    }

    func ropeConfig(theta fallbackTheta: Float, dim: Int, maxPositions: Int, key: String) throws -> RopeConfig {
        let theta = ropeTheta ?? fallbackTheta
        if let p = partialRotaryFactor, p != 1 {
            throw ModelError.unsupportedOption(option: "\(key).partial_rotary_factor", reason: "only full rotary (1.0) is supported (got \(p))")
        }
        func need(_ v: Float?, _ name: String) throws -> Float {
            guard let v else { throw ModelError.invalidConfig(key: "\(key).\(name)", reason: "required for rope_type '\(ropeType ?? type ?? "")'") }
            return v
        }
        switch ropeType ?? type ?? "default" {
        case "default": return RopeConfig(theta: theta, scaling: .none, dim: dim)
        case "linear": return RopeConfig(theta: theta, scaling: .linear(factor: try need(factor, "factor")), dim: dim)
        case "dynamic":
            return RopeConfig(theta: theta, scaling: .dynamicNTK(factor: try need(factor, "factor"), maxPositions: maxPositions), dim: dim)
        case "llama3":
            guard let original = originalMaxPositionEmbeddings else {
                throw ModelError.invalidConfig(key: "\(key).original_max_position_embeddings", reason: "required for rope_type 'llama3'")
            }
            return RopeConfig(theta: theta, scaling: .llama3(factor: try need(factor, "factor"), lowFreqFactor: try need(lowFreqFactor, "low_freq_factor"),
                                                             highFreqFactor: try need(highFreqFactor, "high_freq_factor"), originalMaxPositions: original), dim: dim)
        case let other:
            throw ModelError.unsupportedOption(option: "\(key).rope_type", reason: "'\(other)' (supported: default, linear, dynamic, llama3)")
        }
    }
}

/// `config.json` of Llama, Qwen2 and Mistral (one layout: RMSNorm, rotary, SwiGLU, GQA).
struct LlamaFamilyConfig: Decodable {
    var vocabSize: Int?
    var hiddenSize: Int
    var intermediateSize: Int
    var numHiddenLayers: Int
    var numAttentionHeads: Int
    var numKeyValueHeads: Int?
    var headDim: Int?
    var hiddenAct: String?
    var maxPositionEmbeddings: Int?
    var rmsNormEps: Float?
    var tieWordEmbeddings: Bool?
    var ropeTheta: Float?
    var ropeScaling: RopeParametersJSON?
    var ropeParameters: RopeParametersJSON?
    var slidingWindow: Int?
    var useSlidingWindow: Bool?
    var maxWindowLayers: Int?
    var layerTypes: [String]?
    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads", headDim = "head_dim", hiddenAct = "hidden_act"
        case maxPositionEmbeddings = "max_position_embeddings", rmsNormEps = "rms_norm_eps"
        case tieWordEmbeddings = "tie_word_embeddings", ropeTheta = "rope_theta", ropeScaling = "rope_scaling"
        case ropeParameters = "rope_parameters", slidingWindow = "sliding_window", useSlidingWindow = "use_sliding_window"
        case maxWindowLayers = "max_window_layers", layerTypes = "layer_types"
    }

    func modelConfig(family: ModelFamily, architecture: String) throws -> ModelConfig {
        guard numAttentionHeads > 0, hiddenSize > 0, numHiddenLayers >= 0 else {
            throw ModelError.invalidConfig(key: "num_attention_heads", reason: "must be positive (got \(numAttentionHeads))")
        }
        let headDim = headDim ?? hiddenSize / numAttentionHeads
        let kv = numKeyValueHeads ?? numAttentionHeads
        guard kv > 0, numAttentionHeads % kv == 0 else {
            throw ModelError.invalidConfig(key: "num_key_value_heads", reason: "\(numAttentionHeads) heads are not a multiple of \(kv) kv heads")
        }
        let maxPos = maxPositionEmbeddings ?? (family == .llama ? 2048 : 32768)
        let ropeKey = ropeParameters != nil ? "rope_parameters" : "rope_scaling"
        let rope = try (ropeParameters ?? ropeScaling ?? RopeParametersJSON())
            .ropeConfig(theta: ropeTheta ?? 10000, dim: headDim, maxPositions: maxPos, key: ropeKey)
        // transformers: Mistral slides in every layer (it ignores `layer_types`); Qwen2 only with
        // `use_sliding_window`, in the layers `layer_types` marks, by default those ≥ `max_window_layers`.
        var window: Int? = nil, full: Set<Int> = []
        if family == .mistral { window = slidingWindow }
        if family == .qwen2, useSlidingWindow == true, let slidingWindow {
            window = slidingWindow
            if let layerTypes {
                guard layerTypes.count == numHiddenLayers, layerTypes.allSatisfy({ $0 == "sliding_attention" || $0 == "full_attention" }) else {
                    throw ModelError.invalidConfig(key: "layer_types", reason: "expected \(numHiddenLayers) entries of \"sliding_attention\" or \"full_attention\"")
                }
                full = Set(layerTypes.indices.filter { layerTypes[$0] == "full_attention" })
            } else {
                full = Set(0..<min(maxWindowLayers ?? 28, numHiddenLayers))
            }
        }
        if let window, window < 1 { throw ModelError.invalidConfig(key: "sliding_window", reason: "must be at least 1 (got \(window))") }
        var config = ModelConfig(
            family: family, task: .causalLM, architecture: architecture, numLayers: numHiddenLayers, hidden: hiddenSize,
            numHeads: numAttentionHeads, numKVHeads: kv, headDim: headDim, intermediateSize: intermediateSize,
            vocabSize: vocabSize ?? 32000, numLabels: 0, maxPositions: maxPos,
            normEps: rmsNormEps ?? 1e-6, normPlacement: .pre,
            activation: try Activation(configName: hiddenAct ?? "silu", key: "hidden_act"), gatedMLP: true,
            rope: rope, tieWordEmbeddings: tieWordEmbeddings ?? false, slidingWindow: window, typeVocabSize: 0)
        config.fullAttentionLayers = full
        return config
    }
}

/// GPT-2 `config.json` (`n_embd`, `n_layer`, …): LayerNorm pre-norm, learned positions, tied head.
struct GPT2Config: Decodable {
    var vocabSize: Int?
    var nPositions: Int?
    var nEmbd: Int?
    var nLayer: Int?
    var nHead: Int?
    var nInner: Int?
    var activationFunction: String?
    var layerNormEpsilon: Float?
    var scaleAttnWeights: Bool?
    var scaleAttnByInverseLayerIdx: Bool?
    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", nPositions = "n_positions", nEmbd = "n_embd", nLayer = "n_layer", nHead = "n_head"
        case nInner = "n_inner", activationFunction = "activation_function", layerNormEpsilon = "layer_norm_epsilon"
        case scaleAttnWeights = "scale_attn_weights", scaleAttnByInverseLayerIdx = "scale_attn_by_inverse_layer_idx"
    }

    func modelConfig(architecture: String) throws -> ModelConfig {
        let hidden = nEmbd ?? 768, heads = nHead ?? 12
        guard heads > 0, hidden % heads == 0 else { throw ModelError.invalidConfig(key: "n_head", reason: "\(hidden) is not divisible by \(heads) heads") }
        if scaleAttnWeights == false { throw ModelError.unsupportedOption(option: "scale_attn_weights", reason: "false is not supported") }
        if scaleAttnByInverseLayerIdx == true { throw ModelError.unsupportedOption(option: "scale_attn_by_inverse_layer_idx", reason: "true is not supported") }
        return ModelConfig(
            family: .gpt2, task: .causalLM, architecture: architecture, numLayers: nLayer ?? 12, hidden: hidden,
            numHeads: heads, numKVHeads: heads, headDim: hidden / heads, intermediateSize: nInner ?? 4 * hidden,
            vocabSize: vocabSize ?? 50257, numLabels: 0, maxPositions: nPositions ?? 1024,
            normEps: layerNormEpsilon ?? 1e-5, normPlacement: .pre,
            activation: try Activation(configName: activationFunction ?? "gelu_new", key: "activation_function"), gatedMLP: false,
            rope: nil, tieWordEmbeddings: true, slidingWindow: nil, typeVocabSize: 0)
    }
}

/// BERT `config.json`: post-LayerNorm encoder with token types; classifier when the architecture says so.
struct BertConfig: Decodable {
    var vocabSize: Int?
    var hiddenSize: Int?
    var numHiddenLayers: Int?
    var numAttentionHeads: Int?
    var intermediateSize: Int?
    var hiddenAct: String?
    var maxPositionEmbeddings: Int?
    var typeVocabSize: Int?
    var layerNormEps: Float?
    var id2label: [String: String]?
    var numLabels: Int?
    var positionEmbeddingType: String?
    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", intermediateSize = "intermediate_size", hiddenAct = "hidden_act"
        case maxPositionEmbeddings = "max_position_embeddings", typeVocabSize = "type_vocab_size", layerNormEps = "layer_norm_eps"
        case id2label, numLabels = "num_labels", positionEmbeddingType = "position_embedding_type"
    }

    func modelConfig(architecture: String) throws -> ModelConfig {
        let hidden = hiddenSize ?? 768, heads = numAttentionHeads ?? 12
        guard heads > 0, hidden % heads == 0 else { throw ModelError.invalidConfig(key: "num_attention_heads", reason: "\(hidden) is not divisible by \(heads) heads") }
        if let p = positionEmbeddingType, p != "absolute" {
            throw ModelError.unsupportedOption(option: "position_embedding_type", reason: "'\(p)' (only 'absolute' is supported)")
        }
        let classifier = architecture == "BertForSequenceClassification"
        return ModelConfig(
            family: .bert, task: classifier ? .sequenceClassification : .encoder, architecture: architecture,
            numLayers: numHiddenLayers ?? 12, hidden: hidden, numHeads: heads, numKVHeads: heads, headDim: hidden / heads,
            intermediateSize: intermediateSize ?? 3072, vocabSize: vocabSize ?? 30522,
            numLabels: classifier ? (id2label?.count ?? numLabels ?? 2) : 0, maxPositions: maxPositionEmbeddings ?? 512,
            normEps: layerNormEps ?? 1e-12, normPlacement: .post,
            activation: try Activation(configName: hiddenAct ?? "gelu", key: "hidden_act"), gatedMLP: false,
            rope: nil, tieWordEmbeddings: true, slidingWindow: nil, typeVocabSize: typeVocabSize ?? 2)
    }
}
