import Foundation

/// A `{"String": …}` or `{"Regex": …}` pattern of `Split` / `Replace`, matched over Unicode scalars.
/// The GPT-2 / Llama-3 / Qwen2 patterns use hand-written scanners; other regexes use
/// NSRegularExpression (ICU, whose `\s`, `\p{L}`, `\p{N}` agree with Oniguruma's).
struct SplitPattern {
    private enum Kind {
        case literal([Unicode.Scalar])
        case scanner(([Unicode.Scalar]) -> [Range<Int>])
        case regex(NSRegularExpression)
    }
    private let kind: Kind

    init(literal: String) { kind = .literal(Array(literal.unicodeScalars)) }

    init(regex pattern: String, path: String) throws {
        if let scan = KnownPattern.scanner(for: pattern) {
            kind = .scanner(scan)
        } else {
            do { kind = .regex(try NSRegularExpression(pattern: pattern)) } catch {
                throw TokenizerError.badPattern(pattern: pattern, path: path, reason: "\(error)")
            }
        }
    }

    init(_ node: JSONNode) throws {
        if let s = node["String"] {
            self.init(literal: try s.string())
        } else if let r = node["Regex"] {
            try self.init(regex: try r.string(), path: r.path)
        } else {
            throw node.fail("expected {\"String\": …} or {\"Regex\": …}")
        }
    }

    /// Non-overlapping, non-empty matches, left to right, as scalar index ranges.
    func matches(in text: [Unicode.Scalar]) -> [Range<Int>] {
        switch kind {
        case .literal(let needle):
            guard !needle.isEmpty, text.count >= needle.count else { return [] }
            var out: [Range<Int>] = []
            var i = 0
            let first = needle[0]
            while i + needle.count <= text.count {
                if text[i] == first && text[i..<(i + needle.count)].elementsEqual(needle) {
                    out.append(i..<(i + needle.count)); i += needle.count
                } else { i += 1 }
            }
            return out
        case .scanner(let scan):
            return scan(text)
        case .regex(let re):
            let s = String(scalars: text)
            // Map UTF-16 offsets back to scalar indices.
            var scalarAt = [Int](repeating: 0, count: s.utf16.count + 1)
            var u = 0
            for (k, c) in text.enumerated() {
                let w = c.value > 0xFFFF ? 2 : 1
                for d in 0..<w { scalarAt[u + d] = k }
                u += w
            }
            scalarAt[u] = text.count
            return re.matches(in: s, range: NSRange(location: 0, length: u)).compactMap { m in
                let r = m.range
                guard r.length > 0 else { return nil }
                return scalarAt[r.location]..<scalarAt[r.location + r.length]
            }
        }
    }
}

/// What happens to the delimiter when splitting (tokenizers' `SplitDelimiterBehavior`).
enum SplitBehavior: String {
    case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"

    static func parse(_ node: JSONNode) throws -> SplitBehavior {
        let s = try node.string()
        guard let b = SplitBehavior(rawValue: s) else {
            throw TokenizerError.unsupportedComponent(kind: "split behavior", type: s, path: node.path,
                                                      supported: ["Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"])
        }
        return b
    }
}

/// Splits `count` scalars given the delimiter matches, following tokenizers' `NormalizedString::split`.
/// Returns the kept ranges (non-empty).
func splitRanges(count: Int, matches: [Range<Int>], behavior: SplitBehavior, invert: Bool = false) -> [Range<Int>] {
    // Cover the text with (range, isMatch) segments.
    var segments: [(Range<Int>, Bool)] = []
    segments.reserveCapacity(matches.count * 2 + 1)
    var prev = 0
    for m in matches {
        if prev != m.lowerBound { segments.append((prev..<m.lowerBound, invert)) }
        segments.append((m, !invert))
        prev = m.upperBound
    }
    if prev != count { segments.append((prev..<count, invert)) }

    var out: [(Range<Int>, Bool)] = []
    out.reserveCapacity(segments.count)
    switch behavior {
    case .isolated:
        out = segments.map { ($0.0, false) }
    case .removed:
        out = segments
    case .contiguous:
        var previousMatch = false
        for (r, isMatch) in segments {
            if isMatch && previousMatch, let last = out.last {
                out[out.count - 1] = (last.0.lowerBound..<r.upperBound, false)
            } else {
                out.append((r, false))
            }
            previousMatch = isMatch
        }
    case .mergedWithPrevious:
        var previousMatch = false
        for (r, isMatch) in segments {
            if isMatch && !previousMatch, let last = out.last {
                out[out.count - 1] = (last.0.lowerBound..<r.upperBound, false)
            } else {
                out.append((r, false))
            }
            previousMatch = isMatch
        }
    case .mergedWithNext:
        var previousMatch = false
        for (r, isMatch) in segments.reversed() {
            if isMatch && !previousMatch, let last = out.last {
                out[out.count - 1] = (r.lowerBound..<last.0.upperBound, false)
            } else {
                out.append((r, false))
            }
            previousMatch = isMatch
        }
        out.reverse()
    }
    return out.compactMap { $0.1 || $0.0.isEmpty ? nil : $0.0 }
}

/// Matches of single scalars satisfying `predicate` (tokenizers' `Fn(char) -> bool` pattern).
func scalarMatches(_ text: [Unicode.Scalar], _ predicate: (Unicode.Scalar) -> Bool) -> [Range<Int>] {
    var out: [Range<Int>] = []
    for (i, c) in text.enumerated() where predicate(c) { out.append(i..<(i + 1)) }
    return out
}
