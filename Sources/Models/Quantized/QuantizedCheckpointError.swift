import Foundation

/// Errors reading or writing quantized checkpoints, naming the tensor or config key.
public enum QuantizedCheckpointError: Error, CustomStringConvertible, Equatable {
    case invalidQuantState(tensor: String, reason: String)
    case unsupportedQuantizationConfig(reason: String)
    case needsModelForward(pass: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidQuantState(tensor, reason): return "tensor '\(tensor)': \(reason)"
        case let .unsupportedQuantizationConfig(reason): return "config.json quantization_config: \(reason)"
        case let .needsModelForward(pass, reason): return "\(pass): \(reason)"
        }
    }
}
