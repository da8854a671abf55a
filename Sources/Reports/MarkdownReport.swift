import Foundation
import Passes

extension Report {
    /// `report.md`: paste-able into a pull request. Charts are referenced as `charts/<id>.png`
    /// (written beside it by `ReportWriter`).
    public func markdown(chartFolder: String = "charts") -> String {
        var md = "# \(title)\n\n"
        if let size { md += "Size \(formatByteCount(Double(size.originalBytes))) → \(formatByteCount(Double(size.compressedBytes))) (\(String(format: "%.2f", size.ratio))× smaller).\n\n" }
        md += "## Before and after\n\n"
        md += markdownTable(header: ["metric", "original", "compressed", "delta", "relative"], align: ["l", "r", "r", "r", "r"],
                            rows: allComparisons.map { c in
            [c.name + (c.count.map { " (n = \(formatCount(Double($0))))" } ?? ""), formatValue(c.original, unit: c.unit),
             formatValue(c.compressed, unit: c.unit), formatDelta(c.delta, unit: c.unit), formatRelative(c.relativeChange)]
        })
        if let rows = stageRows, let stages, stages.count > 1 {
            md += "\n### After each pass\n\n"
            md += markdownTable(header: ["metric", "original"] + stages.enumerated().map { "after \($0.offset + 1). \($0.element.pass)" },
                                align: ["l"] + Array(repeating: "r", count: stages.count + 1),
                                rows: rows.map { r in [r.name] + r.values.map { formatValue($0, unit: r.unit) } })
        }
        let charts = self.charts()
        if let size = charts.first(where: { $0.id == "size" }) { md += "\n![\(size.title)](\(chartFolder)/\(size.id).png)\n" }
        for (p, pass) in passes.enumerated() {
            md += "\n## Pass \(p + 1): \(pass.kind)\n\n\(pass.summary)\n\n"
            var facts: [String] = []
            if let s = pass.seconds { facts.append("time \(formatSeconds(s))") }
            if let m = pass.peakRSSBytes { facts.append("peak memory \(formatByteCount(Double(m)))") }
            facts += pass.metrics.sorted { $0.key < $1.key }.map { "\($0.key) \(formatNumber($0.value))" }
            if !facts.isEmpty { md += facts.joined(separator: " · ") + "\n\n" }
            if !pass.tensors.isEmpty {
                let folded = pass.tensors.count > 12   // long lists fold (GitHub renders <details> in Markdown)
                if folded { md += "<details><summary>\(pass.tensors.count) tensors changed</summary>\n\n" }
                md += markdownTable(header: ["tensor", "before", "after", "bits/weight", "sparsity", "rel. error"], align: ["l", "l", "l", "r", "r", "r"],
                                    rows: pass.tensors.map { t in
                    [t.name, t.before, t.after, t.bitsPerWeight.map { String(format: "%.2f", $0) } ?? "—",
                     t.sparsity.map { String(format: "%.1f%%", $0 * 100) } ?? "—", t.relativeError.map(formatNumber) ?? "—"]
                })
                if folded { md += "\n</details>\n" }
            }
            for chart in charts where chart.id.hasPrefix("pass\(p + 1)-") { md += "\n![\(chart.title)](\(chartFolder)/\(chart.id).png)\n" }
            for table in pass.tables ?? [] {
                md += "\n**\(table.title)**\n\n" + markdownTable(header: table.header, align: table.header.map { _ in "l" }, rows: table.rows)
            }
            for note in pass.notes { md += "\n> \(note)\n" }
        }
        if let chart = charts.first(where: { $0.id == "kurtosis" }), let before = outliersBefore {
            md += "\n## Outliers\n\nKurtosis of module outputs: mean \(formatNumber(before.meanKurtosis)), max \(formatNumber(before.maxKurtosis)); "
            md += "max ‖x‖∞ \(formatNumber(before.maxInfinityNorm)) (original)"
            if let after = outliersAfter {
                md += "; after: mean \(formatNumber(after.meanKurtosis)), max \(formatNumber(after.maxKurtosis)), max ‖x‖∞ \(formatNumber(after.maxInfinityNorm))"
            }
            md += ".\n\n![\(chart.title)](\(chartFolder)/\(chart.id).png)\n"
        }
        if let exports, !exports.isEmpty {
            md += "\n## Exported files\n\n"
            let names = exports.first?.metrics.map(\.name) ?? []
            md += markdownTable(header: ["file", "format", "size"] + names, align: ["l", "l", "r"] + names.map { _ in "r" },
                                rows: exports.map { e in [e.file, e.format, formatByteCount(Double(e.bytes))] + e.metrics.map { formatValue($0.compressed, unit: $0.unit) } })
        }
        md += "\n## Provenance\n\n"
        md += "- model: `\(provenance.model)`\n- input fingerprint: `\(provenance.inputFingerprint)`\n"
        md += "- versions: " + provenance.versions.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "\n"
        md += "- machine: \(provenance.machine.cpu), \(provenance.machine.cores) cores, \(formatByteCount(Double(provenance.machine.memoryBytes))) RAM, \(provenance.machine.os)\n"
        md += "- created: \(provenance.created)\n"
        if !provenance.recipe.isEmpty { md += "\n```json\n\(provenance.recipe)\n```\n" }
        return md
    }
}

func markdownTable(header: [String], align: [String], rows: [[String]]) -> String {
    func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ") }
    var t = "| " + header.map(cell).joined(separator: " | ") + " |\n"
    t += "|" + align.map { $0 == "r" ? "---:" : "---" }.joined(separator: "|") + "|\n"
    for r in rows { t += "| " + r.map(cell).joined(separator: " | ") + " |\n" }
    return t
}
