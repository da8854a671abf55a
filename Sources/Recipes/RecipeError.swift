/// Recipe and pipeline errors: each names the file or JSON path and what was expected.
public indirect enum RecipeError: Error, CustomStringConvertible, Equatable {
    case fileNotFound(path: String)
    case invalidJSON(path: String, line: Int, column: Int, reason: String)
    /// `jsonPath: message`, e.g. `passes[1].block_size: must be a power of two …`.
    case invalid(jsonPath: String, message: String)
    case unknownPass(jsonPath: String, kind: String, known: [String])
    case unknownKey(jsonPath: String, key: String, known: [String])
    case outputExists(path: String)
    case outputInsideInput(output: String, input: String)
    case writeFailed(path: String, reason: String)
    /// `--resume` found an earlier run of this output that cannot continue (`reason` says what changed).
    case cannotResume(path: String, reason: String)
    /// `compress merge` refuses the partial results.
    case cannotMerge(reason: String)
    /// An error in a recipe file: the file name, then the error.
    case inFile(path: String, error: RecipeError)

    public var description: String {
        switch self {
        case let .fileNotFound(p): return "\(p): no such file"
        case let .invalidJSON(p, l, c, r): return "\(p):\(l):\(c): invalid JSON (\(r))"
        case let .invalid(j, m): return "\(j): \(m)"
        case let .unknownPass(j, k, known): return "\(j): unknown pass '\(k)' (valid passes: \(known.joined(separator: ", ")))"
        case let .unknownKey(j, k, known):
            return "\(j): unknown key '\(k)'" + (known.isEmpty ? "" : " (valid keys: \(known.joined(separator: ", ")))")
        case let .outputExists(p): return "\(p): output already exists (use --force to replace it)"
        case let .outputInsideInput(o, i): return "\(o): output must not be inside the input model folder \(i)"
        case let .writeFailed(p, r): return "\(p): \(r)"
        case let .cannotResume(p, r): return "cannot resume from \(p): \(r) (run without --resume to start afresh)"
        case let .cannotMerge(r): return "cannot merge: \(r)"
        case let .inFile(p, e):
            if case .invalidJSON = e { return e.description }
            return "\(p): \(e)"
        }
    }
}
