import Foundation
import Checkpoints
import Passes

/// A compression recipe (DESIGN.md §6), version 1.
/// Paths are resolved against the recipe file's folder when loaded from a file.
public struct Recipe {
    public static let currentVersion = 1
    public static let topLevelKeys = ["version", "model", "output", "calibration", "training", "teacher",
                                      "evaluation", "passes", "seed"]

    public var version: Int
    public var model: String
    public var output: String?
    public var calibration: DataSpec?
    public var training: DataSpec?
    /// A teacher checkpoint; passes that need one default to the input model.
    public var teacher: String?
    public var evaluation: [EvaluationSpec]
    public var passes: [any Pass]
    public var seed: UInt64

    public init(model: String, output: String? = nil, calibration: DataSpec? = nil, training: DataSpec? = nil,
                teacher: String? = nil, evaluation: [EvaluationSpec] = [], passes: [any Pass], seed: UInt64 = 0) {
        self.version = Recipe.currentVersion
        self.model = model; self.output = output; self.calibration = calibration; self.training = training
        self.teacher = teacher; self.evaluation = evaluation; self.passes = passes; self.seed = seed
    }

    /// Reads and validates a recipe file; relative paths become relative to its folder.
    public static func load(path: String) throws -> Recipe {
        guard let data = FileManager.default.contents(atPath: path) else { throw RecipeError.fileNotFound(path: path) }
        do {
            var recipe = try parse(data, source: path)
            recipe.resolvePaths(relativeTo: URL(fileURLWithPath: path).deletingLastPathComponent().path)
            try recipe.validate()
            return recipe
        } catch let error as RecipeError {
            throw RecipeError.inFile(path: path, error: error)
        }
    }

    /// Parses recipe JSON (syntax errors carry line and column of `source`).
    public static func parse(_ data: Data, source: String = "recipe") throws -> Recipe {
        try checkSyntax(data, source: source)
        let value = try JSONDecoder().decode(JSONValue.self, from: data)
        guard let root = value.object else { throw RecipeError.invalid(jsonPath: "(root)", message: "a recipe must be a JSON object") }
        for key in root.keys.sorted() where !topLevelKeys.contains(key) {
            throw RecipeError.unknownKey(jsonPath: "(root)", key: key, known: topLevelKeys)
        }
        guard case let .number(version)? = root["version"] else {
            throw RecipeError.invalid(jsonPath: "version", message: "required: the recipe format version (\(currentVersion))")
        }
        guard version == Double(currentVersion) else {
            throw RecipeError.invalid(jsonPath: "version", message: "unsupported version \(version == version.rounded() ? String(Int(version)) : String(version)) (this build reads version \(currentVersion))")
        }
        guard let model = root["model"]?.string, !model.isEmpty else {
            throw RecipeError.invalid(jsonPath: "model", message: "required: path of the input checkpoint folder")
        }
        var output: String?
        if let o = root["output"], o != .null {
            guard let s = o.string, !s.isEmpty else { throw RecipeError.invalid(jsonPath: "output", message: "expected a folder path") }
            output = s
        }
        var teacher: String?
        if let t = root["teacher"], t != .null {
            guard let s = t.string else { throw RecipeError.invalid(jsonPath: "teacher", message: "expected a checkpoint folder path") }
            teacher = s
        }
        var seed: UInt64 = 0
        if let s = root["seed"], s != .null {
            guard case let .number(n) = s, n >= 0, n == n.rounded() else {
                throw RecipeError.invalid(jsonPath: "seed", message: "expected a non-negative integer")
            }
            seed = UInt64(n)
        }
        let calibration = try root["calibration"].flatMap { $0 == .null ? nil : try DataSpec(json: $0, path: "calibration") }
        let training = try root["training"].flatMap { $0 == .null ? nil : try DataSpec(json: $0, path: "training") }
        var evaluation: [EvaluationSpec] = []
        if let e = root["evaluation"], e != .null {
            guard case let .array(items) = e else { throw RecipeError.invalid(jsonPath: "evaluation", message: "expected an array") }
            evaluation = try items.enumerated().map { try EvaluationSpec(json: $1, path: "evaluation[\($0)]") }
        }
        guard case let .array(passItems)? = root["passes"] else {
            throw RecipeError.invalid(jsonPath: "passes", message: "required: an array of passes (may be empty)")
        }
        let passes = try passItems.enumerated().map { try decodePass($1, path: "passes[\($0)]") }
        var recipe = Recipe(model: model, output: output, calibration: calibration, training: training, teacher: teacher,
                            evaluation: evaluation, passes: passes, seed: seed)
        recipe.version = Int(version)
        return recipe
    }

    static func decodePass(_ json: JSONValue, path: String) throws -> any Pass {
        guard var object = json.object else { throw RecipeError.invalid(jsonPath: path, message: "expected an object with a \"pass\" key") }
        guard let kind = object["pass"]?.string else {
            throw RecipeError.invalid(jsonPath: path + ".pass", message: "required: the pass name (\(PassRegistry.kinds.joined(separator: ", ")))")
        }
        guard let type = PassRegistry.type(of: kind) else {
            throw RecipeError.unknownPass(jsonPath: path + ".pass", kind: kind, known: PassRegistry.kinds)
        }
        object["pass"] = nil
        return try StrictDecoding.decode(type, from: object, path: path)
    }

    /// Syntax check with line and column (Foundation's parser reports neither).
    static func checkSyntax(_ data: Data, source: String) throws {
        try data.withUnsafeBytes { bytes in
            do { _ = try HeaderJSON.parse(bytes) } catch let e as HeaderJSON.ParseError {
                let (line, column) = lineAndColumn(bytes, offset: e.offset)
                throw RecipeError.invalidJSON(path: source, line: line, column: column, reason: e.message)
            } catch let e as HeaderJSON.DuplicateKey {
                throw RecipeError.invalid(jsonPath: source, message: "key '\(e.key)' appears twice")
            }
        }
    }

    static func lineAndColumn(_ bytes: UnsafeRawBufferPointer, offset: Int) -> (Int, Int) {
        var line = 1, column = 1
        for i in 0..<min(offset, bytes.count) {
            if bytes[i] == 0x0A { line += 1; column = 1 } else if bytes[i] & 0xC0 != 0x80 { column += 1 }
        }
        return (line, column)
    }

    mutating func resolvePaths(relativeTo folder: String) {
        func resolve(_ p: String) -> String {
            p.hasPrefix("/") ? p : URL(fileURLWithPath: folder).appendingPathComponent(p).standardized.path
        }
        model = resolve(model)
        output = output.map(resolve)
        teacher = teacher.map(resolve)
        calibration?.resolve(resolve)
        training?.resolve(resolve)
        for i in evaluation.indices { evaluation[i].data.resolve(resolve) }
    }
}
