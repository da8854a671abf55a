import Dispatch
import Tensors

/// A llama.cpp model file presented as the Hugging Face checkpoint it was converted from: tensors
/// under Hugging Face names, dequantized to F32, q/k rows back in Hugging Face order, and a
/// `config.json` built from the metadata. Models load from it like from a folder
/// (`TransformerModel.load(path: "x.gguf")`). The tokenizer is not rebuilt from the metadata.
///
/// ```swift
/// let store = try GGUFTensorStore(path: "smollm2.Q4_1.gguf")
/// store.config["num_hidden_layers"]; try store.tensor("model.layers.0.self_attn.q_proj.weight")
/// ```
public final class GGUFTensorStore: TensorStore, @unchecked Sendable {
    public let file: GGUFFile
    public let layout: GGUFLlamaLayout
    public let config: [String: Any]
    public let names: [String]
    /// Hugging Face name → (GGUF name, permuted rows).
    private let sources: [String: (gguf: String, rows: GGUFLlamaLayout.QKRows?)]
    private let heads: Int, kvHeads: Int

    public convenience init(path: String) throws { try self.init(try GGUFFile(path: path)) }

    public init(_ file: GGUFFile) throws {
        self.file = file
        let path = file.path
        guard let archValue = file.metadata["general.architecture"] else {
            throw CheckpointError.ggufMissingKey(path: path, key: "general.architecture")
        }
        guard let arch = archValue.string else {
            throw CheckpointError.ggufInvalidMetadata(path: path, key: "general.architecture", reason: "expected a string, found \(archValue.type)")
        }
        guard let layout = GGUFLlamaLayout(architecture: arch) else {
            throw CheckpointError.ggufUnsupportedModel(path: path, reason: "general.architecture '\(arch)' is not supported (supported: \(GGUFLlamaLayout.supported.joined(separator: ", ")))")
        }
        self.layout = layout
        var sources: [String: (gguf: String, rows: GGUFLlamaLayout.QKRows?)] = [:]
        var names: [String] = []
        for name in file.names where name != GGUFRopeFreqs.tensorName {   // rope_freqs becomes config.json's rope_scaling
            guard let (hf, rows) = layout.hfName(name) else {
                throw CheckpointError.ggufUnsupportedModel(path: path, reason: "tensor '\(name)' has no Hugging Face name for architecture '\(arch)'")
            }
            sources[hf] = (name, rows); names.append(hf)
        }
        var config = try GGUFTensorStore.hfConfig(file, layout: layout)
        if file.info(GGUFRopeFreqs.tensorName) != nil { try GGUFTensorStore.addRopeFreqs(file, arch: arch, to: &config) }
        let layers = config["num_hidden_layers"] as! Int
        for required in ["token_embd.weight", "output_norm.weight"]
            + (0..<layers).flatMap({ l in GGUFLlamaLayout.requiredBlockTensors.map { "blk.\(l).\($0).weight" } })
            where file.info(required) == nil {
            throw CheckpointError.tensorNotFound(path: path, name: required)
        }
        self.config = config
        self.names = names
        self.sources = sources
        heads = config["num_attention_heads"] as! Int
        kvHeads = config["num_key_value_heads"] as! Int
    }

    public func spec(_ name: String) -> TensorSpec? {
        guard let source = sources[name], let info = file.info(source.gguf) else { return nil }
        return TensorSpec(name: name, dtype: .F32, shape: info.shape)
    }

    public func tensor(_ name: String) throws -> Tensor {
        guard let source = sources[name], let info = file.info(source.gguf) else {
            throw CheckpointError.tensorNotFound(path: file.path, name: name)
        }
        var values = try file.floats(source.gguf)
        if let rows = source.rows {
            let n = rows == .queryHeads ? heads : kvHeads
            let shape = info.shape, rowCount = shape[0]
            guard rowCount % (2 * n) == 0 else {
                throw CheckpointError.ggufInvalidTensor(path: file.path, name: source.gguf, reason: "\(rowCount) rows do not split into \(n) heads of an even size")
            }
            values = unpermuteGGUFRows(values, rows: rowCount, columns: values.count / max(rowCount, 1), heads: n)
        }
        return Tensor(floats: values, shape: info.shape)
    }

