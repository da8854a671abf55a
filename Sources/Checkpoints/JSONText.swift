import Foundation

/// Deterministic JSON text of a JSONSerialization-style value (dictionaries, arrays, strings, numbers,
/// booleans, NSNull): object keys in UTF-8 byte order, numbers in Swift's shortest round-trip form.
/// `JSONSerialization`'s `.sortedKeys` compares keys with locale collation, which took ≈ 2.5 s on a
/// 49 k-entry tokenizer vocabulary; byte order is as deterministic and a few hundred times cheaper.
/// `path` names the document in an error (a non-finite number or a value JSON has no form for).
public func jsonText(_ value: Any, path: String) throws -> Data {
    var out = ""
    try appendJSON(value, to: &out, path: path)
    return Data(out.utf8)
}

private func appendJSON(_ value: Any, to out: inout String, path: String) throws {
    // The Swift types first, NSNull last: casting a String or a Dictionary to a Foundation class bridges
    // it first (an NSDictionary of a whole tokenizer vocabulary per check); [String: Int] and [String]
    // (vocabularies, merges) before their [String: Any] / [Any] forms, which box every element.
    switch value {
    case let s as String: out += SafetensorsWriter.jsonString(s)
    case let i as Int: out += String(i)
    case let object as [String: Int]:
        try appendObject(object.keys, to: &out) { key, out in try appendJSON(object[key]!, to: &out, path: path) }
    case let strings as [String]:
        out += "["
        for (k, s) in strings.enumerated() {
            if k > 0 { out += "," }
            out += SafetensorsWriter.jsonString(s)
        }
        out += "]"
    case let object as [String: Any]:
        try appendObject(object.keys, to: &out) { key, out in try appendJSON(object[key]!, to: &out, path: path) }
    case let array as [Any]:
        out += "["
        for (k, element) in array.enumerated() {
            if k > 0 { out += "," }
            try appendJSON(element, to: &out, path: path)
        }
        out += "]"
    case let b as Bool: out += b ? "true" : "false"
    case let i as Int32: out += String(i)
    case let i as Int64: out += String(i)
    case let i as UInt64: out += String(i)
    case let f as Float:
        guard f.isFinite else { throw CheckpointError.writeFailed(path: path, reason: "JSON has no value for \(f)") }
        out += f == f.rounded() && abs(f) < 1e15 ? String(Int64(f)) : "\(f)"
    case let d as Double:
        guard d.isFinite else { throw CheckpointError.writeFailed(path: path, reason: "JSON has no value for \(d)") }
        out += d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : "\(d)"
    case is NSNull: out += "null"
    default:
        throw CheckpointError.writeFailed(path: path, reason: "cannot write a \(type(of: value)) as JSON")
    }
}

/// `{"key":value,...}` with the keys in UTF-8 byte order; `value(key, &out)` appends each value.
private func appendObject<Keys: Collection<String>>(_ keys: Keys, to out: inout String, value: (String, inout String) throws -> Void) rethrows {
    out += "{"
    for (k, key) in keys.sorted(by: utf8Precedes).enumerated() {
        if k > 0 { out += "," }
        out += SafetensorsWriter.jsonString(key) + ":"
        try value(key, &out)
    }
    out += "}"
}

/// Byte order of the UTF-8 forms (memcmp on native strings' contiguous bytes).
private func utf8Precedes(_ a: String, _ b: String) -> Bool {
    var a = a, b = b
    return a.withUTF8 { x in
        b.withUTF8 { y in
            let n = min(x.count, y.count)
            let c = n == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, n)
            return c != 0 ? c < 0 : x.count < y.count
        }
    }
}
