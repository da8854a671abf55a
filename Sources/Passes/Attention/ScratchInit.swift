import Foundation
import Checkpoints
import Models
import Tensors

/// `"init": "scratch"` of the attention passes (issue 14: train the small models from scratch): the input
/// model is replaced by a freshly initialised one before conversion — the same architecture, or the
/// input's `config.json` with the numeric overrides of `"config"` (e.g. `num_hidden_layers`,
/// `hidden_size`, `intermediate_size`, `num_attention_heads`, `num_key_value_heads`, `head_dim`,
/// `initializer_range`; llama-family models). Initialisation as transformers' `_init_weights`: every
/// matrix (linears, embeddings) N(0, initializer_range²) (default 0.02), biases 0, norm weights 1.
struct ScratchInit: Equatable {
    enum Kind: String, Codable { case pretrained, scratch }
    var kind: Kind = .pretrained
    var config: [String: Double]?

    enum Key: String, CodingKey, CaseIterable { case `init`, config }
    static var keys: [String] { Key.allCases.map(\.stringValue) }

    init() {}

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        try c.update(&kind, .`init`)
        config = try c.decodeIfPresent([String: Double].self, forKey: .config)
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(kind, forKey: .`init`)
        try c.encodeIfPresent(config, forKey: .config)
    }

    static let overridable: Set<String> = ["num_hidden_layers", "hidden_size", "intermediate_size", "num_attention_heads",
                                           "num_key_value_heads", "head_dim", "initializer_range", "max_position_embeddings"]

    func validate(path: String) throws {
        guard let config else { return }
        if kind != .scratch { throw PassError("\(path).config", "a config is used only with \"init\": \"scratch\"") }
        for (k, v) in config.sorted(by: { $0.key < $1.key }) {
            guard Self.overridable.contains(k) else {
                throw PassError("\(path).config.\(k)", "not an override the scratch init supports (\(Self.overridable.sorted().joined(separator: ", ")))")
            }
            let integral = k != "initializer_range"
            guard v > 0, v.isFinite, !integral || v == v.rounded() else {
                throw PassError("\(path).config.\(k)", "must be a positive \(integral ? "integer" : "number"), found \(v)")
            }
        }
    }

    /// Replaces every tensor of `model` by a fresh one; returns the report rows.
    func apply(to model: EditableCheckpoint, seed: UInt64, kind pass: String) throws -> [PassReport.TensorChange] {
        guard kind == .scratch else { return [] }
        var json = model.config
        for (k, v) in config ?? [:] { json[k] = k == "initializer_range" ? v as Any : Int(v) as Any }
        if config?["hidden_size"] != nil || config?["num_attention_heads"] != nil, config?["head_dim"] == nil {
            json.removeValue(forKey: "head_dim")      // derived again from hidden / heads
        }
        let c: ModelConfig
        do { c = try ModelConfig.from(json: json) } catch { throw PassError("\(pass).config", "\(error)") }
        let layout = try FamilyLayout(family: c.family, store: model)
        var shapes: [(String, [Int])]
        if config == nil {
            shapes = model.names.compactMap { n in model.spec(n).map { (n, $0.shape) } }
        } else {
            guard [.llama, .qwen2, .mistral].contains(c.family) else {
                throw PassError("\(pass).config", "config overrides build llama-family models only (this is \(c.family.rawValue)); use \"init\": \"scratch\" alone to re-initialise it")
            }
            shapes = Self.llamaShapes(c, layout: layout, biases: c.family == .qwen2)
        }
        let std = Float(json["initializer_range"] as? Double ?? 0.02)
        var rng = SeededGenerator(seed: seed)
        var changes: [PassReport.TensorChange] = []
        for name in model.names where !shapes.contains(where: { $0.0 == name }) { model.remove(name) }
        for (name, shape) in shapes {
            let n = shape.reduce(1, *)
            let values: [Float]
            if shape.count >= 2 {
                values = (0..<n).map { _ in std * AttentionGate.normal(&rng) }
            } else {
                values = [Float](repeating: name.hasSuffix(".bias") ? 0 : 1, count: n)
            }
            model.set(name, Tensor(floats: values, shape: shape, dtype: .F32))
            changes.append(.init(name: name, before: "input weights", after: "F32 \(shape) (scratch init)"))
        }
        json["torch_dtype"] = "float32"; json["dtype"] = "float32"
        model.config = json
        return changes
    }

    /// Every tensor of a llama-family model with config `c`.
    static func llamaShapes(_ c: ModelConfig, layout: FamilyLayout, biases: Bool) -> [(String, [Int])] {
        let C = c.hidden, hd = c.headDim, q = c.numHeads * hd, kv = c.numKVHeads * hd, F = c.intermediateSize
        var out: [(String, [Int])] = [(layout.tokenEmbedding, [c.vocabSize, C])]
        let rows: [LinearRole: [Int]] = [.q: [q, C], .k: [kv, C], .v: [kv, C], .o: [C, q], .gate: [F, C], .up: [F, C], .down: [C, F]]
        for i in 0..<c.numLayers {
            for role in LinearRole.allCases {
                let name = layout.linear(role, layer: i)!.name
                out.append((name + ".weight", rows[role]!))
                if biases, [.q, .k, .v].contains(role) { out.append((name + ".bias", [rows[role]![0]])) }
            }
            out.append((layout.norm(1, layer: i) + ".weight", [C]))
            out.append((layout.norm(2, layer: i) + ".weight", [C]))
        }
        out.append((layout.finalNorm! + ".weight", [C]))
        if !c.tieWordEmbeddings { out.append((layout.lmHead + ".weight", [c.vocabSize, C])) }
        return out
    }
}
