/// Errors of the Training module; each case names what a user needs to fix it.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// A layer is not a plain f32 `Linear` (e.g. already quantized), so it cannot be trained.
    case untrainableLayer(name: String, type: String)
    /// A batch is malformed (ragged, missing labels, wrong label count…).
    case invalidBatch(reason: String)
    /// Examples that do not fit the model (a label out of range, a missing target, no head to train).
    case invalidExamples(reason: String)
    /// A training checkpoint is missing a tensor or has the wrong shape.
    case checkpointMismatch(path: String, tensor: String, reason: String)
    /// A training setting is out of range.
    case invalidSetting(key: String, reason: String)

    public var description: String {
        switch self {
        case let .untrainableLayer(name, type):
            return "cannot train \(name): it is a \(type), not an f32 Linear (train before quantizing)"
        case let .invalidBatch(reason): return "invalid training batch: \(reason)"
        case let .invalidExamples(reason): return "invalid training examples: \(reason)"
        case let .checkpointMismatch(path, tensor, reason): return "\(path): tensor '\(tensor)' \(reason)"
        case let .invalidSetting(key, reason): return "\(key): \(reason)"
        }
    }
}
