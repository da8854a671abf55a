import Datasets
import Foundation

/// What can be measured (`metric` in a recipe's `evaluation` entry and `compress eval --metric`).
public enum Metric: String, Codable, CaseIterable, Sendable {
    case perplexity, accuracy, f1, mcc, pearson, spearman
    case exactMatch = "exact_match"
    case klDivergence = "kl_divergence"
    case latency

    /// Whether a larger value is better (for the report's before/after direction).
    public var higherIsBetter: Bool {
        switch self {
        case .perplexity, .klDivergence, .latency: return false
        default: return true
        }
    }
}

/// One entry of a recipe's `evaluation` list: a name, a metric and the data-source keys (DESIGN.md §6).
public struct EvaluationSpec: Codable, Equatable, Sendable {
    public var name: String?
    public var metric: Metric
    public var source: DataSource

    public init(name: String? = nil, metric: Metric, source: DataSource) {
        self.name = name; self.metric = metric; self.source = source
    }

    enum CodingKeys: String, CodingKey { case name, metric }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        source = try DataSource(from: decoder, alsoAllowed: ["name", "metric"])
        name = try c.decodeIfPresent(String.self, forKey: .name)
        let raw = try c.decodeIfPresent(String.self, forKey: .metric) ?? Metric.perplexity.rawValue
        guard let metric = Metric(rawValue: raw) else {
            throw EvaluationError.invalidSource(path: jsonPath(decoder.codingPath + [CodingKeys.metric]),
                message: "unknown metric '\(raw)' (supported: \(Metric.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self.metric = metric
    }

    public func encode(to encoder: Encoder) throws {
        try source.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(name, forKey: .name)
        try c.encode(metric, forKey: .metric)
    }

    /// The name shown in reports: the given one, else "metric on file".
    public var displayName: String { name ?? "\(metric.rawValue) (\((source.data as NSString).lastPathComponent))" }
}
