import Foundation

/// Turns tokens back into text (tokenizers' `decoders`); each step maps a token list to a token list,
/// and the result is concatenated.
protocol TokenDecoder {
    func decodeChain(_ tokens: [String]) -> [String]
}

struct DecoderSequence: TokenDecoder {
    let steps: [TokenDecoder]
    func decodeChain(_ tokens: [String]) -> [String] { steps.reduce(tokens) { $1.decodeChain($0) } }
}

/// Byte-level stand-in characters back to bytes, then UTF-8 with replacement characters.
struct ByteLevelDecoder: TokenDecoder {
    func decodeChain(_ tokens: [String]) -> [String] {
        var bytes: [UInt8] = []
        for t in tokens { ByteLevelAlphabet.decode(t, into: &bytes) }
        return [String(decoding: bytes, as: UTF8.self)]
    }
}

/// Joins WordPiece tokens: `##` pieces glue to the previous token, others get a space; optional
/// cleanup of spaces before punctuation and English contractions.
struct WordPieceDecoder: TokenDecoder {
    let prefix: String, cleanup: Bool
    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.enumerated().map { i, t in
            var s = t
            if i != 0 {
                if s.hasBytePrefix(prefix) { s = s.droppingBytePrefix(prefix) } else { s = " " + s }
            }
            return cleanup ? cleanupSpaces(s) : s
        }
    }
}

/// tokenizers' `cleanup` (from BERT's `clean_up_tokenization`).
func cleanupSpaces(_ s: String) -> String {
    s.replacingBytes(" .", with: ".").replacingBytes(" ?", with: "?")
        .replacingBytes(" !", with: "!").replacingBytes(" ,", with: ",")
        .replacingBytes(" ' ", with: "'").replacingBytes(" n't", with: "n't")
        .replacingBytes(" 'm", with: "'m").replacingBytes(" do not", with: " don't")
        .replacingBytes(" 's", with: "'s").replacingBytes(" 've", with: "'ve")
        .replacingBytes(" 're", with: "'re")
}

/// "▁" back to spaces; in the first token every "▁" is dropped unless the scheme is `never`
/// (tokenizers' `decoders/metaspace.rs`).
struct MetaspaceDecoder: TokenDecoder {
    let replacement: Unicode.Scalar, prependScheme: Metaspace.PrependScheme
    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.enumerated().map { i, t in
            let drop = i == 0 && prependScheme != .never
            return String(scalars: t.unicodeScalars.compactMap { c -> Unicode.Scalar? in
                c == replacement ? (drop ? nil : " ") : c
            })
        }
    }
}

/// `<0xXX>` tokens back to bytes; runs that are not valid UTF-8 give one U+FFFD per byte.
struct ByteFallbackDecoder: TokenDecoder {
    func decodeChain(_ tokens: [String]) -> [String] {
        var out: [String] = []
        var pending: [UInt8] = []
        func flush() {
            guard !pending.isEmpty else { return }
            if let s = String(validatingUTF8Bytes: pending) { out.append(s) }
            else { out.append(contentsOf: [String](repeating: "\u{FFFD}", count: pending.count)) }
            pending.removeAll()
        }
        for t in tokens {
            if let b = byteTokenValue(t) { pending.append(b) } else { flush(); out.append(t) }
        }
        flush()
        return out
    }
}

extension String {
    init?(validatingUTF8Bytes bytes: [UInt8]) {
        var it = bytes.makeIterator()
        var decoder = UTF8()
        var view = String.UnicodeScalarView()
        loop: while true {
            switch decoder.decode(&it) {
            case .scalarValue(let s): view.append(s)
            case .emptyInput: break loop
            case .error: return nil
            }
        }
        self = String(view)
    }
}

/// The byte of a `<0xXX>` token.
func byteTokenValue(_ t: String) -> UInt8? {
    let u = Array(t.utf8)
    guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
    return UInt8(String(decoding: u[3...4], as: UTF8.self), radix: 16)
}

/// Joins all tokens into one.
struct FuseDecoder: TokenDecoder {
    func decodeChain(_ tokens: [String]) -> [String] { [tokens.joined()] }
}

/// Removes up to `start` leading and `stop` trailing copies of `content` from each token.
struct StripDecoder: TokenDecoder {
    let content: Unicode.Scalar, start: Int, stop: Int
    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.map { t in
            var s = Array(t.unicodeScalars)[...]
            var k = 0
            while k < start, s.first == content { s.removeFirst(); k += 1 }
            k = 0
            while k < stop, s.last == content { s.removeLast(); k += 1 }
            return String(scalars: s)
        }
    }
}

struct ReplaceDecoder: TokenDecoder {
    let pattern: SplitPattern, content: [Unicode.Scalar]
    func decodeChain(_ tokens: [String]) -> [String] {
        let replace = Replace(pattern: pattern, content: content)
        return tokens.map { String(scalars: replace.normalize(Array($0.unicodeScalars))) }
    }
}

/// Classic BPE with an end-of-word suffix (`</w>`) that becomes a space.
struct BPEDecoder: TokenDecoder {
    let suffix: String
    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.enumerated().map { i, t in
            t.replacingBytes(suffix, with: i == tokens.count - 1 ? "" : " ")
        }
    }
}

enum DecoderFactory {
    static let supported = ["ByteLevel", "WordPiece", "Metaspace", "ByteFallback", "Fuse", "Strip", "Replace", "BPEDecoder", "Sequence"]

    static func make(_ node: JSONNode) throws -> TokenDecoder {
        let type = try node.type()
        switch type {
        case "Sequence": return DecoderSequence(steps: try node.required("decoders").array().map(make))
        case "ByteLevel": return ByteLevelDecoder()
        case "WordPiece":
            return WordPieceDecoder(prefix: try node.string("prefix", default: "##"), cleanup: try node.bool("cleanup", default: true))
        case "Metaspace":
            var scheme = Metaspace.PrependScheme.always
            if let s = node["prepend_scheme"], let p = Metaspace.PrependScheme(rawValue: try s.string()) { scheme = p }
            else if let add = node["add_prefix_space"], try !add.bool() { scheme = .never }
            let rep = try node.string("replacement", default: "▁")
            guard rep.unicodeScalars.count == 1 else { throw node.fail("replacement must be one character") }
            return MetaspaceDecoder(replacement: rep.unicodeScalars.first!, prependScheme: scheme)
        case "ByteFallback": return ByteFallbackDecoder()
        case "Fuse": return FuseDecoder()
        case "Strip":
            let c = try node.string("content", default: " ")
            guard c.unicodeScalars.count == 1 else { throw node.fail("strip content must be one character") }
            return StripDecoder(content: c.unicodeScalars.first!, start: try node.int("start", default: 0), stop: try node.int("stop", default: 0))
        case "Replace":
            return ReplaceDecoder(pattern: try SplitPattern(try node.required("pattern")),
                                  content: Array(try node.required("content").string().unicodeScalars))
        case "BPEDecoder": return BPEDecoder(suffix: try node.string("suffix", default: "</w>"))
        default:
            throw TokenizerError.unsupportedComponent(kind: "decoder", type: type, path: node.path, supported: supported)
        }
    }
}
