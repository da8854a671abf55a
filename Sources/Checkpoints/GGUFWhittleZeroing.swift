import Tensors

/// What the `whittle` section of config.json (Models.WhittleConfig; docs/ARCHITECTURE.md) asks a
/// stock runtime to compute, turned into zeros llama.cpp can run: a skipped attention sublayer
/// writes a zero `attn_output`, a skipped MLP a zero `ffn_down` (the residual then passes unchanged);
/// a masked head zeroes its `attn_output` columns, a masked neuron its `ffn_down` column (its output
/// is scaled by 0). Settings llama.cpp cannot express (another attention normaliser, gated attention)
/// are refused. Layer numbers are the stored ones.
struct WhittleZeroing {
    var zeroTensors: Set<String> = []
    /// llama.cpp tensor name → input columns to zero.
    var zeroColumns: [String: [Int]] = [:]

    init(config: [String: Any], layers: Int, headDim: Int, fail: (String) -> CheckpointError) throws {
        guard let section = config["whittle"] as? [String: Any] else { return }
        if let attention = section["attention"] as? [String: Any], let normaliser = attention["normaliser"] as? String, normaliser != "softmax" {
            throw fail("whittle.attention.normaliser '\(normaliser)' has no llama.cpp equivalent")
        }
        if section["attention_gate"] != nil { throw fail("whittle.attention_gate (gated attention) has no llama.cpp equivalent") }
        func layer(_ value: Any?, _ key: String) throws -> Int {
            guard let l = value as? Int ?? (value as? String).flatMap({ Int($0) }), l >= 0, l < layers else {
                throw fail("\(key): layer \(value.map { "\($0)" } ?? "missing") is not in 0..<\(layers)")
            }
            return l
        }
        for (k, entry) in ((section["skipped_sublayers"] as? [Any]) ?? []).enumerated() {
            let item = entry as? [String: Any] ?? [:]
            let l = try layer(item["layer"], "whittle.skipped_sublayers[\(k)]")
            switch item["kind"] as? String {
            case "attention": zeroTensors.insert("blk.\(l).attn_output.weight"); zeroTensors.insert("blk.\(l).attn_output.bias")
            case "mlp": zeroTensors.insert("blk.\(l).ffn_down.weight"); zeroTensors.insert("blk.\(l).ffn_down.bias")
            default: throw fail("whittle.skipped_sublayers[\(k)].kind must be 'attention' or 'mlp'")
            }
        }
        for (key, tensor, width) in [("masked_heads", "attn_output", headDim), ("masked_neurons", "ffn_down", 1)] {
            for (layerKey, units) in (section[key] as? [String: Any]) ?? [:] {
                let l = try layer(layerKey, "whittle.\(key)")
                guard let units = units as? [Int] else { throw fail("whittle.\(key).\(layerKey) must be a list of integers") }
                zeroColumns["blk.\(l).\(tensor).weight", default: []] += units.flatMap { u in (u * width)..<((u + 1) * width) }
            }
        }
    }

    /// The tensor with its zeroed parts (unchanged when there are none).
    func apply(to tensor: Tensor, gguf name: String) throws -> Tensor {
        if zeroTensors.contains(name) { return Tensor(floats: [Float](repeating: 0, count: tensor.elementCount), shape: tensor.shape) }
        guard let columns = zeroColumns[name], tensor.shape.count == 2 else { return tensor }
        var values = try tensor.floats()
        let width = tensor.shape[1]
        for row in 0..<tensor.shape[0] {
            for c in columns where c >= 0 && c < width { values[row * width + c] = 0 }
        }
        return Tensor(floats: values, shape: tensor.shape)
    }
}
