import Foundation

/// The on-disk layout of a data file (DESIGN.md §6 `format`).
public enum DataFormat: String, Codable, CaseIterable, Sendable {
    case text, jsonl, json, tsv, csv
    case tokenIDs = "token_ids"

    /// The format named by a path's extension (`.gz` is looked through): nil when unknown.
    public static func infer(from path: String) -> DataFormat? {
        var name = (path as NSString).lastPathComponent.lowercased()
        if name.hasSuffix(".gz") { name.removeLast(3) }
        switch (name as NSString).pathExtension {
        case "txt", "text", "raw": return .text
        case "jsonl", "ndjson": return .jsonl
        case "json": return .json
        case "tsv": return .tsv
        case "csv": return .csv
        case "tokens", "ids": return .tokenIDs
        default: return nil
        }
    }
}

/// Where calibration, evaluation or training examples come from: the data-source keys of DESIGN.md §6.
/// Decoding rejects unknown keys and names the JSON path of any bad value.
public struct DataSource: Codable, Equatable, Sendable {
    public var data: String
    public var format: DataFormat?
    public var textField: String?
    public var textPairField: String?
    public var labelField: String?
    /// Number of calibration sequences of `seqLen` tokens drawn from the token stream.
    public var samples: Int?
    /// Keep only the first N examples (records, or lines of a token_ids file).
    public var maxExamples: Int?
    public var seqLen: Int?
    public var stride: Int?
    /// Keep only the first N tokens of the token stream (language-model data).
    public var maxTokens: Int?
    public var seed: UInt64?

    public init(data: String, format: DataFormat? = nil, textField: String? = nil, textPairField: String? = nil,
                labelField: String? = nil, samples: Int? = nil, maxExamples: Int? = nil, seqLen: Int? = nil,
                stride: Int? = nil, maxTokens: Int? = nil, seed: UInt64? = nil) {
        self.data = data; self.format = format; self.textField = textField; self.textPairField = textPairField
        self.labelField = labelField; self.samples = samples; self.maxExamples = maxExamples; self.seqLen = seqLen
        self.stride = stride; self.maxTokens = maxTokens; self.seed = seed
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case data, format, seed, samples, stride
        case textField = "text_field", textPairField = "text_pair_field", labelField = "label_field"
        case maxExamples = "max_examples", seqLen = "seq_len", maxTokens = "max_tokens"
    }

    public static let keys: [String] = CodingKeys.allCases.map(\.stringValue)

    public init(from decoder: Decoder) throws {
        try self.init(from: decoder, alsoAllowed: [])
    }

    /// Decodes the data-source keys of an object that may also hold `alsoAllowed` keys (e.g. `name`, `metric`).
    public init(from decoder: Decoder, alsoAllowed: [String]) throws {
        let path = jsonPath(decoder.codingPath)
        let any = try decoder.container(keyedBy: AnyKey.self)
        let allowed = Self.keys + alsoAllowed
        for key in any.allKeys where !allowed.contains(key.stringValue) {
            throw DatasetError.unknownKey(path: path, key: key.stringValue, allowed: allowed)
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func field<T: Decodable>(_ key: CodingKeys, _ type: T.Type) throws -> T? {
            do { return try c.decodeIfPresent(T.self, forKey: key) } catch {
                throw DatasetError.invalidSource(path: jsonPath(decoder.codingPath + [key]), message: "expected \(Self.typeName(T.self))")
            }
        }
        guard let data = try field(.data, String.self) else {
            throw DatasetError.invalidSource(path: path, message: "missing key 'data' (the path of the data file)")
        }
        self.data = data
        if let raw = try field(.format, String.self) {
            guard let f = DataFormat(rawValue: raw) else {
                throw DatasetError.invalidSource(path: jsonPath(decoder.codingPath + [CodingKeys.format]),
                    message: "unknown format '\(raw)' (expected one of \(DataFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            format = f
        }
        textField = try field(.textField, String.self)
        textPairField = try field(.textPairField, String.self)
        labelField = try field(.labelField, String.self)
        samples = try field(.samples, Int.self)
        maxExamples = try field(.maxExamples, Int.self)
        seqLen = try field(.seqLen, Int.self)
        stride = try field(.stride, Int.self)
        maxTokens = try field(.maxTokens, Int.self)
        seed = try field(.seed, UInt64.self)
        try validate(path: path)
    }

    /// Checks value ranges; errors name `path` and the key. An empty `path` names command-line options
    /// instead (`--seq-len`).
    public func validate(path: String) throws {
        func name(_ key: CodingKeys) -> String {
            path.isEmpty ? "--" + key.stringValue.replacingOccurrences(of: "_", with: "-") : "\(path).\(key.stringValue)"
        }
        func positive(_ v: Int?, _ key: CodingKeys, minimum: Int = 1) throws {
            if let v, v < minimum {
                throw DatasetError.invalidSource(path: name(key), message: "must be at least \(minimum) (got \(v))")
            }
        }
        try positive(samples, .samples)
        try positive(maxExamples, .maxExamples)
        try positive(seqLen, .seqLen, minimum: 2)
        try positive(stride, .stride)
        try positive(maxTokens, .maxTokens, minimum: 2)
        if let stride, let seqLen, stride > seqLen {
            throw DatasetError.invalidSource(path: name(.stride), message: "must not exceed seq_len \(seqLen) (got \(stride))")
        }
    }

    /// The format, given or inferred from the extension.
    public func resolvedFormat() throws -> DataFormat {
        if let format { return format }
        guard let f = DataFormat.infer(from: data) else {
            throw DatasetError.unknownFormat(path: data, found: (data as NSString).lastPathComponent)
        }
        return f
    }

    /// A copy whose relative `data` path is resolved against `folder` (the recipe's folder).
    public func resolvingPath(against folder: String) -> DataSource {
        var copy = self
        if !data.hasPrefix("/") { copy.data = (folder as NSString).appendingPathComponent(data) }
        return copy
    }

    private static func typeName(_ t: Any.Type) -> String {
        switch t {
        case is String.Type: return "a string"
        case is Int.Type: return "an integer"
        case is UInt64.Type: return "a non-negative integer"
        default: return "\(t)"
        }
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { self.stringValue = "\(intValue)"; self.intValue = intValue }
}

/// `evaluation[0].seq_len` from a coding path (`$` for the root).
public func jsonPath(_ path: [CodingKey]) -> String {
    var s = ""
    for key in path {
        if let i = key.intValue { s += "[\(i)]" } else { s += s.isEmpty ? key.stringValue : ".\(key.stringValue)" }
    }
    return s.isEmpty ? "$" : s
}
