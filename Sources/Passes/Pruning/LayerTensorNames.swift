import Checkpoints
import Models

/// Tensor names of one family's blocks (Hugging Face layouts), for editing pruned checkpoints.
/// `weight` names are given without the `.weight` / `.bias` suffix.
struct LayerTensorNames {
    let family: ModelFamily
    /// e.g. `model.layers.`, `transformer.h.`, `bert.encoder.layer.` (prefix detected in the store).
    let layersPrefix: String

    init(family: ModelFamily, store: TensorStore) throws {
        self.family = family
        let candidates: [String]
        switch family {
        case .llama, .qwen2, .mistral: candidates = ["model.layers.", "layers."]
        case .gpt2: candidates = ["transformer.h.", "h."]
        case .bert: candidates = ["bert.encoder.layer.", "encoder.layer."]
        }
        guard let p = candidates.first(where: { p in store.names.contains { $0.hasPrefix(p + "0.") } }) else {
            throw PassError("pruning", "no tensors named \(candidates[0])0.* in the \(family.rawValue) checkpoint")
        }
        layersPrefix = p
    }

    func layer(_ i: Int) -> String { layersPrefix + "\(i)." }

    /// True for GPT-2's `Conv1D` weights, stored `[in, out]` (transposed against `nn.Linear`).
    var transposed: Bool { family == .gpt2 }

    /// Projections whose *output* rows are per head (`q`, `k`, `v`); GPT-2 fuses them in `c_attn`.
    func queryKeyValue(_ i: Int) -> (q: String, k: String, v: String)? {
        let p = layer(i)
        switch family {
        case .llama, .qwen2, .mistral: return (p + "self_attn.q_proj", p + "self_attn.k_proj", p + "self_attn.v_proj")
        case .bert: return (p + "attention.self.query", p + "attention.self.key", p + "attention.self.value")
        case .gpt2: return nil
        }
    }
    var fusedQKV: String? { family == .gpt2 ? "attn.c_attn" : nil }

    func attentionOutput(_ i: Int) -> String {
        switch family {
        case .llama, .qwen2, .mistral: return layer(i) + "self_attn.o_proj"
        case .gpt2: return layer(i) + "attn.c_proj"
        case .bert: return layer(i) + "attention.output.dense"
        }
    }

    /// FFN first linear(s) whose output rows are per neuron (`gate_proj` + `up_proj`, `c_fc`, `intermediate.dense`).
    func ffnInputs(_ i: Int) -> [String] {
        switch family {
        case .llama, .qwen2, .mistral: return [layer(i) + "mlp.gate_proj", layer(i) + "mlp.up_proj"]
        case .gpt2: return [layer(i) + "mlp.c_fc"]
        case .bert: return [layer(i) + "intermediate.dense"]
        }
    }

    func ffnOutput(_ i: Int) -> String {
        switch family {
        case .llama, .qwen2, .mistral: return layer(i) + "mlp.down_proj"
        case .gpt2: return layer(i) + "mlp.c_proj"
        case .bert: return layer(i) + "output.dense"
        }
    }

    /// The `config.json` key holding the number of blocks.
    var layerCountKey: String { family == .gpt2 ? "n_layer" : "num_hidden_layers" }
}
