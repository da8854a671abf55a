/// What a document may contain beyond RFC 8259.
public struct JSONParseOptions: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// A UTF-8 byte-order mark before the document is skipped (tokenizer files may carry one).
    public static let byteOrderMark = JSONParseOptions(rawValue: 1)
    /// Repeated keys in one object are kept in order instead of rejected (tokenizer vocabularies,
    /// whose keys are compared byte for byte later).
    public static let duplicateKeys = JSONParseOptions(rawValue: 2)
}

/// Syntax error at a byte offset of the document.
public struct JSONParseError: Error, Equatable, Sendable {
    public let message: String
    public let offset: Int
    public init(message: String, offset: Int) { self.message = message; self.offset = offset }
}

/// A key seen twice in one object; `parents` are the keys of the enclosing objects, outermost first
/// ("[]" for an array). Keys Swift compares equal (canonically equivalent) count as the same key,
/// because callers key dictionaries by them.
public struct JSONDuplicateKey: Error, Equatable, Sendable {
    public let key: String
    public let parents: [String]
    public init(key: String, parents: [String]) { self.key = key; self.parents = parents }
}

extension JSON {
    /// Nesting deeper than this is an error rather than a deep recursion.
    public static let maxDepth = 64

    /// Parses UTF-8 `bytes`; throws `JSONParseError` (with byte offset) or `JSONDuplicateKey`.
    public static func parse(_ bytes: UnsafeRawBufferPointer, options: JSONParseOptions = []) throws -> JSON {
        var parser = Parser(bytes: bytes, options: options)
        if options.contains(.byteOrderMark), bytes.starts(with: [0xEF, 0xBB, 0xBF]) { parser.i = 3 }
        parser.skipSpace()
        let value = try parser.value()
        parser.skipSpace()
        if parser.i != bytes.count { throw JSONParseError(message: "unexpected data after the JSON value", offset: parser.i) }
        return value
    }

    public static func parse(bytes: [UInt8], options: JSONParseOptions = []) throws -> JSON {
        try bytes.withUnsafeBytes { try parse($0, options: options) }
    }
}

/// Recursive descent over the bytes; `i` is the read position.
private struct Parser {
    let bytes: UnsafeRawBufferPointer
    let options: JSONParseOptions
    var i = 0
    /// Keys of the objects (and "[]" for arrays) enclosing the current value, outermost first.
    var parents: [String] = []

    init(bytes: UnsafeRawBufferPointer, options: JSONParseOptions) { self.bytes = bytes; self.options = options }

    mutating func skipSpace() {
        while i < bytes.count {
            switch bytes[i] { case 0x20, 0x09, 0x0A, 0x0D: i += 1; default: return }
        }
    }

    func fail(_ message: String, at offset: Int? = nil) -> JSONParseError { JSONParseError(message: message, offset: offset ?? i) }

    mutating func value() throws -> JSON {
        guard parents.count < JSON.maxDepth else { throw fail("nesting deeper than \(JSON.maxDepth) levels") }
        guard i < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return .number(try number())
        }
    }

    mutating func object() throws -> JSON {
        i += 1; skipSpace()
        var members: [(key: String, value: JSON)] = []
        var seen = Set<String>()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let key = try string()
            if !options.contains(.duplicateKeys), !seen.insert(key).inserted { throw JSONDuplicateKey(key: key, parents: parents) }
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            i += 1; skipSpace()
            parents.append(key)
            members.append((key, try value()))
            parents.removeLast()
            skipSpace()
            guard i < bytes.count else { throw fail("unterminated object") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            throw fail("expected ',' or '}'")
        }
    }

    mutating func array() throws -> JSON {
        i += 1; skipSpace()
        var items: [JSON] = []
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
        while true {
            skipSpace()
            parents.append("[]")
            items.append(try value())
            parents.removeLast()
            skipSpace()
            guard i < bytes.count else { throw fail("unterminated array") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            throw fail("expected ',' or ']'")
        }
    }

    /// `true`, `false` or `null`; a wrong one is reported where it starts.
    mutating func literal(_ word: StaticString) throws {
        let start = i
        let w = UnsafeRawBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard i + w.count <= bytes.count, bytes[i..<(i + w.count)].elementsEqual(w) else { throw fail("invalid literal", at: start) }
        i += w.count
    }

    /// RFC 8259 number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, kept as text.
    mutating func number() throws -> String {
        let start = i
        func isDigit(_ k: Int) -> Bool { k < bytes.count && (0x30...0x39).contains(bytes[k]) }
        func digits() throws {
            guard isDigit(i) else { throw fail(i == start ? "unexpected character" : "malformed number") }
            while isDigit(i) { i += 1 }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        if i < bytes.count, bytes[i] == UInt8(ascii: "0") { i += 1 } else { try digits() }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") { i += 1; try digits() }
        if i < bytes.count, bytes[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            try digits()
        }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
    }

    /// A string; runs without escapes are taken whole (tokenizer files are mostly such strings).
    /// Invalid UTF-8 is reported at the string's opening quote.
    mutating func string() throws -> String {
        let quote = i
        i += 1
        let first = i
        while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\"), bytes[i] >= 0x20 { i += 1 }
        if i < bytes.count, bytes[i] == UInt8(ascii: "\"") {   // no escapes: straight from the bytes
            i += 1
            guard let s = String(validating: UnsafeRawBufferPointer(rebasing: bytes[first..<(i - 1)]), as: UTF8.self) else {
                throw fail("string is not valid UTF-8", at: quote)
            }
            return s
        }
        i = first
        var out: [UInt8] = []
        while true {
            let run = i
            while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\"), bytes[i] >= 0x20 { i += 1 }
            out.append(contentsOf: bytes[run..<i])
            guard i < bytes.count else { throw fail("unterminated string") }
            let c = bytes[i]
            if c == UInt8(ascii: "\"") { i += 1; break }
            if c < 0x20 { throw fail("control character in string") }
            i += 1   // backslash
            guard i < bytes.count else { throw fail("unterminated escape") }
            let e = bytes[i]; i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard i + 1 < bytes.count, bytes[i] == 0x5C, bytes[i + 1] == UInt8(ascii: "u") else { throw fail("unpaired surrogate") }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let u = Unicode.Scalar(scalar) else { throw fail("unpaired surrogate") }
                out.append(contentsOf: String(Character(u)).utf8)
            default: throw fail("invalid escape")
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw fail("string is not valid UTF-8", at: quote) }
        return s
    }

    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail("short unicode escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            switch c {
            case 0x30...0x39: v = v << 4 | UInt32(c - 0x30)
            case 0x41...0x46: v = v << 4 | UInt32(c - 0x37)
            case 0x61...0x66: v = v << 4 | UInt32(c - 0x57)
            default: throw fail("invalid hex digit")
            }
            i += 1
        }
        return v
    }
}
