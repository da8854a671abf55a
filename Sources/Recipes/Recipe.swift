import Foundation
import Checkpoints
import StrictJSON
import Datasets
import Evaluation
import Passes

/// A compression recipe (DESIGN.md §6), version 1.
/// Paths are resolved against the recipe file's folder when loaded from a file.
public struct Recipe {
    public static let currentVersion = 1
    public static let topLevelKeys = ["version", "model", "output", "calibration", "training", "teacher",
                                      "evaluation", "passes", "seed", "gate"]

    public var version: Int
    public var model: String
    public var output: String?
    /// What the output folder holds (`output.export`): "safetensors" (always written: re-runs and the
    /// report read it) and GGUF files, "gguf:<type>" (`GGUFExportType`: f32, f16, bf16, q8_0, q4_0,
    /// q4_1, q4_k_m), each written as `model-<type>.gguf` and measured in the report.
    public var exports: [String] = ["safetensors"]
    public var calibration: DataSource?
    public var training: DataSource?
    /// A teacher checkpoint; passes that need one default to the input model.
    public var teacher: String?
    public var evaluation: [EvaluationSpec]
    public var passes: [any Pass]
    public var seed: UInt64
    /// The accuracy gate (`Gate.swift`).
    public var gate: Gate?

    public init(model: String, output: String? = nil, calibration: DataSource? = nil, training: DataSource? = nil,
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
        var exports = ["safetensors"]
        if let o = root["output"], o != .null {
            if let object = o.object {   // {"path": "...", "export": ["safetensors", "gguf:q4_k_m"]}
                for key in object.keys.sorted() where !["path", "export"].contains(key) {
                    throw RecipeError.unknownKey(jsonPath: "output", key: key, known: ["path", "export"])
                }
                if let p = object["path"], p != .null {
                    guard let s = p.string, !s.isEmpty else { throw RecipeError.invalid(jsonPath: "output.path", message: "expected a folder path") }
                    output = s
                }
                if let e = object["export"] { exports = try parseExports(e) }
            } else {
                guard let s = o.string, !s.isEmpty else { throw RecipeError.invalid(jsonPath: "output", message: "expected a folder path or {\"path\", \"export\"}") }
                output = s
            }
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
        let calibration = try decodeSection("calibration", DataSource.self, root)
        let training = try decodeSection("training", DataSource.self, root)
        let evaluation = try decodeSection("evaluation", [EvaluationSpec].self, root) ?? []
        guard case let .array(passItems)? = root["passes"] else {
            throw RecipeError.invalid(jsonPath: "passes", message: "required: an array of passes (may be empty)")
        }
        let passes = try passItems.enumerated().map { try decodePass($1, path: "passes[\($0)]") }
        var recipe = Recipe(model: model, output: output, calibration: calibration, training: training, teacher: teacher,
                            evaluation: evaluation, passes: passes, seed: seed)
        recipe.version = Int(version)
        if let g = root["gate"], g != .null { recipe.gate = try Gate.parse(g) }
        recipe.exports = exports
        return recipe
    }

    /// `output.export`: a non-empty list of distinct "safetensors" / "gguf:<type>" entries.
    static func parseExports(_ value: JSONValue) throws -> [String] {
        let types = GGUFExportType.allCases.map(\.rawValue)
        guard case let .array(items) = value, !items.isEmpty else {
            throw RecipeError.invalid(jsonPath: "output.export", message: "expected a non-empty list such as [\"safetensors\", \"gguf:q4_k_m\"]")
        }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            guard let s = item.string, s == "safetensors" || (s.hasPrefix("gguf:") && types.contains(String(s.dropFirst(5)))) else {
                throw RecipeError.invalid(jsonPath: "output.export[\(i)]", message: "expected \"safetensors\" or \"gguf:<type>\" with type one of \(types.joined(separator: ", "))")
            }
            guard !out.contains(s) else { throw RecipeError.invalid(jsonPath: "output.export[\(i)]", message: "'\(s)' is listed twice") }
            out.append(s)
        }
        if !out.contains("safetensors") { out.insert("safetensors", at: 0) }
        return out
    }

    /// The GGUF file types of `exports`.
    public var ggufExports: [GGUFExportType] {
        exports.compactMap { $0.hasPrefix("gguf:") ? GGUFExportType(rawValue: String($0.dropFirst(5))) : nil }
    }

    /// Decodes `root[key]` as `T` with error paths that start at `key` (e.g. `evaluation[0].metric`).
    static func decodeSection<T: Decodable>(_ key: String, _ type: T.Type, _ root: [String: JSONValue]) throws -> T? {
        guard let value = root[key], value != .null else { return nil }
        do {
            return try JSONDecoder().decode([String: T].self, from: JSONValue.object([key: value]).data())[key]
        } catch let error as DatasetError {
            switch error {
            case let .invalidSource(path, message): throw RecipeError.invalid(jsonPath: path, message: message)
            case let .unknownKey(path, k, allowed): throw RecipeError.unknownKey(jsonPath: path, key: k, known: allowed)
            default: throw RecipeError.invalid(jsonPath: key, message: error.description)
            }
        } catch let error as EvaluationError {
            switch error {
            case let .invalidSource(path, message): throw RecipeError.invalid(jsonPath: path, message: message)
            default: throw RecipeError.invalid(jsonPath: key, message: error.description)
            }
        } catch let error as DecodingError {
            let (path, message) = StrictDecoding.describe(error)
            throw RecipeError.invalid(jsonPath: String(path.drop { $0 == "." }), message: message)
        }
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
            do { _ = try JSON.parse(bytes) } catch let e as JSONParseError {
                let (line, column) = lineAndColumn(bytes, offset: e.offset)
                throw RecipeError.invalidJSON(path: source, line: line, column: column, reason: e.message)
            } catch let e as JSONDuplicateKey {
                throw RecipeError.invalid(jsonPath: "(json)", message: "key '\(e.key)' appears twice in one object")
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
        func resolveSource(_ source: DataSource) -> DataSource {
            var copy = source
            copy.data = resolve(source.data)
            return copy
        }
        calibration = calibration.map(resolveSource)
        training = training.map(resolveSource)
        for i in evaluation.indices { evaluation[i].source = resolveSource(evaluation[i].source) }
    }
}
