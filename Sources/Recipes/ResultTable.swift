import Foundation
import Checkpoints

/// The before/after table printed at the end of a run.
public struct ResultTable {
    public let result: Pipeline.Result
    public init(result: Pipeline.Result) { self.result = result }

    public func text() -> String {
        var rows: [[String]] = [["metric", "original", "compressed", "delta", "relative"]]
        for (b, a) in zip(result.before, result.after) {
            let delta = a.value - b.value
            let relative = b.value != 0 ? delta / abs(b.value) * 100 : 0
            rows.append(["\(b.name) (\(b.metric))", fmt(b.value), fmt(a.value),
                         (delta >= 0 ? "+" : "") + fmt(delta), String(format: "%+.2f %%", relative)])
        }
        for report in result.passReports { rows.append(["\(report.kind)", report.summary, "", "", ""]) }
        let widths = (0..<5).map { c in rows.map { $0[c].count }.max()! }
        return rows.map { row in
            zip(row, widths).map { $0 + String(repeating: " ", count: $1 - $0.count) }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    func fmt(_ v: Double) -> String {
        abs(v) >= 100 ? String(format: "%.2f", v) : String(format: "%.4f", v)
    }
}
