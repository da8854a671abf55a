import Checkpoints
import Tensors

/// Reads named tensors from a `TensorStore` as f32, checking shapes.
struct WeightReader {
    let store: TensorStore

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
        let values = try store.tensor(name).floats()
        // Drop the mapped pages once converted, so f32 copies are the only resident weights.
        if let checkpoint = store as? Checkpoint, let file = checkpoint.file(of: name), let info = checkpoint.info(name) {
            file.release(info)
        }
        return values
    }

    func optional(_ name: String, _ expected: [Int?]) throws -> [Float]? {
        has(name) ? try floats(name, expected) : nil
    }

    /// A PyTorch `nn.Linear` (`weight [out, in]`, optional `bias [out]`).
    func linear(_ prefix: String, inFeatures: Int, outFeatures: Int? = nil) throws -> Linear {
        let shape = try shape(prefix + ".weight")
        let out = outFeatures ?? shape.first ?? 0
        let w = try floats(prefix + ".weight", [out, inFeatures])
        let b = try optional(prefix + ".bias", [out])
        return Linear(weight: w, bias: b, inFeatures: inFeatures, outFeatures: out)
    }

    /// A GPT-2 `Conv1D` (`weight [in, out]`), transposed to the `Linear` layout.
    func conv1D(_ prefix: String, inFeatures: Int) throws -> Linear {
        let shape = try shape(prefix + ".weight")
        let out = shape.count == 2 ? shape[1] : 0
        let w = try floats(prefix + ".weight", [inFeatures, out])
        var t = [Float](repeating: 0, count: w.count)
        for i in 0..<inFeatures { for o in 0..<out { t[o * inFeatures + i] = w[i * out + o] } }
        let b = try optional(prefix + ".bias", [out])
        return Linear(weight: t, bias: b, inFeatures: inFeatures, outFeatures: out)
    }

    func norm(_ prefix: String, kind: Norm.Kind, channels: Int, eps: Float) throws -> Norm {
        Norm(kind: kind, weight: try floats(prefix + ".weight", [channels]),
             bias: kind == .layer ? try optional(prefix + ".bias", [channels]) : nil, eps: eps)
    }
}
