import Foundation

/// A normalizer rewrites the text of one piece before pre-tokenization (tokenizers' `normalizers`).
protocol Normalizer {
    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar]
}

/// Applies normalizers in order (`Sequence`).
struct NormalizerSequence: Normalizer {
    let steps: [Normalizer]
    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        steps.reduce(text) { $1.normalize($0) }
    }
}

struct UnicodeFormNormalizer: Normalizer {
    let form: UnicodeForm
    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] { form.apply(text) }
}

/// Full Unicode lowercase mapping of each scalar (Rust `char::to_lowercase`, no context rules).
struct Lowercase: Normalizer {
    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        for c in text { appendLowercase(c, to: &out) }
        return out
    }
}

@inline(__always) func appendLowercase(_ c: Unicode.Scalar, to out: inout [Unicode.Scalar]) {
    let v = c.value
    if v < 0x80 {
        out.append(v >= 0x41 && v <= 0x5A ? Unicode.Scalar(v | 0x20)! : c)
    } else if c.properties.changesWhenLowercased {
        out.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars)
    } else {
        out.append(c)
    }
}

/// Removes combining marks (General_Category Mark); meant to follow NFD or NFKD.
struct StripAccents: Normalizer {
    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] { text.filter { !UnicodeClass.isMark($0) } }
}

/// Strips whitespace on the left and/or right.
struct StripNormalizer: Normalizer {
    let left: Bool, right: Bool
    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var lo = 0, hi = text.count
        if left { while lo < hi && UnicodeClass.isWhitespace(text[lo]) { lo += 1 } }
        if right { while hi > lo && UnicodeClass.isWhitespace(text[hi - 1]) { hi -= 1 } }
        return Array(text[lo..<hi])
    }
}

/// Prepends a string to a non-empty piece (the Llama-2 legacy "▁").
struct Prepend: Normalizer {
    let prefix: [Unicode.Scalar]
    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] { text.isEmpty ? text : prefix + text }
}

/// Replaces every match of a literal string or a regular expression.
struct Replace: Normalizer {
    let pattern: SplitPattern
    let content: [Unicode.Scalar]
    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        let matches = pattern.matches(in: text)
        if matches.isEmpty { return text }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        var prev = 0
        for m in matches {
            out.append(contentsOf: text[prev..<m.lowerBound])
            out.append(contentsOf: content)
            prev = m.upperBound
        }
        out.append(contentsOf: text[prev...])
        return out
    }
}

/// BERT's normalizer: drop control characters and map whitespace to spaces, pad CJK ideographs with
/// spaces, strip accents (NFD, drop Mn), lowercase (tokenizers `normalizers/bert.rs`).
struct BertNormalizer: Normalizer {
    let cleanText: Bool, handleChineseChars: Bool, stripAccents: Bool, lowercase: Bool

    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count + 8)
        for c in text {
            let v = c.value
            if cleanText {
                if v == 0 || v == 0xFFFD || UnicodeClass.isBertControl(c) { continue }
                if UnicodeClass.isWhitespace(c) { out.append(" "); continue }
            }
            if handleChineseChars && UnicodeClass.isChineseChar(c) {
                out.append(" "); out.append(c); out.append(" ")
                continue
            }
            out.append(c)
        }
        if stripAccents {
            out = UnicodeForm.nfd.apply(out).filter { !UnicodeClass.isNonspacingMark($0) }
        }
        if lowercase {
            var lowered: [Unicode.Scalar] = []
            lowered.reserveCapacity(out.count)
            for c in out { appendLowercase(c, to: &lowered) }
            out = lowered
        }
        return out
    }
}

enum NormalizerFactory {
    static let supported = ["BertNormalizer", "Lowercase", "NFC", "NFD", "NFKC", "NFKD", "StripAccents", "Strip",
                            "Replace", "Prepend", "Sequence"]

    static func make(_ node: JSONNode) throws -> Normalizer {
        let type = try node.type()
        switch type {
        case "Sequence":
            return NormalizerSequence(steps: try node.required("normalizers").array().map(make))
        case "BertNormalizer":
            let lowercase = try node.bool("lowercase", default: true)
            // strip_accents null follows lowercase (tokenizers' BERT behaviour).
            let strip = try node["strip_accents"]?.bool() ?? lowercase
            return BertNormalizer(cleanText: try node.bool("clean_text", default: true),
                                  handleChineseChars: try node.bool("handle_chinese_chars", default: true),
                                  stripAccents: strip, lowercase: lowercase)
        case "Lowercase": return Lowercase()
        case "NFC": return UnicodeFormNormalizer(form: .nfc)
        case "NFD": return UnicodeFormNormalizer(form: .nfd)
        case "NFKC": return UnicodeFormNormalizer(form: .nfkc)
        case "NFKD": return UnicodeFormNormalizer(form: .nfkd)
        case "StripAccents": return StripAccents()
        case "Strip":
            return StripNormalizer(left: try node.bool("strip_left", default: true), right: try node.bool("strip_right", default: true))
        case "Prepend":
            return Prepend(prefix: Array(try node.required("prepend").string().unicodeScalars))
        case "Replace":
            return Replace(pattern: try SplitPattern(try node.required("pattern")),
                           content: Array(try node.required("content").string().unicodeScalars))
        default:
            throw TokenizerError.unsupportedComponent(kind: "normalizer", type: type, path: node.path, supported: supported)
        }
    }
}
