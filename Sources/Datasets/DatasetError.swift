/// Errors in data files and data-source keys. Each names the file (and row or JSON path) and what was expected.
public enum DatasetError: Error, CustomStringConvertible, Equatable {
    case fileNotFound(path: String)
    case unreadable(path: String, reason: String)
    case unknownFormat(path: String, found: String)
    case invalidSource(path: String, message: String)
    case unknownKey(path: String, key: String, allowed: [String])
    case missingField(file: String, field: String, available: [String])
    case malformedRow(file: String, row: Int, reason: String)
    case invalidTokenID(file: String, line: Int, token: String)
    case labelMismatch(file: String, row: Int, label: String, modelLabels: [String])
    case tooShortForWindow(file: String, tokens: Int, seqLen: Int)
    case noExamples(file: String)
    case needsTokenizer(file: String, format: String)

    public var description: String {
        switch self {
        case let .fileNotFound(p): return "\(p): no such data file"
        case let .unreadable(p, r): return "\(p): cannot read (\(r))"
        case let .unknownFormat(p, f):
            return "\(p): cannot infer the data format from '\(f)' (set format to one of \(DataFormat.allCases.map(\.rawValue).joined(separator: ", ")))"
        case let .invalidSource(p, m): return "\(p): \(m)"
        case let .unknownKey(p, k, a): return "\(p): unknown key '\(k)' (allowed: \(a.joined(separator: ", ")))"
        case let .missingField(f, field, a):
            return "\(f): no column or field '\(field)' (available: \(a.isEmpty ? "none" : a.joined(separator: ", ")))"
        case let .malformedRow(f, r, reason): return "\(f): row \(r): \(reason)"
        case let .invalidTokenID(f, l, t): return "\(f): line \(l): '\(t)' is not a token id (expected space-separated non-negative integers)"
        case let .labelMismatch(f, r, l, m):
            return "\(f): row \(r): label '\(l)' does not match the model's labels (\(m.joined(separator: ", ")))"
        case let .tooShortForWindow(f, t, s):
            return "\(f): \(t) tokens is too short for one window of seq_len \(s) (use a smaller seq_len or more text)"
        case let .noExamples(f): return "\(f): no examples"
        case let .needsTokenizer(f, fmt): return "\(f): \(fmt) data needs a tokenizer (the model folder has none; use token_ids data)"
        }
    }
}
