import Foundation
import Tensors

/// The GGUF file types the writer makes, named as llama-quantize names them. Each picks a ggml type
/// per tensor the way llama.cpp's `llama_tensor_get_type` does without an importance matrix:
/// 1-D tensors (norms, biases) stay F32; for the quantized types the output head (the token embedding
/// when tied) becomes Q6_K, or Q8_0 when its rows are not a multiple of 256; `q4_k_m` also gives
/// Q6_K to attn_v and ffn_down of the layers `useMoreBits` picks; a row length the chosen type cannot
/// hold falls back (Q4_K → Q5_0, Q6_K → Q8_0, then F16).
public enum GGUFExportType: String, CaseIterable, Sendable {
    case f32, f16, bf16, q8_0, q4_0, q4_1, q4_k_m

    /// The base ggml type of the 2-D weights.
    public var base: GGMLType {
        switch self {
        case .f32: .F32; case .f16: .F16; case .bf16: .BF16; case .q8_0: .Q8_0
        case .q4_0: .Q4_0; case .q4_1: .Q4_1; case .q4_k_m: .Q4_K
        }
    }

    /// `general.file_type` (llama.h `enum llama_ftype`).
    public var fileType: UInt32 {
        switch self {
        case .f32: 0; case .f16: 1; case .q4_0: 2; case .q4_1: 3; case .q8_0: 7; case .q4_k_m: 15; case .bf16: 32
        }
    }

    var isQuantized: Bool { ![.f32, .f16, .bf16].contains(self) }

    /// llama.cpp's `use_more_bits`: the first and last eighth of the layers and every third between.
    static func useMoreBits(_ layer: Int, _ layers: Int) -> Bool {
        layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2
    }

    /// The ggml type of one tensor (`role`: the llama.cpp name without `blk.N.` and `.weight`).
    func type(role: String, layer: Int?, layers: Int, rowLength: Int, dimensions: Int, isOutput: Bool) -> GGMLType {
        guard dimensions >= 2 else { return .F32 }
        guard isQuantized else { return base }
        var chosen = base
        if isOutput {
            chosen = rowLength % 256 != 0 ? .Q8_0 : (base == .Q8_0 ? .Q8_0 : .Q6_K)
        } else if self == .q4_k_m, let layer, (role == "attn_v" || role == "ffn_down"), Self.useMoreBits(layer, layers) {
            chosen = .Q6_K
        }
        if rowLength % chosen.blockSize != 0 {
            switch chosen {
            case .Q4_K: chosen = .Q5_0
            case .Q6_K: chosen = .Q8_0
            default: break
            }
            if rowLength % chosen.blockSize != 0 { chosen = .F16 }
        }
        return chosen
    }
}

/// What `GGUFExport.write` wrote.
public struct GGUFExportSummary: Sendable {
    public let path: String
    public let tensors: [GGUFTensorPlan]
    public let bytes: Int
    /// Tensor count by ggml type name.
    public var typeCounts: [String: Int] { Dictionary(grouping: tensors, by: { $0.type.name }).mapValues(\.count) }
}

