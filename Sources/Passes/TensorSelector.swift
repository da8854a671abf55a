import Foundation

/// The one matcher behind every `targets` / `ignore` list (DESIGN.md §6): an entry is an exact
/// tensor or module name, a glob (`*` any run of characters, `?` one character), or `re:` followed
/// by a regular expression that must match the whole name. A module name also matches its tensors
/// (`lm_head` matches `lm_head.weight`).
public struct TensorSelector: Codable, Equatable, Sendable {
    public let patterns: [String]

    public init(_ patterns: [String]) { self.patterns = patterns }

    public init(from decoder: Decoder) throws {
        patterns = try decoder.singleValueContainer().decode([String].self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(patterns)
    }

    /// Checks every pattern compiles; errors name `path`.
    public func validate(path: String) throws {
        for (i, p) in patterns.enumerated() {
            if p.isEmpty { throw PassError("\(path)[\(i)]", "empty pattern") }
            if p.hasPrefix("re:") {
                do { _ = try NSRegularExpression(pattern: String(p.dropFirst(3))) } catch {
                    throw PassError("\(path)[\(i)]", "invalid regular expression '\(p.dropFirst(3))'")
                }
            }
        }
    }

    public func matches(_ name: String) -> Bool {
        patterns.contains { TensorSelector.match(pattern: $0, name: name) }
    }

    static func match(pattern: String, name: String) -> Bool {
        if pattern.hasPrefix("re:") {
            guard let re = try? NSRegularExpression(pattern: "^(?:" + pattern.dropFirst(3) + ")$") else { return false }
            return re.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) != nil
        }
        if pattern.contains("*") || pattern.contains("?") {
            return glob(Array(pattern.utf8), Array(name.utf8)) || glob(Array((pattern + ".*").utf8), Array(name.utf8))
        }
        return name == pattern || name.hasPrefix(pattern + ".")
    }

    /// Iterative glob match with backtracking on the last `*`.
    static func glob(_ p: [UInt8], _ s: [UInt8]) -> Bool {
        var i = 0, j = 0, star = -1, mark = 0
        while j < s.count {
            if i < p.count, p[i] == UInt8(ascii: "?") || p[i] == s[j] { i += 1; j += 1 }
            else if i < p.count, p[i] == UInt8(ascii: "*") { star = i; mark = j; i += 1 }
            else if star >= 0 { i = star + 1; mark += 1; j = mark }
            else { return false }
        }
        while i < p.count, p[i] == UInt8(ascii: "*") { i += 1 }
        return i == p.count
    }
}

/// Names that weight-changing passes leave alone unless a recipe targets them explicitly:
/// embeddings, norms, the LM head and classifier heads (DESIGN.md §6, issue 5).
public enum ProtectedTensors {
    public static let selector = TensorSelector([
        "re:.*(embed|wte|wpe|embeddings).*", "re:.*(norm|ln_f|ln_1|ln_2|LayerNorm).*",
        "lm_head", "re:(.*\\.)?(classifier|score|pooler|qa_outputs)(\\..*)?",
    ])

    public static func isProtected(_ name: String) -> Bool { selector.matches(name) }
}
