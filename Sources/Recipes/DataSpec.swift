import Foundation

/// A data-source section of a recipe (`calibration`, `training`, or an `evaluation` entry),
/// with the shared keys of DESIGN.md §6. Keys are checked here; reading happens in Evaluation.
public struct DataSpec: Equatable, Sendable {
    public static let stringKeys = ["data", "format", "text_field", "text_pair_field", "label_field"]
    public static let integerKeys = ["samples", "max_examples", "seq_len", "stride", "max_tokens", "seed"]
    public static let formats = ["text", "jsonl", "json", "tsv", "csv", "token_ids"]

    public var fields: [String: JSONValue]
    public let path: String

    public init(json: JSONValue, path: String, extraKeys: [String] = []) throws {
        guard let object = json.object else { throw RecipeError.invalid(jsonPath: path, message: "expected an object with at least \"data\"") }
        let known = DataSpec.stringKeys + DataSpec.integerKeys + extraKeys
        for key in object.keys.sorted() where !known.contains(key) {
            throw RecipeError.unknownKey(jsonPath: path, key: key, known: known.sorted())
        }
        for key in DataSpec.stringKeys {
            if let v = object[key], v.string == nil { throw RecipeError.invalid(jsonPath: "\(path).\(key)", message: "expected a string") }
        }
        for key in DataSpec.integerKeys {
            guard let v = object[key] else { continue }
            guard case let .number(n) = v, n == n.rounded(), n >= 0 else {
                throw RecipeError.invalid(jsonPath: "\(path).\(key)", message: "expected a non-negative integer")
            }
            if ["seq_len", "stride", "samples", "max_examples", "max_tokens"].contains(key), n < 1 {
                throw RecipeError.invalid(jsonPath: "\(path).\(key)", message: "must be at least 1 (got \(Int(n)))")
            }
        }
        guard object["data"]?.string != nil else { throw RecipeError.invalid(jsonPath: "\(path).data", message: "required: path of the data file") }
        if let f = object["format"]?.string, !DataSpec.formats.contains(f) {
            throw RecipeError.invalid(jsonPath: "\(path).format", message: "unknown format '\(f)' (expected one of \(DataSpec.formats.joined(separator: ", ")))")
        }
        if let s = object["seq_len"], case let .number(seqLen) = s, let t = object["stride"], case let .number(stride) = t, stride > seqLen {
            throw RecipeError.invalid(jsonPath: "\(path).stride", message: "must not exceed seq_len (\(Int(seqLen)))")
        }
        fields = object
        self.path = path
    }

    public var data: String { fields["data"]!.string! }
    public func string(_ key: String) -> String? { fields[key]?.string }
    public func integer(_ key: String) -> Int? {
        if case let .number(n)? = fields[key] { return Int(n) }
        return nil
    }

    mutating func resolve(_ transform: (String) -> String) {
        fields["data"] = .string(transform(data))
    }
}

/// One `evaluation` entry: a data source plus a metric and a display name.
public struct EvaluationSpec: Equatable, Sendable {
    public static let metrics = ["perplexity", "accuracy", "f1", "mcc", "pearson", "spearman", "exact_match", "kl_divergence"]
    public var name: String
    public var metric: String
    public var data: DataSpec

    public init(json: JSONValue, path: String) throws {
        data = try DataSpec(json: json, path: path, extraKeys: ["name", "metric"])
        guard let metric = data.string("metric") ?? json.object?["metric"]?.string else {
            throw RecipeError.invalid(jsonPath: "\(path).metric", message: "required: one of \(EvaluationSpec.metrics.joined(separator: ", "))")
        }
        guard EvaluationSpec.metrics.contains(metric) else {
            throw RecipeError.invalid(jsonPath: "\(path).metric", message: "unknown metric '\(metric)' (expected one of \(EvaluationSpec.metrics.joined(separator: ", ")))")
        }
        self.metric = metric
        name = json.object?["name"]?.string ?? metric
        data.fields["name"] = nil
        data.fields["metric"] = nil
    }
}
