import Checkpoints
import Tensors

/// Reads named tensors from a `TensorStore` as f32, checking shapes.
struct WeightReader {
    let store: TensorStore
    /// Linears whose weight is stored as BF16 / F16 stay in 16 bits (`HalfLinear`) instead of an f32 `Linear`.
    var halfWeights = false

    func has(_ name: String) -> Bool { store.contains(name) }

    func shape(_ name: String) throws -> [Int] {
        guard let spec = store.spec(name) else { throw ModelError.missingTensor(name: name, hint: "not in the checkpoint") }
        return spec.shape
    }

    /// Checks the shape of `name` without reading it.
    func floatsShapeOnly(_ name: String, _ expected: [Int?]) throws -> [Int] {
        let found = try shape(name)
        let ok = found.count == expected.count && zip(found, expected).allSatisfy { $1 == nil || $0 == $1 }
        guard ok else { throw ModelError.tensorShape(name: name, expected: expected.map { $0 ?? -1 }, found: found) }
        return found
    }

    /// Values of `name` converted to f32; `expected` entries of nil match any size.
    func floats(_ name: String, _ expected: [Int?]) throws -> [Float] {
        let found = try shape(name)
        let ok = found.count == expected.count && zip(found, expected).allSatisfy { $1 == nil || $0 == $1 }
        guard ok else { throw ModelError.tensorShape(name: name, expected: expected.map { $0 ?? -1 }, found: found) }
        let tensor = try store.tensor(name)
        let values = tensor.floats()
        // Drop the mapped pages once converted (any store whose tensors are views of a mapped file,
        // e.g. a `Checkpoint` behind the passes' `EditableCheckpoint`), so f32 copies are the only
        // resident weights.
        tensor.storage.releasePages()
        return values
    }

    func optional(_ name: String, _ expected: [Int?]) throws -> [Float]? {
        has(name) ? try floats(name, expected) : nil
    }

    /// A projection at `location`: an `nn.Linear` (`weight [out, in]`, optional `bias [out]`), or a
    /// GPT-2 `Conv1D` (`weight [in, out]`, transposed here), or one part of a fused one.
    /// With `halfWeights`, a plain `nn.Linear` stored as BF16 / F16 is a `HalfLinear` on the stored values.
    func linear(_ location: TensorLocation, inFeatures: Int, outFeatures: Int? = nil) throws -> any LinearLayer {
        let name = location.name + ".weight"
        let shape = try shape(name)
        let stored = shape.count == 2 ? (location.transposed ? shape[1] : shape[0]) : 0
        let parts = location.part?.of ?? 1, index = location.part?.index ?? 0
        let out = outFeatures ?? stored / parts
        if halfWeights, !location.transposed, parts == 1, let half = try halfLinear(location.name, [out, inFeatures]) { return half }
        let total = out * parts
        var w = try floats(name, location.transposed ? [inFeatures, total] : [total, inFeatures])
        var b = try optional(location.name + ".bias", [total])
        if location.transposed {
            var t = [Float](repeating: 0, count: out * inFeatures)
            for i in 0..<inFeatures { for o in 0..<out { t[o * inFeatures + i] = w[i * total + index * out + o] } }
            w = t
        } else if parts > 1 {
            w = Array(w[(index * out * inFeatures)..<((index + 1) * out * inFeatures)])
        }
        if parts > 1 { b = b.map { Array($0[(index * out)..<((index + 1) * out)]) } }
        let suffix = location.part.map { "[\($0.index)/\($0.of)]" } ?? ""
        return Linear(weight: w, bias: b, inFeatures: inFeatures, outFeatures: out, name: location.name + suffix)
    }

    func norm(_ prefix: String, kind: Norm.Kind, channels: Int, eps: Float) throws -> Norm {
        Norm(kind: kind, weight: try floats(prefix + ".weight", [channels]),
             bias: kind == .layer ? try optional(prefix + ".bias", [channels]) : nil, eps: eps, name: prefix)
    }
}
