import Foundation

/// Decoding helpers that turn Foundation's errors into one line with the JSON path.
/// (Unknown keys are rejected by the decoded type itself: a pass through `Decoder.passKeys`, a data
/// source by `DataSource.init(from:alsoAllowed:)`.)
enum StrictDecoding {
    /// Decodes `T` from a JSON object; errors name `path`.
    static func decode<T: Decodable>(_ type: T.Type, from object: [String: JSONValue], path: String) throws -> T {
        let data = try JSONValue.object(object).data()
        do { return try JSONDecoder().decode(T.self, from: data) } catch let error as DecodingError {
            throw RecipeError.invalid(jsonPath: path + describe(error).path, message: describe(error).message)
        }
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
