import Foundation
import Checkpoints

/// A SHA-256 over what determines a run: the normalized recipe, the input's config and tensor
/// headers (names, dtypes, shapes, byte sizes — not the weight bytes, which would mean reading
/// gigabytes), and the full contents of the data files the recipe names.
public enum Fingerprint {
    public static func of(recipe: Recipe, input: TensorStore) throws -> String {
        _ = try recipe.normalized(fingerprint: nil)
        var hasher = SHA256()
        feed(&hasher, part: .recipe, recipe: recipe, input: input)
        feed(&hasher, part: .input, recipe: recipe, input: input)
        feed(&hasher, part: .data, recipe: recipe, input: input)
        return "sha256:" + hasher.finalize()
    }

    /// The three things a fingerprint covers, hashed apart, so a refused resume or merge can say which changed.
    public enum Part: String, CaseIterable, Codable { case recipe, input, data }

    public static func parts(recipe: Recipe, input: TensorStore) -> [String: String] {
        Dictionary(uniqueKeysWithValues: Part.allCases.map { part in
            var hasher = SHA256()
            feed(&hasher, part: part, recipe: recipe, input: input)
            return (part.rawValue, "sha256:" + hasher.finalize())
        })
    }

    /// What changed between two part digests, in words ("the recipe", "the input model", "the data files").
    public static func changed(_ old: [String: String], _ new: [String: String]) -> String {
        let words: [Part: String] = [.recipe: "the recipe", .input: "the input model (config or tensor headers)", .data: "the data files"]
        let differing = Part.allCases.filter { old[$0.rawValue] != new[$0.rawValue] }.map { words[$0]! }
        return differing.isEmpty ? "nothing recorded differs" : differing.joined(separator: " and ") + " changed"
    }

    /// Pass keys that change how a pass runs, not what it computes (`streaming`: layer-streamed scoring
    /// gives byte-identical results, PruningStreamingTests), so a run may resume or merge with them toggled.
    static let executionOnlyPassKeys: Set<String> = ["streaming"]

    static func withoutExecutionKeys(_ normalized: JSONValue) -> JSONValue {
        guard var root = normalized.object, case let .array(passes)? = root["passes"] else { return normalized }
        root["passes"] = .array(passes.map { pass in
            guard let object = pass.object else { return pass }
            return .object(object.filter { !executionOnlyPassKeys.contains($0.key) })
        })
        return .object(root)
    }

    static func feed(_ hasher: inout SHA256, part: Part, recipe: Recipe, input: TensorStore) {
        switch part {
        case .recipe:
            hasher.update(Array((try? withoutExecutionKeys(recipe.normalized(fingerprint: nil)).data()) ?? Data()))
        case .input:
            if let config = try? JSONSerialization.data(withJSONObject: input.config, options: [.sortedKeys]) {
                hasher.update(Array(config))
            }
            for name in input.names {   // a safetensors folder's stored bytes; a GGUF file's dequantized spec
                guard let spec = input.spec(name) else { continue }
                let bytes = (input as? Checkpoint)?.info(name)?.byteCount ?? spec.byteCount
                hasher.update("\(name) \(spec.dtype.rawValue) \(spec.shape) \(bytes)\n")
            }
        case .data:
            let dataFiles = [recipe.calibration?.data, recipe.training?.data].compactMap { $0 } + recipe.evaluation.map(\.source.data)
            for file in Set(dataFiles).sorted() {
                if let data = FileManager.default.contents(atPath: file) { hasher.update(Array(data)) }
            }
        }
    }
}

extension Recipe {
    /// The recipe with defaults filled in (every pass encoded from its decoded value), as saved in
    /// the output's `recipe.json`.
    public func normalized(fingerprint: String?) throws -> JSONValue {
        var root: [String: JSONValue] = [
            "version": .number(Double(version)),
            "model": .string(model),
            "seed": .number(Double(seed)),
        ]
        if exports != ["safetensors"] {
            var object: [String: JSONValue] = ["export": .array(exports.map { .string($0) })]
            if let output { object["path"] = .string(output) }
            root["output"] = .object(object)
        } else if let output { root["output"] = .string(output) }
        if let teacher { root["teacher"] = .string(teacher) }
        if let calibration { root["calibration"] = try JSONValue(encoding: calibration) }
        if let training { root["training"] = try JSONValue(encoding: training) }
        root["evaluation"] = .array(try evaluation.map { try JSONValue(encoding: $0) })
        root["passes"] = .array(try passes.map { pass in
            var object = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(pass)).object ?? [:]
            object["pass"] = .string(pass.kind)
            return .object(object)
        })
        if let gate { root["gate"] = gate.json }
        if let fingerprint { root["fingerprint"] = .string(fingerprint) }
        return .object(root)
    }
}
