import Foundation
import Tensors

/// What `compress inspect` shows: tensors, totals by dtype, parameter count, metadata, config summary.
public struct CheckpointSummary: Codable, Equatable {
    public struct Entry: Codable, Equatable {
        public let name: String
        public let dtype: String
        public let shape: [Int]
        public let bytes: Int
    }
    public struct DTypeTotal: Codable, Equatable {
        public let dtype: String
        public let tensors: Int
        public let parameters: Int
        public let bytes: Int
    }
    public let path: String
    public let files: [String]
    public let tensors: [Entry]
    public let totals: [DTypeTotal]
    public let parameters: Int
    public let bytes: Int
    public let metadata: [String: String]
    /// Selected `config.json` fields (architecture and sizes), as strings.
    public let config: [String: String]

    public init(_ checkpoint: Checkpoint) {
        path = checkpoint.path
        files = checkpoint.files.map { ($0.path as NSString).lastPathComponent }
        tensors = checkpoint.names.map { name in
            let info = checkpoint.info(name)!
            return Entry(name: name, dtype: info.dtype.rawValue, shape: info.shape, bytes: info.byteCount)
        }
        var totals: [String: DTypeTotal] = [:]
        for t in tensors {
            let old = totals[t.dtype] ?? DTypeTotal(dtype: t.dtype, tensors: 0, parameters: 0, bytes: 0)
            totals[t.dtype] = DTypeTotal(dtype: t.dtype, tensors: old.tensors + 1,
                                         parameters: old.parameters + t.shape.reduce(1, *), bytes: old.bytes + t.bytes)
        }
        self.totals = totals.values.sorted { $0.bytes > $1.bytes }
        parameters = tensors.reduce(0) { $0 + $1.shape.reduce(1, *) }
        bytes = tensors.reduce(0) { $0 + $1.bytes }
        var metadata: [String: String] = [:]
        for file in checkpoint.files { metadata.merge(file.metadata) { a, _ in a } }
        self.metadata = metadata
        let keys = ["model_type", "architectures", "hidden_size", "num_hidden_layers", "num_attention_heads",
                    "num_key_value_heads", "intermediate_size", "vocab_size", "max_position_embeddings",
                    "torch_dtype", "dtype", "tie_word_embeddings", "quantization_config", "n_embd", "n_layer", "n_head"]
        var config: [String: String] = [:]
        for key in keys {
            guard let value = checkpoint.config[key] else { continue }
            config[key] = CheckpointSummary.configText(value)
        }
        self.config = config
    }

    /// The summary of a GGUF file: tensors with their ggml type names and PyTorch-order shapes, every
    /// metadata key (long values and arrays shortened, e.g. `[string; 49152]`), and in `config` the
    /// GGUF version, the alignment and the architecture.
    public init(gguf file: GGUFFile) {
        path = file.path
        files = [(file.path as NSString).lastPathComponent]
        tensors = file.tensors.map { Entry(name: $0.name, dtype: $0.type.name, shape: $0.shape, bytes: $0.byteCount) }
        var totals: [String: DTypeTotal] = [:]
        for (t, info) in zip(tensors, file.tensors) {
            let old = totals[t.dtype] ?? DTypeTotal(dtype: t.dtype, tensors: 0, parameters: 0, bytes: 0)
            totals[t.dtype] = DTypeTotal(dtype: t.dtype, tensors: old.tensors + 1,
                                         parameters: old.parameters + info.elementCount, bytes: old.bytes + t.bytes)
        }
        self.totals = totals.values.sorted { ($0.bytes, $1.dtype) > ($1.bytes, $0.dtype) }
        parameters = file.tensors.reduce(0) { $0 + $1.elementCount }
        bytes = tensors.reduce(0) { $0 + $1.bytes }
        metadata = file.metadata.mapValues(\.summary)
        var config = ["gguf_version": "\(file.version)", "gguf_alignment": "\(file.alignment)"]
        if let architecture = file.metadata["general.architecture"]?.string { config["model_type"] = architecture }
        self.config = config
    }

    /// A config value as JSON-like text: bools print as true/false (JSONSerialization gives NSNumber,
    /// which would print as 1), arrays as comma lists, objects as sorted compact JSON.
    static func configText(_ value: Any) -> String {
        switch value {
        case let flag as Bool where type(of: value) == Bool.self: return flag ? "true" : "false"
        case is NSNull: return "null"
        case let number as NSNumber:
            if String(cString: number.objCType) == "c" { return number.boolValue ? "true" : "false" }   // CFBoolean
            return "\(number)"
        case let string as String: return string
        case let array as [Any]: return array.map(configText).joined(separator: ", ")
        case let dict as [String: Any]:
            return "{" + dict.keys.sorted().map { "\($0): \(configText(dict[$0]!))" }.joined(separator: ", ") + "}"
        default: return "\(value)"
        }
    }

    /// A human-readable table.
    public func text(maxTensors: Int = 200) -> String {
        var lines: [String] = []
        lines.append("\(path)  (\(files.joined(separator: ", ")))")
        for key in config.keys.sorted() { lines.append("  \(key): \(config[key]!)") }
        for key in metadata.keys.sorted() { lines.append("  metadata \(key): \(metadata[key]!)") }
        let width = min(60, tensors.map(\.name.count).max() ?? 4)
        lines.append("")
        lines.append(pad("tensor", width) + "  " + pad("dtype", 8) + "  " + pad("shape", 18) + "  bytes")
        for t in tensors.prefix(maxTensors) {
            lines.append(pad(t.name, width) + "  " + pad(t.dtype, 8) + "  " + pad("\(t.shape)", 18) + "  \(t.bytes)")
        }
        if tensors.count > maxTensors { lines.append("… \(tensors.count - maxTensors) more tensors (use --json for all)") }
        lines.append("")
        for t in totals {
            lines.append("\(pad(t.dtype, 8)) \(t.tensors) tensors, \(t.parameters) parameters, \(formatBytes(t.bytes))")
        }
        lines.append("total    \(tensors.count) tensors, \(parameters) parameters, \(formatBytes(bytes))")
        return lines.joined(separator: "\n")
    }

    private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
}

/// "1.23 MB"-style sizes (decimal units).
public func formatBytes(_ n: Int) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"]
    var value = Double(n), unit = 0
    while value >= 1000 && unit < units.count - 1 { value /= 1000; unit += 1 }
    return unit == 0 ? "\(n) B" : String(format: "%.2f %@", value, units[unit])
}
