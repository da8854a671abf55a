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
