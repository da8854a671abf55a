import Foundation
import Checkpoints

/// A SHA-256 over what determines a run: the normalized recipe, the input's config and tensor
/// headers (names, dtypes, shapes, byte sizes — not the weight bytes, which would mean reading
/// gigabytes), and the full contents of the data files the recipe names.
public enum Fingerprint {
    public static func of(recipe: Recipe, input: TensorStore) throws -> String {
        var hasher = SHA256()
        hasher.update(Array(try recipe.normalized(fingerprint: nil).data()))
        if let config = try? JSONSerialization.data(withJSONObject: input.config, options: [.sortedKeys]) {
            hasher.update(Array(config))
        }
        for name in input.names {
            guard let spec = input.spec(name) else { continue }
            let bytes = (input as? Checkpoint)?.info(name)?.byteCount ?? spec.byteCount
            hasher.update("\(name) \(spec.dtype.rawValue) \(spec.shape) \(bytes)\n")
        }
        let dataFiles = [recipe.calibration?.data, recipe.training?.data].compactMap { $0 } + recipe.evaluation.map(\.source.data)
        for file in Set(dataFiles).sorted() {
            if let data = FileManager.default.contents(atPath: file) { hasher.update(Array(data)) }
        }
        return "sha256:" + hasher.finalize()
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
        if let fingerprint { root["fingerprint"] = .string(fingerprint) }
        return .object(root)
    }
}
