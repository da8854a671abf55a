/// Errors loading or running a model. Each names what was expected and what was found.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case unsupportedFamily(modelType: String?, architectures: [String], supported: [String])
    case invalidConfig(key: String, reason: String)
    case unsupportedOption(option: String, reason: String)
    case missingTensor(name: String, hint: String)
    case tensorShape(name: String, expected: [Int], found: [Int])
    case invalidInput(reason: String)
    case sequenceTooLong(length: Int, limit: Int, what: String)

    public var description: String {
        switch self {
        case let .unsupportedFamily(t, a, s):
            return "unsupported model: model_type \(t.map { "'\($0)'" } ?? "missing"), architectures \(a); supported model_type values: \(s.joined(separator: ", "))"
        case let .invalidConfig(k, r): return "config.json: \(k): \(r)"
        case let .unsupportedOption(o, r): return "unsupported option \(o): \(r)"
        case let .missingTensor(n, h): return "missing tensor '\(n)' (\(h))"
        case let .tensorShape(n, e, f): return "tensor '\(n)': expected shape \(e), found \(f)"
        case let .invalidInput(r): return "invalid model input: \(r)"
        case let .sequenceTooLong(l, limit, w): return "sequence length \(l) exceeds \(w) \(limit)"
        }
    }
}
