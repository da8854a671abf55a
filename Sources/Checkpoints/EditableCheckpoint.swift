import Tensors

/// The model as passes see it: the source checkpoint's tensors (still memory-mapped) with the
/// changes passes made layered on top. A change is either a tensor in memory or a lazy producer
/// that runs when the tensor is read or written, so weight-only passes stream tensor by tensor
/// into the writer instead of holding the whole model.
public final class EditableCheckpoint: TensorStore, @unchecked Sendable {
    public let source: TensorStore
    public var config: [String: Any]
    private var order: [String]
    private var changed: [String: Change] = [:]

    enum Change {
        case stored(Tensor)
        case lazy(TensorSpec, () throws -> Tensor)
        case removed
    }

    public init(source: TensorStore) {
        self.source = source
        self.config = source.config
        self.order = source.names
    }

    public var names: [String] { order }

    public func spec(_ name: String) -> TensorSpec? {
        switch changed[name] {
        case let .stored(t): return TensorSpec(name: name, dtype: t.dtype, shape: t.shape)
        case let .lazy(spec, _): return spec
        case .removed: return nil
        case nil: return source.spec(name)
        }
    }

    public func tensor(_ name: String) throws -> Tensor {
        switch changed[name] {
        case let .stored(t): return t
        case let .lazy(_, produce): return try produce()
        case .removed, nil:
            guard spec(name) != nil else { throw CheckpointError.tensorNotFound(path: "(model)", name: name) }
            return try source.tensor(name)
        }
    }

    /// Replaces or adds a tensor held in memory.
    public func set(_ name: String, _ tensor: Tensor) {
        if spec(name) == nil { order.append(name) }
        changed[name] = .stored(tensor)
    }

    /// Replaces or adds a tensor computed on demand (each read runs `produce`).
    public func setLazy(_ spec: TensorSpec, produce: @escaping () throws -> Tensor) {
        if self.spec(spec.name) == nil { order.append(spec.name) }
        changed[spec.name] = .lazy(spec, produce)
    }

    public func remove(_ name: String) {
        changed[name] = .removed
        order.removeAll { $0 == name }
    }

    /// Renames a tensor (used when whole layers are dropped and the rest renumbered).
    public func rename(_ old: String, to new: String) throws {
        let t = try tensor(old)
        remove(old)
        set(new, t)
    }

    public var changedNames: [String] { order.filter { changed[$0] != nil } }
}
