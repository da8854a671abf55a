import Evaluation
import Foundation
import Passes

/// Everything a compression run reports: before/after metrics, one section per pass, provenance.
/// Encoded as `report.json`; `schemaVersion` changes whenever a field changes meaning.
public struct Report: Codable, Equatable, Sendable {
    public static let currentSchemaVersion = 1

    public var schemaVersion: Int
    public var title: String
    public var comparisons: [MetricComparison]
    public var size: SizeComparison?
    public var passes: [PassReport]
    /// The evaluation metrics after each pass of a composed recipe, so each step's cost or gain shows.
    public var stages: [PassStage]?
    /// Per-module outlier statistics (ALGORITHMS.md §3.4) of the original and compressed models.
    public var outliersBefore: OutlierStats?
    public var outliersAfter: OutlierStats?
    public var provenance: Provenance
    /// Extra files the recipe's `output.export` asked for (GGUF), each re-read and evaluated.
    public var exports: [ExportedFile]?

    public init(title: String, comparisons: [MetricComparison] = [], size: SizeComparison? = nil, passes: [PassReport] = [],
                outliersBefore: OutlierStats? = nil, outliersAfter: OutlierStats? = nil, provenance: Provenance) {
        self.schemaVersion = Self.currentSchemaVersion
        self.title = title; self.comparisons = comparisons; self.size = size; self.passes = passes
        self.outliersBefore = outliersBefore; self.outliersAfter = outliersAfter; self.provenance = provenance
    }

    /// Reads a `report.json`, refusing a schema this code does not know.
    public static func decode(_ data: Data) throws -> Report {
        struct Version: Decodable { var schemaVersion: Int }
        let v = try JSONDecoder().decode(Version.self, from: data).schemaVersion
        guard v == currentSchemaVersion else {
            throw ReportError.unsupportedSchema(found: v, supported: currentSchemaVersion)
        }
        return try JSONDecoder().decode(Report.self, from: data)
    }

    /// Rows of the per-pass table: one per evaluation metric, with its value originally and after each pass.
    public var stageRows: [(name: String, unit: String, values: [Double?])]? {
        guard let stages, !stages.isEmpty else { return nil }
        return comparisons.enumerated().map { i, c in
            (c.name, c.unit, [c.original] + stages.map { i < $0.values.count ? $0.values[i] : nil })
        }
    }

    /// Metric rows followed by the size rows (on disk, deflated, parameters): the before/after table.
    public var allComparisons: [MetricComparison] { comparisons + (size?.comparisons ?? []) }
}

/// One exported file, measured after it was written: its size and the recipe's evaluation metrics
/// computed by our runtime on the weights read back from it (dequantized).
public struct ExportedFile: Codable, Equatable, Sendable {
    public var file: String
    public var format: String
    public var bytes: Int
    public var metrics: [MetricComparison]
    public init(file: String, format: String, bytes: Int, metrics: [MetricComparison]) {
        self.file = file; self.format = format; self.bytes = bytes; self.metrics = metrics
    }
}

public enum ReportError: Error, CustomStringConvertible, Equatable {
    case unsupportedSchema(found: Int, supported: Int)
    case writeFailed(path: String, reason: String)
    public var description: String {
        switch self {
        case let .unsupportedSchema(f, s): return "report.json: schema version \(f) is not supported (this build reads \(s))"
        case let .writeFailed(p, r): return "\(p): cannot write (\(r))"
        }
    }
}

/// The evaluation after one pass (values in the order of `Report.comparisons`).
public struct PassStage: Codable, Equatable, Sendable {
    public var pass: String
    public var values: [Double?]
    public init(pass: String, values: [Double?]) { self.pass = pass; self.values = values }
}

/// One row of the before/after table.
public struct MetricComparison: Codable, Equatable, Sendable {
    public var name: String
    public var metric: String
    public var original: Double?
    public var compressed: Double?
    /// compressed − original.
    public var delta: Double?
    /// (compressed − original) / |original|.
    public var relativeChange: Double?
    public var higherIsBetter: Bool
    /// Tokens predicted or examples scored.
    public var count: Int?
    /// How values print: "bytes", "count", "percent" or "number".
    public var unit: String

