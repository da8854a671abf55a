/// A JSON value as written: object members in file order with their keys byte-exact, numbers as
/// their text (callers decide Int vs Double), so nothing is merged or rounded on the way in.
/// Parsed by `JSON.parse` (JSONParser.swift); one reader for safetensors headers, shard indexes,
/// recipes and tokenizer files.
public indirect enum JSON: Equatable, Sendable {
    case object([(key: String, value: JSON)])
    case array([JSON])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    public static func == (a: JSON, b: JSON) -> Bool {
        switch (a, b) {
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key.utf8.elementsEqual($1.key.utf8) && $0.value == $1.value }
        case let (.array(x), .array(y)): return x == y
        case let (.string(x), .string(y)), let (.number(x), .number(y)): return x == y
        case let (.bool(x), .bool(y)): return x == y
        case (.null, .null): return true
        default: return false
        }
    }

    /// The member `key` of an object, matched byte for byte (nil for other values or a missing key).
    public subscript(key: String) -> JSON? {
        guard case let .object(members) = self else { return nil }
        return members.first { $0.key.utf8.elementsEqual(key.utf8) }?.value
    }

    /// The value as Foundation-style `Any`: `[String: Any]`, `[Any]`, `String`, `Int` (integral
    /// numbers that fit) or `Double`, `Bool`, and `nil` for JSON null.
    public var anyValue: Any? {
        switch self {
        case let .object(members): return Dictionary(members.map { ($0.key, $0.value.anyValue as Any) }, uniquingKeysWith: { a, _ in a })
        case let .array(items): return items.map { $0.anyValue as Any }
        case let .string(s): return s
        case let .number(s): return Int(s) ?? Double(s)
        case let .bool(b): return b
        case .null: return nil
        }
    }
}
