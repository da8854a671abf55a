import Foundation

/// A token matched in the raw (or normalized) text before the model runs (`added_tokens` in tokenizer.json).
public struct AddedToken: Equatable, Sendable {
    public let id: Int
    public let content: String
    public let special: Bool
    public let normalized: Bool
    public let lstrip: Bool
    public let rstrip: Bool
    public let singleWord: Bool
}

/// Splits text on added tokens: leftmost-longest matches (as tokenizers' Aho-Corasick
/// `LeftmostLongest`), honouring `single_word`, and widened over whitespace by `lstrip`/`rstrip`.
struct AddedTokenMatcher {
    private let byFirstScalar: [Unicode.Scalar: [(scalars: [Unicode.Scalar], token: AddedToken)]]
    /// ASCII scalars that start some token (a fast reject before the dictionary lookup).
    private let asciiStarts: [Bool]

    init(_ tokens: [AddedToken], normalizer: Normalizer?) {
        var table: [Unicode.Scalar: [(scalars: [Unicode.Scalar], token: AddedToken)]] = [:]
        for t in tokens {
            var s = Array(t.content.unicodeScalars)
            if t.normalized, let normalizer { s = normalizer.normalize(s) }
            guard let first = s.first else { continue }
            table[first, default: []].append((s, t))
        }
        for k in table.keys { table[k]!.sort { $0.scalars.count > $1.scalars.count } }
        byFirstScalar = table
        asciiStarts = (0..<128).map { table[Unicode.Scalar(UInt8($0))] != nil }
    }

    var isEmpty: Bool { byFirstScalar.isEmpty }

    /// Segments of `text`: (range, token id or nil for plain text).
    func split(_ text: [Unicode.Scalar]) -> [(range: Range<Int>, id: Int?)] {
        if byFirstScalar.isEmpty { return [(0..<text.count, nil)] }
        var out: [(range: Range<Int>, id: Int?)] = []
        var consumed = 0
        var i = 0
        let n = text.count
        while i < n {
            let v = text[i].value
            if v < 128 && !asciiStarts[Int(v)] { i += 1; continue }
            guard let candidates = byFirstScalar[text[i]] else { i += 1; continue }
            var match: (length: Int, token: AddedToken)?
            for c in candidates where i + c.scalars.count <= n && text[i..<(i + c.scalars.count)].elementsEqual(c.scalars) {
                match = (c.scalars.count, c.token); break
            }
            guard let (length, token) = match else { i += 1; continue }
            var start = i, stop = i + length
            if token.singleWord {
                let startOK = start == 0 || !UnicodeClass.isWordChar(text[start - 1])
                let stopOK = stop == n || !UnicodeClass.isWordChar(text[stop])
                if !startOK || !stopOK { i += 1; continue }
            }
            if token.lstrip {
                var s = start
                while s > 0 && UnicodeClass.isWhitespace(text[s - 1]) { s -= 1 }
                start = max(s, consumed)
            }
            if token.rstrip {
                while stop < n && UnicodeClass.isWhitespace(text[stop]) { stop += 1 }
            }
            if consumed < start { out.append((consumed..<start, nil)) }
            out.append((start..<stop, token.id))
            consumed = stop
            i = stop
        }
        if consumed < n { out.append((consumed..<n, nil)) }
        return out
    }
}
