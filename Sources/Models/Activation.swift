import Kernels

/// FFN activation named by `hidden_act` / `activation_function` in config.json.
public enum Activation: String, Sendable, Codable {
    case silu, geluErf, geluTanh, relu

    /// Maps transformers' `ACT2FN` names.
    public init(configName: String, key: String) throws {
        switch configName {
        case "silu", "swish": self = .silu
        case "gelu": self = .geluErf
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": self = .geluTanh
        case "relu": self = .relu
        default:
            throw ModelError.invalidConfig(key: key, reason: "unsupported activation '\(configName)' (supported: silu, gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu)")
        }
    }

    /// In place over `count` values.
    public func apply(_ x: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .silu: siluForward(x, x, count: count)
        case .geluErf: geluErfForward(x, x, count: count)
        case .geluTanh: geluTanhForward(x, x, count: count)
        case .relu: reluForward(x, x, count: count)
        }
    }
}
