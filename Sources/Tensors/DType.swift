/// Element types of stored tensors, named as in the safetensors header.
/// Compute is Float32 (docs/ARCHITECTURE.md "Key decisions"); every type converts to and from Float.
public enum DType: String, CaseIterable, Sendable, Codable {
    case F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL
    case F8_E4M3, F8_E5M2

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .F64, .I64: return 8
        case .F32, .I32: return 4
        case .F16, .BF16, .I16: return 2
        case .I8, .U8, .BOOL, .F8_E4M3, .F8_E5M2: return 1
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .F64, .F32, .F16, .BF16, .F8_E4M3, .F8_E5M2: return true
        default: return false
        }
    }

    /// Types we can write from Float (F8 types are read-only: converted to F32 on read).
    public var isWritableFromFloat: Bool { self != .F8_E4M3 && self != .F8_E5M2 }
}
