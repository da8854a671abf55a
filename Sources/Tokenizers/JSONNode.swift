import Foundation
import StrictJSON

/// A JSON value that remembers where it came from, so every shape error names its JSON path
/// (`model.merges[3]`) and the file.
struct JSONNode {
    let value: JSON
    let path: String
    let file: String

    static func parse(data: Data, file: String) throws -> JSONNode {
        do {
            // Byte-order mark allowed; repeated keys kept (vocabularies compare keys byte for byte).
            let value = try data.withUnsafeBytes { try JSON.parse($0, options: [.byteOrderMark, .duplicateKeys]) }
            return JSONNode(value: value, path: "", file: file)
        } catch let e as JSONParseError {
            throw TokenizerError.malformedJSON(file: file, path: "", problem: "not valid JSON: \(e.message) at byte \(e.offset)")
        }
    }

    func fail(_ problem: String) -> TokenizerError { .malformedJSON(file: file, path: path, problem: problem) }

    private func childPath(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// The member `key`, or nil when absent or null.
    subscript(key: String) -> JSONNode? {
        guard case .object(let members) = value,
              let v = members.first(where: { $0.key.utf8.elementsEqual(key.utf8) })?.value else { return nil }
        if case .null = v { return nil }
        return JSONNode(value: v, path: childPath(key), file: file)
    }

    func required(_ key: String) throws -> JSONNode {
        guard case .object = value else { throw fail("expected an object, found \(kind)") }
        guard let node = self[key] else { throw JSONNode(value: .null, path: childPath(key), file: file).fail("missing") }
        return node
    }

    var stringValue: String? { if case .string(let s) = value { return s }; return nil }

    func string() throws -> String {
        guard case .string(let s) = value else { throw fail("expected a string, found \(kind)") }
        return s
    }

    func int() throws -> Int {
        guard case .number(let text) = value, let n = Int(text) ?? Double(text).flatMap({ $0 == $0.rounded() && abs($0) < 1e15 ? Int($0) : nil })
        else { throw fail("expected an integer, found \(kind)") }
        return n
    }

    func double() throws -> Double {
        guard case .number(let text) = value, let n = Double(text) else { throw fail("expected a number, found \(kind)") }
        return n
    }

    func bool() throws -> Bool {
        guard case .bool(let b) = value else { throw fail("expected true or false, found \(kind)") }
        return b
    }

    func array() throws -> [JSONNode] {
        guard case .array(let a) = value else { throw fail("expected an array, found \(kind)") }
        return a.enumerated().map { JSONNode(value: $0.element, path: "\(path)[\($0.offset)]", file: file) }
    }

    func object() throws -> [(key: String, node: JSONNode)] {
        guard case .object(let d) = value else { throw fail("expected an object, found \(kind)") }
        return d.map { (key: $0.key, node: JSONNode(value: $0.value, path: childPath($0.key), file: file)) }
    }

    /// Optional typed members with defaults.
    func string(_ key: String, default d: String) throws -> String { try self[key]?.string() ?? d }
    func bool(_ key: String, default d: Bool) throws -> Bool { try self[key]?.bool() ?? d }
    func int(_ key: String, default d: Int) throws -> Int { try self[key]?.int() ?? d }
    func optionalString(_ key: String) throws -> String? { try self[key]?.string() }

    /// The component's `type` field.
    func type() throws -> String { try required("type").string() }

    var kind: String {
        switch value {
        case .null: return "null"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        case .bool: return "a boolean"
        case .number: return "a number"
        }
    }
}