/// Writes a Hugging Face-named model (Llama, Mistral, Qwen2) as the GGUF file llama.cpp's converter
/// and `llama-quantize` would make: llama.cpp tensor names in llama-quantize's order (globals, then
/// each block, by name), q/k rows permuted for `llama` (the inverse of `unpermuteGGUFRows`), the
/// `<arch>.*` hyper-parameters and the tokenizer in the metadata. Tensors stream through
/// `GGUFWriter` one at a time. Pruned models: layers must be numbered 0..<num_hidden_layers (passes
/// renumber them when they drop layers); skipped sublayers and masked heads/neurons of the
/// `whittle` section are written as zeros (o_proj / down_proj columns), which computes the same function.
public enum GGUFExport {
    /// `tokenizerFolder` holds tokenizer.json (and optionally tokenizer_config.json); nil writes no
    /// tokenizer (llama.cpp then cannot run the file, our reader still can), except for a model read
    /// from a GGUF file (or `tokenizerGGUF`), whose `tokenizer.*` metadata is copied.
    @discardableResult
    public static func write(_ model: TensorStore, to path: String, type: GGUFExportType, tokenizerFolder: String?,
                             tokenizerGGUF: GGUFFile? = nil, name: String = "model", inputs: [String] = []) throws -> GGUFExportSummary {
        let config = model.config
        func fail(_ reason: String) -> CheckpointError { .ggufCannotExport(path: path, reason: reason) }
        let modelType = config["model_type"] as? String ?? ""
        let arch: String
        switch modelType {
        case "llama", "mistral": arch = "llama"
        case "qwen2": arch = "qwen2"
        default: throw fail("model_type '\(modelType)' is not supported (llama, mistral, qwen2)")
        }
        guard let layout = GGUFLlamaLayout(architecture: arch) else { throw fail("architecture \(arch)") }
        func int(_ key: String) throws -> Int {
            guard let v = config[key] as? Int, v > 0 else { throw fail("config.json '\(key)' must be a positive integer") }
            return v
        }
        let hidden = try int("hidden_size"), layers = try int("num_hidden_layers"), heads = try int("num_attention_heads")
        let kvHeads = (config["num_key_value_heads"] as? Int) ?? heads
        let headDim = (config["head_dim"] as? Int) ?? hidden / heads
        let zeroing = try WhittleZeroing(config: config, layers: layers, headDim: headDim, fail: fail)
        // The tokenizer metadata (a serial parse of tokenizer.json, as long as quantizing the first
        // tensors) starts now, on another thread, and is awaited by the writer once its first tensors
        // are out (GGUFWriter's lateMetadata): the earlier it starts, the less the writer holds.
        let ownTokenizer = tokenizerGGUF ?? (model as? GGUFTensorStore)?.file
        var tokenizerEntries: GGUFPendingMetadata?
        if let folder = tokenizerFolder, let vocab = model.spec(GGUFLlamaLayout.globalNames["token_embd.weight"]!)?.shape.first {
            nonisolated(unsafe) let config = config
            tokenizerEntries = GGUFPendingMetadata {
                let tokenizerConfig = (try? Data(contentsOf: URL(fileURLWithPath: folder + "/tokenizer_config.json")))
                    .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
                return try GGUFTokenizerMetadata.entries(tokenizerJSON: folder + "/tokenizer.json", vocabSize: vocab,
                                                         config: config, tokenizerConfig: tokenizerConfig)
            }
        }

        // Names: Hugging Face → llama.cpp, every tensor accounted for.
        var sources: [String: (hf: String, rows: GGUFLlamaLayout.QKRows?)] = [:]
        var hfShapes: [String: [Int]] = [:]
        for hf in model.names {
            guard let spec = model.spec(hf) else { continue }
            guard let (gguf, rows) = ggufName(hf, layout: layout) else {
                if hf.hasSuffix("rotary_emb.inv_freq") { continue }
                throw fail("tensor '\(hf)' has no llama.cpp name for \(arch)")
            }
            if let layer = layerIndex(gguf), layer >= layers { throw fail("tensor '\(hf)' is past num_hidden_layers \(layers) (layers must be renumbered)") }
            guard spec.dtype.isFloatingPoint else { throw fail("tensor '\(hf)' is \(spec.dtype), expected floats") }
            sources[gguf] = (hf, rows); hfShapes[gguf] = spec.shape
        }
        for required in ["token_embd.weight", "output_norm.weight"] + (0..<layers).flatMap({ l in GGUFLlamaLayout.requiredBlockTensors.map { "blk.\(l).\($0).weight" } })
            where sources[required] == nil {
            throw fail("tensor for '\(required)' is missing")
        }
        // llama.cpp gives every layer the same widths: a sliced pruning result cannot be written.
        let intermediate = try int("intermediate_size")
        for l in 0..<layers {
            let q = hfShapes["blk.\(l).attn_q.weight"]![0], gate = hfShapes["blk.\(l).ffn_gate.weight"]![0]
            guard q == heads * headDim, gate == intermediate else {
                throw fail("layer \(l) has \(q / max(headDim, 1)) heads and \(gate) MLP neurons, config.json says \(heads) and \(intermediate) (sliced pruning: llama.cpp needs the same widths in every layer)")
            }
        }
        let tied = sources["output.weight"] == nil
        let vocab = hfShapes["token_embd.weight"]![0]

        // Llama 3.1 rope scaling: llama.cpp reads it from a rope_freqs tensor the converter computes.
        var extra: [String: Tensor] = [:]
        let rope = config["rope_parameters"] as? [String: Any] ?? config["rope_scaling"] as? [String: Any]
        if let rope, ((rope["rope_type"] ?? rope["type"]) as? String)?.lowercased() == "llama3" {
            func number(_ v: Any?) -> Double? { (v as? Double) ?? (v as? Int).map(Double.init) }
            let theta: Double = number(config["rope_theta"]) ?? number(rope["rope_theta"]) ?? 10000
            let factors = GGUFRopeFreqs.factors(theta: theta, dim: headDim, rope: rope)
            extra[GGUFRopeFreqs.tensorName] = Tensor(floats: factors, shape: [factors.count])
            hfShapes[GGUFRopeFreqs.tensorName] = [factors.count]
        }
        // Keys computed once: a comparison that splits names is ~30 ms of a SmolLM2 export's serial start.
        let ordered = (Array(sources.keys) + extra.keys).map { (layer: layerIndex($0) ?? -1, name: $0) }
            .sorted { $0.layer != $1.layer ? $0.layer < $1.layer : $0.name < $1.name }.map(\.name)
        let plans = ordered.map { gguf -> GGUFTensorPlan in
            let dims = Array(hfShapes[gguf]!.reversed())
            let role = gguf.split(separator: ".").dropLast().last.map(String.init) ?? gguf
            let isOutput = gguf == "output.weight" || (tied && gguf == "token_embd.weight")
            let t = type.type(role: role, layer: layerIndex(gguf), layers: layers, rowLength: dims[0], dimensions: dims.count, isOutput: isOutput)
            return GGUFTensorPlan(name: gguf, type: t, dimensions: dims)
        }

        var metadata = try hyperParameters(config, arch: arch, name: name, type: type, layers: layers, heads: heads, kvHeads: kvHeads,
                                           headDim: headDim, hidden: hidden, vocab: vocab, fail: fail)
        if let source = ownTokenizer, tokenizerFolder == nil {   // a GGUF's own tokenizer carries over
            metadata += source.keys.filter { $0.hasPrefix("tokenizer.") }.map { ($0, source.metadata[$0]!) }
        }

        // q/k rows in llama.cpp's order: a weight's rows are gathered by the writer (no permuted copy of
        // the tensor); a bias (one value per row, tiny) is permuted here.
        var rowOrders: [String: [Int]] = [:]
        for plan in plans {
            guard let (hf, rows) = sources[plan.name], let rows else { continue }
            let n = rows == .queryHeads ? heads : kvHeads, count = hfShapes[plan.name]![0]
            guard count % (2 * n) == 0 else { throw fail("tensor '\(hf)': \(count) rows do not split into \(n) heads of an even size") }
            rowOrders[plan.name] = ggufStoredRowSources(rows: count, heads: n)
        }
        try GGUFWriter.write(to: path, metadata: metadata, tensors: plans, inputs: inputs,
                             rowOrder: { $0.dimensions.count >= 2 ? rowOrders[$0.name] : nil },
                             lateMetadata: tokenizerEntries.map { pending in { try pending.get() } }) { plan in
            if let tensor = extra[plan.name] { return tensor }
            var tensor = try model.tensor(sources[plan.name]!.hf)
            if plan.dimensions.count == 1, let order = rowOrders[plan.name] {
                let values = try tensor.floats()
                tensor = Tensor(floats: order.map { values[$0] }, shape: tensor.shape)
            }
            return try zeroing.apply(to: tensor, gguf: plan.name)
        }
        var info = stat()   // not FileManager's attributes, which also look up the owner's name (nsswitch)
        return GGUFExportSummary(path: path, tensors: plans, bytes: stat(path, &info) == 0 ? Int(info.st_size) : 0)
    }