    /// `rope_freqs.weight` (llama.cpp's Llama 3.1 rope divisors) as the `rope_scaling` of type llama3
    /// that gives the same divisors (`GGUFRopeFreqs.llama3Scaling`); errors name the tensor.
    static func addRopeFreqs(_ file: GGUFFile, arch: String, to config: inout [String: Any]) throws {
        let name = GGUFRopeFreqs.tensorName, path = file.path
        guard let info = file.info(name), info.shape.count == 1 else {
            throw CheckpointError.ggufInvalidTensor(path: path, name: name, reason: "expected one dimension of head_dim / 2 divisors")
        }
        if config["rope_scaling"] != nil {
            throw CheckpointError.ggufUnsupportedModel(path: path, reason: "tensor '\(name)' together with rope.scaling.type (two rope scalings)")
        }
        let heads = config["num_attention_heads"] as! Int, hidden = config["hidden_size"] as! Int
        let dim = file.metadata["\(arch).rope.dimension_count"]?.int ?? (config["head_dim"] as? Int) ?? hidden / heads
        switch GGUFRopeFreqs.llama3Scaling(stored: try file.floats(name), theta: config["rope_theta"] as! Double, dim: dim) {
        case let .success(rope): if let rope { config["rope_scaling"] = rope }
        case let .failure(reason): throw CheckpointError.ggufInvalidTensor(path: path, name: name, reason: reason.text)
        }
    }

    /// `config.json` for the model: the `<arch>.*` hyper-parameters under Hugging Face's keys; the
    /// vocabulary size from the token table; tied embeddings when there is no `output.weight`.
    static func hfConfig(_ file: GGUFFile, layout: GGUFLlamaLayout) throws -> [String: Any] {
        let arch = layout.architecture, path = file.path
        func value(_ key: String) -> GGUFValue? { file.metadata["\(arch).\(key)"] }
        func int(_ key: String) throws -> Int? {
            guard let v = value(key) else { return nil }
            guard let i = v.int, i > 0 else {
                throw CheckpointError.ggufInvalidMetadata(path: path, key: "\(arch).\(key)", reason: "expected a positive integer, found \(v.type) \(v.summary)")
            }
            return i
        }
        func requiredInt(_ key: String) throws -> Int {
            guard let i = try int(key) else { throw CheckpointError.ggufMissingKey(path: path, key: "\(arch).\(key)") }
            return i
        }
        func double(_ key: String) throws -> Double? {
            guard let v = value(key) else { return nil }
            // A float32 as its shortest decimal (1e-05, not 9.99999974e-06), as config.json writes it.
            if case let .float32(f) = v { return Double("\(f)") ?? Double(f) }
            guard let d = v.double else {
                throw CheckpointError.ggufInvalidMetadata(path: path, key: "\(arch).\(key)", reason: "expected a float, found \(v.type) \(v.summary)")
            }
            return d
        }
        guard let embedding = file.info("token_embd.weight") else {
            throw CheckpointError.tensorNotFound(path: path, name: "token_embd.weight")
        }
        let heads = try requiredInt("attention.head_count")
        guard let eps = try double("attention.layer_norm_rms_epsilon") else {
            throw CheckpointError.ggufMissingKey(path: path, key: "\(arch).attention.layer_norm_rms_epsilon")
        }
        var config: [String: Any] = [
            "model_type": layout.modelType,
            "architectures": [layout.hfArchitecture],
            "vocab_size": embedding.shape[0],
            "hidden_size": try requiredInt("embedding_length"),
            "intermediate_size": try requiredInt("feed_forward_length"),
            "num_hidden_layers": try requiredInt("block_count"),
            "num_attention_heads": heads,
            "num_key_value_heads": try int("attention.head_count_kv") ?? heads,
            "rms_norm_eps": eps,
            "rope_theta": try double("rope.freq_base") ?? 10000,   // llama.cpp's default when absent
            "max_position_embeddings": try requiredInt("context_length"),
            "hidden_act": "silu",
            "tie_word_embeddings": file.info("output.weight") == nil,
        ]
        if let keyLength = try int("attention.key_length") { config["head_dim"] = keyLength }
        if let scaling = value("rope.scaling.type")?.string, scaling != "none" {
            guard scaling == "linear", let factor = try double("rope.scaling.factor") else {
                throw CheckpointError.ggufUnsupportedModel(path: path, reason: "\(arch).rope.scaling.type '\(scaling)' is not supported (only 'linear' with rope.scaling.factor)")
            }
            config["rope_scaling"] = ["rope_type": "linear", "factor": factor]
        }
        return config
    }
}

