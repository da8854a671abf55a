import Foundation

/// The labels a classifier predicts, in id order (from `config.json` `id2label`).
public struct LabelSet: Equatable, Sendable {
    public var names: [String]
    public init(names: [String]) { self.names = names }

    /// Reads `id2label` (or `num_labels`) from a parsed config.json; nil when the model is not a classifier.
    public init?(config: [String: Any]) {
        if let map = config["id2label"] as? [String: Any], !map.isEmpty {
            let pairs = map.compactMap { k, v in Int(k).map { ($0, "\(v)") } }.sorted { $0.0 < $1.0 }
            guard pairs.map(\.0) == Array(0..<pairs.count) else { return nil }
            names = pairs.map(\.1)
        } else if let n = config["num_labels"] as? Int, n > 0 {
            names = (0..<n).map { "LABEL_\($0)" }
        } else {
            return nil
        }
    }

    /// The class id of a data label: an integer id in range, or a label name (case-insensitive).
    public func id(of raw: String) -> Int? {
        let s = raw.trimmingCharacters(in: .whitespaces)
        if let i = Int(s) { return (0..<names.count).contains(i) ? i : nil }
        return names.firstIndex { $0.lowercased() == s.lowercased() }
    }
}
