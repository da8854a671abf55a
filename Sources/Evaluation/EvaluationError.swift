/// Errors in metrics and model evaluation (data errors are `DatasetError`s). Each names what was expected.
public enum EvaluationError: Error, CustomStringConvertible, Equatable {
    /// A model checkpoint (file or folder) that does not exist.
    case fileNotFound(path: String)
    case unreadable(path: String, reason: String)
    /// A bad value in an `evaluation` entry, at its JSON path.
    case invalidSource(path: String, message: String)
    case unsupportedMetric(metric: String, supported: [String])
    case invalidArgument(message: String)

    public var description: String {
        switch self {
        case let .fileNotFound(p): return "\(p): no such file or folder"
        case let .unreadable(p, r): return "\(p): cannot read (\(r))"
        case let .invalidSource(p, m): return "\(p): \(m)"
        case let .unsupportedMetric(m, s): return "unknown metric '\(m)' (supported: \(s.joined(separator: ", ")))"
        case let .invalidArgument(m): return m
        }
    }
}
