/// A tensor the model computes with and the training tape can differentiate: flat row-major
/// `value` with its `shape`, and `grad` (same size, allocated when a gradient first flows in).
/// Every weight of a `TransformerModel` (linears, norms, embeddings) is one, so the training tape
/// trains the model's own weights: there is no second copy to keep in sync.
public final class Variable {
    /// Keep `count` values: assign whole arrays of the same size only.
    public var value: [Float]
    public let shape: [Int]
    /// Zero-sized until a gradient flows in (`ensureGrad`).
    public var grad: [Float] = []
    public let requiresGrad: Bool
    /// The tensor's name in the checkpoint (parameters) — reports and training checkpoints use it.
    public var name: String
    /// AdamW applies weight decay to this parameter (false for norms, biases, gates).
    public var decay: Bool

    public init(_ value: [Float], shape: [Int], requiresGrad: Bool = false, name: String = "", decay: Bool = false) {
        precondition(value.count == shape.reduce(1, *), "Variable \(name): \(value.count) values for shape \(shape)")
        self.value = value; self.shape = shape; self.requiresGrad = requiresGrad; self.name = name; self.decay = decay
    }

    /// A trainable parameter; decay defaults to "has at least two dimensions".
    public static func parameter(_ value: [Float], shape: [Int], name: String, decay: Bool? = nil) -> Variable {
        Variable(value, shape: shape, requiresGrad: true, name: name, decay: decay ?? (shape.count >= 2))
    }

    public var count: Int { shape.reduce(1, *) }

    public func ensureGrad() { if grad.count != count { grad = [Float](repeating: 0, count: count) } }
    public func zeroGrad() { if !grad.isEmpty { for i in grad.indices { grad[i] = 0 } } }
}
