import Checkpoints

/// Where a projection's weight lives in a checkpoint.
public struct TensorLocation: Equatable, Sendable {
    /// Name without `.weight` / `.bias`.
    public var name: String
    /// GPT-2 `Conv1D`: the weight is stored `[in, out]`, the transpose of `nn.Linear`'s `[out, in]`.
    public var transposed: Bool
    /// A slice of a fused projection along its outputs (GPT-2 `c_attn` = q | k | v): part `index` of `parts` equal parts.
    public var part: (index: Int, of: Int)?

    public static func == (a: TensorLocation, b: TensorLocation) -> Bool {
        a.name == b.name && a.transposed == b.transposed && a.part?.index == b.part?.index && a.part?.of == b.part?.of
    }
}

/// The one family name table (docs/ARCHITECTURE.md "Names"): role → tensor name for every family,
/// with Conv1D transposition and fused projections. Loading, export, the pruning writers, the
/// quantizers and probes all read it. The base-model prefix (`model.`, `transformer.`, `bert.`) is
/// detected in the checkpoint, so bare base-model files load too.
public struct FamilyLayout: Sendable {
    public let family: ModelFamily
    /// e.g. `model.`, `transformer.`, `bert.` or empty.
    public let prefix: String

    public init(family: ModelFamily, prefix: String? = nil) {
        self.family = family
        self.prefix = prefix ?? Self.defaultPrefix(family)
    }

    /// Finds the prefix under which `store` keeps the token embedding.
    public init(family: ModelFamily, store: TensorStore) throws {
        let base = Self.defaultPrefix(family), probe = FamilyLayout(family: family, prefix: "").tokenEmbedding
        guard let p = [base, ""].first(where: { store.contains($0 + probe) }) else {
            throw ModelError.missingTensor(name: base + probe, hint: "no token embedding for a \(family.rawValue) model (also tried without the prefix)")
        }
        self.init(family: family, prefix: p)
    }

    /// The prefix a `…For…` checkpoint of this family uses for its base model.
    public static func defaultPrefix(_ family: ModelFamily) -> String {
        switch family {
        case .llama, .qwen2, .mistral: return "model."
        case .gpt2: return "transformer."
        case .bert: return "bert."
        }
    }

    var llama: Bool { [.llama, .qwen2, .mistral].contains(family) }

    // MARK: embeddings and head (full names, `.weight` included for tables)

    public var tokenEmbedding: String {
        prefix + (family == .gpt2 ? "wte.weight" : family == .bert ? "embeddings.word_embeddings.weight" : "embed_tokens.weight")
    }
    public var positionEmbedding: String? {
        family == .gpt2 ? prefix + "wpe.weight" : family == .bert ? prefix + "embeddings.position_embeddings.weight" : nil
    }
    public var tokenTypeEmbedding: String? { family == .bert ? prefix + "embeddings.token_type_embeddings.weight" : nil }
    /// Norms, without `.weight` / `.bias`.
    public var embeddingNorm: String? { family == .bert ? prefix + "embeddings.LayerNorm" : nil }
    public var finalNorm: String? { llama ? prefix + "norm" : family == .gpt2 ? prefix + "ln_f" : nil }
    /// Linears outside the blocks, without `.weight`.
    public var lmHead: String { "lm_head" }
    public var pooler: String { prefix + "pooler.dense" }
    public var classifier: String { "classifier" }

    // MARK: blocks

    /// e.g. `model.layers.3.`
    public func layer(_ i: Int) -> String {
        prefix + (llama ? "layers." : family == .gpt2 ? "h." : "encoder.layer.") + "\(i)."
    }

    /// The projection of `role` in layer `i`; nil for `gate` in a family without SwiGLU.
    public func linear(_ role: LinearRole, layer i: Int) -> TensorLocation? {
        let p = layer(i)
        switch family {
        case .llama, .qwen2, .mistral:
            let names: [LinearRole: String] = [.q: "self_attn.q_proj", .k: "self_attn.k_proj", .v: "self_attn.v_proj", .o: "self_attn.o_proj",
                                               .gate: "mlp.gate_proj", .up: "mlp.up_proj", .down: "mlp.down_proj"]
            return TensorLocation(name: p + names[role]!, transposed: false)
        case .gpt2:
            switch role {
            case .q, .k, .v: return TensorLocation(name: p + "attn.c_attn", transposed: true, part: ([.q, .k, .v].firstIndex(of: role)!, 3))
            case .o: return TensorLocation(name: p + "attn.c_proj", transposed: true)
            case .gate: return nil
            case .up: return TensorLocation(name: p + "mlp.c_fc", transposed: true)
            case .down: return TensorLocation(name: p + "mlp.c_proj", transposed: true)
            }
        case .bert:
            let names: [LinearRole: String] = [.q: "attention.self.query", .k: "attention.self.key", .v: "attention.self.value",
                                               .o: "attention.output.dense", .up: "intermediate.dense", .down: "output.dense"]
            return names[role].map { TensorLocation(name: p + $0, transposed: false) }
        }
    }

    /// Block norms (without `.weight`): 1 before (pre-norm) or after (post-norm) attention, 2 for the MLP.
    public func norm(_ which: Int, layer i: Int) -> String {
        let p = layer(i)
        switch family {
        case .llama, .qwen2, .mistral: return p + (which == 1 ? "input_layernorm" : "post_attention_layernorm")
        case .gpt2: return p + (which == 1 ? "ln_1" : "ln_2")
        case .bert: return p + (which == 1 ? "attention.output.LayerNorm" : "output.LayerNorm")
        }
    }

    /// The attention gate's tensors of layer `i` (`<this>.weight`, `.bias`, `.fc1.weight`, …; gated
    /// attention, `AttentionGateSettings.tensorShapes`), beside the attention projections.
    public func attentionGate(layer i: Int) -> String {
        layer(i) + (llama ? "self_attn.gate" : family == .gpt2 ? "attn.gate" : "attention.self.gate")
    }

    /// Roles whose *output* rows are per head (q, k, v) or per FFN neuron (gate, up).
    public static let headOutputRoles: [LinearRole] = [.q, .k, .v]
    public static let neuronOutputRoles: [LinearRole] = [.gate, .up]

    /// Whether `name` (a full tensor name, `.weight` included) is a transposed (Conv1D) block weight.
    public func isTransposedWeight(_ name: String) -> Bool {
        guard family == .gpt2 else { return false }
        return ["attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight"].contains { suffix in
            name.hasSuffix("." + suffix) && name.dropLast(suffix.count + 1).hasPrefix(prefix + "h.")
        }
    }

    /// The `config.json` key holding the number of blocks.
    public var layerCountKey: String { family == .gpt2 ? "n_layer" : "num_hidden_layers" }
}
