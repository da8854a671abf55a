/// A small strict JSON reader for safetensors headers: keeps key order, reports duplicate keys
/// (Foundation's JSONSerialization silently keeps one), and bounds nesting depth.
public indirect enum HeaderJSON: Equatable {
    case object([(String, HeaderJSON)])
    case array([HeaderJSON])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    public static func == (a: HeaderJSON, b: HeaderJSON) -> Bool {
        switch (a, b) {
        case let (.object(x), .object(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case let (.array(x), .array(y)): return x == y
        case let (.string(x), .string(y)), let (.number(x), .number(y)): return x == y
        case let (.bool(x), .bool(y)): return x == y
        case (.null, .null): return true
        default: return false
        }
    }

    public struct ParseError: Error { public let message: String; public let offset: Int }
    /// A key seen twice in one object; `parents` are the keys of the enclosing objects, outermost first.
    public struct DuplicateKey: Error { public let key: String; public let parents: [String] }

    /// Parses UTF-8 bytes; throws `ParseError` (with byte offset) or `DuplicateKey`.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws -> HeaderJSON {
        var parser = Parser(bytes: bytes)
        parser.skipSpace()
        let value = try parser.value(parents: [])
        parser.skipSpace()
        if parser.i != bytes.count { throw ParseError(message: "unexpected data after the JSON value", offset: parser.i) }
        return value
    }

    struct Parser {
        let bytes: UnsafeRawBufferPointer
        var i = 0

        mutating func skipSpace() {
            while i < bytes.count {
                switch bytes[i] { case 0x20, 0x09, 0x0A, 0x0D: i += 1; default: return }
            }
        }

        func fail(_ message: String) -> ParseError { ParseError(message: message, offset: i) }

        mutating func value(parents: [String]) throws -> HeaderJSON {
            let depth = parents.count
            guard depth < 64 else { throw fail("nesting deeper than 64 levels") }
            guard i < bytes.count else { throw fail("unexpected end of header") }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                i += 1; skipSpace()
                var members: [(String, HeaderJSON)] = []
                var seen = Set<String>()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                while true {
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                    let key = try string()
                    if !seen.insert(key).inserted { throw DuplicateKey(key: key, parents: parents) }
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                    i += 1; skipSpace()
                    members.append((key, try value(parents: parents + [key])))
                    skipSpace()
                    guard i < bytes.count else { throw fail("unterminated object") }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                    throw fail("expected ',' or '}'")
                }
            case UInt8(ascii: "["):
                i += 1; skipSpace()
                var items: [HeaderJSON] = []
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                while true {
                    skipSpace()
                    items.append(try value(parents: parents + ["[]"]))
                    skipSpace()
                    guard i < bytes.count else { throw fail("unterminated array") }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                    throw fail("expected ',' or ']'")
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            default:
                return .number(try number())
            }
        }

        mutating func literal(_ word: String) throws {
            for c in word.utf8 {
                guard i < bytes.count, bytes[i] == c else { throw fail("invalid literal") }
                i += 1
            }
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

        mutating func string() throws -> String {
            i += 1  // opening quote
            var out: [UInt8] = []
            while true {
                guard i < bytes.count else { throw fail("unterminated string") }
                let c = bytes[i]
                if c == UInt8(ascii: "\"") { i += 1; break }
                if c < 0x20 { throw fail("control character in string") }
                if c == UInt8(ascii: "\\") {
                    i += 1
                    guard i < bytes.count else { throw fail("unterminated escape") }
                    let e = bytes[i]; i += 1
                    switch e {
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5C)
                    case UInt8(ascii: "/"): out.append(0x2F)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xD800..<0xDC00).contains(scalar) {
                            guard i + 1 < bytes.count, bytes[i] == 0x5C, bytes[i + 1] == UInt8(ascii: "u") else {
                                throw fail("unpaired surrogate")
                            }
                            i += 2
                            let low = try hex4()
                            guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let u = Unicode.Scalar(scalar) else { throw fail("invalid unicode escape") }
                        out.append(contentsOf: Array(String(Character(u)).utf8))
                    default: throw fail("invalid escape")
                    }
                } else {
                    out.append(c); i += 1
                }
            }
            guard let s = String(validating: out, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
            return s
        }

        mutating func hex4() throws -> UInt32 {
            guard i + 4 <= bytes.count else { throw fail("short unicode escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[i]; i += 1
                switch c {
                case 0x30...0x39: v = v << 4 | UInt32(c - 0x30)
                case 0x41...0x46: v = v << 4 | UInt32(c - 0x37)
                case 0x61...0x66: v = v << 4 | UInt32(c - 0x57)
                default: throw fail("invalid hex digit")
                }
            }
            return v
        }
    }
}

extension HeaderJSON {
    public static func parse(bytes: [UInt8]) throws -> HeaderJSON { try bytes.withUnsafeBytes { try parse($0) } }

    /// The member `key` of an object (nil for other values or a missing key).
    public subscript(key: String) -> HeaderJSON? {
        guard case let .object(members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    /// The value as Foundation-style `Any`: `[String: Any]`, `[Any]`, `String`, `Int` (integral
    /// numbers that fit) or `Double`, `Bool`, and `nil` for JSON null.
    public var anyValue: Any? {
        switch self {
        case let .object(members): return Dictionary(members.map { ($0.0, $0.1.anyValue as Any) }, uniquingKeysWith: { a, _ in a })
        case let .array(items): return items.map { $0.anyValue as Any }
        case let .string(s): return s
        case let .number(s): return Int(s) ?? Double(s)
        case let .bool(b): return b
        case .null: return nil
        }
    }
}
