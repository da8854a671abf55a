import Foundation

/// A piece of text on its way to the model. `atStart` is true when it begins at offset 0 of the
/// original input (Metaspace's `prepend_scheme: first` looks at that).
struct Piece {
    var text: [Unicode.Scalar]
    var atStart: Bool
}

/// A pre-tokenizer splits pieces into smaller pieces (and may rewrite them, like ByteLevel).
protocol PreTokenizer {
    func preTokenize(_ pieces: [Piece]) -> [Piece]
}

extension PreTokenizer {
    /// Splits each piece into the given ranges, dropping empty results.
    func split(_ pieces: [Piece], _ ranges: ([Unicode.Scalar]) -> [Range<Int>]) -> [Piece] {
        var out: [Piece] = []
        out.reserveCapacity(pieces.count * 4)
        for p in pieces {
            for r in ranges(p.text) where !r.isEmpty {
                out.append(Piece(text: Array(p.text[r]), atStart: p.atStart && r.lowerBound == 0))
            }
        }
        return out
    }
}

struct PreTokenizerSequence: PreTokenizer {
    let steps: [PreTokenizer]
    func preTokenize(_ pieces: [Piece]) -> [Piece] { steps.reduce(pieces) { $1.preTokenize($0) } }
}

/// BERT: split on whitespace (removed), then isolate each punctuation character.
struct BertPreTokenizer: PreTokenizer {
    func preTokenize(_ pieces: [Piece]) -> [Piece] {
        split(pieces) { t in
            var out: [Range<Int>] = []
            var start = -1
            for (i, c) in t.enumerated() {
                if UnicodeClass.isWhitespace(c) {
                    if start >= 0 { out.append(start..<i); start = -1 }
                } else if UnicodeClass.isBertPunctuation(c) {
                    if start >= 0 { out.append(start..<i); start = -1 }
                    out.append(i..<(i + 1))
                } else if start < 0 {
                    start = i
                }
            }
            if start >= 0 { out.append(start..<t.count) }
            return out
        }
    }
}

/// `\w+|[^\w\s]+`, whitespace removed.
struct WhitespacePreTokenizer: PreTokenizer {
    func preTokenize(_ pieces: [Piece]) -> [Piece] {
        split(pieces) { t in
            var out: [Range<Int>] = []
            var i = 0
            while i < t.count {
                if UnicodeClass.isWhitespace(t[i]) { i += 1; continue }
                let word = UnicodeClass.isWordChar(t[i])
                var j = i + 1
                while j < t.count && !UnicodeClass.isWhitespace(t[j]) && UnicodeClass.isWordChar(t[j]) == word { j += 1 }
                out.append(i..<j); i = j
            }
            return out
        }
    }
}

/// Split on whitespace, removing it.
struct WhitespaceSplit: PreTokenizer {
    func preTokenize(_ pieces: [Piece]) -> [Piece] {
        split(pieces) { splitRanges(count: $0.count, matches: scalarMatches($0, UnicodeClass.isWhitespace), behavior: .removed) }
    }
}

struct CharDelimiterSplit: PreTokenizer {
    let delimiter: Unicode.Scalar
    func preTokenize(_ pieces: [Piece]) -> [Piece] {
        split(pieces) { splitRanges(count: $0.count, matches: scalarMatches($0) { $0 == delimiter }, behavior: .removed) }
    }
}

/// Isolates digits, one by one or as runs.
struct Digits: PreTokenizer {
    let individual: Bool
    func preTokenize(_ pieces: [Piece]) -> [Piece] {
        split(pieces) {
            splitRanges(count: $0.count, matches: scalarMatches($0, UnicodeClass.isNumber),
                        behavior: individual ? .isolated : .contiguous)
        }
    }
}

struct PunctuationPreTokenizer: PreTokenizer {
    let behavior: SplitBehavior
    func preTokenize(_ pieces: [Piece]) -> [Piece] {
        split(pieces) { splitRanges(count: $0.count, matches: scalarMatches($0, UnicodeClass.isBertPunctuation), behavior: behavior) }
    }
}

struct SplitPreTokenizer: PreTokenizer {
    let pattern: SplitPattern
    let behavior: SplitBehavior
    let invert: Bool
    func preTokenize(_ pieces: [Piece]) -> [Piece] {
        split(pieces) { splitRanges(count: $0.count, matches: pattern.matches(in: $0), behavior: behavior, invert: invert) }
    }
}