    public init(name: String, metric: String, original: Double?, compressed: Double?, higherIsBetter: Bool,
                count: Int? = nil, unit: String = "number") {
        self.name = name; self.metric = metric; self.original = original; self.compressed = compressed
        self.higherIsBetter = higherIsBetter; self.count = count; self.unit = unit
        if let original, let compressed {
            delta = compressed - original
            relativeChange = original == 0 ? nil : (compressed - original) / abs(original)
        }
    }

    /// From two evaluation results of the same spec.
    public init(name: String, original: MetricResult?, compressed: MetricResult?, higherIsBetter: Bool) {
        let metric = original?.metric ?? compressed?.metric ?? name
        self.init(name: name, metric: metric, original: original?.value, compressed: compressed?.value,
                  higherIsBetter: higherIsBetter, count: original?.count ?? compressed?.count,
                  unit: ["accuracy", "f1", "exact_match"].contains(metric) ? "percent" : "number")
    }

    /// Whether the change is an improvement (nil when unchanged or unknown).
    public var improved: Bool? {
        guard let delta, delta != 0 else { return nil }
        return (delta > 0) == higherIsBetter
    }
}

/// Model size before and after.
public struct SizeComparison: Codable, Equatable, Sendable {
    public var originalBytes: Int
    public var compressedBytes: Int
    public var originalDeflatedBytes: Int?
    public var compressedDeflatedBytes: Int?
    /// Stored parameters (quantized tensors count their original elements).
    public var originalParameters: Int
    public var compressedParameters: Int
    /// Parameters and MACs per token that still compute (`ComputingSize`): a pruned model in the zeroed
    /// layout stores what it removed, so the stored count alone would hide what pruning bought.
    public var originalComputingParameters: Int?
    public var compressedComputingParameters: Int?
    public var originalMACsPerToken: Double?
    public var compressedMACsPerToken: Double?

    public init(originalBytes: Int, compressedBytes: Int, originalDeflatedBytes: Int? = nil, compressedDeflatedBytes: Int? = nil,
                originalParameters: Int, compressedParameters: Int,
                computing: (original: ComputingSize, compressed: ComputingSize)? = nil) {
        self.originalBytes = originalBytes; self.compressedBytes = compressedBytes
        self.originalDeflatedBytes = originalDeflatedBytes; self.compressedDeflatedBytes = compressedDeflatedBytes
        self.originalParameters = originalParameters; self.compressedParameters = compressedParameters
        originalComputingParameters = computing?.original.parameters; compressedComputingParameters = computing?.compressed.parameters
        originalMACsPerToken = computing?.original.macsPerToken; compressedMACsPerToken = computing?.compressed.macsPerToken
    }

    public var comparisons: [MetricComparison] {
        var rows = [MetricComparison(name: "size on disk", metric: "bytes", original: Double(originalBytes),
                                     compressed: Double(compressedBytes), higherIsBetter: false, unit: "bytes")]
        if let a = originalDeflatedBytes, let b = compressedDeflatedBytes {
            rows.append(MetricComparison(name: "size after zlib deflate", metric: "deflated_bytes", original: Double(a),
                                         compressed: Double(b), higherIsBetter: false, unit: "bytes"))
        }
        rows.append(MetricComparison(name: "parameters", metric: "parameters", original: Double(originalParameters),
                                     compressed: Double(compressedParameters), higherIsBetter: false, unit: "count"))
        if let a = originalComputingParameters, let b = compressedComputingParameters {
            rows.append(MetricComparison(name: "parameters computing", metric: "computing_parameters", original: Double(a),
                                         compressed: Double(b), higherIsBetter: false, unit: "count"))
        }
        if let a = originalMACsPerToken, let b = compressedMACsPerToken {
            rows.append(MetricComparison(name: "MACs per token", metric: "macs_per_token", original: a.rounded(),
                                         compressed: b.rounded(), higherIsBetter: false, unit: "count"))
        }
        return rows
    }

    public var ratio: Double { compressedBytes == 0 ? 0 : Double(originalBytes) / Double(compressedBytes) }
}
