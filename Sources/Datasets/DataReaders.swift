import Foundation

/// A data file as read, before tokenization.
public enum LoadedData: Equatable, Sendable {
    /// A plain text file: one stream.
    case text(String)
    /// Records with named string fields (JSON objects, or table rows under a header), in file order.
    case records(columns: [String], rows: [[String: String]])
    /// A token_ids file: one sequence per non-empty line.
    case tokens([[Int32]])
}

extension DataSource {
    /// Reads the file in its format; `max_examples` keeps the first N records or token lines.
    public func load() throws -> LoadedData {
        let format = try resolvedFormat()
        let text = try readText(data)
        let limit = maxExamples ?? Int.max
        switch format {
        case .text:
            return .text(text)
        case .tokenIDs:
            return .tokens(try parseTokenIDs(text, file: data, limit: limit))
        case .jsonl, .json:
            let objects = try parseJSONRecords(text, file: data, arrayExpected: format == .json)
            let columns = objects.first.map { $0.keys.sorted() } ?? []
            return .records(columns: columns, rows: Array(objects.prefix(limit)))
        case .tsv, .csv:
            var table = format == .tsv ? parseTSV(text) : try parseCSV(text, file: data)
            guard let header = table.first else { throw DatasetError.noExamples(file: data) }
            table.removeFirst()
            var rows: [[String: String]] = []
            for (i, cells) in table.prefix(limit).enumerated() {
                guard cells.count == header.count else {
                    throw DatasetError.malformedRow(file: data, row: i + 2,
                        reason: "\(cells.count) columns but the header has \(header.count)")
                }
                rows.append(Dictionary(zip(header, cells), uniquingKeysWith: { a, _ in a }))
            }
            return .records(columns: header, rows: rows)
        }
    }
}

/// One sequence of space-separated ids per line; blank lines are skipped.
func parseTokenIDs(_ text: String, file: String, limit: Int) throws -> [[Int32]] {
    var sequences: [[Int32]] = []
    for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        if sequences.count >= limit { break }
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "," })
        if words.isEmpty { continue }
        sequences.append(try words.map { w in
            guard let id = Int32(w), id >= 0 else { throw DatasetError.invalidTokenID(file: file, line: i + 1, token: String(w)) }
            return id
        })
    }
    return sequences
}

/// A JSON array of objects, or JSON lines (one object per line). Some `.json` files are JSON lines,
/// so a `.json` file that does not start with `[` is read as lines.
func parseJSONRecords(_ text: String, file: String, arrayExpected: Bool) throws -> [[String: String]] {
    let trimmed = text.drop(while: { $0.isWhitespace })
    var objects: [Any] = []
    if arrayExpected && trimmed.first == "[" {
        do { objects = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [Any] ?? [] } catch {
            throw DatasetError.malformedRow(file: file, row: 1, reason: "invalid JSON array (\(error.localizedDescription))")
        }
    } else {
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy(\.isWhitespace) { continue }
            do { objects.append(try JSONSerialization.jsonObject(with: Data(line.utf8))) } catch {
                throw DatasetError.malformedRow(file: file, row: i + 1, reason: "invalid JSON")
            }
        }
    }
    return try objects.enumerated().map { i, value in
        guard let object = value as? [String: Any] else {
            throw DatasetError.malformedRow(file: file, row: i + 1, reason: "expected a JSON object with named fields")
        }
        return object.mapValues(jsonScalarText)
    }
}

/// Numbers keep their JSON spelling where possible (1 → "1", 3.5 → "3.5"); nested values become JSON.
func jsonScalarText(_ value: Any) -> String {
    switch value {
    case let s as String: return s
    case let n as NSNumber:
        let d = n.doubleValue
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"
    case is NSNull: return ""
    default:
        if let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]) {
            return String(decoding: data, as: UTF8.self)
        }
        return "\(value)"
    }
}

/// GLUE-style TSV: fields split on tabs, no quoting (as the GLUE files are written); a trailing CR is dropped.
/// Splits UTF-8 bytes (tab and newline never occur inside a multi-byte sequence), which is far faster than
/// splitting Characters.
func parseTSV(_ text: String) -> [[String]] {
    var rows: [[String]] = []
    for line in text.utf8.split(separator: 10, omittingEmptySubsequences: true) {
        let l = line.last == 13 ? line.dropLast() : line[...]
        if l.isEmpty { continue }
        rows.append(l.split(separator: 9, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) })
    }
    return rows
}

/// RFC 4180 CSV: commas, double-quoted fields with "" escapes and embedded newlines; blank lines skipped.
func parseCSV(_ text: String, file: String) throws -> [[String]] {
    var rows: [[String]] = [], row: [String] = [], field = ""
    var inQuotes = false, fieldStarted = false, line = 1
    var it = Array(text.unicodeScalars)[...]
    func endRow() {
        if fieldStarted || !row.isEmpty { row.append(field); rows.append(row) }
        row = []; field = ""; fieldStarted = false
    }
    while let c = it.popFirst() {
        if inQuotes {
            if c == "\"" {
                if it.first == "\"" { it.removeFirst(); field.unicodeScalars.append("\"") } else { inQuotes = false }
            } else {
                if c == "\n" { line += 1 }
                field.unicodeScalars.append(c)
            }
            continue
        }
        switch c {
        case "\"":
            guard field.isEmpty else { throw DatasetError.malformedRow(file: file, row: line, reason: "quote inside an unquoted field") }
            inQuotes = true; fieldStarted = true
        case ",": row.append(field); field = ""; fieldStarted = true
        case "\r": continue
        case "\n": endRow(); line += 1
        default: field.unicodeScalars.append(c); fieldStarted = true
        }
    }
    if inQuotes { throw DatasetError.malformedRow(file: file, row: line, reason: "unterminated quoted field") }
    endRow()
    return rows
}