/// Spaces become "▁", a "▁" is prepended (always / only to the start of the input / never), and
/// optionally the text is split before each "▁" (SentencePiece style).
struct Metaspace: PreTokenizer {
    enum PrependScheme: String { case always, first, never }
    let replacement: Unicode.Scalar
    let prependScheme: PrependScheme
    let splitOnReplacement: Bool

    func preTokenize(_ pieces: [Piece]) -> [Piece] {
        let rewritten = pieces.map { p -> Piece in
            var t = p.text.map { $0 == " " ? replacement : $0 }
            let prepend: Bool
            switch prependScheme {
            case .always: prepend = true
            case .first: prepend = p.atStart
            case .never: prepend = false
            }
            if prepend && t.first != replacement { t.insert(replacement, at: 0) }
            return Piece(text: t, atStart: p.atStart)
        }
        guard splitOnReplacement else { return rewritten.filter { !$0.text.isEmpty } }
        return split(rewritten) { splitRanges(count: $0.count, matches: scalarMatches($0) { $0 == replacement }, behavior: .mergedWithNext) }
    }
}

/// GPT-2's byte-level pre-tokenizer: optional prefix space, the GPT-2 split, then every UTF-8 byte
/// mapped to its printable stand-in character.
struct ByteLevelPreTokenizer: PreTokenizer {
    let addPrefixSpace: Bool
    let useRegex: Bool

    func preTokenize(_ pieces: [Piece]) -> [Piece] {
        var prefixed = pieces
        if addPrefixSpace {
            for i in prefixed.indices where prefixed[i].text.first != " " { prefixed[i].text.insert(" ", at: 0) }
        }
        let split = useRegex ? self.split(prefixed, gpt2Matches) : prefixed.filter { !$0.text.isEmpty }
        return split.map { Piece(text: ByteLevelAlphabet.encode($0.text), atStart: $0.atStart) }
    }
}

enum PreTokenizerFactory {
    static let supported = ["BertPreTokenizer", "ByteLevel", "Metaspace", "Whitespace", "WhitespaceSplit", "Digits",
                            "Punctuation", "Split", "CharDelimiterSplit", "Sequence"]

    static func make(_ node: JSONNode) throws -> PreTokenizer {
        let type = try node.type()
        switch type {
        case "Sequence": return PreTokenizerSequence(steps: try node.required("pretokenizers").array().map(make))
        case "BertPreTokenizer": return BertPreTokenizer()
        case "Whitespace": return WhitespacePreTokenizer()
        case "WhitespaceSplit": return WhitespaceSplit()
        case "ByteLevel":
            return ByteLevelPreTokenizer(addPrefixSpace: try node.bool("add_prefix_space", default: true),
                                         useRegex: try node.bool("use_regex", default: true))
        case "Metaspace":
            let rep = try node.string("replacement", default: "▁")
            guard rep.unicodeScalars.count == 1, let scalar = rep.unicodeScalars.first else {
                throw (node["replacement"] ?? node).fail("expected a single character")
            }
            var scheme = Metaspace.PrependScheme.always
            if let s = node["prepend_scheme"] {
                guard let p = Metaspace.PrependScheme(rawValue: try s.string()) else {
                    throw TokenizerError.unsupportedComponent(kind: "prepend_scheme", type: try s.string(), path: s.path,
                                                              supported: ["always", "first", "never"])
                }
                scheme = p
            } else if let add = node["add_prefix_space"] {   // older files
                scheme = try add.bool() ? .always : .never
            }
            return Metaspace(replacement: scalar, prependScheme: scheme, splitOnReplacement: try node.bool("split", default: true))
        case "Digits": return Digits(individual: try node.bool("individual_digits", default: false))
        case "Punctuation":
            return PunctuationPreTokenizer(behavior: try node["behavior"].map(SplitBehavior.parse) ?? .isolated)
        case "Split":
            return SplitPreTokenizer(pattern: try SplitPattern(try node.required("pattern")),
                                     behavior: try SplitBehavior.parse(try node.required("behavior")),
                                     invert: try node.bool("invert", default: false))
        case "CharDelimiterSplit":
            let d = try node.required("delimiter").string()
            guard d.unicodeScalars.count == 1 else { throw node.fail("delimiter must be one character") }
            return CharDelimiterSplit(delimiter: d.unicodeScalars.first!)
        default:
            throw TokenizerError.unsupportedComponent(kind: "pre_tokenizer", type: type, path: node.path, supported: supported)
        }
    }
}
