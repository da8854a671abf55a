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
    switch value {
    case is NSNull: out += "null"
    case let b as Bool: out += b ? "true" : "false"
    case let s as String: out += SafetensorsWriter.jsonString(s)
    case let i as Int: out += String(i)
    case let i as Int32: out += String(i)
    case let i as Int64: out += String(i)
    case let i as UInt64: out += String(i)
    case let f as Float:
        guard f.isFinite else { throw CheckpointError.writeFailed(path: path, reason: "JSON has no value for \(f)") }
        out += f == f.rounded() && abs(f) < 1e15 ? String(Int64(f)) : "\(f)"
    case let d as Double:
        guard d.isFinite else { throw CheckpointError.writeFailed(path: path, reason: "JSON has no value for \(d)") }
        out += d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : "\(d)"
    case let array as [Any]:
        out += "["
        for (k, element) in array.enumerated() {
            if k > 0 { out += "," }
            try appendJSON(element, to: &out, path: path)
        }
        out += "]"
    case let object as [String: Any]:
        out += "{"
        for (k, key) in object.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
            if k > 0 { out += "," }
            out += SafetensorsWriter.jsonString(key) + ":"
            try appendJSON(object[key]!, to: &out, path: path)
        }
        out += "}"
    default:
        throw CheckpointError.writeFailed(path: path, reason: "cannot write a \(type(of: value)) as JSON")
    }
}
