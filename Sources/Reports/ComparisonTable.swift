/// The before/after table as aligned plain text for the terminal.
extension Report {
    public func comparisonTable() -> String {
        let header = ["metric", "original", "compressed", "delta", "relative"]
        let rows = allComparisons.map { c in
            [c.name, formatValue(c.original, unit: c.unit), formatValue(c.compressed, unit: c.unit),
             formatDelta(c.delta, unit: c.unit), formatRelative(c.relativeChange)]
        }
        return alignedTable(header: header, rows: rows, rightAligned: [1, 2, 3, 4])
    }

    /// The metrics after each pass as aligned text (nil for a single pass or no evaluation).
    public func stageTable() -> String? {
        guard let rows = stageRows, let stages, stages.count > 1 else { return nil }
        let header = ["metric", "original"] + stages.enumerated().map { "after \($0.offset + 1). \($0.element.pass)" }
        return alignedTable(header: header, rows: rows.map { r in [r.name] + r.values.map { formatValue($0, unit: r.unit) } },
                            rightAligned: Set(1..<header.count))
    }
}

/// Columns padded to their widest cell (counted in characters); a dashed rule under the header.
func alignedTable(header: [String], rows: [[String]], rightAligned: Set<Int>) -> String {
    let all = [header] + rows
    let widths = header.indices.map { i in all.map { $0[i].count }.max()! }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, s in
            let pad = String(repeating: " ", count: widths[i] - s.count)
            return rightAligned.contains(i) ? pad + s : s + pad
        }.joined(separator: "  ")
    }
    let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
    return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
}
