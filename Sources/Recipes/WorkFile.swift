import Foundation
import Passes

/// A `WorkLedger` on disk (`work.json`): a shard's partial result, or the progress a long run saves
/// in its temporary folder for `--resume`. It carries the run's fingerprint (and its parts, to say
/// what changed) and the normalized recipe, so `compress merge` needs nothing but the partial folders.
public struct WorkFile: Codable {
    public static let fileName = "work.json"
    public static let format = "whittle-work-1"

    public var format = WorkFile.format
    public var fingerprint: String
    public var fingerprintParts: [String: String]
    public var slice: WorkSlice
    public var recipe: JSONValue
    /// step → item index (decimal) → the item's JSON.
    public var items: [String: [String: JSONValue]]
    /// The output shard a weight-only quantization shard wrote beside this file (`model-0000k-of-0000n.safetensors`).
    public var outputShard: String?

    enum CodingKeys: String, CodingKey {
        case format, fingerprint, fingerprintParts = "fingerprint_parts", slice, recipe, items, outputShard = "output_shard"
    }

    public init(fingerprint: String, parts: [String: String], recipe: JSONValue, ledger: WorkLedger) throws {
        self.fingerprint = fingerprint; self.fingerprintParts = parts; self.slice = ledger.slice; self.recipe = recipe
        items = try ledger.items.mapValues { entries in
            Dictionary(uniqueKeysWithValues: try entries.map { (String($0.key), try JSONDecoder().decode(JSONValue.self, from: $0.value)) })
        }
    }

    public static func read(_ path: String) throws -> WorkFile {
        guard let data = FileManager.default.contents(atPath: path) else { throw RecipeError.fileNotFound(path: path) }
        let file: WorkFile
        do { file = try JSONDecoder().decode(WorkFile.self, from: data) } catch {
            throw RecipeError.invalid(jsonPath: path, message: "not a Whittle work file (\(error))")
        }
        guard file.format == format else {
            throw RecipeError.invalid(jsonPath: path + ": format", message: "expected \"\(format)\" (got \"\(file.format)\")")
        }
        return file
    }

    /// The items as a ledger computing `slice`.
    public func ledger(slice: WorkSlice = .all) throws -> WorkLedger {
        var out: [String: [Int: Data]] = [:]
        for (step, entries) in items {
            for (key, value) in entries {
                guard let index = Int(key) else { throw RecipeError.invalid(jsonPath: "items.\(step)", message: "item key '\(key)' is not an integer") }
                out[step, default: [:]][index] = try JSONEncoder().encode(value)
            }
        }
        return WorkLedger(slice: slice, items: out)
    }

    /// Writes atomically (temporary name, then rename), so a kill never leaves a torn file.
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let temporary = path + ".partial"
        do {
            try encoder.encode(self).write(to: URL(fileURLWithPath: temporary))
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: temporary, toPath: path)
        } catch {
            throw RecipeError.writeFailed(path: path, reason: OutputFolder.reason(error))
        }
    }
}
