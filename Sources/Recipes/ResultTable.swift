import Reports

/// The before/after table printed at the end of a run.
public struct ResultTable {
    public let result: Pipeline.Result
    public init(result: Pipeline.Result) { self.result = result }

    public func text() -> String {
        var lines = [result.report.comparisonTable()]
        if let stages = result.report.stageTable() { lines += ["", stages, ""] }
        for pass in result.report.passes { lines.append("\(pass.kind): \(pass.summary)") }
        return lines.joined(separator: "\n")
    }
}
