import Foundation
import Checkpoints
import Passes

/// One evaluation result of one model.
public struct MetricResult: Codable, Equatable, Sendable {
    public var name: String
    public var metric: String
    public var value: Double
    /// Tokens predicted or examples scored.
    public var count: Int
    public init(name: String, metric: String, value: Double, count: Int) {
        self.name = name; self.metric = metric; self.value = value; self.count = count
    }
}

/// Everything a report shows about one run; the Reports module renders it.
public struct RunSummary: Codable {
    public var recipe: JSONValue
    public var fingerprint: String
    public var inputBytes: Int
    public var outputBytes: Int
    public var inputParameters: Int
    public var before: [MetricResult]
    public var after: [MetricResult]
    public var passes: [PassReport]

    init(recipe: Recipe, fingerprint: String, input: Checkpoint, output: TensorStore,
         before: [MetricResult], after: [MetricResult], passes: [PassReport]) throws {
        self.recipe = try recipe.normalized(fingerprint: fingerprint)
        self.fingerprint = fingerprint
        inputBytes = input.byteCount
        outputBytes = output.names.compactMap { output.spec($0)?.byteCount }.reduce(0, +)
        inputParameters = input.parameterCount
        self.before = before
        self.after = after
        self.passes = passes
    }

    func write(into folder: OutputFolder) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try folder.write(try encoder.encode(self), to: "report.json")
    }
}