    /// `general.*` and `<arch>.*` keys as convert_hf_to_gguf.py writes them for these models.
    static func hyperParameters(_ config: [String: Any], arch: String, name: String, type: GGUFExportType, layers: Int, heads: Int,
                                kvHeads: Int, headDim: Int, hidden: Int, vocab: Int,
                                fail: (String) -> CheckpointError) throws -> [(key: String, value: GGUFValue)] {
        func double(_ key: String) -> Double? { (config[key] as? Double) ?? (config[key] as? Int).map(Double.init) }
        let rope = config["rope_parameters"] as? [String: Any] ?? config["rope_scaling"] as? [String: Any]
        let theta = double("rope_theta") ?? (rope?["rope_theta"] as? Double) ?? (rope?["rope_theta"] as? Int).map(Double.init) ?? 10000
        guard let intermediate = config["intermediate_size"] as? Int, intermediate > 0 else { throw fail("config.json 'intermediate_size' must be a positive integer") }
        var out: [(key: String, value: GGUFValue)] = [
            ("general.architecture", .string(arch)),
            ("general.type", .string("model")),
            ("general.name", .string(name)),
            ("\(arch).block_count", .uint32(UInt32(layers))),
            ("\(arch).context_length", .uint32(UInt32((config["max_position_embeddings"] as? Int) ?? 2048))),
            ("\(arch).embedding_length", .uint32(UInt32(hidden))),
            ("\(arch).feed_forward_length", .uint32(UInt32(intermediate))),
            ("\(arch).attention.head_count", .uint32(UInt32(heads))),
            ("\(arch).attention.head_count_kv", .uint32(UInt32(kvHeads))),
            ("\(arch).rope.freq_base", .float32(Float(theta))),
            ("\(arch).attention.layer_norm_rms_epsilon", .float32(Float(double("rms_norm_eps") ?? 1e-6))),
        ]
        if headDim != hidden / heads || config["head_dim"] != nil {   // the converter writes them whenever config.json has head_dim
            out += [("\(arch).attention.key_length", .uint32(UInt32(headDim))), ("\(arch).attention.value_length", .uint32(UInt32(headDim)))]
        }
        out += [("general.file_type", .uint32(type.fileType)), ("\(arch).vocab_size", .uint32(UInt32(vocab))),
                ("\(arch).rope.dimension_count", .uint32(UInt32(headDim)))]
        if let rope, let kind = (rope["rope_type"] ?? rope["type"]) as? String, kind != "default", kind.lowercased() != "llama3" {
            guard kind == "linear", let factor = (rope["factor"] as? Double) ?? (rope["factor"] as? Int).map(Double.init) else {
                throw fail("rope scaling '\(kind)' is not supported (linear, llama3)")
            }
            out += [("\(arch).rope.scaling.type", .string("linear")), ("\(arch).rope.scaling.factor", .float32(Float(factor)))]
        }
        if type.isQuantized { out.append(("general.quantization_version", .uint32(2))) }
        return out
    }

    /// The llama.cpp name of a Hugging Face tensor and whether its rows are permuted (inverse of
    /// `GGUFLlamaLayout.hfName`).
    static func ggufName(_ hf: String, layout: GGUFLlamaLayout) -> (String, GGUFLlamaLayout.QKRows?)? {
        if let global = GGUFLlamaLayout.globalNames.first(where: { $0.value == hf })?.key { return (global, nil) }
        let parts = hf.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 5, parts[0] == "model", parts[1] == "layers", let layer = Int(parts[2]), String(layer) == parts[2],
              let suffix = parts.last, suffix == "weight" || suffix == "bias" else { return nil }
        let role = parts[3..<(parts.count - 1)].joined(separator: ".")
        guard let gguf = GGUFLlamaLayout.blockNames.first(where: { $0.value == role })?.key else { return nil }
        let name = "blk.\(layer).\(gguf).\(suffix)"
        // hfName knows which rows the converter permutes.
        return layout.hfName(name).map { (name, $0.permutation) }
    }

    static func layerIndex(_ gguf: String) -> Int? {
        guard gguf.hasPrefix("blk.") else { return nil }
        return Int(gguf.split(separator: ".")[1])
    }
}

