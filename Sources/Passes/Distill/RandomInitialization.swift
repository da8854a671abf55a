import Foundation
import Checkpoints
import Tensors

/// Replaces every tensor of `model` by a fresh seeded initialisation (a student trained from scratch,
/// §6.5): norm weights 1, biases 0, matrices and embeddings N(0, std²) (transformers' `initializer_range`).
public func randomlyInitialize(_ model: EditableCheckpoint, std: Float = 0.02, seed: UInt64) throws {
    var g = SeededGenerator(seed: seed)
    for name in model.names.sorted() {
        guard let spec = model.spec(name) else { continue }
        let n = spec.shape.reduce(1, *)
        let isNorm = name.contains("norm") && name.hasSuffix(".weight")
        let values: [Float]
        if isNorm { values = [Float](repeating: 1, count: n) }
        else if name.hasSuffix(".bias") { values = [Float](repeating: 0, count: n) }
        else {
            values = (0..<n).map { _ in
                // Box–Muller from two uniforms in (0, 1].
                let u1 = Float(g.next() >> 40 + 1) / Float(1 << 24), u2 = Float(g.next() >> 40) / Float(1 << 24)
                return std * (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
            }
        }
        model.set(name, Tensor(floats: values, shape: spec.shape, dtype: spec.dtype))
    }
}