extension GGUFTensorStore: TensorStreaming {
    /// Writes tensor `name` as F32 (what `tensor(name)` returns) by dequantizing its stored rows straight
    /// into the sink's file buffer, as many whole rows per step as the buffer has room for, spread over
    /// the cores; q/k rows are read in Hugging Face order (no permuted copy). No F32 copy of the tensor
    /// is made, and its stored pages are dropped once written (q/k: once the tensor is), so memory stays at
    /// the file's buffers.
    /// 1-D tensors (norms, biases) and rows larger than a buffer go through `tensor(name)`.
    public func stream(_ name: String, into sink: TensorSink) throws {
        guard let source = sources[name], let info = file.info(source.gguf) else {
            throw CheckpointError.tensorNotFound(path: file.path, name: name)
        }
        let rowLength = info.dimensions[0], rows = info.elementCount / max(rowLength, 1), rowBytes = rowLength * 4
        guard info.dimensions.count >= 2, rowLength > 0, rowBytes <= TensorSink.fillLimit, GGMLType.dequantizable.contains(info.type) else {
            return try sink.write(try tensor(name))
        }
        var storedRow: [Int]?   // Hugging Face row r is stored row storedRow[r]
        if let order = source.rows {
            let n = order == .queryHeads ? heads : kvHeads
            guard info.dimensions.count == 2, rows % (2 * n) == 0 else {
                throw CheckpointError.ggufInvalidTensor(path: file.path, name: source.gguf, reason: "\(rows) rows do not split into \(n) heads of an even size")
            }
            var inverse = [Int](repeating: 0, count: rows)
            for (stored, hf) in ggufStoredRowSources(rows: rows, heads: n).enumerated() { inverse[hf] = stored }
            storedRow = inverse
        }
        let order = storedRow
        let raw = try file.rawTensor(source.gguf)
        let type = info.type, blocksPerRow = rowLength / type.blockSize, storedRowBytes = type.byteCount(elements: rowLength)
        try raw.withUnsafeBytes { stored in
            let base = stored.baseAddress!
            var row = 0
            while row < rows {
                try sink.fill(minimum: rowBytes) { space in
                    let n = min(space.count / rowBytes, rows - row), first = row
                    let out = space.baseAddress!.assumingMemoryBound(to: Float.self)
                    let parts = n * rowLength >= 1 << 16 ? min(ProcessInfo_cores, n) : 1
                    DispatchQueue.concurrentPerform(iterations: parts) { p in
                        let lo = n * p / parts, hi = n * (p + 1) / parts
                        if let order {
                            for r in lo..<hi {
                                dequantizeBlocks(out + r * rowLength, base + order[first + r] * storedRowBytes, blocks: blocksPerRow, type: type)
                            }
                        } else {
                            dequantizeBlocks(out + lo * rowLength, base + (first + lo) * storedRowBytes, blocks: (hi - lo) * blocksPerRow, type: type)
                        }
                    }
                    if order == nil { raw.storage.releasePages(offset: first * storedRowBytes, count: n * storedRowBytes) }
                    row += n
                    return n * rowBytes
                }
            }
        }
        if order != nil { raw.storage.releasePages() }
    }
}
