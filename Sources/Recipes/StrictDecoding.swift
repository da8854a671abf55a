import Foundation

/// Decoding helpers that turn Foundation's errors into one line with the JSON path,
/// and reject keys a type does not know.
enum StrictDecoding {
    /// Decodes `T` from a JSON object; unknown keys and type errors name `path`.
    static func decode<T: Codable>(_ type: T.Type, from object: [String: JSONValue], path: String) throws -> T {
        let data = try JSONValue.object(object).data()
        let value: T
        do { value = try JSONDecoder().decode(T.self, from: data) } catch let error as DecodingError {
            throw RecipeError.invalid(jsonPath: path + describe(error).path, message: describe(error).message)
        }
        // A key is known when it survives a decode/encode round trip (or was explicitly null).
        let encoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(value)) as? [String: Any] ?? [:]
        let known = Set(encoded.keys)
        for key in object.keys.sorted() where !known.contains(key) && object[key] != .null {
            throw RecipeError.unknownKey(jsonPath: path, key: key, known: known.sorted())
        }
        return value
    }

    static func describe(_ error: DecodingError) -> (path: String, message: String) {
        func render(_ codingPath: [CodingKey]) -> String {
            codingPath.map { key in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }.joined()
        }
        switch error {
        case let .typeMismatch(type, context):
            return (render(context.codingPath), "expected \(typeName(type))")
        case let .valueNotFound(type, context):
            return (render(context.codingPath), "expected \(typeName(type)), found null")
        case let .keyNotFound(key, context):
            return (render(context.codingPath), "missing required key '\(key.stringValue)'")
        case let .dataCorrupted(context):
            return (render(context.codingPath), context.debugDescription)
        @unknown default:
            return ("", "\(error)")
        }
    }

    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Double.Type, is Float.Type, is UInt64.Type, is Int32.Type: return "a number"
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is [String].Type: return "an array of strings"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return name
        }
    }
}
